//! Who is signed in to the browser session, and which organization they act on.
//! Server functions use these; the JSON API never reads the session.

use crate::accounts::authorization::{default_membership, Membership, User};
use crate::accounts::service::sessions::{UserOverview, USER_ID};
use crate::accounts::service::AccountsService;
use crate::clock;
use crate::error::AppError;
use crate::web::context::service;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::OnceCell;
use tower_sessions::cookie::time::Duration;
use tower_sessions::{Expiry, Session};
use uuid::Uuid;

const ORGANIZATION_ID: &str = "organization_id";
const SIGNED_IN_AT: &str = "signed_in_at";

/// A page request's signed-in user acting in their current organization (the
/// `Membership` the database confirmed), with what the server function needs.
pub(crate) struct PageMember {
    pub(crate) session: Session,
    pub(crate) user: User,
    pub(crate) membership: Membership,
}

/// The request's session, borrowed from its parts (`leptos_axum::extract` would
/// copy all of them, headers and extensions, on every call).
pub(crate) fn current_session() -> Result<Session, AppError> {
    leptos::prelude::with_context::<axum::http::request::Parts, _>(|parts| {
        parts.extensions.get::<Session>().cloned()
    })
    .flatten()
    .ok_or_else(|| AppError::Internal("no session layer".into()))
}

/// Who is signed in to a session: the user, their organizations (in joining
/// order), the one they act in (`None` for someone in none) and how many
/// invitations wait for them.
#[derive(Clone)]
pub(crate) struct SignedInUser {
    pub(crate) user: User,
    pub(crate) organizations: Vec<Membership>,
    pub(crate) current: Option<Membership>,
    pub(crate) pending_invitations: usize,
}

/// One page render's read of who is signed in. A page's resources (the header's
/// session, the page's own data) each ask for it; while a page renders it is read
/// once, and a failed read fails the whole render alike. Server-function calls get
/// none: they may change what they read. Each request runs under a reactive root
/// of its own (`isolate_reactive_owner`), so the cache found is never another
/// request's.
#[derive(Clone)]
pub(crate) struct RenderCache {
    signed_in: Arc<OnceCell<ReadResult>>,
}

/// A read of who is signed in; a failure keeps its text for the log.
type ReadResult = Result<Option<SignedInUser>, String>;

/// Who is signed in, read before a page renders (`read_before_render`).
#[derive(Clone)]
struct ReadBeforeRender(ReadResult);

/// Reads who is signed in before a page renders, so that the header and the pages'
/// gates, which wait for the session with no boundary around them, find it ready
/// and are drawn in the render's first pass. (A boundary walks its children again
/// when its data arrives: the dearest part of a signed-in page, bench/records/. And
/// on a streamed page, such as sign-in, a wait with no boundary would be streamed
/// in a script without the page's nonce.) On the pages' routes and the not-found
/// page; server functions read the session themselves.
pub(crate) async fn read_before_render(
    State(accounts): State<AccountsService>,
    mut request: Request,
    next: Next,
) -> Response {
    if !crate::request_meta::is_server_fn_path(request.uri().path()) {
        if let Some(session) = request.extensions().get::<Session>().cloned() {
            let read = read_signed_in(&accounts, &session)
                .await
                .map_err(|error| error.to_string());
            request.extensions_mut().insert(ReadBeforeRender(read));
        }
    }
    next.run(request).await
}

/// Called as a page starts rendering (the routes' per-request context): the cache
/// starts with what `read_before_render` read.
pub(crate) fn provide_render_cache() {
    use leptos::prelude::{provide_context, with_context};
    if crate::request_meta::is_server_fn_request() {
        return;
    }
    let read = with_context::<axum::http::request::Parts, _>(|parts| {
        parts.extensions.get::<ReadBeforeRender>().cloned()
    })
    .flatten();
    let signed_in = match read {
        Some(ReadBeforeRender(read)) => OnceCell::new_with(Some(read)),
        None => OnceCell::new(),
    };
    provide_context(RenderCache {
        signed_in: Arc::new(signed_in),
    });
}

/// `read`'s answer, read once per page render (kept in the render's cache);
/// outside a render, read every time.
async fn once_per_render<Read, Fut>(read: Read) -> Result<Option<SignedInUser>, AppError>
where
    Read: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Option<SignedInUser>, AppError>>,
{
    let Some(cache) = leptos::prelude::use_context::<RenderCache>() else {
        return read().await;
    };
    let read = || async { read().await.map_err(|error| error.to_string()) };
    cache
        .signed_in
        .get_or_init(read)
        .await
        .clone()
        .map_err(AppError::Internal)
}

/// Who is signed in to this session, if anyone (read once per page render).
pub(crate) async fn signed_in(
    accounts: &AccountsService,
    session: &Session,
) -> Result<Option<SignedInUser>, AppError> {
    once_per_render(|| read_signed_in(accounts, session)).await
}

