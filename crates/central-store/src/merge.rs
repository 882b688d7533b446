//! The backend-independent merge: apply pushed changes to the stored documents,
//! check ownership and layout, and write the log, snapshot and projection in one
//! atomic batch. Also the server-side edit path used by coordinators.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::{AutoCommit, ChangeHash};
use survey_model::cases::CaseRules;
use survey_model::checks::{self, CheckContext};
use survey_model::{CheckRules, Form, Interview, InterviewRecord, Writer, check_write};
use survey_protocol::{DocPush, DocResult, DocStatus};
use uuid::Uuid;

use crate::{CentralStore, DocWrite, Hash, NewChange, StoreError, User};

/// How often a batch is retried when another writer moved a document.
const MAX_ATTEMPTS: usize = 8;

/// The forms a server knows, by (id, version), and the rules it judges the
/// interviews of those forms by ([`CheckRules`]).
#[derive(Debug, Default, Clone)]
pub struct FormRegistry {
    forms: HashMap<(String, u32), Form>,
    rules: CheckRules,
    case_rules: CaseRules,
}

impl FormRegistry {
    /// Load every form stored in `store`; forms that fail to parse are skipped
    /// with a warning (they were validated when stored).
    pub fn load(store: &dyn CentralStore) -> Result<FormRegistry, StoreError> {
        let mut reg = FormRegistry::default();
        for (id, version, json) in store.forms()? {
            match Form::from_json(&json) {
                Ok(f) => reg.insert(f),
                Err(e) => {
                    tracing::warn!(form = %id, version, error = %e, "stored form does not parse")
                }
            }
        }
        Ok(reg)
    }
    /// Judge interviews with these quality-check thresholds.
    pub fn set_check_rules(&mut self, rules: CheckRules) {
        self.rules = rules;
    }
    pub fn check_rules(&self) -> &CheckRules {
        &self.rules
    }
    /// Open follow-up cases by these rules.
    pub fn set_case_rules(&mut self, rules: CaseRules) {
        self.case_rules = rules;
    }
    pub fn case_rules(&self) -> &CaseRules {
        &self.case_rules
    }
    pub fn insert(&mut self, f: Form) {
        self.forms.insert((f.id().to_owned(), f.version()), f);
    }
    pub fn get(&self, id: &str, version: u32) -> Option<&Form> {
        self.forms.get(&(id.to_owned(), version))
    }
    /// The newest version of each form.
    pub fn latest(&self) -> Vec<&Form> {
        let mut best: HashMap<&str, &Form> = HashMap::new();
        for f in self.forms.values() {
            let e = best.entry(f.id()).or_insert(f);
            if f.version() > e.version() {
                *e = f;
            }
        }
        let mut v: Vec<&Form> = best.into_values().collect();
        v.sort_by(|a, b| a.id().cmp(b.id()));
        v
    }
    /// The names of the personal-data (`pii`) questions of a form version
    /// (none if the version is unknown): what an erasure removes.
    pub fn pii_names(&self, id: &str, version: u32) -> Vec<String> {
        self.get(id, version)
            .map(|f| f.pii_questions().map(|q| q.name.clone()).collect())
            .unwrap_or_default()
    }

    /// The newest version of form `id`, if any.
    pub fn latest_of(&self, id: &str) -> Option<&Form> {
        self.forms
            .values()
            .filter(|f| f.id() == id)
            .max_by_key(|f| f.version())
    }
    pub fn all(&self) -> impl Iterator<Item = &Form> {
        self.forms.values()
    }
}

/// Who is pushing.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub user: &'a User,
    /// The device id the changes come from.
    pub source: &'a str,
    /// The device's clock minus the server's (seconds) measured at this
    /// sync, when the device reported its time.
    pub clock_skew_s: Option<i64>,
}

