//! The few browser APIs the pages use. On the server they do nothing: event
//! handlers only ever run in the browser.

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = ["navigator", "clipboard"], js_name = writeText, catch)]
        fn write_text(text: &str) -> Result<js_sys::Promise, JsValue>;
    }

    pub(crate) async fn copy_to_clipboard(text: &str) -> bool {
        match write_text(text) {
            Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise).await.is_ok(),
            Err(_) => false,
        }
    }

    pub(crate) fn confirm(message: &str) -> bool {
        web_sys::window()
            .and_then(|window| window.confirm_with_message(message).ok())
            .unwrap_or(false)
    }

    thread_local! {
        /// The secrets on screen that are not saved yet, by a name of the caller's.
        static UNSAVED: std::cell::RefCell<std::collections::BTreeSet<&'static str>> =
            Default::default();
    }

    /// While any secret is unsaved, leaving the page asks first: a reload or a
    /// closed tab through `beforeunload`, a link through a click handler that runs
    /// before the router's.
    pub(crate) fn guard_leaving(secret: &'static str, unsaved: bool) {
        install_guards();
        UNSAVED.with(|set| {
            let mut set = set.borrow_mut();
            if unsaved {
                set.insert(secret);
            } else {
                set.remove(secret);
            }
        });
    }

    fn anything_unsaved() -> bool {
        UNSAVED.with(|set| !set.borrow().is_empty())
    }

    fn install_guards() {
        thread_local!(static INSTALLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
        if INSTALLED.with(|installed| installed.replace(true)) {
            return;
        }
        let Some(window) = web_sys::window() else {
            return;
        };
        let on_unload = Closure::<dyn FnMut(web_sys::BeforeUnloadEvent)>::new(
            |event: web_sys::BeforeUnloadEvent| {
                if anything_unsaved() {
                    event.prevent_default();
                    event.set_return_value("unsaved");
                }
            },
        );
        let on_click = Closure::<dyn FnMut(web_sys::MouseEvent)>::new(
            |event: web_sys::MouseEvent| {
                let leaves = event
                    .target()
                    .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
                    .and_then(|element| element.closest("a[href]").ok().flatten())
                    .is_some_and(|link| link.get_attribute("download").is_none());
                if leaves
                && anything_unsaved()
                && !confirm("A secret on this page has not been saved and will never be shown again. Leave anyway?")
            {
                event.prevent_default();
                event.stop_immediate_propagation();
            }
            },
        );
        let _ = window
            .add_event_listener_with_callback("beforeunload", on_unload.as_ref().unchecked_ref());
        // Capture phase: before the router turns the click into a navigation.
        let _ = window.add_event_listener_with_callback_and_bool(
            "click",
            on_click.as_ref().unchecked_ref(),
            true,
        );
        // Listeners for the page's whole life.
        on_unload.forget();
        on_click.forget();
    }
}

#[cfg(feature = "hydrate")]
pub(crate) use js::{confirm, copy_to_clipboard, guard_leaving};

#[cfg(not(feature = "hydrate"))]
pub(crate) async fn copy_to_clipboard(_text: &str) -> bool {
    false
}

#[cfg(not(feature = "hydrate"))]
pub(crate) fn confirm(_message: &str) -> bool {
    false
}

#[cfg(not(feature = "hydrate"))]
pub(crate) fn guard_leaving(_secret: &'static str, _unsaved: bool) {}
