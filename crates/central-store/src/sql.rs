//! Statements that are the same in both dialects but for the placeholder
//! style, written once with SQLite's `?N`; [`Stmt::pg`] gives PostgreSQL's
//! `$N` spelling. Booleans are tested bare (`AND u.active`), which both
//! dialects read the same way.

use std::sync::LazyLock;

use crate::rows::{
    ACTION_COLS, AUDIT_COLS, CASE_COLS, CHANGE_META_COLS, DEVICE_COLS, DOC_COLS, PLACE_COLS,
    SESSION_COLS, USER_COLS,
};
use crate::webhooks::{DELIVERY_COLS, WEBHOOK_COLS};

/// One statement in both spellings, built on first use.
pub(crate) struct Stmt(LazyLock<[String; 2]>);

impl Stmt {
    pub(crate) fn sqlite(&self) -> &str {
        &self.0[0]
    }
    pub(crate) fn pg(&self) -> &str {
        &self.0[1]
    }
}

/// `?N` placeholders as `$N`. Statements here hold no `?` of their own.
fn dollar(sql: &str) -> String {
    sql.replace('?', "$")
}

macro_rules! stmt {
    ($(#[$doc:meta])* $name:ident = $($fmt:tt)*) => {
        $(#[$doc])*
        pub(crate) static $name: Stmt = Stmt(LazyLock::new(|| {
            let s = format!($($fmt)*);
            let pg = dollar(&s);
            [s, pg]
        }));
    };
}

stmt!(USER_BY_ID = "SELECT {USER_COLS} FROM users u WHERE u.id = ?1");
stmt!(ACTIVE_USER_BY_ID = "SELECT {USER_COLS} FROM users u WHERE u.id = ?1 AND u.active");
stmt!(USER_BY_LOGIN = "SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.login = ?1");
stmt!(SET_PASSWORD = "UPDATE users SET password_hash = ?2 WHERE id = ?1");
stmt!(USER_LANGUAGE = "SELECT language FROM users WHERE id = ?1");
stmt!(SET_USER_LANGUAGE = "UPDATE users SET language = ?2 WHERE id = ?1");
stmt!(DROP_OPEN_CODES = "DELETE FROM enrollment_codes WHERE user_id = ?1 AND used_at IS NULL");
stmt!(
    INSERT_CODE =
        "INSERT INTO enrollment_codes(code_hash, user_id, expires_at) VALUES (?1, ?2, ?3)"
);
stmt!(
    /// Consume a code: the row lock of the UPDATE makes a second redeemer
    /// wait, then see `used_at` set and match nothing.
    USE_CODE = "UPDATE enrollment_codes SET used_at = ?2
     WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2 RETURNING user_id"
);
stmt!(
    INSERT_DEVICE = "INSERT INTO devices(id, user_id, label, token_hash, created_at)
     VALUES (?1, ?2, ?3, ?4, ?5)"
);
stmt!(
    DEVICE_BY_TOKEN = "SELECT {DEVICE_COLS}, {USER_COLS}, a.place_code AS a_place, a.team AS a_team
     FROM devices d JOIN users u ON u.id = d.user_id
     LEFT JOIN assignments a ON a.user_id = d.user_id
     WHERE d.token_hash = ?1 AND d.revoked_at IS NULL AND u.active"
);
stmt!(REVOKE_DEVICE = "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL");
stmt!(
    TOUCH_DEVICE = "UPDATE devices SET last_sync_at = ?2, feed_cursor = ?3, forms = COALESCE(?4, forms) WHERE id = ?1"
);
stmt!(
    INSERT_API_TOKEN =
        "INSERT INTO api_tokens(token_hash, user_id, label, created_at) VALUES (?1, ?2, ?3, ?4)"
);
stmt!(
    USER_BY_API_TOKEN = "SELECT {USER_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id
     WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND u.active"
);
stmt!(
    INSERT_AUDIT =
        "INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)"
);
stmt!(AUDIT_LOG = "SELECT {AUDIT_COLS} FROM audit_log ORDER BY id DESC LIMIT ?1");
stmt!(DROP_EXPIRED_SESSIONS = "DELETE FROM sessions WHERE expires_at <= ?1");
stmt!(
    INSERT_SESSION = "INSERT INTO sessions(token_hash, user_id, csrf, created_at, expires_at)
     VALUES (?1, ?2, ?3, ?4, ?5)"
);
stmt!(
    SESSION_BY_TOKEN =
        "SELECT {SESSION_COLS}, {USER_COLS} FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.active"
);
stmt!(DELETE_SESSION = "DELETE FROM sessions WHERE token_hash = ?1");
stmt!(
    ACTOR_USED_ELSEWHERE = "SELECT EXISTS(SELECT 1 FROM actors WHERE actor = ?1 AND source <> ?2)"
);
stmt!(
    INTERVIEW = "SELECT {} FROM interviews WHERE doc_id = ?1",
    crate::columns::record_expr("")
);
stmt!(LOAD_DOC = "SELECT {DOC_COLS} FROM documents WHERE doc_id = ?1");
stmt!(CHANGE_LOG = "SELECT {CHANGE_META_COLS} FROM change_batches WHERE doc_id = ?1 ORDER BY seq");
stmt!(
    /// Record that `source` writes with an Automerge actor.
    INSERT_ACTOR = "INSERT INTO actors(actor, source) VALUES (?1, ?2) ON CONFLICT DO NOTHING"
);
stmt!(
    /// A document's stored changes, batch by batch.
    DOC_CHANGES = "SELECT sizes, bytes FROM change_batches WHERE doc_id = ?1 ORDER BY seq"
);
stmt!(
    /// The change log's high-water mark.
    MAX_SEQ = "SELECT COALESCE(MAX(seq), 0) FROM change_batches"
);
stmt!(
    /// The owner's change batches after a seq not sent by the caller, one
    /// more than a page holds changes (see [`crate::page_feed`]).
    FEED = "SELECT seq, doc_id, sizes, bytes FROM change_batches
     WHERE owner = ?1 AND seq > ?2 AND source <> ?3 ORDER BY seq LIMIT ?4"
);

stmt!(
    /// Insert or change a place; a row left as it was keeps its `rev`.
    UPSERT_PLACE = "INSERT INTO places({PLACE_COLS}, rev) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
     ON CONFLICT(code) DO UPDATE SET country = excluded.country, name = excluded.name,
       region = excluded.region, kind = excluded.kind, setting = excluded.setting,
       lat = excluded.lat, lon = excluded.lon, rev = excluded.rev
     WHERE places.country IS DISTINCT FROM excluded.country
        OR places.name IS DISTINCT FROM excluded.name
        OR places.region IS DISTINCT FROM excluded.region
        OR places.kind IS DISTINCT FROM excluded.kind
        OR places.setting IS DISTINCT FROM excluded.setting
        OR places.lat IS DISTINCT FROM excluded.lat
        OR places.lon IS DISTINCT FROM excluded.lon"
);
stmt!(PLACES_MAX_REV = "SELECT COALESCE(MAX(rev), 0) FROM places");
stmt!(LIST_PLACES = "SELECT {PLACE_COLS} FROM places ORDER BY country, name, code");
stmt!(PLACE_BY_CODE = "SELECT {PLACE_COLS} FROM places WHERE code = ?1");
stmt!(
    /// What a device's copy of its country's places is compared with.
    PLACES_REVISION = "SELECT COUNT(*), COALESCE(MAX(rev), 0) FROM places WHERE country = ?1 OR ?1 = ''"
);

stmt!(
    /// Assign an employee; a row left as it was keeps its `rev`.
    UPSERT_ASSIGNMENT = "INSERT INTO assignments(user_id, place_code, team, rev) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT(user_id) DO UPDATE SET place_code = excluded.place_code, team = excluded.team,
       rev = excluded.rev
     WHERE assignments.place_code IS DISTINCT FROM excluded.place_code
        OR assignments.team IS DISTINCT FROM excluded.team"
);
stmt!(ASSIGNMENTS_MAX_REV = "SELECT COALESCE(MAX(rev), 0) FROM assignments");
stmt!(LIST_ASSIGNMENTS = "SELECT user_id, place_code, team FROM assignments ORDER BY user_id");
stmt!(
    UPSERT_QUOTA =
        "INSERT INTO quotas(place_code, segment, user_id, target) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT(place_code, segment, user_id) DO UPDATE SET target = excluded.target
     WHERE quotas.target <> excluded.target"
);
stmt!(
    LIST_QUOTAS = "SELECT place_code, segment, user_id, target FROM quotas ORDER BY place_code, segment, user_id"
);
stmt!(
    /// Consent is not asked here: a submitted interview has it (submit needs
    /// every required answer, and without consent nothing else is shown).
    DONE_COUNTS = "SELECT {} FROM interviews WHERE status = 'submitted' AND place_code IS NOT NULL
     GROUP BY place_code, COALESCE(segment, ''), created_by",
    crate::fieldops::TALLY_COLS
);
stmt!(ASSIGNMENT_OF = "SELECT user_id, place_code, team FROM assignments WHERE user_id = ?1");
stmt!(
    QUOTAS_AT = "SELECT place_code, segment, user_id, target FROM quotas WHERE place_code = ?1
     ORDER BY segment, user_id"
);

/// The cross-interview checks of one row, from the committed table:
/// `close_together` when another interview of the same employee was
/// submitted within ?2 seconds (device clock), `duplicate_phone` when
/// another interview has the same phone key. A row is written only when its
/// checks change: most refreshes change nothing, and rewriting a row costs
/// a WAL frame on SQLite and a new row version with every index entry on
/// PostgreSQL (the condition repeats the value: a join with the computed
/// values plans as a scan of the table on PostgreSQL). `{which}` selects
/// the rows.
const CROSS_UPDATE: &str = "UPDATE interviews SET cross_checks = {checks},
       cross_count = CASE WHEN {close} THEN 1 ELSE 0 END + CASE WHEN {dup} THEN 1 ELSE 0 END
     WHERE ({which}) AND cross_checks <> {checks}";
const CROSS_CHECKS: &str = "',' ||
       CASE WHEN {close} THEN 'close_together,' ELSE '' END ||
       CASE WHEN {dup} THEN 'duplicate_phone,' ELSE '' END";
const CROSS_CLOSE: &str = "(interviews.submitted_dev IS NOT NULL AND EXISTS (
       SELECT 1 FROM interviews j WHERE j.created_by = interviews.created_by
       AND j.doc_id <> interviews.doc_id
       AND j.submitted_dev BETWEEN interviews.submitted_dev - ?2 AND interviews.submitted_dev + ?2))";
