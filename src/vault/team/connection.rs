//! How a replica reaches its team server, the libpq way: a URL or `key=value` string,
//! the `PG*` environment variables for what it leaves out, `~/.pgpass` (or `PGPASSFILE`)
//! for the password, and libpq's `sslmode` / `sslrootcert` over rustls (the `ring`
//! provider: no OpenSSL headers to build, no aws-lc).
//!
//! `sslmode`: `disable` (plain), `prefer` (the default: TLS when the server offers it),
//! `require` (TLS; the chain is checked only when a root certificate is known, as libpq
//! does), `verify-ca` (the chain), `verify-full` (the chain and the host name). The root
//! is `sslrootcert` (a PEM file, or `system` for the system's roots), else
//! `~/.postgresql/root.crt` when it exists. A unix socket never uses TLS (libpq ignores
//! `sslmode` there too).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use postgres::config::{Host, SslMode};
use postgres::{Client, NoTls};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use rustls::{Error as TlsError, SignatureScheme};

use crate::vault::error::{Result, VaultError};

mod client_cert;
mod conninfo;
mod pgpass;

pub use conninfo::{join_command, redact_url};

/// libpq's `sslmode`, all five of them (`allow` is taken as `prefer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(text: &str) -> Result<Mode> {
        Ok(match text {
            "disable" => Mode::Disable,
            "allow" | "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            other => {
                return Err(invalid(format!(
                    "sslmode `{other}` is not one of disable, prefer, require, verify-ca, verify-full"
                )));
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }
}

/// Where the trusted root certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    File(PathBuf),
    System,
}

impl Root {
    fn text(&self) -> String {
        match self {
            Root::File(p) => format!("the root certificate in {}", p.display()),
            Root::System => "any of the system's trusted roots".into(),
        }
    }
}

/// Everything a connection needs, resolved from the string and the environment.
pub struct Settings {
    /// Every host of the list, with the password they share (if any).
    pub config: postgres::Config,
    /// When the password file gives the hosts different passwords (a `postgres::Config`
    /// holds one): a config per host with its own, tried in order like libpq's list.
    pub per_host: Vec<postgres::Config>,
    pub mode: Mode,
    pub root: Option<Root>,
    /// The certificate this client logs in with, for servers that ask for one.
    pub client: Option<client_cert::ClientCert>,
    /// Said after a failure that it may explain (a `.pgpass` that was skipped).
    pub note: Option<String>,
}

/// What the process environment offers; a function so tests can give their own.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Connects with libpq's settings. Gives up after 5 s a host instead of hanging.
pub fn connect(url: &str) -> Result<Client> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let s = settings(url, &env)?;
    let tries = if s.per_host.is_empty() {
        std::slice::from_ref(&s.config)
    } else {
        &s.per_host[..]
    };
    let mut failed = None;
    for config in tries {
        let result = if s.mode == Mode::Disable {
            config.connect(NoTls)
        } else {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(&s)?);
            config.connect(tls)
        };
        match result {
            Ok(client) => return Ok(client),
            // libpq: a server that answered (a refused login) ends the list.
            Err(e) if e.as_db_error().is_some() => return Err(explain(&e, &s, config)),
            Err(e) => failed = Some((e, config)),
        }
    }
    let (e, config) = failed.expect("at least one host is tried");
    Err(explain(&e, &s, config))
}

/// One entry of the host list: a host (name or socket folder), its address, its port.
struct Target {
    host: Option<Host>,
    addr: Option<std::net::IpAddr>,
    port: Option<u16>,
}

