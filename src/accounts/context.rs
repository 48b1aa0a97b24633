//! The browser session's server functions (who is signed in, sign-up, sign-in,
//! switching and joining organizations) and the context that shares them with
//! the header and every page. The server functions only parse input and call the
//! accounts service.

#[cfg(feature = "ssr")]
use crate::accounts::service::AccountsService;
use crate::accounts::SignedIn;
use crate::error::PageError;
#[cfg(feature = "ssr")]
use crate::web::context::service;
use leptos::prelude::*;

#[server(prefix = "/rpc", endpoint = "session", output = crate::rpc::JsonText)]
pub(crate) async fn load_session() -> Result<Option<SignedIn>, PageError> {
    use crate::accounts::session::{current_session, signed_in};
    let accounts = service::<AccountsService>()?;
    let session = current_session()?;
    Ok(signed_in(&accounts, &session)
        .await?
        .map(|signed_in| SignedIn {
            email: signed_in.user.email,
            organizations: signed_in.organizations.iter().map(|m| m.to_dto()).collect(),
            current: signed_in.current.map(|m| m.to_dto()),
            pending_invitations: signed_in.pending_invitations,
        }))
}

#[server(prefix = "/rpc", endpoint = "sign_up", output = crate::rpc::JsonText)]
pub(crate) async fn sign_up(
    email: String,
    password: String,
    organization_name: String,
) -> Result<(), PageError> {
    use crate::accounts::domain::{Email, OrganizationName, Password};
    use crate::accounts::session;
    use crate::error::AppError;
    let email = Email::parse(&email).map_err(AppError::from)?;
    let password = Password::parse(&password).map_err(AppError::from)?;
    let organization_name = OrganizationName::parse(&organization_name).map_err(AppError::from)?;
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    let (user, membership) = service::<AccountsService>()?
        .register_and_sign_in(email, password, organization_name, &meta)
        .await?;
    let browser_session = session::current_session()?;
    session::sign_in(&browser_session, &user).await?;
    session::choose_organization(&browser_session, &membership).await?;
    leptos_axum::redirect("/keys");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "sign_in", output = crate::rpc::JsonText)]
pub(crate) async fn sign_in(email: String, password: String) -> Result<(), PageError> {
    use crate::accounts::{device, session};
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    let headers: axum::http::HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    let device_cookie = crate::request_meta::cookie(&headers, device::COOKIE);
    let accounts = service::<AccountsService>()?;
    let (user, device_cookie) = accounts
        .sign_in(&email, &password, device_cookie, &meta)
        .await?;
    session::sign_in(&session::current_session()?, &user).await?;
    device::set_cookie(&device_cookie, accounts.session_policy().secure_cookies);
    leptos_axum::redirect("/keys");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "sign_out", output = crate::rpc::JsonText)]
pub(crate) async fn sign_out() -> Result<(), PageError> {
    use crate::accounts::session;
    session::sign_out(&session::current_session()?).await?;
    leptos_axum::redirect("/sign-in");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "switch_organization", output = crate::rpc::JsonText)]
pub(crate) async fn switch_organization(organization_id: String) -> Result<(), PageError> {
    use crate::accounts::session;
    use crate::error::AppError;
    let actor = session::page_member().await?;
    let organization_id = crate::parse::path_id(&organization_id, AppError::OrganizationNotFound)?;
    let membership = service::<AccountsService>()?
        .membership(&actor.user, Some(organization_id))
        .await?;
    session::choose_organization(&actor.session, &membership).await?;
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "create_organization", output = crate::rpc::JsonText)]
pub(crate) async fn create_organization(name: String) -> Result<(), PageError> {
    use crate::accounts::domain::OrganizationName;
    use crate::accounts::session;
    use crate::error::AppError;
    let page = session::page_user().await?;
    let name = OrganizationName::parse(&name).map_err(AppError::from)?;
    let membership = service::<AccountsService>()?
        .create_organization(&page.user, name)
        .await?;
    session::choose_organization(&page.session, &membership).await?;
    Ok(())
}

