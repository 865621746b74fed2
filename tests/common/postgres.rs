//! A throwaway PostgreSQL cluster for the team-vault tests: `initdb` with trust auth in a
//! temporary folder, listening only on a unix socket there (no TCP port at all), one
//! cluster per test binary and a database per test. It is stopped when the test binary
//! exits. As root the server runs as the `postgres` user (initdb refuses root); as
//! anyone else it runs as that user.
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
        let opts = format!(
            "-k {} -p {} -c listen_addresses='' -c fsync=off",
            c.dir.display(),
            c.port
        );
        let log = c.dir.join("log").display().to_string();
        c.run(
            "pg_ctl",
            &["-D", &c.data(), "-l", &log, "-w", "-o", &opts, "start"],
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
            "-k {} -p {} -c listen_addresses='' -c fsync=off",
            self.dir.display(),
            self.port
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
