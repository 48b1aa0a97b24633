//! Creating a key: for a member, and in one statement for an API token.

use super::super::key::{InstanceName, LicenseKey};
use super::super::CreatedLicenseKeyDto;
use super::*;
use crate::accounts::authorization::{Membership, TokenCredential};
use crate::accounts::service::AccountsService;
use crate::clock;
use crate::db::begin_write;
use crate::error::AppError;
use crate::idempotency::{IdempotencyKey, IdempotentRequest};
use crate::request_meta::RequestMeta;
use serde_json::json;
use std::fmt::Display;
use uuid::Uuid;

/// What `CREATE_WITH_TOKEN` returns: where the key went, and who made it.
#[derive(sqlx::FromRow)]
pub(super) struct CreatedByToken {
    pub(super) organization_id: String,
    pub(super) created_by: String,
}

/// A key creation as an API caller asks for it.
pub(crate) struct CreateRequest {
    pub(crate) instance_name: Option<InstanceName>,
    pub(crate) idempotency_key: Option<IdempotencyKey>,
}

/// A key about to be stored: drawn from the OS CSPRNG, named by a UUIDv7, stored
/// only as its HMAC and its mask.
pub(super) struct NewKey {
    pub(super) id: Uuid,
    pub(super) key: LicenseKey,
    pub(super) created_at: i64,
}

impl NewKey {
    pub(super) fn generate() -> Self {
        NewKey {
            id: Uuid::now_v7(),
            key: LicenseKey::generate(),
            created_at: clock::now(),
        }
    }

    /// The one answer that carries the key in full.
    pub(super) fn into_dto(self, instance_name: Option<String>) -> CreatedLicenseKeyDto {
        CreatedLicenseKeyDto {
            id: self.id.to_string(),
            license_key: self.key.into_string(),
            instance_name,
            active: true,
            created_at: clock::rfc3339(self.created_at),
            replaces: None,
        }
    }
}

pub(super) fn log_created(id: impl Display, organization_id: impl Display, user_id: impl Display) {
    tracing::info!(
        license_key_id = %id,
        organization_id = %organization_id,
        user_id = %user_id,
        "license key created"
    );
}

impl LicensingService {
    /// `create` for an API caller. The common case (a live token whose holder owns
    /// the organization, no `Idempotency-Key`) takes one statement; anything else
    /// resolves the caller's membership first, which answers 401, 403 or 404 before
    /// a bad `request` is judged.
    pub(crate) async fn create_for_token(
        &self,
        accounts: &AccountsService,
        credential: &TokenCredential,
        request: Result<CreateRequest, AppError>,
        meta: &RequestMeta,
    ) -> Result<CreatedLicenseKeyDto, AppError> {
        if let Ok(CreateRequest {
            instance_name,
            idempotency_key: None,
        }) = &request
        {
            let fast = self
                .create_with_token(credential, instance_name.clone(), meta)
                .await?;
            if let Some(created) = fast {
                return Ok(created);
            }
        }
        let actor = accounts.token_member(credential).await?;
        let request = request?;
        self.create(
            &actor,
            request.instance_name,
            meta,
            request.idempotency_key.as_ref(),
        )
        .await
    }

