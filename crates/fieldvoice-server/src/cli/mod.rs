//! The binary's modules: configuration, admin commands, simulation.
#![allow(clippy::print_stdout)]

pub mod admin;
pub mod backup;
pub mod config;
pub mod export;
pub mod migrate_store;
pub mod simulate;
pub mod themes;

use std::net::SocketAddr;

use sync_server::demo::DemoAccounts;

/// Print a line for the operator on stdout (logs go to stderr).
pub fn announce(line: &str) {
    println!("{line}");
}

pub fn print_demo(config: &config::Config, listen: SocketAddr, demo: Option<&DemoAccounts>) {
    let url = format!("http://{listen}");
    match demo {
        None => println!(
            "demo: store already seeded ({}); accounts unchanged",
            config.database
        ),
        Some(d) => {
            println!(
                "== fieldvoice demo campaign ({} interviews, {} of them from last year's campaign) ==",
                d.interviews, d.last_year
            );
            println!("server:       {url}   (health: {url}/healthz, metrics: {url}/metrics)");
            println!("admin login:  {} / {}", d.admin_login, d.admin_password);
            println!("admin token:  {}", d.admin_token);
            for (login, password, token) in &d.coordinators {
                println!("coordinator:  {login} / {password}   token {token}");
            }
            for (login, password) in &d.analysts {
                println!("analyst:      {login} / {password}   (hackathon actions)");
            }
            for (login, code) in d.enrollment_codes.iter().take(3) {
                println!("enroll code:  {code}  (employee {login})");
            }
            println!(
                "try:  curl -H 'Authorization: Bearer {}' {url}/api/v1/interviews?limit=2",
                d.admin_token
            );
        }
    }
}
