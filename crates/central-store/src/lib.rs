//! central-store owns the server's durable state: the append-only log of
//! Automerge changes (unique by hash), the merged snapshot and flat projection of
//! every interview, users, devices, enrollment codes, API tokens, forms and the
//! audit log. It defines the [`CentralStore`] trait that backends implement
//! (SQLite, embedded; PostgreSQL, for several server replicas), the
//! backend-independent merge of pushed changes ([`merge::push`]), so every
//! backend applies the same rules, and the SQLite -> PostgreSQL copy
//! ([`transfer`]).
//!
//! Layout: each backend is a folder (`sqlite/`, `postgres/`) split by concern
//! (`identity`, `documents`, `interviews`, `dashboard`, `sessions`, `audit`,
//! `forms`, `transfer`; connections and migrations in `mod.rs`, the
//! migrations themselves as `.sql` files) and wired to the trait once by
//! `backend.rs`. What is not dialect-specific is written once here: the
//! projection's column table ([`columns`]), the row mappers (`rows.rs`), the
//! statements that differ only by placeholder (`sql.rs`), query building and
//! paging (`query.rs`) and the campaign aggregates (`campaign.rs`). Backend
//! modules depend on their `mod.rs` and these, never on each other.
//!
//! The API is blocking: the server calls it from `spawn_blocking`. It must not
//! parse HTTP, read configuration or the environment, or decide who may do
//! what beyond the ownership checks of a push: authorisation lives in the
//! sync-server's single policy function.

#[macro_use]
mod backend;
mod actions;
mod campaign;
pub mod cases;
pub mod columns;
pub mod dashboard;
pub mod fieldops;
pub mod merge;
pub mod postgres;
mod query;
pub mod reproject;
mod rows;
mod sql;
pub mod sqlite;
mod tables;
pub mod transfer;
pub mod webhooks;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use survey_model::InterviewRecord;
use uuid::Uuid;

pub use backend::FeedRequest;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// A 32-byte hash (change hash, or SHA-256 of a secret).
pub type Hash = [u8; 32];

/// Roles, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Coordinator,
    Employee,
    Analyst,
    /// Works follow-up cases (calls customers back) in its countries.
    Agent,
}

/// Every role.
pub const ROLES: [Role; 5] = [
    Role::Admin,
    Role::Coordinator,
    Role::Employee,
    Role::Analyst,
    Role::Agent,
];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::Employee => "employee",
            Role::Analyst => "analyst",
            Role::Agent => "agent",
        }
    }
    /// Whether accounts of this role may have enrolled devices (and so push
    /// interviews): only employees. Every path that issues codes, enrolls,
    /// syncs or pushes asks this.
    pub fn has_devices(self) -> bool {
        self == Role::Employee
    }
    pub fn parse(s: &str) -> Option<Role> {
        ROLES.into_iter().find(|r| r.as_str() == s)
    }
}

/// A person known to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    /// Login name (unique): staff id or e-mail.
    pub login: String,
    pub name: String,
    pub role: Role,
    /// Countries (ISO 3166 alpha-2) the user works in / may see.
    pub countries: Vec<String>,
    pub active: bool,
    pub created_at: i64,
    /// The dashboard language the user chose (`en`, `fr`, `ar`, `pt`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub countries: Vec<String>,
    /// argon2 PHC string, for dashboard logins.
    pub password_hash: Option<String>,
}

impl NewUser {
    /// The user this creates, once stored under `id` at `now`.
    pub fn to_user(&self, id: String, now: i64) -> User {
        User {
            id,
            login: self.login.clone(),
            name: self.name.clone(),
            role: self.role,
            countries: self.countries.clone(),
            active: true,
            created_at: now,
            language: None,
        }
    }
}

/// What a device token authenticates: the device, its user, and the
/// user's field assignment (read with them: a sync needs it, and on
/// PostgreSQL a query is a round trip).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuth {
    pub device: Device,
    pub user: User,
    pub assignment: Option<Assignment>,
}

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    pub user_id: String,
    pub label: String,
    pub created_at: i64,
    pub last_sync_at: Option<i64>,
    pub revoked: bool,
    /// The form versions the device reported holding at its last sync
    /// (`id@version,...`, the newest of each form; empty before any report).
    pub forms: String,
    /// The feed cursor last handed to this device (restore detection: a
    /// request below it gets the device's own changes too). Not shown.
    #[serde(skip)]
    pub feed_cursor: u64,
}

