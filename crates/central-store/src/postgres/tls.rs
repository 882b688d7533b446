//! TLS to PostgreSQL (rustls), with libpq's `sslmode` meanings, since
//! tokio-postgres itself knows only `disable`, `prefer` and `require` and has
//! no `sslrootcert`:
//!
//! | `sslmode` | encrypted | server checked |
//! |---|---|---|
//! | `disable` | no | — |
//! | `prefer` (the default) | when the server offers TLS | no |
//! | `require` | yes | no |
//! | `verify-ca` | yes | certificate chain to a trusted root |
//! | `verify-full` | yes | chain, and the certificate names the host |
//!
//! Trusted roots are the PEM file named by `sslrootcert` (read when the
//! store connects, as libpq reads it), else the system's root certificates.
//! Use `verify-full` whenever the database is reached over a network.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::{Result, StoreError};

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<SslMode> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(StoreError::Db(format!(
                    "invalid PostgreSQL URL: sslmode `{other}` (use disable, prefer, require, verify-ca or verify-full)"
                )));
            }
        })
    }

    /// What tokio-postgres is told (verification is the connector's).
    pub(crate) fn wire(self) -> tokio_postgres::config::SslMode {
        match self {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        }
    }
}

/// The TLS part of a connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
}

/// Split `sslmode` and `sslrootcert` out of a connection string (a
/// `postgres://` URL's query, or libpq `key=value` words); the rest goes to
/// tokio-postgres unchanged.
pub fn split(url: &str) -> Result<(String, TlsSettings)> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |k: &str, v: &str| -> Result<bool> {
        match k {
            "sslmode" => mode = Some(SslMode::parse(v)?),
            "sslrootcert" => root_cert = Some(PathBuf::from(v)),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    let v = percent_decode(v);
                    if !take(k, &v)? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for word in url.split_whitespace() {
            let (k, v) = word.split_once('=').unwrap_or((word, ""));
            if !take(k.trim(), v.trim().trim_matches('\''))? {
                kept.push(word);
            }
        }
        kept.join(" ")
    };
    Ok((
        rest,
        TlsSettings {
            mode: mode.unwrap_or(SslMode::Prefer),
            root_cert,
        },
    ))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(h) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(h);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn roots(root_cert: Option<&PathBuf>) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| StoreError::Db(format!("sslrootcert {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(StoreError::Db(format!(
                    "sslrootcert {}: no certificate in the file",
                    path.display()
                )));
            }
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| StoreError::Db(format!("sslrootcert {}: {e}", path.display())))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for c in found.certs {
                let _ = roots.add(c);
            }
            if roots.is_empty() {
                return Err(StoreError::Db(
                    "sslmode verify-ca/verify-full: no system root certificates; give sslrootcert"
                        .into(),
                ));
            }
        }
    }
    Ok(roots)
}

/// The connector for `s`, or `None` for `sslmode=disable`.
pub(crate) fn connector(
    s: &TlsSettings,
) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = match s.mode {
        SslMode::Disable => return Ok(None),
        SslMode::Prefer | SslMode::Require => Arc::new(Relaxed {
            chain: None,
            provider: provider.clone(),
        }),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let webpki = WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots(s.root_cert.as_ref())?),
                provider.clone(),
            )
            .build()
            .map_err(|e| StoreError::Db(format!("TLS verifier: {e}")))?;
            if s.mode == SslMode::VerifyCa {
                Arc::new(Relaxed {
                    chain: Some(webpki),
                    provider: provider.clone(),
                })
            } else {
                webpki
            }
        }
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Db(format!("TLS config: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(config)))
}

/// The relaxed libpq modes, one verifier. `prefer`/`require` (`chain:
/// None`): encrypted, the server not authenticated. `verify-ca` (`chain:
/// Some`): the chain must lead to a trusted root; the name is not checked.
/// Either way the handshake signatures are checked, with the provider's
/// algorithms (those the chain verifier was built with).
#[derive(Debug)]
struct Relaxed {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_settings_come_out_of_both_spellings() {
        let (rest, s) = split(
            "postgres://u@db.example:5432/fv?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u@db.example:5432/fv?application_name=x");
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert_eq!(s.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        let (rest, s) = split("host=db user=u sslmode=verify-ca sslrootcert=/ca.pem").unwrap();
        assert_eq!(rest, "host=db user=u");
        assert_eq!(
            (s.mode, s.root_cert),
            (SslMode::VerifyCa, Some(PathBuf::from("/ca.pem")))
        );
        let (rest, s) = split("postgres://u@h/db").unwrap();
        assert_eq!(
            (rest.as_str(), s.mode),
            ("postgres://u@h/db", SslMode::Prefer)
        );
        assert!(split("postgres://u@h/db?sslmode=sometimes").is_err());
    }
}