/// The string and the environment made into one connection's settings.
pub fn settings(url: &str, env: Env<'_>) -> Result<Settings> {
    let (rest, ssl) = split_ssl(url)?;
    let parse = |text: &str| -> Result<postgres::Config> {
        text.parse().map_err(|e| invalid(format!("{e}")))
    };
    let targets = targets(&parse(&rest)?, env)?;
    let mut config = parse(&conninfo::without_hosts(&rest))?;
    if config.get_user().is_none() {
        let user = env("PGUSER").or_else(os_user).ok_or_else(|| {
            invalid("no user name: put it in the URL (postgres://USER@host/db) or PGUSER")
        })?;
        config.user(&user);
    }
    if config.get_dbname().is_none()
        && let Some(db) = env("PGDATABASE")
    {
        config.dbname(&db);
    }
    let mut note = None;
    let mut per_host = Vec::new();
    if config.get_password().is_none() {
        if let Some(pw) = env("PGPASSWORD") {
            config.password(pw);
        } else {
            match pgpass::read(env)? {
                pgpass::File::Text(text) => {
                    let found: Vec<Option<String>> = targets
                        .iter()
                        .map(|t| host_password(&text, &config, t))
                        .collect();
                    if found.windows(2).all(|w| w[0] == w[1]) {
                        if let Some(Some(pw)) = found.first() {
                            config.password(pw);
                        }
                    } else {
                        // postgres::Config holds one password: a host at a time, each
                        // with its own, in the list's order.
                        for (t, pw) in targets.iter().zip(&found) {
                            let mut one = config.clone();
                            add_target(&mut one, t);
                            if let Some(pw) = pw {
                                one.password(pw);
                            }
                            per_host.push(one);
                        }
                    }
                }
                pgpass::File::Skipped(why) => note = Some(why),
                pgpass::File::Missing => {}
            }
        }
    }
    for t in &targets {
        add_target(&mut config, t);
    }
    let root_given = ssl.root.or_else(|| env("PGSSLROOTCERT"));
    let root = match root_given.as_deref() {
        Some("system") => Some(Root::System),
        Some(path) => Some(Root::File(PathBuf::from(path))),
        None => home(env)
            .map(|h| h.join(".postgresql/root.crt"))
            .filter(|p| p.is_file())
            .map(Root::File),
    };
    let mode = match ssl.mode.or_else(|| env("PGSSLMODE")) {
        Some(m) => Mode::parse(&m)?,
        // libpq 16: the system's roots are only worth it with the host name checked.
        None if root == Some(Root::System) => Mode::VerifyFull,
        None => Mode::Prefer,
    };
    if root == Some(Root::System) && mode != Mode::VerifyFull && mode != Mode::Disable {
        return Err(invalid(format!(
            "sslmode={} may not be used with sslrootcert=system (use verify-full)",
            mode.name()
        )));
    }
    let unix_only = targets
        .iter()
        .all(|t| matches!(t.host, Some(Host::Unix(_))) && t.addr.is_none());
    // libpq never uses TLS on a unix socket, whatever sslmode says.
    let mode = if unix_only { Mode::Disable } else { mode };
    let client = match mode {
        Mode::Disable => None,
        _ => client_cert::find(ssl.cert, ssl.key, env)?,
    };
    for c in std::iter::once(&mut config).chain(per_host.iter_mut()) {
        c.ssl_mode(match mode {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        });
        c.connect_timeout(Duration::from_secs(5));
    }
    Ok(Settings {
        config,
        per_host,
        mode,
        root,
        client,
        note,
    })
}

/// The host list as libpq sees it: the string's hosts and host addresses (paired by
/// position), else `PGHOST`, else the default socket folder; one port for all or one each.
fn targets(parsed: &postgres::Config, env: Env<'_>) -> Result<Vec<Target>> {
    let mut hosts: Vec<Option<Host>> = parsed.get_hosts().iter().cloned().map(Some).collect();
    let addrs = parsed.get_hostaddrs();
    if hosts.is_empty() && addrs.is_empty() {
        let list = env("PGHOST").unwrap_or_else(default_socket_dir);
        let mut from_env = postgres::Config::new();
        for h in list.split(',').filter(|h| !h.is_empty()) {
            from_env.host(h);
        }
        hosts = from_env.get_hosts().iter().cloned().map(Some).collect();
    }
    let count = hosts.len().max(addrs.len());
    if !hosts.is_empty() && !addrs.is_empty() && hosts.len() != addrs.len() {
        return Err(invalid(format!(
            "{} hosts but {} host addresses (hostaddr): give one for each host",
            hosts.len(),
            addrs.len()
        )));
    }
    let mut ports = parsed.get_ports().to_vec();
    if ports.is_empty()
        && let Some(list) = env("PGPORT")
    {
        for p in list.split(',') {
            ports.push(
                p.trim()
                    .parse()
                    .map_err(|_| invalid(format!("PGPORT `{p}` is not a port number")))?,
            );
        }
    }
    if ports.len() > 1 && ports.len() != count {
        return Err(invalid(format!(
            "{} ports for {count} hosts: give one port for all, or one for each host",
            ports.len()
        )));
    }
    Ok((0..count)
        .map(|i| Target {
            host: hosts.get(i).cloned().flatten(),
            addr: addrs.get(i).copied(),
            port: ports.get(i).or(ports.first()).copied(),
        })
        .collect())
}

