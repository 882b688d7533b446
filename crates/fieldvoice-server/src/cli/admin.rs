//! `fieldvoice-server admin ...`: administration straight on the store.

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use central_store::{NewUser, Role};
use clap::Subcommand;
use sync_server::AppState;
use sync_server::auth::hash_password;
use sync_server::identity::{enrollment_link, is_country, parse_user_csv};
use sync_server::service::users::{create_user_with_code, issue_api_token};

use super::config::Config;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create the first admin and print an API token (refused if users exist).
    Bootstrap {
        #[arg(long, default_value = "admin")]
        login: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
        /// Read the dashboard password from this environment variable.
        #[arg(long)]
        password_env: Option<String>,
    },
    /// Create one user; employees get an enrollment code, others an API token.
    CreateUser {
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role, default_value = "employee")]
        role: Role,
        /// Country code; repeat for coordinators of several countries.
        #[arg(long = "country")]
        countries: Vec<String>,
        #[arg(long)]
        password_env: Option<String>,
    },
    /// Create employees from a CSV (login,name,country[,role]); prints a CSV of
    /// line,login,name,country,enrollment_code (quoted, formula-guarded).
    ImportUsers { file: PathBuf },
    /// Issue a new API token for a user.
    Token {
        #[arg(long)]
        login: String,
    },
    /// Revoke a device: its token stops working at once.
    RevokeDevice { device_id: String },
    /// Install a form version from a JSON file.
    InstallForm { file: PathBuf },
    /// Assign employees to places from a CSV (login,place_code[,team]); a file
    /// with any problem is refused whole, each problem named by row and column.
    ImportAssignments { file: PathBuf },
    /// Set quota targets from a CSV (place_code,segment,target[,login]);
    /// refused whole on any problem.
    ImportQuotas { file: PathBuf },
    /// Add or change places from a CSV (code,country,name,region,kind,setting,lat,lon);
    /// a file with any problem is refused whole, each problem named by row and column.
    ImportPlaces { file: PathBuf },
    /// Convert an XLSForm workbook (.xlsx) to the fieldvoice form JSON: printed,
    /// or written to `--out`. Every problem is listed, one per line, with its
    /// sheet, row and column; nothing is installed.
    ImportForm {
        file: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
        /// The form's media folder: the CSV choice files its
        /// `select_one_from_file` questions name.
        #[arg(long)]
        media: Option<PathBuf>,
    },
    /// Write a fieldvoice form JSON file as an XLSForm workbook (.xlsx).
    ExportForm {
        file: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print store counts.
    Stats,
    /// Rebuild every interview's projection row from its document with the
    /// current rules (run once after an upgrade that changes them, e.g. answer
    /// validation and quality flags); rewrites only rows that differ.
    Reproject,
    /// Copy this SQLite store (`--database`) into an empty PostgreSQL
    /// database, then compare row counts and every document's heads.
    MigrateStore {
        /// Target: `postgres://user@host:port/db`.
        #[arg(long)]
        to: String,
    },
    /// A consistent copy of the embedded store, taken while the server runs
    /// (SQLite online backup); never overwrites a file.
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into the `--database` location, which must not
    /// exist; migrates it forward if older, then checks it equals the backup.
    Restore {
        #[arg(long)]
        from: PathBuf,
    },
    /// Erase the personal data of campaigns past their retention period
    /// (`[[retention]]` in the configuration); with `--dry-run`, only report
    /// what is due, when, and how much.
    Retention {
        #[arg(long)]
        dry_run: bool,
    },
    /// Compare this store with another (SQLite path or PostgreSQL URL):
    /// every table's rows, the dashboard's totals, every document's heads.
    /// Fails when they differ.
    Verify {
        #[arg(long)]
        other: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("`{s}` is not admin, coordinator, employee or analyst"))
}

fn password(var: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some(var) = var else { return Ok(None) };
    let p = std::env::var(var).with_context(|| format!("environment variable {var} is not set"))?;
    if p.chars().count() < 10 {
        bail!("the password in {var} needs at least 10 characters");
    }
    Ok(Some(hash_password(&p).map_err(|e| anyhow!("{e}"))?))
}

