//! Whole-system randomized model test, on SQLite and on PostgreSQL: the real
//! server binary (behind a proxy that can swallow responses), real device
//! stores synced over HTTP, employees of two countries with one or two
//! devices, a coordinator per country and an admin. A seeded random sequence
//! of operations — field work, syncs, lost acknowledgements, duplicated and
//! reordered requests, SIGKILLed servers, devices restored from old copies,
//! reviews, and forbidden writes from devices — runs against a model of what
//! must hold:
//!
//! - every change the server acknowledged (heads of an `Applied` result, of a
//!   feed, or of a review edit) is on the server at the end;
//! - every forbidden write is refused (`Rejected` or 403) and never reaches
//!   the server: review, tags, meta, comments not by the device's employee as
//!   "employee", writes into another employee's interview;
//! - after clean sync rounds every device holds each of its employee's
//!   interviews exactly as the server does (changes, projection, comments).
//!
//! `FIELDVOICE_MODEL_SEED` picks the seed (printed; decimal or 0x-hex) and
//! `FIELDVOICE_MODEL_OPS` the number of operations. On failure the whole
//! operation log is printed: with the seed it is the reproduction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use central_store::CentralStore;
use device_store::ListFilter;
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::fleet::{
    Fleet, Forbid, Forger, Model, Tally, applied, capture, check_device, copy_store, forge,
    on_store, outcome, post_sync, put_back, random_answer, server_doc, server_has, short, statuses,
};
use fieldvoice_tests::system::{Backend, Rng, System};
use serde_json::{Value as Json, json};
use survey_model::{Answer, ChangeHash, Form, Interview};
use survey_protocol::{DocPush, DocStatus, SyncRequest, SyncResponse};
use sync_client::{SyncError, SyncOptions, SyncReport};
use uuid::Uuid;

const DEFAULT_SEED: u64 = 1;
const DEFAULT_OPS: usize = 450;
/// No operation starts after this; the final rounds and checks follow.
const TIME_BUDGET: Duration = Duration::from_secs(70);
const MAX_KILLS: u64 = 6;
const MAX_RESTORES: u64 = 6;
/// (country, devices) per employee.
const EMPLOYEES: [(&str, usize); 4] = [("CI", 2), ("CI", 1), ("SN", 2), ("SN", 1)];
/// What the summary line counts, in its order.
const COUNTS: &str = "operations syncs dropped duplicated reordered kills restores staff_edits \
    documents_checked acked_changes_checked forbidden_attempted forbidden_refused \
    forbidden_applied forbidden_values lost";

/// The two backends share 2 cores: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_system_sqlite() {
    let _one = SERIAL.lock().await;
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_system_postgres() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    let _one = SERIAL.lock().await;
    run(Backend::Postgres).await;
}

fn env_u64(key: &str) -> Option<u64> {
    let v = std::env::var(key).ok()?;
    match v.trim().strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.trim().parse().ok(),
    }
}

async fn run(backend: Backend) {
    let seed = env_u64("FIELDVOICE_MODEL_SEED").unwrap_or(DEFAULT_SEED);
    let ops = env_u64("FIELDVOICE_MODEL_OPS").map_or(DEFAULT_OPS, |n| n as usize);
    eprintln!(
        "model: seed={seed:#x} backend={} operations={ops}",
        backend.name()
    );
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut sys = System::new(backend, dir.path()).await;
    let fleet = Fleet::create(&mut sys, &EMPLOYEES).await;
    let store = sys.open_store().await;
    let mut w = World {
        sys,
        store,
        fleet,
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        form: fieldvoice_tests::form(),
        rng: Rng::new(seed),
        model: Model::default(),
        problems: Vec::new(),
        log: Vec::new(),
        n: Tally::new(&COUNTS.split_whitespace().collect::<Vec<_>>()),
        files: 0,
    };
    let setup = started.elapsed();
    for i in 0..ops {
        if started.elapsed() > TIME_BUDGET {
            w.note(format!("time budget reached after {i} operations"));
            break;
        }
        w.step(i).await;
        w.n.add("operations", 1);
    }
    w.finish(seed, started, setup).await;
}

struct World {
    sys: System,
    store: Arc<dyn CentralStore>,
    fleet: Fleet,
    /// No connection pooling: every request is a new proxied connection.
    http: reqwest::Client,
    form: Form,
    rng: Rng,
    model: Model,
    /// Unexpected answers along the way (a failed sync on a healthy server…).
    problems: Vec<String>,
    log: Vec<String>,
    n: Tally,
    files: usize,
}

