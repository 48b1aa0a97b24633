//! Page pieces every feature uses: a form's error, and the gates that render a
//! page only for a signed-in visitor (in an organization).
//!
//! Pages wait for their data (`Suspend`) with no `Suspense` or `Transition` around
//! it. A boundary walks its children once to find what they wait for, again when it
//! arrives and once more to render them: most of a server-rendered page's cost
//! (BENCHMARKS.md). Without one, the server renders each part once: the session is
//! read before the page (`session::read_before_render`), so the header and these
//! gates are drawn at once; the pages that load more render asynchronously (their
//! routes' `SsrMode::Async`), so the page is sent when its data is in. The browser
//! hydrates from the data the page carries; when data is read again, the old view
//! stays until the new data arrives.

use crate::accounts::context::{AccountContext, CreateOrganization};
use crate::accounts::{OrganizationDto, SignedIn};
use crate::error::PageError;
use crate::form_input::echoed;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use server_fn::ServerFn;

/// Shows the error of the last submission of a form, if it failed. `action` (the
/// server function's path) is for actions made outside the router, such as the
/// account context's: without JavaScript their error comes back in the URL, which
/// only the router reads.
#[component]
pub fn FormError<T: Clone + Send + Sync + 'static>(
    result: Signal<Option<Result<T, PageError>>>,
    #[prop(optional)] action: Option<&'static str>,
) -> impl IntoView {
    let returned = action.and_then(error_in_url);
    move || {
        match result.get() {
            Some(Err(error)) => Some(error),
            Some(Ok(_)) => None,
            None => returned.clone(),
        }
        .map(|error| view! { <LoadError error/> })
    }
}

/// Why something could not be loaded or done, where it would have been.
#[component]
pub fn LoadError(error: PageError) -> impl IntoView {
    view! { <p class="form-error" role="alert">{error.message}</p> }
}

/// The error a form posted without JavaScript to `action` came back with.
fn error_in_url(action: &'static str) -> Option<PageError> {
    let error = use_context::<leptos::server::ServerActionError>()?;
    (error.path() == action)
        .then(|| server_fn::error::ServerFnUrlError::<PageError>::decode_err(error.err()))
}

/// Renders `signed_in_view` for a signed-in visitor; sends anyone else to sign-in.
/// No boundary waits for the session: the server reads it before the page renders
/// (`session::read_before_render`), so this is drawn in the render's first pass. In
/// the browser a session being read again (after signing in or switching
/// organization) is awaited before the view is redrawn, never judged stale.
#[component]
pub fn RequireSignIn<F, V>(signed_in_view: F) -> impl IntoView
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
pub fn RequireOrganization<F, V>(member_view: F) -> impl IntoView
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
pub fn CreateOrganizationForm(field_id: &'static str) -> impl IntoView {
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
pub fn NotOwnerNotice(
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
