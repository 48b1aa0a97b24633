//! Timestamps are stored as Unix seconds and shown as RFC 3339 with an explicit
//! `+00:00` offset and whole seconds, as the API contract requires.

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn rfc3339(unix_seconds: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(unix_seconds, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago".
pub(crate) fn relative(seconds_ago: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" });
    match seconds_ago.max(0) {
        s if s < 60 => "just now".to_string(),
        s if s < 3600 => plural(s / 60, "minute"),
        s if s < 86_400 => plural(s / 3600, "hour"),
        s => plural(s / 86_400, "day"),
    }
}

/// Reads `2026-02-20T10:30:00+00:00` (any RFC 3339 offset) as Unix seconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.timestamp())
}

#[cfg(test)]
mod tests {
    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(super::relative(5), "just now");
        assert_eq!(super::relative(60), "1 minute ago");
        assert_eq!(super::relative(3 * 3600 + 5), "3 hours ago");
        assert_eq!(super::relative(49 * 3600), "2 days ago");
    }

    #[test]
    fn formats_with_explicit_utc_offset_and_whole_seconds() {
        assert_eq!(super::rfc3339(1_771_583_400), "2026-02-20T10:30:00+00:00");
    }
}