pub async fn run(config: &Config, cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::ImportForm { file, out, media } => {
            return import_form(&file, out.as_deref(), media.as_deref());
        }
        AdminCommand::ExportForm { file, out } => return export_form(&file, &out),
        _ => {}
    }
    let database = config.database.clone();
    match cmd {
        AdminCommand::MigrateStore { to } => {
            return tokio::task::spawn_blocking(move || super::migrate_store::run(&database, &to))
                .await?;
        }
        AdminCommand::Backup { out } => {
            return tokio::task::spawn_blocking(move || super::backup::backup(&database, &out))
                .await?;
        }
        AdminCommand::Restore { from } => {
            return tokio::task::spawn_blocking(move || super::backup::restore(&database, &from))
                .await?;
        }
        AdminCommand::Verify { other } => {
            return tokio::task::spawn_blocking(move || super::backup::verify(&database, &other))
                .await?;
        }
        _ => {}
    }
    let store = config.open_store()?;
    let state = AppState::new(store, config.settings()).map_err(|e| anyhow!("{e}"))?;
    if state.forms().all().next().is_none() {
        for (_, json) in survey_model::BUILTIN_FORMS {
            state.install_form(json).map_err(|e| anyhow!("{e}"))?;
        }
    }
    if let AdminCommand::ImportAssignments { file } | AdminCommand::ImportQuotas { file } = &cmd {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        // The operator at the console acts as an admin (audited as `cli`).
        let cli = sync_server::auth::Principal {
            user: central_store::User {
                id: "cli".into(),
                login: "cli".into(),
                name: "command line".into(),
                role: Role::Admin,
                countries: vec![],
                active: true,
                created_at: 0,
                language: None,
            },
            device: None,
            assignment: None,
        };
        use sync_server::service::fieldops::{import_assignments, import_quotas};
        let done = match cmd {
            AdminCommand::ImportAssignments { .. } => import_assignments(&state, &cli, text).await,
            _ => import_quotas(&state, &cli, text).await,
        }
        .map_err(|e| anyhow!("{}: {e}", file.display()))?;
        super::announce(&format!(
            "{} rows read, {} added or changed ({})",
            done.rows,
            done.changed,
            done.countries.join(", ")
        ));
        return Ok(());
    }
    tokio::task::spawn_blocking(move || run_blocking(&state, cmd)).await?
}

/// `admin import-form`: convert without touching the store.
fn import_form(
    file: &std::path::Path,
    out: Option<&std::path::Path>,
    media: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let mut files = std::collections::BTreeMap::new();
    if let Some(dir) = media {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            let is_file = std::fs::metadata(&path).is_ok_and(|m| m.is_file());
            if let (true, Some(name)) = (is_file, path.file_name().and_then(|n| n.to_str())) {
                // One byte past the limit is enough for the import to refuse it.
                let mut data = Vec::new();
                std::fs::File::open(&path)
                    .and_then(|f| {
                        std::io::Read::read_to_end(
                            &mut std::io::Read::take(f, xlsform::MAX_MEDIA_BYTES as u64 + 1),
                            &mut data,
                        )
                    })
                    .with_context(|| format!("reading {}", path.display()))?;
                files.insert(name.to_owned(), data);
            }
        }
    }
    match xlsform::import_with_media(&bytes, &files) {
        Ok(imported) => {
            for w in &imported.warnings {
                eprintln!("warning: {w}");
            }
            let json = serde_json::to_string_pretty(&imported.form)?;
            match out {
                Some(path) => {
                    std::fs::write(path, json + "\n")
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!(
                        "form {} v{} written to {}",
                        imported.form.form_id,
                        imported.form.version,
                        path.display()
                    );
                }
                None => super::announce(&json),
            }
            Ok(())
        }
        Err(e) => {
            for p in &e.problems {
                eprintln!("{p}");
            }
            bail!(
                "{} is not a usable XLSForm: {} problem(s)",
                file.display(),
                e.problems.len()
            )
        }
    }
}