const CROSS_DUP: &str = "(interviews.phone_key IS NOT NULL AND EXISTS (
       SELECT 1 FROM interviews j WHERE j.phone_key = interviews.phone_key
       AND j.doc_id <> interviews.doc_id))";

fn cross_update(which: &str) -> String {
    CROSS_UPDATE
        .replace("{checks}", CROSS_CHECKS)
        .replace("{close}", CROSS_CLOSE)
        .replace("{dup}", CROSS_DUP)
        .replace("{which}", which)
}

stmt!(
    /// Refresh the cross checks of one employee's interviews (?1 the
    /// employee, ?2 the close-together gap in seconds).
    CROSS_BY_USER = "{}",
    cross_update("created_by = ?1")
);
stmt!(
    /// Refresh the cross checks of the interviews with phone key ?1 (?2 as above).
    CROSS_BY_PHONE = "{}",
    cross_update("phone_key = ?1")
);
stmt!(
    /// Refresh the cross checks of the interviews of any employee in the
    /// array ?1 or with any phone key in the array ?3 (?2 as above): one
    /// statement on PostgreSQL, where round trips are the cost.
    CROSS_BY_USERS_OR_PHONES = "{}",
    cross_update("created_by = ANY(?1) OR phone_key = ANY(?3)")
);