fn add_target(config: &mut postgres::Config, t: &Target) {
    match (&t.host, t.addr) {
        (Some(Host::Tcp(name)), _) => config.host(name),
        (Some(Host::Unix(path)), _) => config.host_path(path),
        // libpq checks a certificate against the address when no host is given; rustls
        // needs a name for the handshake.
        (None, Some(addr)) => config.host(&addr.to_string()),
        (None, None) => config,
    };
    if let Some(addr) = t.addr {
        config.hostaddr(addr);
    }
    if let Some(port) = t.port {
        config.port(port);
    }
}

/// The password file's password for one host of the list.
fn host_password(text: &str, config: &postgres::Config, t: &Target) -> Option<String> {
    let host = pgpass::host_field(t.host.as_ref(), t.addr);
    let port = t.port.unwrap_or(5432).to_string();
    let user = config.get_user().unwrap_or_default();
    let db = config.get_dbname().unwrap_or(user);
    pgpass::pgpass_match(text, [&host, &port, db, user])
}

fn invalid(why: impl std::fmt::Display) -> VaultError {
    VaultError::team(format!("the server address is not valid: {why}"))
}

/// The TLS settings this mode, root and client certificate ask for.
fn tls_config(s: &Settings) -> Result<ClientConfig> {
    let (mode, root) = (s.mode, &s.root);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| VaultError::team(format!("TLS cannot be set up: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match (mode, root) {
        (Mode::VerifyCa | Mode::VerifyFull, None) => {
            return Err(VaultError::team(format!(
                "sslmode={} needs a root certificate to check the server's against: give sslrootcert=FILE (or sslrootcert=system), or put it in ~/.postgresql/root.crt",
                mode.name()
            )));
        }
        (Mode::Disable | Mode::Prefer | Mode::Require, None) => Arc::new(AnyCertificate(provider)),
        (_, Some(root)) => {
            let chain = WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots(root)?),
                provider.clone(),
            )
            .build()
            .map_err(|e| VaultError::team(format!("TLS cannot be set up: {e}")))?;
            if mode == Mode::VerifyFull {
                chain
            } else {
                Arc::new(ChainOnly(chain))
            }
        }
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match &s.client {
        None => Ok(builder.with_no_client_auth()),
        Some(client) => {
            let (chain, key) = client.load()?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                VaultError::team(format!(
                    "the client certificate {} cannot be used with its key {}: {e}",
                    client.cert.display(),
                    client.key.display()
                ))
            })
        }
    }
}

fn roots(root: &Root) -> Result<RootCertStore> {
    let certs: Vec<CertificateDer<'static>> = match root {
        Root::System => rustls_native_certs::load_native_certs().certs,
        Root::File(path) => {
            if !path.is_file() {
                return Err(VaultError::team(format!(
                    "the root certificate file {} does not exist",
                    path.display()
                )));
            }
            CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| {
                    VaultError::team(format!(
                        "the root certificate file {} cannot be read as PEM: {e}",
                        path.display()
                    ))
                })?
        }
    };
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(VaultError::team(format!(
            "no root certificate could be loaded from {}",
            match root {
                Root::File(p) => p.display().to_string(),
                Root::System => "the system's store".into(),
            }
        )));
    }
    Ok(store)
}

/// `prefer`/`require` without a root: encrypted, the certificate not checked (libpq's
/// behaviour; the handshake's signatures are still verified).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

/// `verify-ca`: the chain to a trusted root, whatever host name the certificate names.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, TlsError> {
        // webpki checks the chain before the name: a name error means the chain held.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(TlsError::InvalidCertificate(
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
    ) -> std::result::Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A failed connection in words: which check failed, not the library's error chain.