/// Where an employee works on the field day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub user_id: String,
    /// A code of the place list.
    pub place_code: String,
    /// Free text (e.g. "Équipe 3"); may be empty.
    #[serde(default)]
    pub team: String,
}

/// A follow-up case: one customer to call back or one complaint to resolve
/// (rules and statuses in `survey_model::cases`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// UUID.
    pub id: String,
    pub interview_id: String,
    pub campaign: String,
    pub country: String,
    /// `survey_model::cases::CaseReason` name.
    pub reason: String,
    /// `survey_model::cases::CaseStatus` name.
    pub status: String,
    /// The user working the case (an agent or a coordinator), if assigned.
    pub owner: Option<String>,
    /// The interview's first complaint root cause, for the service-level
    /// figures per root cause.
    pub root_cause: Option<String>,
    /// Unix seconds.
    pub opened_at: i64,
    /// `rule` or the user id that opened it by hand.
    pub opened_by: String,
    /// When the first contact is due (the country's service level).
    pub due_at: i64,
    pub first_contact_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// One of `survey_model::cases::RESOLUTIONS`.
    pub resolution: Option<String>,
    /// The customer's satisfaction after resolution, 1-5.
    pub satisfaction: Option<i64>,
    pub updated_at: i64,
    /// Bumped by every update (optimistic concurrency).
    pub version: i64,
    /// When the customer's contact details were erased from the interview
    /// (the case closed, plus the retention period).
    #[serde(default)]
    pub contact_erased_at: Option<i64>,
}

/// A campaign's theme codebook as stored: the JSON the `themes` crate
/// validates (the store does not read it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCodebook {
    pub campaign: String,
    pub codebook: String,
    pub version: i64,
    pub updated_by: String,
    pub updated_at: i64,
}

/// A hackathon action: what a country's team commits to do about root
/// causes (rules in `survey_model::actions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItem {
    /// UUID.
    pub id: String,
    pub campaign: String,
    pub country: String,
    pub title: String,
    pub description: String,
    /// Options of the root-cause question it addresses.
    pub root_causes: Vec<String>,
    /// Themes of the customers' words it addresses (free tags).
    pub themes: Vec<String>,
    /// Interview ids that are its evidence.
    pub evidence: Vec<String>,
    /// Who answers for it (a name or a team; not necessarily a user).
    pub owner: String,
    /// `YYYY-MM-DD`.
    pub due_date: Option<String>,
    /// `survey_model::actions::ActionStatus` name.
    pub status: String,
    /// What it should change in next year's figures.
    pub expected_effect: String,
    /// User id.
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every update (optimistic concurrency).
    pub version: i64,
}

/// A progress note on an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionNote {
    pub action_id: String,
    pub at: i64,
    /// User id.
    pub author: String,
    pub text: String,
}

/// A note on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseNote {
    pub case_id: String,
    pub at: i64,
    /// User id.
    pub author: String,
    pub text: String,
}

/// A country's service level for cases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLevel {
    pub country: String,
    /// Hours from opening to the first contact.
    pub first_contact_hours: u32,
    /// Hours from opening to the resolution.
    pub resolution_hours: u32,
}

/// Which cases to list (newest due first is never useful: by due date).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Empty: every country.
    pub countries: Vec<String>,
    pub status: Option<String>,
    pub owner: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// A quota target: how many interviews of `segment` a place (`user_id`
/// empty) or one employee at that place should bring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub place_code: String,
    pub segment: String,
    /// Empty: the place's target; else one employee's.
    #[serde(default)]
    pub user_id: String,
    pub target: u32,
}

/// Submitted interviews per (place code, segment, employee), as stored in the
/// projection (`segment` empty when unanswered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoneCount {
    pub place_code: String,
    pub segment: String,
    pub created_by: String,
    pub count: u64,
    /// Of those, interviews with at least one quality check firing.
    pub flagged: u64,
}

