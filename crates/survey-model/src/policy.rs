//! The write policy of an interview document: which parts a device may change
//! and which only the server (acting for a coordinator or an admin) may.
//!
//! | path                         | device (its employee)             | server (coordinator, admin)        |
//! |------------------------------|-----------------------------------|------------------------------------|
//! | `schema`, `meta.*`           | never (write-once at creation)    | never                              |
//! | `status`, `submitted_at`     | yes (`draft` / `submitted`)       | no                                 |
//! | `answers.*`                  | yes, but not those in `review.erased`, and never replacing a container (text, choices, repeat list) | no, but erase (remove) with `review.erased_at` |
//! | `review.*`                   | no                                | yes (`review.by` = the writer; `followup_*`: a case's outcome) |
//! | `tags.*`                     | no                                | yes (booleans)                     |
//! | `comments[]`, new            | yes, authored as itself           | yes, authored as itself            |
//! | `comments[]`, existing       | never changed or removed          | never changed or removed           |
//! | any other key, any container | never created or replaced         | never created or replaced          |
//!
//! "Authored as itself" means `author_id` is the writer's user id, `author` its
//! name and `role` its role (`employee` for devices).
//!
//! [`check_write`] compares the protected parts of the document before and
//! after a set of changes, including values that lost a concurrent write
//! (`get_all`), so a change that writes a protected value "under" the current
//! one is caught as well. The check is on the merged result, not on change
//! operations, so it holds whatever encoding or history the changes use.

use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value};
use serde_json::{Value as Json, json};

use crate::cases::{CaseStatus, RESOLUTIONS};
use crate::interview::{Interview, ReviewState};

/// Root keys of the document layout.
pub const ROOT_KEYS: [&str; 8] = [
    "schema",
    "meta",
    "status",
    "submitted_at",
    "answers",
    "review",
    "comments",
    "tags",
];

/// Keys of a comment map.
pub const COMMENT_KEYS: [&str; 6] = ["id", "author_id", "author", "role", "at", "text"];

/// Who wrote the changes being checked.
#[derive(Debug, Clone, Copy)]
pub enum Writer<'a> {
    /// An enrolled device of an employee.
    Device {
        user_id: &'a str,
        user_name: &'a str,
    },
    /// The server, acting for a coordinator or an admin.
    Server {
        user_id: &'a str,
        user_name: &'a str,
        role: &'a str,
    },
}

impl Writer<'_> {
    fn user_id(&self) -> &str {
        match self {
            Writer::Device { user_id, .. } | Writer::Server { user_id, .. } => user_id,
        }
    }
    fn user_name(&self) -> &str {
        match self {
            Writer::Device { user_name, .. } | Writer::Server { user_name, .. } => user_name,
        }
    }
    fn role(&self) -> &str {
        match self {
            Writer::Device { .. } => "employee",
            Writer::Server { role, .. } => role,
        }
    }
    fn is_device(&self) -> bool {
        matches!(self, Writer::Device { .. })
    }
}

/// A change the writer may not make: the path and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}`: {rule}")]
pub struct Violation {
    pub path: String,
    pub rule: String,
}

fn violation(path: impl Into<String>, rule: impl Into<String>) -> Violation {
    Violation {
        path: path.into(),
        rule: rule.into(),
    }
}

