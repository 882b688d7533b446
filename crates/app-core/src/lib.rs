//! app-core owns the field app's commands, without any window: enrolling a
//! device (server URL + code, or a `fieldvoice://enroll` link), listing the
//! employee's interviews with a status the UI can show, building the view of
//! an interview (labels in the chosen language, skip logic, answers,
//! diagnostics — all computed by survey-model), saving each answer durably in
//! the device store before returning (with the form's calculations and
//! recorded metadata brought up to date, and repeat instances added or
//! removed), submitting and reopening, and running
//! sync (manual or automatic, with backoff) while keeping its progress.
//!
//! Between commands it keeps the parsed forms and the open interview in
//! memory (`session`); the store stays the truth: the copy is used only while
//! the stored heads are the copy's, and every change is saved before the
//! command returns.
//!
//! The Tauri shell (`app-ui/src-tauri`) is a thin layer of commands over
//! [`App`]. This crate must not depend on Tauri or a webview, read the
//! environment or configuration files, or log answers, names or tokens.

pub mod autosync;
pub mod link;
mod session;
pub mod view;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use device_store::{DeviceStore, InterviewSummary, ListFilter, StoreError, SyncStatus};
use serde::{Deserialize, Serialize};
use survey_model::{Form, Interview, ModelError};
use sync_client::{SyncError, SyncOptions};
use uuid::Uuid;

pub use autosync::AutoSync;
pub use device_store::{FileState, StoreKey, file_state};
pub use link::{EnrollTarget, normalize_server_url, parse_enroll_input};
pub use view::{FormView, direction, form_view};

use session::Session;

/// File name of the device store inside the app data directory.
pub const STORE_FILE: &str = "fieldvoice-device.sqlite3";

/// Errors of an app command, shown to the employee as text.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Input(String),
    #[error("this device is not enrolled yet")]
    NotEnrolled,
    #[error("this interview is submitted; reopen it to change answers")]
    Submitted,
    #[error("no form is available on this device; enroll again")]
    NoForm,
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Model(#[from] ModelError),
    #[error("{0}")]
    Sync(#[from] SyncError),
    #[error("background task failed: {0}")]
    Join(String),
}

impl AppError {
    /// A short machine code for the UI to translate.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Input(_) => "input",
            AppError::NotEnrolled => "not_enrolled",
            AppError::Submitted => "submitted",
            AppError::NoForm => "no_form",
            AppError::Store(StoreError::NotFound(_)) => "not_found",
            AppError::Store(_) => "store",
            AppError::Model(_) => "invalid_answer",
            AppError::Sync(e) => sync_error_code(e),
            AppError::Join(_) => "internal",
        }
    }
}

impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("AppError", 2)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Where an interview stands, as the employee sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UiState {
    /// Being filled in (or reopened to fix it).
    Draft,
    /// Submitted here, not yet acknowledged by the server.
    Waiting,
    /// Submitted and acknowledged by the server.
    Synced,
    /// The coordinator flagged it or commented, or the server refused it.
    Issues,
}

impl UiState {
    /// Derive the state from a store summary.
    pub fn of(s: &InterviewSummary) -> UiState {
        let review = s.review_state.as_deref();
        let flagged = review == Some("has_issues")
            || (s.comment_count > 0 && !matches!(review, Some("approved")));
        let waiting = s.status == "submitted" && s.sync == SyncStatus::Pending;
        if s.sync_error.is_some() || (flagged && !waiting) {
            UiState::Issues
        } else if s.status != "submitted" {
            UiState::Draft
        } else if waiting {
            UiState::Waiting
        } else {
            UiState::Synced
        }
    }
}

/// One row of the "my interviews" list.
#[derive(Debug, Clone, Serialize)]
pub struct ListItem {
    #[serde(flatten)]
    pub summary: InterviewSummary,
    pub state: UiState,
    /// The segment's option label in the requested language.
    pub segment_label: Option<String>,
}

/// A form on the device the interviewer can start an interview on.
#[derive(Debug, Clone, Serialize)]
pub struct FormItem {
    pub form_id: String,
    /// Its newest version on the device.
    pub version: u32,
    /// The title in the asked language (else the form's default).
    pub title: String,
}