/// The merged state of one document, as stored.
#[derive(Debug, Clone)]
pub struct StoredDoc {
    pub doc_id: Uuid,
    pub owner: String,
    pub country: String,
    pub snapshot: Vec<u8>,
    /// Optimistic-concurrency version: bumped by every write.
    pub version: i64,
    /// The seq of the change that began the document's current history, if
    /// it was rewritten (personal data erased); 0 if never.
    pub epoch_seq: u64,
}

/// A change to append to the log.
#[derive(Debug, Clone)]
pub struct NewChange {
    pub hash: Hash,
    pub actor: Vec<u8>,
    pub bytes: Vec<u8>,
}

impl From<&survey_model::Change> for NewChange {
    fn from(c: &survey_model::Change) -> Self {
        NewChange {
            hash: c.hash().0,
            actor: c.actor_id().to_bytes().to_vec(),
            bytes: c.raw_bytes().to_vec(),
        }
    }
}

/// The interviews whose cross-interview checks a write refreshes: every
/// interview of `users` and every one with a phone key in `phones`;
/// `close_gap_s` is [`survey_model::CheckRules::close_gap_s`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CrossKeys {
    pub users: Vec<String>,
    pub phones: Vec<String>,
    pub close_gap_s: i64,
}

/// What a push derives from its writes, written in the same transaction:
/// the cross-interview checks to refresh and the cases its rules open (each
/// opened, with its `case.opened` event, only if the interview has none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Derived {
    pub cross: CrossKeys,
    pub cases: Vec<Case>,
}

/// Everything one merge writes for one document, in one transaction.
#[derive(Debug, Clone)]
pub struct DocWrite {
    pub doc_id: Uuid,
    pub owner: String,
    pub country: String,
    /// `None` for a new document; else the version the merge started from.
    pub expected_version: Option<i64>,
    pub changes: Vec<NewChange>,
    /// `changes` are exactly the snapshot's (a document new to the server,
    /// pushed whole as a snapshot): the change log keeps the snapshot as
    /// their batch ([`DOCUMENT_BATCH`]), split into changes only when read,
    /// and `changes` carry their hashes and actors (no bytes). Rebuilding
    /// each change from the document cost a tenth of a push's CPU.
    pub snapshot_holds_changes: bool,
    /// Who sent the changes: a device id, or `server:<user id>`.
    pub source: String,
    pub snapshot: Vec<u8>,
    pub heads: Vec<Hash>,
    pub record: InterviewRecord,
    /// Webhook events of this write, stored in its transaction.
    pub events: Vec<webhooks::Event>,
    /// The document's history is replaced: its stored changes are deleted
    /// and `changes` (the rewrite) begin the new one (`epoch_seq`).
    pub replaces_history: bool,
}

/// One change of the per-owner feed.
#[derive(Debug, Clone)]
pub struct FeedItem {
    pub seq: u64,
    pub doc_id: Uuid,
    pub bytes: Vec<u8>,
}

/// A page of the feed.
#[derive(Debug, Clone)]
pub struct FeedPage {
    pub items: Vec<FeedItem>,
    /// The cursor to resume from: every change at or below it was considered.
    pub cursor: u64,
    pub more: bool,
}

/// Filter for listing interviews (all fields optional; `countries` empty = all).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InterviewFilter {
    #[serde(default)]
    pub countries: Vec<String>,
    pub created_by: Option<String>,
    pub city: Option<String>,
    /// A place code of the place list (`other`: places typed by hand).
    pub place_code: Option<String>,
    pub segment: Option<String>,
    pub review_state: Option<String>,
    pub status: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// Only interviews changed after this log position (for `--since` exports).
    pub since_seq: Option<u64>,
    /// [`CentralStore::for_each_interview`] only: start after this interview
    /// id (keyset paging; other reads ignore it).
    #[serde(default)]
    pub after_id: Option<String>,
}

/// One entry of a document's change log (for edit history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeMeta {
    pub seq: u64,
    /// Hex change hash.
    pub hash: String,
    /// Device id, or `server:<user id>` for server-side edits.
    pub source: String,
    /// Unix seconds when the server stored it.
    pub received_at: i64,
}

/// Counts for health checks, metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    pub changes: u64,
    pub documents: u64,
    pub users: u64,
    pub devices: u64,
    pub max_seq: u64,
}

