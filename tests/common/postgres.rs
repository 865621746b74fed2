//! A throwaway PostgreSQL cluster for the team-vault tests: `initdb` with trust auth in a
//! temporary folder, listening only on a unix socket there (no TCP port at all), one
//! cluster per test binary and a database per test. It is stopped when the test binary
//! exits. As root the server runs as the `postgres` user (initdb refuses root); as
//! anyone else it runs as that user.
//!
//! [`own_cluster`] and [`tls_cluster`] make a cluster of a test's own (stopped on drop).
//!
//! Included by the tests that need it (`mod common; #[path = "common/postgres.rs"] mod pg;`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

const INSTALL: &str = "install PostgreSQL 15 (Debian/Ubuntu: `apt-get install postgresql-15`; \
     .ci/run does it) or point TRESOR_PG_BIN at a folder holding initdb and pg_ctl";

pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    /// Server options beyond the socket folder and port (`-c …`), kept for a restart.
    settings: String,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// A database of its own for one test, on this binary's cluster.
pub struct Db {
    pub name: String,
    pub url: String,
}

impl Db {
    /// A plain client connection, for what a database admin (or attacker) would do.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url))
    }

    /// `pg_dump` of the whole database, as text.
    pub fn dump(&self) -> Vec<u8> {
        let c = cluster();
        let out = Command::new(c.bin.join("pg_dump"))
            .args(["-h"])
            .arg(&c.dir)
            .args(["-p", &c.port.to_string(), "-U", "tresor", &self.name])
            .output()
            .expect("run pg_dump");
        assert!(
            out.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

/// A new, empty database on the cluster (started on first use).
pub fn database() -> Db {
    let c = cluster();
    let name = format!("t{}", NEXT_DB.fetch_add(1, Ordering::SeqCst));
    let url = c.url("postgres");
    let mut admin = postgres::Client::connect(&url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connect to the test cluster: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    Db {
        url: c.url(&name),
        name,
    }
}

pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let c = Cluster::start();
        // Statics are never dropped: stop the server when the test binary exits.
        unsafe { libc::atexit(stop_at_exit) };
        c
    })
}

extern "C" fn stop_at_exit() {
    if let Some(c) = CLUSTER.get() {
        c.stop();
    }
}

impl Cluster {
    fn start() -> Cluster {
        let c = Cluster::init("-c listen_addresses='' -c fsync=off");
        c.resume();
        c
    }

    /// `initdb` in a new temporary folder; `settings`: what [`Cluster::resume`] starts it with.
    fn init(settings: &str) -> Cluster {
        let bin = std::env::var_os("TRESOR_PG_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"));
        assert!(
            bin.join("initdb").exists() && bin.join("pg_ctl").exists(),
            "the team-vault tests need a PostgreSQL server: no initdb/pg_ctl in {}: {INSTALL}",
            bin.display()
        );
        let as_postgres = unsafe { libc::geteuid() } == 0;
        // Short path: a unix socket path must fit in 107 bytes.
        let dir = tempfile::Builder::new()
            .prefix("tresor-pg-")
            .tempdir_in("/tmp")
            .expect("temp dir")
            .keep();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "chown {} to the postgres user: {INSTALL}",
                dir.display()
            );
        }
        let port = 50000 + (std::process::id() % 10000) as u16;
        let c = Cluster {
            dir,
            bin,
            port,
            as_postgres,
            settings: settings.into(),
        };
        c.run(
            "initdb",
            &[
                "-D",
                &c.data(),
                "-U",
                "tresor",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "-N",
            ],
        );
        c
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// Runs a server program, as the `postgres` user when we are root.
    fn run(&self, program: &str, args: &[&str]) {
        let exe = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}: {INSTALL}", exe.display()));
        if !out.status.success() {
            let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
            panic!(
                "{program} failed: {}{}\nserver log: {log}\n{INSTALL}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// A libpq-style URL to a database over this cluster's unix socket.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgresql://tresor@{}:{}/{db}",
            encode_path(&self.dir),
            self.port
        )
    }

    /// Stops the server (fast shutdown: sessions are cut, no work is lost that committed).
    pub fn stop(&self) {
        let _ = self.try_run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// Stops the server and keeps its data, for tests of a server that went away.
    pub fn pause(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    /// Starts it again after [`Cluster::pause`].
    pub fn resume(&self) {
        let opts = format!(
            "-k {} -p {} {}",
            self.dir.display(),
            self.port,
            self.settings
        );
        let log = self.dir.join("log").display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-l", &log, "-w", "-o", &opts, "start"],
        );
    }

    fn try_run(&self, program: &str, args: &[&str]) -> bool {
        let exe = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).output().is_ok_and(|o| o.status.success())
    }
}

