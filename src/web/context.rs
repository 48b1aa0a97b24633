//! What a server function reads from its request's context: the services and
//! settings the router provides, each by its own type.

use crate::error::AppError;

/// The `T` the router provided for this request, or an internal error (never a
/// panic) when it is missing.
pub(crate) fn service<T: Clone + Send + Sync + 'static>() -> Result<T, AppError> {
    leptos::prelude::use_context::<T>().ok_or_else(|| {
        AppError::Internal(format!(
            "{} is not in the context",
            std::any::type_name::<T>()
        ))
    })
}
