//! Export jobs: a large export runs in the background instead of inside one
//! request (which a proxy or the request timeout would cut), reports its
//! progress, and its files are downloaded when ready, resumable with HTTP
//! `Range`.
//!
//! A job lives in this replica's memory and its files in a private
//! temporary directory, until [`JOB_TTL`] after it finished (or the process
//! ends). Only the user who started a job sees it. With several replicas,
//! the status and download requests must reach the replica that runs the
//! job (ARCHITECTURE.md, "Export jobs").

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use export::{ExportOptions, Manifest};
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;

/// How long a finished job and its files are kept.
pub const JOB_TTL: Duration = Duration::from_secs(3600);
/// Jobs one user may have running at once.
pub const MAX_RUNNING_PER_USER: usize = 2;

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

#[derive(Debug)]
struct Job {
    owner: String,
    format: export::Format,
    /// Interviews the export's filter matches (for the progress ratio).
    total: u64,
    read: Arc<AtomicU64>,
    started: AtomicBool,
    /// The manifest and `manifest.json`'s own entry, or why the job failed.
    outcome: std::sync::Mutex<Option<Result<(Manifest, export::FileEntry), String>>>,
    dir: tempfile::TempDir,
    finished_at: std::sync::Mutex<Option<Instant>>,
}

/// Every export job of this replica.
#[derive(Debug, Default)]
pub struct ExportJobs {
    jobs: std::sync::Mutex<HashMap<Uuid, Arc<Job>>>,
}

/// What `GET /api/v1/exports/{id}` answers.
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    pub id: Uuid,
    pub state: JobState,
    pub format: export::Format,
    /// Interviews read so far, of `total`.
    pub read: u64,
    pub total: u64,
    /// `read / total`, 0 to 1.
    pub progress: f64,
    /// The files, with their download paths, once done.
    pub files: Vec<JobFile>,
    pub manifest: Option<Manifest>,
    pub error: Option<String>,
}

/// One file of a finished job.
#[derive(Debug, Clone, Serialize)]
pub struct JobFile {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
    pub url: String,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ExportJobs {
    /// Drop jobs finished more than [`JOB_TTL`] ago (their files with them).
    fn expire(&self) {
        lock(&self.jobs).retain(|_, j| lock(&j.finished_at).is_none_or(|t| t.elapsed() < JOB_TTL));
    }

    /// The job `id` if `owner` started it (others get "not found").
    fn get(&self, id: Uuid, owner: &str) -> Result<Arc<Job>, ApiError> {
        self.expire();
        lock(&self.jobs)
            .get(&id)
            .filter(|j| j.owner == owner)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("export job {id}")))
    }
}

fn status(id: Uuid, job: &Job) -> JobStatus {
    let read = job.read.load(Ordering::Relaxed);
    let outcome = lock(&job.outcome).clone();
    let (state, manifest, error) = match outcome {
        Some(Ok((m, entry))) => (JobState::Done, Some((m, entry)), None),
        Some(Err(e)) => (JobState::Failed, None, Some(e)),
        None if job.started.load(Ordering::Relaxed) => (JobState::Running, None, None),
        None => (JobState::Queued, None, None),
    };
    let files = manifest
        .iter()
        .flat_map(|(m, entry)| m.files.iter().chain([entry]))
        .map(|f| JobFile {
            name: f.name.clone(),
            bytes: f.bytes,
            sha256: f.sha256.clone(),
            url: format!("/api/v1/exports/{id}/files/{}", f.name),
        })
        .collect::<Vec<_>>();
    let total = job.total.max(read);
    JobStatus {
        id,
        state,
        format: job.format,
        read,
        total,
        progress: if state == JobState::Done {
            1.0
        } else if total == 0 {
            0.0
        } else {
            read as f64 / total as f64
        },
        files,
        manifest: manifest.map(|(m, _)| m),
        error,
    }
}

