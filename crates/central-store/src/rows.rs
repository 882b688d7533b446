//! Row mapping shared by the backends: the column lists the queries select
//! and the mappers from a selected row to the crate's types, written once
//! over [`RowGet`], which both `rusqlite::Row` and `tokio_postgres::Row`
//! implement. Backends differ in SQL dialect and driver, not in how a user,
//! a device or a log entry is read back.

use uuid::Uuid;

use crate::dashboard::Session;
use crate::{
    AuditEntry, ChangeMeta, Device, FeedItem, Hash, Result, Role, StoreError, StoredDoc, User,
    hash_hex, heads_from_blob,
};

/// A value both drivers can read from a column.
pub(crate) trait Cell:
    rusqlite::types::FromSql + for<'a> tokio_postgres::types::FromSql<'a>
{
}

impl<T> Cell for T where T: rusqlite::types::FromSql + for<'a> tokio_postgres::types::FromSql<'a> {}

/// Read a selected row by column name.
pub(crate) trait RowGet {
    fn col<T: Cell>(&self, name: &str) -> Result<T>;
    /// By position (0-based), for computed columns.
    fn at<T: Cell>(&self, i: usize) -> Result<T>;
    /// A document id: TEXT in SQLite, UUID in PostgreSQL.
    fn doc_id(&self, name: &str) -> Result<Uuid>;
}

