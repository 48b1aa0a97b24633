//! Session ids rest only as HMACs: the store sees `HMAC(pepper, id)` where the
//! browser holds `id`, so a copy of the sessions table opens no session.

use crate::secrets::Pepper;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

#[derive(Debug, Clone)]
pub struct DigestedIds<Store> {
    inner: Store,
    pepper: Pepper,
}

impl<Store: SessionStore> DigestedIds<Store> {
    pub fn new(inner: Store, pepper: Pepper) -> Self {
        DigestedIds { inner, pepper }
    }

    fn digest(&self, id: &Id) -> Id {
        let hex = self.pepper.digest("session-id", &id.to_string());
        Id(u128::from_str_radix(&hex[..32], 16).expect("a digest is hex") as i128)
    }

    fn digested(&self, record: &Record) -> Record {
        Record {
            id: self.digest(&record.id),
            ..record.clone()
        }
    }
}

#[async_trait::async_trait]
impl<Store: SessionStore + Clone> SessionStore for DigestedIds<Store> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let mut stored = self.digested(record);
            let wanted = stored.id;
            self.inner.create(&mut stored).await?;
            if stored.id == wanted {
                return Ok(());
            }
            // The store moved a colliding digest to a new id, which maps back to
            // no browser id: take that row out and start over under a fresh id.
            self.inner.delete(&stored.id).await?;
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.inner.save(&self.digested(record)).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        Ok(self
            .inner
            .load(&self.digest(id))
            .await?
            .map(|record| Record { id: *id, ..record }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.inner.delete(&self.digest(id)).await
    }
}