/// Check that going from `before` (`None` for a document the server does not
/// have yet) to `after` changes only what `writer` may change.
pub fn check_write(
    before: Option<&Interview>,
    after: &Interview,
    writer: Writer<'_>,
) -> Result<(), Violation> {
    let a = after.doc();
    let b = before.map(Interview::doc);
    // Keys outside the layout: never added or changed.
    for key in a.keys(ROOT).filter(|k| !ROOT_KEYS.contains(&k.as_str())) {
        let was = b.map(|b| slot(b, &ROOT, &key)).unwrap_or_default();
        if was != slot(a, &ROOT, &key) {
            return Err(violation(key, "no top-level keys outside the layout"));
        }
    }
    // The layout's keys: no replaced containers, `schema` unchanged, status
    // scalars the device's.
    for key in ROOT_KEYS {
        let device_scalar = matches!(key, "status" | "submitted_at");
        // Containers are compared by identity only: no need to dump them.
        let look = |d: &AutoCommit| {
            if device_scalar {
                slot(d, &ROOT, key)
            } else {
                ident(d, &ROOT, key)
            }
        };
        let after_v = look(a);
        match b {
            Some(b) => {
                let before_v = look(b);
                if device_scalar {
                    if before_v != after_v && !writer.is_device() {
                        return Err(violation(key, "only the interviewer's device sets it"));
                    }
                } else if before_v != after_v {
                    return Err(violation(key, "set once, at creation"));
                }
            }
            None if !device_scalar && after_v.len() > 1 => {
                return Err(violation(key, "set once, at creation"));
            }
            None => {}
        }
    }
    if writer.is_device() {
        check_status(a)?;
        check_not_erased(after)?;
        if let Some(b) = b {
            check_answer_containers(b, a)?;
        }
    }
    // meta: write-once (creation is checked by the caller against who is
    // pushing).
    if b.is_some() {
        compare_part(b, a, "meta", "metadata is write-once")?;
    }
    // answers: the device's; the server never writes them, it only erases
    // some (contact details after a case's retention) and says when.
    if !writer.is_device() {
        let erasing = obj(a, "review").is_some_and(|r| {
            let was = b.and_then(|b| obj(b, "review").map(|o| slot(b, &o, "erased_at")));
            let now = slot(a, &r, "erased_at");
            !now.is_empty() && was.is_none_or(|w| w != now)
        });
        if erasing {
            check_erasure(b, a)?;
        } else {
            compare_part(
                b,
                a,
                "answers",
                "only the interviewer's device writes answers",
            )?;
        }
    }
    // review and tags: the server's.
    if writer.is_device() {
        compare_part(b, a, "review", "only a coordinator or admin reviews")?;
        compare_part(b, a, "tags", "only a coordinator or admin tags")?;
    } else {
        check_review(b, a, writer)?;
        check_tags(a)?;
    }
    check_comments(b, a, writer)
}

/// An answer's container (a text, a multi choice's map, a repeat's list of
/// instances) is never replaced once made: a replacement would drop every
/// concurrent edit made in the old one.
fn check_answer_containers(b: &AutoCommit, a: &AutoCommit) -> Result<(), Violation> {
    let (Some(ba), Some(aa)) = (obj(b, "answers"), obj(a, "answers")) else {
        return Ok(());
    };
    for key in b.keys(&ba) {
        let Ok(Some((Value::Object(_), was))) = b.get(&ba, key.as_str()) else {
            continue;
        };
        let now: Vec<ObjId> = a
            .get_all(&aa, key.as_str())
            .unwrap_or_default()
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        if now.iter().any(|id| *id != was) {
            return Err(violation(
                format!("answers.{key}"),
                "an answer's container is never replaced",
            ));
        }
    }
    Ok(())
}

/// Answers erased on request (`review.erased`, see `Interview::rewritten`)
/// are not written again by a device.
fn check_not_erased(after: &Interview) -> Result<(), Violation> {
    let a = after.doc();
    let Some(answers) = obj(a, "answers") else {
        return Ok(());
    };
    for name in after.erased_answers() {
        if !slot(a, &answers, &name).is_empty() {
            return Err(violation(
                format!("answers.{name}"),
                "erased on the customer's request: not written again",
            ));
        }
    }
    Ok(())
}

/// An erasure: every answer still there is as it was; the others were removed.
fn check_erasure(b: Option<&AutoCommit>, a: &AutoCommit) -> Result<(), Violation> {
    let rule = "the server only removes answers, and records when";
    let (Some(b), Some(aa)) = (b, obj(a, "answers")) else {
        return Err(violation("answers", rule));
    };
    let Some(ba) = obj(b, "answers") else {
        return Err(violation("answers", rule));
    };
    for key in a.keys(&aa) {
        if slot(a, &aa, &key) != slot(b, &ba, &key) {
            return Err(violation(format!("answers.{key}"), rule));
        }
    }
    Ok(())
}

/// Every value at `key` of `obj` (several when writes were concurrent), as
/// comparable JSON; objects by id and type.
fn slot(doc: &AutoCommit, obj: &ObjId, key: &str) -> Vec<Json> {
    doc.get_all(obj, key)
        .unwrap_or_default()
        .into_iter()
        .map(|(v, id)| value_json(doc, v, &id))
        .collect()
}

