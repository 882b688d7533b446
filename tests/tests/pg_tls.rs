//! TLS between the server and PostgreSQL, against a real cluster that
//! accepts only TLS connections (`hostnossl ... reject`) with a certificate
//! for `localhost` signed by a test CA (made with the openssl command):
//! `verify-full` with the CA connects, checks the chain and the name;
//! `verify-ca` checks the chain only; `require` encrypts without checking;
//! a wrong CA, a wrong name and `disable` are refused with clear errors.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use central_store::PgStore;
use fieldvoice_tests::needs::Need;
use fieldvoice_tests::pg::Cluster;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl command");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`NAME.pem`, `NAME.key`) in `dir`.
fn ca(dir: &Path, name: &str) {
    let (pem, key) = (format!("{name}.pem"), format!("{name}.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

#[test]
fn postgres_connections_use_tls_and_verify_the_server() {
    fieldvoice_tests::skip_unless!(Need::Postgres);
    let certs = tempfile::tempdir().unwrap();
    let d = certs.path();
    ca(d, "test-ca");
    ca(d, "other-ca");
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        d.join("server.ext"),
        "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "test-ca.pem",
            "-CAkey",
            "test-ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "server.crt",
            "-extfile",
            "server.ext",
        ],
    );
    let cluster = Cluster::start_configured(
        "-c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key",
        &|data: &Path| {
            for f in ["server.crt", "server.key"] {
                std::fs::copy(d.join(f), data.join(f)).unwrap();
            }
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                data.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\n\
                 hostnossl all all all reject\n\
                 hostssl all all 127.0.0.1/32 trust\n\
                 hostssl all all ::1/128 trust\n",
            )
            .unwrap();
        },
    );
    let port = cluster
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .unwrap()
        .to_owned();
    let ca_pem = d.join("test-ca.pem");
    let other = d.join("other-ca.pem");
    let url = |host: &str, q: &str| format!("postgres://postgres@{host}:{port}/postgres?{q}");

    // verify-full with the CA: the chain and the name check out.
    let store = PgStore::connect(&url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", ca_pem.display()),
    ))
    .expect("verify-full with the right CA connects");
    assert_eq!(
        central_store::CentralStore::stats(&store)
            .unwrap()
            .documents,
        0
    );
    drop(store);
    // The same in libpq's key=value spelling.
    PgStore::connect(&format!(
        "host=localhost port={port} user=postgres dbname=postgres sslmode=verify-full sslrootcert={}",
        ca_pem.display()
    ))
    .expect("key=value spelling");
    // A certificate from another CA is refused.
    let err = PgStore::connect(&url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", other.display()),
    ))
    .unwrap_err()
    .to_string();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    // The certificate names localhost, not 127.0.0.1: verify-full refuses,
    // verify-ca (chain only) accepts.
    let err = PgStore::connect(&url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", ca_pem.display()),
    ))
    .unwrap_err()
    .to_string();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    PgStore::connect(&url(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={}", ca_pem.display()),
    ))
    .expect("verify-ca checks the chain only");
    // require encrypts without checking; the server takes only TLS, so this
    // connection is encrypted.
    PgStore::connect(&url("127.0.0.1", "sslmode=require")).expect("require");
    // Without TLS the server refuses (pg_hba: hostnossl reject).
    let err = PgStore::connect(&url("127.0.0.1", "sslmode=disable"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no encryption") || err.contains("pg_hba"),
        "{err}"
    );
    // A missing root file is named.
    let err = PgStore::connect(&url(
        "localhost",
        "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
}
