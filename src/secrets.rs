//! Server-side secrets: the pepper that keys every stored hash, and fresh random
//! tokens.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use std::path::Path;
use std::sync::Arc;

/// The server secret under which license keys and API tokens are hashed
/// (HMAC-SHA256). A stolen database alone does not let anyone test guesses offline.
/// Kept as the HMAC already keyed with it: each hash starts from a copy instead of
/// keying again, and cloning the pepper copies a pointer.
#[derive(Clone)]
pub struct Pepper(Arc<Hmac<Sha256>>);

impl std::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pepper(<redacted>)")
    }
}

impl Pepper {
    pub(crate) const MIN_BYTES: usize = 32;

    pub fn new(secret: &[u8]) -> Result<Self, String> {
        if secret.len() < Self::MIN_BYTES {
            return Err(format!(
                "LICENSING_KEY_PEPPER must be at least {} bytes long",
                Self::MIN_BYTES
            ));
        }
        let keyed =
            <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
        Ok(Pepper(Arc::new(keyed)))
    }

    /// Reads the pepper kept in `path`, or creates one there on first run (see
    /// `read_or_create_private_file`). Returns whether it was created.
    pub(crate) fn load_or_create(path: &Path) -> Result<(Self, bool), String> {
        let (text, created) =
            read_or_create_private_file(path, || hex::encode(random_bytes::<32>()))?;
        let bytes = hex::decode(text.trim())
            .map_err(|_| format!("{} is not a hex pepper", path.display()))?;
        Ok((Pepper::new(&bytes)?, created))
    }

