//! The Account page's email and password: whether the address is verified (and a
//! new link), changing the address or the password, signing out everywhere. Each
//! success redirects to `/account?notice=<what>`, so the page says what happened
//! with and without JavaScript.

use crate::accounts::context::AccountContext;
use crate::accounts::pages::sign_in::NewPasswordField;
#[cfg(feature = "ssr")]
use crate::accounts::service::AccountsService;
use crate::accounts::AccountDto;
use crate::components::{FormError, LoadError};
use crate::error::PageError;
use crate::form_input::echoed;
#[cfg(feature = "ssr")]
use crate::web::context::service;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

#[server(prefix = "/rpc", endpoint = "my_account", output = crate::rpc::JsonText)]
pub(crate) async fn my_account() -> Result<AccountDto, PageError> {
    let page = crate::accounts::session::page_user().await?;
    Ok(service::<AccountsService>()?.account(&page.user).await?)
}

#[server(prefix = "/rpc", endpoint = "resend_verification", output = crate::rpc::JsonText)]
pub(crate) async fn resend_verification() -> Result<(), PageError> {
    let page = crate::accounts::session::page_user().await?;
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    service::<AccountsService>()?
        .resend_verification(&page.user, &meta)
        .await?;
    leptos_axum::redirect("/account?notice=verification-sent");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "change_email", output = crate::rpc::JsonText)]
pub(crate) async fn change_email(email: String, password: String) -> Result<(), PageError> {
    use crate::accounts::domain::Email;
    use crate::error::AppError;
    let page = crate::accounts::session::page_user().await?;
    let email = Email::parse(&email).map_err(AppError::from)?;
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    service::<AccountsService>()?
        .request_email_change(&page.user, &email, &password, &meta)
        .await?;
    leptos_axum::redirect("/account?notice=email-change-sent");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "change_password", output = crate::rpc::JsonText)]
pub(crate) async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), PageError> {
    use crate::accounts::domain::Password;
    use crate::error::AppError;
    let page = crate::accounts::session::page_user().await?;
    let new_password = Password::parse(&new_password).map_err(AppError::from)?;
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    // This browser stays signed in; every other session ends.
    let this_session = page.session.id();
    service::<AccountsService>()?
        .change_password(
            &page.user,
            &current_password,
            new_password,
            this_session.as_ref(),
            &meta,
        )
        .await?;
    leptos_axum::redirect("/account?notice=password-changed");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "sign_out_everywhere", output = crate::rpc::JsonText)]
pub(crate) async fn sign_out_everywhere() -> Result<(), PageError> {
    let page = crate::accounts::session::page_user().await?;
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    service::<AccountsService>()?
        .sign_out_everywhere(&page.user, &meta)
        .await?;
    crate::accounts::session::sign_out(&page.session).await?;
    leptos_axum::redirect("/sign-in");
    Ok(())
}

/// What a `notice` in the Account page's URL says (fixed texts: the URL cannot
/// make the page say anything else).
fn notice_text(notice: &str) -> Option<&'static str> {
    match notice {
        "verification-sent" => Some("A new verification link is on its way to your address. It works once, for 24 hours."),
        "email-change-sent" => Some("We sent a link to the new address: the change happens when it is opened. Your current address was told."),
        "password-changed" => Some("Your password is changed. Every other session of your account is signed out."),
        _ => None,
    }
}

#[component]
pub(crate) fn AccountSecurity() -> impl IntoView {
    let (resend, change_email, change_password, everywhere) = (
        ServerAction::<ResendVerification>::new(),
        ServerAction::<ChangeEmail>::new(),
        ServerAction::<ChangePassword>::new(),
        ServerAction::<SignOutEverywhere>::new(),
    );
    AccountContext::get().reload_after(everywhere);
    let account = Resource::new(
        move || (resend.version().get(), change_email.version().get()),
        |_| my_account(),
    );
    let query = use_query_map();
    let notice = move || query.read().get("notice").as_deref().and_then(notice_text);
    view! {
        {move || notice().map(|text| view! { <p class="form-success" role="status">{text}</p> })}
        <section class="card">
            <h2>"Email address"</h2>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(account) => view! { <EmailStatus account resend/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
            <ChangeEmailForm action=change_email/>
        </section>
        <section class="card">
            <h2>"Password and sessions"</h2>
            <ChangePasswordForm action=change_password/>
            <h3>"Sign out everywhere"</h3>
            <p class="hint">"Ends every session of your account, this one included, and revokes all your API tokens."</p>
            <ActionForm action=everywhere>
                <FormError result=Signal::derive(move || everywhere.value().get()) action=SignOutEverywhere::PATH/>
                <button type="submit" class="danger">"Sign out everywhere"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn EmailStatus(account: AccountDto, resend: ServerAction<ResendVerification>) -> impl IntoView {
    let verified = account.email_verified;
    view! {
        <p>
            <strong data-testid="account-email">{account.email}</strong>" "
            {if verified {
                view! { <span class="badge active" data-testid="email-status">"Verified"</span> }.into_any()
            } else {
                view! { <span class="badge overdue" data-testid="email-status">"Not verified"</span> }.into_any()
            }}
        </p>
        {(!verified).then(|| view! {
            <p class="hint">"Open the link we emailed you to verify this address. Until then, invitations sent to it stay hidden."</p>
            <ActionForm action=resend>
                <FormError result=Signal::derive(move || resend.value().get()) action=ResendVerification::PATH/>
                <button type="submit" class="secondary">"Send a new verification link"</button>
            </ActionForm>
        })}
    }
}

#[component]
fn ChangeEmailForm(action: ServerAction<ChangeEmail>) -> impl IntoView {
    view! {
        <h3>"Change email address"</h3>
        <ActionForm action=action>
            <div class="field">
                <label for="new-email">"New email"</label>
                <input id="new-email" name="email" type="email" autocomplete="email" maxlength="254" required
                    value=echoed(ChangeEmail::PATH, "email")/>
            </div>
            <div class="field">
                <label for="email-change-password">"Current password"</label>
                <input id="email-change-password" name="password" type="password" autocomplete="current-password" maxlength="1024" required/>
            </div>
            <FormError result=Signal::derive(move || action.value().get()) action=ChangeEmail::PATH/>
            <button type="submit" class="secondary" disabled=move || action.pending().get()>"Change email"</button>
        </ActionForm>
    }
}

#[component]
fn ChangePasswordForm(action: ServerAction<ChangePassword>) -> impl IntoView {
    view! {
        <h3>"Change password"</h3>
        <ActionForm action=action>
            <div class="field">
                <label for="current-password">"Current password"</label>
                <input id="current-password" name="current_password" type="password" autocomplete="current-password" maxlength="1024" required/>
            </div>
            <NewPasswordField id="new-password" name="new_password" label="New password"/>
            <FormError result=Signal::derive(move || action.value().get()) action=ChangePassword::PATH/>
            <button type="submit" class="secondary" disabled=move || action.pending().get()>"Change password"</button>
        </ActionForm>
    }
}

#[cfg(test)]
mod tests {
    use super::notice_text;

    #[test]
    fn only_the_known_notices_have_words() {
        assert!(notice_text("password-changed").is_some());
        assert!(notice_text("verification-sent").is_some());
        assert!(notice_text("email-change-sent").is_some());
        assert_eq!(notice_text("<script>alert(1)</script>"), None);
        assert_eq!(notice_text(""), None);
    }
}
