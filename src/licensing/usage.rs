//! What a key's instance did, one UTC day at a time: how often it validated, from
//! which URLs, the highest and latest of each metric it reported and the
//! violations it was told. One rollup per key per day, however often it calls.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The metrics an instance reports, by their wire names, in the order charts show them.
pub(crate) const METRICS: [&str; 4] =
    ["userCount", "companyCount", "invoicesThisMonth", "orgCount"];

/// Distinct URLs (and violations) kept per day: enough to tell a shared key, bounded
/// however many servers a leaked key reaches.
pub const MAX_DISTINCT_PER_DAY: usize = 20;

/// Further distinct URLs a day counts beyond those it lists (by fingerprint).
pub(crate) const MAX_FURTHER_URLS_COUNTED: usize = 200;

/// Instance URLs a key remembers having reported: a `new_instance_url` event only
/// for one not among them, so two instances taking turns add no event.
pub(crate) const MAX_KNOWN_URLS: usize = 16;

/// The longest history kept and served.
pub(crate) const MAX_DAYS: i64 = 400;
pub(crate) const DEFAULT_DAYS: i64 = 90;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MetricRollup {
    pub(crate) max: i64,
    pub(crate) last: i64,
}

/// One day of one key, as stored (JSON) and as the usage API answers it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DayUsage {
    pub(crate) validations: i64,
    pub(crate) instance_urls: Vec<String>,
    /// Only the metrics reported that day, by wire name (`userCount`, ...).
    pub(crate) metrics: BTreeMap<String, MetricRollup>,
    pub(crate) violations: Vec<String>,
    /// Fingerprints of the distinct URLs seen beyond `instance_urls` (stored only,
    /// to count them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) further_urls: Vec<u32>,
}

impl DayUsage {
    /// Adds one validation: its instance URL, the metrics it reported (by wire
    /// name) and the violations it is answered with. Returns those violations,
    /// with the shared-key one when two or more instance URLs validated today.
    pub(crate) fn record<'a>(
        &mut self,
        instance_url: Option<&str>,
        metrics: impl IntoIterator<Item = (&'a str, i64)>,
        mut violations: Vec<String>,
    ) -> Vec<String> {
        self.validations += 1;
        if let Some(url) = instance_url {
            self.add_instance_url(url);
        }
        for (name, value) in metrics {
            self.metrics
                .entry(name.to_string())
                .and_modify(|rollup| {
                    rollup.max = rollup.max.max(value);
                    rollup.last = value;
                })
                .or_insert(MetricRollup {
                    max: value,
                    last: value,
                });
        }
        if self.instances() >= 2 {
            violations.push(shared_key_violation(self.instances()));
        }
        for violation in &violations {
            add_distinct(&mut self.violations, violation);
        }
        violations
    }

    fn add_instance_url(&mut self, url: &str) {
        if self.instance_urls.iter().any(|known| known == url) {
            return;
        }
        if self.instance_urls.len() < MAX_DISTINCT_PER_DAY {
            self.instance_urls.push(url.to_string());
            return;
        }
        let mark = fingerprint(url);
        if self.further_urls.len() < MAX_FURTHER_URLS_COUNTED && !self.further_urls.contains(&mark)
        {
            self.further_urls.push(mark);
        }
    }

    /// How many distinct instances validated the key that day (counted up to the
    /// listed ones and `MAX_FURTHER_URLS_COUNTED` more).
    pub(crate) fn instances(&self) -> usize {
        self.instance_urls.len() + self.further_urls.len()
    }
}

/// A URL's 32-bit FNV-1a hash: enough to count distinct URLs, in 4 bytes each.
fn fingerprint(url: &str) -> u32 {
    url.bytes().fold(0x811c_9dc5, |hash: u32, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// The instance URLs a key reported, the newest last (its row keeps them as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct KnownUrls(Vec<String>);

impl KnownUrls {
    /// What the row keeps; for a key from before rows kept them, its last URL.
    pub(crate) fn of(stored: Option<&str>, last_reported: Option<&str>) -> Self {
        match stored.and_then(|text| serde_json::from_str(text).ok()) {
            Some(urls) => KnownUrls(urls),
            None => KnownUrls(last_reported.map(str::to_string).into_iter().collect()),
        }
    }

    pub(crate) fn contains(&self, url: &str) -> bool {
        self.0.iter().any(|known| known == url)
    }

    /// With `url` as the newest, the oldest forgotten past `MAX_KNOWN_URLS`.
    pub(crate) fn with(mut self, url: &str) -> Self {
        self.0.retain(|known| known != url);
        self.0.push(url.to_string());
        let excess = self.0.len().saturating_sub(MAX_KNOWN_URLS);
        self.0.drain(..excess);
        self
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("strings serialize")
    }
}

fn add_distinct(list: &mut Vec<String>, item: &str) {
    if list.len() < MAX_DISTINCT_PER_DAY && !list.iter().any(|known| known == item) {
        list.push(item.to_string());
    }
}

/// The sentence a shared key's validation carries (the deployed client shows
/// violations to the instance's administrator).
pub(crate) fn shared_key_violation(instances: usize) -> String {
    format!("License key used by {instances} instances today; each instance needs its own key.")
}

/// One chart: which metric (or `validations`), its title, the plan's limit
/// (none when unlimited) and the drawing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct UsageChart {
    pub(crate) metric: String,
    pub(crate) title: String,
    pub(crate) limit: Option<i64>,
    pub(crate) svg: String,
}

/// What a chart or table column of a metric is called.
pub(crate) fn metric_title(metric: &str) -> &'static str {
    match metric {
        "userCount" => "Users",
        "companyCount" => "Companies",
        "invoicesThisMonth" => "Invoices this month",
        "orgCount" => "Organizations",
        _ => "Validations per day",
    }
}