/// Why a whole push was refused.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("not allowed to write interview {doc}: {reason}")]
    Forbidden { doc: Uuid, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn to_hashes(h: &[ChangeHash]) -> Vec<Hash> {
    h.iter().map(|h| h.0).collect()
}

/// What a push did: one result per pushed document, and for each document the
/// server has changes of that the device's pushed heads do not cover, those
/// changes (the "have" half of the repair exchange: the device told the
/// server what it has, the server sends what it lacks in the same response).
#[derive(Debug, Default)]
pub struct PushOutcome {
    pub results: Vec<DocResult>,
    pub repairs: Vec<(Uuid, Vec<Vec<u8>>)>,
    /// Changes the server did not have before this push (now stored).
    pub new_changes: usize,
    /// Pushed documents the device holds in a form older than their rewrite
    /// (status `Replaced`): the response carries them whole.
    pub replaced: Vec<Uuid>,
    /// The feed asked for with the push, read just after its commit; `None`
    /// when nothing was committed (the caller reads it then).
    pub feed: Option<crate::FeedPage>,
}

/// A push outcome reads as its results (one per pushed document, in order).
impl std::ops::Deref for PushOutcome {
    type Target = [DocResult];
    fn deref(&self) -> &[DocResult] {
        &self.results
    }
}

/// The caller's assigned place as the caller has already read it: its code
/// (`None`: no assignment) and coordinates. A push judges its interviews by
/// them ([`stored_record`]) and need not read them again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KnownPlace {
    pub code: Option<String>,
    pub at: Option<(f64, f64)>,
}

/// Apply a device's pushed documents. Each document gets a status; the batch
/// is written atomically and durably before this returns. Only an employee's
/// device pushes: any other caller is refused as a whole.
pub fn push(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    caller: Caller<'_>,
    docs: &[DocPush],
) -> Result<PushOutcome, PushError> {
    push_knowing(store, forms, caller, docs, None, None)
}

