//! The sign-in device cookie (OWASP's "device cookies"): a browser that signed in
//! to an account gets a cookie naming it, sealed with the pepper. When strangers'
//! failures hold the account's sign-in limit, that browser still signs in; its own
//! failures stop only itself.

use crate::secrets::{random_bytes, Pepper};
use subtle::ConstantTimeEq;

/// The cookie's name; it is sent to the sign-in server function alone.
pub(crate) const COOKIE: &str = "storno_device";
/// Where the browser sends it.
pub(crate) const COOKIE_PATH: &str = "/rpc/sign_in";
/// How long a browser stays trusted after its last sign-in: a year.
pub(crate) const MAX_AGE_SECONDS: u64 = 365 * 24 * 3600;

const PURPOSE: &str = "sign-in-device";

fn seal(pepper: &Pepper, email: &str, nonce: &str) -> String {
    pepper.digest(
        PURPOSE,
        &format!("{}\n{nonce}", email.trim().to_lowercase()),
    )
}

/// A new device cookie's value for a browser that just signed in as `email`.
pub(crate) fn issue(pepper: &Pepper, email: &str) -> String {
    let nonce = hex::encode(random_bytes::<16>());
    let seal = seal(pepper, email, &nonce);
    format!("{nonce}.{seal}")
}

/// The browser's id (the cookie's nonce) when `value` was issued for `email` by
/// this server; `None` for anything else (another account's, forged, garbled).
pub(crate) fn trusted_for<'a>(pepper: &Pepper, email: &str, value: &'a str) -> Option<&'a str> {
    let (nonce, given) = value.split_once('.')?;
    if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let expected = seal(pepper, email, nonce);
    bool::from(expected.as_bytes().ct_eq(given.as_bytes())).then_some(nonce)
}

/// Gives the browser this server function answers its device cookie.
pub(crate) fn set_cookie(value: &str, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={value}; Path={COOKIE_PATH}; Max-Age={MAX_AGE_SECONDS}; HttpOnly; SameSite=Strict{secure}"
    );
    if let (Some(response), Ok(cookie)) = (
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        axum::http::HeaderValue::from_str(&cookie),
    ) {
        response.append_header(axum::http::header::SET_COOKIE, cookie);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pepper() -> Pepper {
        Pepper::new(&[7; 32]).unwrap()
    }

    #[test]
    fn a_cookie_trusts_its_browser_for_its_account_only() {
        let value = issue(&pepper(), "Ana@x.test");
        let nonce = trusted_for(&pepper(), "ana@x.test", &value).unwrap();
        assert_eq!(nonce.len(), 32);
        assert_eq!(
            trusted_for(&pepper(), "bob@x.test", &value),
            None,
            "another account's"
        );
        let other_server = Pepper::new(&[8; 32]).unwrap();
        assert_eq!(
            trusted_for(&other_server, "ana@x.test", &value),
            None,
            "forged"
        );
        let last = if value.ends_with('0') { '1' } else { '0' };
        let tampered = format!("{}{last}", &value[..value.len() - 1]);
        assert_eq!(trusted_for(&pepper(), "ana@x.test", &tampered), None);
        assert_eq!(trusted_for(&pepper(), "ana@x.test", "garbage"), None);
        assert_ne!(
            issue(&pepper(), "ana@x.test"),
            value,
            "each browser its own"
        );
    }
}