stmt!(
    /// A new case (columns as [`CASE_COLS`]); nothing when the interview has one.
    INSERT_CASE = "INSERT INTO cases({CASE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,
     ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) ON CONFLICT(interview_id) DO NOTHING"
);
stmt!(CASE_BY_ID = "SELECT {CASE_COLS} FROM cases WHERE id = ?1");
stmt!(
    /// Closed at or before ?1 with the contact details still there.
    CASES_TO_ERASE = "SELECT {CASE_COLS} FROM cases
     WHERE closed_at IS NOT NULL AND closed_at <= ?1 AND contact_erased_at IS NULL
     ORDER BY closed_at, id LIMIT 500"
);
stmt!(CASE_OF_INTERVIEW = "SELECT {CASE_COLS} FROM cases WHERE interview_id = ?1");
stmt!(
    /// ?1 the id, ?2..?10 and ?12 the changing columns, ?11 the version read.
    UPDATE_CASE = "UPDATE cases SET status = ?2, owner = ?3, due_at = ?4, first_contact_at = ?5,
     resolved_at = ?6, closed_at = ?7, resolution = ?8, satisfaction = ?9, updated_at = ?10,
     contact_erased_at = ?12, version = version + 1 WHERE id = ?1 AND version = ?11"
);
stmt!(
    INSERT_CASE_NOTE = "INSERT INTO case_notes(case_id, at, author, text) VALUES (?1, ?2, ?3, ?4)"
);
stmt!(
    CASE_NOTES = "SELECT case_id, at, author, text FROM case_notes WHERE case_id = ?1 ORDER BY at"
);
stmt!(
    UPSERT_SERVICE_LEVEL = "INSERT INTO service_levels(country, first_contact_hours, resolution_hours)
     VALUES (?1, ?2, ?3) ON CONFLICT(country) DO UPDATE SET
     first_contact_hours = excluded.first_contact_hours, resolution_hours = excluded.resolution_hours
     WHERE service_levels.first_contact_hours <> excluded.first_contact_hours
        OR service_levels.resolution_hours <> excluded.resolution_hours"
);
stmt!(
    LIST_SERVICE_LEVELS = "SELECT country, first_contact_hours, resolution_hours FROM service_levels ORDER BY country"
);