impl RowGet for rusqlite::Row<'_> {
    fn col<T: Cell>(&self, name: &str) -> Result<T> {
        Ok(self.get(name)?)
    }
    fn at<T: Cell>(&self, i: usize) -> Result<T> {
        Ok(self.get(i)?)
    }
    fn doc_id(&self, name: &str) -> Result<Uuid> {
        let s: String = self.get(name)?;
        Uuid::parse_str(&s).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

impl RowGet for tokio_postgres::Row {
    fn col<T: Cell>(&self, name: &str) -> Result<T> {
        Ok(self.try_get(name)?)
    }
    fn at<T: Cell>(&self, i: usize) -> Result<T> {
        Ok(self.try_get(i)?)
    }
    fn doc_id(&self, name: &str) -> Result<Uuid> {
        Ok(self.try_get(name)?)
    }
}

/// The columns [`user`] reads, from `users u`.
pub(crate) const USER_COLS: &str =
    "u.id, u.login, u.name, u.role, u.countries, u.active, u.created_at, u.language";

/// The columns [`device`] reads, from `devices d` (aliased so they can be
/// joined with [`USER_COLS`]).
pub(crate) const DEVICE_COLS: &str = "d.id AS d_id, d.user_id, d.label, d.created_at AS d_created,
  d.last_sync_at, d.revoked_at, d.feed_cursor, d.forms";

/// The columns [`session`] reads, from `sessions s`.
pub(crate) const SESSION_COLS: &str =
    "s.user_id AS s_user, s.csrf, s.created_at AS s_created, s.expires_at";

/// The columns [`audit_entry`] reads.
pub(crate) const AUDIT_COLS: &str = "at, actor, action, target, detail";

/// The columns [`change_meta`] reads, from `change_batches`.
pub(crate) const CHANGE_META_COLS: &str = "seq, hashes, source, received_at";

/// The columns [`stored_doc`] reads, from `documents`.
pub(crate) const DOC_COLS: &str = "owner, country, snapshot, version, epoch_seq";

pub(crate) fn user(r: &impl RowGet) -> Result<User> {
    let role: String = r.col("role")?;
    let countries: String = r.col("countries")?;
    Ok(User {
        id: r.col("id")?,
        login: r.col("login")?,
        name: r.col("name")?,
        role: Role::parse(&role).unwrap_or(Role::Employee),
        countries: countries
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        active: r.col("active")?,
        created_at: r.col("created_at")?,
        language: r.col("language")?,
    })
}

pub(crate) fn device(r: &impl RowGet) -> Result<Device> {
    Ok(Device {
        id: r.col("d_id")?,
        user_id: r.col("user_id")?,
        label: r.col("label")?,
        created_at: r.col("d_created")?,
        last_sync_at: r.col("last_sync_at")?,
        revoked: r.col::<Option<i64>>("revoked_at")?.is_some(),
        feed_cursor: r.col::<i64>("feed_cursor")?.max(0) as u64,
        forms: r.col("forms")?,
    })
}

/// A device joined with its user ([`DEVICE_COLS`], [`USER_COLS`]) and the
/// user's assignment (`a_place`, `a_team`; NULL without one).
pub(crate) fn device_auth(r: &impl RowGet) -> Result<crate::DeviceAuth> {
    let user = user(r)?;
    let assignment = match r.col::<Option<String>>("a_place")? {
        Some(place_code) => Some(crate::Assignment {
            user_id: user.id.clone(),
            place_code,
            team: r.col("a_team")?,
        }),
        None => None,
    };
    Ok(crate::DeviceAuth {
        device: device(r)?,
        user,
        assignment,
    })
}

pub(crate) fn session(r: &impl RowGet) -> Result<Session> {
    Ok(Session {
        user_id: r.col("s_user")?,
        csrf: r.col("csrf")?,
        created_at: r.col("s_created")?,
        expires_at: r.col("expires_at")?,
    })
}

pub(crate) fn audit_entry(r: &impl RowGet) -> Result<AuditEntry> {
    Ok(AuditEntry {
        at: r.col("at")?,
        actor: r.col("actor")?,
        action: r.col("action")?,
        target: r.col("target")?,
        detail: r.col("detail")?,
    })
}

/// The changes of one batch row, each with the batch's seq, source and time.
pub(crate) fn change_meta(r: &impl RowGet) -> Result<Vec<ChangeMeta>> {
    let seq = r.col::<i64>("seq")? as u64;
    let source: String = r.col("source")?;
    let received_at: i64 = r.col("received_at")?;
    let hashes = heads_from_blob(&r.col::<Vec<u8>>("hashes")?)?;
    Ok(hashes
        .iter()
        .map(|h| ChangeMeta {
            seq,
            hash: hash_hex(h),
            source: source.clone(),
            received_at,
        })
        .collect())
}

pub(crate) fn stored_doc(r: &impl RowGet, doc_id: Uuid) -> Result<StoredDoc> {
    Ok(StoredDoc {
        doc_id,
        owner: r.col("owner")?,
        country: r.col("country")?,
        snapshot: r.col("snapshot")?,
        version: r.col("version")?,
        epoch_seq: u64::try_from(r.col::<i64>("epoch_seq")?).unwrap_or(0),
    })
}

/// A document's server heads (`doc_id, heads` of `documents`).
pub(crate) fn doc_heads(r: &impl RowGet) -> Result<(Uuid, Vec<Hash>)> {
    Ok((
        r.doc_id("doc_id")?,
        heads_from_blob(&r.col::<Vec<u8>>("heads")?)?,
    ))
}

/// The changes of a `change_batches` row (`sizes, bytes`).
pub(crate) fn batch_changes(r: &impl RowGet) -> Result<Vec<Vec<u8>>> {
    let sizes: String = r.col("sizes")?;
    let bytes: Vec<u8> = r.col("bytes")?;
    crate::split_batch(&sizes, &bytes)
}

/// The changes of a feed row (`seq, doc_id, sizes, bytes` of
/// `change_batches`), each an item with the batch's seq.
pub(crate) fn feed_items(r: &impl RowGet) -> Result<Vec<FeedItem>> {
    let seq = r.col::<i64>("seq")? as u64;
    let doc_id = r.doc_id("doc_id")?;
    Ok(batch_changes(r)?
        .into_iter()
        .map(|bytes| FeedItem { seq, doc_id, bytes })
        .collect())
}

/// A stored form (`form_id, version, json`).
pub(crate) fn assignment(r: &impl RowGet) -> Result<crate::Assignment> {
    Ok(crate::Assignment {
        user_id: r.col("user_id")?,
        place_code: r.col("place_code")?,
        team: r.col("team")?,
    })
}

pub(crate) fn quota(r: &impl RowGet) -> Result<crate::Quota> {
    let t: i64 = r.col("target")?;
    Ok(crate::Quota {
        place_code: r.col("place_code")?,
        segment: r.col("segment")?,
        user_id: r.col("user_id")?,
        target: u32::try_from(t).map_err(|_| StoreError::Corrupt("quota target".into()))?,
    })
}

pub(crate) fn done_count(r: &impl RowGet) -> Result<crate::DoneCount> {
    let count = |c: &str| -> Result<u64> {
        let n: i64 = r.col(c)?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt("negative count".into()))
    };
    Ok(crate::DoneCount {
        place_code: r.col("place_code")?,
        segment: r.col("segment")?,
        created_by: r.col("created_by")?,
        count: count("n")?,
        flagged: count("flagged")?,
    })
}

