//! License keys: who may create, list, revoke and rotate them, how instances
//! validate them, and how they are stored. Both the JSON API and the page call
//! these functions, so they can never disagree.

use super::key::{InstanceName, LicenseKey};
use super::offline::OfflineSigner;
use super::plans::{InstanceMetrics, PlanFeatures};
use super::usage::DayUsage;
use super::{CreatedLicenseKeyDto, KeyActivity, KeyRow, KeyState, LicenseKeyDto, ValidationDto};
use crate::accounts::authorization::{Membership, TokenCredential};
use crate::accounts::service::AccountsService;
use crate::audit_trail::{record, AuditEvent};
use crate::clock;
use crate::config::{BillingLink, Settings};
use crate::db::{begin_write, Page, WriteQueue};
use crate::error::AppError;
use crate::idempotency::{IdempotencyKey, IdempotencyStore, IdempotentRequest};
use crate::parse::{is_disguising, stored_id};
use crate::rate_limit::RateLimits;
use crate::request_meta::RequestMeta;
use crate::secrets::Pepper;
use serde_json::json;
use sqlx::AnyPool;
use std::fmt::Display;
use std::sync::Arc;
use uuid::Uuid;

const KEY_PURPOSE: &str = "license-key";
const OWNER_ONLY: &str = "Only the organization owner can manage license keys";
pub const DEFAULT_GRACE_HOURS: i64 = 24;
/// Rotation grace is bounded: a leaked key must not live on for months.
pub const MAX_GRACE_HOURS: i64 = 24 * 30;

#[derive(Clone)]
pub struct LicensingService {
    pool: AnyPool,
    pepper: Pepper,
    limits: RateLimits,
    idempotency: IdempotencyStore,
    /// Signs offline licenses; `None` when the operator configured no key.
    offline: Option<Arc<OfflineSigner>>,
    policy: AnswerPolicy,
    writes: WriteQueue,
    written_days: usage::WrittenDays,
    pending_routines: usage::PendingRoutines,
    token_organizations: token_organizations::TokenOrganizations,
}

/// What the operator configured for answers: how long they hold, when a silent key
/// is overdue, where owners upgrade.
#[derive(Clone, Debug)]
pub struct AnswerPolicy {
    /// validate's `graceUntil` is this long after the answer.
    pub offline_grace_seconds: i64,
    /// A key is overdue after twice its plan's sync interval plus this.
    pub overdue_grace_seconds: i64,
    /// validate's `billingUrl`, and the plan refusal's.
    pub billing: BillingLink,
}

impl AnswerPolicy {
    pub fn of(settings: &Settings) -> Self {
        AnswerPolicy {
            offline_grace_seconds: settings.licensing.offline_grace_seconds,
            overdue_grace_seconds: settings.licensing.overdue_grace_seconds,
            billing: settings.billing_link(),
        }
    }
}

/// Create in one statement, the same on both engines (`create_with_token.sql`
/// says what it matches). Whatever it does not match takes the detailed path; the
/// test `authorization::the_one_statement_create_and_the_detailed_path_agree_on_every_case`
/// holds the two to the same answers.
const CREATE_WITH_TOKEN: &str = include_str!("create_with_token.sql");

/// One page of keys, newest first; `next_before` asks for the older ones.
pub struct KeyPage {
    pub keys: Vec<LicenseKeyRecord>,
    pub next_before: Option<String>,
    /// Whether the organization has offline licenses that still work (read with
    /// the keys; `false` when the page has none; `list_with_offline_licenses`).
    pub has_offline_licenses: bool,
}

/// A listed key with its organization's plan's features (JSON) and how many of its
/// organization's offline licenses still work, read together.
#[derive(sqlx::FromRow)]
struct ListedKey {
    #[sqlx(flatten)]
    key: LicenseKeyRecord,
    plan_features: String,
    unexpired_offline_licenses: i64,
}

/// The features (JSON) of the plan of organization `$1`.
const PLAN_FEATURES_SQL: &str =
    "SELECT p.features FROM organizations o JOIN plans p ON p.name = o.plan WHERE o.id = $1";

/// A plan's features as the plans table stores them (JSON).
fn parse_plan_features(stored: &str) -> Result<PlanFeatures, AppError> {
    serde_json::from_str(stored).map_err(|e| AppError::Internal(format!("plan features: {e}")))
}

/// The columns of a `LicenseKeyRecord`.
const KEY_COLUMNS: &str = "id, masked_key, instance_name, reported_instance_name, instance_url, \
     instance_metrics, last_violations, created_at, last_validated_at, activated_at, \
     revoked_at, expires_at, usage_day, usage_today";