/// An audit-log entry (never holds secrets or answers).
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// Errors of a central store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(String),
    #[error("concurrent update of document {0}; retry")]
    Conflict(Uuid),
    #[error("{0} already exists")]
    Duplicate(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("enrollment code is invalid, used or expired")]
    InvalidCode,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(
        "the store's schema version {found} is newer than this server knows ({known}): \
         run the newer server, or restore a backup this version made"
    )]
    SchemaTooNew { found: i64, known: i64 },
}

/// Refuse a store migrated by a newer server: its tables may mean what this
/// code does not know.
pub(crate) fn check_schema(found: i64, known: usize) -> Result<()> {
    if found > known as i64 {
        return Err(StoreError::SchemaTooNew {
            found,
            known: known as i64,
        });
    }
    Ok(())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, msg)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Duplicate(msg.clone().unwrap_or_else(|| "row".into()))
            }
            _ => StoreError::Db(e.to_string()),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A central store backend. Implementations must make every `commit_docs`
/// atomic and durable before returning, keep change hashes unique, and only
/// report a feed cursor below which every change is committed.
pub trait CentralStore: Send + Sync + std::fmt::Debug {
    // --- identity -------------------------------------------------------
    fn create_user(&self, u: &NewUser, now: i64) -> Result<User>;
    fn user(&self, id: &str) -> Result<Option<User>>;
    /// The user with this login and their password hash.
    fn user_by_login(&self, login: &str) -> Result<Option<(User, Option<String>)>>;
    /// Users working in `country` (all users when `None`).
    fn list_users(&self, country: Option<&str>) -> Result<Vec<User>>;
    fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<()>;
    /// The dashboard language the user saved (`None`: none saved, or no such user).
    fn user_language(&self, user_id: &str) -> Result<Option<String>>;
    /// Save the user's dashboard language (`None` clears it); `NotFound` for
    /// an unknown user. The caller checks the code is one the dashboard speaks.
    fn set_user_language(&self, user_id: &str, language: Option<&str>) -> Result<()>;
    /// Store a (hashed) one-time enrollment code; replaces the user's previous one.
    fn add_enrollment_code(&self, user_id: &str, code_hash: &Hash, expires_at: i64) -> Result<()>;
    /// Atomically consume a code and register the device; returns its user.
    fn redeem_enrollment(
        &self,
        code_hash: &Hash,
        now: i64,
        device_id: &str,
        label: &str,
        token_hash: &Hash,
    ) -> Result<User>;
    /// The active device, its user and the user's assignment for a device
    /// token hash, in one query (every device request asks).
    fn device_by_token(&self, token_hash: &Hash) -> Result<Option<DeviceAuth>>;
    fn list_devices(&self, user_ids: Option<&[String]>) -> Result<Vec<Device>>;
    fn revoke_device(&self, device_id: &str, now: i64) -> Result<bool>;
    /// Record a sync of the device at `now` that handed it `feed_cursor`, and
    /// the form versions it reported holding (`None` keeps the last report).
    fn touch_device(
        &self,
        device_id: &str,
        now: i64,
        feed_cursor: u64,
        forms: Option<&str>,
    ) -> Result<()>;
    /// Whether changes by `actor` were stored from any source other than
    /// `source` (another device, or the server): the actor-clone check.
    fn actor_used_elsewhere(&self, actor: &[u8], source: &str) -> Result<bool>;
    /// Whether [`Self::commit_push`] itself refuses, as a
    /// [`StoreError::Conflict`], a push with a change whose actor another
    /// source wrote (the actor-clone check inside the commit, saving a round
    /// trip per sync), so the merge need not look the actors up first.
    fn actors_checked_at_commit(&self) -> bool;
    fn add_api_token(&self, user_id: &str, token_hash: &Hash, label: &str, now: i64) -> Result<()>;
    fn user_by_api_token(&self, token_hash: &Hash) -> Result<Option<User>>;
    fn audit(&self, e: &AuditEntry) -> Result<()>;
    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>>;

