//! The device store encrypted at rest (SQLCipher): a copy of the file and its
//! WAL holds none of the customers' names or phone numbers, the key opens it,
//! a wrong or missing key is a clear error that leaves the file as it was, and
//! a plaintext store converts in place even when killed mid-conversion.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use device_store::{DeviceStore, Enrollment, FileState, StoreError, StoreKey, file_state};
use serde_json::json;
use survey_model::Form;

fn enroll(store: &DeviceStore) -> Form {
    let form = store.put_form(survey_model::BUILTIN_FORMS[0].1).unwrap();
    store
        .set_enrollment(&Enrollment {
            server_url: "http://127.0.0.1:9".into(),
            device_id: "dev-enc".into(),
            device_token: "device-token-secret".into(),
            user_id: "emp-enc".into(),
            user_name: "Enc Test".into(),
            country: "CI".into(),
            campaign: "mcmb-2026".into(),
        })
        .unwrap();
    form
}

fn name(i: usize) -> String {
    format!("Aminata Kouyate{i:03}")
}

fn phone(i: usize) -> String {
    format!("+225077755{i:04}")
}

/// Save `n` completed interviews with known names and phone numbers.
fn fill(store: &mut DeviceStore, form: &Form, n: usize) {
    for i in 0..n {
        let mut iv = store.create_interview(form).unwrap();
        for (k, v) in survey_model::sample::varied(i, (i % 11) as i64, "Bouake") {
            iv.set_answer_json(form, k, &v).unwrap();
        }
        iv.set_answer_json(form, "customer_name", &json!(name(i)))
            .unwrap();
        iv.set_answer_json(form, "customer_phone", &json!(phone(i)))
            .unwrap();
        iv.submit(form).unwrap();
        store.save(&mut iv, Some(form)).unwrap();
    }
}

fn side(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The bytes of the file and its WAL, copied while the store is open.
fn copy_bytes(path: &Path) -> (Vec<u8>, Vec<u8>) {
    let main = std::fs::read(path).unwrap();
    let wal = std::fs::read(side(path, "-wal")).unwrap_or_default();
    (main, wal)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    hay.windows(n.len()).any(|w| w == n)
}

/// Which of the secrets appear in `bytes` (any case for names, as the store's
/// search column lowercases them).
fn secrets_in(bytes: &[u8], n: usize) -> Vec<String> {
    let mut found = Vec::new();
    for i in 0..n {
        for s in [name(i), name(i).to_lowercase(), phone(i)] {
            if contains(bytes, &s) {
                found.push(s);
            }
        }
    }
    for s in ["device-token-secret", "Bouake", "bouake"] {
        if contains(bytes, s) {
            found.push(s.to_owned());
        }
    }
    found
}

#[test]
fn encrypted_store_file_and_wal_hold_no_names_or_phones_and_open_with_the_key() {
    assert!(
        device_store::cipher_available(),
        "the tests crate builds device-store with SQLCipher"
    );
    const N: usize = 40;
    let dir = tempfile::tempdir().unwrap();

    // Control: the same interviews in a plaintext store are readable in its
    // bytes, so finding nothing below means something.
    let plain_path = dir.path().join("plain.sqlite3");
    let mut plain = DeviceStore::open(&plain_path).unwrap();
    let form = enroll(&plain);
    fill(&mut plain, &form, N);
    let (pm, pw) = copy_bytes(&plain_path);
    let plain_found = [secrets_in(&pm, N), secrets_in(&pw, N)].concat();
    assert!(
        plain_found.len() >= N,
        "control: the plaintext store shows the names ({} found)",
        plain_found.len()
    );
    drop(plain);

    let key = StoreKey::generate();
    let path = dir.path().join("device.sqlite3");
    let mut store = DeviceStore::open_encrypted(&path, &key).unwrap();
    let form = enroll(&store);
    fill(&mut store, &form, N);
    let (main, wal) = copy_bytes(&path);
    assert!(
        wal.len() > 4096,
        "the WAL holds recent pages ({} B)",
        wal.len()
    );
    assert_eq!(secrets_in(&main, N), Vec::<String>::new(), "main file");
    assert_eq!(secrets_in(&wal, N), Vec::<String>::new(), "WAL");
    assert!(!contains(&main, "SQLite format 3"), "no plaintext header");
    assert!(!contains(&main, &hex::encode(key.as_bytes())), "no key");
    assert!(!contains(&wal, &hex::encode(key.as_bytes())), "no key");
    assert_eq!(file_state(&path).unwrap(), FileState::Encrypted);
    let ids: Vec<_> = store
        .list(&Default::default())
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    drop(store);

    // The copied bytes, put back as a store, open with the key and read back.
    let copy = dir.path().join("copy.sqlite3");
    std::fs::write(&copy, &main).unwrap();
    std::fs::write(side(&copy, "-wal"), &wal).unwrap();
    let reopened = DeviceStore::open_encrypted(&copy, &key).unwrap();
    assert_eq!(reopened.integrity_check().unwrap(), "ok");
    assert_eq!(reopened.count().unwrap(), N);
    let mut names = std::collections::BTreeSet::new();
    for id in &ids {
        let mut iv = reopened.load(*id).unwrap();
        let rec = iv.project(Some(&form));
        names.insert(rec.answer_str("customer_name").unwrap().to_owned());
    }
    assert_eq!(names, (0..N).map(name).collect());
    assert_eq!(
        reopened.enrollment().unwrap().unwrap().device_token,
        "device-token-secret"
    );
    drop(reopened);

    // A wrong key and no key are clear errors; the file is left as it was.
    let before = std::fs::read(&copy).unwrap();
    let err = DeviceStore::open_encrypted(&copy, &StoreKey::generate()).unwrap_err();
    assert!(matches!(err, StoreError::WrongKey), "{err}");
    assert!(err.to_string().contains("left untouched"), "{err}");
    let err = DeviceStore::open(&copy).unwrap_err();
    assert!(matches!(err, StoreError::NeedsKey), "{err}");
    assert!(matches!(
        StoreKey::from_bytes(&[1, 2, 3]),
        Err(StoreError::BadKey { len: 3 })
    ));
    assert_eq!(std::fs::read(&copy).unwrap(), before, "file unchanged");
    let again = DeviceStore::open_encrypted(&copy, &key).unwrap();
    assert_eq!(again.count().unwrap(), N);
    assert!(!format!("{key:?}").contains(&hex::encode(key.as_bytes())[..8]));
}

/// Every interview's list row, and the full answers of every 25th: enough to
/// see a lost, truncated or mixed-up store, cheap enough to run 17 times.
fn digest(store: &DeviceStore, form: &Form) -> Vec<String> {
    let mut out: Vec<String> = store
        .list(&Default::default())
        .unwrap()
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let mut row = serde_json::to_string(&s).unwrap();
            if i % 25 == 0 {
                let rec = store.load(s.id).unwrap().project(Some(form));
                row.push_str(&serde_json::to_string(&rec.answers).unwrap());
            }
            row
        })
        .collect();
    out.sort();
    out
}

