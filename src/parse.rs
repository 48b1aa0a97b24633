//! Parsing shared by every feature: human-readable labels from input, ids from
//! requests and from rows, and what a unique-constraint violation means.

use std::fmt;

/// Why a piece of input was refused, in words the user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidInput(pub String);

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Characters that change how the text around them is displayed without showing
/// themselves: bidirectional overrides and isolates (which can make "Acme" display
/// as another name), zero-width characters, the word joiner and its invisible
/// operators, and the byte-order mark (a zero-width no-break space inside text).
pub(crate) fn is_invisible_formatting(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// A character no displayed text should carry: a control character or an
/// invisible formatting one.
pub(crate) fn is_disguising(c: char) -> bool {
    c.is_control() || is_invisible_formatting(c)
}

/// Parses a human-readable name: trimmed, at most `max_chars` characters, no control
/// characters, no invisible formatting characters. `None` when nothing is left after
/// trimming.
pub(crate) fn parse_label(
    raw: &str,
    what: &str,
    max_chars: usize,
) -> Result<Option<String>, InvalidInput> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max_chars {
        return Err(InvalidInput(format!(
            "{what} must be at most {max_chars} characters"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(InvalidInput(format!(
            "{what} must not contain control characters"
        )));
    }
    if trimmed.chars().any(is_invisible_formatting) {
        return Err(InvalidInput(format!(
            "{what} must not contain invisible formatting characters \
             (bidirectional overrides or zero-width characters)"
        )));
    }
    Ok(Some(trimmed.to_string()))
}

#[cfg(feature = "ssr")]
pub(crate) use server::{path_id, stored_id, ResultExt};

#[cfg(feature = "ssr")]
mod server {
    use super::InvalidInput;
    use crate::error::AppError;
    use uuid::Uuid;

    /// Input refused by a parser is well-formed input that breaks a rule: `422`.
    impl From<InvalidInput> for AppError {
        fn from(error: InvalidInput) -> Self {
            AppError::Validation(error.0)
        }
    }

    /// An id in a path or a form: one that does not parse names nothing, so it gets
    /// the same `missing` answer (a `404`) as an id nobody has.
    pub(crate) fn path_id(raw: &str, missing: AppError) -> Result<Uuid, AppError> {
        Uuid::parse_str(raw.trim()).map_err(|_| missing)
    }

    /// An id as stored (UUID text): anything else is a corrupt row, not bad input.
    pub(crate) fn stored_id(raw: &str) -> Result<Uuid, AppError> {
        Uuid::parse_str(raw)
            .map_err(|_| AppError::Internal(format!("malformed id {raw:?} in database")))
    }

    /// Maps the violation of a unique constraint to the error it means to the caller
    /// ("already a member", "email taken", ...); every other failure stays a database error.
    pub(crate) trait ResultExt<T> {
        fn on_unique_violation(self, meaning: AppError) -> Result<T, AppError>;
    }

    impl<T> ResultExt<T> for Result<T, sqlx::Error> {
        fn on_unique_violation(self, meaning: AppError) -> Result<T, AppError> {
            self.map_err(|error| match &error {
                sqlx::Error::Database(db) if db.is_unique_violation() => meaning,
                _ => error.into(),
            })
        }
    }
}
