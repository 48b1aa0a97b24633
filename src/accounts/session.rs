//! Who is signed in to the browser session, and which organization they act on.
//! Server functions use these; the JSON API never reads the session.

use crate::authorization::{default_membership, Membership, User};
use crate::clock;
use crate::error::AppError;
use crate::state::AppState;
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

/// The signed-in user of this session, if any.
pub async fn signed_in_user(state: &AppState, session: &Session) -> Result<Option<User>, AppError> {
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
    let user = state.accounts.user(user_id).await?;
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
    let all = state.accounts.memberships(user).await?;
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
