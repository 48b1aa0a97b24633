//! The Account page: the signed-in person's email and password and the invitations
//! waiting for them; the shell adds their own activity below.

use crate::accounts::context::{AcceptInvitation, AccountContext, DeclineInvitation};
use crate::accounts::pages::account_security::AccountSecurity;
use crate::accounts::pages::gates::RequireSignIn;
#[cfg(feature = "ssr")]
use crate::accounts::service::AccountsService;
use crate::accounts::{MyInvitationDto, SignedIn};
use crate::components::{FormError, LoadError};
use crate::error::PageError;
#[cfg(feature = "ssr")]
use crate::web::context::service;
use leptos::prelude::*;
use leptos_meta::Title;

#[server(prefix = "/rpc", endpoint = "my_invitations", output = crate::rpc::JsonText)]
pub(crate) async fn my_invitations() -> Result<Vec<MyInvitationDto>, PageError> {
    let page = crate::accounts::session::page_user().await?;
    Ok(service::<AccountsService>()?
        .my_invitations(&page.user)
        .await?)
}

#[component]
/// `activity` is the person's own activity, drawn below the rest (the audit
/// feature's, handed in by the app shell).
pub(crate) fn AccountPage(#[prop(into)] activity: ViewFn) -> impl IntoView {
    // Made here, once: the view below waits for the session and may be built twice.
    let (accept, decline) = (
        ServerAction::<AcceptInvitation>::new(),
        ServerAction::<DeclineInvitation>::new(),
    );
    let context = AccountContext::get();
    context.reload_after(accept);
    context.reload_after(decline);
    let invitations = Resource::new(
        move || (accept.version().get(), decline.version().get()),
        |_| my_invitations(),
    );
    view! {
        <Title text="Account · Storno Licensing"/>
        <RequireSignIn signed_in_view=move |signed_in: SignedIn| view! {
            <h1>"Your account"</h1>
            <p class="lede">"Signed in as " <strong>{signed_in.email}</strong></p>
            <AccountSecurity/>
            <MyInvitations invitations accept decline/>
            {activity.run()}
        }/>
    }
}

#[component]
fn MyInvitations(
    invitations: Resource<Result<Vec<MyInvitationDto>, PageError>>,
    accept: ServerAction<AcceptInvitation>,
    decline: ServerAction<DeclineInvitation>,
) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Invitations"</h2>
            <FormError result=Signal::derive(move || accept.value().get())/>
            <FormError result=Signal::derive(move || decline.value().get())/>
            {move || matches!(accept.value().get(), Some(Ok(()))).then(|| view! {
                <p class="form-success" role="status">"You joined the organization; it is now your current one."</p>
            })}
            {move || Suspend::new(async move {
                match invitations.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No invitations waiting for you."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="members invitations">
                            {list.into_iter().map(|invitation| {
                                let (id, accept_id) = (invitation.id.clone(), invitation.id.clone());
                                view! {
                                <li data-invitation=id>
                                    <span>
                                        <strong>{invitation.organization.name}</strong>
                                        {format!(" invites you as {}, from {}", invitation.role, invitation.invited_by)}
                                    </span>
                                    <ActionForm action=accept attr:class="inline">
                                        <input type="hidden" name="id" value=accept_id/>
                                        <button type="submit" class="primary">"Accept"</button>
                                    </ActionForm>
                                    <ActionForm action=decline attr:class="inline">
                                        <input type="hidden" name="id" value=invitation.id/>
                                        <button type="submit" class="secondary">"Decline"</button>
                                    </ActionForm>
                                </li>
                            }}).collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(error) if error.code == "email_not_verified" => view! {
                        <p class="empty">"Verify your email address to see the invitations sent to it: open the link we emailed you."</p>
                    }
                    .into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </section>
    }
}