/// A stored key as the service sees it: times in Unix seconds.
#[derive(sqlx::FromRow)]
pub struct LicenseKeyRecord {
    id: String,
    masked_key: String,
    instance_name: Option<String>,
    reported_instance_name: Option<String>,
    instance_url: Option<String>,
    instance_metrics: Option<String>,
    last_violations: Option<String>,
    created_at: i64,
    last_validated_at: Option<i64>,
    activated_at: Option<i64>,
    revoked_at: Option<i64>,
    expires_at: Option<i64>,
    usage_day: Option<i64>,
    usage_today: Option<String>,
    /// Silent for longer than this (seconds), an active key is overdue: twice its
    /// organization's plan's sync interval plus the operator's grace.
    #[sqlx(skip)]
    overdue_after: i64,
}

impl LicenseKeyRecord {
    fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|end| end > now)
    }

    pub fn to_dto(&self, now: i64) -> LicenseKeyDto {
        self.dto(now, &self.state(now))
    }

    fn dto(&self, now: i64, state: &KeyState) -> LicenseKeyDto {
        LicenseKeyDto {
            id: self.id.clone(),
            license_key: self.masked_key.clone(),
            instance_name: self.shown_instance_name(),
            instance_url: self.instance_url.clone(),
            active: self.is_active(now),
            last_validated_at: self.last_validated_at.map(clock::rfc3339),
            activated_at: self.activated_at.map(clock::rfc3339),
            created_at: clock::rfc3339(self.created_at),
            instance_metrics: self
                .instance_metrics
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok()),
            last_violations: self
                .last_violations
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok())
                .unwrap_or_default(),
            state: state.code().to_string(),
        }
    }

    /// Where the key is in its life, as of `now`.
    pub fn state(&self, now: i64) -> KeyState {
        match (self.revoked_at, self.expires_at) {
            (Some(_), _) => KeyState::Revoked,
            (None, Some(end)) if end <= now => KeyState::Revoked,
            (None, Some(end)) => KeyState::Rotating {
                until: clock::rfc3339(end),
            },
            (None, None) => match (self.last_validated_at, self.recent_instances(now)) {
                (None, _) => KeyState::NeverUsed,
                (Some(_), instances @ 2..) => KeyState::Shared { instances },
                (Some(last), _) if now - last > self.overdue_after => KeyState::Overdue,
                (Some(_), _) => KeyState::Active,
            },
        }
    }

    /// How many instances validated the key on its latest day of use, if that
    /// day is today or yesterday (UTC).
    fn recent_instances(&self, now: i64) -> usize {
        self.usage_day
            .filter(|&day| day >= day_of(now) - 1)
            .and(self.usage_today.as_deref())
            .and_then(|text| serde_json::from_str::<DayUsage>(text).ok())
            .map_or(0, |usage| usage.instances())
    }

    /// The owner's label wins; otherwise what the instance calls itself.
    fn shown_instance_name(&self) -> Option<String> {
        self.instance_name
            .clone()
            .or_else(|| self.reported_instance_name.clone())
    }

    /// How long before `now` the key last validated ("3 hours ago").
    fn last_validated(&self, now: i64) -> Option<String> {
        self.last_validated_at
            .map(|last| clock::relative(now - last))
    }

    /// How the key's own page describes its life, as of `now`.
    pub fn activity(&self, now: i64) -> KeyActivity {
        let state = self.state(now);
        KeyActivity {
            key: self.dto(now, &state),
            state,
            last_validated: self.last_validated(now),
        }
    }

    /// The key as a row of the License keys page, as of `now`.
    pub fn row(&self, now: i64) -> KeyRow {
        KeyRow {
            id: self.id.clone(),
            masked_key: self.masked_key.clone(),
            instance_name: self.shown_instance_name(),
            instance_url: self.instance_url.clone(),
            created_at: clock::rfc3339(self.created_at),
            state: self.state(now),
            last_validated: self.last_validated(now),
        }
    }
}

/// The columns of a `ValidationRow`, for a `WHERE` on `k` (the key) to follow.
macro_rules! validation_row_select {
    () => {
        "SELECT k.id, k.organization_id, k.revoked_at, k.expires_at, k.activated_at, \
                k.instance_url, o.name, o.plan, o.deactivated_at, o.current_period_end, \
                o.trial_ends_at, p.features AS plan_features, f.features AS free_features, \
                k.usage_day, k.usage_today, k.known_instance_urls \
         FROM license_keys k JOIN organizations o ON o.id = k.organization_id \
         JOIN plans p ON p.name = o.plan JOIN plans f ON f.name = 'free' "
    };
}

