//! The browser's door: session cookies, pages and server functions.

use super::*;
use reqwest::header::HeaderMap;
use reqwest::Response;

impl TestApp {
    /// A session of `email`, made a member of `owner`'s organization with `role`
    /// and switched to it: the cookie.
    pub async fn member_session(&self, owner: &Owner, email: &str, role: &str) -> String {
        let member = self.member_of(owner, email, role).await;
        let cookie = self.session_cookie(&member).await;
        self.rpc(
            &cookie,
            "switch_organization",
            &[("organization_id", owner.organization_id.as_str())],
        )
        .await;
        cookie
    }

    /// Calls a server function the way the hydrated page does, from this site.
    pub async fn server_fn(&self, name: &str, form: &[(&str, &str)]) -> Response {
        self.browser
            .post(self.url(&format!("/rpc/{name}")))
            .header("Origin", &self.address)
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// A page as the browser holding `cookie` gets it.
    pub async fn page(&self, cookie: &str, path: &str) -> Response {
        self.api
            .get(self.url(path))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    /// A page as the browser holding `cookie` gets it, as HTML.
    pub async fn page_html(&self, cookie: &str, path: &str) -> String {
        self.page(cookie, path).await.text().await.unwrap()
    }

    /// Calls a server function with a given session cookie, from this site.
    pub async fn rpc(&self, cookie: &str, name: &str, form: &[(&str, &str)]) -> Response {
        self.api
            .post(self.url(&format!("/rpc/{name}")))
            .header("Origin", &self.address)
            .header("Cookie", cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Signs in through the page's server function; returns the session cookie
    /// (`name=value`), after checking its flags.
    pub async fn session_cookie(&self, owner: &Owner) -> String {
        let response = self
            .api
            .post(self.url("/rpc/sign_in"))
            .header("Origin", &self.address)
            .form(&[
                ("email", owner.email.as_str()),
                ("password", owner.password.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection() || response.status().is_success());
        // The session's cookie, not the sign-in device cookie beside it.
        let set_cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|value| value.to_str().unwrap().to_string())
            .find(|value| !value.starts_with("storno_device="))
            .expect("a session cookie");
        assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
        assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
        set_cookie.split(';').next().unwrap().to_string()
    }

    pub async fn sign_in_browser(&self, owner: &Owner) {
        let response = self
            .server_fn(
                "sign_in",
                &[("email", &owner.email), ("password", &owner.password)],
            )
            .await;
        assert!(response.status().is_success() || response.status().is_redirection());
    }
}

/// What a browser sends with a page request: it is how the server tells a page load
/// (which gets a real redirect) from a server-function call.
pub(crate) fn browser_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("accept", "text/html,application/xhtml+xml".parse().unwrap());
    headers
}
