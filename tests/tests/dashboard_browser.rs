#![allow(clippy::unwrap_used)]
//! Dashboard in headless Chromium (being written).