fn explain(e: &postgres::Error, s: &Settings, config: &postgres::Config) -> VaultError {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_default();
    // The server answered and refused (no such role or database, a wrong password):
    // reached, not unreachable.
    if e.as_db_error().is_some() {
        return VaultError::team(format!(
            "the team server at {host} refused the login: {}",
            super::server::error_text(e)
        ));
    }
    // Nothing listening where the URL points (no socket file, a refused connection).
    let nothing_answers = std::error::Error::source(e)
        .and_then(|cause| cause.downcast_ref::<std::io::Error>())
        .is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            )
        });
    let what = match tls_error(e) {
        Some(CertificateError::UnknownIssuer | CertificateError::BadSignature) => {
            format!(
                "the server's certificate is not signed by {}",
                s.root.as_ref().map(Root::text).unwrap_or_default()
            )
        }
        Some(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => {
            format!(
                "the server's certificate is not valid for the host name `{host}` (sslmode=verify-full checks it)"
            )
        }
        Some(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => {
            "the server's certificate has expired".into()
        }
        Some(other) => format!("the server's certificate was refused: {other:?}"),
        None if nothing_answers => format!(
            "nothing answers at {host}, port {}",
            config.get_ports().first().copied().unwrap_or(5432)
        ),
        None if super::server::error_text(e).contains("server does not support TLS") => format!(
            "the server does not offer TLS and sslmode={} requires it",
            s.mode.name()
        ),
        None => super::server::error_text(e),
    };
    let note = s
        .note
        .as_ref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    VaultError::team(format!("the team server cannot be reached: {what}{note}"))
}

/// The certificate error somewhere in the chain (rustls's error sits inside an io error,
/// whose `source` skips it, hence `get_ref`).
fn tls_error(e: &postgres::Error) -> Option<CertificateError> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        let tls = s.downcast_ref::<TlsError>().or_else(|| {
            s.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<TlsError>())
        });
        if let Some(TlsError::InvalidCertificate(c)) = tls {
            return Some(c.clone());
        }
        source = s.source();
    }
    None
}