/// Joins the organization of an invitation addressed to the signed-in user, and
/// acts in it from now on.
#[server(prefix = "/rpc", endpoint = "accept_invitation", output = crate::rpc::JsonText)]
pub(crate) async fn accept_invitation(id: String) -> Result<(), PageError> {
    use crate::accounts::session;
    use crate::error::AppError;
    let page = session::page_user().await?;
    let id = crate::parse::path_id(&id, AppError::InvitationNotFound)?;
    let membership = service::<AccountsService>()?
        .accept_invitation(&page.user, id)
        .await?;
    session::choose_organization(&page.session, &membership).await?;
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "decline_invitation", output = crate::rpc::JsonText)]
pub(crate) async fn decline_invitation(id: String) -> Result<(), PageError> {
    use crate::error::AppError;
    let page = crate::accounts::session::page_user().await?;
    let id = crate::parse::path_id(&id, AppError::InvitationNotFound)?;
    Ok(service::<AccountsService>()?
        .decline_invitation(&page.user, id)
        .await?)
}

/// Removes a member from the current organization (owner), or the signed-in user
/// themselves (leaving).
#[server(prefix = "/rpc", endpoint = "remove_member", output = crate::rpc::JsonText)]
pub(crate) async fn remove_member(user_id: String) -> Result<(), PageError> {
    use crate::error::AppError;
    let actor = crate::accounts::session::page_member().await?;
    let member = crate::parse::path_id(&user_id, AppError::MemberNotFound)?;
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    Ok(service::<AccountsService>()?
        .remove_member(&actor.membership, member, &meta)
        .await?)
}

/// The session and the actions of the header and the sign-in pages, shared by the
/// header and every page. A page's own actions that change the session (joining an
/// organization, say) stay in the page's code (`reload_after`): the shell, which
/// every visitor downloads first, holds no more of them than it needs.
#[derive(Clone, Copy)]
pub(crate) struct AccountContext {
    pub(crate) signed_in: Resource<Result<Option<SignedIn>, PageError>>,
    /// Counts the pages' own actions that changed the session (`reload_after`).
    page_session_changes: RwSignal<usize>,
    pub(crate) sign_up: ServerAction<SignUp>,
    pub(crate) sign_in: ServerAction<SignIn>,
    pub(crate) sign_out: ServerAction<SignOut>,
    pub(crate) switch_organization: ServerAction<SwitchOrganization>,
}

impl AccountContext {
    pub(crate) fn provide() -> Self {
        let sign_up = ServerAction::<SignUp>::new();
        let sign_in = ServerAction::<SignIn>::new();
        let sign_out = ServerAction::<SignOut>::new();
        let switch_organization = ServerAction::<SwitchOrganization>::new();
        let signed_in = Resource::new(
            move || {
                (
                    sign_up.version().get(),
                    sign_in.version().get(),
                    sign_out.version().get(),
                    switch_organization.version().get(),
                )
            },
            |_| load_session(),
        );
        let context = AccountContext {
            signed_in,
            page_session_changes: RwSignal::new(0),
            sign_up,
            sign_in,
            sign_out,
            switch_organization,
        };
        provide_context(context);
        context
    }

    pub(crate) fn get() -> Self {
        expect_context::<AccountContext>()
    }

    /// Reads the session again each time a page's `action` succeeds (it changed the
    /// user's organizations or invitations, which the header shows, and may have
    /// changed the organization the pages act in).
    pub(crate) fn reload_after<S>(&self, action: ServerAction<S>)
    where
        S: server_fn::ServerFn<Output = (), Error = PageError> + Clone + Send + Sync + 'static,
    {
        let signed_in = self.signed_in;
        let page_session_changes = self.page_session_changes;
        Effect::watch(
            move || action.version().get(),
            move |_, _, _| {
                if matches!(action.value().get_untracked(), Some(Ok(()))) {
                    signed_in.refetch();
                    page_session_changes.update(|changes| *changes += 1);
                }
            },
            false,
        );
    }

    /// For the source of a resource holding the current organization's data: it
    /// moves when that organization may have changed (switched in the header;
    /// created, joined or left on a page), so the data loads again rather than
    /// stay the previous organization's under the new one's name.
    pub(crate) fn organization_changes(&self) -> usize {
        self.switch_organization.version().get() + self.page_session_changes.get()
    }
}