// Webhooks (see `crate::webhooks`).
stmt!(
    /// An event, kept only when a hook subscribes to its kind (`LIKE` ?8):
    /// no hook, no outbox row.
    INSERT_EVENT = "INSERT INTO webhook_events(id, kind, campaign, country, subject, at, payload)
     SELECT ?1, ?2, ?3, ?4, ?5, CAST(?6 AS BIGINT), ?7
     WHERE EXISTS (SELECT 1 FROM webhooks WHERE events LIKE ?8)"
);
stmt!(
    /// One pending delivery of event ?1 per hook whose kinds match the
    /// `LIKE` pattern ?3, due at ?2 (unix ms); a paused hook's wait for it
    /// to resume.
    FAN_OUT_EVENT = "INSERT INTO webhook_deliveries(hook_id, event_id, state, attempts, next_at_ms,
       locked_until_ms, created_ms)
     SELECT id, ?1, 'pending', 0, ?2, 0, ?2 FROM webhooks WHERE events LIKE ?3"
);
stmt!(
    INSERT_WEBHOOK =
        "INSERT INTO webhooks({WEBHOOK_COLS}, secret) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
);
stmt!(LIST_WEBHOOKS = "SELECT {WEBHOOK_COLS} FROM webhooks ORDER BY created_at, id");
stmt!(WEBHOOK_BY_ID = "SELECT {WEBHOOK_COLS} FROM webhooks WHERE id = ?1");
stmt!(SET_WEBHOOK_ACTIVE = "UPDATE webhooks SET active = ?2 WHERE id = ?1");
/// The due deliveries of active hooks, oldest first (?1 now, ms; ?2 how
/// many); PostgreSQL adds `FOR UPDATE SKIP LOCKED` so replicas claim
/// different rows.
const DUE_DELIVERIES: &str =
    "SELECT d.id FROM webhook_deliveries d JOIN webhooks h ON h.id = d.hook_id
  WHERE d.state = 'pending' AND d.next_at_ms <= ?1 AND d.locked_until_ms <= ?1 AND h.active
  ORDER BY d.next_at_ms, d.id LIMIT ?2";