fn value_json(doc: &AutoCommit, v: Value<'_>, id: &ObjId) -> Json {
    match v {
        Value::Scalar(s) => json!({ "s": format!("{s:?}") }),
        Value::Object(t) => {
            json!({ "obj": id.to_string(), "ty": format!("{t:?}"), "v": dump_typed(doc, id, t) })
        }
    }
}

/// Every value at `key` of `obj` as [`slot`] gives it, but objects by
/// identity only, without their contents (containers must keep theirs).
fn ident(doc: &AutoCommit, obj: &ObjId, key: &str) -> Vec<Json> {
    doc.get_all(obj, key)
        .unwrap_or_default()
        .into_iter()
        .map(|(v, id)| match v {
            Value::Object(t) => json!({ "obj": id.to_string(), "ty": format!("{t:?}") }),
            v => value_json(doc, v, &id),
        })
        .collect()
}

fn obj(doc: &AutoCommit, key: &str) -> Option<ObjId> {
    match doc.get(ROOT, key).ok()?? {
        (Value::Object(_), id) => Some(id),
        _ => None,
    }
}

/// The whole subtree under `obj`, conflicts included.
pub(crate) fn dump(doc: &AutoCommit, obj: &ObjId) -> Json {
    match doc.object_type(obj) {
        Ok(t) => dump_typed(doc, obj, t),
        Err(_) => Json::Null,
    }
}

fn dump_typed(doc: &AutoCommit, obj: &ObjId, t: ObjType) -> Json {
    match t {
        ObjType::Map | ObjType::Table => {
            let mut m = serde_json::Map::new();
            for k in doc.keys(obj) {
                m.insert(k.clone(), Json::Array(slot(doc, obj, &k)));
            }
            Json::Object(m)
        }
        ObjType::List => Json::Array(
            (0..doc.length(obj))
                .map(|i| {
                    Json::Array(
                        doc.get_all(obj, i)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(v, id)| value_json(doc, v, &id))
                            .collect(),
                    )
                })
                .collect(),
        ),
        ObjType::Text => Json::String(doc.text(obj).unwrap_or_default()),
    }
}

