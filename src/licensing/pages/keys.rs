//! The License keys page: create (with the one-time reveal), list, and an
//! explanation for anyone who is not the owner. Server functions only parse input
//! and call the licensing service.

use crate::accounts::context::AccountContext;
use crate::accounts::domain::Role;
use crate::accounts::pages::gates::{NotOwnerNotice, RequireOrganization};
use crate::accounts::{OrganizationDto, SignedIn};
use crate::browser;
use crate::components::FormError;
use crate::error::PageError;
use crate::form_input::echoed;
#[cfg(feature = "ssr")]
use crate::licensing::reveal::RevealSealer;
#[cfg(feature = "ssr")]
use crate::licensing::service::LicensingService;
use crate::licensing::{
    CreatedLicenseKeyDto, IssuedOfflineLicenseDto, KeyListPage, KeyState, OfflineLicenseDto,
};
#[cfg(feature = "ssr")]
use crate::web::context::service;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

mod key_table;
mod offline_panel;
mod reveal_panel;
use key_table::KeyList;
use reveal_panel::Reveals;

#[server(prefix = "/rpc", endpoint = "create_license_key", output = crate::rpc::JsonText)]
pub(crate) async fn create_license_key(
    instance_name: String,
) -> Result<CreatedLicenseKeyDto, PageError> {
    use crate::error::AppError;
    use crate::licensing::key::InstanceName;
    use crate::request_meta::RequestMeta;
    let actor = crate::accounts::session::page_member().await?;
    let instance_name = InstanceName::parse(&instance_name).map_err(AppError::from)?;
    let meta = RequestMeta::of_server_fn().await;
    let created = service::<LicensingService>()?
        .create(&actor.membership, instance_name, &meta, None)
        .await?;
    if crate::request_meta::is_plain_form_post() {
        // Without JavaScript the answer is a redirect to the view of the page that
        // shows the key from the session, once.
        let reveals = service::<RevealSealer>()?;
        reveals.stash(&actor.session, &actor.user, &created).await?;
        leptos_axum::redirect(&format!("/keys?{REVEAL_QUERY}=1"));
    }
    Ok(created)
}

/// The query of the keys page's view that a key created without JavaScript
/// redirects to: only that view reads the session for a key to reveal, so the
/// page's every other view loads one resource fewer (bench/records/).
const REVEAL_QUERY: &str = "reveal";

/// The key a form posted without JavaScript created, for the view its redirect
/// leads to (`?reveal=1`).
#[server(prefix = "/rpc", endpoint = "take_revealed_key", output = crate::rpc::JsonText)]
pub(crate) async fn take_revealed_key() -> Result<Option<CreatedLicenseKeyDto>, PageError> {
    // Whatever organization they are in now: the stash belongs to the person.
    let page = crate::accounts::session::page_user().await?;
    Ok(service::<RevealSealer>()?
        .take(&page.session, &page.user)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "list_license_keys", output = crate::rpc::JsonText)]
pub(crate) async fn list_license_keys(before: Option<String>) -> Result<KeyListPage, PageError> {
    let actor = crate::accounts::session::page_member().await?;
    // A `before` that is not a key id pages from the newest, as without one.
    let before = before.filter(|id| uuid::Uuid::parse_str(id).is_ok());
    let now = crate::clock::now();
    let licensing = &service::<LicensingService>()?;
    let (page, offline) = licensing
        .list_with_offline_licenses(&actor.membership, &crate::db::Page::new(before, None))
        .await?;
    Ok(KeyListPage {
        keys: page.keys.iter().map(|key| key.row(now)).collect(),
        next_before: page.next_before,
        offline_licenses: offline.iter().map(|l| l.to_dto()).collect(),
        offline_enabled: licensing.offline_licenses_enabled(),
        self_hosting: page.self_hosting,
    })
}

