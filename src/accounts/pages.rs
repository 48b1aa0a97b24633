//! Sign-up, sign-in, the organization switcher and the organization page. The
//! server functions only parse input and call the accounts service.

use super::{OrganizationDto, SignedIn};
use crate::error::PageError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Redirect, A};

#[server(prefix = "/rpc", endpoint = "session")]
pub async fn load_session() -> Result<Option<SignedIn>, PageError> {
    use super::session::{current_membership, current_session, signed_in_user};
    use crate::error::AppError;
    use crate::http::AppState;
    let state = AppState::from_context()?;
    let session = current_session().await?;
    let Some(user) = signed_in_user(&state, &session).await? else {
        return Ok(None);
    };
    let current = match current_membership(&state, &session, &user).await {
        Ok(membership) => Some(membership.to_dto()),
        Err(AppError::OrganizationNotFound) => None,
        Err(error) => return Err(error.into()),
    };
    let organizations = state.accounts.memberships(&user).await?;
    let pending_invitations = state.accounts.pending_invitations(&user).await?;
    Ok(Some(SignedIn {
        email: user.email,
        organizations: organizations.iter().map(|m| m.to_dto()).collect(),
        current,
        pending_invitations,
    }))
}

#[server(prefix = "/rpc", endpoint = "sign_up")]
pub async fn sign_up(
    email: String,
    password: String,
    organization_name: String,
) -> Result<(), PageError> {
    use super::domain::{Email, OrganizationName, Password};
    use super::session;
    use crate::error::AppError;
    use crate::http::AppState;
    let state = AppState::from_context()?;
    let email = Email::parse(&email).map_err(AppError::from)?;
    let password = Password::parse(&password).map_err(AppError::from)?;
    let organization_name = OrganizationName::parse(&organization_name).map_err(AppError::from)?;
    let meta = crate::audit::service::RequestMeta::of_server_fn().await;
    let (user, membership) = state
        .accounts
        .register(email, password, organization_name, &meta)
        .await?;
    let browser_session = session::current_session().await?;
    session::sign_in(&browser_session, &user).await?;
    session::choose_organization(&browser_session, &membership).await?;
    state.accounts.record_sign_in(&user, &meta).await?;
    leptos_axum::redirect("/keys");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<(), PageError> {
    use super::session;
    use crate::http::AppState;
    let state = AppState::from_context()?;
    let meta = crate::audit::service::RequestMeta::of_server_fn().await;
    let user = state
        .accounts
        .authenticate(&email, &password, &meta)
        .await?;
    session::sign_in(&session::current_session().await?, &user).await?;
    state.accounts.record_sign_in(&user, &meta).await?;
    leptos_axum::redirect("/keys");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), PageError> {
    use super::session;
    session::sign_out(&session::current_session().await?).await?;
    leptos_axum::redirect("/sign-in");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "switch_organization")]
pub async fn switch_organization(organization_id: String) -> Result<(), PageError> {
    use super::session;
    use crate::error::AppError;
    let actor = session::page_actor().await?;
    let organization_id =
        uuid::Uuid::parse_str(&organization_id).map_err(|_| AppError::OrganizationNotFound)?;
    let membership = actor
        .state
        .accounts
        .membership(&actor.user, Some(organization_id))
        .await?;
    session::choose_organization(&actor.session, &membership).await?;
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "create_organization")]
pub async fn create_organization(name: String) -> Result<(), PageError> {
    use super::domain::OrganizationName;
    use super::session;
    use crate::error::AppError;
    let page = session::page_user().await?;
    let name = OrganizationName::parse(&name).map_err(AppError::from)?;
    let membership = page
        .state
        .accounts
        .create_organization(&page.user, name)
        .await?;
    session::choose_organization(&page.session, &membership).await?;
    Ok(())
}

/// Joins the organization of an invitation addressed to the signed-in user, and
/// acts in it from now on.
#[server(prefix = "/rpc", endpoint = "accept_invitation")]
pub async fn accept_invitation(id: String) -> Result<(), PageError> {
    use super::session;
    use crate::error::AppError;
    let page = session::page_user().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::InvitationNotFound)?;
    let meta = crate::audit::service::RequestMeta::of_server_fn().await;
    let membership = page
        .state
        .accounts
        .accept_invitation(&page.user, id, &meta)
        .await?;
    session::choose_organization(&page.session, &membership).await?;
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "decline_invitation")]
pub async fn decline_invitation(id: String) -> Result<(), PageError> {
    use crate::error::AppError;
    let page = super::session::page_user().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::InvitationNotFound)?;
    let meta = crate::audit::service::RequestMeta::of_server_fn().await;
    Ok(page
        .state
        .accounts
        .decline_invitation(&page.user, id, &meta)
        .await?)
}