impl World {
    fn note(&mut self, s: String) {
        self.log.push(s);
    }

    fn problem(&mut self, s: String) {
        self.log.push(format!("  PROBLEM {s}"));
        self.problems.push(s);
    }

    fn dev(&self, d: usize) -> &fieldvoice_tests::server::Device {
        &self.fleet.devices[d].d
    }

    /// Record what the device holds as acknowledged (Applied or feed heads).
    fn record_acks(&mut self, d: usize) {
        for (id, heads) in self.dev(d).acknowledged() {
            self.model.ack(id, heads);
        }
    }

    /// The device's interviews in creation order (v7 ids): a seed picks the
    /// same ones on every run.
    fn docs_of(&self, d: usize) -> Vec<Uuid> {
        let list = self.dev(d).lock().list(&ListFilter::default()).unwrap();
        let mut v: Vec<Uuid> = list.into_iter().map(|s| s.id).collect();
        v.sort();
        v
    }

    fn pick_doc(&mut self, d: usize) -> Option<Uuid> {
        let docs = self.docs_of(d);
        self.rng.pick(&docs)
    }

    /// Load, change and save one interview on a device.
    fn edit(&mut self, d: usize, id: Uuid, f: impl FnOnce(&mut Interview, &Form)) {
        let loaded = self.dev(d).lock().load(id);
        match loaded {
            Ok(mut iv) => {
                f(&mut iv, &self.form);
                self.dev(d).lock().save(&mut iv, Some(&self.form)).unwrap();
            }
            Err(e) => self.problem(format!("dev{d} cannot load {}: {e}", short(id))),
        }
    }

    fn new_file(&mut self, what: &str, d: usize) -> PathBuf {
        self.files += 1;
        self.sys
            .dir
            .join(format!("{what}{}-dev{d}.sqlite3", self.files))
    }

    async fn step(&mut self, i: usize) {
        let d = self.rng.below(self.fleet.devices.len());
        match self.rng.below(100) {
            0..=7 => {
                self.op_create(i, d);
            }
            8..=28 => self.op_answers(i, d),
            29..=32 => self.op_submit(i, d),
            33..=35 => self.op_reopen(i, d),
            36..=40 => self.op_device_comment(i, d),
            41..=51 => self.op_staff(i).await,
            52..=66 => self.op_sync(i, d).await,
            67..=71 => self.op_dropped(i, d).await,
            72..=75 => self.op_duplicated(i, d).await,
            76..=78 => self.op_reordered(i, d).await,
            79..=81 => self.op_kill(i, d).await,
            82..=84 => self.op_backup(i, d),
            85..=87 => self.op_restore(i, d),
            _ => self.op_forbidden(i, d).await,
        }
    }

    fn op_create(&mut self, i: usize, d: usize) -> Uuid {
        let k = self.rng.below(3);
        let picks: Vec<_> = (0..k)
            .map(|_| random_answer(&mut self.rng, i as u64))
            .collect();
        let mut s = self.fleet.devices[d].d.lock();
        let mut iv = s.create_interview(&self.form).unwrap();
        for (q, a) in &picks {
            iv.set_answer(&self.form, q, Some(a)).unwrap();
        }
        s.save(&mut iv, Some(&self.form)).unwrap();
        drop(s);
        let (id, emp) = (iv.id(), self.fleet.devices[d].emp);
        self.model.metas.insert(id, iv.meta().clone());
        let owner = self.fleet.employees[emp].id.clone();
        self.model.owner.insert(id, owner);
        self.note(format!("#{i} dev{d} create {} ({k} answers)", short(id)));
        id
    }

    fn op_answers(&mut self, i: usize, d: usize) {
        let Some(id) = self.pick_doc(d) else {
            self.op_create(i, d);
            return;
        };
        let k = 1 + self.rng.below(4);
        let picks: Vec<_> = (0..k)
            .map(|_| random_answer(&mut self.rng, i as u64))
            .collect();
        let names: Vec<&str> = picks.iter().map(|(q, _)| *q).collect();
        self.note(format!("#{i} dev{d} answers {} {names:?}", short(id)));
        self.edit(d, id, |iv, form| {
            for (q, a) in &picks {
                iv.set_answer(form, q, Some(a)).unwrap();
            }
        });
    }