/// One row of [`crate::fieldops::hours_sql`].
pub(crate) fn hour_count(r: &impl RowGet) -> Result<(u8, u64)> {
    let h: String = r.col("h")?;
    let n: i64 = r.col("n")?;
    Ok((
        h.parse()
            .map_err(|_| StoreError::Corrupt(format!("hour {h:?}")))?,
        u64::try_from(n).map_err(|_| StoreError::Corrupt("negative count".into()))?,
    ))
}

/// The columns [`place`] reads, from `places`, in [`crate::sql::UPSERT_PLACE`]'s order.
pub(crate) const PLACE_COLS: &str = "code, country, name, region, kind, setting, lat, lon";

pub(crate) fn place(r: &impl RowGet) -> Result<survey_model::Place> {
    Ok(survey_model::Place {
        code: r.col("code")?,
        country: r.col("country")?,
        name: r.col("name")?,
        region: r.col("region")?,
        kind: r.col("kind")?,
        setting: r.col("setting")?,
        lat: r.col("lat")?,
        lon: r.col("lon")?,
    })
}

/// A place list revision: `rows.last-change` (see [`crate::CentralStore::places_revision`]).
pub(crate) fn places_revision(r: &impl RowGet) -> Result<String> {
    Ok(format!("{}.{}", r.at::<i64>(0)?, r.at::<i64>(1)?))
}

pub(crate) fn form(r: &impl RowGet) -> Result<(String, u32, String)> {
    let v: i64 = r.col("version")?;
    Ok((
        r.col("form_id")?,
        u32::try_from(v).map_err(|_| StoreError::Corrupt("form version".into()))?,
        r.col("json")?,
    ))
}

/// The error of inserting a user: a unique violation means the login is taken.
pub(crate) fn login_taken(login: &str, e: StoreError) -> StoreError {
    match e {
        StoreError::Duplicate(_) => StoreError::Duplicate(format!("login {login}")),
        other => other,
    }
}

/// The outcome of an update of one user by id: `NotFound` when none matched.
pub(crate) fn user_updated(rows: u64, user_id: &str) -> Result<()> {
    if rows == 0 {
        return Err(StoreError::NotFound(format!("user {user_id}")));
    }
    Ok(())
}

/// The columns [`case`] reads, from `cases`, in [`crate::sql::INSERT_CASE`]'s order.
pub(crate) const CASE_COLS: &str = "id, interview_id, campaign, country, reason, status, owner, \
     root_cause, opened_at, opened_by, due_at, first_contact_at, resolved_at, closed_at, \
     resolution, satisfaction, updated_at, version, contact_erased_at";

pub(crate) fn case(r: &impl RowGet) -> Result<crate::Case> {
    Ok(crate::Case {
        id: r.col("id")?,
        interview_id: r.col("interview_id")?,
        campaign: r.col("campaign")?,
        country: r.col("country")?,
        reason: r.col("reason")?,
        status: r.col("status")?,
        owner: r.col("owner")?,
        root_cause: r.col("root_cause")?,
        opened_at: r.col("opened_at")?,
        opened_by: r.col("opened_by")?,
        due_at: r.col("due_at")?,
        first_contact_at: r.col("first_contact_at")?,
        resolved_at: r.col("resolved_at")?,
        closed_at: r.col("closed_at")?,
        resolution: r.col("resolution")?,
        satisfaction: r.col("satisfaction")?,
        updated_at: r.col("updated_at")?,
        version: r.col("version")?,
        contact_erased_at: r.col("contact_erased_at")?,
    })
}

pub(crate) fn case_note(r: &impl RowGet) -> Result<crate::CaseNote> {
    Ok(crate::CaseNote {
        case_id: r.col("case_id")?,
        at: r.col("at")?,
        author: r.col("author")?,
        text: r.col("text")?,
    })
}

