//! People, devices and bookkeeping for whole-system tests on a
//! [`System`]: staff and employees created through the admin CLI, enrolled
//! device stores, device-level faults (a consistent copy of a store put back
//! later; a sync request captured and replayed), a catalogue of writes a
//! device may not make, and the model of what must hold at the end
//! (acknowledged changes present, forbidden changes and values absent,
//! devices equal to the server).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ObjId, ROOT, ReadDoc, ScalarValue, Value};
use central_store::CentralStore;
use device_store::DeviceStore;
use serde_json::Value as Json;
use survey_model::{Answer, Form, Interview, InterviewMeta, InterviewRecord};
use survey_protocol::{Compression, DocPush, DocStatus, SyncRequest, SyncResponse};
use sync_client::{SyncError, SyncReport};
use uuid::Uuid;

use crate::server::Device;
use crate::system::{Rng, System};

pub struct Employee {
    pub id: String,
    pub country: String,
}

pub struct Staff {
    pub id: String,
    pub token: String,
    /// "admin" or "coordinator".
    pub role: &'static str,
    /// `None` for the admin (every country).
    pub country: Option<String>,
}

pub struct FleetDevice {
    pub d: Device,
    /// Index into [`Fleet::employees`].
    pub emp: usize,
    /// A copy of the store taken earlier, to put back later.
    pub backup: Option<PathBuf>,
}

/// Everyone on one system: `staff[0]` is the admin.
pub struct Fleet {
    pub employees: Vec<Employee>,
    pub staff: Vec<Staff>,
    pub devices: Vec<FleetDevice>,
}