    fn op_submit(&mut self, i: usize, d: usize) {
        let Some(id) = self.pick_doc(d) else { return };
        let nps = self.rng.below(11) as i64;
        self.note(format!("#{i} dev{d} complete+submit {}", short(id)));
        self.edit(d, id, |iv, form| {
            for (q, v) in complete_answers(nps) {
                iv.set_answer_json(form, q, &v).unwrap();
            }
            assert!(iv.submit(form).unwrap().is_complete());
        });
    }

    fn op_reopen(&mut self, i: usize, d: usize) {
        if let Some(id) = self.pick_doc(d) {
            self.note(format!("#{i} dev{d} reopen {}", short(id)));
            self.edit(d, id, |iv, _| iv.reopen().unwrap());
        }
    }

    fn op_device_comment(&mut self, i: usize, d: usize) {
        let Some(id) = self.pick_doc(d) else { return };
        let e = self.dev(d).lock().enrollment().unwrap().unwrap();
        self.note(format!("#{i} dev{d} comment {}", short(id)));
        self.edit(d, id, |iv, _| {
            let text = format!("client absent, repasser ({i})");
            iv.add_comment(&e.user_id, &e.user_name, "employee", &text)
                .unwrap();
        });
    }

    /// A review, comment or tag by the country's coordinator or the admin
    /// (now and then by the other country's coordinator: 404, no change).
    async fn op_staff(&mut self, i: usize) {
        let on_server: Vec<Uuid> = self.model.acked.keys().copied().collect();
        let Some(id) = self.rng.pick(&on_server) else {
            return;
        };
        let country = self.model.metas.get(&id).map(|m| m.country.clone());
        let roll = self.rng.below(100);
        let wrong = roll >= 94;
        let who = match roll {
            0..=19 => 0,
            _ => (1..self.fleet.staff.len())
                .find(|&s| (self.fleet.staff[s].country == country) != wrong)
                .unwrap(),
        };
        const STATES: [&str; 4] = ["received", "has_issues", "approved", "rejected"];
        const TAGS: [&str; 3] = ["theme:network", "root_cause:it", "theme:price"];
        let (what, body) = match self.rng.below(3) {
            0 => ("review", json!({"state": self.rng.pick(&STATES)})),
            1 => (
                "comments",
                json!({"text": format!("merci de vérifier ({i})")}),
            ),
            _ => (
                "tags",
                json!({"tag": self.rng.pick(&TAGS), "on": self.rng.chance(70)}),
            ),
        };
        let url = format!("{}/api/v1/interviews/{id}/{what}", self.sys.proxy.url);
        let token = &self.fleet.staff[who].token;
        let (status, v) = match self
            .http
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
        {
            Ok(r) => (
                r.status().as_u16(),
                r.json::<Json>().await.unwrap_or_default(),
            ),
            Err(e) => return self.problem(format!("#{i} staff {what}: {e}")),
        };
        self.note(format!(
            "#{i} staff{who} {what} {} {body} -> {status}",
            short(id)
        ));
        if wrong && status != 404 {
            self.problem(format!("#{i} the other country's coordinator got {status}"));
        } else if !wrong && status != 200 {
            self.problem(format!("#{i} staff {what} on {}: {status} {v}", short(id)));
        } else if !wrong {
            let heads = v["heads"].as_array().into_iter().flatten();
            let heads: Vec<ChangeHash> = heads
                .filter_map(|h| h.as_str().and_then(survey_model::parse_hash))
                .collect();
            self.model.ack(id, heads);
            self.n.add("staff_edits", 1);
        }
    }

    async fn sync(&mut self, d: usize, attempts: u32) -> Result<SyncReport, SyncError> {
        let opts = SyncOptions {
            batch_docs: [1, 3, 100][self.rng.below(3)],
            attempts,
            backoff: Duration::from_millis(50),
            max_rounds: 200,
        };
        let r = sync_client::sync(&self.http, self.dev(d).store.clone(), &opts).await;
        self.record_acks(d);
        self.n.add("syncs", 1);
        r
    }

    async fn op_sync(&mut self, i: usize, d: usize) {
        let r = self.sync(d, 2).await;
        self.note(format!("#{i} dev{d} sync {}", outcome(&r)));
        if let Err(e) = r {
            self.problem(format!("#{i} dev{d} sync failed: {e}"));
        }
    }

