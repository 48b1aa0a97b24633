//! The day's rollup this app last wrote for each key, bounded in keys and bytes.

use super::super::*;
use std::collections::HashMap;
use std::sync::Mutex;

/// The day's rollup this app last wrote for each key (the text stored), so a routine
/// validation, in the app's turn, guards its UPDATE with what the row holds rather
/// than with what it read before its turn, when another validation may have written.
#[derive(Clone, Default)]
pub(in crate::licensing::service) struct WrittenDays(Arc<Mutex<Remembered>>);

#[derive(Default)]
pub(super) struct Remembered {
    pub(super) days: HashMap<String, (i64, String)>,
    /// The bytes of the keys and rollups held.
    pub(super) bytes: usize,
}

impl WrittenDays {
    /// Keys remembered at most, and their bytes at most; past either the memory
    /// starts over (each key's next validation reads its row, as without it).
    const MAX_KEYS: usize = 10_000;
    const MAX_BYTES: usize = 16 << 20;

    pub(super) fn get(&self, key_id: &str, day: i64) -> Option<String> {
        self.lock()
            .days
            .get(key_id)
            .filter(|(written, _)| *written == day)
            .map(|(_, usage)| usage.clone())
    }

    pub(super) fn remember(&self, key_id: &str, day: i64, usage: String) {
        let mut remembered = self.lock();
        let size = key_id.len() + usage.len();
        let full = remembered.days.len() >= Self::MAX_KEYS && !remembered.days.contains_key(key_id);
        if full || remembered.bytes + size > Self::MAX_BYTES {
            *remembered = Remembered::default();
        }
        if let Some((_, old)) = remembered.days.insert(key_id.to_string(), (day, usage)) {
            remembered.bytes -= key_id.len() + old.len();
        }
        remembered.bytes += size;
    }

    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.lock().bytes
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Remembered> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn written_days_answer_only_for_the_day_written_and_stay_bounded() {
        let days = WrittenDays::default();
        days.remember("key", 20_000, "{\"validations\":1}".into());
        assert_eq!(
            days.get("key", 20_000).as_deref(),
            Some("{\"validations\":1}")
        );
        assert_eq!(
            days.get("key", 20_001),
            None,
            "a new day is read from the row"
        );
        assert_eq!(days.get("other", 20_000), None);
        for n in 0..WrittenDays::MAX_KEYS {
            days.remember(&format!("key-{n}"), 20_000, String::new());
        }
        assert!(days.lock().days.len() <= WrittenDays::MAX_KEYS);
    }

    #[test]
    pub(super) fn written_days_stay_bounded_in_bytes() {
        let days = WrittenDays::default();
        let big = "x".repeat(12_000);
        for n in 0..5_000 {
            days.remember(&format!("key-{n}"), 20_000, big.clone());
            assert!(days.bytes() <= WrittenDays::MAX_BYTES, "after {n}");
        }
        // Rewriting a key's day replaces its bytes, not adds to them.
        let days = WrittenDays::default();
        for _ in 0..100 {
            days.remember("key", 20_000, big.clone());
        }
        assert_eq!(days.bytes(), "key".len() + big.len());
    }
}
