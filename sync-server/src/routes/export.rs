//! Exports and the analysis report for analysts, coordinators and admins,
//! scoped to the countries the caller may export.
//!
//! `GET /api/v1/export/{format}?country=CI,SN&pii=omit&lang=fr&since=SEQ&part=data`
//! writes the export into a private temporary directory on a blocking thread,
//! then streams the requested file (`data`, `dictionary` or `manifest`) from
//! disk: memory stays flat whatever the dataset size. The manifest's dataset
//! version, row count and max seq also travel as response headers.
//! `GET /api/v1/report?country=CI&lang=fr&format=html|json` renders the summary.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use export::{ExportOptions, Format, PiiPolicy};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Action, Principal, authorize};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::scope::{Purpose, Scope};

/// The parts of an export a request can ask for (`part=`), with their file
/// names (`None`: the data file, named by its format).
pub const PARTS: [(&str, Option<&str>); 7] = [
    ("data", None),
    ("dictionary", Some("dictionary.csv")),
    ("manifest", Some("manifest.json")),
    ("actions", Some("actions.csv")),
    ("codebook", Some("codebook.json")),
    ("codebook_csv", Some("codebook.csv")),
    ("removed", Some("removed.csv")),
];
/// Content type of `part=dictionary` (`dictionary.csv`).
pub const DICTIONARY_CONTENT_TYPE: &str = "text/csv; charset=utf-8";
/// Content type of `part=manifest` (`manifest.json`).
pub const MANIFEST_CONTENT_TYPE: &str = "application/json";
/// Content types of `GET /api/v1/report` by `format=`.
pub const REPORT_CONTENT_TYPES: [(&str, &str); 2] = [
    ("html", "text/html; charset=utf-8"),
    ("json", "application/json"),
];

/// The content type of one export answer: the one table the handler, export
/// jobs and the OpenAPI document (`openapi.rs`) read. `None` for an unknown part.
pub fn export_content_type(format: Format, part: &str) -> Option<&'static str> {
    part_file(format, part).map(|name| file_content_type(format, &name))
}

/// The content type of file `name` of an export in `format`: the data file's
/// own, JSON for `.json` files, CSV for the others.
pub fn file_content_type(format: Format, name: &str) -> &'static str {
    if name == format.file_name() {
        format.content_type()
    } else if name.ends_with(".json") {
        MANIFEST_CONTENT_TYPE
    } else {
        DICTIONARY_CONTENT_TYPE
    }
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    /// Comma-separated country codes (default: every country the caller may export).
    pub country: Option<String>,
    /// omit (default), pseudonymize or include (admins only; audited).
    pub pii: Option<String>,
    pub lang: Option<String>,
    pub since: Option<u64>,
    /// data (default), dictionary, manifest, actions, codebook (JSON),
    /// codebook_csv or removed (`removed.csv`, with `since`).
    pub part: Option<String>,
    /// codes (default), columns or values.
    pub labels: Option<String>,
    /// CSV with a UTF-8 byte order mark, for Excel.
    pub excel: Option<bool>,
    /// Add the review comments' text.
    pub comments: Option<bool>,
    pub include_drafts: Option<bool>,
    pub include_rejected: Option<bool>,
}

/// The export a query asks for, checked: the one reading of [`ExportQuery`]
/// for direct downloads and export jobs. Raw PII needs [`Action::ExportPii`].
pub fn export_options(
    state: &AppState,
    principal: &Principal,
    format: Format,
    q: &ExportQuery,
) -> Result<ExportOptions, ApiError> {
    let countries = Scope::resolve(principal, Purpose::Export, q.country.as_deref())?.filter();
    let lang = export::parse_lang(q.lang.as_deref().unwrap_or("en"))?;
    let pii = match q.pii.as_deref().unwrap_or("omit") {
        "omit" => PiiPolicy::Omit,
        "pseudonymize" | "pseudonymise" => match &state.settings.pseudonym_key {
            Some(k) => PiiPolicy::Pseudonymize(k.clone()),
            None => {
                return Err(ApiError::BadRequest(
                    "this server has no pseudonym key configured (FIELDVOICE_PSEUDONYM_KEY)".into(),
                ));
            }
        },
        "include" => {
            authorize(principal, Action::ExportPii)?;
            PiiPolicy::Include
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "pii must be omit, pseudonymize or include (got `{other}`)"
            )));
        }
    };
    Ok(ExportOptions {
        format,
        countries,
        since_seq: q.since,
        pii,
        lang,
        labels: export::Labels::parse(q.labels.as_deref().unwrap_or("codes"))?,
        excel: q.excel.unwrap_or(false),
        comments: q.comments.unwrap_or(false),
        base: export::BaseRule {
            include_drafts: q.include_drafts.unwrap_or(false),
            include_rejected: q.include_rejected.unwrap_or(false),
        },
    })
}