/// Removes a member from the current organization (owner), or the signed-in user
/// themselves (leaving).
#[server(prefix = "/rpc", endpoint = "remove_member")]
pub async fn remove_member(user_id: String) -> Result<(), PageError> {
    use crate::error::AppError;
    let actor = super::session::page_actor().await?;
    let member = uuid::Uuid::parse_str(&user_id).map_err(|_| AppError::MemberNotFound)?;
    let meta = crate::audit::service::RequestMeta::of_server_fn().await;
    Ok(actor
        .state
        .accounts
        .remove_member(&actor.membership, member, &meta)
        .await?)
}

/// The session and the actions that change it, shared by the header and every page.
#[derive(Clone, Copy)]
pub struct AccountContext {
    pub signed_in: Resource<Result<Option<SignedIn>, PageError>>,
    pub sign_up: ServerAction<SignUp>,
    pub sign_in: ServerAction<SignIn>,
    pub sign_out: ServerAction<SignOut>,
    pub switch_organization: ServerAction<SwitchOrganization>,
    pub create_organization: ServerAction<CreateOrganization>,
    pub accept_invitation: ServerAction<AcceptInvitation>,
    pub decline_invitation: ServerAction<DeclineInvitation>,
    pub remove_member: ServerAction<RemoveMember>,
}

impl AccountContext {
    pub fn provide() -> Self {
        let sign_up = ServerAction::<SignUp>::new();
        let sign_in = ServerAction::<SignIn>::new();
        let sign_out = ServerAction::<SignOut>::new();
        let switch_organization = ServerAction::<SwitchOrganization>::new();
        let create_organization = ServerAction::<CreateOrganization>::new();
        let accept_invitation = ServerAction::<AcceptInvitation>::new();
        let decline_invitation = ServerAction::<DeclineInvitation>::new();
        let remove_member = ServerAction::<RemoveMember>::new();
        let signed_in = Resource::new(
            move || {
                (
                    sign_up.version().get(),
                    sign_in.version().get(),
                    sign_out.version().get(),
                    switch_organization.version().get(),
                    create_organization.version().get(),
                    accept_invitation.version().get(),
                    decline_invitation.version().get(),
                    remove_member.version().get(),
                )
            },
            |_| load_session(),
        );
        let context = AccountContext {
            signed_in,
            sign_up,
            sign_in,
            sign_out,
            switch_organization,
            create_organization,
            accept_invitation,
            decline_invitation,
            remove_member,
        };
        provide_context(context);
        context
    }

    pub fn get() -> Self {
        expect_context::<AccountContext>()
    }
}

/// Shows the error of the last submission of a form, if it failed.
#[component]
pub fn FormError<T: Clone + Send + Sync + 'static>(
    result: Signal<Option<Result<T, PageError>>>,
) -> impl IntoView {
    move || match result.get() {
        Some(Err(error)) => Some(view! {
            <p class="form-error" role="alert">{error.message}</p>
        }),
        _ => None,
    }
}

