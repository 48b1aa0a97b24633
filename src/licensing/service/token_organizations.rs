//! Which organization each API token last created keys in. The one-statement
//! create (`create_with_token`) learns the organization only from its answer; with
//! this memory the organization's creation limit is checked before the next key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Clone, Default)]
pub(super) struct TokenOrganizations(Arc<Mutex<HashMap<String, String>>>);

impl TokenOrganizations {
    /// Tokens remembered at most; past that the memory starts over (each token's
    /// next create is then counted after it, as its first was).
    const MAX_TOKENS: usize = 10_000;

    pub(super) fn get(&self, token_hash: &str) -> Option<String> {
        self.lock().get(token_hash).cloned()
    }

    pub(super) fn remember(&self, token_hash: &str, organization: &str) {
        let mut tokens = self.lock();
        if tokens.len() >= Self::MAX_TOKENS && !tokens.contains_key(token_hash) {
            tokens.clear();
        }
        tokens.insert(token_hash.to_string(), organization.to_string());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_remembered_with_its_organization_and_the_memory_is_bounded() {
        let tokens = TokenOrganizations::default();
        assert_eq!(tokens.get("t"), None);
        tokens.remember("t", "org-a");
        tokens.remember("t", "org-b");
        assert_eq!(tokens.get("t").as_deref(), Some("org-b"));
        for n in 0..TokenOrganizations::MAX_TOKENS + 5 {
            tokens.remember(&format!("t{n}"), "org");
        }
        assert!(tokens.lock().len() <= TokenOrganizations::MAX_TOKENS);
    }
}
