//! The service layer under both faces of the server (the JSON API in
//! `routes/` and the HTML dashboard in `dashboard/`): plain async functions
//! that take the caller and plain arguments, scope through [`crate::scope`],
//! run store work on blocking threads and return data or an [`ApiError`].
//! Handlers only adapt requests and responses; they never call each other.
//!
//! [`ApiError`]: crate::error::ApiError

pub mod actions;
pub mod cases;
pub mod command;
pub mod export_jobs;
pub mod fieldops;
pub mod forms;
pub mod interviews;
pub mod places;
pub mod queue;
pub mod retention;
pub mod stats;
pub mod themes;
pub mod users;
pub mod webhooks;