/// Revokes a key; answers with its offline licenses that still work.
#[server(prefix = "/rpc", endpoint = "revoke_license_key", output = crate::rpc::JsonText)]
pub(crate) async fn revoke_license_key(id: String) -> Result<Vec<OfflineLicenseDto>, PageError> {
    let actor = crate::accounts::session::page_member().await?;
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    let (licensing, key_id) = (&service::<LicensingService>()?, key_id(&id)?);
    licensing.revoke(&actor.membership, key_id, &meta).await?;
    let unexpired = licensing
        .unexpired_offline_licenses(&actor.membership, Some(key_id))
        .await?;
    Ok(unexpired.iter().map(|l| l.to_dto()).collect())
}

#[server(prefix = "/rpc", endpoint = "issue_offline_license", output = crate::rpc::JsonText)]
pub(crate) async fn issue_offline_license(
    id: String,
    days: i64,
) -> Result<IssuedOfflineLicenseDto, PageError> {
    let actor = crate::accounts::session::page_member().await?;
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    Ok(service::<LicensingService>()?
        .issue_offline_license(&actor.membership, key_id(&id)?, Some(days), &meta)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "rotate_license_key", output = crate::rpc::JsonText)]
pub(crate) async fn rotate_license_key(
    id: String,
    grace_period_hours: i64,
) -> Result<CreatedLicenseKeyDto, PageError> {
    let actor = crate::accounts::session::page_member().await?;
    let meta = crate::request_meta::RequestMeta::of_server_fn().await;
    Ok(service::<LicensingService>()?
        .rotate(
            &actor.membership,
            key_id(&id)?,
            grace_period_hours,
            &meta,
            None,
        )
        .await?)
}

/// A key id from a form; one that does not parse is a key nobody has.
#[cfg(feature = "ssr")]
fn key_id(raw: &str) -> Result<uuid::Uuid, crate::error::AppError> {
    crate::parse::path_id(raw, crate::error::AppError::LicenseKeyNotFound)
}

type StashedKey = OnceResource<Result<Option<CreatedLicenseKeyDto>, PageError>>;

/// The page's actions and what it loads, made once per page at its top: the views
/// below are built again when the session changes, and a resource made in one of
/// them would load again each time.
#[derive(Clone, Copy)]
struct KeyPage {
    create: ServerAction<CreateLicenseKey>,
    revoke: ServerAction<RevokeLicenseKey>,
    rotate: ServerAction<RotateLicenseKey>,
    issue: ServerAction<IssueOfflineLicense>,
    /// Without JavaScript, a create comes back as a page load (`?reveal=1`) with
    /// the key stashed in the session.
    stashed: Option<StashedKey>,
    /// A page of the organization's keys (`?before=` pages back), refreshed after
    /// every create, revoke, rotation and offline license.
    keys: Resource<Result<KeyListPage, PageError>>,
}

impl KeyPage {
    fn new() -> Self {
        let create = ServerAction::<CreateLicenseKey>::new();
        let revoke = ServerAction::<RevokeLicenseKey>::new();
        let rotate = ServerAction::<RotateLicenseKey>::new();
        let issue = ServerAction::<IssueOfflineLicense>::new();
        let query = use_query_map();
        let context = AccountContext::get();
        let keys = Resource::new(
            move || {
                (
                    query.read().get("before"),
                    context.organization_changes(),
                    create.version().get(),
                    revoke.version().get(),
                    rotate.version().get(),
                    issue.version().get(),
                )
            },
            |(before, ..)| list_license_keys(before),
        );
        KeyPage {
            create,
            revoke,
            rotate,
            issue,
            stashed: query
                .with_untracked(|query| query.get_str(REVEAL_QUERY).is_some())
                .then(|| OnceResource::new(take_revealed_key())),
            keys,
        }
    }
}

