//! Sign-up, sign-in, the header's organization switcher and account menu.

use crate::accounts::context::{AccountContext, SignIn, SignOut, SignUp, SwitchOrganization};
use crate::accounts::SignedIn;
use crate::components::FormError;
use crate::form_input::echoed;
use crate::settled::settled;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_location, use_query_map};
use server_fn::ServerFn;

#[component]
pub(crate) fn SignUpPage() -> impl IntoView {
    let context = AccountContext::get();
    let action = context.sign_up;
    view! {
        <Title text="Create an account · Storno Licensing"/>
        <section class="card narrow">
            <h1>"Create your account"</h1>
            <p class="lede">"You will own a new organization and can issue license keys for its self-hosted instances."</p>
            <ActionForm action=action>
                <div class="field">
                    <label for="email">"Email"</label>
                    <input id="email" name="email" type="email" autocomplete="email" maxlength="254" required
                        value=echoed(SignUp::PATH, "email")/>
                </div>
                <NewPasswordField id="password" name="password" label="Password"/>
                <div class="field">
                    <label for="organization_name">"Organization name"</label>
                    <input id="organization_name" name="organization_name" type="text" maxlength="255" required
                        value=echoed(SignUp::PATH, "organization_name")/>
                </div>
                <FormError result=Signal::derive(move || action.value().get()) action=SignUp::PATH/>
                <button type="submit" class="primary" disabled=move || action.pending().get()>"Create account"</button>
            </ActionForm>
            <p class="switch-form">"Already have an account? " <a href="/sign-in">"Sign in"</a></p>
        </section>
    }
}

/// A field for a new password, with the policy's hint (sign-up, reset, change).
#[component]
pub(crate) fn NewPasswordField(
    id: &'static str,
    name: &'static str,
    label: &'static str,
) -> impl IntoView {
    let hint = format!("{id}-hint");
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id name=name type="password" autocomplete="new-password" minlength="12" maxlength="1024" required aria-describedby=hint.clone()/>
            <p class="hint" id=hint>"At least 12 characters."</p>
        </div>
    }
}

#[component]
pub(crate) fn SignInPage() -> impl IntoView {
    let context = AccountContext::get();
    let action = context.sign_in;
    let query = use_query_map();
    view! {
        <Title text="Sign in · Storno Licensing"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            {move || query.read().get("reset").is_some().then(|| view! {
                <p class="form-success" role="status">"Your password is changed and every session was signed out. Sign in with the new password."</p>
            })}
            <ActionForm action=action>
                <div class="field">
                    <label for="email">"Email"</label>
                    <input id="email" name="email" type="email" autocomplete="email" maxlength="254" required
                        value=echoed(SignIn::PATH, "email")/>
                </div>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" maxlength="1024" required/>
                </div>
                <FormError result=Signal::derive(move || action.value().get()) action=SignIn::PATH/>
                <button type="submit" class="primary" disabled=move || action.pending().get()>"Sign in"</button>
            </ActionForm>
            <p class="switch-form"><a href="/forgot-password">"Forgot password?"</a></p>
            <p class="switch-form">"New here? " <a href="/sign-up">"Create an account"</a></p>
        </section>
    }
}

/// The header's organization switcher and account menu.
#[component]
pub(crate) fn AccountBar() -> impl IntoView {
    let context = AccountContext::get();
    // The link to the page shown is marked from one reading of the location. (The
    // app's links are plain `<a>`: the router navigates on any same-origin link, and
    // leptos_router's `<A>` cost a component, a memo and a route lookup each per
    // render; bench/records/.)
    let pathname = use_location().pathname;
    let current = move |href: &'static str| move || shows(&pathname.read(), href).then_some("page");
    // No boundary: drawn in the render's first pass, as the pages' gates are
    // (`RequireSignIn`).
    move || {
        Suspend::new(async move {
            settled(match context.signed_in.await {
                Ok(Some(signed_in)) => view! {
                    <nav class="main-nav" aria-label="Main">
                        <a href="/keys" aria-current=current("/keys")>"License keys"</a>
                        <a href="/organization" aria-current=current("/organization")>"Organization"</a>
                        <a href="/activity" aria-current=current("/activity")>"Activity"</a>
                        <a href="/settings/billing" aria-current=current("/settings/billing")>"Billing"</a>
                        <a href="/account" aria-current=current("/account")>
                            "Account"
                            {(signed_in.pending_invitations > 0).then(|| view! {
                                <span class="badge count" title="Invitations waiting for you">{signed_in.pending_invitations}</span>
                            })}
                        </a>
                    </nav>
                    <OrganizationSwitcher signed_in=signed_in.clone()/>
                    <div class="account">
                        <span class="who">{signed_in.email.clone()}</span>
                        <form method="post" action=SignOut::url() on:submit=move |ev| {
                            ev.prevent_default();
                            context.sign_out.dispatch(SignOut {});
                        }>
                            <button type="submit" class="link">"Sign out"</button>
                        </form>
                    </div>
                }
                .into_any(),
                _ => view! {
                    <nav class="main-nav" aria-label="Account">
                        <a href="/sign-in" aria-current=current("/sign-in")>"Sign in"</a>
                        <a href="/sign-up" aria-current=current("/sign-up")>"Sign up"</a>
                    </nav>
                }
                .into_any(),
            })
        })
    }
}

/// Whether the page at `path` is the one a header link to `href` leads to, or
/// one below it (`/keys/…` under `/keys`).
fn shows(path: &str, href: &str) -> bool {
    path.strip_prefix(href)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[component]
fn OrganizationSwitcher(signed_in: SignedIn) -> impl IntoView {
    let context = AccountContext::get();
    let current = signed_in
        .current
        .map(|current| current.id)
        .unwrap_or_default();
    let select = NodeRef::<leptos::html::Select>::new();
    // The header's forms (this one and sign-out) dispatch their actions themselves,
    // not through `ActionForm`: its form decoding (serde_qs) would be in the code
    // every visitor downloads first. Without JavaScript they post as plain forms.
    let switch = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(select) = select.get_untracked() {
            context.switch_organization.dispatch(SwitchOrganization {
                organization_id: select.value(),
            });
        }
    };
    view! {
        <div class="switcher">
            <form method="post" action=SwitchOrganization::url() on:submit=switch>
                <label for="organization-switcher">"Organization"</label>
                <select id="organization-switcher" name="organization_id" node_ref=select>
                    {signed_in
                        .organizations
                        .into_iter()
                        .map(|organization| {
                            let selected = organization.id == current;
                            view! {
                                <option value=organization.id selected=selected>
                                    {format!("{} ({})", organization.name, organization.role)}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <button type="submit">"Switch"</button>
            </form>
        </div>
    }
}

/// `/`: the License keys page for a signed-in visitor, sign-in for anyone else.
#[component]
pub(crate) fn HomePage() -> impl IntoView {
    let context = AccountContext::get();
    move || {
        Suspend::new(async move {
            match context.signed_in.await {
                Ok(Some(_)) => view! { <Redirect path="/keys"/> }.into_any(),
                _ => view! { <Redirect path="/sign-in"/> }.into_any(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::shows;

    #[test]
    fn a_header_link_is_current_on_its_page_and_the_pages_below_it() {
        assert!(shows("/keys", "/keys"));
        assert!(shows("/keys/01a24460-8741-7649-816e-47914d514a3e", "/keys"));
        assert!(!shows("/keysmith", "/keys"));
        assert!(!shows("/organization", "/keys"));
        assert!(!shows("/", "/keys"));
        assert!(shows("/settings/billing", "/settings/billing"));
    }
}
