//! The masked list of keys, each with its state and actions.

use super::offline_panel::{OfflineLicenseList, OfflineLicensePanel, RevokeNotice};
use super::*;
use crate::browser;
use crate::components::{FormError, LoadError};
use crate::licensing::{KeyRow, KeyState, OfflineLicenseDto};
use crate::settled::settled;

/// The page of keys, with each key's actions.
#[component]
pub(super) fn KeyList(page: KeyPage) -> impl IntoView {
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

/// What a key's buttons act with.
#[derive(Clone, Copy)]
pub(super) struct KeyActionSet {
    pub(super) revoke: ServerAction<RevokeLicenseKey>,
    pub(super) rotate: ServerAction<RotateLicenseKey>,
    pub(super) offline_for: RwSignal<Option<OfflineTarget>>,
}

#[component]
pub(super) fn KeyTable(
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

pub(super) fn key_row(
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

/// Rotate and Revoke, each after the owner confirms what it does.
#[component]
pub(super) fn KeyActions(
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
