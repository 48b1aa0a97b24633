//! The Organization page: its members (everyone may look; members may leave), and
//! for the owner, invitations, role changes, removals and ownership transfer.

use crate::accounts::context::{AccountContext, RemoveMember};
use crate::accounts::domain::Role;
use crate::accounts::pages::gates::{CreateOrganizationForm, RequireOrganization};
#[cfg(feature = "ssr")]
use crate::accounts::service::AccountsService;
use crate::accounts::{InvitationDto, MemberDto, OrganizationDto, SignedIn};
use crate::components::{FormError, LoadError};
use crate::error::PageError;
use crate::form_input::echoed;
#[cfg(feature = "ssr")]
use crate::web::context::service;
use leptos::prelude::*;
use leptos_meta::Title;
use server_fn::ServerFn;

#[server(prefix = "/rpc", endpoint = "list_members", output = crate::rpc::JsonText)]
pub(crate) async fn list_members() -> Result<Vec<MemberDto>, PageError> {
    let actor = crate::accounts::session::page_member().await?;
    Ok(service::<AccountsService>()?
        .members(&actor.membership)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "invite_member", output = crate::rpc::JsonText)]
pub(crate) async fn invite_member(email: String, role: String) -> Result<InvitationDto, PageError> {
    use crate::accounts::domain::Email;
    use crate::error::AppError;
    let actor = crate::accounts::session::page_member().await?;
    let email = Email::parse(&email).map_err(AppError::from)?;
    let role = Role::parse_invitable(&role).map_err(AppError::from)?;
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    Ok(service::<AccountsService>()?
        .invite(&actor.membership, &email, role, &meta)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "list_invitations", output = crate::rpc::JsonText)]
pub(crate) async fn list_invitations() -> Result<Vec<InvitationDto>, PageError> {
    let actor = crate::accounts::session::page_member().await?;
    Ok(service::<AccountsService>()?
        .invitations(&actor.membership)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "withdraw_invitation", output = crate::rpc::JsonText)]
pub(crate) async fn withdraw_invitation(id: String) -> Result<(), PageError> {
    use crate::error::AppError;
    let actor = crate::accounts::session::page_member().await?;
    let id = crate::parse::path_id(&id, AppError::InvitationNotFound)?;
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    Ok(service::<AccountsService>()?
        .withdraw_invitation(&actor.membership, id, &meta)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "change_member_role", output = crate::rpc::JsonText)]
pub(crate) async fn change_member_role(
    user_id: String,
    role: String,
) -> Result<MemberDto, PageError> {
    use crate::error::AppError;
    let actor = crate::accounts::session::page_member().await?;
    let member = crate::parse::path_id(&user_id, AppError::MemberNotFound)?;
    let role = Role::parse(&role).map_err(AppError::from)?;
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    Ok(service::<AccountsService>()?
        .change_role(&actor.membership, member, role, &meta)
        .await?)
}

/// The page's actions and what it loads, made once at its top (the views below
/// wait for the session and may be built more than once).
#[derive(Clone, Copy)]
struct OrganizationData {
    change: ServerAction<ChangeMemberRole>,
    remove: ServerAction<RemoveMember>,
    invite: ServerAction<InviteMember>,
    withdraw: ServerAction<WithdrawInvitation>,
    members: Resource<Result<Vec<MemberDto>, PageError>>,
    /// The invitations not yet answered (the owner's only; refused to others).
    pending: Resource<Result<Vec<InvitationDto>, PageError>>,
}

impl OrganizationData {
    fn new() -> Self {
        let change = ServerAction::<ChangeMemberRole>::new();
        let remove = ServerAction::<RemoveMember>::new();
        let context = AccountContext::get();
        context.reload_after(remove);
        let invite = ServerAction::<InviteMember>::new();
        let withdraw = ServerAction::<WithdrawInvitation>::new();
        OrganizationData {
            change,
            remove,
            invite,
            withdraw,
            members: Resource::new(
                // A removal moves `organization_changes` (`reload_after` above: leaving
                // changes the organization), which reloads the list once.
                move || (context.organization_changes(), change.version().get()),
                |_| list_members(),
            ),
            pending: Resource::new(
                move || {
                    let changes = context.organization_changes();
                    (changes, invite.version().get(), withdraw.version().get())
                },
                |_| list_invitations(),
            ),
        }
    }
}

#[component]
pub(crate) fn OrganizationPage() -> impl IntoView {
    let data = OrganizationData::new();
    view! {
        <Title text="Organization · Storno Licensing"/>
        <RequireOrganization member_view=move |signed_in: SignedIn, current: OrganizationDto| {
            view! { <OrganizationDetails signed_in current data/> }
        }/>
    }
}

#[component]
fn OrganizationDetails(
    signed_in: SignedIn,
    current: OrganizationDto,
    data: OrganizationData,
) -> impl IntoView {
    let is_owner = current.role == Role::Owner;
    view! {
        <h1>{current.name.clone()}</h1>
        <p class="lede">
            "Plan: " <strong>{current.plan.clone()}</strong>
            " · Your role: " <strong>{current.role.to_string()}</strong>
        </p>
        <Members email=signed_in.email is_owner data/>
        {is_owner.then(|| view! { <Invitations data/> })}
        <section class="card">
            <h2>"Create another organization"</h2>
            <CreateOrganizationForm field_id="new-organization"/>
        </section>
    }
}

