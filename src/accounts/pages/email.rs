//! The pages the emailed links open (`/verify-email`, `/reset-password`) and the
//! one that sends a reset link (`/forgot-password`). Opening a link only shows a
//! form: the change is a POST, so a mail scanner that fetches links spends nothing.
//! Each success redirects to the same page with a fixed flag, so the page says what
//! happened with and without JavaScript.

use crate::accounts::context::AccountContext;
use crate::accounts::pages::sign_in::NewPasswordField;
#[cfg(feature = "ssr")]
use crate::accounts::service::AccountsService;
use crate::components::FormError;
use crate::error::PageError;
use crate::form_input::echoed;
#[cfg(feature = "ssr")]
use crate::web::context::service;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

#[server(prefix = "/rpc", endpoint = "verify_email", output = crate::rpc::JsonText)]
pub(crate) async fn verify_email(token: String) -> Result<(), PageError> {
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    service::<AccountsService>()?
        .verify_email(&token, &meta)
        .await?;
    leptos_axum::redirect("/verify-email?verified=1");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "forgot_password", output = crate::rpc::JsonText)]
pub(crate) async fn forgot_password(email: String) -> Result<(), PageError> {
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    service::<AccountsService>()?.request_password_reset(&email, &meta)?;
    leptos_axum::redirect("/forgot-password?sent=1");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "reset_password", output = crate::rpc::JsonText)]
pub(crate) async fn reset_password(token: String, password: String) -> Result<(), PageError> {
    use crate::accounts::domain::Password;
    use crate::error::AppError;
    let password = Password::parse(&password).map_err(AppError::from)?;
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    service::<AccountsService>()?
        .reset_password(&token, password, &meta)
        .await?;
    leptos_axum::redirect("/sign-in?reset=1");
    Ok(())
}

/// The value of `name` in the page's query, or "" when absent.
fn query_value(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync {
    let query = use_query_map();
    move || query.read().get(name).unwrap_or_default()
}

#[component]
pub(crate) fn VerifyEmailPage() -> impl IntoView {
    let action = ServerAction::<VerifyEmail>::new();
    // Verifying shows the invitations waiting for the address in the header.
    AccountContext::get().reload_after(action);
    let (token, verified) = (query_value("token"), query_value("verified"));
    view! {
        <Title text="Verify your email · Storno Licensing"/>
        <section class="card narrow">
            {move || if !verified().is_empty() {
                view! {
                    <h1>"Your email address is verified"</h1>
                    <p class="form-success" role="status">"Invitations sent to it now show on your Account page."</p>
                    <p><a href="/account">"Go to your account"</a>" · "<a href="/sign-in">"Sign in"</a></p>
                }.into_any()
            } else if token().is_empty() {
                view! { <MissingLink what="verification"/> }.into_any()
            } else {
                view! {
                    <h1>"Confirm your email address"</h1>
                    <p class="lede">"This link works once. Confirm to make this address your account's verified email."</p>
                    <ActionForm action=action>
                        <input type="hidden" name="token" value=token()/>
                        <FormError result=Signal::derive(move || action.value().get()) action=VerifyEmail::PATH/>
                        <button type="submit" class="primary" disabled=move || action.pending().get()>"Verify email"</button>
                    </ActionForm>
                }.into_any()
            }}
        </section>
    }
}

#[component]
pub(crate) fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let sent = query_value("sent");
    view! {
        <Title text="Forgot password · Storno Licensing"/>
        <section class="card narrow">
            <h1>"Forgot your password?"</h1>
            {move || (!sent().is_empty()).then(|| view! {
                <p class="form-success" role="status">
                    "If an account has that address, we sent it a link to choose a new password. The link works once, for 1 hour."
                </p>
            })}
            <p class="lede">"Enter your account's email address and we will send you a link to choose a new password."</p>
            <ActionForm action=action>
                <div class="field">
                    <label for="email">"Email"</label>
                    <input id="email" name="email" type="email" autocomplete="email" maxlength="254" required
                        value=echoed(ForgotPassword::PATH, "email")/>
                </div>
                <FormError result=Signal::derive(move || action.value().get()) action=ForgotPassword::PATH/>
                <button type="submit" class="primary" disabled=move || action.pending().get()>"Send reset link"</button>
            </ActionForm>
            <p class="switch-form">"Remembered it? " <a href="/sign-in">"Sign in"</a></p>
        </section>
    }
}

#[component]
pub(crate) fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    // Resetting ends every session of the account, this browser's too.
    AccountContext::get().reload_after(action);
    let token = query_value("token");
    view! {
        <Title text="Choose a new password · Storno Licensing"/>
        <section class="card narrow">
            {move || if token().is_empty() {
                view! { <MissingLink what="password reset"/> }.into_any()
            } else {
                view! {
                    <h1>"Choose a new password"</h1>
                    <p class="lede">"This link works once. Every session of your account, on every device, is signed out."</p>
                    <ActionForm action=action>
                        <input type="hidden" name="token" value=token()/>
                        <NewPasswordField id="password" name="password" label="New password"/>
                        <FormError result=Signal::derive(move || action.value().get()) action=ResetPassword::PATH/>
                        <button type="submit" class="primary" disabled=move || action.pending().get()>"Set new password"</button>
                    </ActionForm>
                }.into_any()
            }}
        </section>
    }
}

/// A link page opened without its token (cut short when copied, say).
#[component]
fn MissingLink(what: &'static str) -> impl IntoView {
    view! {
        <h1>"This link is incomplete"</h1>
        <p class="form-error" role="alert">
            {format!("The {what} link lacks its token. Open the link from the email again, whole.")}
        </p>
        <p><a href="/forgot-password">"Send a new password reset link"</a>" · "<a href="/sign-in">"Sign in"</a></p>
    }
}