#[component]
pub(crate) fn LicenseKeysPage() -> impl IntoView {
    let page = KeyPage::new();
    view! {
        <Title text="License keys · Storno Licensing"/>
        <RequireOrganization member_view=move |_: SignedIn, current: OrganizationDto| {
            if current.role == Role::Owner {
                view! { <KeyManager organization=current.name page/> }.into_any()
            } else {
                view! {
                    <NotOwnerNotice page="License keys" title="Only the owner can manage license keys" current>
                        "License keys unlock this organization's plan on self-hosted instances, so only its owner can create or view them. "
                        "Ask the owner for a key, or switch to an organization you own."
                    </NotOwnerNotice>
                }
                .into_any()
            }
        }/>
    }
}

/// Said on the page, and again in the reveal panel, while the organization's plan
/// lacks self-hosting: instances using its keys are refused until it includes it.
#[component]
fn SelfHostingNotice(keys: Resource<Result<KeyListPage, PageError>>) -> impl IntoView {
    move || {
        Suspend::new(async move {
            let refused = keys.await.is_ok_and(|list| !list.self_hosting);
            refused.then(|| view! { <SelfHostingWarning/> })
        })
    }
}

#[component]
fn SelfHostingWarning() -> impl IntoView {
    view! {
        <p class="notice warning" role="note" data-testid="self-hosting-notice">
            "This organization's plan does not include self-hosting: Storno instances using these keys are refused until it does. "
            <a href="/settings/billing">"See the plans and upgrade"</a>
        </p>
    }
}

#[component]
fn KeyManager(organization: String, page: KeyPage) -> impl IntoView {
    let create = page.create;
    view! {
        <h1>"License keys"</h1>
        <p class="lede">"Each self-hosted Storno instance of " <strong>{organization}</strong> " should use its own key."</p>
        <section class="card">
            <h2>"Create a license key"</h2>
            <ActionForm action=create>
                <div class="field">
                    <label for="instance_name">"Instance name " <span class="hint">"(optional)"</span></label>
                    <input id="instance_name" name="instance_name" type="text" maxlength="255" placeholder="Production Server"
                        value=echoed(CreateLicenseKey::PATH, "instance_name")/>
                </div>
                <FormError result=Signal::derive(move || create.value().get())/>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create license key"</button>
            </ActionForm>
        </section>
        <SelfHostingNotice keys=page.keys/>
        <Reveals create rotate=page.rotate stashed=page.stashed keys=page.keys/>
        <KeyList page/>
    }
}

/// Shows a new key once, in full, with a copy button. Closing without copying
/// asks first, because the key can never be shown again.
/// A secret shown once: until it is `saved`, leaving the page asks first (named
/// `secret` among the page's unsaved ones), and so does closing its panel, with
/// `question`. The panel's close handler.
fn close_when_saved(
    secret: &'static str,
    saved: RwSignal<bool>,
    question: &'static str,
    on_close: Callback<()>,
) -> impl Fn(leptos::ev::MouseEvent) + Clone + 'static {
    Effect::new(move |_| browser::guard_leaving(secret, !saved.get()));
    on_cleanup(move || browser::guard_leaving(secret, false));
    move |_| {
        if saved.get_untracked() || browser::confirm(question) {
            on_close.run(());
        }
    }
}

/// The key an owner is issuing an offline license for.
#[derive(Debug, Clone, PartialEq)]
struct OfflineTarget {
    id: String,
    label: String,
}

/// The badge of a key's state: its CSS class and its words.
pub(super) fn status_badge(state: &KeyState) -> (&'static str, String) {
    match state {
        KeyState::Active => ("active", "active".to_string()),
        KeyState::Overdue => ("overdue", "overdue".to_string()),
        KeyState::Shared { instances } => ("shared", format!("shared by {instances} instances")),
        KeyState::NeverUsed => ("never-used", "never used".to_string()),
        KeyState::Rotating { until } => (
            "rotating",
            format!("rotating, valid until {}", short_date(until)),
        ),
        KeyState::Revoked => ("revoked", "revoked".to_string()),
    }
}

/// `2026-02-20T10:30:00+00:00` as `2026-02-20 10:30 UTC`.
pub(super) fn short_date(timestamp: &str) -> String {
    match (timestamp.get(0..10), timestamp.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => timestamp.to_string(),
    }
}