mod offline_licenses;
pub use offline_licenses::OfflineLicenseRecord;
use offline_licenses::STILL_WORKING_OFFLINE_LICENSES;
mod token_organizations;
mod usage;
pub use usage::{date_of, day_of, KeyUsage};

#[derive(sqlx::FromRow)]
struct ValidationRow {
    id: String,
    organization_id: String,
    revoked_at: Option<i64>,
    expires_at: Option<i64>,
    activated_at: Option<i64>,
    instance_url: Option<String>,
    name: String,
    plan: String,
    deactivated_at: Option<i64>,
    current_period_end: Option<i64>,
    trial_ends_at: Option<i64>,
    /// The organization's plan's features, and the `free` plan's for a lapsed period.
    plan_features: String,
    free_features: String,
    /// The key's day in progress (`usage_day`) and its rollup so far.
    usage_day: Option<i64>,
    usage_today: Option<String>,
    /// The instance URLs it reported lately (`KnownUrls`, JSON).
    known_instance_urls: Option<String>,
}

/// What `CREATE_WITH_TOKEN` returns: where the key went, and who made it.
#[derive(sqlx::FromRow)]
struct CreatedByToken {
    organization_id: String,
    created_by: String,
}

/// A key creation as an API caller asks for it.
pub struct CreateRequest {
    pub instance_name: Option<InstanceName>,
    pub idempotency_key: Option<IdempotencyKey>,
}

/// What a self-hosted instance sends; `license_key` is still unchecked text.
pub struct ValidationRequest {
    pub license_key: String,
    pub instance_name: Option<String>,
    pub instance_url: Option<String>,
    pub metrics: Option<InstanceMetrics>,
    /// Echoed in the answer, so a client can tell it is not a replay.
    pub nonce: Option<String>,
}

/// The most of an instance's name a validation keeps, in bytes (UTF-8).
pub const MAX_REPORTED_NAME_BYTES: usize = 255;
/// The most of an instance's URL a validation keeps, in bytes.
pub const MAX_REPORTED_URL_BYTES: usize = 512;

/// The longest start of `text` of at most `max_bytes` bytes that ends between
/// characters.
fn within_bytes(text: &str, max_bytes: usize) -> &str {
    let mut end = text.len().min(max_bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl ValidationRequest {
    /// Reads a validation body leniently, field by field: deployed clients of every
    /// version call this, so unknown fields are ignored and optional ones of the
    /// wrong type (or blank, or with control characters) dropped. Only a body that
    /// is not JSON at all is refused, as a missing key.
    pub fn from_json(body: &[u8]) -> Result<Self, AppError> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| AppError::BadRequest("licenseKey is required".into()))?;
        let text = |name: &str, max_bytes: usize| {
            value
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|text| !text.is_empty() && !text.chars().any(is_disguising))
                .map(|text| within_bytes(text, max_bytes).to_string())
        };
        Ok(ValidationRequest {
            // Checked for its exact shape by `validate`, as sent.
            license_key: value
                .get("licenseKey")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string(),
            instance_name: text("instanceName", MAX_REPORTED_NAME_BYTES),
            instance_url: text("instanceUrl", MAX_REPORTED_URL_BYTES),
            metrics: value.get("metrics").and_then(InstanceMetrics::from_json),
            // `null` is no nonce, as for the other optional fields.
            nonce: value
                .get("nonce")
                .filter(|nonce| !nonce.is_null())
                .map(parse_nonce)
                .transpose()?,
        })
    }
}

/// A key about to be stored: drawn from the OS CSPRNG, named by a UUIDv7, stored
/// only as its HMAC and its mask.
struct NewKey {
    id: Uuid,
    key: LicenseKey,
    created_at: i64,
}

impl NewKey {
    fn generate() -> Self {
        NewKey {
            id: Uuid::now_v7(),
            key: LicenseKey::generate(),
            created_at: clock::now(),
        }
    }

