//! The no-JavaScript reveal: a key created by a form posted without JavaScript is
//! kept in the session, sealed (the session store never holds it in plain text) and
//! bound to its user, for the one page view the redirect leads to.

use crate::accounts::authorization::User;
use crate::error::AppError;
use crate::licensing::CreatedLicenseKeyDto;
use crate::secrets::Sealer;
use tower_sessions::Session;

const REVEAL: &str = "reveal";

/// Seals the keys kept for their reveal.
#[derive(Clone)]
pub(crate) struct RevealSealer(pub Sealer);

impl RevealSealer {
    /// Keeps `created` for the next page view.
    pub(crate) async fn stash(
        &self,
        session: &Session,
        user: &User,
        created: &CreatedLicenseKeyDto,
    ) -> Result<(), AppError> {
        let plaintext =
            serde_json::to_vec(created).map_err(|e| AppError::Internal(format!("reveal: {e}")))?;
        let sealed = self.0.seal(&plaintext, user.id.as_bytes());
        Ok(session.insert(REVEAL, sealed).await?)
    }

    /// The stashed key, once: taking it erases it.
    pub(crate) async fn take(
        &self,
        session: &Session,
        user: &User,
    ) -> Result<Option<CreatedLicenseKeyDto>, AppError> {
        // Read first: a removal always writes the session back (and resends its
        // cookie), and nearly every view of the page has nothing to take.
        let Some(sealed) = session.get::<String>(REVEAL).await? else {
            return Ok(None);
        };
        session.remove_value(REVEAL).await?;
        Ok(self
            .0
            .open(&sealed, user.id.as_bytes())
            .and_then(|plaintext| serde_json::from_slice(&plaintext).ok()))
    }
}