/// Start an export job for `principal` (options already checked and
/// scoped); returns its first status.
pub async fn start(
    state: &AppState,
    principal: &Principal,
    opts: ExportOptions,
) -> Result<JobStatus, ApiError> {
    let jobs = state.export_jobs.clone();
    jobs.expire();
    let owner = principal.user.id.clone();
    let running = lock(&jobs.jobs)
        .values()
        .filter(|j| j.owner == owner && lock(&j.outcome).is_none())
        .count();
    if running >= MAX_RUNNING_PER_USER {
        return Err(ApiError::TooManyRequests);
    }
    let st = state.clone();
    let filter = central_store::InterviewFilter {
        countries: opts.countries.clone(),
        since_seq: opts.since_seq,
        ..Default::default()
    };
    let total = tokio::task::spawn_blocking(move || st.store.count_interviews(&filter)).await??;
    let dir =
        tempfile::tempdir().map_err(|e| ApiError::Internal(format!("temporary directory: {e}")))?;
    let id = Uuid::now_v7();
    let job = Arc::new(Job {
        owner,
        format: opts.format,
        total,
        read: Arc::new(AtomicU64::new(0)),
        started: AtomicBool::new(false),
        outcome: std::sync::Mutex::new(None),
        dir,
        finished_at: std::sync::Mutex::new(None),
    });
    lock(&jobs.jobs).insert(id, job.clone());
    let st = state.clone();
    let actor = principal.user.clone();
    let include_pii = matches!(opts.pii, export::PiiPolicy::Include);
    let first = status(id, &job);
    tokio::spawn(async move {
        let permit = super::super::routes::export::EXPORT_PERMITS.acquire().await;
        let j = job.clone();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            j.started.store(true, Ordering::Relaxed);
            if include_pii {
                crate::audit::record_first(
                    &st,
                    &actor,
                    "export_pii",
                    &format!("{} via export job", opts.format.as_str()),
                    &format!("countries={:?} since={:?}", opts.countries, opts.since_seq),
                )
                .map_err(|e| e.to_string())?;
            }
            let forms = st.forms();
            let read = j.read.clone();
            let m = export::export_to_dir(st.store.as_ref(), &forms, &opts, j.dir.path(), &mut |n| {
                read.store(n, Ordering::Relaxed);
                true
            })
            .map_err(|e| e.to_string())?;
            let entry = export::file_entry(j.dir.path(), "manifest.json".into())
                .map_err(|e| e.to_string())?;
            tracing::info!(user = %actor.id, format = opts.format.as_str(), rows = m.rows, "export job done");
            Ok::<_, String>((m, entry))
        })
        .await
        .unwrap_or_else(|e| Err(format!("export job: {e}")));
        if let Err(e) = &result {
            tracing::warn!(job = %id, error = %e, "export job failed");
        }
        *lock(&job.outcome) = Some(result);
        *lock(&job.finished_at) = Some(Instant::now());
    });
    Ok(first)
}

/// `principal`'s jobs on this replica, newest first.
pub fn jobs_of(state: &AppState, principal: &Principal) -> Vec<JobStatus> {
    state.export_jobs.expire();
    let mut jobs: Vec<(Uuid, Arc<Job>)> = lock(&state.export_jobs.jobs)
        .iter()
        .filter(|(_, j)| j.owner == principal.user.id)
        .map(|(id, j)| (*id, j.clone()))
        .collect();
    jobs.sort_by_key(|j| std::cmp::Reverse(j.0));
    jobs.iter().map(|(id, j)| status(*id, j)).collect()
}

/// The status of job `id` of `principal`.
pub fn job_status(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
) -> Result<JobStatus, ApiError> {
    let job = state.export_jobs.get(id, &principal.user.id)?;
    Ok(status(id, &job))
}

/// A file of a finished job, ready to send; holding it keeps the job's
/// directory alive.
#[derive(Debug)]
pub struct Download {
    pub path: std::path::PathBuf,
    pub content_type: &'static str,
    _job: Arc<Job>,
}

/// File `name` of finished job `id` of `principal`.
pub fn job_file(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    name: &str,
) -> Result<Download, ApiError> {
    let job = state.export_jobs.get(id, &principal.user.id)?;
    let st = status(id, &job);
    if st.state != JobState::Done {
        return Err(ApiError::Conflict(format!(
            "export job {id} is {}: its files are not ready",
            match st.state {
                JobState::Failed => "failed",
                _ => "still running",
            }
        )));
    }
    if !st.files.iter().any(|f| f.name == name) {
        return Err(ApiError::NotFound(format!(
            "file {name} of export job {id}"
        )));
    }
    Ok(Download {
        path: job.dir.path().join(name),
        content_type: crate::routes::export::file_content_type(job.format, name),
        _job: job,
    })
}
