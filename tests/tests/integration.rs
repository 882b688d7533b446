//! Every integration test area, one module each, in one test binary: each
//! binary links the whole workspace, so one per area cost a link and ~125 MB
//! apiece. Select an area with its module path, e.g.
//! `cargo test -p fieldvoice-tests --test integration trust_sync::`.
//! The field app's window test stays apart (`app_e2e`, `--features app-e2e`).

mod actions;
mod analyst_exports;
mod answer_quality;
mod app_core;
mod auth_matrix;
mod cases;
mod convergence;
mod dashboard_browser;
mod dashboard_i18n;
mod dashboard_scope;
mod device_encryption;
mod device_store;
mod erasure;
mod exports;
mod faults;
mod fieldops;
mod form_versions;
mod fuzz;
mod log_hygiene;
mod model;
mod model_system;
mod odata;
mod operations;
mod pg_link;
mod pg_replicas;
mod pg_tls;
mod places;
mod quality_checks;
mod report;
mod server_kill;
mod store_conformance;
mod sync_e2e;
mod themes;
mod trust_edge;
mod trust_sync;
mod webhooks;
mod write_policy_matrix;
mod xlsform;
