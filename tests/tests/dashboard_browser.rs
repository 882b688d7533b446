#![allow(clippy::unwrap_used)]
//! The dashboard in headless Chromium (chromedriver + fantoccini): a
//! coordinator logs in, sees only their country, reviews an interview
//! (state, comment, tag) while the employee's device fixes the same interview
//! offline; after the device syncs, the dashboard shows both and the device
//! holds the review; then reads the progress page and the queue in French
//! and in Arabic (right to left). Screenshots go to `target/screenshots/`.
//!
//! chromedriver comes from `FIELDVOICE_WEBDRIVER_URL` (started by
//! scripts/ci/setup.d/40-chromium.sh) or is started here from PATH.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use central_store::Role;
use fantoccini::{Client, ClientBuilder, Locator};
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::dashboard::{push_interview, user_with_password};
use fieldvoice_tests::server::TestServer;
use serde_json::json;
use survey_model::ReviewState;

const PW: &str = "browser-test-password";

/// A chromedriver to talk to: the CI one, or one started for this test.
struct Driver {
    url: String,
    child: Option<std::process::Child>,
}

impl Driver {
    fn get() -> Driver {
        if let Ok(url) = std::env::var("FIELDVOICE_WEBDRIVER_URL") {
            return Driver { url, child: None };
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(fieldvoice_tests::needs::chromedriver())
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect(
                "chromedriver not found: run scripts/ci/setup.d/40-chromium.sh \
                 (apt-get install chromium chromium-driver)",
            );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            url,
            child: Some(child),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let binary =
        std::env::var("FIELDVOICE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": binary,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("WebDriver session with Chromium")
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(screenshots().join(name), png).unwrap();
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// How long a page may take to show what a test waits for: CI runs these
/// beside bursts on two cores.
const PAGE_WAIT: Duration = Duration::from_secs(30);

/// Fail a wait with one line on where the browser was and what it found;
/// the whole page goes to `target/screenshots/failed-<pid>.html` (a page
/// dump in the message hid the message in CI's excerpt).
async fn page_never_showed(c: &Client, what: &str, found: &str) -> ! {
    let url = c.current_url().await.map(|u| u.to_string());
    let title = c.title().await.unwrap_or_default();
    let page = c.source().await.unwrap_or_default();
    let file = screenshots().join(format!("failed-{}.html", std::process::id()));
    let _ = std::fs::write(&file, &page);
    let found: String = found.chars().take(300).collect();
    panic!(
        "{what}: url {url:?}, title {title:?}, found {found}; page ({} bytes) in {}",
        page.len(),
        file.display()
    );
}

/// Wait until the element's text contains `want` (pages change after posts).
async fn wait_text(c: &Client, css: &str, want: &str) {
    let deadline = Instant::now() + PAGE_WAIT;
    loop {
        let found = match c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Ok(t) = &found
            && t.contains(want)
        {
            return;
        }
        if Instant::now() >= deadline {
            let what = format!("{css} never showed {want:?}");
            page_never_showed(c, &what, &format!("{found:?}")).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait until the page's source holds `want`. Right after a navigation to
/// an error status (403, 404), headless Chromium sometimes answers the page
/// source with an empty document for a moment.
async fn wait_source(c: &Client, want: &str) {
    let deadline = Instant::now() + PAGE_WAIT;
    loop {
        let page = c.source().await.unwrap_or_default();
        if page.contains(want) {
            return;
        }
        if Instant::now() >= deadline {
            let what = format!("the page never showed {want:?}");
            page_never_showed(c, &what, "(the page's source)").await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Sign in on the dashboard's form as `login` (password [`PW`]).
async fn sign_in(c: &Client, url: &str, login: &str) {
    c.goto(&format!("{url}/dashboard/login")).await.unwrap();
    fill(c, "#login", login).await;
    fill(c, "#password", PW).await;
    click(c, "button[type=submit]").await;
}

async fn fill(c: &Client, css: &str, value: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_reviews_while_the_device_fixes_offline() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Chromium);
    let server = TestServer::start().await;
    let url = server.url.clone();
    user_with_password(&server, "coord.ci", Role::Coordinator, "CI", PW);
    let (emp, code) = server.user_with_code("awa.ci", Role::Employee, "CI");
    let (sn_emp, _) = server.user_with_code("fatou.sn", Role::Employee, "SN");
    for i in 0..5 {
        let nps = [10, 9, 7, 3, 0][i];
        let a: Vec<_> = complete_answers(nps)
            .into_iter()
            .map(|(k, v)| match k {
                "city" => (k, json!(["Abidjan", "Korhogo"][i % 2])),
                "segment" => (k, json!(["individual", "business"][i % 2])),
                _ => (k, v),
            })
            .collect();
        push_interview(&server, &emp, "2026-11-30T08:00:00Z", &a);
    }
    let mut sn_ids = Vec::new();
    for nps in [2, 8] {
        let a: Vec<_> = complete_answers(nps)
            .into_iter()
            .map(|(k, v)| {
                if k == "city" {
                    (k, json!("Dakar"))
                } else {
                    (k, v)
                }
            })
            .collect();
        sn_ids.push(push_interview(&server, &sn_emp, "2026-11-30T08:30:00Z", &a));
    }

    // The employee's phone: one interview, synced.
    let device = server.device("awa-phone", &code).await;
    let form = device.lock().form("mcmb-interview", None).unwrap();
    let id = {
        let mut s = device.lock();
        let mut iv = s.create_interview(&form).unwrap();
        for (k, v) in complete_answers(5) {
            iv.set_answer_json(&form, k, &v).unwrap();
        }
        iv.submit(&form).unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
        iv.id()
    };
    assert_eq!(device.sync().await.unwrap().docs_acknowledged, 1);

    let driver = Driver::get();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;

    // Not logged in: the dashboard sends us to the sign-in form.
    c.goto(&format!("{url}/")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/dashboard/login")
    );
    shot(&c, "dashboard-login.png").await;
    fill(&c, "#login", "coord.ci").await;
    fill(&c, "#password", "wrong password").await;
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, ".err", "Wrong login or password").await;
    fill(&c, "#password", PW).await;
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Progress: only CI (6 interviews), no Senegal anywhere.
    wait_text(&c, "#total", "6").await;
    let page = c.source().await.unwrap();
    assert!(page.contains(&emp.name));
    assert!(!page.contains(&sn_emp.name));
    assert!(!page.contains("Dakar"));
    assert!(text(&c, "#by-country").await.contains("CI"));
    assert!(!text(&c, "#by-country").await.contains("SN"));
    assert!(text(&c, "#by-place").await.contains("Korhogo"));
    assert!(c.find(Locator::Css("svg rect")).await.is_ok(), "SVG charts");
    shot(&c, "dashboard-progress.png").await;

    // Another country's pages are refused in the browser too.
    c.goto(&format!("{url}/dashboard/?country=SN"))
        .await
        .unwrap();
    wait_source(&c, "403").await;
    c.goto(&format!("{url}/dashboard/interviews/{}", sn_ids[0]))
        .await
        .unwrap();
    wait_source(&c, "404").await;

    // Review queue, filtered to detractors.
    c.goto(&format!("{url}/dashboard/reviews")).await.unwrap();
    wait_text(&c, "#count", "6 interviews").await;
    c.find(Locator::Css("#nps_band"))
        .await
        .unwrap()
        .select_by_value("detractor")
        .await
        .unwrap();
    c.find(Locator::Css("#apply"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // NPS 3, 0 and the device's 5.
    wait_text(&c, "#count", "3 interviews").await;
    shot(&c, "dashboard-review-queue.png").await;

    // Meanwhile the employee fixes the interview offline (not synced yet).
    {
        let mut s = device.lock();
        let mut iv = s.load(id).unwrap();
        iv.set_answer_json(&form, "city", &json!("Bouaké Nord"))
            .unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
    }

    // Open the device's interview from the queue and review it.
    c.find(Locator::Css(&format!(
        "a[href='/dashboard/interviews/{id}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_text(&c, "#review-state", "unreviewed").await;
    assert!(text(&c, "#answers").await.contains("City or village"));
    c.find(Locator::Css("#state"))
        .await
        .unwrap()
        .select_by_value("has_issues")
        .await
        .unwrap();
    c.find(Locator::Css("#set-review"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "#review-state", "has issues").await;
    fill(
        &c,
        "#comment",
        "Please confirm the district with the customer",
    )
    .await;
    c.find(Locator::Css("#add-comment"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "#comments", "Please confirm the district").await;
    fill(&c, "#tag", "root_cause:network").await;
    c.find(Locator::Css("#add-tag"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "#tags", "root_cause:network").await;
    // Before the device syncs, the dashboard still has the old city.
    assert!(text(&c, "#answers").await.contains("Bouaké"));
    assert!(!text(&c, "#answers").await.contains("Bouaké Nord"));

    // The device syncs: its fix goes up, the review comes down.
    let report = device.sync().await.unwrap();
    assert_eq!(report.docs_acknowledged, 1);
    {
        let s = device.lock();
        let iv = s.load(id).unwrap();
        assert_eq!(iv.review_state(), Some(ReviewState::HasIssues));
        assert!(
            iv.comments()
                .iter()
                .any(|c| c.text == "Please confirm the district with the customer")
        );
        assert!(iv.tags().contains(&"root_cause:network".to_owned()));
        assert_eq!(
            iv.answers(&form).get("city").map(|a| a.to_json()),
            Some(json!("Bouaké Nord"))
        );
    }

    // The dashboard shows the merged document: the fix and the review.
    c.refresh().await.unwrap();
    wait_text(&c, "#answers", "Bouaké Nord").await;
    assert!(text(&c, "#review-state").await.contains("has issues"));
    assert!(
        text(&c, "#comments")
            .await
            .contains("Please confirm the district")
    );
    assert!(text(&c, "#tags").await.contains("root_cause:network"));
    let history = text(&c, "#history").await;
    assert!(
        history.contains("Name of coord.ci (coordinator) on the dashboard"),
        "{history}"
    );
    assert!(
        history.contains(&format!("{} (employee) on device", emp.name)),
        "{history}"
    );
    shot(&c, "dashboard-interview.png").await;

    // The header's language buttons: French, then Arabic (right to left),
    // each back on the page it was chosen on.
    click(&c, "header .langs button[value=fr]").await;
    wait_text(&c, "#review-state", "à corriger").await;
    c.goto(&format!("{url}/dashboard/")).await.unwrap();
    wait_text(&c, "h1", "Avancement de la campagne").await;
    shot(&c, "dashboard-progress-fr.png").await;
    c.goto(&format!("{url}/dashboard/reviews")).await.unwrap();
    wait_text(&c, "#count", "Entretiens").await;
    shot(&c, "dashboard-review-queue-fr.png").await;
    click(&c, "header .langs button[value=ar]").await;
    wait_text(&c, "h1", "قائمة المراجعة").await;
    let html = c.find(Locator::Css("html")).await.unwrap();
    assert_eq!(html.attr("dir").await.unwrap().as_deref(), Some("rtl"));
    // Laid out right to left: the brand on the right, the user on the left,
    // the first column of a table on the right.
    let x = async |css: &str| {
        c.find(Locator::Css(css))
            .await
            .unwrap()
            .rectangle()
            .await
            .unwrap()
            .0
    };
    assert!(x("header > a").await > x("header .me").await, "RTL header");
    assert!(
        x("#queue th").await > x("#queue th:last-child").await,
        "RTL table"
    );
    shot(&c, "dashboard-review-queue-ar.png").await;
    c.goto(&format!("{url}/dashboard/")).await.unwrap();
    wait_text(&c, "h1", "تقدّم الحملة").await;
    shot(&c, "dashboard-progress-ar.png").await;

    // Log out: the session is gone.
    c.find(Locator::Css("header button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "h1", "sign-in").await;
    c.goto(&format!("{url}/dashboard/reviews")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/dashboard/login")
    );
    c.close().await.unwrap();
}

/// The command centre of a field day (3,000 interviews at 120 places in 17
/// countries, 960 employees) for an admin, in French then Arabic: the cards,
/// a map per country, the places table; screenshots of both; the page's
/// weight printed (plain and gzip, as a phone on 2G gets it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_centre_in_french_and_arabic() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Chromium);
    let server = TestServer::start().await;
    let url = server.url.clone();
    let day = survey_model::now().0[..10].to_owned();
    let seeded = fieldvoice_tests::fieldday::seed(&server, 3000, &day).await;
    user_with_password(&server, "chief", Role::Admin, "", PW);
    let driver = Driver::get();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    sign_in(&c, &url, "chief").await;
    wait_text(&c, "#total", "3,000").await;

    click(&c, "header .langs button[value=fr]").await;
    wait_text(&c, "h1", "Avancement de la campagne").await;
    c.goto(&format!("{url}/dashboard/command")).await.unwrap();
    wait_text(&c, "h1", "Centre de pilotage").await;
    // 3 000 with the French thin space.
    assert_eq!(text(&c, "#cc-done").await, "3\u{202F}000");
    let maps = c.find_all(Locator::Css("svg.map")).await.unwrap();
    assert_eq!(maps.len(), 17, "a map per country");
    let rows = c.find_all(Locator::Css("#cc-places tr")).await.unwrap();
    assert_eq!(rows.len(), seeded.places + 1, "every place and the heading");
    let idle = text(&c, "#idle-employees").await;
    assert!(idle.contains("Équipe") && idle.contains("Team 1"), "{idle}");
    // The CSP allows no inline style: colours are classes.
    assert!(!c.source().await.unwrap().contains(" style="));
    shot(&c, "command-centre-fr.png").await;
    c.goto(&format!("{url}/dashboard/command#maps"))
        .await
        .unwrap();
    wait_text(&c, "#maps h2", "Lieux").await;
    shot(&c, "command-centre-maps-fr.png").await;

    click(&c, "header .langs button[value=ar]").await;
    wait_text(&c, "h1", "مركز القيادة").await;
    let html = c.find(Locator::Css("html")).await.unwrap();
    assert_eq!(html.attr("dir").await.unwrap().as_deref(), Some("rtl"));
    assert!(text(&c, "#cc-places tr").await.contains("الوتيرة"));
    shot(&c, "command-centre-ar.png").await;

    // The page's weight, plain and compressed.
    let session = c.get_named_cookie("fv_session").await.unwrap();
    let cookie = format!("fv_session={}", session.value());
    // A client that does not decompress, to see the bytes on the wire.
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let plain = client
        .get(format!("{url}/dashboard/command"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len();
    let r = client
        .get(format!("{url}/dashboard/command"))
        .header("cookie", &cookie)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
    let gz = r.bytes().await.unwrap().len();
    eprintln!(
        "command centre, 17 countries, {} interviews: {plain} bytes, {gz} bytes gzip",
        seeded.interviews
    );
    fieldvoice_tests::report("command_centre_page_bytes", plain as u64);
    fieldvoice_tests::report("command_centre_page_bytes_gzip", gz as u64);
    assert!(plain < 200_000, "{plain} bytes");
}

/// An agent's day on the dashboard, in French: signing in lands on the case
/// queue (overdue cases marked), a case opens, the contact details show
/// after a deliberate click (and are audited), the agent takes the case and
/// records the call. Screenshots of the queue and the case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_works_the_case_queue_in_french() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Chromium);
    let server = TestServer::start().await;
    let url = server.url.clone();
    let agent = user_with_password(&server, "agent.ci", Role::Agent, "CI", PW);
    let (emp, _) = server.user_with_code("awa.ci", Role::Employee, "CI");
    let store = server.state.store.clone();
    let now = central_store::unix_now();
    let (mut first, mut last) = (String::new(), String::new());
    for (i, nps) in [2i64, 9, 4, 6].iter().enumerate() {
        let answers = survey_model::sample::with(
            complete_answers(*nps),
            &[
                ("follow_up_requested", json!("yes")),
                ("follow_up_contact", json!(format!("+225 07 00 00 0{i}"))),
            ],
        );
        let id = push_interview(&server, &emp, "2026-11-30T08:00:00Z", &answers);
        let r = store.interview(id).unwrap().unwrap();
        let mut c = central_store::cases::new_case(
            store.as_ref(),
            &r,
            survey_model::cases::CaseReason::Manual,
            "test",
            now - (3 - i as i64) * 24 * 3600,
        )
        .unwrap();
        c.root_cause = Some(["network", "it", "operations", "network"][i].into());
        assert!(store.open_case(&c).unwrap());
        if i == 0 {
            first = c.id.clone();
        }
        last = c.id.clone();
    }
    let driver = Driver::get();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    sign_in(&c, &url, "agent.ci").await;
    wait_text(&c, "h1", "Follow-up cases").await;
    click(&c, "header .langs button[value=fr]").await;
    wait_text(&c, "h1", "Suivi des clients").await;
    assert!(
        text(&c, "#cases").await.contains("en retard"),
        "overdue marked"
    );
    assert!(text(&c, "#case-figures").await.contains("network"));
    // An agent sees no interview pages in the header.
    assert!(!text(&c, "header").await.contains("File de vérification"));
    shot(&c, "cases-queue-fr.png").await;
    // Tick the last case (due latest) and take it.
    click(&c, "#cases tr:last-child input[name=ids]").await;
    click(&c, "#assign-apply").await;
    wait_text(&c, "#cases", "les miens").await;
    assert_eq!(
        store.case(&last).unwrap().unwrap().owner.as_deref(),
        Some(agent.id.as_str())
    );

    c.goto(&format!("{url}/dashboard/cases/{first}"))
        .await
        .unwrap();
    wait_text(&c, "h1", "Dossier").await;
    // Not the owner yet: the contact details are refused.
    click(&c, "#show-contact").await;
    wait_text(&c, "body", "403").await;
    c.goto(&format!("{url}/dashboard/cases/{first}"))
        .await
        .unwrap();
    wait_text(&c, "h1", "Dossier").await;
    click(&c, "input[name=take]").await;
    fill(&c, "#case-note", "Appel du client, rappel demain").await;
    click(&c, "#case-save").await;
    wait_text(&c, "#case-notes", "rappel demain").await;
    let before = store.audit_log(1000).unwrap().len();
    click(&c, "#show-contact").await;
    wait_text(&c, "#contact-given", "+225 07 00 00 00").await;
    assert!(
        store.audit_log(1000).unwrap().len() > before,
        "the view is audited"
    );
    assert_eq!(
        store.case(&first).unwrap().unwrap().owner.as_deref(),
        Some(agent.id.as_str())
    );
    shot(&c, "case-fr.png").await;
}

/// An analyst of the hackathon team, in French: the board of root causes
/// (this campaign and last year's, the actions beside them), an action
/// recorded with its evidence, then moved on with a progress note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyst_records_a_hackathon_action_in_french() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Chromium);
    let server = TestServer::start().await;
    let url = server.url.clone();
    user_with_password(&server, "analyst.ci", Role::Analyst, "CI", PW);
    let (emp, _) = server.user_with_code("awa.ci", Role::Employee, "CI");
    let store = server.state.store.clone();
    let mut evidence = String::new();
    for (campaign, nps, causes) in [
        ("mcmb-2025", 2, json!(["network"])),
        ("mcmb-2025", 3, json!(["network", "it"])),
        ("mcmb-2025", 9, json!(["operations"])),
        ("mcmb-2026", 4, json!(["it"])),
        ("mcmb-2026", 1, json!(["it", "network"])),
        ("mcmb-2026", 6, json!(["it"])),
        ("mcmb-2026", 10, json!(["organisation"])),
    ] {
        let answers =
            survey_model::sample::with(complete_answers(nps), &[("complaint_root_cause", causes)]);
        let id = fieldvoice_tests::dashboard::push_submitted_in(
            &server,
            &emp,
            campaign,
            "2026-11-30T09:00:00Z",
            &answers,
        );
        if campaign == "mcmb-2026" && evidence.is_empty() {
            evidence = id.to_string();
        }
    }
    let now = central_store::unix_now();
    store
        .insert_action(&central_store::ActionItem {
            id: uuid::Uuid::new_v4().to_string(),
            campaign: "mcmb-2025".into(),
            country: "CI".into(),
            title: "Nouvelles antennes à Bouaké nord".into(),
            description: String::new(),
            root_causes: vec!["network".into()],
            themes: vec![],
            evidence: vec![],
            owner: "Direction réseau".into(),
            due_date: Some("2026-06-30".into()),
            status: "done".into(),
            expected_effect: "Moins de coupures le soir".into(),
            created_by: "test".into(),
            created_at: now,
            updated_at: now,
            version: 1,
        })
        .unwrap();
    let driver = Driver::get();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    sign_in(&c, &url, "analyst.ci").await;
    wait_text(&c, "h1", "Hackathon actions").await;
    click(&c, "header .langs button[value=fr]").await;
    wait_text(&c, "h1", "Actions du hackathon").await;
    let causes = text(&c, "#causes").await;
    assert!(causes.contains("mcmb-2025"), "{causes}");
    assert!(
        causes.contains("Nouvelles antennes"),
        "last year's action beside its cause"
    );
    // An analyst's header offers the actions only.
    assert!(!text(&c, "header").await.contains("File de vérification"));
    fill(&c, "#title", "Corriger les erreurs de facturation").await;
    fill(&c, "#owner", "DSI").await;
    click(&c, "#new-action input[name=root_causes][value=it]").await;
    fill(
        &c,
        "#expected_effect",
        "Part des causes IT sous 30 % en 2027",
    )
    .await;
    fill(&c, "#evidence", &evidence).await;
    c.execute(
        "document.getElementById('due_date').value = '2027-03-31'",
        vec![],
    )
    .await
    .unwrap();
    click(&c, "#create-action").await;
    wait_text(&c, "h1", "Corriger les erreurs de facturation").await;
    assert!(text(&c, "#evidence-list").await.contains(&evidence));
    c.execute(
        "document.querySelector('#update-action select[name=status]').value = 'in_progress'",
        vec![],
    )
    .await
    .unwrap();
    fill(&c, "#note", "Atelier avec la DSI le 15 décembre").await;
    click(&c, "#save-action").await;
    wait_text(&c, "#action-notes", "Atelier avec la DSI").await;
    shot(&c, "action-fr.png").await;
    let actions = store.list_actions(&["CI".to_owned()]).unwrap();
    let a = actions
        .iter()
        .find(|a| a.title == "Corriger les erreurs de facturation")
        .unwrap();
    assert_eq!(
        (
            a.status.as_str(),
            a.evidence.len(),
            a.due_date.as_deref(),
            a.version
        ),
        ("in_progress", 1, Some("2027-03-31"), 2)
    );
    assert_eq!(a.root_causes, ["it"]);
    click(&c, "main p:last-child a").await;
    wait_text(&c, "#causes", "Corriger les erreurs de facturation").await;
    shot(&c, "actions-fr.png").await;

    // The analyst exports the data for the hackathon from the dashboard:
    // a workbook with label columns, made by a job the page follows.
    click(&c, "header a[href='/dashboard/exports']").await;
    wait_text(&c, "h1", "Exportations").await;
    wait_text(&c, "#odata", "Power BI").await;
    c.execute(
        "document.querySelector('#start-export select[name=format]').value = 'xlsx';\
         document.querySelector('#start-export select[name=labels]').value = 'columns';",
        vec![],
    )
    .await
    .unwrap();
    click(&c, "#start-export input[name=comments]").await;
    click(&c, "#start-export button[type=submit]").await;
    wait_text(&c, "#jobs", "Prêt").await;
    assert!(text(&c, "#jobs").await.contains("interviews.xlsx"));
    assert!(text(&c, "#jobs").await.contains("codebook.csv"));
    shot(&c, "exports-fr.png").await;
    click(&c, "header .langs button[value=ar]").await;
    wait_text(&c, "h1", "التصدير").await;
    wait_text(&c, "#jobs", "جاهز").await;
    shot(&c, "exports-ar.png").await;
}

/// The demo campaign as a coordinator meets it, in French then Arabic: the
/// progress page, the theme coding page (uncoded verbatims with the model's
/// suggestions, one accepted), and the analysis report with its themes and
/// quotes. Screenshots of each (the report at full length).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_campaign_themes_and_report_in_french_and_arabic() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Chromium);
    // The demo seeds an empty store, as `serve --demo` does; the test
    // server then runs on it.
    let dir = tempfile::tempdir().unwrap();
    let store: std::sync::Arc<dyn central_store::CentralStore> = std::sync::Arc::new(
        central_store::SqliteStore::open(&dir.path().join("server.sqlite3")).unwrap(),
    );
    let spec = sync_server::demo::DemoSpec {
        interviews: 360,
        countries: ["CI", "SN", "CM", "MA", "EG", "GW"]
            .map(String::from)
            .to_vec(),
        seed: 2026,
    };
    let seeding =
        sync_server::AppState::new(store.clone(), sync_server::Settings::default()).unwrap();
    let accounts = tokio::task::spawn_blocking(move || {
        sync_server::demo::seed(&seeding, "demo-admin-password", &spec)
    })
    .await
    .unwrap()
    .unwrap()
    .expect("a fresh store gets the demo");
    let server = TestServer::start_on(store, sync_server::Settings::default(), dir).await;
    let url = server.url.clone();
    let (login, password, _) = accounts
        .coordinators
        .iter()
        .find(|(l, _, _)| l == "coord.ci")
        .unwrap()
        .clone();
    let driver = Driver::get();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    c.goto(&format!("{url}/dashboard/login")).await.unwrap();
    fill(&c, "#login", &login).await;
    fill(&c, "#password", &password).await;
    click(&c, "button[type=submit]").await;
    wait_text(&c, "h1", "Campaign progress").await;
    click(&c, "header .langs button[value=fr]").await;
    wait_text(&c, "h1", "Avancement de la campagne").await;
    shot(&c, "demo-progress-fr.png").await;

    c.goto(&format!("{url}/dashboard/themes")).await.unwrap();
    wait_text(&c, "h1", "Thèmes des verbatims").await;
    let intro = text(&c, "main p.muted").await;
    assert!(intro.contains("verbatims codés"), "{intro}");
    let forms = c.find_all(Locator::Css("form.verbatim")).await.unwrap();
    assert!(!forms.is_empty(), "uncoded verbatims to code");
    let ticked = c
        .find_all(Locator::Css("form.verbatim input[name=theme]:checked"))
        .await
        .unwrap();
    assert!(!ticked.is_empty(), "suggestions come pre-ticked");
    shot(&c, "themes-fr.png").await;
    // Interviews of CI with a reviewer's theme code.
    let coded = || {
        server
            .state
            .store
            .list_interviews(&central_store::InterviewFilter {
                countries: vec!["CI".into()],
                // Every one of them (a listing's default page is 100).
                limit: Some(10_000),
                ..Default::default()
            })
            .unwrap()
            .iter()
            .filter(|r| r.tags.iter().any(|t| t.starts_with(themes::TAG_PREFIX)))
            .count()
    };
    let before = coded();
    click(&c, "form.verbatim button[type=submit]").await;
    wait_text(&c, "h1", "Thèmes des verbatims").await;
    let after = coded();
    assert_eq!(after, before + 1, "accepting coded one more verbatim");

    // The queue links to the report of its selection.
    c.goto(&format!("{url}/dashboard/reviews?segment=business"))
        .await
        .unwrap();
    let link = c
        .find(Locator::Css("#queue-report"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        link.contains("segment=business") && link.contains("lang=fr"),
        "{link}"
    );
    click(&c, "#queue-report").await;
    wait_text(&c, "#base", "segment=business").await;

    c.set_window_size(1280, 5200).await.unwrap();
    c.goto(&format!("{url}/api/v1/report?lang=fr"))
        .await
        .unwrap();
    wait_text(&c, "#themes h2", "Thèmes des verbatims").await;
    let rows = c
        .find_all(Locator::Css("#themes table.themes tbody tr"))
        .await
        .unwrap();
    assert!(rows.len() >= 4, "themes shown: {}", rows.len());
    let quotes = c
        .find_all(Locator::Css("#themes blockquote"))
        .await
        .unwrap();
    assert!(!quotes.is_empty());
    shot(&c, "demo-report-fr.png").await;
    c.goto(&format!("{url}/api/v1/report?lang=ar"))
        .await
        .unwrap();
    wait_text(&c, "#themes h2", "مواضيع أقوال العملاء").await;
    let html = c.find(Locator::Css("html")).await.unwrap();
    assert_eq!(html.attr("dir").await.unwrap().as_deref(), Some("rtl"));
    shot(&c, "demo-report-ar.png").await;
    c.set_window_size(1280, 1000).await.unwrap();
    c.goto(&format!("{url}/dashboard/themes")).await.unwrap();
    click(&c, "header .langs button[value=ar]").await;
    wait_text(&c, "h1", "مواضيع أقوال العملاء").await;
    shot(&c, "themes-ar.png").await;
    // The progress page names touchpoints by the form's short labels.
    c.goto(&format!("{url}/dashboard/")).await.unwrap();
    wait_text(&c, "#by-country", "مركز الاتصال").await;
}