    // --- forms ----------------------------------------------------------
    fn put_form(&self, form_id: &str, version: u32, json: &str) -> Result<()>;
    /// Insert or change places by code, in one transaction (places are never
    /// deleted: interviews keep their codes). Returns how many rows changed;
    /// they get a new revision number, rows left as they were keep theirs.
    fn upsert_places(&self, places: &[survey_model::Place]) -> Result<usize>;
    /// Insert or change employees' assignments (by user), in one transaction;
    /// rows that change get a new revision number. Returns how many changed.
    fn upsert_assignments(&self, rows: &[Assignment]) -> Result<usize>;
    /// Every assignment, by user id.
    fn list_assignments(&self) -> Result<Vec<Assignment>>;
    /// One employee's assignment.
    fn assignment_of(&self, user_id: &str) -> Result<Option<Assignment>>;
    /// The quota targets of one place (the place's and its employees').
    fn quotas_at(&self, place_code: &str) -> Result<Vec<Quota>>;
    /// Insert or change quota targets (by place, segment, user), in one
    /// transaction. Returns how many changed.
    fn upsert_quotas(&self, rows: &[Quota]) -> Result<usize>;
    /// Every quota target, by place, segment, user.
    fn list_quotas(&self) -> Result<Vec<Quota>>;
    /// Submitted interviews with a place code, counted per place, segment
    /// and employee (the quota progress source).
    fn done_counts(&self) -> Result<Vec<DoneCount>>;
    /// Recompute the cross-interview checks (`cross_checks`, `cross_count`)
    /// of the interviews of `keys` ([`CrossKeys`]), from the committed table.
    fn refresh_cross_checks(&self, keys: &CrossKeys) -> Result<()>;
    /// The command centre's counts over the interviews matching `f`
    /// ([`fieldops::FieldTallies`]); `day` (`YYYY-MM-DD`) picks the day the
    /// hourly counts cover.
    fn field_tallies(&self, f: &InterviewFilter, day: &str) -> Result<fieldops::FieldTallies>;
    /// Open `case` unless its interview has one; `true` when inserted.
    fn open_case(&self, case: &Case) -> Result<bool>;
    fn case(&self, id: &str) -> Result<Option<Case>>;
    fn case_of_interview(&self, interview_id: &str) -> Result<Option<Case>>;
    /// Cases closed at or before `t` whose contact details are not erased
    /// yet (at most 500, oldest first).
    fn cases_to_erase(&self, t: i64) -> Result<Vec<Case>>;
    /// Cases matching `f`, by due date.
    fn list_cases(&self, f: &CaseFilter) -> Result<Vec<Case>>;
    /// Write `case` (its id) if its stored version is still `case.version`;
    /// the stored version becomes `case.version + 1`. `false` when another
    /// update came first.
    fn update_case(&self, case: &Case) -> Result<bool>;
    fn add_case_note(&self, note: &CaseNote) -> Result<()>;
    /// A case's notes, oldest first.
    fn case_notes(&self, case_id: &str) -> Result<Vec<CaseNote>>;
    /// Insert or change service levels (by country); how many changed.
    fn upsert_service_levels(&self, rows: &[ServiceLevel]) -> Result<usize>;
    fn list_service_levels(&self) -> Result<Vec<ServiceLevel>>;
    /// A new action (and its `action.updated` event).
    fn insert_action(&self, action: &ActionItem) -> Result<()>;
    /// Replace an action if it is still at `action.version` (then bumped,
    /// with an `action.updated` event); false if it moved meanwhile.
    fn update_action(&self, action: &ActionItem) -> Result<bool>;
    fn action(&self, id: &str) -> Result<Option<ActionItem>>;
    /// The actions of `countries` (empty: all), by country, then due date.
    fn list_actions(&self, countries: &[String]) -> Result<Vec<ActionItem>>;
    fn add_action_note(&self, note: &ActionNote) -> Result<()>;
    /// Oldest first.
    fn action_notes(&self, action_id: &str) -> Result<Vec<ActionNote>>;
    /// A campaign's stored theme codebook, if one was saved.
    fn codebook(&self, campaign: &str) -> Result<Option<StoredCodebook>>;
    /// Save a codebook if the stored one is still at `c.version` (0: none
    /// stored yet); the stored version becomes `c.version + 1`. False when
    /// another save came first.
    fn put_codebook(&self, c: &StoredCodebook) -> Result<bool>;
    /// Store events that no other write carries, with their deliveries.
    fn emit(&self, events: &[webhooks::Event]) -> Result<()>;
    /// Register a hook; `secret` signs its deliveries.
    fn create_webhook(&self, hook: &webhooks::Webhook, secret: &str) -> Result<()>;
    fn list_webhooks(&self) -> Result<Vec<webhooks::Webhook>>;
    fn webhook(&self, id: &str) -> Result<Option<webhooks::Webhook>>;
    /// Pause or resume a hook; false if there is none.
    fn set_webhook_active(&self, id: &str, active: bool) -> Result<bool>;
    /// Lease up to `limit` deliveries due at `now_ms` until `lease_until_ms`.
    fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
    ) -> Result<Vec<webhooks::DeliveryJob>>;
    /// Log an attempt and move its delivery on.
    fn finish_delivery(&self, attempt: &webhooks::Attempt, next: webhooks::Next) -> Result<()>;
    /// Queue a failed delivery again; false if it is not failed.
    fn retry_delivery(&self, delivery_id: i64, now_ms: i64) -> Result<bool>;
    /// A hook's delivery log, newest first.
    fn deliveries(
        &self,
        hook_id: &str,
        state: Option<&str>,
        limit: usize,
    ) -> Result<Vec<webhooks::Delivery>>;
    fn delivery_attempts(&self, delivery_id: i64) -> Result<Vec<webhooks::Attempt>>;
    /// One place by its code.
    fn place(&self, code: &str) -> Result<Option<survey_model::Place>>;
    /// Every place, by country then name.
    fn list_places(&self) -> Result<Vec<survey_model::Place>>;
    /// The revision of one country's places (`""`: all places): `rows.last`,
    /// which moves whenever a place of that country is added or changed.
    fn places_revision(&self, country: &str) -> Result<String>;
    /// Every stored form as (id, version, JSON).
    fn forms(&self) -> Result<Vec<(String, u32, String)>>;

    // --- documents ------------------------------------------------------
    fn load_doc(&self, id: Uuid) -> Result<Option<StoredDoc>>;
    /// The stored documents among `ids` (one round trip on PostgreSQL: a
    /// push loads all its documents at once), in no particular order.
    fn load_docs(&self, ids: &[Uuid]) -> Result<Vec<StoredDoc>>;
    /// Every change of a document, in log order.
    fn doc_changes(&self, id: Uuid) -> Result<Vec<Vec<u8>>>;
    /// Append changes and replace snapshots and projections, atomically for the
    /// whole batch; `Err(Conflict)` if any document moved since it was loaded.
    fn commit_docs(&self, writes: &[DocWrite]) -> Result<()>;
    /// [`Self::commit_docs`], and in the same transaction what the push
    /// derives: the cross-interview checks of `derived.cross`
    /// ([`Self::refresh_cross_checks`]) and the cases `derived.cases`
    /// ([`Self::open_case`]). Commits are serialised (SQLite's one writer,
    /// PostgreSQL's seq lock), so of two commits the later one sees the
    /// other's interviews and cases. With `then_feed`, also the feed read
    /// just after the commit ([`Self::feed`]; on PostgreSQL in the commit's
    /// round trip), returned when the commit succeeded.
    fn commit_push(
        &self,
        writes: &[DocWrite],
        derived: &Derived,
        then_feed: Option<&FeedRequest<'_>>,
    ) -> Result<Option<FeedPage>>;
    /// Changes after `after` on documents owned by `owner`, excluding those sent
    /// by `exclude_source`.
    fn feed(
        &self,
        owner: &str,
        exclude_source: &str,
        after: u64,
        max_changes: usize,
        max_bytes: usize,
    ) -> Result<FeedPage>;
    /// Server heads of a document (hex-free raw hashes).
    fn doc_heads(&self, id: Uuid) -> Result<Vec<Hash>>;
    fn interview(&self, id: Uuid) -> Result<Option<InterviewRecord>>;
    fn list_interviews(&self, f: &InterviewFilter) -> Result<Vec<InterviewRecord>>;
    fn count_interviews(&self, f: &InterviewFilter) -> Result<u64>;
    /// Visit every interview matching `f` (ignoring limit/offset) in `doc_id`
    /// order, streaming: memory stays flat whatever the count. Each record comes
    /// with the log position of its last change.
    fn for_each_interview(
        &self,
        f: &InterviewFilter,
        visit: &mut dyn FnMut(InterviewRecord, u64) -> Result<()>,
    ) -> Result<()>;
    /// The review tags on the interviews matching `f`, distinct and sorted
    /// (read inside the database: exports give each one a column).
    fn review_tags(&self, f: &InterviewFilter) -> Result<Vec<String>>;
    /// The change log of one document, oldest first.
    fn change_log(&self, id: Uuid) -> Result<Vec<ChangeMeta>>;
    fn stats(&self) -> Result<StoreStats>;
    /// The cheapest round trip to the database (`SELECT 1`), for health
    /// checks: no table is read.
    fn ping(&self) -> Result<()>;
    /// After erasures: make the database drop the bytes of deleted rows it
    /// can still hold (SQLite: checkpoint and truncate the WAL, with
    /// `secure_delete` on; PostgreSQL: vacuum the document tables).
    fn scrub_free_space(&self) -> Result<()>;

    // --- dashboard (defaults are correct but slow; backends override) ---
    /// Campaign progress and scores over the interviews matching `f`
    /// (limit/offset ignored).
    fn campaign_stats(&self, f: &InterviewFilter) -> Result<dashboard::CampaignStats> {
        dashboard::default_campaign_stats(self, f)
    }
    /// One page of the filtered review queue, newest first.
    fn review_queue(&self, q: &dashboard::ReviewQuery) -> Result<dashboard::ReviewPage> {
        dashboard::default_review_queue(self, q)
    }
    /// Store a dashboard session under the SHA-256 of its token; drops
    /// expired sessions. (No default: a backend without sessions must not
    /// compile and then lock every coordinator out.)
    fn create_session(&self, token_hash: &Hash, s: &dashboard::Session) -> Result<()>;
    /// The unexpired session and its active user.
    fn session(&self, token_hash: &Hash, now: i64) -> Result<Option<(dashboard::Session, User)>>;
    /// Delete a session (logout); `true` if it existed.
    fn delete_session(&self, token_hash: &Hash) -> Result<bool>;
}

