//! Page pieces every feature uses: a form's error and a load's error.
//!
//! Pages wait for their data (`Suspend`) with no `Suspense` or `Transition` around
//! it. A boundary walks its children once to find what they wait for, again when it
//! arrives and once more to render them: most of a server-rendered page's cost
//! (bench/records/). Without one, the server renders each part once: the session is
//! read before the page (`session::read_before_render`), so the header and these
//! gates are drawn at once; the pages that load more render asynchronously (their
//! routes' `SsrMode::Async`), so the page is sent when its data is in. The browser
//! hydrates from the data the page carries; when data is read again, the old view
//! stays until the new data arrives.

use crate::error::PageError;
use leptos::prelude::*;

/// Shows the error of the last submission of a form, if it failed. `action` (the
/// server function's path) is for actions made outside the router, such as the
/// account context's: without JavaScript their error comes back in the URL, which
/// only the router reads.
#[component]
pub(crate) fn FormError<T: Clone + Send + Sync + 'static>(
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
pub(crate) fn LoadError(error: PageError) -> impl IntoView {
    view! { <p class="form-error" role="alert">{error.message}</p> }
}

/// The error a form posted without JavaScript to `action` came back with.
fn error_in_url(action: &'static str) -> Option<PageError> {
    let error = use_context::<leptos::server::ServerActionError>()?;
    (error.path() == action)
        .then(|| server_fn::error::ServerFnUrlError::<PageError>::decode_err(error.err()))
}