#[test]
fn plaintext_store_converts_in_place_and_survives_sigkill_mid_conversion() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = dir.path().join("pristine.sqlite3");
    let (form, want) = {
        let mut s = DeviceStore::open(&pristine).unwrap();
        let form = enroll(&s);
        fill(&mut s, &form, 400);
        let want = digest(&s, &form);
        (form, want)
    };
    assert_eq!(file_state(&pristine).unwrap(), FileState::Plain);
    let key = StoreKey::generate();
    let key_hex = hex::encode(key.as_bytes());
    let work = dir.path().join("device.sqlite3");
    let staging = side(&work, ".encrypting");
    let reset = || {
        for s in ["", "-wal", "-shm", ".encrypting"] {
            let _ = std::fs::remove_file(side(&work, s));
        }
        std::fs::copy(&pristine, &work).unwrap();
    };
    let run = |kill_after: Option<Duration>| -> bool {
        let mut child = Command::new(env!("CARGO_BIN_EXE_store-encrypt"))
            .arg(&work)
            .arg(&key_hex)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        match kill_after {
            None => {
                let mut line = String::new();
                BufReader::new(child.stdout.take().unwrap())
                    .read_line(&mut line)
                    .unwrap();
                assert_eq!(line.trim(), format!("done {}", want.len()));
                assert!(child.wait().unwrap().success());
                false
            }
            Some(d) => {
                std::thread::sleep(d);
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                staging.exists()
            }
        }
    };

    // One uninterrupted conversion, timed, to place the kills inside it.
    reset();
    let t = Instant::now();
    run(None);
    let full = t.elapsed();
    assert_eq!(file_state(&work).unwrap(), FileState::Encrypted);
    assert!(!staging.exists());
    let s = DeviceStore::open_encrypted(&work, &key).unwrap();
    assert_eq!(digest(&s, &form), want);
    drop(s);

    let mut states = std::collections::BTreeMap::<&str, usize>::new();
    let rounds = 16;
    for k in 0..rounds {
        reset();
        let d = full.mul_f64(0.1 + 0.9 * k as f64 / rounds as f64);
        let mid = run(Some(d));
        let state = match (mid, file_state(&work).unwrap()) {
            (true, _) => "killed mid-conversion",
            (false, FileState::Plain) => "killed before",
            (false, _) => "killed after",
        };
        *states.entry(state).or_default() += 1;
        // Whatever the moment, the next open with the key has every interview.
        let s = DeviceStore::open_encrypted(&work, &key).unwrap();
        assert_eq!(s.integrity_check().unwrap(), "ok");
        assert_eq!(digest(&s, &form), want, "{state} at {d:?}");
        assert!(!staging.exists(), "the partial copy is discarded");
        assert_eq!(file_state(&work).unwrap(), FileState::Encrypted);
        drop(s);
        // And the plaintext is gone from the file.
        let (main, wal) = copy_bytes(&work);
        assert!(secrets_in(&main, 50).is_empty() && secrets_in(&wal, 50).is_empty());
    }
    println!("conversion of 400 interviews took {full:?}; kills: {states:?}");
    assert!(
        states.get("killed mid-conversion").copied().unwrap_or(0) >= 1,
        "at least one kill landed mid-conversion: {states:?}"
    );
}
