//! The one-time reveal of a new key: the full key, a copy button and the warning
//! that it is shown once.

use super::*;
use crate::browser;
use crate::licensing::CreatedLicenseKeyDto;

/// The one key to reveal: the newest that a create or a rotation returned, or
/// the one a form posted without JavaScript left in the session.
#[component]
pub(super) fn Reveals(
    create: ServerAction<CreateLicenseKey>,
    rotate: ServerAction<RotateLicenseKey>,
    stashed: Option<StashedKey>,
    keys: Resource<Result<KeyListPage, PageError>>,
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
    // The list's latest answer, read as it stands: a panel appears only after the
    // page has its list (a create in the browser, or the no-JavaScript view below,
    // which waits for it).
    let refused = Signal::derive(move || {
        keys.get()
            .and_then(Result::ok)
            .is_some_and(|list| !list.self_hosting)
    });
    view! {
        <div aria-live="polite">
            {move || revealed.get().map(|created| view! { <RevealPanel created on_close=close refused/> })}
            {stashed.map(|stashed| move || Suspend::new(async move {
                let created = stashed.await.ok().flatten();
                let refused = Signal::stored(keys.await.is_ok_and(|list| !list.self_hosting));
                move || {
                    created
                        .clone()
                        .filter(|_| revealed.get().is_none() && !stash_closed.get())
                        .map(|created| view! { <RevealPanel created on_close=close refused/> })
                }
            }))}
        </div>
    }
}

#[component]
pub(super) fn RevealPanel(
    created: CreatedLicenseKeyDto,
    on_close: Callback<()>,
    /// Whether the organization's plan lacks self-hosting (said again here).
    refused: Signal<bool>,
) -> impl IntoView {
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
            {move || refused.get().then(|| view! { <SelfHostingWarning/> })}
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
