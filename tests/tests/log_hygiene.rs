//! Secrets and personal data never reach the logs: run the real server binary
//! with debug logging through enrollment, sync of interviews full of PII,
//! review and failed logins, then grep its whole log.
#![allow(clippy::unwrap_used)]

use std::io::BufRead;
use std::process::{Command, Stdio};

use fieldvoice_tests::server::{Device, admin, server_binary};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pii_or_secrets_in_debug_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.sqlite3");
    let log_path = dir.path().join("server.log");
    let boot = admin(&db, &["bootstrap"]);
    let admin_token = boot
        .lines()
        .find_map(|l| l.strip_prefix("token "))
        .unwrap()
        .to_owned();
    let out = admin(
        &db,
        &[
            "create-user",
            "--login",
            "emp.log",
            "--name",
            "Employee Log",
            "--country",
            "CI",
        ],
    );
    let code = fieldvoice_tests::server::enrollment_code(&out);
    let mut child = Command::new(server_binary())
        .arg("--database")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("FIELDVOICE_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let l = lines.next().unwrap().unwrap();
        if let Some(u) = l.strip_prefix("listening on ") {
            break u.to_owned();
        }
    };
    let dev = Device::enroll(&dir.path().join("d.sqlite3"), &url, &code).await;
    let device_token = dev.token();
    let secrets = [
        "Aminata Koné-Secret",
        "+225 07 99 88 77 66",
        "verbatim-canary: le réseau de Yopougon",
        "follow-up-canary@example.org",
    ];
    let form = dev.lock().form("mcmb-interview", None).unwrap();
    let id = {
        let mut s = dev.lock();
        let mut iv = s.create_interview(&form).unwrap();
        for (k, v) in fieldvoice_tests::complete_answers(3) {
            iv.set_answer_json(&form, k, &v).unwrap();
        }
        iv.set_answer_json(&form, "customer_name", &json!(secrets[0]))
            .unwrap();
        iv.set_answer_json(&form, "customer_phone", &json!(secrets[1]))
            .unwrap();
        iv.set_answer_json(&form, "verbatim", &json!(secrets[2]))
            .unwrap();
        iv.set_answer_json(&form, "follow_up_requested", &json!("yes"))
            .unwrap();
        iv.set_answer_json(&form, "follow_up_contact", &json!(secrets[3]))
            .unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
        iv.id()
    };
    dev.sync().await.unwrap();
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{url}/api/v1/interviews/{id}/comments"))
        .bearer_auth(&admin_token)
        .json(&json!({"text": "comment-canary about Aminata"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("{url}/api/v1/interviews/{id}"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Bad tokens and bad codes are logged as failures without their values.
    let r = http
        .get(format!("{url}/api/v1/interviews"))
        .bearer_auth("fva_wrong-token-canary")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(format!("{url}/api/v1/enroll"))
        .json(&json!({"code": "ZZZZZ-ZZZZZ"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    dev.sync().await.unwrap();
    let _ = child.kill();
    let _ = child.wait();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("device enrolled"),
        "the log has content: {log}"
    );
    let mut forbidden: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
    forbidden.extend([
        device_token.clone(),
        device_token[4..].to_owned(),
        admin_token.clone(),
        code.clone(),
        code.replace('-', ""),
        "wrong-token-canary".into(),
        "ZZZZZ-ZZZZZ".into(),
        "comment-canary".into(),
        "Bouaké".into(),
    ]);
    for f in &forbidden {
        assert!(!log.contains(f.as_str()), "log contains `{f}`");
    }
    fieldvoice_tests::report("log_secrets_checked", forbidden.len() as u64);
}
