//! The gates that render a page only for a signed-in visitor (in an organization),
//! and what a page shows someone who may not act. See `components` for why pages
//! wait with no `Suspense` around them.

use crate::accounts::context::{AccountContext, CreateOrganization};
use crate::accounts::{OrganizationDto, SignedIn};
use crate::components::{FormError, LoadError};
use crate::form_input::echoed;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use server_fn::ServerFn;

/// Renders `signed_in_view` for a signed-in visitor; sends anyone else to sign-in.
/// No boundary waits for the session: the server reads it before the page renders
/// (`session::read_before_render`), so this is drawn in the render's first pass. In
/// the browser a session being read again (after signing in or switching
/// organization) is awaited before the view is redrawn, never judged stale.
#[component]
pub(crate) fn RequireSignIn<F, V>(signed_in_view: F) -> impl IntoView
where
    F: Fn(SignedIn) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let context = AccountContext::get();
    move || {
        let signed_in_view = signed_in_view.clone();
        Suspend::new(async move {
            match context.signed_in.await {
                Ok(Some(signed_in)) => signed_in_view(signed_in).into_any(),
                Ok(None) => view! { <Redirect path="/sign-in"/> }.into_any(),
                Err(error) => view! { <LoadError error/> }.into_any(),
            }
        })
    }
}

/// Renders `member_view` for a signed-in visitor acting in an organization; someone
/// who belongs to none is told how to get one.
#[component]
pub(crate) fn RequireOrganization<F, V>(member_view: F) -> impl IntoView
where
    F: Fn(SignedIn, OrganizationDto) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <RequireSignIn signed_in_view=move |signed_in: SignedIn| match signed_in.current.clone() {
            Some(current) => member_view(signed_in, current).into_any(),
            None => view! { <NoOrganization/> }.into_any(),
        }/>
    }
}

#[component]
fn NoOrganization() -> impl IntoView {
    view! {
        <section class="card notice" role="note" data-testid="no-organization">
            <h2>"You are not a member of any organization"</h2>
            <p>"Create one below, or accept an invitation on your " <a href="/account">"Account"</a> " page."</p>
            <CreateOrganizationForm field_id="first-organization"/>
        </section>
    }
}

/// Creates an organization owned by the signed-in person, who then acts in it.
#[component]
pub(crate) fn CreateOrganizationForm(field_id: &'static str) -> impl IntoView {
    let create = ServerAction::<CreateOrganization>::new();
    AccountContext::get().reload_after(create);
    view! {
        <ActionForm action=create>
            <div class="field">
                <label for=field_id>"Organization name"</label>
                <input id=field_id name="name" type="text" maxlength="255" required
                    value=echoed(CreateOrganization::PATH, "name")/>
            </div>
            <FormError result=Signal::derive(move || create.value().get()) action=CreateOrganization::PATH/>
            <button type="submit" class="primary">"Create organization"</button>
        </ActionForm>
    }
}

/// What a member who is not the owner sees instead of an owner-only page: why,
/// and (`children`) what they can do instead.
#[component]
pub(crate) fn NotOwnerNotice(
    page: &'static str,
    title: &'static str,
    current: OrganizationDto,
    children: Children,
) -> impl IntoView {
    view! {
        <h1>{page}</h1>
        <section class="card notice" role="note" data-testid="not-owner">
            <h2>{title}</h2>
            <p>
                "You are " <strong>{current.role.to_string()}</strong> " of " <strong>{current.name}</strong> ". "
                {children()}
            </p>
        </section>
    }
}