    /// `create` in one database round trip, if the token's holder owns the
    /// organization the credential names (see `CREATE_WITH_TOKEN`). `None`: nothing
    /// was written.
    pub(crate) async fn create_with_token(
        &self,
        credential: &TokenCredential,
        instance_name: Option<InstanceName>,
        meta: &RequestMeta,
    ) -> Result<Option<CreatedLicenseKeyDto>, AppError> {
        // The organization's creation rate, checked before when the organization
        // is known (named, or where this token created before), else counted after.
        let known = credential
            .requested
            .map(|id| id.to_string())
            .or_else(|| self.token_organizations.get(&credential.token_hash));
        if let Some(organization) = &known {
            self.limits.key_created(organization)?;
        }
        let new = NewKey::generate();
        let instance_name = instance_name.map(|n| n.as_str().to_string());
        // `fetch_all`: the statement runs to its end (and commits) before its row is read.
        let rows: Vec<CreatedByToken> = sqlx::query_as(CREATE_WITH_TOKEN)
            .bind(credential.token_hash.clone())
            .bind(new.created_at)
            .bind(
                credential
                    .requested
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
            )
            .bind(new.id.to_string())
            .bind(self.key_hash(new.key.expose()))
            .bind(new.key.masked())
            .bind(instance_name.clone())
            .bind(meta.ip.clone())
            .bind(meta.user_agent.clone())
            .fetch_all(&self.pool)
            .await?;
        let Some(created) = rows.into_iter().next() else {
            return Ok(None);
        };
        if known.is_none() {
            // Counted, though already made: the limit holds from the next one.
            let _ = self.limits.key_created(&created.organization_id);
        }
        if credential.requested.is_none() {
            self.token_organizations
                .remember(&credential.token_hash, &created.organization_id);
        }
        log_created(new.id, created.organization_id, created.created_by);
        Ok(Some(new.into_dto(instance_name)))
    }

    /// Creates a key for the actor's organization and returns it in full: the only
    /// time it is ever available. Only its HMAC and its masked form are stored.
    pub(crate) async fn create(
        &self,
        actor: &Membership,
        instance_name: Option<InstanceName>,
        meta: &RequestMeta,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Result<CreatedLicenseKeyDto, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        let idempotent = idempotency_key.map(|key| {
            self.idempotency.request(
                key,
                actor.user_id(),
                &format!("create a key in {}", actor.organization_id()),
                &json!({ "instanceName": instance_name.as_ref().map(InstanceName::as_str) }),
            )
        });
        // A replayed answer creates nothing, so only a creation counts.
        IdempotentRequest::once(idempotent.as_ref(), |request| async move {
            self.limits
                .key_created(&actor.organization_id().to_string())?;
            self.create_once(actor, instance_name, meta, request).await
        })
        .await
    }

    /// Creates the key; with `idempotent`, keeps the answer for replay in the same
    /// transaction.
    pub(super) async fn create_once(
        &self,
        actor: &Membership,
        instance_name: Option<InstanceName>,
        meta: &RequestMeta,
        idempotent: Option<&IdempotentRequest>,
    ) -> Result<CreatedLicenseKeyDto, AppError> {
        // The key's row is its own creation record (no separate audit event); a
        // transaction is needed only to keep an idempotent answer with it.
        let instance_name = instance_name.map(|n| n.as_str().to_string());
        let created = match idempotent {
            None => {
                self.insert_key(&self.pool, actor, instance_name, meta)
                    .await?
            }
            Some(request) => {
                let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
                let created = self
                    .insert_key(&mut *tx, actor, instance_name, meta)
                    .await?;
                request.save(&mut tx, &created).await?;
                tx.commit().await?;
                created
            }
        };
        log_created(&created.id, actor.organization_id(), actor.user_id());
        Ok(created)
    }

    pub(super) async fn insert_key<'e>(
        &self,
        executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
        actor: &Membership,
        instance_name: Option<String>,
        meta: &RequestMeta,
    ) -> Result<CreatedLicenseKeyDto, AppError> {
        let new = NewKey::generate();
        sqlx::query(
            "INSERT INTO license_keys \
             (id, organization_id, key_hash, masked_key, instance_name, created_by, created_at, \
              created_ip, created_user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(new.id.to_string())
        .bind(actor.organization_id().to_string())
        .bind(self.key_hash(new.key.expose()))
        .bind(new.key.masked())
        .bind(instance_name.clone())
        .bind(actor.user_id().to_string())
        .bind(new.created_at)
        .bind(meta.ip.clone())
        .bind(meta.user_agent.clone())
        .execute(executor)
        .await?;
        Ok(new.into_dto(instance_name))
    }
}