/// Filter of the interview list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    /// Search in city, names, verbatim and id.
    #[serde(default)]
    pub text: Option<String>,
    /// Only interviews in this state.
    #[serde(default)]
    pub state: Option<UiState>,
    /// Language of option labels in the rows (default: the form's).
    #[serde(default)]
    pub lang: Option<String>,
}

/// What the last sync run did, for the UI.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncSummary {
    pub sent: usize,
    pub acknowledged: usize,
    pub rejected: usize,
    pub received_changes: usize,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub rounds: usize,
}

#[derive(Debug, Clone, Default)]
struct SyncProgress {
    syncing: bool,
    last_attempt_ms: Option<i64>,
    last_error: Option<(String, String)>,
    last_report: Option<SyncSummary>,
}

/// The device's state for the header and the sync screen.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub enrolled: bool,
    pub user_name: Option<String>,
    pub server_url: Option<String>,
    pub campaign: Option<String>,
    pub country: Option<String>,
    /// Interviews with changes the server has not acknowledged.
    pub pending: usize,
    pub total: usize,
    /// Last acknowledgement by the server (Unix ms).
    pub last_sync_ms: Option<i64>,
    pub last_attempt_ms: Option<i64>,
    pub syncing: bool,
    pub last_error_code: Option<String>,
    pub last_error: Option<String>,
    pub last_report: Option<SyncSummary>,
    /// The employee's field day, when assigned: place, team, targets and
    /// what this phone has submitted there (counted offline).
    pub my_day: Option<MyDay>,
}

/// "My place, my targets, done so far", from the assignment the server sent
/// and this phone's own submitted interviews.
#[derive(Debug, Clone, Serialize)]
pub struct MyDay {
    pub place_code: String,
    pub place_name: String,
    pub team: String,
    pub targets: Vec<MyTarget>,
}

/// One segment of [`MyDay`].
#[derive(Debug, Clone, Serialize)]
pub struct MyTarget {
    pub segment: String,
    /// The place's target (all employees there), if set.
    pub place: Option<u32>,
    /// This employee's own target, if set.
    pub mine: Option<u32>,
    /// Interviews of this segment this phone submitted at the place.
    pub done: usize,
}

/// Once consent is given, a form's place question starts at the employee's
/// assigned place (when unanswered and the place is offered); the interviewer
/// can change it.
fn prefill_place(
    s: &device_store::DeviceStore,
    form: &survey_model::Form,
    iv: &mut survey_model::Interview,
) -> Result<()> {
    let name = survey_model::mcmb::PLACE_QUESTION;
    let Some(q) = form.question(name) else {
        return Ok(());
    };
    if q.choices_from.is_none() || iv.answers(form).contains_key(name) {
        return Ok(());
    }
    if let Some(a) = s.assignment()?
        && form.accepts_option(q, &a.place_code)
    {
        iv.set_answer_json(form, name, &serde_json::json!(a.place_code))?;
    }
    Ok(())
}

/// [`MyDay`] from an assignment and the phone's interview summaries.
pub fn my_day(
    a: &survey_model::places::FieldAssignment,
    interviews: &[device_store::InterviewSummary],
) -> MyDay {
    let done = |segment: &str| {
        interviews
            .iter()
            .filter(|i| i.status == "submitted")
            .filter(|i| i.place.as_deref() == Some(a.place_code.as_str()))
            .filter(|i| i.segment.as_deref() == Some(segment))
            .count()
    };
    MyDay {
        place_code: a.place_code.clone(),
        place_name: a.place_name.clone(),
        team: a.team.clone(),
        targets: a
            .targets
            .iter()
            .map(|t| MyTarget {
                segment: t.segment.clone(),
                place: t.place,
                mine: t.mine,
                done: done(&t.segment),
            })
            .collect(),
    }
}