fn first_diff(a: &Json, b: &Json) -> String {
    let keys = |j: &Json| -> Vec<String> {
        j.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut all = keys(a);
    all.extend(keys(b));
    all.sort();
    all.dedup();
    all.into_iter()
        .find(|k| a.get(k) != b.get(k))
        .unwrap_or_else(|| "*".into())
}

/// `key`'s subtree must be the same before and after (empty for a new document).
fn compare_part(
    b: Option<&AutoCommit>,
    a: &AutoCommit,
    key: &str,
    rule: &str,
) -> Result<(), Violation> {
    let after = obj(a, key).map(|o| dump(a, &o)).unwrap_or(Json::Null);
    let before = match b {
        Some(b) => obj(b, key).map(|o| dump(b, &o)).unwrap_or(Json::Null),
        // A new document's protected containers start empty.
        None => match &after {
            Json::Object(_) => json!({}),
            Json::Array(_) => json!([]),
            Json::String(_) => json!(""),
            other => other.clone(),
        },
    };
    if before != after {
        return Err(violation(
            format!("{key}.{}", first_diff(&before, &after)),
            rule,
        ));
    }
    Ok(())
}

fn check_status(a: &AutoCommit) -> Result<(), Violation> {
    for v in a.get_all(ROOT, "status").unwrap_or_default() {
        let ok =
            matches!(&v.0, Value::Scalar(s) if matches!(s.as_str(), Some("draft" | "submitted")));
        if !ok {
            return Err(violation("status", "is \"draft\" or \"submitted\""));
        }
    }
    for v in a.get_all(ROOT, "submitted_at").unwrap_or_default() {
        if !matches!(&v.0, Value::Scalar(s) if s.is_str()) {
            return Err(violation("submitted_at", "is a date-time string"));
        }
    }
    Ok(())
}

fn check_review(b: Option<&AutoCommit>, a: &AutoCommit, w: Writer<'_>) -> Result<(), Violation> {
    let Some(ra) = obj(a, "review") else {
        return Ok(());
    };
    let before = b.and_then(|b| obj(b, "review").map(|o| (b, o)));
    for key in a.keys(&ra) {
        let now = slot(a, &ra, &key);
        let was = before
            .as_ref()
            .map(|(b, o)| slot(b, o, &key))
            .unwrap_or_default();
        if now == was {
            continue;
        }
        let ok = match key.as_str() {
            "state" => a.get_all(&ra, "state").unwrap_or_default().iter().all(
                |(v, _)| matches!(v, Value::Scalar(s) if s.as_str().and_then(ReviewState::parse).is_some()),
            ),
            "by" => a.get_all(&ra, "by").unwrap_or_default().iter().all(
                |(v, _)| matches!(v, Value::Scalar(s) if s.as_str() == Some(w.user_id())),
            ),
            "at" | "followup_at" | "erased_at" => a
                .get_all(&ra, key.as_str())
                .unwrap_or_default()
                .iter()
                .all(|(v, _)| matches!(v, Value::Scalar(s) if s.is_str())),
            // What the customer's follow-up case came to (cases module).
            "followup_status" => a.get_all(&ra, "followup_status").unwrap_or_default().iter().all(
                |(v, _)| matches!(v, Value::Scalar(s) if s.as_str().and_then(CaseStatus::parse).is_some()),
            ),
            "followup_resolution" => a
                .get_all(&ra, "followup_resolution")
                .unwrap_or_default()
                .iter()
                .all(|(v, _)| {
                    matches!(v, Value::Scalar(s) if s.as_str().is_some_and(|r| r.is_empty() || RESOLUTIONS.contains(&r)))
                }),
            _ => false,
        };
        if !ok {
            return Err(violation(
                format!("review.{key}"),
                "a review is a known state, by its writer, at a time; a follow-up a known status and resolution",
            ));
        }
    }
    Ok(())
}

fn check_tags(a: &AutoCommit) -> Result<(), Violation> {
    let Some(t) = obj(a, "tags") else {
        return Ok(());
    };
    for key in a.keys(&t) {
        let all = a.get_all(&t, key.as_str()).unwrap_or_default();
        if !all
            .iter()
            .all(|(v, _)| matches!(v, Value::Scalar(s) if s.as_bool().is_some()))
        {
            return Err(violation(format!("tags.{key}"), "tags are booleans"));
        }
    }
    Ok(())
}

/// Existing comments are never changed or removed; new ones are authored by
/// the writer as itself.
fn check_comments(b: Option<&AutoCommit>, a: &AutoCommit, w: Writer<'_>) -> Result<(), Violation> {
    let Some(ca) = obj(a, "comments") else {
        return Ok(());
    };
    let mut before: std::collections::HashMap<String, Json> = std::collections::HashMap::new();
    if let Some((b, cb)) = b.and_then(|b| obj(b, "comments").map(|o| (b, o))) {
        for i in 0..b.length(&cb) {
            for (v, id) in b.get_all(&cb, i).unwrap_or_default() {
                before.insert(id.to_string(), value_json(b, v, &id));
            }
        }
    }
    let mut kept = 0;
    for i in 0..a.length(&ca) {
        for (v, id) in a.get_all(&ca, i).unwrap_or_default() {
            let path = format!("comments[{i}]");
            let now = value_json(a, v.clone(), &id);
            if let Some(was) = before.get(&id.to_string()) {
                if *was != now {
                    return Err(violation(path, "existing comments are never changed"));
                }
                kept += 1;
                continue;
            }
            let Value::Object(ObjType::Map) = v else {
                return Err(violation(path, "a comment is a map"));
            };
            let field = |k: &str| -> Option<String> {
                let all = a.get_all(&id, k).ok()?;
                match all.as_slice() {
                    [(Value::Scalar(s), _)] => s.as_str().map(str::to_owned),
                    _ => None,
                }
            };
            if a.keys(&id).any(|k| !COMMENT_KEYS.contains(&k.as_str()))
                || COMMENT_KEYS.iter().any(|k| field(k).is_none())
            {
                return Err(violation(
                    path,
                    "a comment has exactly id, author_id, author, role, at and text",
                ));
            }
            if field("author_id").as_deref() != Some(w.user_id())
                || field("author").as_deref() != Some(w.user_name())
                || field("role").as_deref() != Some(w.role())
            {
                return Err(violation(
                    format!("{path}.author"),
                    "a new comment is authored by its writer, as itself",
                ));
            }
        }
    }
    if kept != before.len() {
        return Err(violation("comments", "comments are never removed"));
    }
    Ok(())
}