    /// The one answer that carries the key in full.
    fn into_dto(self, instance_name: Option<String>) -> CreatedLicenseKeyDto {
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

fn log_created(id: impl Display, organization_id: impl Display, user_id: impl Display) {
    tracing::info!(
        license_key_id = %id,
        organization_id = %organization_id,
        user_id = %user_id,
        "license key created"
    );
}

/// A nonce is new (no deployed client sends one), so it is checked, not dropped:
/// 1 to 128 visible ASCII characters.
fn parse_nonce(value: &serde_json::Value) -> Result<String, AppError> {
    value
        .as_str()
        .filter(|text| {
            (1..=128).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic())
        })
        .map(str::to_string)
        .ok_or_else(|| {
            AppError::BadRequest("nonce must be 1 to 128 visible ASCII characters".into())
        })
}

fn is_key_shaped(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl LicensingService {
    pub fn new(
        pool: AnyPool,
        writes: WriteQueue,
        pepper: Pepper,
        limits: RateLimits,
        idempotency: IdempotencyStore,
        offline: Option<OfflineSigner>,
        policy: AnswerPolicy,
    ) -> Self {
        LicensingService {
            pool,
            writes,
            written_days: Default::default(),
            pending_routines: Default::default(),
            token_organizations: Default::default(),
            pepper,
            limits,
            idempotency,
            offline: offline.map(Arc::new),
            policy,
        }
    }

    /// `create` for an API caller. The common case (a live token whose holder owns
    /// the organization, no `Idempotency-Key`) takes one statement; anything else
    /// resolves the caller's membership first, which answers 401, 403 or 404 before
    /// a bad `request` is judged.
    pub async fn create_for_token(
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
    pub async fn create_with_token(
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
    pub async fn create(
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
    async fn create_once(
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

    async fn insert_key<'e>(
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

    /// How a key is stored and looked up: its HMAC under the pepper.
    fn key_hash(&self, key: &str) -> String {
        self.pepper.digest(KEY_PURPOSE, key)
    }

    /// A page of the organization's keys, newest first, masked. Revoked keys stay
    /// listed.
    pub async fn list(&self, actor: &Membership, page: &Page) -> Result<KeyPage, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        // The index (organization_id, id) serves the order. The plan's features
        // (when a key is overdue) and whether any offline license still works (the
        // page reads them only then) come with each row, in the same round trip.
        let rows: Vec<ListedKey> = sqlx::query_as(&format!(
            "SELECT {KEY_COLUMNS}, ({PLAN_FEATURES_SQL}) AS plan_features, \
             (SELECT COUNT(*) FROM offline_licenses l WHERE {STILL_WORKING_OFFLINE_LICENSES}) \
             AS unexpired_offline_licenses \
             FROM license_keys \
             WHERE organization_id = $1 AND id < $3 ORDER BY id DESC LIMIT $4"
        ))
        .bind(actor.organization_id().to_string()) // $1
        .bind(clock::now()) // $2
        .bind(page.before()) // $3
        .bind(page.fetch()) // $4
        .fetch_all(&self.pool)
        .await?;
        let (overdue_after, has_offline_licenses) = match rows.first() {
            Some(row) => (
                self.overdue_after(&parse_plan_features(&row.plan_features)?),
                row.unexpired_offline_licenses > 0,
            ),
            None => (0, false),
        };
        let keys = rows
            .into_iter()
            .map(|row| LicenseKeyRecord {
                overdue_after,
                ..row.key
            })
            .collect();
        let (keys, next_before) = page.split(keys, |key| key.id.as_str());
        Ok(KeyPage {
            keys,
            next_before,
            has_offline_licenses,
        })
    }

    /// The features of the actor's organization's plan.
    async fn plan_features(&self, actor: &Membership) -> Result<PlanFeatures, AppError> {
        let features: String = sqlx::query_scalar(PLAN_FEATURES_SQL)
            .bind(actor.organization_id().to_string())
            .fetch_one(&self.pool)
            .await?;
        parse_plan_features(&features)
    }

    /// How long an active key on a plan with `features` may stay silent before it
    /// is overdue: twice the plan's sync interval plus the operator's grace.
    fn overdue_after(&self, features: &PlanFeatures) -> i64 {
        2 * features.sync_interval() + self.policy.overdue_grace_seconds
    }

    /// One of the organization's keys, masked.
    pub async fn get(
        &self,
        actor: &Membership,
        key_id: Uuid,
    ) -> Result<LicenseKeyRecord, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        let overdue_after = self.overdue_after(&self.plan_features(actor).await?);
        self.key_record(actor, key_id, overdue_after).await
    }

    /// One of the actor's organization's keys, judged overdue after `overdue_after`.
    async fn key_record(
        &self,
        actor: &Membership,
        key_id: Uuid,
        overdue_after: i64,
    ) -> Result<LicenseKeyRecord, AppError> {
        sqlx::query_as(&format!(
            "SELECT {KEY_COLUMNS} FROM license_keys WHERE id = $1 AND organization_id = $2"
        ))
        .bind(key_id.to_string())
        .bind(actor.organization_id().to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(AppError::LicenseKeyNotFound)
        .map(|mut key: LicenseKeyRecord| {
            key.overdue_after = overdue_after;
            key
        })
    }

    /// Revokes a key for good: it stays listed, inactive. Revoking twice is harmless.
    /// Its offline licenses cannot be recalled: they work until they expire.
    pub async fn revoke(
        &self,
        actor: &Membership,
        key_id: Uuid,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        actor.require_owner(OWNER_ONLY)?;
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let existing: Option<(Option<i64>,)> = sqlx::query_as(
            "SELECT revoked_at FROM license_keys WHERE id = $1 AND organization_id = $2",
        )
        .bind(key_id.to_string())
        .bind(actor.organization_id().to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let (revoked_at,) = existing.ok_or(AppError::LicenseKeyNotFound)?;
        match revoked_at {
            None => self.mark_revoked(tx, actor, key_id, meta).await,
            Some(_) => Ok(tx.rollback().await?),
        }
    }

    async fn mark_revoked(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        actor: &Membership,
        key_id: Uuid,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        sqlx::query("UPDATE license_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(clock::now())
            .bind(key_id.to_string())
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor.audit_event("license_key.revoked", key_id.to_string()),
            meta,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(license_key_id = %key_id, "license key revoked");
        Ok(())
    }

    /// Replaces a key: the new one is returned once; the old one keeps validating
    /// for `grace_hours` (0 = stops at once), then stops.
    pub async fn rotate(
        &self,
        actor: &Membership,
        key_id: Uuid,
        grace_hours: i64,
        meta: &RequestMeta,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Result<CreatedLicenseKeyDto, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        if !(0..=MAX_GRACE_HOURS).contains(&grace_hours) {
            return Err(AppError::Validation(format!(
                "gracePeriodHours must be between 0 and {MAX_GRACE_HOURS}"
            )));
        }
        let idempotent = idempotency_key.map(|key| {
            self.idempotency.request(
                key,
                actor.user_id(),
                &format!("rotate key {key_id} in {}", actor.organization_id()),
                &json!({ "gracePeriodHours": grace_hours }),
            )
        });
        IdempotentRequest::once(idempotent.as_ref(), |request| {
            self.rotate_once(actor, key_id, grace_hours, meta, request)
        })
        .await
    }

    /// Rotates the key; with `idempotent`, keeps the answer for replay in the same
    /// transaction.
    async fn rotate_once(
        &self,
        actor: &Membership,
        key_id: Uuid,
        grace_hours: i64,
        meta: &RequestMeta,
        idempotent: Option<&IdempotentRequest>,
    ) -> Result<CreatedLicenseKeyDto, AppError> {
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let existing: Option<RotatedKeyRow> = sqlx::query_as(
            "SELECT revoked_at, expires_at, instance_name FROM license_keys \
             WHERE id = $1 AND organization_id = $2",
        )
        .bind(key_id.to_string())
        .bind(actor.organization_id().to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let existing = existing.ok_or(AppError::LicenseKeyNotFound)?;
        if existing.revoked_at.is_some() || existing.expires_at.is_some() {
            return Err(AppError::LicenseKeyInactive);
        }
        let mut created = self
            .insert_key(&mut *tx, actor, existing.instance_name, meta)
            .await?;
        retire(&mut tx, key_id, &created.id, grace_hours).await?;
        record(
            &mut tx,
            actor
                .audit_event("license_key.rotated", key_id.to_string())
                .with_details(json!({"replacedBy": created.id, "gracePeriodHours": grace_hours})),
            meta,
        )
        .await?;
        created.replaces = Some(key_id.to_string());
        if let Some(request) = idempotent {
            request.save(&mut tx, &created).await?;
        }
        tx.commit().await?;
        tracing::info!(license_key_id = %key_id, replaced_by = %created.id, grace_hours, "license key rotated");
        Ok(created)
    }

    /// Checks a key for a self-hosted instance and records what it reported. The
    /// answer reflects the organization's plan and state right now; a plan without
    /// self-hosting is refused (as upstream does) after the visit is recorded.
    pub async fn validate(
        &self,
        request: ValidationRequest,
        meta: &RequestMeta,
    ) -> Result<ValidationDto, AppError> {
        if !is_key_shaped(&request.license_key) {
            return Err(AppError::BadRequest("licenseKey is required".into()));
        }
        let digest = self.key_hash(&request.license_key);
        self.limits.validate(meta.ip.as_deref(), &digest)?;
        let row = self
            .validation_row(&digest)
            .await?
            .ok_or(AppError::InvalidLicenseKey)?;
        let now = clock::now();
        let mut verdict = decide(&row, request.metrics.as_ref(), now)?;
        verdict.violations = self
            .record_validation(&row, &request, &verdict, now, meta)
            .await?;
        let billing_url = self.billing_url(meta);
        let verdict = verdict.require_self_hosting(&billing_url)?;
        let answer = Answer {
            now,
            billing_url: &billing_url,
            grace_seconds: self.policy.offline_grace_seconds,
            nonce: request.nonce,
        };
        Ok(verdict.into_dto(row, answer))
    }

    /// Where the owner of a key validated through `meta`'s request upgrades.
    fn billing_url(&self, meta: &RequestMeta) -> String {
        self.policy.billing.for_host(meta.host.as_deref())
    }

    /// The key with its organization, the organization's plan's features and the
    /// `free` plan's (for a lapsed period), in one query.
    async fn validation_row(&self, digest: &str) -> Result<Option<ValidationRow>, AppError> {
        Ok(
            sqlx::query_as(concat!(validation_row_select!(), "WHERE k.key_hash = $1"))
                .bind(digest)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

/// The key a rotation replaces, as it stands.
#[derive(sqlx::FromRow)]
struct RotatedKeyRow {
    revoked_at: Option<i64>,
    expires_at: Option<i64>,
    instance_name: Option<String>,
}

/// Marks `key_id` as replaced by `replacement`: it validates for `grace_hours`
/// more (0: stops at once). The condition makes a concurrent second rotation of
/// the same key fail.
async fn retire(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    key_id: Uuid,
    replacement: &str,
    grace_hours: i64,
) -> Result<(), AppError> {
    let now = clock::now();
    let (revoked_at, expires_at) = if grace_hours == 0 {
        (Some(now), None)
    } else {
        (None, Some(now + grace_hours * 3600))
    };
    let updated = sqlx::query(
        "UPDATE license_keys SET revoked_at = $1, expires_at = $2, replaced_by = $3 \
         WHERE id = $4 AND revoked_at IS NULL AND expires_at IS NULL",
    )
    .bind(revoked_at) // $1
    .bind(expires_at) // $2
    .bind(replacement) // $3
    .bind(key_id.to_string()) // $4
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(AppError::LicenseKeyInactive);
    }
    Ok(())
}

/// What a validation decided: the effective plan, its features and the reported
/// metrics above its limits.
#[derive(Debug, PartialEq)]
struct Verdict {
    plan: String,
    features: PlanFeatures,
    violations: Vec<String>,
    in_trial: bool,
}

/// What a valid answer says beyond the verdict: when it was given, where to
/// upgrade, how long it holds offline, and the client's nonce.
struct Answer<'a> {
    now: i64,
    billing_url: &'a str,
    grace_seconds: i64,
    nonce: Option<String>,
}

/// The answer to a validation, from the stored key and organization alone: a
/// revoked or expired key is invalid, an inactive organization refused; a lapsed
/// paid period falls back to the `free` plan unless a trial is running.
fn decide(
    row: &ValidationRow,
    metrics: Option<&InstanceMetrics>,
    now: i64,
) -> Result<Verdict, AppError> {
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|end| end <= now) {
        return Err(AppError::InvalidLicenseKey);
    }
    if row.deactivated_at.is_some() {
        return Err(AppError::OrganizationInactive);
    }
    let in_trial = row.trial_ends_at.is_some_and(|end| end > now);
    let lapsed = row.current_period_end.is_some_and(|end| end <= now) && !in_trial;
    let (plan, features) = if lapsed {
        ("free".to_string(), &row.free_features)
    } else {
        (row.plan.clone(), &row.plan_features)
    };
    let features: PlanFeatures = serde_json::from_str(features)
        .map_err(|e| AppError::Internal(format!("features of plan {plan}: {e}")))?;
    let violations = metrics
        .map(|metrics| features.violations(metrics))
        .unwrap_or_default();
    Ok(Verdict {
        plan,
        features,
        violations,
        in_trial,
    })
}

impl Verdict {
    /// A plan without `selfHostingLicense` cannot self-host: upstream's `403`,
    /// naming the plan and where to upgrade.
    fn require_self_hosting(self, billing_url: &str) -> Result<Verdict, AppError> {
        if self.features.self_hosting_license {
            Ok(self)
        } else {
            Err(AppError::SelfHostingNotIncluded {
                plan: self.plan,
                billing_url: billing_url.to_string(),
            })
        }
    }

    fn into_dto(self, row: ValidationRow, answer: Answer<'_>) -> ValidationDto {
        let Answer {
            now,
            billing_url,
            grace_seconds,
            nonce,
        } = answer;
        let trial_end = row.trial_ends_at.filter(|_| self.in_trial);
        ValidationDto {
            code: "valid",
            refresh_after: self.features.sync_interval(),
            grace_until: clock::rfc3339(now + grace_seconds),
            nonce,
            valid: true,
            plan: self.plan,
            features: self.features,
            organization_id: row.organization_id,
            organization_name: row.name,
            current_period_end: row.current_period_end.map(clock::rfc3339),
            trial_ends_at: trial_end.map(clock::rfc3339),
            trial_days_left: trial_end.map(|end| (end - now + 86_399) / 86_400),
            billing_url: billing_url.to_string(),
            violations: self.violations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_drops_an_instance_name_or_url_that_would_display_as_another() {
        for disguised in [
            "Prod\u{200B}",
            "Pro\u{202E}d",
            "\u{FEFF}Prod",
            "Pr\u{2060}od",
            "Prod\u{7}",
        ] {
            let body = json!({
                "licenseKey": "ab".repeat(32),
                "instanceName": disguised,
                "instanceUrl": format!("https://{disguised}.example"),
            });
            let request = ValidationRequest::from_json(body.to_string().as_bytes()).unwrap();
            assert_eq!(request.instance_name, None, "{disguised:?}");
            assert_eq!(request.instance_url, None, "{disguised:?}");
        }
        let plain = json!({"licenseKey": "ab".repeat(32), "instanceName": " Prod ", "instanceUrl": "https://prod.example"});
        let request = ValidationRequest::from_json(plain.to_string().as_bytes()).unwrap();
        assert_eq!(request.instance_name.as_deref(), Some("Prod"));
        assert_eq!(
            request.instance_url.as_deref(),
            Some("https://prod.example")
        );
    }

    proptest::proptest! {
        #[test]
        fn only_64_lowercase_hex_characters_are_key_shaped(text in "[0-9a-fA-Fg ]{0,70}") {
            let expected = text.len() == 64 && text.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
            proptest::prop_assert_eq!(is_key_shaped(&text), expected);
        }
    }

    fn record(
        last_validated_at: Option<i64>,
        revoked_at: Option<i64>,
        expires_at: Option<i64>,
    ) -> LicenseKeyRecord {
        LicenseKeyRecord {
            id: Uuid::now_v7().to_string(),
            masked_key: "a1b2c3d4...e5f6a1b2".into(),
            instance_name: None,
            reported_instance_name: Some("erp-1".into()),
            instance_url: None,
            instance_metrics: None,
            last_violations: None,
            created_at: 0,
            last_validated_at,
            activated_at: last_validated_at,
            revoked_at,
            expires_at,
            usage_day: None,
            usage_today: None,
            overdue_after: 2 * 3600 + 3600,
        }
    }

    fn features(max_users: i64) -> String {
        let mut features = serde_json::json!({
            "maxCompanies": 1, "maxUsersPerOrg": max_users, "maxInvoicesPerMonth": 0,
            "syncIntervalSeconds": 86400
        });
        for flag in [
            "autoSync",
            "mobileApp",
            "pdfGeneration",
            "signatureVerification",
            "apiAccess",
            "realtimeNotifications",
            "paymentLinks",
            "emailSending",
            "emailTemplates",
            "reports",
            "recurringInvoices",
            "importExport",
            "backupRestore",
            "bankStatements",
            "exchangeRates",
            "webhooks",
            "selfHostingLicense",
            "prioritySupport",
        ] {
            features[flag] = true.into();
        }
        features.to_string()
    }

    fn validation_row() -> ValidationRow {
        ValidationRow {
            id: "k".into(),
            organization_id: "o".into(),
            revoked_at: None,
            expires_at: None,
            activated_at: None,
            instance_url: None,
            name: "Acme".into(),
            plan: "business".into(),
            deactivated_at: None,
            current_period_end: None,
            trial_ends_at: None,
            plan_features: features(10),
            free_features: features(1),
            usage_day: None,
            usage_today: None,
            known_instance_urls: None,
        }
    }

    #[test]
    fn a_validation_is_decided_from_the_key_and_organization_alone() {
        let now = 1_000_000;
        let users = |n| InstanceMetrics {
            user_count: Some(n),
            ..Default::default()
        };
        let fine = decide(&validation_row(), Some(&users(10)), now).unwrap();
        assert_eq!((fine.plan.as_str(), fine.violations.len()), ("business", 0));
        let over = decide(&validation_row(), Some(&users(11)), now).unwrap();
        assert_eq!(over.violations.len(), 1);

        let lapsed = ValidationRow {
            current_period_end: Some(now),
            ..validation_row()
        };
        let verdict = decide(&lapsed, Some(&users(2)), now).unwrap();
        assert_eq!(verdict.plan, "free", "a lapsed period falls back to free");
        assert_eq!(verdict.features.max_users_per_org, 1);
        assert_eq!(verdict.violations.len(), 1);

        let in_trial = ValidationRow {
            trial_ends_at: Some(now + 86_400 * 3 - 10),
            ..lapsed
        };
        let verdict = decide(&in_trial, None, now).unwrap();
        assert_eq!(
            (verdict.plan.as_str(), verdict.in_trial),
            ("business", true)
        );
        let answer = Answer {
            now,
            billing_url: "https://lic.test/settings/billing",
            grace_seconds: 7 * 86_400,
            nonce: Some("n-1".into()),
        };
        let dto = verdict.into_dto(in_trial, answer);
        assert_eq!(dto.trial_days_left, Some(3));
        assert_eq!(dto.billing_url, "https://lic.test/settings/billing");
        assert_eq!((dto.code, dto.nonce.as_deref()), ("valid", Some("n-1")));
        assert_eq!(dto.refresh_after, 86_400, "the plan's sync interval");
        assert_eq!(dto.grace_until, clock::rfc3339(now + 7 * 86_400));
    }

    #[test]
    fn a_revoked_or_expired_key_is_invalid_and_an_inactive_organization_refused() {
        let now = 1_000_000;
        let inactive = ValidationRow {
            deactivated_at: Some(1),
            ..validation_row()
        };
        assert!(matches!(
            decide(&inactive, None, now),
            Err(AppError::OrganizationInactive)
        ));
        for invalid in [
            ValidationRow {
                revoked_at: Some(1),
                ..validation_row()
            },
            ValidationRow {
                expires_at: Some(now),
                ..validation_row()
            },
        ] {
            assert!(matches!(
                decide(&invalid, None, now),
                Err(AppError::InvalidLicenseKey)
            ));
        }
        let rotating = ValidationRow {
            expires_at: Some(now + 1),
            ..validation_row()
        };
        assert!(
            decide(&rotating, None, now).is_ok(),
            "a rotated key works until its grace ends"
        );
    }

    #[test]
    fn a_nonce_is_1_to_128_visible_ascii_characters() {
        for good in ["a", "n-1_x.Y~!", &"z".repeat(128)] {
            assert_eq!(parse_nonce(&json!(good)).unwrap(), good);
        }
        for bad in [
            json!(""),
            json!("has space"),
            json!("tab\t"),
            json!("é"),
            json!("z".repeat(129)),
            json!(5),
            json!([]),
        ] {
            assert!(
                matches!(parse_nonce(&bad), Err(AppError::BadRequest(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn activity_states_follow_the_keys_life() {
        let now = 1_000_000;
        assert_eq!(
            record(None, None, None).activity(now).state,
            KeyState::NeverUsed
        );
        assert_eq!(
            record(Some(now - 3600), None, None).activity(now).state,
            KeyState::Active
        );
        // Overdue after twice the sync interval plus the grace (3 hours here).
        assert_eq!(
            record(Some(now - 3 * 3600), None, None).state(now),
            KeyState::Active
        );
        assert_eq!(
            record(Some(now - 3 * 3600 - 1), None, None).state(now),
            KeyState::Overdue
        );
        let mut shared = record(Some(now), None, None);
        let mut usage = DayUsage::default();
        usage.record(Some("https://a"), [], vec![]);
        usage.record(Some("https://b"), [], vec![]);
        shared.usage_today = Some(serde_json::to_string(&usage).unwrap());
        shared.usage_day = Some(day_of(now) - 1);
        assert_eq!(shared.state(now), KeyState::Shared { instances: 2 });
        assert_eq!(shared.to_dto(now).state, "shared");
        shared.usage_day = Some(day_of(now) - 2);
        assert_eq!(
            shared.state(now),
            KeyState::Active,
            "shared days ago, not lately"
        );
        assert_eq!(
            record(Some(now), Some(now), None).activity(now).state,
            KeyState::Revoked
        );
        assert_eq!(
            record(Some(now), None, Some(now + 60)).activity(now).state,
            KeyState::Rotating {
                until: clock::rfc3339(now + 60)
            }
        );
        assert_eq!(
            record(Some(now), None, Some(now)).activity(now).state,
            KeyState::Revoked
        );
        let shown = record(Some(now - 7200), None, None).activity(now);
        assert_eq!(shown.last_validated.as_deref(), Some("2 hours ago"));
        assert_eq!(
            shown.key.instance_name.as_deref(),
            Some("erp-1"),
            "the reported name fills in"
        );
        assert!(!record(None, None, Some(now)).to_dto(now).active);
    }
}
