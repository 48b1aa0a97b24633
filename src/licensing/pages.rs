//! The License keys page: create (with the one-time reveal), list, and an
//! explanation for anyone who is not the owner. Server functions only parse input
//! and call the licensing service.

#[cfg(feature = "ssr")]
use super::reveal::RevealSealer;
use super::{
    CreatedLicenseKeyDto, IssuedOfflineLicenseDto, KeyListPage, KeyRow, KeyState, OfflineLicenseDto,
};
use crate::accounts::context::AccountContext;
use crate::accounts::domain::Role;
use crate::accounts::gates::{NotOwnerNotice, RequireOrganization};
use crate::accounts::{OrganizationDto, SignedIn};
use crate::browser;
use crate::components::{FormError, LoadError};
use crate::error::PageError;
use crate::form_input::echoed;
#[cfg(feature = "ssr")]
use crate::licensing::service::LicensingService;
use crate::settled::settled;
#[cfg(feature = "ssr")]
use crate::web::context::service;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

#[server(prefix = "/rpc", endpoint = "create_license_key", output = crate::rpc::JsonText)]
pub async fn create_license_key(instance_name: String) -> Result<CreatedLicenseKeyDto, PageError> {
    use super::key::InstanceName;
    use crate::error::AppError;
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
/// page's every other view loads one resource fewer (BENCHMARKS.md).
const REVEAL_QUERY: &str = "reveal";

/// The key a form posted without JavaScript created, for the view its redirect
/// leads to (`?reveal=1`).
#[server(prefix = "/rpc", endpoint = "take_revealed_key", output = crate::rpc::JsonText)]
pub async fn take_revealed_key() -> Result<Option<CreatedLicenseKeyDto>, PageError> {
    // Whatever organization they are in now: the stash belongs to the person.
    let page = crate::accounts::session::page_user().await?;
    Ok(service::<RevealSealer>()?
        .take(&page.session, &page.user)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "list_license_keys", output = crate::rpc::JsonText)]
pub async fn list_license_keys(before: Option<String>) -> Result<KeyListPage, PageError> {
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
    })
}

