//! Who is signed in to the browser session, and which organization they act on.
//! Server functions use these; the JSON API never reads the session.

use crate::authorization::{default_membership, Membership, User};
use crate::clock;
use crate::error::AppError;
use crate::state::AppState;
use std::sync::Arc;
use tokio::sync::OnceCell;
use tower_sessions::Session;
use uuid::Uuid;

const USER_ID: &str = "user_id";
const ORGANIZATION_ID: &str = "organization_id";
const SIGNED_IN_AT: &str = "signed_in_at";

/// A page request's signed-in user acting in their current organization (the
/// `Membership` the database confirmed), with what the server function needs.
pub struct PageMember {
    pub state: AppState,
    pub session: Session,
    pub user: User,
    pub membership: Membership,
}

pub async fn current_session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| AppError::Internal(format!("no session layer: {e}")))
}

/// One page render's reads of who is signed in. A page's resources (the header's
/// session, the page's own data) each ask for the user and their memberships; while
/// a page renders they are read once. Server-function calls get none: they may
/// change what they read. Each request runs under a reactive root of its own
/// (`isolate_reactive_owner`), so the cache found is never another request's.
#[derive(Clone, Default)]
pub struct RenderCache {
    user: Arc<OnceCell<Option<User>>>,
    memberships: Arc<OnceCell<Vec<Membership>>>,
    pending_invitations: Arc<OnceCell<usize>>,
}

/// Called as a page starts rendering (the routes' per-request context).
pub fn provide_render_cache() {
    if !crate::request_meta::is_server_fn_request() {
        leptos::prelude::provide_context(RenderCache::default());
    }
}

/// `read`'s answer, read once per page render (kept in the render's `cell`);
/// outside a render, read every time.
async fn once_per_render<T, Read, Fut>(
    cell: impl FnOnce(&RenderCache) -> &OnceCell<T>,
    read: Read,
) -> Result<T, AppError>
where
    T: Clone,
    Read: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    match leptos::prelude::use_context::<RenderCache>() {
        Some(cache) => Ok(cell(&cache).get_or_try_init(read).await?.clone()),
        None => read().await,
    }
}

/// The signed-in user of this session, if any (read once per page render).
pub async fn signed_in_user(state: &AppState, session: &Session) -> Result<Option<User>, AppError> {
    once_per_render(|cache| &cache.user, || read_signed_in_user(state, session)).await
}

async fn read_signed_in_user(
    state: &AppState,
    session: &Session,
) -> Result<Option<User>, AppError> {
    let Some(user_id) = session.get::<Uuid>(USER_ID).await? else {
        return Ok(None);
    };
    // However active, a session ends `session_absolute_timeout` after sign-in.
    let signed_in_at = session.get::<i64>(SIGNED_IN_AT).await?.unwrap_or_default();
    let limit = state.settings.session_absolute_timeout.as_secs() as i64;
    if clock::now() - signed_in_at > limit {
        session.flush().await?;
        return Ok(None);
    }
    let user = match leptos::prelude::use_context::<RenderCache>() {
        // A page reads the memberships and the invitations too: all in one round trip.
        Some(cache) => {
            let found = state.accounts.user_overview(user_id).await?;
            found.map(|overview| {
                // Already set only if they were read first; either is this render's.
                let _ = cache.memberships.set(overview.memberships);
                let _ = cache.pending_invitations.set(overview.pending_invitations);
                overview.user
            })
        }
        None => state.accounts.user(user_id).await?,
    };
    if user.is_none() {
        session.flush().await?;
    }
    Ok(user)
}

/// The user's organizations (in joining order, one query) and the current one
/// among them: the one chosen in the switcher while it is still one of theirs,
/// otherwise the default. `None` for someone in no organization.
pub async fn organizations_and_current(
    state: &AppState,
    session: &Session,
    user: &User,
) -> Result<(Vec<Membership>, Option<Membership>), AppError> {
    let all = once_per_render(
        |cache| &cache.memberships,
        || state.accounts.memberships(user),
    )
    .await?;
    if let Some(chosen) = session.get::<Uuid>(ORGANIZATION_ID).await? {
        match all.iter().find(|m| m.organization_id() == chosen) {
            Some(current) => {
                let current = current.clone();
                return Ok((all, Some(current)));
            }
            None => {
                session.remove::<Uuid>(ORGANIZATION_ID).await?;
            }
        }
    }
    let current = default_membership(&all).ok();
    Ok((all, current))
}

/// How many invitations wait for the user (read once per page render).
pub async fn pending_invitations(state: &AppState, user: &User) -> Result<usize, AppError> {
    once_per_render(
        |cache| &cache.pending_invitations,
        || state.accounts.pending_invitations(user),
    )
    .await
}

/// A page request's signed-in user, in whatever organizations (maybe none).
pub struct PageUser {
    pub state: AppState,
    pub session: Session,
    pub user: User,
}

/// The signed-in user, or `SignedOut`.
pub async fn page_user() -> Result<PageUser, AppError> {
    let state = AppState::from_context()?;
    let session = current_session().await?;
    let user = signed_in_user(&state, &session)
        .await?
        .ok_or(AppError::SignedOut)?;
    Ok(PageUser {
        state,
        session,
        user,
    })
}

/// The signed-in user in their current organization, or `SignedOut`.
pub async fn page_member() -> Result<PageMember, AppError> {
    let PageUser {
        state,
        session,
        user,
    } = page_user().await?;
    let (_, current) = organizations_and_current(&state, &session, &user).await?;
    let membership = current.ok_or(AppError::OrganizationNotFound)?;
    Ok(PageMember {
        state,
        session,
        user,
        membership,
    })
}

/// Starts a signed-in session under a fresh id (no session fixation).
pub async fn sign_in(session: &Session, user: &User) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.clear().await;
    session.insert(SIGNED_IN_AT, clock::now()).await?;
    Ok(session.insert(USER_ID, user.id).await?)
}

pub async fn choose_organization(
    session: &Session,
    membership: &Membership,
) -> Result<(), AppError> {
    Ok(session
        .insert(ORGANIZATION_ID, membership.organization_id())
        .await?)
}

/// Ends the session on the server: the cookie is worthless afterwards.
pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    Ok(session.flush().await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos::prelude::{provide_context, Owner, ScopedFuture};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Reads "who is signed in" twice, as a page's resources do, counting the
    /// reads (run in the owner's scope, as a page's resources are).
    async fn read_twice(reads: &AtomicUsize) -> Vec<Membership> {
        let mut seen = Vec::new();
        for _ in 0..2 {
            seen = once_per_render(
                |cache| &cache.memberships,
                || async {
                    reads.fetch_add(1, Ordering::SeqCst);
                    Ok(Vec::new())
                },
            )
            .await
            .unwrap();
        }
        seen
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