/// The file name of export part `part` (checked by [`export_content_type`]).
pub fn part_file(format: Format, part: &str) -> Option<String> {
    PARTS
        .iter()
        .find(|(p, _)| *p == part)
        .map(|(_, f)| f.map_or_else(|| format.file_name(), str::to_owned))
}

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    pub country: Option<String>,
    pub lang: Option<String>,
    /// html (default) or json.
    pub format: Option<String>,
    /// A campaign id, or `all`; default: the server's campaign.
    pub campaign: Option<String>,
    /// Comma-separated place codes.
    pub place: Option<String>,
    /// Comma-separated segments.
    pub segment: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Comma-separated review states (`none`: not reviewed).
    pub review_state: Option<String>,
    /// Count interviews rejected in review too.
    pub include_rejected: Option<bool>,
}

impl From<export::ExportError> for ApiError {
    fn from(e: export::ExportError) -> Self {
        use export::ExportError as E;
        match e {
            E::Invalid(m) => ApiError::BadRequest(m),
            E::Store(s) => s.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Exports running at once (each is one blocking thread doing a full scan);
/// further requests wait their turn.
pub(crate) static EXPORT_PERMITS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// `GET /api/v1/export/{format}`.
pub async fn export(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(format): ApiPath<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let format = Format::parse(&format)?;
    let part = q.part.as_deref().unwrap_or("data");
    let (Some(content_type), Some(name)) =
        (export_content_type(format, part), part_file(format, part))
    else {
        return Err(ApiError::BadRequest(
            "part must be data, dictionary, manifest, actions, codebook, codebook_csv or removed"
                .into(),
        ));
    };
    if part == "removed" && q.since.is_none() {
        return Err(ApiError::BadRequest(
            "part=removed lists what left the dataset since a point: give since=SEQ".into(),
        ));
    }
    let opts = export_options(&state, &principal, format, &q)?;
    let include_pii = matches!(opts.pii, PiiPolicy::Include);
    let countries = opts.countries.clone();
    let actor = principal.user.clone();
    let permit = EXPORT_PERMITS
        .acquire()
        .await
        .map_err(|_| ApiError::Unavailable)?;
    let st = state.clone();
    let (file, manifest) = tokio::task::spawn_blocking(move || {
        if include_pii {
            crate::audit::record_first(
                &st,
                &actor,
                "export_pii",
                &format!("{} via http", format.as_str()),
                &format!("countries={countries:?} since={:?}", opts.since_seq),
            )?;
        }
        let dir = tempfile::tempdir()
            .map_err(|e| ApiError::Internal(format!("temporary directory: {e}")))?;
        let forms = st.forms();
        let manifest =
            export::export_to_dir(st.store.as_ref(), &forms, &opts, dir.path(), &mut |_| true)?;
        // The open file outlives the directory (unlinked on drop): streamed from disk.
        let file = std::fs::File::open(dir.path().join(&name))
            .map_err(|e| ApiError::Internal(format!("opening export: {e}")))?;
        tracing::info!(
            user = %actor.id,
            format = format.as_str(),
            rows = manifest.rows,
            pii = manifest.pii.as_str(),
            "export served"
        );
        Ok::<_, ApiError>(((file, name), manifest))
    })
    .await??;
    drop(permit);
    let (file, name) = file;
    let len = file.metadata().map(|m| m.len()).ok();
    let stream =
        tokio_util::io::ReaderStream::with_capacity(tokio::fs::File::from_std(file), 1 << 16);
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_DISPOSITION,
        header_value(&format!("attachment; filename=\"{name}\"")),
    );
    if let Some(len) = len {
        headers.insert(header::CONTENT_LENGTH, header_value(&len.to_string()));
    }
    headers.insert(
        "x-fieldvoice-dataset-version",
        header_value(&manifest.dataset_version),
    );
    headers.insert(
        "x-fieldvoice-rows",
        header_value(&manifest.rows.to_string()),
    );
    headers.insert(
        "x-fieldvoice-max-seq",
        header_value(&manifest.max_seq.to_string()),
    );
    Ok((headers, Body::from_stream(stream)).into_response())
}

/// `GET /api/v1/report`: the analysis summary as HTML (default) or JSON.
pub async fn report(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    let countries = Scope::resolve(&principal, Purpose::Export, q.country.as_deref())?.filter();
    let lang = export::parse_lang(q.lang.as_deref().unwrap_or("en"))?;
    let asked = q.format.as_deref().unwrap_or("html");
    let Some(&(format, content_type)) = REPORT_CONTENT_TYPES.iter().find(|(f, _)| *f == asked)
    else {
        return Err(ApiError::BadRequest(format!(
            "format must be html or json (got `{asked}`)"
        )));
    };
    let filter = export::analysis::ReportFilter::parse(
        Some(q.campaign.as_deref().unwrap_or(&state.settings.campaign)),
        q.place.as_deref().unwrap_or(""),
        q.segment.as_deref().unwrap_or(""),
        q.from.as_deref(),
        q.to.as_deref(),
        q.review_state.as_deref().unwrap_or(""),
        q.include_rejected.unwrap_or(false),
    )?;
    let st = state.clone();
    let _permit = EXPORT_PERMITS
        .acquire()
        .await
        .map_err(|_| ApiError::Unavailable)?;
    let summary = tokio::task::spawn_blocking(move || {
        let forms = st.forms();
        let coding = st.theme_coding()?;
        export::analysis::summarize(
            st.store.as_ref(),
            &forms,
            &countries,
            &lang,
            &filter,
            &coding,
            &mut |_| true,
        )
        .map_err(ApiError::from)
    })
    .await??;
    let body = if format == "json" {
        serde_json::to_vec(&summary).map_err(|e| ApiError::Internal(e.to_string()))?
    } else {
        export::report::render_html(&summary).into_bytes()
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// `POST /api/v1/exports` body: the format and the options of
/// `GET /api/v1/export/{format}` (`part` aside).
#[derive(Debug, Deserialize)]
pub struct JobRequest {
    pub format: String,
    #[serde(flatten)]
    pub options: ExportQuery,
}

/// `POST /api/v1/exports`: start an export job; 202 with its status.
pub async fn start_job(
    State(state): State<AppState>,
    principal: Principal,
    crate::extract::ApiJson(req): crate::extract::ApiJson<JobRequest>,
) -> Result<Response, ApiError> {
    let format = Format::parse(&req.format)?;
    let opts = export_options(&state, &principal, format, &req.options)?;
    let status = crate::service::export_jobs::start(&state, &principal, opts).await?;
    let location = header_value(&format!("/api/v1/exports/{}", status.id));
    Ok((
        axum::http::StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        axum::Json(status),
    )
        .into_response())
}

/// `GET /api/v1/exports/{id}`: a job's state, progress and, when done, files.
pub async fn job(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Response, ApiError> {
    Scope::resolve(&principal, Purpose::Export, None)?;
    let status = crate::service::export_jobs::job_status(&state, &principal, id)?;
    Ok(axum::Json(status).into_response())
}

/// `GET /api/v1/exports/{id}/files/{name}`: a finished job's file, with
/// `Range` requests answered 206 (resumable downloads on poor networks).
pub async fn job_file(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, name)): ApiPath<(uuid::Uuid, String)>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    use tower::ServiceExt;
    Scope::resolve(&principal, Purpose::Export, None)?;
    let file = crate::service::export_jobs::job_file(&state, &principal, id, &name)?;
    let resp = tower_http::services::ServeFile::new(&file.path)
        .oneshot(request)
        .await
        .map_err(|e| ApiError::Internal(format!("serving export file: {e}")))?;
    let mut resp = resp.map(Body::new);
    if resp.status().is_success() {
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(file.content_type),
        );
        h.insert(
            header::CONTENT_DISPOSITION,
            header_value(&format!("attachment; filename=\"{name}\"")),
        );
    }
    drop(file);
    Ok(resp)
}