/// The feed paging rule, for every backend. `rows` are the owner's changes
/// after `after` that were *not* sent by the calling device, in seq order,
/// the changes of one stored batch sharing its seq, from at most
/// `max_changes + 1` batches (the backend filters by source in SQL, so
/// the window is never used up by the caller's own changes); `top` is the
/// highest committed seq in the same snapshot. The cursor moves to the top
/// only when every remaining row fitted in the page; otherwise it stops at the
/// last batch handed out (whole: a page may pass its limits by the rest of
/// one batch), and `more` is set.
pub(crate) fn page_feed(
    rows: impl IntoIterator<Item = Result<FeedItem>>,
    after: u64,
    top: u64,
    max_changes: usize,
    max_bytes: usize,
) -> Result<FeedPage> {
    let mut items: Vec<FeedItem> = Vec::new();
    let mut bytes_total = 0usize;
    let mut more = false;
    for row in rows {
        let item = row?;
        // A page ends between two batches (a cursor names a whole batch), so
        // it may hold the rest of the batch it reached its limit in.
        let full = items.len() >= max_changes || bytes_total >= max_bytes;
        if full && items.last().is_none_or(|l| l.seq != item.seq) {
            more = true;
            break;
        }
        bytes_total += item.bytes.len();
        items.push(item);
    }
    let cursor = match (more, items.last()) {
        (true, Some(last)) => last.seq,
        // `max_changes` or `max_bytes` of zero: nothing handed out, stay put.
        (true, None) => after,
        (false, _) => top.max(after),
    };
    Ok(FeedPage {
        items,
        cursor,
        more,
    })
}

