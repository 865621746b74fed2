//! A client certificate, for servers that log members in by certificate (`hostssl … cert`
//! in pg_hba.conf), found the libpq way: `sslcert`/`sslkey` (or `PGSSLCERT`/`PGSSLKEY`),
//! else `~/.postgresql/postgresql.crt` and `postgresql.key` when that certificate exists.
//! The key file must not be readable by group or others (libpq refuses it too; a key
//! file owned by root may be 0640, for a group-managed key).

use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{Env, home};
use crate::vault::error::{Result, VaultError};

/// The certificate chain and key files a connection presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The client certificate these settings ask for, if any. `cert` and `key` come from
/// the connection string.
pub fn find(cert: Option<String>, key: Option<String>, env: Env<'_>) -> Result<Option<ClientCert>> {
    let dir = home(env).map(|h| h.join(".postgresql"));
    let given = cert.or_else(|| env("PGSSLCERT")).map(PathBuf::from);
    let cert = match (&given, &dir) {
        (Some(path), _) => path.clone(),
        (None, Some(dir)) => dir.join("postgresql.crt"),
        (None, None) => return Ok(None),
    };
    if !cert.is_file() {
        return match given {
            Some(path) => Err(VaultError::team(format!(
                "the client certificate file {} (sslcert) does not exist",
                path.display()
            ))),
            None => Ok(None),
        };
    }
    // libpq's default key is ~/.postgresql/postgresql.key, whichever certificate.
    let key = match (key.or_else(|| env("PGSSLKEY")), &dir) {
        (Some(path), _) => PathBuf::from(path),
        (None, Some(dir)) => dir.join("postgresql.key"),
        (None, None) => {
            return Err(VaultError::team(format!(
                "the client certificate {} needs its private key: give sslkey=FILE",
                cert.display()
            )));
        }
    };
    check_key_file(&key, &cert)?;
    Ok(Some(ClientCert { cert, key }))
}

fn check_key_file(key: &Path, cert: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(key).map_err(|_| {
        VaultError::team(format!(
            "the client certificate {} has no private key file: {} does not exist (give sslkey=FILE)",
            cert.display(),
            key.display()
        ))
    })?;
    let allowed = if meta.uid() == 0 { 0o037 } else { 0o077 };
    if meta.mode() & allowed != 0 {
        return Err(VaultError::team(format!(
            "the private key file {} has group or world access; run `chmod 0600 {}`",
            key.display(),
            key.display()
        )));
    }
    Ok(())
}

impl ClientCert {
    /// The chain and the key, read as PEM.
    pub fn load(&self) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
        let chain = CertificateDer::pem_file_iter(&self.cert)
            .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| {
                VaultError::team(format!(
                    "the client certificate file {} cannot be read as PEM: {e}",
                    self.cert.display()
                ))
            })?;
        if chain.is_empty() {
            return Err(VaultError::team(format!(
                "the client certificate file {} holds no certificate",
                self.cert.display()
            )));
        }
        // The key's own bytes never reach an error message, only its file's name.
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|_| {
            VaultError::team(format!(
                "the private key file {} cannot be read as a PEM private key",
                self.key.display()
            ))
        })?;
        Ok((chain, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn env_of(vars: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_default_pair_is_used_when_the_certificate_exists() {
        let home = tempfile::tempdir().unwrap();
        let env = env_of(vec![("HOME", home.path().display().to_string())]);
        assert_eq!(find(None, None, &env).unwrap(), None);
        let dir = home.path().join(".postgresql");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("postgresql.crt"), "x").unwrap();
        let err = find(None, None, &env).unwrap_err().to_string();
        assert!(err.contains("has no private key file"), "{err}");
        let key = dir.join("postgresql.key");
        std::fs::write(&key, "k").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = find(None, None, &env).unwrap_err().to_string();
        assert!(err.contains("chmod 0600"), "{err}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let found = find(None, None, &env).unwrap().unwrap();
        assert_eq!(found.key, key);
    }

    #[test]
    fn a_named_certificate_that_is_missing_is_an_error() {
        let env = env_of(vec![]);
        let err = find(Some("/nowhere/c.crt".into()), None, &env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nowhere/c.crt (sslcert) does not exist"),
            "{err}"
        );
    }
}