/// The member list. The owner gets role and removal controls on every other row;
/// everyone else can leave.
#[component]
fn Members(email: String, is_owner: bool, data: OrganizationData) -> impl IntoView {
    let OrganizationData {
        change,
        remove,
        members,
        ..
    } = data;
    let email = StoredValue::new(email);
    view! {
        <section class="card">
            <h2>"Members"</h2>
            <FormError result=Signal::derive(move || change.value().get())/>
            <FormError result=Signal::derive(move || remove.value().get())/>
            {move || Suspend::new(async move {
                match members.await {
                    Ok(members) => view! {
                        <ul class="members">
                            {members
                                .into_iter()
                                .map(|member| {
                                    let is_me = member.email == email.get_value();
                                    member_row(member, is_owner, is_me, change, remove)
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
            {(!is_owner).then(|| view! {
                <p class="hint">"Only the owner can invite, remove or change the role of members."</p>
            })}
        </section>
    }
}

fn member_row(
    member: MemberDto,
    is_owner: bool,
    is_me: bool,
    change: ServerAction<ChangeMemberRole>,
    remove: ServerAction<RemoveMember>,
) -> impl IntoView {
    let role = member.role;
    let manageable = is_owner && role != Role::Owner;
    let leavable = is_me && role != Role::Owner;
    let user_id = member.user_id.clone();
    let select_id = format!("role-{}", member.user_id);
    let (email, data_email) = (member.email.clone(), member.email);
    view! {
        <li data-member=data_email>
            <span>{email}</span>
            <span class=format!("badge role-{role}")>{role.to_string()}</span>
            {manageable.then(|| {
                let user_id = user_id.clone();
                view! {
                    <ActionForm action=change attr:class="inline">
                        <input type="hidden" name="user_id" value=user_id/>
                        <label class="visually-hidden" for=select_id.clone()>"Role"</label>
                        <select id=select_id.clone() name="role">
                            <option value="member" selected=role == Role::Member>"member"</option>
                            <option value="admin" selected=role == Role::Admin>"admin"</option>
                            {(role == Role::Admin).then(|| view! { <option value="owner">"owner (transfer ownership)"</option> })}
                        </select>
                        <button type="submit" class="secondary">"Change role"</button>
                    </ActionForm>
                }
            })}
            {(manageable || leavable).then(|| view! {
                <ActionForm action=remove attr:class="inline">
                    <input type="hidden" name="user_id" value=user_id/>
                    <button type="submit" class="danger">{if leavable { "Leave organization" } else { "Remove" }}</button>
                </ActionForm>
            })}
        </li>
    }
}

/// The owner's invitation form and the pending invitations.
#[component]
fn Invitations(data: OrganizationData) -> impl IntoView {
    let invite = data.invite;
    view! {
        <section class="card">
            <h2>"Invite someone"</h2>
            <p class="hint">"They join only if they accept, from their Account page, within 7 days. Admins and members can use the organization but cannot manage license keys or members."</p>
            <ActionForm action=invite>
                <div class="inline-fields">
                    <div class="field">
                        <label for="invite-email">"Email"</label>
                        <input id="invite-email" name="email" type="email" maxlength="254" required
                            value=echoed(InviteMember::PATH, "email")/>
                    </div>
                    <div class="field">
                        <label for="invite-role">"Role"</label>
                        <select id="invite-role" name="role">
                            <option value="member">"member"</option>
                            <option value="admin">"admin"</option>
                        </select>
                    </div>
                </div>
                <FormError result=Signal::derive(move || invite.value().get())/>
                {move || invite.value().get().and_then(Result::ok).map(|invitation| view! {
                    <p class="form-success" role="status">{format!("{} is invited as {}.", invitation.email, invitation.role)}</p>
                })}
                <button type="submit" class="primary" disabled=move || invite.pending().get()>"Send invitation"</button>
            </ActionForm>
            <PendingInvitations data/>
        </section>
    }
}

/// The invitations not yet answered, each with Withdraw; refreshed after an invite.
#[component]
fn PendingInvitations(data: OrganizationData) -> impl IntoView {
    let OrganizationData {
        withdraw, pending, ..
    } = data;
    view! {
            <h3>"Pending invitations"</h3>
            <FormError result=Signal::derive(move || withdraw.value().get())/>
            {move || Suspend::new(async move {
                match pending.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"None."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="members invitations">
                            {list.into_iter().map(|invitation| {
                                let email = invitation.email.clone();
                                view! {
                                <li data-invitation=email>
                                    <span>{invitation.email}</span>
                                    <span class=format!("badge role-{}", invitation.role)>{invitation.role.to_string()}</span>
                                    <span class="hint">{format!("until {}", invitation.expires_at.get(0..10).unwrap_or_default())}</span>
                                    <ActionForm action=withdraw attr:class="inline">
                                        <input type="hidden" name="id" value=invitation.id/>
                                        <button type="submit" class="secondary">"Withdraw"</button>
                                    </ActionForm>
                                </li>
                            }}).collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
    }
}
