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

    pub async fn copy_to_clipboard(text: &str) -> bool {
        match write_text(text) {
            Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise).await.is_ok(),
            Err(_) => false,
        }
    }

    pub fn confirm(message: &str) -> bool {
        web_sys::window()
            .and_then(|window| window.confirm_with_message(message).ok())
            .unwrap_or(false)
    }
}

#[cfg(feature = "hydrate")]
pub use js::{confirm, copy_to_clipboard};

#[cfg(not(feature = "hydrate"))]
pub async fn copy_to_clipboard(_text: &str) -> bool {
    false
}

#[cfg(not(feature = "hydrate"))]
pub fn confirm(_message: &str) -> bool {
    false
}