    /// The server applies the request; the response never arrives.
    async fn op_dropped(&mut self, i: usize, d: usize) {
        if self.rng.chance(70) {
            self.op_answers(i, d);
        }
        self.sys.proxy.drop_next(1);
        let opts = SyncOptions {
            attempts: 1,
            ..Default::default()
        };
        let r = sync_client::sync(&self.http, self.dev(d).store.clone(), &opts).await;
        let swallowed = self.sys.proxy.armed() == 0;
        self.sys.proxy.drop_next(0);
        self.record_acks(d);
        self.n.add("dropped", 1);
        self.n.add("syncs", 1);
        self.note(format!(
            "#{i} dev{d} sync, response dropped: {}",
            outcome(&r)
        ));
        if !swallowed || r.is_ok() {
            self.problem(format!("#{i} the dropped response was not dropped"));
        }
    }

    /// POST a captured request as the device; records what the server
    /// acknowledges (the device itself never sees the answer).
    async fn post(&mut self, d: usize, req: &SyncRequest) -> Option<SyncResponse> {
        match post_sync(&self.http, &self.sys.proxy.url, self.dev(d), req).await {
            Ok(r) => {
                for x in r
                    .results
                    .iter()
                    .filter(|x| matches!(x.status, DocStatus::Applied))
                {
                    let heads = x.heads.iter().map(|h| ChangeHash(*h));
                    self.model.ack(x.doc_id, heads.collect::<Vec<_>>());
                }
                Some(r)
            }
            Err(e) => {
                self.problem(format!("dev{d} replayed request: {e}"));
                None
            }
        }
    }

    /// One request delivered twice, possibly around the device's own sync.
    async fn op_duplicated(&mut self, i: usize, d: usize) {
        if capture(self.dev(d), None).docs.is_empty() {
            self.op_answers(i, d);
        }
        let req = capture(self.dev(d), None);
        let first = self.post(d, &req).await;
        let between = self.rng.chance(50);
        if between {
            let _ = self.sync(d, 2).await;
        }
        let second = self.post(d, &req).await;
        self.n.add("duplicated", 1);
        let (s1, s2) = (statuses(first.as_ref()), statuses(second.as_ref()));
        self.note(format!(
            "#{i} dev{d} request twice (sync between: {between}): [{s1}] [{s2}]"
        ));
        for p in &req.docs {
            if applied(first.as_ref(), p.doc_id) && !applied(second.as_ref(), p.doc_id) {
                self.problem(format!("#{i} duplicate of {} not applied", short(p.doc_id)));
            }
        }
    }

    /// Two requests of one interview arriving in reverse order, then the
    /// later one again.
    async fn op_reordered(&mut self, i: usize, d: usize) {
        let Some(x) = self.pick_doc(d) else { return };
        let note = |s: &str| Some(Answer::Text(format!("note {i}{s}")));
        self.edit(d, x, |iv, f| {
            iv.set_answer(f, "interviewer_notes", note("a").as_ref())
                .unwrap()
        });
        let req1 = capture(self.dev(d), Some(x));
        self.edit(d, x, |iv, f| {
            iv.set_answer(f, "interviewer_notes", note("b").as_ref())
                .unwrap()
        });
        let h1: Vec<ChangeHash> = req1.docs[0].heads.iter().map(|h| ChangeHash(*h)).collect();
        let req2 = {
            let s = self.dev(d).lock();
            let mut iv = s.load(x).unwrap();
            let later: Vec<ChangeHash> = iv.changes_since(&h1).iter().map(|c| c.hash()).collect();
            let data = iv.doc_mut().bundle(later).unwrap().bytes().to_vec();
            let heads = iv.heads().iter().map(|h| h.0).collect();
            let base_heads = req1.docs[0].heads.clone();
            let docs = vec![DocPush {
                doc_id: x,
                base_heads,
                heads,
                data,
            }];
            SyncRequest {
                cursor: s.cursor().unwrap(),
                docs,
            }
        };
        let late = self.post(d, &req2).await;
        let early = self.post(d, &req1).await;
        let again = self.post(d, &req2).await;
        self.n.add("reordered", 1);
        let (a, b, c) = (
            statuses(late.as_ref()),
            statuses(early.as_ref()),
            statuses(again.as_ref()),
        );
        self.note(format!(
            "#{i} dev{d} reordered {}: [{a}] [{b}] [{c}]",
            short(x)
        ));
        // A restored device that reused its actor is told so (ActorClash);
        // otherwise both deliveries in order are applied.
        let clash = early.as_ref().is_some_and(|r| {
            r.results
                .iter()
                .any(|x| matches!(x.status, DocStatus::ActorClash { .. }))
        });
        if !clash && (!applied(early.as_ref(), x) || !applied(again.as_ref(), x)) {
            self.problem(format!(
                "#{i} reordered requests of {} not applied",
                short(x)
            ));
        }
    }