    /// Hex HMAC-SHA256 of `secret`, separated by `purpose` so that a token hash can
    /// never be confused with a license-key hash.
    pub(crate) fn digest(&self, purpose: &str, secret: &str) -> String {
        let mut mac = (*self.0).clone();
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(secret.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A 256-bit key for `purpose` (an encryption key, say), derived from the
    /// pepper, so that no second secret has to be kept and shared.
    pub(crate) fn subkey(&self, purpose: &str) -> [u8; 32] {
        let mut mac = (*self.0).clone();
        mac.update(b"subkey");
        mac.update(&[0]);
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Seals secrets that must be kept for a while and given back (a key awaiting
/// replay or reveal): XChaCha20-Poly1305 under a key derived from the pepper for
/// one purpose. `associated` binds a sealed value to where it is kept.
#[derive(Clone)]
pub(crate) struct Sealer(Arc<XChaCha20Poly1305>);

impl Sealer {
    const NONCE_BYTES: usize = 24;

    pub(crate) fn new(pepper: &Pepper, purpose: &str) -> Self {
        Sealer(Arc::new(XChaCha20Poly1305::new(
            &pepper.subkey(purpose).into(),
        )))
    }

    /// hex(nonce || ciphertext), under a fresh random nonce.
    pub(crate) fn seal(&self, plaintext: &[u8], associated: &[u8]) -> String {
        let nonce = random_bytes::<{ Self::NONCE_BYTES }>();
        let payload = Payload {
            msg: plaintext,
            aad: associated,
        };
        let ciphertext = self
            .0
            .encrypt(XNonce::from_slice(&nonce), payload)
            .expect("XChaCha20-Poly1305 seals any length this service stores");
        hex::encode([nonce.as_slice(), &ciphertext].concat())
    }

    /// `None` if the value was not sealed by this sealer for `associated`, or was altered.
    pub(crate) fn open(&self, sealed: &str, associated: &[u8]) -> Option<Vec<u8>> {
        let bytes = hex::decode(sealed).ok()?;
        if bytes.len() < Self::NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(Self::NONCE_BYTES);
        let payload = Payload {
            msg: ciphertext,
            aad: associated,
        };
        self.0.decrypt(XNonce::from_slice(nonce), payload).ok()
    }
}

/// The text of the secret file at `path`, or, on first run, `fresh()` written
/// there (readable by the owner only). Returns whether it was created. Instances
/// starting at the same time on one file agree: the file appears whole or not at all.
pub(crate) fn read_or_create_private_file(
    path: &Path,
    fresh: impl FnOnce() -> String,
) -> Result<(String, bool), String> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    if path.exists() {
        return Ok((read(path)?, false));
    }
    let contents = fresh();
    let draft = path.with_extension(format!("draft-{}", hex::encode(random_bytes::<8>())));
    write_private_file(&draft, &contents)
        .map_err(|e| format!("cannot write {}: {e}", draft.display()))?;
    // A hard link never replaces an existing file: the first instance wins.
    let linked = std::fs::hard_link(&draft, path);
    let _ = std::fs::remove_file(&draft);
    match linked {
        Ok(()) => {
            // The new name is durable before the secret is used: a crash after the
            // first key is issued must not come back to a folder without its pepper.
            sync_folder_of(path).map_err(|e| format!("cannot sync {}: {e}", path.display()))?;
            Ok((contents, true))
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok((read(path)?, false)),
        Err(error) => Err(format!("cannot create {}: {error}", path.display())),
    }
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Makes the folder's entries (a file just linked into it) durable.
fn sync_folder_of(path: &Path) -> std::io::Result<()> {
    match path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        Some(folder) => std::fs::File::open(folder)?.sync_all(),
        None => std::fs::File::open(".")?.sync_all(),
    }
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored hashes must stay readable: the digest is HMAC-SHA256(pepper,
    /// purpose || 0 || secret), as computed independently (Python's hmac module).
    #[test]
    fn digest_and_subkey_are_the_documented_hmacs() {
        let pepper = Pepper::new(&[7; 32]).unwrap();
        assert_eq!(
            pepper.digest("license-key", "k"),
            "de0af616d1bb28afcecf551765376301707c25e8eb83c4dadcaad67b5ab9e473"
        );
        assert_eq!(
            hex::encode(pepper.subkey("reveals")),
            "ab0db4c443a7142afa94091c4d8122b13d37a8c47b97c33796c3ce7d57bb9a72"
        );
    }

    #[test]
    fn digest_depends_on_pepper_purpose_and_secret() {
        let a = Pepper::new(&[1; 32]).unwrap();
        let b = Pepper::new(&[2; 32]).unwrap();
        let base = a.digest("license-key", "k");
        assert_eq!(base.len(), 64);
        assert_eq!(base, a.digest("license-key", "k"));
        assert_ne!(base, b.digest("license-key", "k"));
        assert_ne!(base, a.digest("api-token", "k"));
        assert_ne!(base, a.digest("license-key", "j"));
    }

    #[test]
    fn sealed_values_open_only_with_the_same_pepper_purpose_and_place() {
        let pepper = Pepper::new(&[1; 32]).unwrap();
        let sealer = Sealer::new(&pepper, "replay");
        let sealed = sealer.seal(b"a license key", b"row 1");
        assert!(!sealed.contains(&hex::encode(b"a license key")));
        assert_ne!(
            sealed,
            sealer.seal(b"a license key", b"row 1"),
            "fresh nonce"
        );
        assert_eq!(sealer.open(&sealed, b"row 1").unwrap(), b"a license key");
        assert_eq!(sealer.open(&sealed, b"row 2"), None, "moved elsewhere");
        assert_eq!(Sealer::new(&pepper, "reveal").open(&sealed, b"row 1"), None);
        let other_pepper = Pepper::new(&[2; 32]).unwrap();
        assert_eq!(
            Sealer::new(&other_pepper, "replay").open(&sealed, b"row 1"),
            None
        );
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            sealer.open(std::str::from_utf8(&tampered).unwrap(), b"row 1"),
            None
        );
        assert_eq!(sealer.open("not hex", b"row 1"), None);
        assert_eq!(sealer.open("00", b"row 1"), None);
    }

    #[test]
    fn short_peppers_are_refused() {
        assert!(Pepper::new(&[0; 31]).is_err());
    }

    #[test]
    fn concurrent_first_runs_agree_on_one_pepper() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pepper");
        let digests: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| Pepper::load_or_create(&path).unwrap().0.digest("p", "s")))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(digests.iter().all(|d| d == &digests[0]));
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no draft files are left behind");
    }

    #[test]
    fn pepper_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pepper");
        let (first, created) = Pepper::load_or_create(&path).unwrap();
        assert!(created);
        let (second, created_again) = Pepper::load_or_create(&path).unwrap();
        assert!(!created_again);
        assert_eq!(first.digest("p", "s"), second.digest("p", "s"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