#[component]
pub fn SignUpPage() -> impl IntoView {
    let context = AccountContext::get();
    let action = context.sign_up;
    view! {
        <Title text="Create an account · Storno Licensing"/>
        <section class="card narrow">
            <h1>"Create your account"</h1>
            <p class="lede">"You will own a new organization and can issue license keys for its self-hosted instances."</p>
            <ActionForm action=action>
                <div class="field">
                    <label for="email">"Email"</label>
                    <input id="email" name="email" type="email" autocomplete="email" maxlength="254" required/>
                </div>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="new-password" minlength="12" maxlength="1024" required aria-describedby="password-hint"/>
                    <p class="hint" id="password-hint">"At least 12 characters."</p>
                </div>
                <div class="field">
                    <label for="organization_name">"Organization name"</label>
                    <input id="organization_name" name="organization_name" type="text" maxlength="255" required/>
                </div>
                <FormError result=Signal::derive(move || action.value().get())/>
                <button type="submit" class="primary" disabled=move || action.pending().get()>"Create account"</button>
            </ActionForm>
            <p class="switch-form">"Already have an account? " <A href="/sign-in">"Sign in"</A></p>
        </section>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let context = AccountContext::get();
    let action = context.sign_in;
    view! {
        <Title text="Sign in · Storno Licensing"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <ActionForm action=action>
                <div class="field">
                    <label for="email">"Email"</label>
                    <input id="email" name="email" type="email" autocomplete="email" maxlength="254" required/>
                </div>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" maxlength="1024" required/>
                </div>
                <FormError result=Signal::derive(move || action.value().get())/>
                <button type="submit" class="primary" disabled=move || action.pending().get()>"Sign in"</button>
            </ActionForm>
            <p class="switch-form">"New here? " <A href="/sign-up">"Create an account"</A></p>
        </section>
    }
}

/// The header's organization switcher and account menu.
#[component]
pub fn AccountBar() -> impl IntoView {
    let context = AccountContext::get();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match context.signed_in.await {
                    Ok(Some(signed_in)) => view! {
                        <nav class="main-nav" aria-label="Main">
                            <A href="/keys">"License keys"</A>
                            <A href="/organization">"Organization"</A>
                            <A href="/activity">"Activity"</A>
                            <A href="/account">
                                "Account"
                                {(signed_in.pending_invitations > 0).then(|| view! {
                                    <span class="badge count" title="Invitations waiting for you">{signed_in.pending_invitations}</span>
                                })}
                            </A>
                        </nav>
                        <OrganizationSwitcher signed_in=signed_in.clone()/>
                        <div class="account">
                            <span class="who">{signed_in.email.clone()}</span>
                            <ActionForm action=context.sign_out>
                                <button type="submit" class="link">"Sign out"</button>
                            </ActionForm>
                        </div>
                    }
                    .into_any(),
                    _ => view! {
                        <nav class="main-nav" aria-label="Account">
                            <A href="/sign-in">"Sign in"</A>
                            <A href="/sign-up">"Sign up"</A>
                        </nav>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OrganizationSwitcher(signed_in: SignedIn) -> impl IntoView {
    let context = AccountContext::get();
    let current = signed_in
        .current
        .map(|current| current.id)
        .unwrap_or_default();
    view! {
        <div class="switcher">
            <ActionForm action=context.switch_organization>
                <label for="organization-switcher">"Organization"</label>
                <select id="organization-switcher" name="organization_id">
                    {signed_in
                        .organizations
                        .into_iter()
                        .map(|organization| {
                            let selected = organization.id == current;
                            view! {
                                <option value=organization.id selected=selected>
                                    {format!("{} ({})", organization.name, organization.role)}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <button type="submit">"Switch"</button>
            </ActionForm>
        </div>
    }
}

/// `/`: the License keys page for a signed-in visitor, sign-in for anyone else.
#[component]
pub fn HomePage() -> impl IntoView {
    let context = AccountContext::get();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match context.signed_in.await {
                    Ok(Some(_)) => view! { <Redirect path="/keys"/> }.into_any(),
                    _ => view! { <Redirect path="/sign-in"/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Renders `signed_in_view` for a signed-in visitor; sends anyone else to sign-in.
#[component]
pub fn RequireSignIn<F, V>(signed_in_view: F) -> impl IntoView
where
    F: Fn(SignedIn) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let context = AccountContext::get();
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {
                let signed_in_view = signed_in_view.clone();
                move || {
                    let signed_in_view = signed_in_view.clone();
                    Suspend::new(async move {
                        match context.signed_in.await {
                            Ok(Some(signed_in)) => signed_in_view(signed_in).into_any(),
                            Ok(None) => view! { <Redirect path="/sign-in"/> }.into_any(),
                            Err(error) => view! {
                                <p class="form-error" role="alert">{error.message}</p>
                            }
                            .into_any(),
                        }
                    })
                }
            }
        </Transition>
    }
}

/// Renders `member_view` for a signed-in visitor acting in an organization; someone
/// who belongs to none is told how to get one.
#[component]
pub fn RequireOrganization<F, V>(member_view: F) -> impl IntoView
where
    F: Fn(SignedIn, OrganizationDto) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <RequireSignIn signed_in_view=move |signed_in: SignedIn| match signed_in.current.clone() {
            Some(current) => member_view(signed_in, current).into_any(),
            None => view! { <NoOrganization/> }.into_any(),
        }/>
    }
}

#[component]
fn NoOrganization() -> impl IntoView {
    let context = AccountContext::get();
    view! {
        <section class="card notice" role="note" data-testid="no-organization">
            <h2>"You are not a member of any organization"</h2>
            <p>"Create one below, or accept an invitation on your " <A href="/account">"Account"</A> " page."</p>
            <ActionForm action=context.create_organization>
                <div class="field">
                    <label for="first-organization">"Organization name"</label>
                    <input id="first-organization" name="name" type="text" maxlength="255" required/>
                </div>
                <FormError result=Signal::derive(move || context.create_organization.value().get())/>
                <button type="submit" class="primary">"Create organization"</button>
            </ActionForm>
        </section>
    }
}
