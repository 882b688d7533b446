//! fieldvoice-app is the field app's Tauri v2 shell: it opens the device store
//! in the app data directory, encrypted under a key kept in the platform's
//! secret store (`keystore`), exposes thin `#[tauri::command]` shims over
//! `app-core` (which calls device-store, sync-client and survey-model), and runs
//! the automatic sync loop with backoff. The web UI in `app-ui/` renders what
//! these commands return.
//!
//! It must not hold form logic (skip logic, validation, diagnostics live in
//! survey-model), use desktop-only APIs (the same code is the Android/iOS
//! entry point), or log answers, names or tokens.

mod keystore;

use std::sync::Arc;
use std::time::Duration;

use app_core::{
    App, AppError, AutoSync, FormItem, FormView, ListItem, ListQuery, Status, SubmitOutcome,
};
use tauri::{Manager, State};
use uuid::Uuid;

type Core<'a> = State<'a, Arc<App>>;

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::Input(format!("`{id}` is not an interview id")))
}

#[tauri::command]
async fn status(core: Core<'_>) -> Result<Status, AppError> {
    core.status().await
}

#[tauri::command]
async fn enroll(core: Core<'_>, server: String, code: String) -> Result<Status, AppError> {
    core.enroll(&server, &code).await
}

#[tauri::command]
async fn set_server_url(core: Core<'_>, url: String) -> Result<Status, AppError> {
    core.set_server_url(&url).await
}

#[tauri::command]
async fn list_interviews(core: Core<'_>, filter: ListQuery) -> Result<Vec<ListItem>, AppError> {
    core.list(filter).await
}

#[tauri::command]
async fn list_forms(core: Core<'_>, lang: String) -> Result<Vec<FormItem>, AppError> {
    core.forms(lang).await
}

#[tauri::command]
async fn new_interview(
    core: Core<'_>,
    form_id: Option<String>,
    lang: String,
) -> Result<FormView, AppError> {
    core.new_interview(form_id, lang).await
}

#[tauri::command]
async fn form_view(core: Core<'_>, id: String, lang: String) -> Result<FormView, AppError> {
    core.form_view(parse_id(&id)?, lang).await
}

#[tauri::command]
async fn set_answer(
    core: Core<'_>,
    id: String,
    question: String,
    value: serde_json::Value,
    lang: String,
) -> Result<FormView, AppError> {
    core.set_answer(parse_id(&id)?, question, value, lang).await
}

#[tauri::command]
async fn set_instance_answer(
    core: Core<'_>,
    id: String,
    index: usize,
    question: String,
    value: serde_json::Value,
    lang: String,
) -> Result<FormView, AppError> {
    core.set_instance_answer(parse_id(&id)?, index, question, value, lang)
        .await
}

#[tauri::command]
async fn record_start_geopoint(
    core: Core<'_>,
    id: String,
    lat: f64,
    lon: f64,
    accuracy: Option<f64>,
    lang: String,
) -> Result<FormView, AppError> {
    core.record_start_geopoint(parse_id(&id)?, lat, lon, accuracy, lang)
        .await
}

#[tauri::command]
async fn add_instance(
    core: Core<'_>,
    id: String,
    repeat: String,
    lang: String,
) -> Result<FormView, AppError> {
    core.add_instance(parse_id(&id)?, repeat, lang).await
}

#[tauri::command]
async fn remove_instance(
    core: Core<'_>,
    id: String,
    repeat: String,
    index: usize,
    lang: String,
) -> Result<FormView, AppError> {
    core.remove_instance(parse_id(&id)?, repeat, index, lang)
        .await
}

#[tauri::command]
async fn submit(core: Core<'_>, id: String, lang: String) -> Result<SubmitOutcome, AppError> {
    core.submit(parse_id(&id)?, lang).await
}

#[tauri::command]
async fn reopen(core: Core<'_>, id: String, lang: String) -> Result<FormView, AppError> {
    core.reopen(parse_id(&id)?, lang).await
}

#[tauri::command]
async fn add_comment(
    core: Core<'_>,
    id: String,
    text: String,
    lang: String,
) -> Result<FormView, AppError> {
    core.add_comment(parse_id(&id)?, text, lang).await
}

#[tauri::command]
async fn sync_now(core: Core<'_>) -> Result<Status, AppError> {
    core.sync_now().await
}

#[tauri::command]
async fn sync_status(core: Core<'_>) -> Result<Status, AppError> {
    core.status().await
}

/// Try to sync in the background: soon after start, then on the backoff
/// policy's schedule (short while failing at first, longer when idle).
async fn auto_sync(core: Arc<App>) {
    let mut policy = AutoSync::default();
    tokio::time::sleep(Duration::from_secs(3)).await;
    loop {
        let delay = match core.is_enrolled().await {
            Ok(true) => {
                let ok = core.sync_now().await.is_ok();
                policy.next_delay(ok)
            }
            _ => Duration::from_secs(5),
        };
        tokio::time::sleep(delay).await;
    }
}

/// The app's entry point on every platform.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    run_with_log_filter(None);
}

/// Start the app with a tracing filter (the desktop binary reads it from
/// `FIELDVOICE_LOG`; mobile builds use the default).
pub fn run_with_log_filter(filter: Option<&str>) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter.unwrap_or("info"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
    let result = tauri::Builder::default()
        .setup(|app| {
            let dir = app.path().app_data_dir()?;
            let label = format!("fieldvoice-app ({})", std::env::consts::OS);
            let key = keystore::store_key(&App::store_path(&dir)?)?;
            let core = Arc::new(App::open_encrypted(&dir, &label, &key)?);
            tracing::info!("device store opened");
            app.manage(core.clone());
            tauri::async_runtime::spawn(auto_sync(core));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            status,
            enroll,
            set_server_url,
            list_interviews,
            list_forms,
            new_interview,
            form_view,
            set_answer,
            set_instance_answer,
            add_instance,
            remove_instance,
            record_start_geopoint,
            submit,
            reopen,
            add_comment,
            sync_now,
            sync_status,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!(error = %e, "the app stopped with an error");
        std::process::exit(1);
    }
}