/// Whether the interviewer may change `question` (answered, not computed
/// or read-only) or the instances of `repeat` (not counted by the form) of
/// a draft interview.
fn editable(
    iv: &Interview,
    form: &Form,
    question: Option<&str>,
    repeat: Option<&str>,
) -> Result<()> {
    if iv.status() == "submitted" {
        return Err(AppError::Submitted);
    }
    if let Some(name) = question
        && form
            .question(name)
            .is_some_and(|q| !q.kind.is_asked() || q.read_only)
    {
        return Err(AppError::Input(format!(
            "`{name}` is set by the form, not answered"
        )));
    }
    if let Some(r) = repeat
        && form.repeat(r).is_some_and(|r| r.repeat_count.is_some())
    {
        return Err(AppError::Input(format!(
            "the form sets how many `{r}` there are"
        )));
    }
    Ok(())
}

/// Bring an interview's calculations up to date (today's UTC date and time).
fn recalculate(iv: &mut Interview, form: &Form) -> Result<usize> {
    let (now, _) = survey_model::now();
    Ok(iv.recalculate(form, survey_model::validate::today(), &now)?)
}

/// The outcome of a submit: either submitted, or the view with its problems.
#[derive(Debug, Clone, Serialize)]
pub struct SubmitOutcome {
    pub submitted: bool,
    pub view: FormView,
}

