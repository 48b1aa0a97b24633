//! License keys and the input that comes with them.

use crate::parse::{parse_label, InvalidInput};

/// The human-readable label of a self-hosted instance ("Production", "Staging").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstanceName(String);

impl InstanceName {
    pub(crate) const MAX_CHARS: usize = 255;

    /// Trimmed; empty after trimming means "no name".
    pub(crate) fn parse(raw: &str) -> Result<Option<Self>, InvalidInput> {
        Ok(parse_label(raw, "instanceName", Self::MAX_CHARS)?.map(InstanceName))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// How a key is shown after its creation: the first 8 and last 8 characters.
pub(crate) fn mask(key: &str) -> String {
    let head: String = key.chars().take(8).collect();
    let tail: String = key
        .chars()
        .skip(key.chars().count().saturating_sub(8))
        .collect();
    format!("{head}...{tail}")
}

#[cfg(feature = "ssr")]
pub(crate) use plaintext::LicenseKey;

#[cfg(feature = "ssr")]
mod plaintext {
    use rand::rngs::OsRng;
    use rand::RngCore;
    use std::fmt;

    /// A freshly generated key in plain text. It exists only between generation and
    /// the one response that reveals it; `Debug` never prints it.
    pub(crate) struct LicenseKey(String);

    impl LicenseKey {
        pub(crate) const BYTES: usize = 32;

        /// 32 bytes from the operating system's CSPRNG, as 64 lowercase hex characters.
        pub(crate) fn generate() -> Self {
            let mut bytes = [0u8; Self::BYTES];
            OsRng.fill_bytes(&mut bytes);
            LicenseKey(hex::encode(bytes))
        }

        pub(crate) fn expose(&self) -> &str {
            &self.0
        }

        pub(crate) fn into_string(self) -> String {
            self.0
        }

        pub(crate) fn masked(&self) -> String {
            super::mask(&self.0)
        }
    }

    impl fmt::Debug for LicenseKey {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "LicenseKey({})", self.masked())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_name_is_trimmed_and_optional() {
        assert_eq!(
            InstanceName::parse("  Production Server ")
                .unwrap()
                .unwrap()
                .as_str(),
            "Production Server"
        );
        assert_eq!(InstanceName::parse("   ").unwrap(), None);
        assert_eq!(InstanceName::parse("").unwrap(), None);
    }

    #[test]
    fn instance_name_limits() {
        assert!(InstanceName::parse(&"é".repeat(255)).unwrap().is_some());
        assert!(InstanceName::parse(&"é".repeat(256)).is_err());
        assert!(InstanceName::parse("line\nbreak").is_err());
        assert!(InstanceName::parse("nul\0").is_err());
    }

    #[test]
    fn mask_keeps_first_and_last_eight() {
        let key = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2";
        assert_eq!(mask(key), "a1b2c3d4...e5f6a1b2");
    }

    proptest::proptest! {
        /// Any text at all: a clean label, "no name", or a message; never a panic.
        #[test]
        fn any_instance_name_parses_to_a_clean_label_or_a_refusal(raw in proptest::prelude::any::<String>()) {
            match InstanceName::parse(&raw) {
                Ok(Some(name)) => {
                    proptest::prop_assert_eq!(name.as_str(), raw.trim());
                    proptest::prop_assert!(!name.as_str().is_empty());
                    proptest::prop_assert!(name.as_str().chars().count() <= InstanceName::MAX_CHARS);
                    proptest::prop_assert!(!name.as_str().chars().any(char::is_control));
                }
                Ok(None) => proptest::prop_assert!(raw.trim().is_empty()),
                Err(refusal) => proptest::prop_assert!(refusal.0.starts_with("instanceName must")),
            }
        }

        #[test]
        fn a_key_masks_to_its_first_and_last_eight(key in "[0-9a-f]{64}") {
            let masked = mask(&key);
            proptest::prop_assert_eq!(masked.len(), 19);
            proptest::prop_assert!(key.starts_with(&masked[..8]));
            proptest::prop_assert!(key.ends_with(&masked[11..]));
            proptest::prop_assert_eq!(&masked[8..11], "...");
        }

        /// Whatever it is given, a mask shows at most sixteen of its characters.
        #[test]
        fn a_mask_never_shows_more_than_sixteen_characters(text in proptest::prelude::any::<String>()) {
            let masked = mask(&text);
            proptest::prop_assert!(masked.chars().count() <= 19);
            if text.chars().count() > 16 {
                proptest::prop_assert!(!masked.contains(&text));
            }
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn generated_keys_are_64_lowercase_hex_and_distinct() {
        let a = LicenseKey::generate();
        let b = LicenseKey::generate();
        for key in [&a, &b] {
            assert_eq!(key.expose().len(), 64);
            assert!(key
                .expose()
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        }
        assert_ne!(a.expose(), b.expose());
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