/// The session's stored row and its user, in one query. What this request changed
/// in the session is not seen (it is stored as the answer leaves): every server
/// function reads who is signed in before it changes the session.
async fn read_signed_in(
    accounts: &AccountsService,
    session: &Session,
) -> Result<Option<SignedInUser>, AppError> {
    let Some(id) = session.id() else {
        return Ok(None);
    };
    let Some(found) = accounts.session_overview(&id).await? else {
        // Nobody signed in under this id (an ended session, one signed out elsewhere,
        // a forged cookie): read through the session layer, which then finds nothing
        // too and has the answer clear the cookie, so the browser stops sending it.
        session.get_value(USER_ID).await?;
        return Ok(None);
    };
    let values = &found.values;
    // However active, a session ends `session_absolute_timeout` after sign-in.
    let signed_in_at = values
        .get(SIGNED_IN_AT)
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let policy = accounts.session_policy();
    let limit = policy.absolute_timeout.as_secs() as i64;
    let now = clock::now();
    if now - signed_in_at > limit {
        session.flush().await?;
        return Ok(None);
    }
    renew_when_due(policy.idle_timeout, session, found.expires_at - now);
    let chosen = values
        .get(ORGANIZATION_ID)
        .and_then(Value::as_str)
        .and_then(|id| Uuid::parse_str(id).ok());
    let UserOverview {
        user,
        memberships: organizations,
        pending_invitations,
    } = found.user;
    let current = match chosen {
        Some(chosen) => match organizations.iter().find(|m| m.organization_id() == chosen) {
            Some(current) => Some(current.clone()),
            // No longer one of theirs: back to the default.
            None => {
                session.remove::<Uuid>(ORGANIZATION_ID).await?;
                default_membership(&organizations).ok()
            }
        },
        None => default_membership(&organizations).ok(),
    };
    Ok(Some(SignedInUser {
        user,
        organizations,
        current,
        pending_invitations,
    }))
}

/// A session in use ends `session_idle_timeout` after its last use: its end (the
/// stored row's and the cookie's) moves again once a tenth of that, at most a
/// minute, has passed since it last moved, so a busy session costs one write a
/// minute rather than one per request.
fn renew_when_due(idle_timeout: std::time::Duration, session: &Session, seconds_left: i64) {
    let idle = idle_timeout.as_secs() as i64;
    let step = (idle / 10).min(60);
    if seconds_left < idle - step {
        // Marks the session changed: the session layer stores it as the answer leaves.
        session.set_expiry(Some(Expiry::OnInactivity(Duration::seconds(idle))));
    }
}

/// A page request's signed-in user, in whatever organizations (maybe none).
pub(crate) struct PageUser {
    pub(crate) session: Session,
    pub(crate) user: User,
}

/// The signed-in user, or `SignedOut`.
pub(crate) async fn page_user() -> Result<PageUser, AppError> {
    let (session, signed_in) = page_signed_in().await?;
    Ok(PageUser {
        session,
        user: signed_in.user,
    })
}

/// The signed-in user in their current organization, or `SignedOut`.
pub(crate) async fn page_member() -> Result<PageMember, AppError> {
    let (session, signed_in) = page_signed_in().await?;
    let membership = signed_in.current.ok_or(AppError::OrganizationNotFound)?;
    Ok(PageMember {
        session,
        user: signed_in.user,
        membership,
    })
}

async fn page_signed_in() -> Result<(Session, SignedInUser), AppError> {
    let accounts = service::<AccountsService>()?;
    let session = current_session()?;
    let signed_in = signed_in(&accounts, &session)
        .await?
        .ok_or(AppError::SignedOut)?;
    Ok((session, signed_in))
}

/// Starts a signed-in session under a fresh id (no session fixation).
pub(crate) async fn sign_in(session: &Session, user: &User) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.clear().await;
    session.insert(SIGNED_IN_AT, clock::now()).await?;
    Ok(session.insert(USER_ID, user.id).await?)
}

pub(crate) async fn choose_organization(
    session: &Session,
    membership: &Membership,
) -> Result<(), AppError> {
    Ok(session
        .insert(ORGANIZATION_ID, membership.organization_id())
        .await?)
}

/// Ends the session on the server: the cookie is worthless afterwards.
pub(crate) async fn sign_out(session: &Session) -> Result<(), AppError> {
    Ok(session.flush().await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos::prelude::{provide_context, Owner, ScopedFuture};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Reads "who is signed in" twice, as a page's resources do, counting the
    /// reads (run in the owner's scope, as a page's resources are).
    async fn read_twice(reads: &AtomicUsize) {
        for _ in 0..2 {
            let signed_in = once_per_render(|| async {
                reads.fetch_add(1, Ordering::SeqCst);
                Ok(None)
            })
            .await
            .unwrap();
            assert!(signed_in.is_none());
        }
    }

    #[tokio::test]
    async fn a_page_render_reads_who_is_signed_in_once() {
        let reads = AtomicUsize::new(0);
        let owner = Owner::new();
        owner.with(provide_render_cache);
        owner.with(|| ScopedFuture::new(read_twice(&reads))).await;
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_server_function_call_reads_fresh_every_time() {
        let reads = AtomicUsize::new(0);
        let owner = Owner::new();
        let (parts, ()) = axum::http::Request::post("/rpc/accept_invitation")
            .body(())
            .unwrap()
            .into_parts();
        owner.with(|| {
            provide_context(parts);
            provide_render_cache();
        });
        owner.with(|| ScopedFuture::new(read_twice(&reads))).await;
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}
