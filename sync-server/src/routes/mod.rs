//! Route table. Handlers live in the submodules by area.

pub mod actions;
pub mod cases;
pub mod export;
pub mod fieldops;
pub mod interviews;
pub mod odata;
pub mod ops;
pub mod places;
pub mod stats;
pub mod sync;
pub mod themes;
pub mod users;
pub mod webhooks;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

/// Every route of the API.
pub fn api() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/api/v1/sync", post(sync::sync))
        .route("/api/v1/enroll", post(users::enroll))
        .route("/api/v1/me", get(users::me))
        .route("/api/v1/me/assignment", get(fieldops::my_assignment))
        .route(
            "/api/v1/users",
            get(users::list_users).post(users::create_user),
        )
        .route("/api/v1/users/import", post(users::import_users))
        .route(
            "/api/v1/users/{id}/enrollment-code",
            post(users::enrollment_code),
        )
        .route("/api/v1/devices", get(users::list_devices))
        .route("/api/v1/devices/{id}/revoke", post(users::revoke_device))
        .route("/api/v1/forms", get(ops::list_forms).post(ops::put_form))
        .route("/api/v1/forms/preview", post(ops::preview_form))
        .route("/api/v1/forms/{id}/{version}", get(ops::get_form))
        .route(
            "/api/v1/places",
            get(places::list_places).post(places::import_places),
        )
        .route("/api/v1/assignments", post(fieldops::import_assignments))
        .route(
            "/api/v1/quotas",
            get(fieldops::quotas).post(fieldops::import_quotas),
        )
        .route("/api/v1/interviews", get(interviews::list))
        .route("/api/v1/interviews/{id}", get(interviews::get_one))
        .route("/api/v1/interviews/{id}/review", post(interviews::review))
        .route(
            "/api/v1/interviews/{id}/comments",
            post(interviews::comment),
        )
        .route("/api/v1/interviews/{id}/tags", post(interviews::tag))
        .route("/api/v1/interviews/{id}/erase", post(interviews::erase))
        .route("/api/v1/interviews/{id}/themes", post(themes::set_themes))
        .route(
            "/api/v1/themes/codebook",
            get(themes::codebook).post(themes::save_codebook),
        )
        .route("/api/v1/themes/suggestions", get(themes::suggestions))
        .route("/api/v1/export/{format}", get(export::export))
        .route("/api/v1/exports", post(export::start_job))
        .route("/api/v1/exports/{id}", get(export::job))
        .route("/api/v1/exports/{id}/files/{name}", get(export::job_file))
        .route("/api/v1/report", get(export::report))
        .route("/api/v1/odata", get(odata::service))
        .route("/api/v1/odata/", get(odata::service))
        .route("/api/v1/odata/$metadata", get(odata::metadata))
        .route("/api/v1/odata/Interviews", get(odata::interviews))
        .route("/api/v1/odata/Interviews/$count", get(odata::count))
        .route("/api/v1/stats", get(stats::stats))
        .route("/api/v1/review-queue", get(stats::review_queue))
        .route("/api/v1/command-centre", get(stats::command_centre))
        .route("/api/v1/cases", get(cases::list).post(cases::open))
        .route(
            "/api/v1/cases/{id}",
            get(cases::get_one).post(cases::update),
        )
        .route("/api/v1/cases/{id}/contact", get(cases::contact))
        .route("/api/v1/case-stats", get(cases::stats))
        .route("/api/v1/actions", get(actions::list).post(actions::create))
        .route(
            "/api/v1/actions/{id}",
            get(actions::get_one).post(actions::update),
        )
        .route(
            "/api/v1/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route("/api/v1/webhooks/{id}", post(webhooks::set_active))
        .route(
            "/api/v1/webhooks/{id}/deliveries",
            get(webhooks::deliveries),
        )
        .route(
            "/api/v1/webhooks/{id}/deliveries/{delivery}/retry",
            post(webhooks::retry),
        )
        .route(
            "/api/v1/service-levels",
            get(cases::service_levels).post(cases::set_service_levels),
        )
        .route("/api/v1/openapi.json", get(stats::openapi))
}