/// The `sslmode`, `sslrootcert`, `sslcert` and `sslkey` taken out of the string (the
/// postgres crate knows only three modes and no files), and the rest left for it to parse.
#[derive(Default)]
struct Ssl {
    mode: Option<String>,
    root: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

fn split_ssl(url: &str) -> Result<(String, Ssl)> {
    conninfo::check(url).map_err(invalid)?;
    let mut ssl = Ssl::default();
    let mut take = |key: &str, value: &str| match key {
        "sslmode" => {
            ssl.mode = Some(value.to_string());
            true
        }
        "sslrootcert" => {
            ssl.root = Some(value.to_string());
            true
        }
        "sslcert" => {
            ssl.cert = Some(value.to_string());
            true
        }
        "sslkey" => {
            ssl.key = Some(value.to_string());
            true
        }
        _ => false,
    };
    let pair = |w: &conninfo::Word| match w {
        conninfo::Word::Pair(p) => Some(p.clone()),
        conninfo::Word::Stray(_) => None,
    };
    if let Some(u) = conninfo::url(url) {
        let kept: Vec<&str> = u
            .query
            .iter()
            .filter_map(pair)
            .filter(|p| !take(&p.key, &p.value))
            .map(|p| &url[p.whole])
            .collect();
        let base = &url[..u.query_at];
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return Ok((rest, ssl));
    }
    let kept: Vec<&str> = conninfo::words(url)
        .iter()
        .filter_map(pair)
        .filter(|p| !take(&p.key, &p.value))
        .map(|p| &url[p.whole])
        .collect();
    Ok((kept.join(" "), ssl))
}

/// libpq's default socket folder on Debian, else its compiled-in `/tmp`.
fn default_socket_dir() -> String {
    let debian = "/var/run/postgresql";
    if Path::new(debian).is_dir() {
        debian.into()
    } else {
        "/tmp".into()
    }
}

fn home(env: Env<'_>) -> Option<PathBuf> {
    env("HOME").map(PathBuf::from)
}

/// The login name of this process's user, as libpq's default user. Looked up once: the
/// TUI's watcher thread and the main thread both connect, and getpwuid is not thread-safe.
fn os_user() -> Option<String> {
    static USER: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    // SAFETY: getpwuid returns a pointer into static storage or null; the name is copied
    // out at once, and `get_or_init` runs this once, with any other caller waiting.
    USER.get_or_init(|| unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if pw.is_null() || (*pw).pw_name.is_null() {
            return None;
        }
        std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_str()
            .ok()
            .map(str::to_string)
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review 6: a server (in the threat model: a malicious database) that refuses the
    /// login with a message holding terminal escapes: `explain` prints the message as
    /// "refused the login: …", and the CLI prints errors as they are, so the escapes
    /// must not reach it.
    #[test]
    fn a_login_refusal_is_said_without_the_servers_control_characters() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut sock, _) = listener.accept().unwrap();
            let mut len = [0u8; 4];
            sock.read_exact(&mut len).unwrap();
            let mut startup = vec![0u8; u32::from_be_bytes(len) as usize - 4];
            sock.read_exact(&mut startup).unwrap();
            let mut fields = Vec::new();
            for (code, text) in [
                (b'S', "FATAL"),
                (b'V', "FATAL"),
                (b'C', "28000"),
                (b'M', "no\u{1b}]0;owned\u{7}\u{1b}[2J such role"),
            ] {
                fields.push(code);
                fields.extend_from_slice(text.as_bytes());
                fields.push(0);
            }
            fields.push(0);
            let mut reply = vec![b'E'];
            reply.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
            reply.extend_from_slice(&fields);
            sock.write_all(&reply).unwrap();
        });
        let err = match connect(&format!(
            "postgresql://u@127.0.0.1:{port}/x?sslmode=disable&password=p"
        )) {
            Ok(_) => panic!("the fake server let the client in"),
            Err(e) => e.to_string(),
        };
        server.join().unwrap();
        assert!(err.contains("refused the login"), "{err}");
        assert!(!err.chars().any(char::is_control), "{err:?}");
    }

    fn with(vars: &[(&str, &str)], url: &str) -> Result<Settings> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        settings(url, &env)
    }

    #[test]
    fn sslmode_and_root_come_from_the_url_or_the_environment() {
        let s = with(
            &[],
            "postgres://u@db/x?sslmode=verify-ca&sslrootcert=%2Fr.pem",
        )
        .unwrap();
        assert_eq!(s.mode, Mode::VerifyCa);
        assert_eq!(s.root, Some(Root::File("/r.pem".into())));
        let s = with(&[("PGSSLMODE", "require")], "host=db user=u dbname=x").unwrap();
        assert_eq!(s.mode, Mode::Require);
        let s = with(
            &[],
            "host=db user=u sslmode='verify-full' sslrootcert=system",
        )
        .unwrap();
        assert_eq!(s.mode, Mode::VerifyFull);
        assert_eq!(s.root, Some(Root::System));
        assert!(with(&[], "postgres://u@db/x?sslmode=sometimes").is_err());
        assert!(with(&[], "postgres://u@db/x?sslmode=require&sslrootcert=system").is_err());
    }

    #[test]
    fn a_unix_socket_never_uses_tls() {
        let s = with(&[], "postgres://u@%2Ftmp%2Fs/x?sslmode=verify-full").unwrap();
        assert_eq!(s.mode, Mode::Disable);
    }

    #[test]
    fn pg_variables_fill_what_the_url_leaves_out() {
        let vars = [
            ("PGHOST", "db.internal"),
            ("PGPORT", "6543"),
            ("PGUSER", "app"),
            ("PGDATABASE", "secrets"),
            ("PGPASSWORD", "pw"),
        ];
        let s = with(&vars, "").unwrap();
        assert_eq!(s.config.get_hosts(), &[Host::Tcp("db.internal".into())]);
        assert_eq!(s.config.get_ports(), &[6543]);
        assert_eq!(s.config.get_user(), Some("app"));
        assert_eq!(s.config.get_dbname(), Some("secrets"));
        assert_eq!(s.config.get_password(), Some(&b"pw"[..]));
        let s = with(&vars, "postgres://other@h2/db2").unwrap();
        assert_eq!(s.config.get_user(), Some("other"));
        assert_eq!(s.config.get_dbname(), Some("db2"));
    }

    #[test]
    fn a_pgpass_open_to_others_is_skipped_with_a_reason() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "*:*:*:*:secret\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let f = file.display().to_string();
        let s = with(&[("PGPASSFILE", &f)], "postgres://u@db/x").unwrap();
        assert_eq!(s.config.get_password(), None);
        assert!(s.note.unwrap().contains("chmod 0600"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let s = with(&[("PGPASSFILE", &f)], "postgres://u@db/x").unwrap();
        assert_eq!(s.config.get_password(), Some(&b"secret"[..]));
    }
}
