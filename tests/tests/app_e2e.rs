#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The field app's real window (Tauri + WebKitGTK under Xvfb), driven through
//! tauri-driver + WebKitWebDriver: enroll against the real fieldvoice-server,
//! fill an interview with skip logic and submit it (synced), stop the server,
//! fill and submit a second one offline, type into a third and SIGKILL the app,
//! relaunch it, check nothing typed was lost, restart the server on the same
//! port, sync from the UI and find the interviews on the server. Screenshots
//! of the main screens in English and Arabic go to target/screenshots/.
//!
//! Built only with `--features app-e2e` (scripts/ci/test.d/50-tauri-e2e.sh).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use central_store::{CentralStore, InterviewFilter, SqliteStore};
use fieldvoice_tests::pg::free_port;
use fieldvoice_tests::server::{ServerProcess, admin};
use fieldvoice_tests::webdriver::WebDriver;
use serde_json::json;

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/app_e2e-xxxx -> target/debug
    exe.parent().unwrap().parent().unwrap().to_owned()
}

fn app_binary() -> PathBuf {
    let p = std::env::var("FIELDVOICE_APP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| target_dir().join("fieldvoice-app"));
    assert!(
        p.exists(),
        "{} is missing: cargo build -p fieldvoice-app",
        p.display()
    );
    p.canonicalize().unwrap()
}

fn screenshots_dir() -> PathBuf {
    std::env::var("FIELDVOICE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| target_dir().parent().unwrap().join("screenshots"))
}

/// tauri-driver on free ports, with the app's data under `home`.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start(home: &Path, log: &Path) -> Driver {
        let (port, native) = (free_port(), free_port());
        let child = Command::new(std::env::var("TAURI_DRIVER").unwrap_or("tauri-driver".into()))
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("FIELDVOICE_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("tauri-driver (cargo install tauri-driver --version 2.1.0 --locked)");
        // Owned by the guard from here on: killed and reaped on every path.
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..100 {
            if reqwest::get(format!("{}/status", driver.url)).await.is_ok() {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("tauri-driver did not start; see {}", log.display());
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pids of running processes whose executable is `exe`.
fn pids_of(exe: &Path) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if std::fs::read_link(entry.path().join("exe")).is_ok_and(|p| p == exe) {
            out.push(pid);
        }
    }
    out
}

const SAVED: &str = "return document.body.dataset.saving === '0';";

async fn wait_saved(wd: &WebDriver) {
    // Text answers are saved 500 ms after the last keystroke.
    tokio::time::sleep(Duration::from_millis(700)).await;
    wd.wait_js(SAVED, 20, "answers saved").await.unwrap();
}

async fn screen(wd: &WebDriver, name: &str) {
    wd.wait_js(
        &format!("return document.body.dataset.screen === '{name}';"),
        30,
        &format!("screen {name}"),
    )
    .await
    .unwrap();
}

async fn visible(wd: &WebDriver, q: &str) -> bool {
    wd.exec(
        "const e = document.querySelector(`[data-q=\"${arguments[0]}\"]`); return !!e && !e.hidden;",
        json!([q]),
    )
    .await
    .unwrap()
        == json!(true)
}

async fn choose(wd: &WebDriver, q: &str, value: &str) {
    wd.click(&format!("[data-q=\"{q}\"] button[data-value=\"{value}\"]"))
        .await
        .unwrap();
    wd.wait_js(
        &format!(
            "return document.querySelector('[data-q=\"{q}\"] button[data-value=\"{value}\"]').getAttribute('aria-pressed') === 'true' || document.querySelector('[data-q=\"{q}\"]').dataset.kind === 'multi_choice';"
        ),
        20,
        &format!("{q} = {value}"),
    )
    .await
    .unwrap();
    wd.wait_js(SAVED, 20, "saved").await.unwrap();
}

async fn type_answer(wd: &WebDriver, q: &str, text: &str) {
    wd.send_keys(&format!("[data-input=\"{q}\"]"), text)
        .await
        .unwrap();
    wait_saved(wd).await;
}

async fn set_lang(wd: &WebDriver, lang: &str) {
    wd.exec(
        "const s = document.getElementById('lang'); s.value = arguments[0]; s.dispatchEvent(new Event('change')); return true;",
        json!([lang]),
    )
    .await
    .unwrap();
    wd.wait_js(
        &format!("return document.documentElement.lang === '{lang}';"),
        10,
        "language switch",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
}

async fn shot(wd: &WebDriver, name: &str) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let p = screenshots_dir().join(format!("{name}.png"));
    wd.screenshot(&p).await.unwrap();
    let len = std::fs::metadata(&p).unwrap().len();
    assert!(len > 5_000, "{} is only {len} bytes", p.display());
}

/// Under Xvfb: the app's binary, a fresh directory with the server's
/// database path, and the enrollment code of employee `login` (`name`, in CI).
fn fresh(login: &str, name: &str) -> (PathBuf, tempfile::TempDir, PathBuf, String) {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "run under Xvfb (xvfb-run or DISPLAY=:N)"
    );
    let app = app_binary();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("server.sqlite3");
    let out = admin(
        &db,
        &[
            "create-user",
            "--login",
            login,
            "--name",
            name,
            "--country",
            "CI",
        ],
    );
    let code = fieldvoice_tests::server::enrollment_code(&out);
    (app, tmp, db, code)
}

/// The server on `db` on a free port, and the app (data under `home`)
/// launched, in English, enrolled with `code`: on the interview list.
async fn enrolled(
    home: &Path,
    db: &Path,
    app: &Path,
    code: &str,
) -> (ServerProcess, Driver, WebDriver) {
    let listen = format!("127.0.0.1:{}", free_port());
    let server = ServerProcess::start_on(db, &home.join("server.log"), &listen);
    let driver = Driver::start(home, &home.join("tauri-driver.log")).await;
    let wd = WebDriver::launch(&driver.url, app).await.unwrap();
    wd.wait_js(
        "return document.body.dataset.ready === 'true';",
        60,
        "app ready",
    )
    .await
    .unwrap();
    screen(&wd, "enroll").await;
    set_lang(&wd, "en").await;
    wd.send_keys("#enroll-server", &server.url).await.unwrap();
    wd.send_keys("#enroll-code", code).await.unwrap();
    wd.click("#enroll-submit").await.unwrap();
    screen(&wd, "list").await;
    (server, driver, wd)
}

/// Sync from the sync screen and wait until nothing is pending, without error.
async fn sync_everything(wd: &WebDriver) {
    wd.click("#nav-sync").await.unwrap();
    screen(wd, "sync").await;
    wd.click("#sync-now").await.unwrap();
    wd.wait_js(
        "return document.body.dataset.pending === '0' && document.getElementById('sync-error').hidden;",
        60,
        "everything synced",
    )
    .await
    .unwrap();
}

/// Common first page of an interview: consent first, then the respondent.
async fn start_interview(wd: &WebDriver, city: &str, segment: &str) {
    wd.click("#new-interview").await.unwrap();
    screen(wd, "form").await;
    // Consent first: nothing else is shown before a "yes".
    assert!(visible(wd, "consent").await);
    assert!(!visible(wd, "segment").await);
    assert!(!visible(wd, "city").await);
    choose(wd, "consent", "true").await;
    assert!(
        visible(wd, "segment").await,
        "consent reveals the interview"
    );
    choose(wd, "segment", segment).await;
    type_answer(wd, "city", city).await;
    choose(wd, "area_type", "urban").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_day_offline_restart_and_sync() {
    let (app, tmp, db, code) = fresh("awa", "Awa Traoré");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let server = ServerProcess::start_on(&db, &tmp.path().join("server1.log"), &listen);
    let driver = Driver::start(tmp.path(), &tmp.path().join("tauri-driver.log")).await;

    // ---- first launch: enroll, online interview with skip logic ----
    let wd = WebDriver::launch(&driver.url, &app).await.unwrap();
    wd.wait_js(
        "return document.body.dataset.ready === 'true';",
        60,
        "app ready",
    )
    .await
    .unwrap();
    screen(&wd, "enroll").await;
    set_lang(&wd, "en").await;
    shot(&wd, "enroll-en").await;
    set_lang(&wd, "ar").await;
    assert_eq!(
        wd.exec("return document.documentElement.dir;", json!([]))
            .await
            .unwrap(),
        json!("rtl")
    );
    shot(&wd, "enroll-ar").await;
    set_lang(&wd, "en").await;
    // A wrong code shows an error and stays on the enroll screen.
    wd.send_keys("#enroll-server", &server.url).await.unwrap();
    wd.send_keys("#enroll-code", "WRONG-CODE1").await.unwrap();
    wd.click("#enroll-submit").await.unwrap();
    wd.wait_js(
        "return !document.getElementById('enroll-error').hidden;",
        20,
        "enroll error",
    )
    .await
    .unwrap();
    wd.clear("#enroll-code").await.unwrap();
    wd.send_keys("#enroll-code", &code).await.unwrap();
    wd.click("#enroll-submit").await.unwrap();
    screen(&wd, "list").await;

    start_interview(&wd, "Bouaké", "individual").await;
    wd.send_keys("[data-geo=lat]", "7.6899").await.unwrap();
    wd.send_keys("[data-geo=lon]", "-5.0318").await.unwrap();
    wd.click("[data-action=geo-save]").await.unwrap();
    wait_saved(&wd).await;
    choose(&wd, "nps", "6").await;
    assert!(!visible(&wd, "complaint_detail").await);
    choose(&wd, "has_complaint", "yes").await;
    assert!(
        visible(&wd, "complaint_detail").await,
        "skip logic: complaint questions"
    );
    assert!(visible(&wd, "complaint_categories").await);
    choose(&wd, "complaint_categories", "network_coverage").await;
    type_answer(&wd, "complaint_detail", "Pas de 4G le soir").await;
    type_answer(&wd, "verbatim", "Améliorez le réseau au nord").await;
    choose(&wd, "follow_up_requested", "no").await;
    wd.click("[data-q=interview_date] [data-action=today]")
        .await
        .unwrap();
    wait_saved(&wd).await;
    shot(&wd, "form-en").await;
    wd.click("#submit").await.unwrap();
    screen(&wd, "list").await;
    // Online: the submit triggers a sync; wait until nothing is pending.
    wd.wait_js(
        "return document.body.dataset.pending === '0' && document.querySelector('[data-state=synced]') !== null;",
        60,
        "first interview synced",
    )
    .await
    .unwrap();
    {
        let store = SqliteStore::open(&db).unwrap();
        let all = store.list_interviews(&InterviewFilter::default()).unwrap();
        assert_eq!(all.len(), 1, "the first interview is on the server");
        assert_eq!(all[0].answers["has_complaint"], json!("yes"));
        assert_eq!(
            all[0].answers["complaint_detail"],
            json!("Pas de 4G le soir")
        );
    }

    // ---- offline: stop the server, second interview ----
    server.kill();
    start_interview(&wd, "Korhogo", "business").await;
    assert!(
        visible(&wd, "business_name").await,
        "skip logic: business name"
    );
    type_answer(&wd, "business_name", "Boutique Awa").await;
    choose(&wd, "nps", "9").await;
    choose(&wd, "has_complaint", "no").await;
    assert!(!visible(&wd, "complaint_detail").await);
    type_answer(&wd, "verbatim", "Continuez comme ça").await;
    choose(&wd, "follow_up_requested", "yes").await;
    assert!(visible(&wd, "follow_up_contact").await);
    type_answer(&wd, "follow_up_contact", "+225 07 00 00 00").await;
    // The interview date is still missing: submit refuses and shows where.
    wd.click("#submit").await.unwrap();
    wd.wait_js(
        "return !document.getElementById('form-error').hidden && document.querySelector('[data-q=interview_date]').classList.contains('has-error');",
        20,
        "validation message",
    )
    .await
    .unwrap();
    assert_eq!(
        wd.exec("return document.body.dataset.screen;", json!([]))
            .await
            .unwrap(),
        json!("form")
    );
    wd.click("[data-q=interview_date] [data-action=today]")
        .await
        .unwrap();
    wait_saved(&wd).await;
    wd.click("#submit").await.unwrap();
    screen(&wd, "list").await;
    wd.click("#nav-sync").await.unwrap();
    screen(&wd, "sync").await;
    wd.click("#sync-now").await.unwrap();
    wd.wait_js(
        "return !document.getElementById('sync-error').hidden && document.body.dataset.syncing === 'false';",
        60,
        "offline error shown",
    )
    .await
    .unwrap();
    assert_eq!(
        wd.exec("return document.body.dataset.pending;", json!([]))
            .await
            .unwrap(),
        json!("1")
    );
    shot(&wd, "sync-offline-en").await;

    // A third interview, typed but not submitted, then the app is killed.
    wd.click("#nav-list").await.unwrap();
    screen(&wd, "list").await;
    start_interview(&wd, "Man", "individual").await;
    type_answer(&wd, "verbatim", "Tapé juste avant le crash").await;
    let pids = pids_of(&app);
    assert_eq!(pids.len(), 1, "one app process: {pids:?}");
    Command::new("kill")
        .args(["-KILL", &pids[0].to_string()])
        .status()
        .unwrap();
    let _ = wd.quit().await;

    // The store on disk is encrypted: none of what was typed is in its bytes
    // or its WAL (the key is in the Secret Service, not in the data dir).
    let store_file = tmp
        .path()
        .join("data/org.fieldvoice.app")
        .join(app_core::STORE_FILE);
    assert_eq!(
        device_store::file_state(&store_file).unwrap(),
        device_store::FileState::Encrypted
    );
    let mut on_disk = std::fs::read(&store_file).unwrap();
    let mut wal = store_file.clone().into_os_string();
    wal.push("-wal");
    on_disk.extend(std::fs::read(&wal).unwrap_or_default());
    for typed in [
        "Boutique Awa",
        "+225 07 00 00 00",
        "Continuez comme",
        "juste avant le crash",
        "Korhogo",
        "Awa Traor",
    ] {
        assert!(
            !on_disk.windows(typed.len()).any(|w| w == typed.as_bytes()),
            "{typed:?} readable in the store file"
        );
    }
    // Nothing of ours in the data dir but the store and SQLite's side files
    // (no key file); the rest is the web view's own.
    const WEBVIEW: [&str; 6] = [
        "CacheStorage",
        "WebKitCache",
        "hsts-storage.sqlite",
        "localstorage",
        "mediakeys",
        "storage",
    ];
    let mut names: Vec<String> = std::fs::read_dir(store_file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !WEBVIEW.contains(&n.as_str()))
        .collect();
    names.sort();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with(app_core::STORE_FILE) && !n.ends_with(".encrypting")),
        "{names:?}"
    );

    // ---- relaunch: everything typed is there (the key opens the store) ----
    let wd = WebDriver::launch(&driver.url, &app).await.unwrap();
    wd.wait_js(
        "return document.body.dataset.ready === 'true';",
        60,
        "app ready again",
    )
    .await
    .unwrap();
    screen(&wd, "list").await;
    wd.wait_js(
        "return document.body.dataset.listCount === '3';",
        20,
        "three interviews listed",
    )
    .await
    .unwrap();
    let states = wd
        .exec(
            "return [...document.querySelectorAll('#interviews li')].map(l => l.dataset.state).sort();",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(states, json!(["draft", "synced", "waiting"]));
    shot(&wd, "list-en").await;
    set_lang(&wd, "ar").await;
    shot(&wd, "list-ar").await;
    wd.click("#interviews li[data-state=draft] button")
        .await
        .unwrap();
    screen(&wd, "form").await;
    let typed = wd
        .exec(
            "return document.querySelector('[data-input=verbatim]').value;",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(
        typed,
        json!("Tapé juste avant le crash"),
        "nothing lost by the kill"
    );
    shot(&wd, "form-ar").await;
    set_lang(&wd, "en").await;
    shot(&wd, "form-draft-en").await;
    // Search finds the interview by city.
    wd.click("#back").await.unwrap();
    screen(&wd, "list").await;
    wd.send_keys("#search", "korho").await.unwrap();
    wd.wait_js(
        "return document.body.dataset.listCount === '1';",
        20,
        "search",
    )
    .await
    .unwrap();
    wd.clear("#search").await.unwrap();

    // ---- back online on the same port: sync from the UI ----
    let server = ServerProcess::start_on(&db, &tmp.path().join("server2.log"), &listen);
    sync_everything(&wd).await;
    shot(&wd, "sync-en").await;
    set_lang(&wd, "ar").await;
    shot(&wd, "sync-ar").await;

    let store = SqliteStore::open(&db).unwrap();
    let all = store.list_interviews(&InterviewFilter::default()).unwrap();
    let submitted: Vec<_> = all.iter().filter(|r| r.status == "submitted").collect();
    assert_eq!(
        submitted.len(),
        2,
        "both submitted interviews are on the server"
    );
    let second = submitted
        .iter()
        .find(|r| r.answers.get("city") == Some(&json!("Korhogo")))
        .expect("the offline interview");
    assert_eq!(second.answers["business_name"], json!("Boutique Awa"));
    assert_eq!(second.answers["has_complaint"], json!("no"));
    assert_eq!(second.answers["nps"], json!(9));
    let draft = all
        .iter()
        .find(|r| r.status == "draft")
        .expect("the draft synced too");
    assert_eq!(
        draft.answers["verbatim"],
        json!("Tapé juste avant le crash")
    );
    wd.quit().await.unwrap();
    drop(server);
}

/// The MCMB v2 place question in the real window, offline: the campaign's
/// place list (imported with `admin import-places`) reaches the phone at
/// enrollment; with the server stopped, the interviewer searches the list of
/// their country, picks a place, and "other" asks for the name. The
/// employee's assignment and targets (`admin import-assignments`,
/// `import-quotas`) show above the list and pre-fill the place. Screenshots
/// in English and Arabic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn place_selection_offline_en_ar() {
    let (app, tmp, db, code) = fresh("kone", "Koné");
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    let places = schemas.join("places/mcmb-places.csv");
    let out = admin(&db, &["import-places", places.to_str().unwrap()]);
    assert!(out.contains("120 places read"), "{out}");
    let v2 = schemas.join("forms/mcmb-interview.v2.json");
    admin(&db, &["install-form", v2.to_str().unwrap()]);
    // Koné works at Bouaké with targets for two segments.
    let plan = tmp.path().join("assignments.csv");
    std::fs::write(&plan, "login,place_code,team\nkone,CI-BOUAKE,Équipe 1\n").unwrap();
    let out = admin(&db, &["import-assignments", plan.to_str().unwrap()]);
    assert!(out.contains("1 rows read"), "{out}");
    let quotas = tmp.path().join("quotas.csv");
    std::fs::write(
        &quotas,
        "place_code,segment,target,login\nCI-BOUAKE,individual,6,\nCI-BOUAKE,business,3,\nCI-BOUAKE,individual,2,kone\n",
    )
    .unwrap();
    admin(&db, &["import-quotas", quotas.to_str().unwrap()]);
    let (server, _driver, wd) = enrolled(tmp.path(), &db, &app, &code).await;
    // My place, my targets, done so far: above the list, from the assignment.
    wd.wait_js(
        "const d = document.getElementById('my-day'); return !d.hidden && d.textContent.includes('Bouaké');",
        20,
        "my day shown",
    )
    .await
    .unwrap();
    let targets = wd
        .exec(
            "return [...document.querySelectorAll('#my-day li')].map(l => l.dataset.segment + '=' + l.querySelector('b').textContent);",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(
        targets,
        json!(["business=0 / 3", "individual=0 / 2"]),
        "the own target first"
    );
    shot(&wd, "my-day-en").await;
    set_lang(&wd, "ar").await;
    shot(&wd, "my-day-ar").await;
    set_lang(&wd, "en").await;

    // Offline from here on.
    server.kill();
    wd.click("#new-interview").await.unwrap();
    screen(&wd, "form").await;
    choose(&wd, "consent", "true").await;
    choose(&wd, "segment", "individual").await;
    assert!(visible(&wd, "place").await, "v2 asks for the place");
    wd.wait_js(
        "return document.querySelector('[data-q=place] button[data-value=\"CI-BOUAKE\"]').getAttribute('aria-pressed') === 'true';",
        10,
        "the assigned place is pre-filled",
    )
    .await
    .unwrap();
    assert!(!visible(&wd, "place_other").await);
    let offered = wd
        .exec(
            "return [...document.querySelectorAll('[data-q=place] button[data-value]')].map(b => b.dataset.value);",
            json!([]),
        )
        .await
        .unwrap();
    let offered: Vec<String> = serde_json::from_value(offered).unwrap();
    assert_eq!(
        offered.len(),
        9,
        "Côte d'Ivoire's 8 places and other: {offered:?}"
    );
    assert!(offered.iter().all(|v| v == "other" || v.starts_with("CI-")));
    // The search box narrows the list, accents ignored.
    wd.send_keys("[data-search=place]", "bouake").await.unwrap();
    wd.wait_js(
        "return [...document.querySelectorAll('[data-q=place] button[data-value]')].filter(b => !b.hidden).map(b => b.dataset.value).join() === 'CI-BOUAKE';",
        10,
        "search narrows to Bouaké",
    )
    .await
    .unwrap();
    shot(&wd, "place-search-en").await;
    choose(&wd, "place", "CI-BOUAKE").await;
    shot(&wd, "place-chosen-en").await;
    set_lang(&wd, "ar").await;
    assert_eq!(
        wd.exec("return document.documentElement.dir;", json!([]))
            .await
            .unwrap(),
        json!("rtl")
    );
    shot(&wd, "place-chosen-ar").await;
    wd.clear("[data-search=place]").await.unwrap();
    wd.send_keys("[data-search=place]", " ").await.unwrap();
    choose(&wd, "place", "other").await;
    assert!(visible(&wd, "place_other").await, "other asks for the name");
    type_answer(&wd, "place_other", "Kossou").await;
    shot(&wd, "place-other-ar").await;
    wd.quit().await.unwrap();
}

/// A household roster written as an XLSForm (the way KoboToolbox users
/// write one), converted with `admin import-form` and installed with
/// `admin install-form`, filled in the real window: the interviewer picks
/// it among the device's forms; the household size sets how many member
/// blocks there are (`repeat_count`); each member's age question pipes in
/// their name, the school question shows only for a child; a total is
/// calculated and piped into a note; a second repeat grows with the Add
/// button. Submitted and synced, the server holds every instance and
/// calculation. Screenshots in English and Arabic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converted_xlsform_with_repeats_and_calculations() {
    let (app, tmp, db, code) = fresh("awa", "Awa");
    let xlsx = tmp.path().join("roster.xlsx");
    std::fs::write(&xlsx, fieldvoice_tests::xlsforms::roster()).unwrap();
    let json_path = tmp.path().join("roster.json");
    admin(
        &db,
        &[
            "import-form",
            xlsx.to_str().unwrap(),
            "--out",
            json_path.to_str().unwrap(),
        ],
    );
    admin(&db, &["install-form", json_path.to_str().unwrap()]);
    let (server, _driver, wd) = enrolled(tmp.path(), &db, &app, &code).await;

    // Two forms on the device: the interviewer picks one.
    wd.click("#new-interview").await.unwrap();
    wd.wait_js(
        "return !document.getElementById('form-picker').hidden;",
        20,
        "form picker",
    )
    .await
    .unwrap();
    wd.click("#form-picker button[data-form=\"household-roster\"]")
        .await
        .unwrap();
    screen(&wd, "form").await;
    let instances = |repeat: &str| {
        format!(
            "return document.querySelectorAll('[data-repeat=\"{repeat}\"] fieldset.instance').length"
        )
    };
    assert_eq!(
        wd.exec(&instances("members"), json!([])).await.unwrap(),
        json!(0)
    );
    choose(&wd, "consent", "true").await;
    // The household size sets the member blocks.
    type_answer(&wd, "hh_size", "2").await;
    wd.wait_js(
        &format!("{} === 2;", instances("members")),
        20,
        "two members",
    )
    .await
    .unwrap();
    assert!(
        wd.exec(
            "return !document.querySelector('[data-repeat=\"members\"] [data-action=\"add-instance\"]').offsetParent;",
            json!([])
        )
        .await
        .unwrap()
            == json!(true),
        "the count is the form's: no Add button"
    );
    type_answer(&wd, "member_name#0", "Awa").await;
    type_answer(&wd, "member_age#0", "41").await;
    type_answer(&wd, "member_name#1", "Koffi").await;
    type_answer(&wd, "member_age#1", "9").await;
    // Each member's labels pipe in their own name; school only for the child.
    let label = |key: &str| {
        format!("return document.querySelector('[data-q=\"{key}\"] .q-text').textContent;")
    };
    assert_eq!(
        wd.exec(&label("member_age#0"), json!([])).await.unwrap(),
        json!("Age of Awa")
    );
    assert_eq!(
        wd.exec(&label("in_school#1"), json!([])).await.unwrap(),
        json!("Does Koffi go to school?")
    );
    assert!(!visible(&wd, "in_school#0").await, "Awa is an adult");
    assert!(visible(&wd, "in_school#1").await, "Koffi is a child");
    choose(&wd, "in_school#1", "yes").await;
    // The calculated total shows in a note once there is one.
    assert!(!visible(&wd, "total_note").await);
    type_answer(&wd, "food", "250").await;
    type_answer(&wd, "rent", "400.5").await;
    assert!(visible(&wd, "total_note").await);
    assert_eq!(
        wd.exec(&label("total_note"), json!([])).await.unwrap(),
        json!("Total: 650.5")
    );
    // A repeat the interviewer grows by hand.
    wd.click("[data-repeat=\"visits\"] [data-action=\"add-instance\"]")
        .await
        .unwrap();
    wd.wait_js(&format!("{} === 1;", instances("visits")), 20, "one visit")
        .await
        .unwrap();
    type_answer(&wd, "shop#0", "Boutique Awa").await;
    // Outside the repeats, a note sums the visits and counts the members.
    assert!(!visible(&wd, "visits_note").await);
    type_answer(&wd, "spent#0", "1500").await;
    assert_eq!(
        wd.exec(&label("visits_note"), json!([])).await.unwrap(),
        json!("Shop visits: 1500 spent by 2 people")
    );
    shot(&wd, "roster-en").await;
    set_lang(&wd, "ar").await;
    shot(&wd, "roster-ar").await;
    set_lang(&wd, "en").await;
    wd.click("#submit").await.unwrap();
    screen(&wd, "list").await;
    sync_everything(&wd).await;

    let store = SqliteStore::open(&db).unwrap();
    let all = store.list_interviews(&InterviewFilter::default()).unwrap();
    let rec = all
        .iter()
        .find(|r| r.form_id == "household-roster")
        .expect("the roster is on the server");
    assert_eq!(rec.status, "submitted");
    assert_eq!(rec.answers["total"], json!("650.5"));
    let members = &rec.repeats["members"];
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["member_name"], json!("Awa"));
    assert_eq!(members[0]["adult"], json!("yes"));
    assert_eq!(members[1]["member_age"], json!(9));
    assert_eq!(members[1]["in_school"], json!("yes"));
    assert_eq!(members[1]["adult"], json!("no"));
    assert_eq!(rec.repeats["visits"][0]["shop"], json!("Boutique Awa"));
    assert_eq!(rec.answers["visits_total"], json!("1500"));
    assert_eq!(rec.answers["people"], json!("2"));
    wd.quit().await.unwrap();
    drop(server);
}
