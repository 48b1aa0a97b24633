//! The Activity page: the organization's audit log, newest first, a page at a time.

use crate::accounts::context::AccountContext;
use crate::accounts::domain::Role;
use crate::accounts::pages::gates::RequireOrganization;
use crate::accounts::{OrganizationDto, SignedIn};
#[cfg(feature = "ssr")]
use crate::audit::service::AuditLog;
use crate::audit::{AuditEventDto, AuditPageDto};
use crate::components::LoadError;
use crate::error::PageError;
#[cfg(feature = "ssr")]
use crate::web::context::service;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[server(prefix = "/rpc", endpoint = "list_activity", output = crate::rpc::JsonText)]
pub(crate) async fn list_activity(before: Option<String>) -> Result<AuditPageDto, PageError> {
    let actor = crate::accounts::session::page_member().await?;
    Ok(service::<AuditLog>()?
        .list(&actor.membership, &crate::db::Page::new(before, None))
        .await?)
}

#[component]
pub(crate) fn ActivityPage() -> impl IntoView {
    // Made here, once: the view below waits for the session and may be built twice.
    let query = use_query_map();
    let context = AccountContext::get();
    let page = Resource::new(
        move || (query.read().get("before"), context.organization_changes()),
        |(before, _)| list_activity(before),
    );
    view! {
        <Title text="Activity · Storno Licensing"/>
        <RequireOrganization member_view=move |_: SignedIn, current: OrganizationDto| {
            if current.role == Role::Owner {
                view! { <ActivityLog page/> }.into_any()
            } else {
                view! {
                    <h1>"Activity"</h1>
                    <section class="card notice" role="note">
                        <h2>"Only the owner can see the activity log"</h2>
                        <p>"Ask the owner of " <strong>{current.name}</strong> " if you need it."</p>
                    </section>
                }
                .into_any()
            }
        }/>
    }
}

#[component]
fn ActivityLog(page: Resource<Result<AuditPageDto, PageError>>) -> impl IntoView {
    view! {
        <h1>"Activity"</h1>
        <p class="lede">"What happened in this organization: its license keys, invitations and members, newest first."</p>
        <section class="card">
            <EventPages page path="/activity"/>
        </section>
    }
}

/// One page of events from `page`, with a link (under `path`) to the older ones.
#[component]
pub(crate) fn EventPages(
    page: Resource<Result<AuditPageDto, PageError>>,
    path: &'static str,
) -> impl IntoView {
    view! {
        {move || Suspend::new(async move {
            match page.await {
                Ok(page) => view! {
                    <EventTable events=page.events/>
                    {page.next_before.map(|next| view! {
                        <p><a href=format!("{path}?before={next}")>"Older events"</a></p>
                    })}
                }
                .into_any(),
                Err(error) => view! { <LoadError error/> }.into_any(),
            }
        })}
    }
}

/// A page of events: when, what, who, from where.
#[component]
pub(crate) fn EventTable(events: Vec<AuditEventDto>) -> impl IntoView {
    if events.is_empty() {
        return view! { <p class="empty">"No activity yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="keys activity">
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"What"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"From"</th>
                    </tr>
                </thead>
                <tbody>
                    {events
                        .into_iter()
                        .map(|event| view! {
                            <tr>
                                <td data-label="When"><time datetime=event.created_at.clone()>{event.created_at.replace('T', " ").replace("+00:00", " UTC")}</time></td>
                                <td data-label="What">{what(&event)}</td>
                                <td data-label="Who">{who(&event)}</td>
                                <td data-label="From">{event.ip.unwrap_or_default()}</td>
                            </tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// What happened; a plan change names its new plan.
fn what(event: &AuditEventDto) -> String {
    match detail(event, "plan") {
        Some(plan) if event.action == "organization.plan_changed" => {
            format!("Plan changed to {plan}")
        }
        _ => describe(&event.action).to_string(),
    }
}

/// Who did it: a person, Stripe or the operator (a plan change), or else a
/// self-hosted instance (a key's activation or new URL).
fn who(event: &AuditEventDto) -> String {
    if let Some(email) = &event.actor_email {
        return email.clone();
    }
    match detail(event, "by") {
        Some("stripe") => "Stripe".into(),
        Some("operator") => "the operator".into(),
        _ => "a self-hosted instance".into(),
    }
}

fn detail<'e>(event: &'e AuditEventDto, name: &str) -> Option<&'e str> {
    event.details.as_ref()?.get(name)?.as_str()
}

fn describe(action: &str) -> &str {
    match action {
        "user.signed_in" => "Signed in",
        "token.created" => "API token created",
        "token.revoked" => "API token revoked",
        "license_key.created" => "License key created",
        "license_key.revoked" => "License key revoked",
        "license_key.rotated" => "License key rotated",
        "license_key.activated" => "License key activated by an instance",
        "license_key.new_instance_url" => "License key used from a new instance URL",
        "license_key.offline_license_issued" => "Offline license issued",
        "invitation.created" => "Invitation sent",
        "invitation.withdrawn" => "Invitation withdrawn",
        "invitation.declined" => "Invitation declined",
        "member.joined" => "Member joined",
        "member.left" => "Member left",
        "member.removed" => "Member removed",
        "member.role_changed" => "Member's role changed",
        "ownership.transferred" => "Ownership transferred",
        other => other,
    }
}