/// The field app: one device store and one HTTP client.
#[derive(Debug)]
pub struct App {
    store: Arc<Mutex<DeviceStore>>,
    /// Parsed forms and the open interview, locked only while holding `store`.
    session: Arc<Mutex<Session>>,
    http: reqwest::Client,
    device_label: String,
    sync_lock: tokio::sync::Mutex<()>,
    progress: Mutex<SyncProgress>,
    sync_options: SyncOptions,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl App {
    /// Open (or create) the plaintext device store in `data_dir` (tests and
    /// tools; the field app uses [`App::open_encrypted`]).
    pub fn open(data_dir: &Path, device_label: &str) -> Result<App> {
        let store = DeviceStore::open(&Self::store_path(data_dir)?)?;
        Self::with_store_opened(store, device_label)
    }

    /// Open (or create) the device store in `data_dir` encrypted under `key`;
    /// a plaintext store left by an older version is converted first.
    pub fn open_encrypted(data_dir: &Path, device_label: &str, key: &StoreKey) -> Result<App> {
        let store = DeviceStore::open_encrypted(&Self::store_path(data_dir)?, key)?;
        Self::with_store_opened(store, device_label)
    }

    /// The store file in `data_dir`, which is created if missing.
    pub fn store_path(data_dir: &Path) -> Result<std::path::PathBuf> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| AppError::Input(format!("cannot create {}: {e}", data_dir.display())))?;
        Ok(data_dir.join(STORE_FILE))
    }

    fn with_store_opened(store: DeviceStore, device_label: &str) -> Result<App> {
        Ok(App {
            store: Arc::new(Mutex::new(store)),
            session: Arc::default(),
            http: sync_client::http_client()?,
            device_label: device_label.to_owned(),
            sync_lock: tokio::sync::Mutex::new(()),
            progress: Mutex::new(SyncProgress::default()),
            sync_options: SyncOptions {
                attempts: 2,
                backoff: Duration::from_millis(500),
                ..SyncOptions::default()
            },
        })
    }

    /// Replace the per-request retry options of manual and automatic syncs.
    pub fn set_sync_options(&mut self, opts: SyncOptions) {
        self.sync_options = opts;
    }

    async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DeviceStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut s = store.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut s)
        })
        .await
        .map_err(|e| AppError::Join(e.to_string()))?
    }

    /// Run `f` with the store and the session (parsed forms, open interview).
    async fn with_session<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DeviceStore, &mut Session) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let session = self.session.clone();
        self.with_store(move |s| {
            let mut session = session.lock().unwrap_or_else(PoisonError::into_inner);
            f(s, &mut session)
        })
        .await
    }

    fn progress(&self) -> std::sync::MutexGuard<'_, SyncProgress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run `f` on interview `id` with its form (see [`on_interview`]).
    async fn with_interview<T: Send + 'static>(
        &self,
        id: Uuid,
        f: impl FnOnce(&mut DeviceStore, &Form, &mut Interview) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.with_session(move |s, session| on_interview(s, session, id, f))
            .await
    }

    /// Make the interviewer's `change` to interview `id`, then bring its
    /// calculations up to date, save it durably and return its view in `lang`.
    async fn edit(
        &self,
        id: Uuid,
        lang: String,
        change: impl FnOnce(&mut DeviceStore, &Form, &mut Interview) -> Result<()> + Send + 'static,
    ) -> Result<FormView> {
        self.with_interview(id, move |s, form, iv| {
            change(s, form, iv)?;
            recalculate(iv, form)?;
            s.save(iv, Some(form))?;
            Ok(form_view(form, iv, &lang))
        })
        .await
    }

    /// Enrollment, pending work and sync progress.
    pub async fn status(&self) -> Result<Status> {
        let (enrollment, pending, total, last_sync_ms, my_day) = self
            .with_store(|s| {
                let pending = s
                    .list(&ListFilter {
                        sync: Some(SyncStatus::Pending),
                        ..ListFilter::default()
                    })?
                    .len();
                let day = match s.assignment()? {
                    Some(a) => Some(my_day(&a, &s.list(&ListFilter::default())?)),
                    None => None,
                };
                Ok((s.enrollment()?, pending, s.count()?, s.last_sync_ms()?, day))
            })
            .await?;
        let p = self.progress().clone();
        Ok(Status {
            enrolled: enrollment.is_some(),
            user_name: enrollment.as_ref().map(|e| e.user_name.clone()),
            server_url: enrollment.as_ref().map(|e| e.server_url.clone()),
            campaign: enrollment.as_ref().map(|e| e.campaign.clone()),
            country: enrollment.as_ref().map(|e| e.country.clone()),
            pending,
            total,
            last_sync_ms,
            last_attempt_ms: p.last_attempt_ms,
            syncing: p.syncing,
            last_error_code: p.last_error.as_ref().map(|e| e.0.clone()),
            last_error: p.last_error.map(|e| e.1),
            last_report: p.last_report,
            my_day,
        })
    }

    /// Enroll with a server URL and a one-time code (either may be the QR link).
    pub async fn enroll(&self, server: &str, code: &str) -> Result<Status> {
        let target = parse_enroll_input(server, code)?;
        sync_client::enroll(
            &self.http,
            self.store.clone(),
            &target.server_url,
            &target.code,
            &self.device_label,
        )
        .await?;
        tracing::info!("device enrolled");
        self.status().await
    }

    /// Point the enrollment at another address of the same server.
    pub async fn set_server_url(&self, url: &str) -> Result<Status> {
        let url = normalize_server_url(url)?;
        self.with_store(move |s| {
            let mut e = s.enrollment()?.ok_or(AppError::NotEnrolled)?;
            e.server_url = url;
            s.set_enrollment(&e)?;
            Ok(())
        })
        .await?;
        self.status().await
    }

    /// The employee's interviews, newest first.
    pub async fn list(&self, q: ListQuery) -> Result<Vec<ListItem>> {
        self.with_session(move |s, session| {
            let rows = s.list(&ListFilter {
                text: q.text.clone(),
                ..ListFilter::default()
            })?;
            let mut out = Vec::with_capacity(rows.len());
            for summary in rows {
                let state = UiState::of(&summary);
                if q.state.is_some_and(|st| st != state) {
                    continue;
                }
                let form = session.form(s, &summary.form_id, summary.form_version).ok();
                let segment_label = summary.segment.as_deref().and_then(|v| {
                    let form = form.as_ref()?;
                    let def = form.def();
                    let lang = q.lang.as_deref().unwrap_or(&def.default_language);
                    let opt = form
                        .question("segment")?
                        .options
                        .iter()
                        .find(|o| o.value == v)?;
                    Some(opt.label.get(lang, &def.default_language).to_owned())
                });
                out.push(ListItem {
                    summary,
                    state,
                    segment_label,
                });
            }
            Ok(out)
        })
        .await
    }

    /// The forms on the device (newest version of each), by form id.
    pub async fn forms(&self, lang: String) -> Result<Vec<FormItem>> {
        self.with_session(move |s, session| {
            let mut ids: Vec<String> = s.forms()?.into_iter().map(|(id, _)| id).collect();
            ids.dedup();
            ids.into_iter()
                .map(|id| {
                    let form = session.newest_form(s, Some(id))?;
                    let def = form.def();
                    Ok(FormItem {
                        form_id: def.form_id.clone(),
                        version: def.version,
                        title: def.title.get(&lang, &def.default_language).to_owned(),
                    })
                })
                .collect()
        })
        .await
    }

    /// Start an interview on `form_id` (default: the newest form on the device).
    pub async fn new_interview(&self, form_id: Option<String>, lang: String) -> Result<FormView> {
        self.with_session(move |s, session| {
            if s.enrollment()?.is_none() {
                return Err(AppError::NotEnrolled);
            }
            let form = session.newest_form(s, form_id)?;
            let mut iv = s.create_interview(&form)?;
            if recalculate(&mut iv, &form)? > 0 {
                s.save(&mut iv, Some(&form))?;
            }
            tracing::info!(interview = %iv.id(), "interview started");
            let view = form_view(&form, &iv, &lang);
            session.keep(iv);
            Ok(view)
        })
        .await
    }

    /// The view of one interview in `lang`.
    pub async fn form_view(&self, id: Uuid, lang: String) -> Result<FormView> {
        self.with_interview(id, move |_, form, iv| Ok(form_view(form, iv, &lang)))
            .await
    }

    /// Set (or clear, with null) one answer; durable when this returns.
    pub async fn set_answer(
        &self,
        id: Uuid,
        question: String,
        value: serde_json::Value,
        lang: String,
    ) -> Result<FormView> {
        self.edit(id, lang, move |s, form, iv| {
            editable(iv, form, Some(&question), None)?;
            iv.set_answer_json(form, &question, &value)?;
            if question == "consent" && value == serde_json::Value::Bool(true) {
                prefill_place(s, form, iv)?;
            }
            Ok(())
        })
        .await
    }

    /// Set (or clear, with null) the answer to `question` in instance
    /// `index` of its repeat; durable when this returns.
    pub async fn set_instance_answer(
        &self,
        id: Uuid,
        index: usize,
        question: String,
        value: serde_json::Value,
        lang: String,
    ) -> Result<FormView> {
        self.edit(id, lang, move |_, form, iv| {
            editable(iv, form, Some(&question), None)?;
            Ok(iv.set_instance_answer_json(form, index, &question, &value)?)
        })
        .await
    }

    /// Record where the interview started (the form's `start_geopoint`
    /// metadata), once: a later position never replaces the first.
    pub async fn record_start_geopoint(
        &self,
        id: Uuid,
        lat: f64,
        lon: f64,
        accuracy: Option<f64>,
        lang: String,
    ) -> Result<FormView> {
        let point = survey_model::GeoPoint { lat, lon, accuracy };
        if !point.is_valid() || !lat.is_finite() || !lon.is_finite() {
            return Err(AppError::Input(
                "not a position (latitude -90..90, longitude -180..180)".into(),
            ));
        }
        self.with_interview(id, move |s, form, iv| {
            editable(iv, form, None, None)?;
            let answers = iv.answers(form);
            let target = form
                .metadata_questions("start_geopoint")
                .find(|q| !answers.contains_key(&q.name));
            if let Some(q) = target {
                let name = q.name.clone();
                iv.set_answer(
                    form,
                    &name,
                    Some(&survey_model::Answer::Text(point.encode())),
                )?;
                s.save(iv, Some(form))?;
            }
            Ok(form_view(form, iv, &lang))
        })
        .await
    }

    /// Add an instance to `repeat` (one the interviewer grows by hand).
    pub async fn add_instance(&self, id: Uuid, repeat: String, lang: String) -> Result<FormView> {
        self.edit(id, lang, move |_, form, iv| {
            editable(iv, form, None, Some(&repeat))?;
            iv.add_instance(form, &repeat)?;
            Ok(())
        })
        .await
    }

    /// Remove instance `index` of `repeat`.
    pub async fn remove_instance(
        &self,
        id: Uuid,
        repeat: String,
        index: usize,
        lang: String,
    ) -> Result<FormView> {
        self.edit(id, lang, move |_, form, iv| {
            editable(iv, form, None, Some(&repeat))?;
            Ok(iv.remove_instance(form, &repeat, index)?)
        })
        .await
    }

    /// Submit when nothing blocks it; otherwise return the problems.
    pub async fn submit(&self, id: Uuid, lang: String) -> Result<SubmitOutcome> {
        self.with_interview(id, move |s, form, iv| {
            let eval = iv.submit(form)?;
            let submitted = eval.is_complete();
            if submitted {
                s.save(iv, Some(form))?;
                s.set_sync_error(id, None)?;
                tracing::info!(interview = %id, "interview submitted");
            }
            Ok(SubmitOutcome {
                submitted,
                view: form_view(form, iv, &lang),
            })
        })
        .await
    }

    /// Return a submitted interview to draft so it can be fixed.
    pub async fn reopen(&self, id: Uuid, lang: String) -> Result<FormView> {
        self.with_interview(id, move |s, form, iv| {
            iv.reopen()?;
            s.save(iv, Some(form))?;
            Ok(form_view(form, iv, &lang))
        })
        .await
    }

    /// Reply to the coordinator on an interview.
    pub async fn add_comment(&self, id: Uuid, text: String, lang: String) -> Result<FormView> {
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Err(AppError::Input("the comment is empty".into()));
        }
        if text.chars().count() > 2000 {
            return Err(AppError::Input(
                "the comment is longer than 2000 characters".into(),
            ));
        }
        self.with_session(move |s, session| {
            let who = s.enrollment()?.ok_or(AppError::NotEnrolled)?;
            on_interview(s, session, id, |s, form, iv| {
                iv.add_comment(&who.user_id, &who.user_name, "employee", &text)?;
                s.save(iv, Some(form))?;
                Ok(form_view(form, iv, &lang))
            })
        })
        .await
    }

    /// Sync now (waits for a run already in progress, then runs again).
    pub async fn sync_now(&self) -> Result<Status> {
        let _guard = self.sync_lock.lock().await;
        {
            let mut p = self.progress();
            p.syncing = true;
            p.last_attempt_ms = Some(now_ms());
        }
        let result = sync_client::sync(&self.http, self.store.clone(), &self.sync_options).await;
        {
            let mut p = self.progress();
            p.syncing = false;
            match &result {
                Ok(r) => {
                    tracing::info!(
                        sent = r.docs_sent,
                        acknowledged = r.docs_acknowledged,
                        rejected = r.docs_rejected.len(),
                        feed = r.feed_changes,
                        "sync done"
                    );
                    p.last_error = None;
                    p.last_report = Some(SyncSummary {
                        sent: r.docs_sent,
                        acknowledged: r.docs_acknowledged,
                        rejected: r.docs_rejected.len(),
                        received_changes: r.feed_changes,
                        bytes_up: r.bytes_up,
                        bytes_down: r.bytes_down,
                        rounds: r.rounds,
                    });
                }
                Err(e) => {
                    let code = sync_error_code(e);
                    tracing::warn!(code, "sync failed");
                    p.last_error = Some((code.to_owned(), e.to_string()));
                }
            }
        }
        match result {
            Ok(_) => self.status().await,
            Err(e) => Err(e.into()),
        }
    }

    /// Whether an automatic sync is worth trying (enrolled, and work pending
    /// or it is time to poll for the coordinator's comments).
    pub async fn is_enrolled(&self) -> Result<bool> {
        self.with_store(|s| Ok(s.enrollment()?.is_some())).await
    }
}

fn sync_error_code(e: &SyncError) -> &'static str {
    match e {
        SyncError::Network(_) => "offline",
        SyncError::Unauthorized => "unauthorized",
        SyncError::Refused { .. } => "refused",
        SyncError::NotEnrolled => "not_enrolled",
        _ => "sync",
    }
}

/// Run `f` on interview `id` (the session's open copy while the store is
/// still at it) with its form. The interview stays open when `f` succeeds;
/// when it fails, the copy is dropped (it may hold changes not on disk) and
/// the next command loads the stored one.
fn on_interview<T>(
    s: &mut DeviceStore,
    session: &mut Session,
    id: Uuid,
    f: impl FnOnce(&mut DeviceStore, &Form, &mut Interview) -> Result<T>,
) -> Result<T> {
    let mut iv = session.take(s, id)?;
    let form = session.form_of(s, &iv)?;
    let out = f(s, &form, &mut iv)?;
    session.keep(iv);
    Ok(out)
}
