//! The browser's door to the audit log: the Activity page and a person's own activity.

pub(crate) mod activity;
pub(crate) mod my_activity;
