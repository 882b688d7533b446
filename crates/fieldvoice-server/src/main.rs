//! `fieldvoice-server`: the command line over the sync-server library. Reads the TOML config
//! and environment overrides, then runs `serve`, `admin ...`, `simulate`, `export`,
//! `report` or `themes ...`.

mod cli;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sync_server::{AppState, Settings};

#[derive(Debug, Parser)]
#[command(name = "fieldvoice-server", version, about = "fieldvoice sync server")]
struct Cli {
    /// TOML config file (optional; FIELDVOICE_* environment variables override it).
    #[arg(long, global = true, env = "FIELDVOICE_CONFIG")]
    config: Option<PathBuf>,
    /// Database: a SQLite file path or `sqlite://PATH`, or a `postgres://` URL.
    #[arg(long, global = true, env = "FIELDVOICE_DATABASE")]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "FIELDVOICE_LISTEN")]
        listen: Option<SocketAddr>,
        /// Seed a demo campaign (forms, accounts, interviews) into an empty store.
        #[arg(long)]
        demo: bool,
    },
    /// Administration on the store directly (no server needed).
    Admin {
        #[command(subcommand)]
        command: cli::admin::AdminCommand,
    },
    /// Field-day rehearsal: many devices create interviews offline, then sync in a burst.
    Simulate(cli::simulate::SimulateArgs),
    /// Export the dataset (csv, xlsx, parquet, jsonl, geojson) with dictionary and manifest.
    Export(cli::export::ExportArgs),
    /// Write the analysis report (HTML with SVG charts, optional JSON).
    Report(cli::export::ReportArgs),
    /// Time exports of synthetic interviews (fills its own SQLite store).
    BenchExport(cli::export::BenchArgs),
    /// Verbatim themes: evaluate the classifier, write generated labelled verbatims.
    Themes {
        #[command(subcommand)]
        command: cli::themes::ThemesCommand,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli::config::Config::load(cli.config.as_deref(), cli.database.as_deref())?;
    cli::config::init_tracing(&config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { listen, demo } => serve(config, listen, demo).await,
            Command::Admin { command } => cli::admin::run(&config, command).await,
            Command::Simulate(args) => cli::simulate::run(&config, args).await,
            Command::Export(args) => cli::export::run_export(&config, args).await,
            Command::Report(args) => cli::export::run_report(&config, args).await,
            Command::BenchExport(args) => cli::export::run_bench(args).await,
            Command::Themes { command } => cli::themes::run(command),
        }
    })
}

async fn serve(
    config: cli::config::Config,
    listen: Option<SocketAddr>,
    demo: bool,
) -> anyhow::Result<()> {
    let listen = listen.unwrap_or(config.listen);
    let store = config.open_store()?;
    let mut settings: Settings = config.settings();
    settings.pseudonym_key = cli::export::pseudonym_key(config.pseudonym_key_file.as_deref())?;
    let state = AppState::new(store, settings).context("loading forms")?;
    if state.forms().all().next().is_none() {
        for (_, json) in survey_model::BUILTIN_FORMS {
            state
                .install_form(json)
                .context("installing built-in forms")?;
        }
    }
    if demo {
        let password = std::env::var("FIELDVOICE_DEMO_ADMIN_PASSWORD")
            .unwrap_or_else(|_| "fieldvoice-demo".into());
        let mut spec = sync_server::demo::DemoSpec::default();
        if let Ok(n) = std::env::var("FIELDVOICE_DEMO_INTERVIEWS") {
            spec.interviews = n
                .parse()
                .context("FIELDVOICE_DEMO_INTERVIEWS must be a number")?;
        }
        let st = state.clone();
        let seeded =
            tokio::task::spawn_blocking(move || sync_server::demo::seed(&st, &password, &spec))
                .await?
                .map_err(|e| anyhow::anyhow!("seeding the demo: {e}"))?;
        cli::print_demo(&config, listen, seeded.as_ref());
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let signal = shutdown_signal()?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, "fieldvoice server listening");
    // Tests and scripts read this line to find the port.
    cli::announce(&format!("listening on http://{local}"));
    // Deliveries queued before a crash or restart go out now.
    let worker = sync_server::webhooks::spawn(state.clone());
    let sweep = sync_server::retention::spawn(state.clone());
    // Drain: on the signal `/readyz` turns 503 at once; the server keeps
    // serving for `drain_delay` (the load balancer moves away), then stops
    // accepting and waits at most `drain_timeout` for requests in flight.
    let (delay, timeout) = (
        std::time::Duration::from_secs(config.drain_delay_secs),
        std::time::Duration::from_secs(config.drain_timeout_secs),
    );
    let draining = state.draining.clone();
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        signal.await;
        draining.store(true, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(delay_s = delay.as_secs(), "draining: /readyz answers 503");
        tokio::time::sleep(delay).await;
        let _ = stopping_tx.send(());
    };
    let app = sync_server::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let serve = axum::serve(listener, app).with_graceful_shutdown(shutdown);
    let bounded = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(timeout).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        r = serve => r.context("serving")?,
        () = bounded => tracing::warn!(timeout_s = timeout.as_secs(), "drain timed out; requests still in flight are cut"),
    }
    // An attempt cut short is sent again after its lease, same idempotency key.
    worker.abort();
    sweep.abort();
    tracing::info!("server stopped");
    Ok(())
}

/// Install the SIGTERM/SIGINT handlers now (so a signal that arrives right after
/// start-up is not fatal) and return the future that completes on the first one.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing SIGINT handler")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
            tracing::info!("shutdown requested; finishing in-flight requests");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutdown requested; finishing in-flight requests");
        })
    }
}