/// `admin export-form`: a form JSON file as an XLSForm workbook.
fn export_form(file: &std::path::Path, out: &std::path::Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let form = survey_model::Form::from_json(&text).map_err(|e| anyhow!("{e}"))?;
    let mut def = form.def().clone();
    def.schema = None;
    let bytes = xlsform::export(&def).map_err(|e| anyhow!("{e}"))?;
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "form {} v{} written to {}",
        def.form_id,
        def.version,
        out.display()
    );
    Ok(())
}

fn run_blocking(state: &AppState, cmd: AdminCommand) -> anyhow::Result<()> {
    let err = |e: sync_server::ApiError| anyhow!("{e}");
    match cmd {
        AdminCommand::Bootstrap {
            login,
            name,
            password_env,
        } => {
            if !state.store.list_users(None)?.is_empty() {
                bail!("the store already has users; use `admin token --login ...` instead");
            }
            let user = state.store.create_user(
                &NewUser {
                    login,
                    name,
                    role: Role::Admin,
                    countries: vec![],
                    password_hash: password(password_env.as_deref())?,
                },
                central_store::unix_now(),
            )?;
            let token = issue_api_token(state, &user, "bootstrap").map_err(err)?;
            super::announce(&format!("admin {} created\ntoken {token}", user.login));
        }
        AdminCommand::CreateUser {
            login,
            name,
            role,
            countries,
            password_env,
        } => {
            let countries: Vec<String> = countries.iter().map(|c| c.to_uppercase()).collect();
            if let Some(c) = countries.iter().find(|c| !is_country(c)) {
                bail!("`{c}` is not a two-letter country code");
            }
            let new = NewUser {
                login,
                name,
                role,
                countries,
                password_hash: password(password_env.as_deref())?,
            };
            if role.has_devices() {
                let (u, code) = create_user_with_code(state, &new).map_err(err)?;
                super::announce(&format!(
                    "user {} ({}) created\nenrollment code {code}\nlink {}",
                    u.login,
                    u.id,
                    enrollment_link(&state.settings.public_url, &code)
                ));
            } else {
                let u = state.store.create_user(&new, central_store::unix_now())?;
                let token = issue_api_token(state, &u, "cli").map_err(err)?;
                super::announce(&format!(
                    "user {} ({}) created\ntoken {token}",
                    u.login, u.id
                ));
            }
        }
        AdminCommand::ImportUsers { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let (rows, problems) = parse_user_csv(&text).map_err(|e| anyhow!(e))?;
            let bar = indicatif::ProgressBar::new(rows.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} users {eta}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            // Real CSV (quoted where needed), every text cell through the
            // exports' formula guard: the file is opened in spreadsheets.
            let mut out = csv::Writer::from_writer(std::io::stdout().lock());
            out.write_record(["line", "login", "name", "country", "enrollment_code"])?;
            let mut failed = problems.len();
            for p in &problems {
                tracing::warn!(line = p.line, problem = %p.message, "row skipped");
            }
            for r in rows {
                let new = NewUser {
                    login: r.login.clone(),
                    name: r.name.clone(),
                    role: r.role,
                    countries: vec![r.country.clone()],
                    password_hash: None,
                };
                match create_user_with_code(state, &new) {
                    Ok((_, code)) => {
                        let line = r.line.to_string();
                        out.write_record([
                            line.as_str(),
                            &export::guard_text(&r.login),
                            &export::guard_text(&r.name),
                            &export::guard_text(&r.country),
                            &code,
                        ])?;
                        out.flush()?;
                    }
                    Err(e) => {
                        failed += 1;
                        tracing::warn!(line = r.line, error = %e, "row skipped");
                    }
                }
                bar.inc(1);
            }
            bar.finish_and_clear();
            if failed > 0 {
                tracing::warn!(failed, "some rows were not imported");
            }
        }
        AdminCommand::Token { login } => {
            let (user, _) = state
                .store
                .user_by_login(&login)?
                .ok_or_else(|| anyhow!("no user with login {login}"))?;
            let token = issue_api_token(state, &user, "cli").map_err(err)?;
            super::announce(&format!("token {token}"));
        }
        AdminCommand::RevokeDevice { device_id } => {
            if !state
                .store
                .revoke_device(&device_id, central_store::unix_now())?
            {
                bail!("no active device {device_id}");
            }
            super::announce(&format!("device {device_id} revoked"));
        }
        AdminCommand::InstallForm { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let form = state.install_form(&text).map_err(err)?;
            super::announce(&format!("form {} v{} installed", form.id(), form.version()));
        }
        AdminCommand::ImportPlaces { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let places = sync_server::places::parse_places_csv(&text).map_err(|problems| {
                let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
                anyhow!(
                    "{}: {} problem(s), nothing imported:\n{}",
                    file.display(),
                    problems.len(),
                    lines.join("\n")
                )
            })?;
            let changed = state.store.upsert_places(&places)?;
            super::announce(&format!(
                "{} places read, {changed} added or changed",
                places.len()
            ));
        }
        AdminCommand::MigrateStore { .. }
        | AdminCommand::Backup { .. }
        | AdminCommand::Restore { .. }
        | AdminCommand::Verify { .. } => bail!("this command runs before the store opens"),
        AdminCommand::ImportAssignments { .. } | AdminCommand::ImportQuotas { .. } => {
            bail!("import-assignments and import-quotas run before this")
        }
        AdminCommand::ImportForm { .. } | AdminCommand::ExportForm { .. } => {
            bail!("import-form and export-form do not use the store")
        }
        AdminCommand::Stats => {
            let s = state.store.stats()?;
            super::announce(&serde_json::to_string_pretty(&s)?);
        }
        AdminCommand::Retention { dry_run } => {
            if state.settings.campaign_retention.is_empty() {
                bail!(
                    "no campaign has a retention period: add [[retention]] tables to the configuration"
                );
            }
            let now = central_store::unix_now();
            let plans = if dry_run {
                sync_server::service::retention::plan(state, now)
            } else {
                sync_server::service::retention::apply(state, now)
            }
            .map_err(|e| anyhow!("{e}"))?;
            for p in plans {
                super::announce(&retention_lines(&p, dry_run));
            }
        }
        AdminCommand::Reproject => {
            let started = std::time::Instant::now();
            let r = central_store::reproject::reproject_all(
                state.store.as_ref(),
                &state.forms(),
                &mut |n| tracing::info!(seen = n, "re-projecting"),
            )?;
            super::announce(&format!(
                "reprojected seen={} rewritten={} failed={} cases_opened={} in {:.1}s",
                r.seen,
                r.rewritten,
                r.failed,
                r.cases_opened,
                started.elapsed().as_secs_f64()
            ));
        }
    }
    Ok(())
}

