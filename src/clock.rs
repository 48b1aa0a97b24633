//! Timestamps are stored as Unix seconds and shown as RFC 3339 with an explicit
//! `+00:00` offset and whole seconds, as the API contract requires.

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn rfc3339(unix_seconds: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(unix_seconds, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_with_explicit_utc_offset_and_whole_seconds() {
        assert_eq!(super::rfc3339(1_771_583_400), "2026-02-20T10:30:00+00:00");
    }
}
