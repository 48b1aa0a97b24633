//! A release as the operator gives it, checked before it is stored.

use crate::parse::InvalidInput;

/// `MAJOR.MINOR.PATCH`, optionally with a `-pre.release` suffix: what instances
/// compare with their own version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReleaseVersion(String);

impl ReleaseVersion {
    pub(crate) fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let text = raw.trim();
        let (core, pre_release) = match text.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (text, None),
        };
        let numbers: Vec<&str> = core.split('.').collect();
        let numeric = |part: &&str| {
            !part.is_empty() && part.len() <= 9 && part.bytes().all(|b| b.is_ascii_digit())
        };
        let pre_ok = pre_release.is_none_or(|pre| {
            !pre.is_empty()
                && pre.len() <= 40
                && pre
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        });
        if numbers.len() == 3 && numbers.iter().all(numeric) && pre_ok {
            Ok(ReleaseVersion(text.to_string()))
        } else {
            Err(InvalidInput(format!(
                "{raw:?} is not a version like 2.7.6 (MAJOR.MINOR.PATCH)"
            )))
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where to download a release: an absolute `http(s)` URL without spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DownloadUrl(String);

impl DownloadUrl {
    pub(crate) const MAX_LEN: usize = 2048;

    pub(crate) fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let url = raw.trim();
        let has_host = ["https://", "http://"].iter().any(|scheme| {
            url.strip_prefix(scheme)
                .is_some_and(|rest| !rest.is_empty())
        });
        if has_host
            && url.len() <= Self::MAX_LEN
            && !url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            Ok(DownloadUrl(url.to_string()))
        } else {
            Err(InvalidInput(format!(
                "{raw:?} is not an http:// or https:// URL"
            )))
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A release as the operator publishes it, every part checked.
pub(crate) struct NewRelease {
    pub(crate) version: ReleaseVersion,
    pub(crate) download_url: Option<DownloadUrl>,
    /// The web app's newest version; the release's own when not given.
    pub(crate) web_latest: Option<ReleaseVersion>,
    pub(crate) web_min: ReleaseVersion,
    pub(crate) release_notes: Option<String>,
}

impl NewRelease {
    pub(crate) fn parse(
        version: &str,
        download_url: Option<&str>,
        web_min: &str,
        web_latest: Option<&str>,
        release_notes: Option<&str>,
    ) -> Result<Self, InvalidInput> {
        Ok(NewRelease {
            version: ReleaseVersion::parse(version)?,
            download_url: download_url.map(DownloadUrl::parse).transpose()?,
            web_latest: web_latest.map(ReleaseVersion::parse).transpose()?,
            web_min: ReleaseVersion::parse(web_min)?,
            release_notes: release_notes
                .map(parse_release_notes)
                .transpose()?
                .flatten(),
        })
    }
}

/// Release notes: text of at most 10,000 characters.
fn parse_release_notes(raw: &str) -> Result<Option<String>, InvalidInput> {
    let notes = raw.trim();
    if notes.chars().count() > 10_000 {
        return Err(InvalidInput(
            "release notes are at most 10,000 characters".into(),
        ));
    }
    Ok((!notes.is_empty()).then(|| notes.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_three_whole_numbers_with_an_optional_pre_release() {
        for good in ["2.7.6", "0.0.1", " 10.20.30 ", "2.8.0-rc.1", "3.0.0-beta-2"] {
            assert_eq!(ReleaseVersion::parse(good).unwrap().as_str(), good.trim());
        }
        for bad in [
            "",
            "2.7",
            "2.7.6.1",
            "v2.7.6",
            "2.x.6",
            "2.7.6-",
            "2.7.6-rc 1",
            "1234567890.0.0",
        ] {
            assert!(ReleaseVersion::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn download_urls_are_absolute_http_urls_without_spaces() {
        assert!(DownloadUrl::parse("https://get.storno.ro/2.7.6.tar.gz").is_ok());
        assert!(DownloadUrl::parse("http://mirror.local/storno").is_ok());
        for bad in [
            "",
            "https://",
            "ftp://x/y",
            "/relative",
            "https://a b",
            "javascript:alert(1)",
        ] {
            assert!(DownloadUrl::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("https://x/{}", "a".repeat(DownloadUrl::MAX_LEN));
        assert!(DownloadUrl::parse(&long).is_err());
    }

    #[test]
    fn a_release_is_refused_when_any_part_is() {
        let release =
            NewRelease::parse("2.7.6", Some("https://x/y"), "2.6.0", None, Some(" ")).unwrap();
        assert_eq!(release.version.as_str(), "2.7.6");
        assert!(release.web_latest.is_none() && release.release_notes.is_none());
        assert!(NewRelease::parse("2.7.6", None, "2.6", None, None).is_err());
        assert!(NewRelease::parse("2.7.6", Some("ftp://x"), "2.6.0", None, None).is_err());
        assert!(NewRelease::parse("2.7.6", None, "2.6.0", Some("latest"), None).is_err());
    }

    #[test]
    fn release_notes_are_optional_and_bounded() {
        assert_eq!(parse_release_notes("  ").unwrap(), None);
        assert_eq!(
            parse_release_notes(" Fixes ").unwrap().as_deref(),
            Some("Fixes")
        );
        assert!(parse_release_notes(&"x".repeat(10_001)).is_err());
    }
}