/// [`push`], with the caller's assigned place when the caller has read it
/// already (the sync handler reads it for the response's assignment
/// revision): on PostgreSQL two round trips fewer per sync. With
/// `then_feed`, the feed is read with the commit ([`PushOutcome::feed`]):
/// one more round trip fewer.
pub fn push_knowing(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    caller: Caller<'_>,
    docs: &[DocPush],
    known: Option<&KnownPlace>,
    then_feed: Option<&crate::FeedRequest<'_>>,
) -> Result<PushOutcome, PushError> {
    if !caller.user.role.has_devices() {
        return Err(PushError::Forbidden {
            doc: docs.first().map_or(Uuid::nil(), |d| d.doc_id),
            reason: format!(
                "only an employee's device pushes interviews, not a {}",
                caller.user.role.as_str()
            ),
        });
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        // A store that checks actors inside its commit is trusted to on a
        // first attempt; a retry (after a clash its commit refused, or any
        // conflict) looks each actor up, and so says which documents clash.
        let check_actors = attempt > 1 || !store.actors_checked_at_commit();
        let (mut outcome, writes) = prepare(store, forms, caller, docs, known, check_actors)?;
        if writes.is_empty() {
            return Ok(outcome);
        }
        outcome.new_changes = writes.iter().map(|w| w.changes.len()).sum();
        // Written in the same transaction: the cross checks of the written
        // interviews' employees and phones, and the cases their rules open.
        let derived = crate::Derived {
            cross: cross_keys(forms, writes.iter().map(|w| &w.record)),
            cases: crate::cases::by_rule(
                store,
                &forms.case_rules,
                writes
                    .iter()
                    .map(|w| (&w.record, w.expected_version.is_none())),
                crate::unix_now(),
            )?,
        };
        match store.commit_push(&writes, &derived, then_feed) {
            Ok(feed) => {
                outcome.feed = feed;
                return Ok(outcome);
            }
            Err(StoreError::Conflict(id)) if attempt < MAX_ATTEMPTS => {
                tracing::debug!(doc = %id, attempt, "concurrent update, retrying merge");
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn prepare(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    caller: Caller<'_>,
    docs: &[DocPush],
    known: Option<&KnownPlace>,
    check_actors: bool,
) -> Result<(PushOutcome, Vec<DocWrite>), PushError> {
    let mut out = PushOutcome::default();
    let mut writes = Vec::new();
    let writer = Writer::Device {
        user_id: &caller.user.id,
        user_name: &caller.user.name,
    };
    let mut cleared_actors: std::collections::HashSet<Vec<u8>> = Default::default();
    let mut places = Places::knowing(&caller.user.id, known);
    let ids: Vec<Uuid> = docs.iter().map(|p| p.doc_id).collect();
    let stored: HashMap<Uuid, crate::StoredDoc> = store
        .load_docs(&ids)?
        .into_iter()
        .map(|d| (d.doc_id, d))
        .collect();
    for push in docs {
        let id = push.doc_id;
        let status_only = |status: DocStatus| DocResult {
            doc_id: id,
            status,
            heads: Vec::new(),
        };
        let existing = stored.get(&id);
        if let Some(doc) = existing
            && doc.owner != caller.user.id
        {
            return Err(PushError::Forbidden {
                doc: id,
                reason: "interview belongs to another user".into(),
            });
        }
        let merged = catch_unwind(AssertUnwindSafe(|| merge_one(existing, push, writer)));
        let outcome = match merged {
            Ok(o) => o,
            Err(_) => {
                tracing::error!(doc = %id, "automerge panicked while merging; document rejected");
                out.results.push(status_only(DocStatus::Rejected {
                    reason: "internal error while merging this document".into(),
                }));
                continue;
            }
        };
        let Changed {
            was,
            mut iv,
            new_changes,
            heads,
            repair,
            before,
            snapshot_holds_changes,
        } = match outcome {
            Merge::Rejected(reason) => {
                out.results
                    .push(status_only(DocStatus::Rejected { reason }));
                continue;
            }
            Merge::Clash {
                reason,
                server_heads,
            } => {
                // The server's heads tell the device what of this document
                // it may keep when it re-authors the rest.
                out.results.push(DocResult {
                    doc_id: id,
                    status: DocStatus::ActorClash { reason },
                    heads: server_heads,
                });
                continue;
            }
            Merge::Missing(hashes) => {
                out.results
                    .push(status_only(DocStatus::MissingDeps { hashes }));
                continue;
            }
            Merge::Replaced => {
                out.results.push(status_only(DocStatus::Replaced));
                out.replaced.push(id);
                continue;
            }
            Merge::Unchanged { heads, repair } => {
                if !repair.is_empty() {
                    out.repairs.push((id, repair));
                }
                out.results.push(DocResult {
                    doc_id: id,
                    status: DocStatus::Applied,
                    heads,
                });
                continue;
            }
            Merge::Changed(c) => *c,
        };
        let meta = iv.meta().clone();
        if iv.id() != id {
            out.results.push(status_only(DocStatus::Rejected {
                reason: "interview_id does not match doc_id".into(),
            }));
            continue;
        }
        if existing.is_none() {
            if meta.created_by != caller.user.id {
                return Err(PushError::Forbidden {
                    doc: id,
                    reason: "created_by is not the caller".into(),
                });
            }
            if !caller.user.countries.contains(&meta.country) {
                return Err(PushError::Forbidden {
                    doc: id,
                    reason: format!("country {} is not the caller's", meta.country),
                });
            }
            if forms.get(&meta.form_id, meta.form_version).is_none() {
                out.results.push(status_only(DocStatus::Rejected {
                    reason: format!(
                        "form {} version {} is not known to this server",
                        meta.form_id, meta.form_version
                    ),
                }));
                continue;
            }
        }
        // A repeat holds at most `MAX_INSTANCES` instances (the app never
        // adds more); a document with more is refused whole, before its
        // projection walks them.
        let overfull = forms.get(&meta.form_id, meta.form_version).and_then(|f| {
            f.def()
                .repeats
                .iter()
                .map(|r| (r.id.clone(), iv.instance_count(&r.id)))
                .find(|(_, n)| *n > survey_model::form::MAX_INSTANCES)
        });
        if let Some((repeat, n)) = overfull {
            out.results.push(status_only(DocStatus::Rejected {
                reason: format!(
                    "repeat `{repeat}` has {n} instances (at most {})",
                    survey_model::form::MAX_INSTANCES
                ),
            }));
            continue;
        }
        // Actor-clone check: a change whose actor was already seen from
        // another device (or from the server) is refused as a whole document;
        // the device resets its actor and re-authors its changes. Skipped
        // when the commit checks instead (and refuses the whole push as a
        // conflict, so the retry comes here).
        let mut actors: Vec<&[u8]> = if check_actors {
            new_changes.iter().map(|c| c.actor.as_slice()).collect()
        } else {
            Vec::new()
        };
        actors.sort_unstable();
        actors.dedup();
        let mut clash = None;
        for a in actors {
            // One look-up per actor and request (a device pushes many
            // documents with its one actor).
            if cleared_actors.contains(a) {
                continue;
            }
            if store.actor_used_elsewhere(a, caller.source)? {
                clash = Some(crate::hash_hex(a));
                break;
            }
            cleared_actors.insert(a.to_vec());
        }
        if let Some(actor) = clash {
            tracing::warn!(doc = %id, device = %caller.source, "actor already used by another device");
            out.results.push(DocResult {
                doc_id: id,
                status: DocStatus::ActorClash {
                    reason: format!(
                        "actor {actor} already writes from another device; reset the actor and resend"
                    ),
                },
                heads: before,
            });
            continue;
        }
        let snapshot = iv.save_uncompressed();
        // Nothing since the merge changed the document (a guard: the log
        // would otherwise name changes the snapshot does not hold).
        if snapshot_holds_changes && to_hashes(&iv.heads()) != heads {
            return Err(
                StoreError::Corrupt(format!("document {id} changed after its merge")).into(),
            );
        }
        let record = stored_record_of(
            store,
            forms,
            &mut iv,
            Some(&snapshot),
            caller.clock_skew_s,
            &mut places,
        )?;
        let events = events_of(was.as_ref(), &record);
        writes.push(DocWrite {
            doc_id: id,
            owner: meta.created_by.clone(),
            country: meta.country.clone(),
            expected_version: existing.map(|d| d.version),
            changes: new_changes,
            snapshot_holds_changes,
            source: caller.source.to_owned(),
            snapshot,
            heads: heads.clone(),
            record,
            events,
            replaces_history: false,
        });
        if !repair.is_empty() {
            out.repairs.push((id, repair));
        }
        out.results.push(DocResult {
            doc_id: id,
            status: DocStatus::Applied,
            heads,
        });
    }
    Ok((out, writes))
}

enum Merge {
    Rejected(String),
    Clash {
        reason: String,
        server_heads: Vec<Hash>,
    },
    Missing(Vec<Hash>),
    /// The device's copy predates the document's rewrite.
    Replaced,
    Unchanged {
        heads: Vec<Hash>,
        repair: Vec<Vec<u8>>,
    },
    Changed(Box<Changed>),
}

/// A merge that changed the document.
struct Changed {
    /// The stored status and review state (`None`: a new interview).
    was: Option<Stage>,
    iv: Interview,
    new_changes: Vec<NewChange>,
    heads: Vec<Hash>,
    repair: Vec<Vec<u8>>,
    /// The stored heads before this push.
    before: Vec<Hash>,
    /// [`DocWrite::snapshot_holds_changes`].
    snapshot_holds_changes: bool,
}

/// The changes of `doc` not covered by the device's heads (those of them the
/// server knows; unknown ones are the device's own, not yet stored).
fn missing_on_device(doc: &mut AutoCommit, device_heads: &[ChangeHash]) -> Vec<Vec<u8>> {
    let known: Vec<ChangeHash> = device_heads
        .iter()
        .copied()
        .filter(|h| has_change(doc, h))
        .collect();
    if known.len() != device_heads.len() && known.is_empty() {
        // Nothing in common that we can name: the device gets everything.
        return doc
            .get_changes(&[])
            .into_iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
    }
    doc.get_changes(&known)
        .into_iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect()
}

/// Whether `doc` holds the change `h`: a head is answered from the heads,
/// anything else from the change's metadata (never a rebuilt change).
fn has_change(doc: &mut AutoCommit, h: &ChangeHash) -> bool {
    doc.get_heads().contains(h) || doc.get_change_meta_by_hash(h).is_some()
}

/// The changes of `data` when it is exactly one Automerge bundle chunk (no
/// other chunk before or after it), each change once and in causal order (a
/// change after every change it depends on that the bundle holds); `None`
/// otherwise, and the caller loads `data` the general way.
fn whole_bundle(data: &[u8]) -> Option<Vec<survey_model::Change>> {
    // Chunk header: magic (4 bytes), checksum (4), type (1; 3 = bundle),
    // body length (unsigned LEB128), then the body.
    const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
    const BUNDLE: u8 = 3;
    if data.len() < 10 || data[..4] != MAGIC || data[8] != BUNDLE {
        return None;
    }
    let mut len: u64 = 0;
    let mut at = 9;
    for shift in (0..64).step_by(7) {
        let b = *data.get(at)?;
        at += 1;
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
    }
    if (at as u64).checked_add(len)? != data.len() as u64 {
        return None;
    }
    let changes = automerge::Bundle::try_from(data).ok()?.to_changes().ok()?;
    let mut seen = std::collections::HashSet::with_capacity(changes.len());
    let held: std::collections::HashSet<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
    for c in &changes {
        if c.deps()
            .iter()
            .any(|d| held.contains(d) && !seen.contains(d))
        {
            return None;
        }
        if !seen.insert(c.hash()) {
            return None;
        }
    }
    Some(changes)
}

fn merge_one(existing: Option<&crate::StoredDoc>, push: &DocPush, writer: Writer<'_>) -> Merge {
    let mut doc = match existing {
        Some(d) => match AutoCommit::load(&d.snapshot) {
            Ok(doc) => doc,
            Err(e) => return Merge::Rejected(format!("stored snapshot is unreadable: {e}")),
        },
        None => AutoCommit::new(),
    };
    let before = doc.get_heads();
    let claimed: Vec<ChangeHash> = push.heads.iter().map(|h| ChangeHash(*h)).collect();
    // A rewritten document (personal data erased): a device that names a
    // state the server does not know holds the old history; nothing of it is
    // merged (that would bring the erased values back), it gets the new one.
    let rewritten = existing.is_some_and(|d| d.epoch_seq > 0);
    if rewritten
        && push
            .base_heads
            .iter()
            .any(|h| !has_change(&mut doc, &ChangeHash(*h)))
    {
        return Merge::Replaced;
    }
    if rewritten && push.data.is_empty() && claimed.iter().any(|h| !has_change(&mut doc, h)) {
        return Merge::Replaced;
    }
    // A retry of something already stored, or a "have" message (no data):
    // nothing to parse or write, but the device may lack server changes.
    let all_known = !claimed.is_empty() && claimed.iter().all(|h| has_change(&mut doc, h));
    if all_known || push.data.is_empty() {
        let repair = if existing.is_some() {
            missing_on_device(&mut doc, &claimed)
        } else {
            Vec::new()
        };
        return Merge::Unchanged {
            heads: to_hashes(&before),
            repair,
        };
    }
    let old = match existing {
        Some(_) => match Interview::from_doc(doc.clone(), Some(push.doc_id)) {
            Ok(iv) => Some(iv),
            Err(e) => return Merge::Rejected(format!("stored document: {e}")),
        },
        None => None,
    };
    // A document new to the server may arrive as one bundle: its changes are
    // read once and applied, and kept as the new changes instead of being
    // rebuilt from the merged document.
    let pushed = existing
        .is_none()
        .then(|| whole_bundle(&push.data))
        .flatten();
    let loaded = match &pushed {
        Some(changes) => doc.apply_changes(changes.iter().cloned()),
        None => doc.load_incremental(&push.data).map(|_| ()),
    };
    if let Err(e) = loaded {
        if let automerge::AutomergeError::DuplicateSeqNumber(seq, actor) = &e {
            return Merge::Clash {
                reason: format!(
                    "change {seq} of actor {actor} differs from the stored one: the actor is used by two devices; reset it and resend"
                ),
                server_heads: to_hashes(&before),
            };
        }
        return Merge::Rejected(format!("data is not valid Automerge: {e}"));
    }
    // Automerge queues changes whose dependencies are absent instead of failing.
    let missing = doc.get_missing_deps(&[]);
    if !missing.is_empty() {
        if rewritten {
            return Merge::Replaced;
        }
        return Merge::Missing(to_hashes(&missing));
    }
    // The only root change of a rewritten document is its rewrite: another
    // one is the old history, sent whole.
    if rewritten && doc.get_changes(&before).iter().any(|c| c.deps().is_empty()) {
        return Merge::Replaced;
    }
    // load_incremental skips chunks it cannot parse: the claimed heads tell.
    if let Some(h) = claimed.iter().find(|h| !has_change(&mut doc, h)) {
        return Merge::Rejected(format!(
            "data does not contain the change {h} it claims; it may be corrupt"
        ));
    }
    let heads = doc.get_heads();
    if heads == before {
        let repair = missing_on_device(&mut doc, &claimed);
        return Merge::Unchanged {
            heads: to_hashes(&heads),
            repair,
        };
    }
    let listed = |changes: Vec<survey_model::Change>| changes.iter().map(NewChange::from).collect();
    let (new_changes, snapshot_holds_changes) = match pushed {
        Some(c) => (listed(c), false),
        // A document new to the server, pushed as a snapshot: its changes are
        // all of the merged document, which the change log keeps as its
        // snapshot; only their hashes and actors are read here.
        None if existing.is_none() => (
            doc.get_changes_meta(&[])
                .into_iter()
                .map(|m| NewChange {
                    hash: m.hash.0,
                    actor: m.actor.to_bytes().to_vec(),
                    bytes: Vec::new(),
                })
                .collect(),
            true,
        ),
        None => (listed(doc.get_changes(&before)), false),
    };
    // A document new to the server: the device has all of it.
    let repair = if existing.is_some() {
        missing_on_device(&mut doc, &claimed)
    } else {
        Vec::new()
    };
    let iv = match Interview::from_doc(doc, Some(push.doc_id)) {
        Ok(iv) => iv,
        Err(e) => return Merge::Rejected(e.to_string()),
    };
    // The write policy, on the merged result against the stored one.
    if let Err(v) = check_write(old.as_ref(), &iv, writer) {
        return Merge::Rejected(format!("write policy: {v}"));
    }
    Merge::Changed(Box::new(Changed {
        was: old.as_ref().map(stage),
        iv,
        new_changes,
        heads: to_hashes(&heads),
        repair,
        before: to_hashes(&before),
        snapshot_holds_changes,
    }))
}

/// An interview's status and review state, which webhook events compare.
type Stage = (String, Option<String>);

fn stage(iv: &Interview) -> Stage {
    (
        iv.status(),
        iv.review_state().map(|r| r.as_str().to_owned()),
    )
}

/// The webhook events of a write from `was` to `record`.
fn events_of(
    was: Option<&Stage>,
    record: &survey_model::InterviewRecord,
) -> Vec<crate::webhooks::Event> {
    crate::webhooks::interview_events(
        was.map(|(s, r)| (s.as_str(), r.as_deref())),
        record,
        crate::unix_now(),
    )
}

/// The record a store keeps for a document: its projection, its paradata
/// and the single-interview quality checks, judged with `forms`' rules and
/// the coordinates of the employee's assigned place (else of the place the
/// interview names). `skew`: the device clock skew to record with it.
pub fn stored_record(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    iv: &mut Interview,
    skew: Option<i64>,
) -> Result<InterviewRecord, StoreError> {
    stored_record_of(store, forms, iv, None, skew, &mut Places::default())
}

/// The place coordinates the checks judge by, looked up once per employee
/// and place code within one push (a device pushes its employee's
/// interviews, all at one assigned place).
#[derive(Debug, Default)]
struct Places {
    assigned: HashMap<String, Option<String>>,
    coordinates: HashMap<String, Option<(f64, f64)>>,
}

impl Places {
    /// The look-ups, with `user`'s assigned place already in them when the
    /// caller read it.
    fn knowing(user: &str, known: Option<&KnownPlace>) -> Places {
        let mut places = Places::default();
        if let Some(k) = known {
            places.assigned.insert(user.to_owned(), k.code.clone());
            if let Some(code) = &k.code {
                places.coordinates.insert(code.clone(), k.at);
            }
        }
        places
    }

    fn assigned(
        &mut self,
        store: &dyn CentralStore,
        user: &str,
    ) -> Result<Option<String>, StoreError> {
        if let Some(c) = self.assigned.get(user) {
            return Ok(c.clone());
        }
        let code = store.assignment_of(user)?.map(|a| a.place_code);
        self.assigned.insert(user.to_owned(), code.clone());
        Ok(code)
    }

    fn coordinates(
        &mut self,
        store: &dyn CentralStore,
        code: &str,
    ) -> Result<Option<(f64, f64)>, StoreError> {
        if let Some(c) = self.coordinates.get(code) {
            return Ok(*c);
        }
        let at = store.place(code)?.and_then(|p| p.coordinates());
        self.coordinates.insert(code.to_owned(), at);
        Ok(at)
    }
}

/// [`stored_record`], with the document's uncompressed save when the caller
/// already made it (to store it), which its paradata reads.
fn stored_record_of(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    iv: &mut Interview,
    saved: Option<&[u8]>,
    skew: Option<i64>,
    places: &mut Places,
) -> Result<InterviewRecord, StoreError> {
    let meta = iv.meta().clone();
    let form = forms.get(&meta.form_id, meta.form_version);
    let mut record = iv.project(form);
    let paradata = match saved {
        Some(s) => survey_model::interview::paradata_of(s, form),
        None => iv.paradata(form),
    };
    // The chunk is Automerge's own save: a reader error is a bug here, and
    // the interview is still stored, without paradata.
    record.paradata = paradata.unwrap_or_else(|e| {
        tracing::error!(doc = %iv.id(), "paradata: {e}");
        Default::default()
    });
    record.paradata.clock_skew_s = skew;
    let code = match places.assigned(store, &record.created_by)? {
        Some(c) => Some(c),
        None => record
            .answer_str(survey_model::mcmb::PLACE_QUESTION)
            .map(str::to_owned),
    };
    let place = match code {
        Some(c) => places.coordinates(store, &c)?,
        None => None,
    };
    let ctx = CheckContext {
        place,
        clock_skew_s: skew,
    };
    record.checks = checks::assess(&record, &record.paradata, &ctx, &forms.rules);
    Ok(record)
}

/// Recompute the cross-interview checks of every interview that shares an
/// employee or a customer phone with `records` (run after their commit, so
/// the last of two concurrent writers sees both).
pub fn refresh_cross<'a>(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    records: impl Iterator<Item = &'a InterviewRecord>,
) -> Result<(), StoreError> {
    store.refresh_cross_checks(&cross_keys(forms, records))
}

/// The employees and phone keys of `records`, whose interviews' cross checks
/// a write of `records` changes.
fn cross_keys<'a>(
    forms: &FormRegistry,
    records: impl Iterator<Item = &'a InterviewRecord>,
) -> crate::CrossKeys {
    let mut users: Vec<String> = Vec::new();
    let mut phones: Vec<String> = Vec::new();
    for r in records {
        users.push(r.created_by.clone());
        phones.extend(checks::phone_key(&r.campaign, r));
    }
    users.sort_unstable();
    users.dedup();
    phones.sort_unstable();
    phones.dedup();
    crate::CrossKeys {
        users,
        phones,
        close_gap_s: forms.rules.close_gap_s,
    }
}

/// Why a server-side edit failed.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("interview {0} not found")]
    NotFound(Uuid),
    #[error(transparent)]
    Model(#[from] survey_model::ModelError),
    #[error("write policy: {0}")]
    Policy(#[from] survey_model::Violation),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Edit a stored interview on the server (review state, comments, tags) as
/// `actor` for `editor` (a coordinator or an admin), writing the new change(s)
/// like any pushed change, with source `server:<editor id>`. The write policy
/// is checked like a device's. `f` may run more than once if another writer
/// moves the document meanwhile.
pub fn edit<T>(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    actor: &automerge::ActorId,
    editor: &User,
    id: Uuid,
    mut f: impl FnMut(&mut Interview) -> Result<T, survey_model::ModelError>,
) -> Result<(T, survey_model::InterviewRecord), EditError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let doc = store.load_doc(id)?.ok_or(EditError::NotFound(id))?;
        let mut iv = Interview::load(&doc.snapshot)?;
        let old = iv.clone();
        iv.set_actor(actor.clone());
        let before = iv.heads();
        let out = f(&mut iv)?;
        check_write(
            Some(&old),
            &iv,
            Writer::Server {
                user_id: &editor.id,
                user_name: &editor.name,
                role: editor.role.as_str(),
            },
        )?;
        let new_changes: Vec<NewChange> = iv
            .changes_since(&before)
            .iter()
            .map(NewChange::from)
            .collect();
        let skew = store.interview(id)?.and_then(|r| r.paradata.clock_skew_s);
        let record = stored_record(store, forms, &mut iv, skew)?;
        if new_changes.is_empty() {
            return Ok((out, record));
        }
        let events = events_of(Some(&stage(&old)), &record);
        let write = server_write(&doc, editor, &mut iv, new_changes, &record, events, false);
        match store.commit_docs(std::slice::from_ref(&write)) {
            Ok(()) => return Ok((out, record)),
            Err(StoreError::Conflict(_)) if attempt < MAX_ATTEMPTS => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// What [`rewrite`] removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erase<'a> {
    /// These answers (the form's personal data, or a chosen few).
    Answers(&'a [&'a str]),
    /// Every answer and every comment: the interview's content, leaving its
    /// metadata (who, where, when) and review.
    Everything,
}

/// Erase personal data from a stored interview for good: the document is
/// rewritten from its current state without the erased values and without
/// history (`Interview::rewritten`, one change by `actor`), its stored
/// changes are deleted and the rewrite begins its new history
/// (`epoch_seq`); devices holding the old copy are sent the new one. A
/// concurrent push that lands first is included (the version check retries
/// from it); one that lands after, on the old history, is refused as
/// `Replaced`. Returns the erased answer names and the new record.
pub fn rewrite(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    actor: &automerge::ActorId,
    editor: &User,
    id: Uuid,
    what: Erase<'_>,
) -> Result<(Vec<String>, survey_model::InterviewRecord), EditError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let doc = store.load_doc(id)?.ok_or(EditError::NotFound(id))?;
        let old = Interview::load(&doc.snapshot)?;
        let all: Vec<String>;
        let (names, drop_comments): (Vec<&str>, bool) = match what {
            Erase::Answers(n) => (n.to_vec(), false),
            Erase::Everything => {
                all = old.answer_names();
                (all.iter().map(String::as_str).collect(), true)
            }
        };
        let mut iv = old.rewritten(&names, drop_comments, actor.clone())?;
        let erased = iv.erased_answers();
        let new_changes: Vec<NewChange> =
            iv.changes_since(&[]).iter().map(NewChange::from).collect();
        let skew = store.interview(id)?.and_then(|r| r.paradata.clock_skew_s);
        let record = stored_record(store, forms, &mut iv, skew)?;
        let write = server_write(
            &doc,
            editor,
            &mut iv,
            new_changes,
            &record,
            Vec::new(),
            true,
        );
        match store.commit_docs(std::slice::from_ref(&write)) {
            Ok(()) => return Ok((erased, record)),
            Err(StoreError::Conflict(_)) if attempt < MAX_ATTEMPTS => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// The write of a server edit (or rewrite) of the stored `doc` by `editor`:
/// `changes` of `iv`, its snapshot and heads, version-checked against `doc`.
fn server_write(
    doc: &crate::StoredDoc,
    editor: &User,
    iv: &mut Interview,
    changes: Vec<NewChange>,
    record: &survey_model::InterviewRecord,
    events: Vec<crate::webhooks::Event>,
    replaces_history: bool,
) -> DocWrite {
    DocWrite {
        doc_id: doc.doc_id,
        owner: doc.owner.clone(),
        country: doc.country.clone(),
        expected_version: Some(doc.version),
        changes,
        snapshot_holds_changes: false,
        source: format!("server:{}", editor.id),
        snapshot: iv.save(),
        heads: to_hashes(&iv.heads()),
        events,
        record: record.clone(),
        replaces_history,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use automerge::transaction::Transactable;

    use super::*;

    /// A document of three changes, each after the one before.
    fn three_changes() -> (AutoCommit, Vec<ChangeHash>) {
        let mut d = AutoCommit::new();
        for i in 0..3i64 {
            d.put(automerge::ROOT, format!("k{i}"), i).unwrap();
            d.commit();
        }
        let hashes = d.get_changes(&[]).iter().map(|c| c.hash()).collect();
        (d, hashes)
    }

    #[test]
    fn a_whole_bundle_in_causal_order_is_read_as_its_changes() {
        let (d, hashes) = three_changes();
        let data = d.bundle(hashes.iter().copied()).unwrap().bytes().to_vec();
        let got = whole_bundle(&data).unwrap();
        assert_eq!(got.iter().map(|c| c.hash()).collect::<Vec<_>>(), hashes);
    }

    #[test]
    fn anything_but_one_causal_bundle_takes_the_general_path() {
        let (mut d, hashes) = three_changes();
        let data = d.bundle(hashes.iter().copied()).unwrap().bytes().to_vec();
        // Asked for in reverse, a bundle still holds its changes in causal
        // order (the change log keeps causal order), and is read as such.
        let reversed = d.bundle(hashes.iter().rev().copied()).unwrap();
        let got = whole_bundle(reversed.bytes()).unwrap();
        assert_eq!(got.iter().map(|c| c.hash()).collect::<Vec<_>>(), hashes);
        // Another chunk after it, or a cut one.
        let mut longer = data.clone();
        longer.extend_from_slice(&d.save());
        assert!(whole_bundle(&longer).is_none());
        assert!(whole_bundle(&data[..data.len() - 1]).is_none());
        // A document chunk, and bytes that are no chunk at all.
        assert!(whole_bundle(&d.save()).is_none());
        assert!(whole_bundle(b"not automerge at all").is_none());
        assert!(whole_bundle(&[]).is_none());
    }
}