pub(crate) fn service_level(r: &impl RowGet) -> Result<crate::ServiceLevel> {
    let hours = |c: &str| -> Result<u32> {
        let h: i64 = r.col(c)?;
        u32::try_from(h).map_err(|_| StoreError::Corrupt("service level hours".into()))
    };
    Ok(crate::ServiceLevel {
        country: r.col("country")?,
        first_contact_hours: hours("first_contact_hours")?,
        resolution_hours: hours("resolution_hours")?,
    })
}

pub(crate) fn webhook(r: &impl RowGet) -> Result<crate::webhooks::Webhook> {
    let events: String = r.col("events")?;
    Ok(crate::webhooks::Webhook {
        id: r.col("id")?,
        url: r.col("url")?,
        events: events
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
        allow_pii: r.col("allow_pii")?,
        active: r.col("active")?,
        description: r.col("description")?,
        created_by: r.col("created_by")?,
        created_at: r.col("created_at")?,
    })
}

pub(crate) fn delivery(r: &impl RowGet) -> Result<crate::webhooks::Delivery> {
    Ok(crate::webhooks::Delivery {
        id: r.col("id")?,
        hook_id: r.col("hook_id")?,
        event_id: r.col("event_id")?,
        kind: r.col("kind")?,
        subject: r.col("subject")?,
        state: r.col("state")?,
        attempts: r.col("attempts")?,
        next_at_ms: r.col("next_at_ms")?,
        last_status: r.col("last_status")?,
        last_error: r.col("last_error")?,
        delivered_ms: r.col("delivered_ms")?,
        created_ms: r.col("created_ms")?,
    })
}

pub(crate) fn attempt(r: &impl RowGet) -> Result<crate::webhooks::Attempt> {
    Ok(crate::webhooks::Attempt {
        delivery_id: r.col("delivery_id")?,
        at_ms: r.col("at_ms")?,
        status: r.col("status")?,
        error: r.col("error")?,
        duration_ms: r.col("duration_ms")?,
    })
}

pub(crate) fn delivery_job(r: &impl RowGet) -> Result<crate::webhooks::DeliveryJob> {
    Ok(crate::webhooks::DeliveryJob {
        delivery_id: r.col("id")?,
        hook_id: r.col("hook_id")?,
        url: r.col("url")?,
        secret: r.col("secret")?,
        allow_pii: r.col("allow_pii")?,
        attempts: r.col("attempts")?,
        created_ms: r.col("created_ms")?,
        event: crate::webhooks::Event {
            id: r.col("event_id")?,
            kind: r.col("kind")?,
            campaign: r.col("campaign")?,
            country: r.col("country")?,
            subject: r.col("subject")?,
            at: r.col("at")?,
            payload: r.col("payload")?,
        },
    })
}

/// The columns [`action`] reads.
pub(crate) const ACTION_COLS: &str = "id, campaign, country, title, description, root_causes, \
     themes, evidence, owner, due_date, status, expected_effect, created_by, created_at, \
     updated_at, version";

/// A JSON array of strings column.
fn strings(r: &impl RowGet, name: &str) -> Result<Vec<String>> {
    let s: String = r.col(name)?;
    serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))
}

pub(crate) fn action(r: &impl RowGet) -> Result<crate::ActionItem> {
    Ok(crate::ActionItem {
        id: r.col("id")?,
        campaign: r.col("campaign")?,
        country: r.col("country")?,
        title: r.col("title")?,
        description: r.col("description")?,
        root_causes: strings(r, "root_causes")?,
        themes: strings(r, "themes")?,
        evidence: strings(r, "evidence")?,
        owner: r.col("owner")?,
        due_date: r.col("due_date")?,
        status: r.col("status")?,
        expected_effect: r.col("expected_effect")?,
        created_by: r.col("created_by")?,
        created_at: r.col("created_at")?,
        updated_at: r.col("updated_at")?,
        version: r.col("version")?,
    })
}

pub(crate) fn action_note(r: &impl RowGet) -> Result<crate::ActionNote> {
    Ok(crate::ActionNote {
        action_id: r.col("action_id")?,
        at: r.col("at")?,
        author: r.col("author")?,
        text: r.col("text")?,
    })
}

pub(crate) fn codebook(r: &impl RowGet) -> Result<crate::StoredCodebook> {
    Ok(crate::StoredCodebook {
        campaign: r.col("campaign")?,
        codebook: r.col("codebook")?,
        version: r.col("version")?,
        updated_by: r.col("updated_by")?,
        updated_at: r.col("updated_at")?,
    })
}
