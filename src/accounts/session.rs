//! Who is signed in to the browser session, and which organization they act on.
//! Server functions use these; the JSON API never reads the session.

use super::service::{Membership, User};
use crate::clock;
use crate::error::AppError;
use crate::http::AppState;
use crate::licensing::CreatedLicenseKeyDto;
use tower_sessions::Session;
use uuid::Uuid;

const USER_ID: &str = "user_id";
const ORGANIZATION_ID: &str = "organization_id";
const SIGNED_IN_AT: &str = "signed_in_at";
const REVEAL: &str = "reveal";

fn session_error(error: tower_sessions::session::Error) -> AppError {
    AppError::Internal(format!("session store: {error}"))
}

/// Everything a signed-in page request acts with.
pub struct PageActor {
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

pub async fn signed_in_user(state: &AppState, session: &Session) -> Result<Option<User>, AppError> {
    let Some(user_id) = session.get::<Uuid>(USER_ID).await.map_err(session_error)? else {
        return Ok(None);
    };
    // However active, a session ends `session_absolute_timeout` after sign-in.
    let signed_in_at = session
        .get::<i64>(SIGNED_IN_AT)
        .await
        .map_err(session_error)?
        .unwrap_or_default();
    let limit = state.settings.session_absolute_timeout.as_secs() as i64;
    if clock::now() - signed_in_at > limit {
        session.flush().await.map_err(session_error)?;
        return Ok(None);
    }
    let user = state.accounts.user(user_id).await?;
    if user.is_none() {
        session.flush().await.map_err(session_error)?;
    }
    Ok(user)
}

/// The organization chosen in the switcher while it is still one of the user's,
/// otherwise the default one.
pub async fn current_membership(
    state: &AppState,
    session: &Session,
    user: &User,
) -> Result<Membership, AppError> {
    let chosen = session
        .get::<Uuid>(ORGANIZATION_ID)
        .await
        .map_err(session_error)?;
    if let Some(organization_id) = chosen {
        match state.accounts.membership(user, Some(organization_id)).await {
            Err(AppError::OrganizationNotFound) => {
                session
                    .remove::<Uuid>(ORGANIZATION_ID)
                    .await
                    .map_err(session_error)?;
            }
            result => return result,
        }
    }
    state.accounts.membership(user, None).await
}

/// The signed-in user of a page request, whatever organizations they have.
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
pub async fn page_actor() -> Result<PageActor, AppError> {
    let PageUser {
        state,
        session,
        user,
    } = page_user().await?;
    let membership = current_membership(&state, &session, &user).await?;
    Ok(PageActor {
        state,
        session,
        user,
        membership,
    })
}

/// Starts a signed-in session under a fresh id (no session fixation).
pub async fn sign_in(session: &Session, user: &User) -> Result<(), AppError> {
    session.cycle_id().await.map_err(session_error)?;
    session.clear().await;
    session
        .insert(SIGNED_IN_AT, clock::now())
        .await
        .map_err(session_error)?;
    session
        .insert(USER_ID, user.id)
        .await
        .map_err(session_error)
}

pub async fn choose_organization(
    session: &Session,
    membership: &Membership,
) -> Result<(), AppError> {
    session
        .insert(ORGANIZATION_ID, membership.organization_id())
        .await
        .map_err(session_error)
}

/// Ends the session on the server: the cookie is worthless afterwards.
pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    session.flush().await.map_err(session_error)
}

/// Whether the request is a form that the browser posted itself (no JavaScript):
/// it is answered with a redirect back to the page, not with data.
pub async fn is_plain_form_post() -> bool {
    leptos_axum::extract::<axum::http::HeaderMap>()
        .await
        .ok()
        .and_then(|headers| {
            let accept = headers.get(axum::http::header::ACCEPT)?.to_str().ok()?;
            Some(accept.contains("text/html"))
        })
        .unwrap_or(false)
}

/// Keeps a new key for the page the redirect leads to, sealed (the session store
/// never holds it in plain text) and bound to the user.
pub async fn stash_reveal(
    actor: &PageActor,
    created: &CreatedLicenseKeyDto,
) -> Result<(), AppError> {
    let plaintext =
        serde_json::to_vec(created).map_err(|e| AppError::Internal(format!("reveal: {e}")))?;
    let sealed = actor
        .state
        .reveals
        .seal(&plaintext, actor.user.id.as_bytes());
    actor
        .session
        .insert(REVEAL, sealed)
        .await
        .map_err(session_error)
}

/// The stashed key, once: taking it erases it.
pub async fn take_reveal(page: &PageUser) -> Result<Option<CreatedLicenseKeyDto>, AppError> {
    let Some(sealed) = page
        .session
        .remove::<String>(REVEAL)
        .await
        .map_err(session_error)?
    else {
        return Ok(None);
    };
    Ok(page
        .state
        .reveals
        .open(&sealed, page.user.id.as_bytes())
        .and_then(|plaintext| serde_json::from_slice(&plaintext).ok()))
}