/// A day in the usage API's answer.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageDayDto {
    /// The UTC day, `YYYY-MM-DD`.
    pub(crate) date: String,
    pub(crate) validations: i64,
    pub(crate) instance_urls: Vec<String>,
    /// Further distinct instance URLs seen that day beyond the listed ones (counted
    /// up to 200).
    pub(crate) more_instance_urls: usize,
    pub(crate) metrics: BTreeMap<String, MetricRollup>,
    pub(crate) violations: Vec<String>,
}

/// `GET /licensing/keys/{id}/usage`: the days with validations, oldest first.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UsageDto {
    pub(crate) days: Vec<UsageDayDto>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_counts_validations_keeps_max_and_last_and_distinct_urls() {
        let mut day = DayUsage::default();
        day.record(Some("https://a"), [("userCount", 4)], vec![]);
        let told = day.record(
            Some("https://a"),
            [("userCount", 2), ("orgCount", 1)],
            vec!["too many users".to_string()],
        );
        assert_eq!(told, ["too many users"]);
        day.record(None, [], vec!["too many users".to_string()]);
        assert_eq!(day.validations, 3);
        assert_eq!(day.instance_urls, ["https://a"]);
        assert_eq!(day.metrics["userCount"], MetricRollup { max: 4, last: 2 });
        assert_eq!(day.metrics["orgCount"], MetricRollup { max: 1, last: 1 });
        assert!(!day.metrics.contains_key("companyCount"), "never reported");
        assert_eq!(day.violations, ["too many users"]);
        assert_eq!(day.instances(), 1);
    }

    #[test]
    fn a_second_instance_url_in_a_day_makes_the_key_shared() {
        let mut day = DayUsage::default();
        assert_eq!(
            day.record(Some("https://a"), [], vec![]),
            Vec::<String>::new()
        );
        let told = day.record(Some("https://b"), [], vec![]);
        assert_eq!(told, [shared_key_violation(2)]);
        assert_eq!(day.violations, [shared_key_violation(2)]);
        // Either instance hears it from then on, without an instance URL too.
        assert_eq!(day.record(None, [], vec![]), [shared_key_violation(2)]);
    }

    #[test]
    fn distinct_urls_per_day_are_bounded_and_the_further_ones_counted() {
        let mut day = DayUsage::default();
        for n in 0..100 {
            day.record(Some(&format!("https://{n}")), [], vec![]);
            day.record(Some(&format!("https://{n}")), [], vec![]);
        }
        assert_eq!(day.validations, 200);
        assert_eq!(day.instance_urls.len(), MAX_DISTINCT_PER_DAY);
        assert_eq!(
            day.further_urls.len(),
            100 - MAX_DISTINCT_PER_DAY,
            "each counted once"
        );
        assert_eq!(day.instances(), 100);
        for n in 0..1000 {
            day.record(Some(&format!("https://more-{n}")), [], vec![]);
        }
        assert_eq!(day.further_urls.len(), MAX_FURTHER_URLS_COUNTED);
        let stored = serde_json::to_string(&day).unwrap();
        assert!(
            stored.len() < 8_000,
            "a day stays small: {} bytes",
            stored.len()
        );
    }

    #[test]
    fn a_key_knows_its_recent_urls_and_forgets_the_oldest() {
        let legacy = KnownUrls::of(None, Some("https://a"));
        assert!(
            legacy.contains("https://a"),
            "a key from before knows its last URL"
        );
        let known = legacy.with("https://b").with("https://a");
        assert_eq!(known.to_json(), r#"["https://b","https://a"]"#);
        let read = KnownUrls::of(Some(&known.to_json()), Some("https://zzz"));
        assert!(read.contains("https://b") && !read.contains("https://zzz"));
        let many = (0..40).fold(KnownUrls::default(), |known, n| {
            known.with(&format!("https://{n}"))
        });
        assert!(!many.contains("https://0") && many.contains("https://39"));
        assert_eq!(KnownUrls::of(Some(&many.to_json()), None), many);
        assert_eq!(many.0.len(), MAX_KNOWN_URLS);
    }

    #[test]
    fn a_day_reads_back_what_it_wrote() {
        let mut day = DayUsage::default();
        day.record(Some("https://a"), [("invoicesThisMonth", 7)], vec![]);
        let text = serde_json::to_string(&day).unwrap();
        assert!(text.contains(r#""instanceUrls":["https://a"]"#), "{text}");
        assert_eq!(serde_json::from_str::<DayUsage>(&text).unwrap(), day);
    }

    #[test]
    fn the_shared_key_sentence_names_the_count() {
        assert_eq!(
            shared_key_violation(3),
            "License key used by 3 instances today; each instance needs its own key."
        );
    }
}
