//! Signed validation answers. Every answer of `POST /licensing/validate` carries
//! `Storno-Signature: keyid=<kid>,ts=<unix seconds>,sig=<base64url>`: the Ed25519
//! signature of the bytes `<ts>.<body>`, so a client holding the published key can
//! tell a forged answer, and by `ts` (and its own `nonce`) a replayed one.
//!
//! Several keys may be configured, oldest first: all are published in the JWKS,
//! the newest signs. Rotating is adding a key, waiting for clients to fetch the
//! JWKS again, then dropping the old one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;

pub(crate) const SIGNATURE_HEADER: &str = "storno-signature";

/// The answer-signing keys; never printed (`Debug` names only the key ids).
pub(crate) struct AnswerSigner {
    /// Oldest first; the last one signs.
    keys: Vec<PublishedKey>,
}

struct PublishedKey {
    signing_key: SigningKey,
    jwk: Jwk,
    key_id: String,
}

impl std::fmt::Debug for AnswerSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|key| key.key_id.as_str()).collect();
        f.debug_struct("AnswerSigner")
            .field("key_ids", &ids)
            .finish_non_exhaustive()
    }
}

/// A new private key as the operator configures it: 32 random bytes in hex.
pub(crate) fn new_private_key() -> String {
    hex::encode(crate::secrets::random_bytes::<32>())
}

impl AnswerSigner {
    /// Reads `ANSWER_SIGNING_KEYS`: private keys (32 bytes in hex each), separated
    /// by commas, spaces or new lines, oldest first. The message names the position
    /// of a bad key, never its text.
    pub(crate) fn parse(keys: &SecretString) -> Result<Self, String> {
        let keys = keys
            .expose_secret()
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|part| !part.is_empty())
            .enumerate()
            .map(|(index, part)| {
                let seed: [u8; 32] = hex::decode(part)
                    .ok()
                    .and_then(|bytes| bytes.try_into().ok())
                    .ok_or_else(|| {
                        format!("answer signing key {} is not 64 hex characters", index + 1)
                    })?;
                Ok(PublishedKey::new(SigningKey::from_bytes(&seed)))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if keys.is_empty() {
            return Err("no answer signing key is given".into());
        }
        Ok(AnswerSigner { keys })
    }

    /// The keys kept in `path` (same format), or one new key written there on
    /// first run. Returns whether the file was created.
    pub(crate) fn load_or_create(path: &Path) -> Result<(Self, bool), String> {
        let (text, created) =
            crate::secrets::read_or_create_private_file(path, || new_private_key() + "\n")?;
        let signer = Self::parse(&SecretString::from(text))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((signer, created))
    }

    fn current(&self) -> &PublishedKey {
        self.keys.last().expect("parse refuses an empty key list")
    }

    /// The `Storno-Signature` value for `body` sent at `timestamp` (Unix seconds).
    pub(crate) fn header_value(&self, timestamp: i64, body: &[u8]) -> String {
        let key = self.current();
        let mut message = format!("{timestamp}.").into_bytes();
        message.extend_from_slice(body);
        let signature = key.signing_key.sign(&message);
        format!(
            "keyid={},ts={timestamp},sig={}",
            key.key_id,
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }

    /// Every configured key's public half, oldest first, for the JWKS.
    pub(crate) fn public_keys(&self) -> impl Iterator<Item = &Jwk> {
        self.keys.iter().map(|key| &key.jwk)
    }
}

impl PublishedKey {
    fn new(signing_key: SigningKey) -> Self {
        let mut jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(signing_key.verifying_key().to_bytes()),
            }),
        };
        // RFC 7638, as the offline license's key: stable for as long as the key is.
        let key_id = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .expect("an OKP key always has a thumbprint");
        jwk.common.key_id = Some(key_id.clone());
        PublishedKey {
            signing_key,
            jwk,
            key_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032, section 7.1, TEST 2: secret key, public key.
    const RFC8032_SECRET: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
    const RFC8032_PUBLIC: &str = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";

    /// What Python's `cryptography` (Ed25519PrivateKey) signs with that key for the
    /// message `1700000000.{"valid":true}`.
    const KNOWN_SIGNATURE: &str = "bb215ccc552689366c2c4266e3a4ab2ad3fabab5c634ed807918fac3c76c14d00b695201f93edf4e107c47448f9807d39e4337be2357b5b328bdafc6cd2f2e0e";

    fn signer(keys: &str) -> AnswerSigner {
        AnswerSigner::parse(&SecretString::from(keys.to_string())).unwrap()
    }

    fn parts(header: &str) -> (String, i64, Vec<u8>) {
        let fields: Vec<&str> = header.split(',').collect();
        let field = |prefix: &str| {
            fields
                .iter()
                .find_map(|field| field.strip_prefix(prefix))
                .unwrap()
                .to_string()
        };
        (
            field("keyid="),
            field("ts=").parse().unwrap(),
            URL_SAFE_NO_PAD.decode(field("sig=")).unwrap(),
        )
    }

    /// A known answer, computed by an independent implementation.
    #[test]
    fn signatures_match_an_independent_implementation() {
        let signer = signer(RFC8032_SECRET);
        let header = signer.header_value(1_700_000_000, br#"{"valid":true}"#);
        let (_, ts, sig) = parts(&header);
        assert_eq!(ts, 1_700_000_000);
        assert_eq!(hex::encode(sig), KNOWN_SIGNATURE);
        let jwk = signer.public_keys().next().unwrap();
        let AlgorithmParameters::OctetKeyPair(okp) = &jwk.algorithm else {
            panic!("not an OKP key: {jwk:?}")
        };
        assert_eq!(
            hex::encode(URL_SAFE_NO_PAD.decode(&okp.x).unwrap()),
            RFC8032_PUBLIC
        );
    }

    #[test]
    fn every_key_is_published_and_the_newest_signs() {
        let old = new_private_key();
        let new = new_private_key();
        let rotated = signer(&format!("{old},\n{new}"));
        let ids: Vec<String> = rotated
            .public_keys()
            .map(|jwk| jwk.common.key_id.clone().unwrap())
            .collect();
        assert_eq!(ids.len(), 2);
        assert_ne!(ids[0], ids[1]);
        let (key_id, _, _) = parts(&rotated.header_value(1, b"{}"));
        assert_eq!(key_id, ids[1]);
        assert_eq!(ids[0], parts(&signer(&old).header_value(1, b"{}")).0);
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        for keys in ["", " , ", "abcd", "zz", &"ab".repeat(33)] {
            let error = AnswerSigner::parse(&SecretString::from(keys.to_string())).unwrap_err();
            assert!(error.contains("answer signing key"), "{error}");
            if keys.len() > 2 {
                assert!(!error.contains(keys.trim()), "{error}");
            }
        }
        assert!(format!("{:?}", signer(RFC8032_SECRET)).contains("key_ids"));
        assert!(!format!("{:?}", signer(RFC8032_SECRET)).contains(RFC8032_SECRET));
    }

    #[test]
    fn a_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("answer-signing-keys");
        let (first, created) = AnswerSigner::load_or_create(&path).unwrap();
        let (second, created_again) = AnswerSigner::load_or_create(&path).unwrap();
        assert!(created && !created_again);
        assert_eq!(first.header_value(5, b"x"), second.header_value(5, b"x"));
    }
}