fn line_after(out: &str, prefix: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` in {out}"))
        .trim()
        .to_owned()
}

/// `user LOGIN (ID) created` -> ID.
fn created_id(out: &str) -> String {
    let l = line_after(out, "user ");
    l[l.find('(').expect("(") + 1..l.find(')').expect(")")].to_owned()
}

impl Fleet {
    /// Admin, employees (`(country, devices)` each), one coordinator per
    /// country, created through the admin CLI; then the system serves and the
    /// devices enroll through its proxy (second devices with a code from the
    /// admin API).
    pub async fn create(sys: &mut System, employees: &[(&str, usize)]) -> Fleet {
        let admin = line_after(&sys.admin(&["bootstrap"]), "token ");
        let mut staff = vec![Staff {
            id: String::new(),
            token: admin,
            role: "admin",
            country: None,
        }];
        let mut countries: Vec<&str> = employees.iter().map(|e| e.0).collect();
        countries.sort_unstable();
        countries.dedup();
        for c in countries {
            let (login, name) = (format!("coord.{c}"), format!("Coordinatrice {c}"));
            let out = sys.admin(&[
                "create-user",
                "--login",
                &login,
                "--name",
                &name,
                "--role",
                "coordinator",
                "--country",
                c,
            ]);
            staff.push(Staff {
                id: created_id(&out),
                token: line_after(&out, "token "),
                role: "coordinator",
                country: Some(c.to_owned()),
            });
        }
        let mut codes = Vec::new();
        let mut emps = Vec::new();
        for (i, (country, _)) in employees.iter().enumerate() {
            let (login, name) = (format!("emp.{i}"), format!("Enquêteur {i}"));
            let out = sys.admin(&[
                "create-user",
                "--login",
                &login,
                "--name",
                &name,
                "--country",
                country,
            ]);
            codes.push(line_after(&out, "enrollment code "));
            emps.push(Employee {
                id: created_id(&out),
                country: (*country).to_owned(),
            });
        }
        sys.serve();
        let http = reqwest::Client::new();
        let url = sys.proxy.url.clone();
        let me: Json = http
            .get(format!("{url}/api/v1/me"))
            .bearer_auth(&staff[0].token)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("GET /api/v1/me")
            .json()
            .await
            .expect("me json");
        staff[0].id = me["user"]["id"].as_str().expect("admin id").to_owned();
        let mut devices = Vec::new();
        for (e, (_, count)) in employees.iter().enumerate() {
            for k in 0..*count {
                let code = if k == 0 {
                    codes[e].clone()
                } else {
                    let r: Json = http
                        .post(format!("{url}/api/v1/users/{}/enrollment-code", emps[e].id))
                        .bearer_auth(&staff[0].token)
                        .send()
                        .await
                        .and_then(|r| r.error_for_status())
                        .expect("enrollment code")
                        .json()
                        .await
                        .expect("code json");
                    r["code"].as_str().expect("code").to_owned()
                };
                let path = sys.dir.join(format!("dev{}.sqlite3", devices.len()));
                devices.push(FleetDevice {
                    d: Device::enroll(&path, &url, &code).await,
                    emp: e,
                    backup: None,
                });
            }
        }
        Fleet {
            employees: emps,
            staff,
            devices,
        }
    }

    /// Staff ids and their roles (what `review.by` and staff comments may name).
    pub fn staff_roles(&self) -> BTreeMap<String, &'static str> {
        self.staff.iter().map(|s| (s.id.clone(), s.role)).collect()
    }
}

// ---------------------------------------------------------------------------
// Device-level faults and replays

/// A consistent copy of the device's SQLite file at `to` (VACUUM INTO).
pub fn copy_store(d: &Device, to: &Path) {
    let _writer = d.lock();
    let c = rusqlite::Connection::open(&d.path).expect("open device db");
    c.execute("VACUUM INTO ?1", [to.to_str().expect("utf-8 path")])
        .expect("VACUUM INTO");
}

/// Put `copy` back as the device's store (copied to `to`), as a restored
/// phone backup would: same install id, old sync state.
pub fn put_back(d: &mut Device, copy: &Path, to: &Path) {
    std::fs::copy(copy, to).expect("copy store");
    *d.lock() = DeviceStore::open(to).expect("open restored store");
    d.path = to.to_owned();
}

/// The device's pending documents (or only `only`) as the sync request it
/// would send now.
pub fn capture(d: &Device, only: Option<Uuid>) -> SyncRequest {
    let s = d.lock();
    let docs = s
        .pending(500)
        .expect("pending")
        .into_iter()
        .filter(|p| only.is_none_or(|x| x == p.id))
        .map(|p| DocPush {
            doc_id: p.id,
            base_heads: p.base_heads.iter().map(|h| h.0).collect(),
            heads: p.heads.iter().map(|h| h.0).collect(),
            data: p.data,
        })
        .collect();
    SyncRequest {
        cursor: s.cursor().expect("cursor"),
        docs,
    }
}

/// POST a sync request with the device's token; the device never sees the
/// answer.
pub async fn post_sync(
    http: &reqwest::Client,
    url: &str,
    d: &Device,
    req: &SyncRequest,
) -> Result<SyncResponse, String> {
    let body = survey_protocol::encode(req, Compression::Gzip).map_err(|e| e.to_string())?;
    let r = http
        .post(format!("{url}/api/v1/sync"))
        .bearer_auth(d.token())
        .header(reqwest::header::CONTENT_TYPE, survey_protocol::CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let bytes = r.bytes().await.map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("HTTP {status} {}", String::from_utf8_lossy(&bytes)));
    }
    survey_protocol::decode(&bytes, 1 << 28).map_err(|e| e.to_string())
}

/// Whether `r` applied document `id`.
pub fn applied(r: Option<&SyncResponse>, id: Uuid) -> bool {
    r.is_some_and(|r| {
        r.results
            .iter()
            .any(|x| x.doc_id == id && matches!(x.status, DocStatus::Applied))
    })
}

/// The last 6 hex digits of an id, for logs.
pub fn short(id: Uuid) -> String {
    let s = id.simple().to_string();
    s[s.len() - 6..].to_owned()
}

/// A sync run, in one line.
pub fn outcome(r: &Result<SyncReport, SyncError>) -> String {
    match r {
        Ok(rep) => {
            let mut s = format!(
                "ok acked={} feed={}",
                rep.docs_acknowledged, rep.feed_changes
            );
            for (id, why) in &rep.docs_rejected {
                s.push_str(&format!(" REJECTED {}: {why};", short(*id)));
            }
            s
        }
        Err(e) => format!("error: {e}"),
    }
}

/// The per-document statuses of a response, in one line.
pub fn statuses(r: Option<&SyncResponse>) -> String {
    let Some(r) = r else { return "none".into() };
    let one = |x: &survey_protocol::DocResult| match &x.status {
        DocStatus::Applied => format!("{}:applied", short(x.doc_id)),
        DocStatus::MissingDeps { .. } => format!("{}:missing_deps", short(x.doc_id)),
        other => format!("{}:{other:?}", short(x.doc_id)),
    };
    r.results.iter().map(one).collect::<Vec<_>>().join(" ")
}

/// A random answer to one of a few MCMB questions (valid or merely typed).
pub fn random_answer(rng: &mut Rng, salt: u64) -> (&'static str, Answer) {
    const CITIES: [&str; 4] = ["Abidjan", "Bouaké", "Dakar", "Thiès"];
    const SEGMENTS: [&str; 3] = ["individual", "business", "partner"];
    const SERVICES: [&str; 4] = [
        "mobile_voice",
        "mobile_data",
        "home_internet",
        "mobile_money",
    ];
    match rng.below(8) {
        0 => ("nps", Answer::Int(rng.below(11) as i64)),
        1 => (
            "city",
            Answer::Text(rng.pick(&CITIES).unwrap_or_default().into()),
        ),
        2 => (
            "verbatim",
            Answer::Text(format!("réseau lent, avis {salt}")),
        ),
        3 => ("sat_network", Answer::Int(1 + rng.below(5) as i64)),
        4 => {
            let on = SERVICES.iter().filter(|_| rng.chance(50));
            (
                "services_used",
                Answer::Choices(on.map(|s| (*s).to_owned()).collect()),
            )
        }
        5 => ("consent", Answer::Bool(true)),
        6 => (
            "segment",
            Answer::Choice(rng.pick(&SEGMENTS).unwrap_or_default().into()),
        ),
        _ => ("customer_since_years", Answer::Int(rng.below(40) as i64)),
    }
}

// ---------------------------------------------------------------------------
// Writes a device may not make

/// Meta fields a device may never change.
pub const META_FIELDS: [&str; 7] = [
    "form_id",
    "form_version",
    "campaign",
    "device_id",
    "created_at",
    "country",
    "created_by",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbid {
    ReviewState,
    ReviewBy,
    Tag,
    /// A comment by the device's employee claiming role coordinator.
    CoordinatorComment,
    /// A comment claiming another author (a coordinator's id).
    ForeignAuthorComment,
    Meta(&'static str),
    /// Any change to another employee's interview.
    OtherEmployee,
}

impl Forbid {
    pub fn random(rng: &mut Rng) -> Forbid {
        match rng.below(7) {
            0 => Forbid::ReviewState,
            1 => Forbid::ReviewBy,
            2 => Forbid::Tag,
            3 => Forbid::CoordinatorComment,
            4 => Forbid::ForeignAuthorComment,
            5 => Forbid::Meta(rng.pick(&META_FIELDS).unwrap_or("campaign")),
            _ => Forbid::OtherEmployee,
        }
    }
}

/// Who forges, and the values to use.
pub struct Forger<'a> {
    pub user_id: &'a str,
    pub user_name: &'a str,
    pub country: &'a str,
    /// Another employee (for `created_by` / `country`).
    pub other: &'a Employee,
    pub coordinator_id: &'a str,
    pub foreign_role: &'a str,
    /// A unique string, found nowhere else.
    pub marker: &'a str,
}

fn container(doc: &AutoCommit, key: &str) -> ObjId {
    match doc.get(ROOT, key).expect("get") {
        Some((Value::Object(_), id)) => id,
        other => panic!("`{key}` is not a container: {other:?}"),
    }
}

/// Make the forbidden write on `iv`, straight into its Automerge document
/// (always a value that differs from the current one), as one change;
/// returns that change's hash.
pub fn forge(iv: &mut Interview, form: &Form, kind: Forbid, f: &Forger<'_>) -> ChangeHash {
    match kind {
        Forbid::ReviewState => {
            let cur = iv.review_state().map(|r| r.as_str());
            let states = ["received", "has_issues", "approved", "rejected"];
            let state = states
                .into_iter()
                .find(|s| Some(*s) != cur)
                .unwrap_or("approved");
            let r = container(iv.doc(), "review");
            iv.doc_mut().put(&r, "state", state).expect("put");
        }
        Forbid::ReviewBy => {
            let r = container(iv.doc(), "review");
            iv.doc_mut().put(&r, "by", f.marker).expect("put");
        }
        Forbid::Tag => {
            let t = container(iv.doc(), "tags");
            iv.doc_mut()
                .put(&t, f.marker.to_lowercase(), true)
                .expect("put");
        }
        Forbid::CoordinatorComment => {
            iv.add_comment(f.user_id, f.user_name, "coordinator", f.marker)
                .expect("comment");
        }
        Forbid::ForeignAuthorComment => {
            iv.add_comment(f.coordinator_id, "Coordinatrice", f.foreign_role, f.marker)
                .expect("comment");
        }
        Forbid::Meta(field) => {
            let m = container(iv.doc(), "meta");
            let v: ScalarValue = match field {
                "form_version" => ScalarValue::Uint(u64::from(iv.meta().form_version) + 1),
                "country" if f.other.country != f.country => f.other.country.as_str().into(),
                "country" => if f.country == "CI" { "SN" } else { "CI" }.into(),
                "created_by" => f.other.id.as_str().into(),
                _ => f.marker.into(),
            };
            iv.doc_mut().put(&m, field, v).expect("put");
        }
        Forbid::OtherEmployee => {
            let a = Answer::Text(f.marker.to_owned());
            iv.set_answer(form, "interviewer_notes", Some(&a))
                .expect("answer");
        }
    }
    iv.doc_mut().commit();
    let heads = iv.heads();
    assert_eq!(heads.len(), 1, "a local change merges every head");
    heads[0]
}

// ---------------------------------------------------------------------------
// The model and its final checks

/// What must hold, per interview.
#[derive(Default)]
pub struct Model {
    /// Every change hash the server claimed to hold (Applied heads, feed
    /// heads, heads of a review edit).
    pub acked: BTreeMap<Uuid, BTreeSet<ChangeHash>>,
    /// Metadata as created.
    pub metas: BTreeMap<Uuid, InterviewMeta>,
    /// Owner's user id.
    pub owner: BTreeMap<Uuid, String>,
    /// (interview, forbidden change, description)
    pub forbidden: Vec<(Uuid, ChangeHash, String)>,
}

/// The server's copy of a document (blocking store call).
pub fn server_doc(store: &dyn CentralStore, id: Uuid) -> Option<AutoCommit> {
    let doc = store.load_doc(id).expect("load_doc")?;
    Some(AutoCommit::load(&doc.snapshot).expect("stored snapshot loads"))
}

/// Whether the server's document holds change `h`.
pub fn server_has(store: &dyn CentralStore, id: Uuid, h: &ChangeHash) -> bool {
    server_doc(store, id).is_some_and(|d| d.get_change_by_hash(h).is_some())
}

impl Model {
    pub fn ack(&mut self, id: Uuid, heads: impl IntoIterator<Item = ChangeHash>) {
        self.acked.entry(id).or_default().extend(heads);
    }

    /// Acknowledged changes missing on the server: (checked, findings).
    pub fn check_acked(&self, store: &dyn CentralStore) -> (u64, Vec<String>) {
        let (mut checked, mut lost) = (0, Vec::new());
        for (id, hashes) in &self.acked {
            let doc = server_doc(store, *id);
            for h in hashes {
                checked += 1;
                if doc
                    .as_ref()
                    .is_none_or(|d| d.get_change_by_hash(h).is_none())
                {
                    lost.push(format!("acknowledged change {h} of {} lost", short(*id)));
                }
            }
        }
        (checked, lost)
    }

    /// Forbidden changes on the server, and forbidden values: meta not as
    /// created, `review.by` not staff, comments not authored as themselves,
    /// forged tags or texts. Returns (changes applied, values found).
    pub fn check_forbidden(
        &self,
        store: &dyn CentralStore,
        staff: &BTreeMap<String, &'static str>,
    ) -> (Vec<String>, Vec<String>) {
        let mut applied = Vec::new();
        for (id, h, what) in &self.forbidden {
            if server_has(store, *id, h) {
                applied.push(format!("{what}: change {h} is on the server"));
            }
        }
        let mut bad = Vec::new();
        for (id, meta) in &self.metas {
            let Some(doc) = server_doc(store, *id) else {
                continue;
            };
            let at = short(*id);
            let iv = match Interview::from_doc(doc, None) {
                Ok(iv) => iv,
                Err(e) => {
                    bad.push(format!("{at}: not an interview on the server: {e}"));
                    continue;
                }
            };
            let doc = iv.doc();
            if iv.meta() != meta {
                bad.push(format!("{at}: meta changed: {:?}", iv.meta()));
            }
            let m = container(doc, "meta");
            for k in doc.keys(&m) {
                if doc.get_all(&m, k.as_str()).map_or(0, |v| v.len()) != 1 {
                    bad.push(format!("{at}: meta.{k} has concurrent values"));
                }
            }
            let r = container(doc, "review");
            for (v, _) in doc.get_all(&r, "by").unwrap_or_default() {
                let by = v.as_str().unwrap_or_default().to_owned();
                if !staff.contains_key(&by) {
                    bad.push(format!("{at}: review.by {by:?} is not staff"));
                }
            }
            for c in iv.comments() {
                let ok = match c.role.as_str() {
                    "employee" => Some(&c.author_id) == self.owner.get(id),
                    role => staff.get(&c.author_id) == Some(&role),
                };
                if !ok || c.text.contains("FORGED") {
                    let (t, a, r) = (&c.text, &c.author_id, &c.role);
                    bad.push(format!("{at}: comment {t:?} by {a:?} as {r}"));
                }
            }
            let t = container(doc, "tags");
            for k in doc.keys(&t).filter(|k| k.contains("forged")) {
                bad.push(format!("{at}: tag {k}"));
            }
        }
        (applied, bad)
    }
}

/// Device and server hold the same interview: the same changes, projections,
/// comments, and a stored projection made from exactly that document.
pub fn same_interview(
    device: &mut Interview,
    server: &mut Interview,
    stored: Option<InterviewRecord>,
    form: &Form,
) -> Result<(), String> {
    let set = |iv: &mut Interview| -> BTreeSet<ChangeHash> {
        iv.changes_since(&[]).iter().map(|c| c.hash()).collect()
    };
    let (a, b) = (set(device), set(server));
    if a != b {
        return Err(format!(
            "{} device changes missing on the server, {} server changes missing on the device",
            a.difference(&b).count(),
            b.difference(&a).count()
        ));
    }
    let view = |r: &InterviewRecord| {
        let mut heads = r.heads.clone();
        heads.sort();
        let answers = &r.answers;
        (
            heads,
            r.status.clone(),
            r.review_state.clone(),
            answers.clone(),
            r.tags.clone(),
        )
    };
    let (pd, ps) = (device.project(Some(form)), server.project(Some(form)));
    if view(&pd) != view(&ps) || device.comments() != server.comments() {
        return Err("same changes, different projections".into());
    }
    if stored.as_ref().map(view) != Some(view(&pd)) {
        return Err("the stored projection is not the document's".into());
    }
    Ok(())
}

/// The device holds each of `owner`'s interviews exactly as the server does
/// (the union of both lists): (interviews checked, divergences).
pub async fn check_device(
    store: &Arc<dyn CentralStore>,
    d: &Device,
    owner: &str,
    form: &Form,
) -> (u64, Vec<String>) {
    let filter = central_store::InterviewFilter {
        created_by: Some(owner.to_owned()),
        limit: Some(10_000),
        ..Default::default()
    };
    let on_server = on_store(store, move |s| s.list_interviews(&filter).expect("list")).await;
    let local = d.lock().list(&Default::default()).expect("device list");
    let mut ids: BTreeSet<Uuid> = local.into_iter().map(|s| s.id).collect();
    ids.extend(
        on_server
            .iter()
            .map(|r| r.interview_id.parse::<Uuid>().expect("uuid")),
    );
    let (mut checked, mut bad) = (0, Vec::new());
    for id in ids {
        checked += 1;
        let (doc, rec) = on_store(store, move |s| {
            (
                s.load_doc(id).expect("load"),
                s.interview(id).expect("record"),
            )
        })
        .await;
        let at = short(id);
        match (doc, d.lock().load(id)) {
            (None, _) => bad.push(format!("{at}: on the device, not on the server")),
            (_, Err(e)) => bad.push(format!("{at}: on the server, not on the device ({e})")),
            (Some(doc), Ok(mut mine)) => {
                let mut theirs = Interview::load(&doc.snapshot).expect("server snapshot");
                if let Err(e) = same_interview(&mut mine, &mut theirs, rec, form) {
                    bad.push(format!("{at}: {e}"));
                }
            }
        }
    }
    (checked, bad)
}

/// Named counters, printed in the order they were declared.
#[derive(Debug, Clone, Default)]
pub struct Tally(Vec<(&'static str, u64)>);

impl Tally {
    pub fn new(keys: &[&'static str]) -> Tally {
        Tally(keys.iter().map(|k| (*k, 0)).collect())
    }
    pub fn add(&mut self, key: &'static str, n: u64) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v += n,
            None => self.0.push((key, n)),
        }
    }
    pub fn get(&self, key: &str) -> u64 {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(0, |(_, v)| *v)
    }
    /// `key=value key=value ...`
    pub fn line(&self) -> String {
        let kv: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        kv.join(" ")
    }
}

/// Run a blocking store call off the async runtime.
pub async fn on_store<T: Send + 'static>(
    store: &Arc<dyn CentralStore>,
    f: impl FnOnce(&dyn CentralStore) -> T + Send + 'static,
) -> T {
    let s = store.clone();
    tokio::task::spawn_blocking(move || f(s.as_ref()))
        .await
        .expect("store task")
}