/// The report of one campaign's retention, for a terminal.
fn retention_lines(p: &sync_server::service::retention::CampaignPlan, dry_run: bool) -> String {
    let day = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .map(|d| d.date().to_string())
            .unwrap_or_else(|_| t.to_string())
    };
    let countries: Vec<String> = p
        .by_country
        .iter()
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    let questions: Vec<&str> = p.questions.iter().map(String::as_str).collect();
    let outcome = if dry_run {
        if p.due {
            format!(
                "due now: {} interviews would be erased (dry run, nothing changed)",
                p.interviews
            )
        } else {
            format!(
                "not due yet: nothing would be erased before {}",
                day(p.due_at)
            )
        }
    } else {
        format!("erased: {} interviews", p.erased)
    };
    format!(
        "campaign {}: ended {}, personal data kept {} days, due {}\n  {} interviews hold {} PII answers ({})\n  by country: {}\n  {}",
        p.campaign,
        day(p.ended_at - 86_400),
        p.pii_days,
        day(p.due_at),
        p.interviews,
        p.answers,
        if questions.is_empty() {
            "none".to_owned()
        } else {
            questions.join(", ")
        },
        if countries.is_empty() {
            "none".to_owned()
        } else {
            countries.join(", ")
        },
        outcome
    )
}