    /// SIGKILL the server while a device syncs; restart on the same database.
    async fn op_kill(&mut self, i: usize, d: usize) {
        if self.n.get("kills") >= MAX_KILLS {
            return self.op_sync(i, d).await;
        }
        self.op_answers(i, d);
        let (http, store) = (self.http.clone(), self.dev(d).store.clone());
        let task = tokio::spawn(async move {
            let opts = SyncOptions {
                attempts: 1,
                batch_docs: 1,
                ..Default::default()
            };
            sync_client::sync(&http, store, &opts).await
        });
        let delay = self.rng.below(40) as u64;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        self.sys.kill();
        let r = task.await.unwrap();
        self.record_acks(d);
        self.sys.serve();
        self.n.add("kills", 1);
        self.note(format!(
            "#{i} dev{d} SIGKILL {delay} ms into a sync ({}), restart",
            outcome(&r)
        ));
    }

    fn op_backup(&mut self, i: usize, d: usize) {
        let to = self.new_file("backup", d);
        copy_store(self.dev(d), &to);
        self.fleet.devices[d].backup = Some(to);
        self.note(format!("#{i} dev{d} backup"));
    }

    /// Put an old copy back (same install id, old sync state).
    fn op_restore(&mut self, i: usize, d: usize) {
        if self.n.get("restores") >= MAX_RESTORES || self.fleet.devices[d].backup.is_none() {
            return self.op_backup(i, d);
        }
        let copy = self.fleet.devices[d].backup.take().unwrap();
        let to = self.new_file("restored", d);
        put_back(&mut self.fleet.devices[d].d, &copy, &to);
        self.n.add("restores", 1);
        self.note(format!("#{i} dev{d} RESTORE old copy"));
    }

    /// A write the device may not make, saved in its store and synced; then
    /// the device is rolled back to just before it (so that the rejected
    /// change does not block its later work).
    async fn op_forbidden(&mut self, i: usize, d: usize) {
        let me = self.fleet.devices[d].emp;
        let kind = Forbid::random(&mut self.rng);
        let targets: Vec<Uuid> = match kind {
            Forbid::OtherEmployee => {
                let mine = &self.fleet.employees[me].id;
                let theirs = self
                    .model
                    .acked
                    .keys()
                    .filter(|id| self.model.owner.get(id).is_some_and(|o| o != mine));
                theirs.copied().collect()
            }
            _ => {
                let mine = self.docs_of(d).into_iter();
                mine.filter(|id| self.model.acked.contains_key(id))
                    .collect()
            }
        };
        let Some(x) = self.rng.pick(&targets) else {
            return self.op_sync(i, d).await;
        };
        let _ = self.sync(d, 2).await;
        let rollback = self.new_file("rollback", d);
        copy_store(self.dev(d), &rollback);
        let loaded = match kind {
            Forbid::OtherEmployee => {
                let doc = on_store(&self.store, move |s| server_doc(s, x))
                    .await
                    .unwrap();
                Interview::from_doc(doc, None).map_err(|e| e.to_string())
            }
            _ => self.dev(d).lock().load(x).map_err(|e| e.to_string()),
        };
        let mut iv = match loaded {
            Ok(iv) => iv,
            Err(e) => return self.problem(format!("#{i} dev{d} load {}: {e}", short(x))),
        };
        let (enr, actor) = {
            let s = self.dev(d).lock();
            (s.enrollment().unwrap().unwrap(), s.actor())
        };
        iv.set_actor(actor);
        let marker = format!("FORGED-{i}");
        let foreign_role = if self.rng.chance(50) {
            "coordinator"
        } else {
            "employee"
        };
        let coordinator = 1 + self.rng.below(self.fleet.staff.len() - 1);
        let forger = Forger {
            user_id: &enr.user_id,
            user_name: &enr.user_name,
            country: &enr.country,
            other: &self.fleet.employees[(me + 1) % self.fleet.employees.len()],
            coordinator_id: &self.fleet.staff[coordinator].id,
            foreign_role,
            marker: &marker,
        };
        let h = forge(&mut iv, &self.form, kind, &forger);
        self.dev(d).lock().save(&mut iv, None).unwrap();
        self.n.add("forbidden_attempted", 1);
        let what = format!("#{i} dev{d} {kind:?} on {}", short(x));
        self.model.forbidden.push((x, h, what.clone()));
        let r = self.sync(d, 2).await;
        let refused = match &r {
            Err(SyncError::Refused { status: 403, .. }) => true,
            Ok(rep) => rep.docs_rejected.iter().any(|(id, _)| *id == x),
            Err(_) => false,
        };
        let on_server = on_store(&self.store, move |s| server_has(s, x, &h)).await;
        if refused && !on_server {
            self.n.add("forbidden_refused", 1);
        }
        let reached = if on_server { " -> ON THE SERVER" } else { "" };
        self.note(format!("{what} FORBIDDEN: {}{reached}", outcome(&r)));
        let to = self.new_file("rolledback", d);
        put_back(&mut self.fleet.devices[d].d, &rollback, &to);
    }