/// A socket folder as a URL host: `/tmp/x` → `%2Ftmp%2Fx`.
fn encode_path(p: &Path) -> String {
    p.display().to_string().replace('/', "%2F")
}

/// A cluster of a test's own, stopped and removed when dropped: for the tests that stop
/// and restart the server, or run it with TLS, without disturbing the shared one.
pub struct OwnCluster(Cluster);

impl std::ops::Deref for OwnCluster {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.0
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// A new cluster on a unix socket only, like the shared one.
pub fn own_cluster() -> OwnCluster {
    OwnCluster(Cluster::start())
}

impl Cluster {
    /// A new, empty database on this cluster, reached over its unix socket.
    pub fn database(&self) -> Db {
        let name = format!("t{}", NEXT_DB.fetch_add(1, Ordering::SeqCst));
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to the test cluster: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        Db {
            url: self.url(&name),
            name,
        }
    }

    /// Stops the server the hard way (`-m immediate`: sessions cut, no checkpoint, like a
    /// crash); its data stays for [`Cluster::resume`].
    pub fn kill(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// The TCP port (a TLS cluster listens on 127.0.0.1 there).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Writes a file into the data folder, owned by the server's user, mode 0600.
    fn put_data_file(&self, name: &str, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.join("data").join(name);
        std::fs::write(&path, text).expect("write a server file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        if self.as_postgres {
            let ok = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&path)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown {}", path.display());
        }
    }
}

/// A cluster on 127.0.0.1 without TLS (trust), to be asked for TLS it does not offer.
pub fn tcp_cluster() -> OwnCluster {
    let mut c = Cluster::init("-c listen_addresses=127.0.0.1 -c fsync=off");
    c.port = free_port();
    c.resume();
    OwnCluster(c)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The password of the `tresor` role on a TLS cluster (scram-sha-256 over TCP).
pub const TLS_PASSWORD: &str = "pw-of-the-tls-cluster";

/// A certificate authority made for one test: its certificate as PEM, and what it signs.
pub struct TestCa {
    pub pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa {
            pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A server certificate for these names (IP addresses become IP names), and its key.
    pub fn server(&self, names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let params = rcgen::CertificateParams::new(names).expect("server params");
        let key = rcgen::KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        (cert.pem(), key.serialize_pem())
    }

    /// A client certificate for the role `user` (its common name), and its key.
    pub fn client(&self, user: &str) -> (String, String) {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, user);
        let key = rcgen::KeyPair::generate().expect("client key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        (cert.pem(), key.serialize_pem())
    }
}

/// A cluster that speaks TLS with a certificate from `ca` for `names`, listens on
/// 127.0.0.1 and lets TCP clients in only over TLS with a password (`hostssl`,
/// scram-sha-256); its unix socket keeps trust for the test's own admin work.
pub fn tls_cluster(ca: &TestCa, names: &[&str]) -> OwnCluster {
    let mut c = Cluster::init(
        "-c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on \
         -c ssl_cert_file=server.crt -c ssl_key_file=server.key",
    );
    c.port = free_port();
    let (cert, key) = ca.server(names);
    c.put_data_file("server.crt", &cert);
    c.put_data_file("server.key", &key);
    c.put_data_file(
        "pg_hba.conf",
        "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
    );
    c.resume();
    let c = OwnCluster(c);
    let mut admin = postgres::Client::connect(&c.url("postgres"), postgres::NoTls)
        .unwrap_or_else(|e| panic!("connect to the TLS cluster: {e}"));
    admin
        .batch_execute(&format!("ALTER ROLE tresor PASSWORD '{TLS_PASSWORD}'"))
        .expect("set the password");
    c
}

/// Like [`tls_cluster`], but TCP clients log in with a client certificate signed by `ca`
/// (`hostssl … cert`: the certificate's common name is the role), no password.
pub fn cert_cluster(ca: &TestCa, names: &[&str]) -> OwnCluster {
    let mut c = Cluster::init(
        "-c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on \
         -c ssl_cert_file=server.crt -c ssl_key_file=server.key -c ssl_ca_file=ca.crt",
    );
    c.port = free_port();
    let (cert, key) = ca.server(names);
    c.put_data_file("server.crt", &cert);
    c.put_data_file("server.key", &key);
    c.put_data_file("ca.crt", &ca.pem);
    c.put_data_file(
        "pg_hba.conf",
        "local all all trust\nhostssl all all 127.0.0.1/32 cert\n",
    );
    c.resume();
    OwnCluster(c)
}
