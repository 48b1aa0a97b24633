//! Offline licenses: RS256 JWTs that an instance verifies with the public key it
//! embeds, never calling this server. The operator provides the RSA private key
//! (PEM, PKCS#8 or PKCS#1); the public half is served as a JWKS and as PEM.

use crate::licensing::plans::PlanFeatures;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::PrivateKey;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::path::Path;

/// The claims the deployed client reads (`iss`, `sub`, `plan`, `features`,
/// `orgName`, `iat`, `exp`), plus `jti`, the id of the issued record.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OfflineClaims<'a> {
    pub(crate) iss: &'a str,
    pub(crate) sub: &'a str,
    pub(crate) jti: &'a str,
    pub(crate) plan: &'a str,
    pub(crate) features: &'a PlanFeatures,
    pub(crate) org_name: &'a str,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
}

/// Signs offline licenses with the operator's key. Never printed: `Debug` shows
/// only the key id.
pub(crate) struct OfflineSigner {
    encoding_key: EncodingKey,
    key_id: String,
    jwks: JwkSet,
    public_key_pem: String,
    pub(crate) issuer: String,
}

impl std::fmt::Debug for OfflineSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl OfflineSigner {
    /// Reads the key file at start-up: a missing or unreadable key stops the
    /// server with a message, rather than failing the first owner who asks.
    pub(crate) fn load(path: &Path, issuer: &str) -> Result<Self, String> {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| format!("LICENSE_JWT_PRIVATE_KEY_FILE {}: {e}", path.display()))?;
        Self::from_pem(&SecretString::from(pem), issuer)
            .map_err(|e| format!("LICENSE_JWT_PRIVATE_KEY_FILE {}: {e}", path.display()))
    }

    pub(crate) fn from_pem(pem: &SecretString, issuer: &str) -> Result<Self, String> {
        let pem = pem.expose_secret();
        let private_key = PrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| PrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| "not an RSA private key in PEM (PKCS#8 or PKCS#1)".to_string())?;
        let public_key_pem = private_key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| format!("cannot encode its public key: {e}"))?;
        let encoding_key = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|e| format!("cannot sign with it: {e}"))?;
        let mut jwk = Jwk::from_encoding_key(&encoding_key, Algorithm::RS256)
            .map_err(|e| format!("cannot describe its public key: {e}"))?;
        // RFC 7638: the key id is the key's own thumbprint, stable across restarts.
        let key_id = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| format!("cannot compute its thumbprint: {e}"))?;
        jwk.common.key_id = Some(key_id.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
        Ok(OfflineSigner {
            encoding_key,
            key_id,
            jwks: JwkSet { keys: vec![jwk] },
            public_key_pem,
            issuer: issuer.to_string(),
        })
    }

    /// The signed token: header `{"alg": "RS256", "typ": "JWT", "kid"}`.
    pub(crate) fn sign(&self, claims: &OfflineClaims<'_>) -> Result<String, String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.key_id.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding_key)
            .map_err(|e| format!("signing an offline license: {e}"))
    }

    pub(crate) fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    pub(crate) fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, DecodingKey, Validation};
    use rsa::pkcs1::EncodeRsaPrivateKey;

    const TEST_KEY: &str = include_str!("../../tests/fixtures/offline-license-test-key.pem");

    fn claims(features: &PlanFeatures) -> OfflineClaims<'_> {
        OfflineClaims {
            iss: "storno.ro",
            sub: "019c8a12-4567-7abc-def0-123456789abc",
            jti: "019c8a12-4567-7abc-def0-123456789abd",
            plan: "business",
            features,
            org_name: "Acme",
            iat: 1_700_000_000,
            exp: 4_000_000_000,
        }
    }

    #[test]
    fn a_signed_license_verifies_with_the_served_public_key_only() {
        let signer = OfflineSigner::from_pem(&TEST_KEY.to_string().into(), "storno.ro").unwrap();
        let features = PlanFeatures::default();
        let token = signer.sign(&claims(&features)).unwrap();
        let public = DecodingKey::from_rsa_pem(signer.public_key_pem().as_bytes()).unwrap();
        let decoded =
            decode::<serde_json::Value>(&token, &public, &Validation::new(Algorithm::RS256))
                .unwrap();
        assert_eq!(decoded.header.kid.as_deref(), Some(signer.key_id.as_str()));
        assert_eq!(decoded.claims["orgName"], "Acme");
        assert_eq!(decoded.claims["features"]["selfHostingLicense"], false);
        let from_jwks = DecodingKey::from_jwk(&signer.jwks().keys[0]).unwrap();
        assert!(decode::<serde_json::Value>(
            &token,
            &from_jwks,
            &Validation::new(Algorithm::RS256)
        )
        .is_ok());
        let mut forged = token.clone();
        forged.replace_range(forged.len() - 4.., "AAAA");
        assert!(
            decode::<serde_json::Value>(&forged, &public, &Validation::new(Algorithm::RS256))
                .is_err()
        );
    }

    #[test]
    fn pkcs1_keys_load_and_anything_else_is_refused_without_echoing_it() {
        let pkcs1 = PrivateKey::from_pkcs8_pem(TEST_KEY)
            .unwrap()
            .to_pkcs1_pem(LineEnding::LF)
            .unwrap();
        let signer = OfflineSigner::from_pem(&pkcs1.to_string().into(), "storno.ro").unwrap();
        let original = OfflineSigner::from_pem(&TEST_KEY.to_string().into(), "storno.ro").unwrap();
        assert_eq!(signer.key_id, original.key_id, "the same key, the same id");
        let error =
            OfflineSigner::from_pem(&"secret-looking text".to_string().into(), "x").unwrap_err();
        assert!(!error.contains("secret-looking"), "{error}");
        assert!(
            format!("{signer:?}").len() < 120,
            "Debug shows no key material"
        );
    }
}