    /// Every device holds each of its employee's interviews exactly as the
    /// server does: (pairs checked, divergences).
    async fn check_convergence(&mut self) -> (u64, Vec<String>) {
        let (mut checked, mut bad) = (0, Vec::new());
        for (d, dev) in self.fleet.devices.iter().enumerate() {
            let owner = &self.fleet.employees[dev.emp].id;
            let (n, found) = check_device(&self.store, &dev.d, owner, &self.form).await;
            checked += n;
            bad.extend(found.into_iter().map(|f| format!("dev{d} {f}")));
        }
        (checked, bad)
    }

    async fn finish(mut self, seed: u64, started: Instant, setup: Duration) {
        // Clean rounds: every device syncs, three times over, so changes
        // relayed by the server reach every device of the employee.
        for round in 0..3 {
            for d in 0..self.fleet.devices.len() {
                let r = self.sync(d, 3).await;
                self.note(format!("final round {round} dev{d} sync {}", outcome(&r)));
                if let Err(e) = r {
                    self.problem(format!("final round {round} dev{d} sync failed: {e}"));
                }
            }
        }
        let (checked, diverged) = self.check_convergence().await;
        let model = std::mem::take(&mut self.model);
        let staff = self.fleet.staff_roles();
        let ((acked_checked, lost), (applied, values)) = on_store(&self.store, move |s| {
            (model.check_acked(s), model.check_forbidden(s, &staff))
        })
        .await;
        let n = &mut self.n;
        n.add("documents_checked", checked);
        n.add("acked_changes_checked", acked_checked);
        n.add("forbidden_applied", applied.len() as u64);
        n.add("forbidden_values", values.len() as u64);
        n.add("lost", lost.len() as u64);
        n.add("diverged", diverged.len() as u64);
        n.add("problems", self.problems.len() as u64);
        let (backend, secs) = (self.sys.backend.name(), started.elapsed().as_secs_f64());
        let setup = setup.as_secs_f64();
        let line = n.line();
        eprintln!(
            "model: seed={seed:#x} backend={backend} {line} setup={setup:.1}s total={secs:.1}s"
        );
        use fieldvoice_tests::report;
        for (key, name) in [
            ("model_operations", "operations"),
            ("documents_checked", "documents_checked"),
            ("acked_changes_checked", "acked_changes_checked"),
            ("forbidden_writes_attempted", "forbidden_attempted"),
            ("forbidden_writes_refused", "forbidden_refused"),
            ("losses", "lost"),
        ] {
            report(key, n.get(name));
        }
        report(
            "forbidden_writes_applied",
            (applied.len() + values.len()) as u64,
        );
        let faults = ["dropped", "kills", "restores", "duplicated", "reordered"];
        report("faults_injected", faults.iter().map(|k| n.get(k)).sum());
        let (attempted, refused) = (n.get("forbidden_attempted"), n.get("forbidden_refused"));
        let findings: Vec<&String> = (applied.iter().chain(&values).chain(&lost))
            .chain(diverged.iter().chain(&self.problems))
            .collect();
        if !findings.is_empty() || attempted != refused {
            eprintln!(
                "--- operation log, seed {seed:#x}, {} ---",
                self.sys.backend.name()
            );
            self.log.iter().for_each(|l| eprintln!("{l}"));
            eprintln!("--- findings ---");
            findings.iter().for_each(|l| eprintln!("{l}"));
        }
        let empty = |v: &[String], what: &str| assert!(v.is_empty(), "{what}: {}", v[0]);
        empty(&applied, "forbidden writes reached the server");
        empty(&values, "forbidden values on the server");
        empty(&lost, "acknowledged changes lost");
        assert_eq!(attempted, refused, "every forbidden write is refused");
        empty(&diverged, "devices and server diverge");
        empty(&self.problems, "unexpected answers");
    }
}