stmt!(
    /// Lease the due deliveries to claim ?4 until ?3 (unix ms).
    CLAIM_DELIVERIES = "UPDATE webhook_deliveries SET locked_until_ms = ?3, claim = ?4
     WHERE id IN ({DUE_DELIVERIES}{})",
    ""
);
pub(crate) static CLAIM_DELIVERIES_PG: LazyLock<String> = LazyLock::new(|| {
    dollar(&format!(
        "UPDATE webhook_deliveries SET locked_until_ms = ?3, claim = ?4
         WHERE id IN ({DUE_DELIVERIES} FOR UPDATE OF d SKIP LOCKED)"
    ))
});
stmt!(
    CLAIMED = "SELECT d.id, d.hook_id, h.url, h.secret, h.allow_pii, d.attempts, d.created_ms,
       e.id AS event_id, e.kind, e.campaign, e.country, e.subject, e.at, e.payload
     FROM webhook_deliveries d JOIN webhooks h ON h.id = d.hook_id
       JOIN webhook_events e ON e.id = d.event_id
     WHERE d.claim = ?1 ORDER BY d.next_at_ms, d.id"
);
stmt!(
    /// ?1 id, ?2 state, ?3 next_at_ms, ?4 last status, ?5 last error, ?6 delivered_ms.
    FINISH_DELIVERY = "UPDATE webhook_deliveries SET state = ?2, attempts = attempts + 1,
       next_at_ms = ?3, locked_until_ms = 0, claim = NULL, last_status = ?4, last_error = ?5,
       delivered_ms = ?6
     WHERE id = ?1"
);
stmt!(
    INSERT_ATTEMPT = "INSERT INTO webhook_attempts(delivery_id, at_ms, status, error, duration_ms)
     VALUES (?1, ?2, ?3, ?4, ?5)"
);
stmt!(
    /// A failed delivery queued again, due now (?2).
    RETRY_DELIVERY = "UPDATE webhook_deliveries SET state = 'pending', next_at_ms = ?2,
       locked_until_ms = 0 WHERE id = ?1 AND state = 'failed'"
);
stmt!(
    /// The log of hook ?1, newest first; ?2 a state or NULL; ?3 how many.
    DELIVERIES = "SELECT {DELIVERY_COLS} FROM webhook_deliveries d
       JOIN webhook_events e ON e.id = d.event_id
     WHERE d.hook_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR d.state = ?2) ORDER BY d.id DESC LIMIT ?3"
);
stmt!(
    ATTEMPTS = "SELECT delivery_id, at_ms, status, error, duration_ms FROM webhook_attempts
     WHERE delivery_id = ?1 ORDER BY at_ms, id"
);

// Hackathon actions.
stmt!(
    /// A new action (columns as [`ACTION_COLS`]).
    INSERT_ACTION = "INSERT INTO actions({ACTION_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
     ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
);
stmt!(
    /// ?1 the id, ?2..?10 the changing columns, ?11 the version read.
    UPDATE_ACTION = "UPDATE actions SET title = ?2, description = ?3, root_causes = ?4, themes = ?5,
     evidence = ?6, owner = ?7, due_date = ?8, status = ?9, expected_effect = ?10,
     updated_at = ?12, version = version + 1 WHERE id = ?1 AND version = ?11"
);
stmt!(ACTION_BY_ID = "SELECT {ACTION_COLS} FROM actions WHERE id = ?1");
stmt!(
    INSERT_ACTION_NOTE =
        "INSERT INTO action_notes(action_id, at, author, text) VALUES (?1, ?2, ?3, ?4)"
);
stmt!(
    ACTION_NOTES =
        "SELECT action_id, at, author, text FROM action_notes WHERE action_id = ?1 ORDER BY at"
);
stmt!(
    CODEBOOK = "SELECT campaign, codebook, version, updated_by, updated_at FROM theme_codebooks
     WHERE campaign = ?1"
);
stmt!(
    /// The first save of a campaign's codebook (version 0 read): no row yet.
    INSERT_CODEBOOK = "INSERT INTO theme_codebooks(campaign, codebook, version, updated_by, updated_at)
     VALUES (?1, ?2, 1, ?3, ?4) ON CONFLICT (campaign) DO NOTHING"
);
stmt!(
    /// ?5 the version read.
    UPDATE_CODEBOOK = "UPDATE theme_codebooks SET codebook = ?2, version = version + 1,
     updated_by = ?3, updated_at = ?4 WHERE campaign = ?1 AND version = ?5"
);