/// Revokes a key; answers with its offline licenses that still work.
#[server(prefix = "/rpc", endpoint = "revoke_license_key", output = crate::rpc::JsonText)]
pub async fn revoke_license_key(id: String) -> Result<Vec<OfflineLicenseDto>, PageError> {
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
pub async fn issue_offline_license(
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
pub async fn rotate_license_key(
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
pub fn LicenseKeysPage() -> impl IntoView {
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
        <Reveals create rotate=page.rotate stashed=page.stashed/>
        <KeyList page/>
    }
}

/// The one key to reveal: the newest that a create or a rotation returned, or
/// the one a form posted without JavaScript left in the session.
#[component]
fn Reveals(
    create: ServerAction<CreateLicenseKey>,
    rotate: ServerAction<RotateLicenseKey>,
    stashed: Option<StashedKey>,
) -> impl IntoView {
    let revealed = RwSignal::new(None::<CreatedLicenseKeyDto>);
    Effect::new(move |_| {
        if let Some(Ok(key)) = create.value().get() {
            revealed.set(Some(key));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(key)) = rotate.value().get() {
            revealed.set(Some(key));
        }
    });
    let stash_closed = RwSignal::new(false);
    let close = Callback::new(move |_| {
        revealed.set(None);
        stash_closed.set(true);
        create.clear();
        rotate.clear();
    });
    view! {
        <div aria-live="polite">
            {move || revealed.get().map(|created| view! { <RevealPanel created on_close=close/> })}
            {stashed.map(|stashed| move || Suspend::new(async move {
                let created = stashed.await.ok().flatten();
                move || {
                    created
                        .clone()
                        .filter(|_| revealed.get().is_none() && !stash_closed.get())
                        .map(|created| view! { <RevealPanel created on_close=close/> })
                }
            }))}
        </div>
    }
}

/// The page of keys, with each key's actions.
#[component]
fn KeyList(page: KeyPage) -> impl IntoView {
    let KeyPage {
        revoke,
        rotate,
        issue,
        keys,
        ..
    } = page;
    let offline_for = RwSignal::new(None::<OfflineTarget>);
    let actions = KeyActionSet {
        revoke,
        rotate,
        offline_for,
    };
    view! {
        <OfflineLicensePanel issue offline_for/>
        <section class="card">
            <h2>"Keys"</h2>
            <FormError result=Signal::derive(move || revoke.value().get())/>
            <FormError result=Signal::derive(move || rotate.value().get())/>
            <RevokeNotice revoke/>
            // Waited for with no boundary (see `crate::components`): the rows are built
            // once; after an action the old rows stay until the new ones arrive.
            {move || Suspend::new(async move {
                settled(match keys.await {
                    Ok(page) if page.keys.is_empty() => view! {
                        <p class="empty">"No license keys yet."</p>
                    }
                    .into_any(),
                    Ok(page) => view! {
                        <KeyTable keys=page.keys offline=page.offline_licenses offline_enabled=page.offline_enabled actions/>
                        {page.next_before.map(|next| view! {
                            <p class="more"><a href=format!("/keys?before={next}")>"Older keys"</a></p>
                        })}
                    }
                    .into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                })
            })}
        </section>
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

#[component]
fn RevealPanel(created: CreatedLicenseKeyDto, on_close: Callback<()>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy_failed = RwSignal::new(false);
    let key = StoredValue::new(created.license_key.clone());
    let close = close_when_saved(
        "license-key",
        copied,
        "You have not copied this license key. It will never be shown again. Close anyway?",
        on_close,
    );
    let copy = move |_| {
        leptos::task::spawn_local(async move {
            let ok = browser::copy_to_clipboard(&key.get_value()).await;
            copied.set(ok);
            copy_failed.set(!ok);
        });
    };
    let label = created
        .instance_name
        .clone()
        .unwrap_or_else(|| "your instance".to_string());
    view! {
        <section class="card reveal" role="region" aria-labelledby="reveal-title" data-testid="reveal-panel">
            <h2 id="reveal-title">"New license key for " {label}</h2>
            <p class="warning">
                <strong>"Copy this key now: it is shown only once."</strong>
                " We keep only a fingerprint of it, so nobody can display it again. If you lose it, create a new key."
            </p>
            <div class="key-box">
                <code class="license-key" data-testid="revealed-key">{created.license_key}</code>
                <button type="button" class="primary" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
            <p class="copy-status" role="status">
                {move || {
                    if copied.get() {
                        "The key is on your clipboard."
                    } else if copy_failed.get() {
                        "Copying failed: select the key and copy it by hand."
                    } else {
                        ""
                    }
                }}
            </p>
            <noscript>
                <p class="hint">"Select the key and copy it; it is gone when you leave or reload this page."</p>
            </noscript>
            <button type="button" class="secondary" on:click=close>"I have saved it, close"</button>
        </section>
    }
}

/// The key an owner is issuing an offline license for.
#[derive(Debug, Clone, PartialEq)]
struct OfflineTarget {
    id: String,
    label: String,
}

/// What a key's buttons act with.
#[derive(Clone, Copy)]
struct KeyActionSet {
    revoke: ServerAction<RevokeLicenseKey>,
    rotate: ServerAction<RotateLicenseKey>,
    offline_for: RwSignal<Option<OfflineTarget>>,
}

#[component]
fn KeyTable(
    keys: Vec<KeyRow>,
    offline: Vec<OfflineLicenseDto>,
    offline_enabled: bool,
    actions: KeyActionSet,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="keys">
                <thead>
                    <tr>
                        <th scope="col">"Key"</th>
                        <th scope="col">"Instance"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Last validated"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {keys
                        .into_iter()
                        .map(|row| {
                            let issued: Vec<OfflineLicenseDto> = offline
                                .iter()
                                .filter(|license| license.license_key_id == row.id)
                                .cloned()
                                .collect();
                            key_row(row, issued, offline_enabled, actions)
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

fn key_row(
    row: KeyRow,
    offline: Vec<OfflineLicenseDto>,
    offline_enabled: bool,
    actions: KeyActionSet,
) -> impl IntoView {
    let label = row
        .instance_name
        .clone()
        .unwrap_or_else(|| format!("key {}", row.masked_key));
    let (status_class, status_text) = status_badge(&row.state);
    let (id, row_id) = (row.id.clone(), row.id.clone());
    view! {
        <tr data-key-id=row_id>
            <td data-label="Key">
                <a href=format!("/keys/{}", row.id) class="key-link" title="Usage and history">
                    <code class="masked-key">{row.masked_key}</code>
                </a>
            </td>
            <td data-label="Instance">
                <span class="instance-name">{row.instance_name.unwrap_or_else(|| "—".into())}</span>
                {row.instance_url.map(|url| view! { <br/><span class="hint">{url}</span> })}
                <OfflineLicenseList offline/>
            </td>
            <td data-label="Status"><span class=format!("badge {status_class}")>{status_text}</span></td>
            <td data-label="Last validated">{row.last_validated.unwrap_or_else(|| "never".into())}</td>
            <td data-label="Created"><time datetime=row.created_at.clone()>{short_date(&row.created_at)}</time></td>
            <td class="actions">
                <KeyActions id label state=row.state offline_enabled actions/>
            </td>
        </tr>
    }
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

/// Rotate and Revoke, each after the owner confirms what it does.
#[component]
fn KeyActions(
    id: String,
    label: String,
    state: KeyState,
    offline_enabled: bool,
    actions: KeyActionSet,
) -> impl IntoView {
    let KeyActionSet {
        revoke,
        rotate,
        offline_for,
    } = actions;
    let can_rotate = !matches!(state, KeyState::Revoked | KeyState::Rotating { .. });
    let can_revoke = state != KeyState::Revoked;
    let can_sign = offline_enabled && state != KeyState::Revoked;
    let on_offline = {
        let target = OfflineTarget {
            id: id.clone(),
            label: label.clone(),
        };
        move |_| offline_for.set(Some(target.clone()))
    };
    let on_revoke = {
        let (id, label) = (id.clone(), label.clone());
        move |_| {
            let question = format!(
                "Revoke the license key for {label}? Instances using it stop working at their next validation; offline licenses already issued keep working until they expire. This cannot be undone."
            );
            if browser::confirm(&question) {
                revoke.dispatch(RevokeLicenseKey { id: id.clone() });
            }
        }
    };
    let on_rotate = move |_| {
        let question = format!(
            "Rotate the license key for {label}? You get a new key, shown once; the old one keeps working for 24 hours."
        );
        if browser::confirm(&question) {
            rotate.dispatch(RotateLicenseKey {
                id: id.clone(),
                grace_period_hours: 24,
            });
        }
    };
    view! {
        {can_sign.then(|| view! { <button type="button" class="secondary" on:click=on_offline>"Download offline license"</button> })}
        {can_rotate.then(|| view! { <button type="button" class="secondary" on:click=on_rotate>"Rotate"</button> })}
        {can_revoke.then(|| view! { <button type="button" class="danger" on:click=on_revoke>"Revoke"</button> })}
    }
}

/// `2026-02-20T10:30:00+00:00` as `2026-02-20 10:30 UTC`.
pub(super) fn short_date(timestamp: &str) -> String {
    match (timestamp.get(0..10), timestamp.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => timestamp.to_string(),
    }
}

/// A key's offline licenses that still work: they outlive a revocation.
#[component]
fn OfflineLicenseList(offline: Vec<OfflineLicenseDto>) -> impl IntoView {
    (!offline.is_empty()).then(|| {
        view! {
            <ul class="offline-licenses hint" data-testid="offline-licenses">
                {offline
                    .into_iter()
                    .map(|license| {
                        let by = license.issued_by.unwrap_or_else(|| "a former member".into());
                        view! {
                            <li>
                                "Offline license (" {license.plan} ") until "
                                <time datetime=license.expires_at.clone()>{short_date(&license.expires_at)}</time>
                                ", issued by " {by}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
    })
}

/// After a revocation: the key's offline licenses that keep working regardless.
#[component]
fn RevokeNotice(revoke: ServerAction<RevokeLicenseKey>) -> impl IntoView {
    move || {
        let unexpired = revoke.value().get()?.ok()?;
        let last = unexpired.iter().map(|l| l.expires_at.clone()).max()?;
        Some(view! {
            <p class="notice" role="status" data-testid="revoke-notice">
                {format!(
                    "Revoked. {} offline license(s) of this key still work until {}: they cannot be recalled.",
                    unexpired.len(),
                    short_date(&last)
                )}
            </p>
        })
    }
}

/// Asks how long an offline license should last, then shows it once.
#[component]
fn OfflineLicensePanel(
    issue: ServerAction<IssueOfflineLicense>,
    offline_for: RwSignal<Option<OfflineTarget>>,
) -> impl IntoView {
    // A new target starts from the form, never from another key's license.
    Effect::new(move |_| {
        offline_for.track();
        issue.clear();
    });
    let close = Callback::new(move |_| {
        offline_for.set(None);
        issue.clear();
    });
    move || {
        offline_for.get().map(|target| {
            let issued = move || issue.value().get().and_then(Result::ok);
            view! {
                <section class="card reveal" role="region" aria-labelledby="offline-title" data-testid="offline-license">
                    <h2 id="offline-title">"Offline license for " {target.label.clone()}</h2>
                    {move || match issued() {
                        Some(license) => view! { <OfflineReveal license on_close=close/> }.into_any(),
                        None => view! { <OfflineLicenseForm issue id=target.id.clone() on_cancel=close/> }.into_any(),
                    }}
                </section>
            }
        })
    }
}

#[component]
fn OfflineLicenseForm(
    issue: ServerAction<IssueOfflineLicense>,
    id: String,
    on_cancel: Callback<()>,
) -> impl IntoView {
    view! {
        <p>
            "An offline license is a signed token an instance verifies by itself, for instances that cannot reach this server. "
            "It works until it expires, even if the key is revoked."
        </p>
        <ActionForm action=issue>
            <input type="hidden" name="id" value=id/>
            <div class="field">
                <label for="offline_days">"Valid for (days, 1 to 365)"</label>
                <input id="offline_days" name="days" type="number" min="1" max="365" value="30" required/>
            </div>
            <FormError result=Signal::derive(move || issue.value().get())/>
            <button type="submit" class="primary" disabled=move || issue.pending().get()>"Create offline license"</button>
            <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>"Cancel"</button>
        </ActionForm>
    }
}

/// The signed license, once: download or copy it before closing.
#[component]
fn OfflineReveal(license: IssuedOfflineLicenseDto, on_close: Callback<()>) -> impl IntoView {
    let saved = RwSignal::new(false);
    let jwt = StoredValue::new(license.jwt.clone());
    let close = close_when_saved(
        "offline-license",
        saved,
        "You have not downloaded or copied this offline license. It will never be shown again. Close anyway?",
        on_close,
    );
    let copy = move |_| {
        leptos::task::spawn_local(async move {
            saved.set(browser::copy_to_clipboard(&jwt.get_value()).await || saved.get_untracked());
        });
    };
    let download = format!("data:application/jwt;charset=utf-8,{}", license.jwt);
    view! {
        <p class="warning">
            <strong>"Download or copy this license now: it is shown only once."</strong>
            " It carries the plan " <strong>{license.plan}</strong> " and works until "
            <time datetime=license.expires_at.clone()>{short_date(&license.expires_at)}</time>
            ", without contacting this server."
        </p>
        <div class="key-box">
            <code class="license-jwt" data-testid="offline-jwt">{license.jwt}</code>
        </div>
        <p>
            <a class="button primary" href=download download="storno-offline-license.jwt" on:click=move |_| saved.set(true)>"Download offline license"</a>
            " "
            <button type="button" class="secondary" on:click=copy>{move || if saved.get() { "Saved" } else { "Copy" }}</button>
        </p>
        <button type="button" class="secondary" on:click=close>"I have saved it, close"</button>
    }
}