/// A batch of changes as the backends store it in `change_batches`.
pub(crate) struct BatchColumns<'a> {
    /// The 32-byte hashes end to end (like [`heads_blob`]).
    pub hashes: Vec<u8>,
    /// Each change's size in bytes, comma-separated; or [`DOCUMENT_BATCH`].
    pub sizes: Cow<'a, str>,
    /// The changes end to end; or an Automerge document holding exactly them.
    pub bytes: Cow<'a, [u8]>,
}

/// `change_batches.sizes` of a batch stored as the document that holds
/// exactly its changes ([`DocWrite::snapshot_holds_changes`]).
pub(crate) const DOCUMENT_BATCH: &str = "document";

/// The change-log row of `w`'s changes.
pub(crate) fn batch_columns(w: &DocWrite) -> BatchColumns<'_> {
    let hashes = w.changes.iter().flat_map(|c| c.hash).collect();
    if w.snapshot_holds_changes {
        return BatchColumns {
            hashes,
            sizes: Cow::Borrowed(DOCUMENT_BATCH),
            bytes: Cow::Borrowed(&w.snapshot),
        };
    }
    BatchColumns {
        hashes,
        sizes: Cow::Owned(
            w.changes
                .iter()
                .map(|c| c.bytes.len().to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        bytes: Cow::Owned(
            w.changes
                .iter()
                .flat_map(|c| c.bytes.iter().copied())
                .collect(),
        ),
    }
}

/// The distinct actors (as bytes) of `changes`, for the `actors` table.
pub(crate) fn distinct_actors(changes: &[NewChange]) -> Vec<&[u8]> {
    let mut a: Vec<&[u8]> = changes.iter().map(|c| c.actor.as_slice()).collect();
    a.sort_unstable();
    a.dedup();
    a
}

/// Feed rows (one batch each) as one stream of changes, an error ending it.
pub(crate) fn flatten_items(
    batches: impl IntoIterator<Item = Result<Vec<FeedItem>>>,
) -> impl Iterator<Item = Result<FeedItem>> {
    batches.into_iter().flat_map(|b| match b {
        Ok(items) => items.into_iter().map(Ok).collect::<Vec<_>>(),
        Err(e) => vec![Err(e)],
    })
}

/// The changes of a stored batch (the inverse of [`batch_columns`]), in
/// causal order; sizes that do not add up to the bytes, or a document batch
/// Automerge cannot load, are corrupt.
pub(crate) fn split_batch(sizes: &str, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    if sizes == DOCUMENT_BATCH {
        let mut doc = automerge::AutoCommit::load(bytes)
            .map_err(|e| StoreError::Corrupt(format!("change batch document: {e}")))?;
        return Ok(doc
            .get_changes(&[])
            .into_iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect());
    }
    let corrupt = || StoreError::Corrupt(format!("change batch sizes {sizes:?}"));
    let mut out = Vec::new();
    let mut rest = bytes;
    for s in sizes.split(',') {
        let n: usize = s.parse().map_err(|_| corrupt())?;
        if n > rest.len() {
            return Err(corrupt());
        }
        let (one, tail) = rest.split_at(n);
        out.push(one.to_vec());
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(corrupt());
    }
    Ok(out)
}

/// Document heads as stored by the backends: the 32-byte hashes concatenated.
pub(crate) fn heads_blob(h: &[Hash]) -> Vec<u8> {
    h.concat()
}

/// The inverse of [`heads_blob`]; a length that is not a multiple of 32 is corrupt.
pub(crate) fn heads_from_blob(b: &[u8]) -> Result<Vec<Hash>> {
    if !b.len().is_multiple_of(32) {
        return Err(StoreError::Corrupt("heads blob length".into()));
    }
    Ok(b.chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

/// A stored projection row as read by [`columns::record_expr`]: the
/// cross-interview checks (`,a,b,`, never a `{`), then the record JSON. The
/// cross checks join the record's own, in [`survey_model::checks::CHECKS`]
/// order.
pub(crate) fn record_from_json(s: &str) -> Result<InterviewRecord> {
    let start = s.find('{').unwrap_or(0);
    let (cross, json) = s.split_at(start);
    let mut r: InterviewRecord = serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("interview record: {e}")))?;
    let extra: Vec<survey_model::Check> = cross
        .split(',')
        .filter_map(survey_model::Check::parse)
        .filter(|c| !r.checks.contains(c))
        .collect();
    if !extra.is_empty() {
        r.checks.extend(extra);
        r.checks.sort_unstable();
    }
    Ok(r)
}

/// Lower-case hex of a hash, as shown in change logs.
pub(crate) fn hash_hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// Current Unix time in seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Milliseconds since the Unix epoch.
pub fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
