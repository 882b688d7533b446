// Hide the console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // The binary reads the log filter; the library never reads the environment.
    let filter = std::env::var("FIELDVOICE_LOG").ok();
    fieldvoice_app_lib::run_with_log_filter(filter.as_deref());
}
