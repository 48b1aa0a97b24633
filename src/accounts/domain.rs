//! Account input parsed at the edge: once a value has one of these types, it has
//! been checked.

pub(crate) use crate::parse::InvalidInput;
use crate::parse::{is_disguising, parse_label};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A lower-cased, trimmed email address of a plausible shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Email(String);

impl Email {
    pub(crate) const MAX_LEN: usize = 254;

    pub(crate) fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let email = raw.trim().to_lowercase();
        let invalid = || InvalidInput("Enter a valid email address".into());
        if email.is_empty() || email.len() > Self::MAX_LEN {
            return Err(invalid());
        }
        // An address that displays as another (a zero-width or bidirectional
        // character inside it) would let an invitation look addressed to someone else.
        if email.chars().any(|c| c.is_whitespace() || is_disguising(c)) {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@');
        if local.is_empty() || !domain_ok {
            return Err(invalid());
        }
        Ok(Email(email))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the length policy. Deliberately has no `Debug` output of
/// its contents, so it cannot end up in a log by accident.
#[derive(Clone)]
pub(crate) struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    pub(crate) const MIN_CHARS: usize = 12;
    /// Bounds the work a single sign-in can ask of the password hasher.
    pub(crate) const MAX_CHARS: usize = 1024;

    pub(crate) fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(InvalidInput(format!(
                "Password must be at least {} characters long",
                Self::MIN_CHARS
            )));
        }
        if chars > Self::MAX_CHARS {
            return Err(InvalidInput(format!(
                "Password must be at most {} characters long",
                Self::MAX_CHARS
            )));
        }
        Ok(Password(raw.to_string()))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrganizationName(String);

impl OrganizationName {
    pub(crate) const MAX_CHARS: usize = 255;

    pub(crate) fn parse(raw: &str) -> Result<Self, InvalidInput> {
        parse_label(raw, "Organization name", Self::MAX_CHARS)?
            .map(OrganizationName)
            .ok_or_else(|| InvalidInput("Organization name must not be empty".into()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub(crate) fn parse(raw: &str) -> Result<Self, InvalidInput> {
        match raw {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(InvalidInput(
                "Role must be one of owner, admin, member".into(),
            )),
        }
    }

    /// The roles an owner may hand out: there is exactly one owner per organization.
    pub(crate) fn parse_invitable(raw: &str) -> Result<Self, InvalidInput> {
        match Role::parse(raw)? {
            Role::Owner => Err(InvalidInput(
                "Role must be admin or member: an organization has exactly one owner".into(),
            )),
            role => Ok(role),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::is_invisible_formatting;

    #[test]
    fn an_email_that_displays_as_another_is_refused() {
        for disguised in [
            "bob\u{200B}@corp.example",
            "bob@corp\u{2060}.example",
            "\u{FEFF}bob@corp.example",
            "bob@\u{202E}elpmaxe.proc",
            "bob\u{2066}@corp.example",
        ] {
            assert!(Email::parse(disguised).is_err(), "{disguised:?}");
        }
        assert!(Email::parse("bob@corp.example").is_ok());
    }

    #[test]
    fn email_is_trimmed_and_lowercased() {
        let email = Email::parse("  Ana@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ana@example.com");
    }

    #[test]
    fn email_rejects_implausible_shapes() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a na@example.com",
            "ana@example.com.",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let too_long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&too_long).is_err());
    }

    #[test]
    fn password_needs_twelve_characters_counted_as_characters() {
        assert!(Password::parse("elevenchars").is_err());
        assert!(Password::parse("twelve chars").is_ok());
        // 12 multi-byte characters are 12 characters, not 24 bytes.
        assert!(Password::parse("ăăăăăăăăăăăă").is_ok());
        assert!(Password::parse(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn password_debug_does_not_reveal_it() {
        let password = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }

    #[test]
    fn organization_name_is_trimmed_and_required() {
        assert_eq!(
            OrganizationName::parse("  Acme  ").unwrap().as_str(),
            "Acme"
        );
        assert!(OrganizationName::parse("   ").is_err());
        assert!(OrganizationName::parse("bad\u{7}name").is_err());
        assert!(OrganizationName::parse(&"x".repeat(256)).is_err());
        assert!(OrganizationName::parse(&"x".repeat(255)).is_ok());
    }

    #[test]
    fn names_refuse_bidirectional_overrides_and_zero_width_characters() {
        for hidden in [
            '\u{200B}', '\u{200F}', '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}',
        ] {
            let error = OrganizationName::parse(&format!("Ac{hidden}me")).unwrap_err();
            assert!(
                error.0.contains("invisible formatting"),
                "{hidden:?}: {error}"
            );
        }
        // Letters of right-to-left scripts are names like any other.
        assert!(OrganizationName::parse("שלום Acme").is_ok());
        assert!(
            OrganizationName::parse("Ac\u{2010}me").is_ok(),
            "a hyphen is visible"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_email_input_parses_to_a_plausible_address_or_a_refusal(raw in proptest::prelude::any::<String>()) {
            if let Ok(email) = Email::parse(&raw) {
                let text = email.as_str();
                proptest::prop_assert!(text.len() <= Email::MAX_LEN);
                proptest::prop_assert_eq!(text.matches('@').count(), 1);
                proptest::prop_assert!(!text.chars().any(|c| c.is_whitespace() || c.is_control()));
                proptest::prop_assert_eq!(text.to_string(), text.to_lowercase());
            }
        }

        #[test]
        fn passwords_are_accepted_exactly_by_their_length_in_characters(raw in proptest::prelude::any::<String>()) {
            let chars = raw.chars().count();
            let fits = (Password::MIN_CHARS..=Password::MAX_CHARS).contains(&chars);
            proptest::prop_assert_eq!(Password::parse(&raw).is_ok(), fits);
        }

        #[test]
        fn any_organization_name_is_clean_or_refused(raw in proptest::prelude::any::<String>()) {
            if let Ok(name) = OrganizationName::parse(&raw) {
                proptest::prop_assert_eq!(name.as_str(), raw.trim());
                proptest::prop_assert!(!name.as_str().is_empty());
                proptest::prop_assert!(!name.as_str().chars().any(char::is_control));
                proptest::prop_assert!(!name.as_str().chars().any(is_invisible_formatting));
            }
        }

        #[test]
        fn only_the_three_role_names_parse(raw in proptest::prelude::any::<String>()) {
            proptest::prop_assert_eq!(Role::parse(&raw).is_ok(), ["owner", "admin", "member"].contains(&raw.as_str()));
        }
    }

    #[test]
    fn roles_parse_and_owner_cannot_be_invited() {
        assert_eq!(Role::parse("admin").unwrap(), Role::Admin);
        assert!(Role::parse("Owner").is_err());
        assert!(Role::parse_invitable("owner").is_err());
        assert_eq!(Role::parse_invitable("member").unwrap(), Role::Member);
    }
}
