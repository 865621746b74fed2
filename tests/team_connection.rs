//! How a replica reaches its server, against real PostgreSQL clusters of the tests' own:
//! TLS with libpq's sslmode and sslrootcert (a server that accepts TCP clients only over
//! TLS, with a certificate made here), the PG* variables and ~/.pgpass.

mod common;
#[path = "common/team_member.rs"]
mod member;
#[path = "common/postgres.rs"]
mod pg;

use common::*;
use member::{Member, join, team_of_alice};

/// A PEM file in a temporary folder.
fn pem_file(dir: &tempfile::TempDir, name: &str, pem: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, pem).unwrap();
    path.display().to_string()
}

fn tcp_url(c: &pg::Cluster, host: &str, db: &pg::Db, query: &str) -> String {
    format!(
        "postgresql://tresor@{host}:{}/{}?{query}",
        c.port(),
        db.name
    )
}

fn with_password() -> Member {
    Member::new().with_env("PGPASSWORD", pg::TLS_PASSWORD)
}

/// How many team vaults the database holds (none if the schema was never made).
fn vaults_on(db: &pg::Db) -> i64 {
    let mut c = db.client();
    let made: bool = c
        .query_one("SELECT to_regclass('tresor_vaults') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    if !made {
        return 0;
    }
    c.query_one("SELECT count(*) FROM tresor_vaults", &[])
        .unwrap()
        .get(0)
}

#[test]
fn tls_require_and_verify_full_work_a_wrong_root_is_refused_and_writes_nothing() {
    let ca = pg::TestCa::new("tresor test CA");
    let c = pg::tls_cluster(&ca, &["localhost", "127.0.0.1"]);
    let dir = tempfile::tempdir().unwrap();
    let root = pem_file(&dir, "root.pem", &ca.pem);
    let other = pem_file(&dir, "other.pem", &pg::TestCa::new("someone else").pem);

    let db = c.database();
    let alice = team_of_alice(
        &tcp_url(&c, "127.0.0.1", &db, "sslmode=require"),
        with_password(),
    );
    let full = tcp_url(
        &c,
        "127.0.0.1",
        &db,
        &format!("sslmode=verify-full&sslrootcert={root}"),
    );
    let bob = join(&alice, &full, with_password(), "bob", "writer", &[]);
    assert_eq!(
        bob.get("development", "DATABASE_URL"),
        b"postgres://dev-value-4711"
    );
    bob.ok(&["add", "OVER_TLS"], Some(b"v"));
    assert_eq!(alice.get("development", "OVER_TLS"), b"v");

    // Another root: refused, saying why, and nothing reaches the server.
    let db2 = c.database();
    let carol = with_password();
    carol.ok(&["add", "X"], Some(b"y"));
    carol.public_key();
    let wrong = tcp_url(
        &c,
        "127.0.0.1",
        &db2,
        &format!("sslmode=verify-full&sslrootcert={other}"),
    );
    let err = carol.err(&["remote", "init", &wrong, "--name", "carol"], None);
    assert!(
        err.contains("the server's certificate is not signed by the root certificate in")
            && err.contains("other.pem"),
        "{err}"
    );
    assert_eq!(vaults_on(&db2), 0);
    // The same root given by PGSSLROOTCERT, the mode by PGSSLMODE.
    let carol = carol
        .with_env("PGSSLROOTCERT", &root)
        .with_env("PGSSLMODE", "verify-ca");
    carol.ok(
        &[
            "remote",
            "init",
            &tcp_url(&c, "127.0.0.1", &db2, ""),
            "--name",
            "carol",
        ],
        None,
    );
    assert_eq!(vaults_on(&db2), 1);
}

#[test]
fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let ca = pg::TestCa::new("tresor test CA");
    let c = pg::tls_cluster(&ca, &["db.example"]);
    let dir = tempfile::tempdir().unwrap();
    let root = pem_file(&dir, "root.pem", &ca.pem);
    let db = c.database();
    let m = with_password();
    m.public_key();
    let full = tcp_url(
        &c,
        "127.0.0.1",
        &db,
        &format!("sslmode=verify-full&sslrootcert={root}"),
    );
    let err = m.err(&["remote", "init", &full, "--name", "m"], None);
    assert!(
        err.contains("not valid for the host name `127.0.0.1`"),
        "{err}"
    );
    assert_eq!(vaults_on(&db), 0);
    // verify-ca without a root is refused before connecting.
    let err = m.err(
        &[
            "remote",
            "init",
            &tcp_url(&c, "127.0.0.1", &db, "sslmode=verify-ca"),
        ],
        None,
    );
    assert!(err.contains("needs a root certificate"), "{err}");
    let ca_only = tcp_url(
        &c,
        "127.0.0.1",
        &db,
        &format!("sslmode=verify-ca&sslrootcert={root}"),
    );
    m.ok(&["remote", "init", &ca_only, "--name", "m"], None);
}

#[test]
fn sslmode_disable_is_refused_by_a_tls_only_server_and_require_by_a_plain_one() {
    let ca = pg::TestCa::new("tresor test CA");
    let c = pg::tls_cluster(&ca, &["127.0.0.1"]);
    let db = c.database();
    let m = with_password();
    m.public_key();
    let err = m.err(
        &[
            "remote",
            "init",
            &tcp_url(&c, "127.0.0.1", &db, "sslmode=disable"),
        ],
        None,
    );
    assert!(err.contains("no encryption"), "{err}");
    assert_eq!(vaults_on(&db), 0);

    let plain = pg::tcp_cluster();
    let db = plain.database();
    let err = m.err(
        &[
            "remote",
            "init",
            &tcp_url(&plain, "127.0.0.1", &db, "sslmode=require"),
        ],
        None,
    );
    assert!(
        err.contains("the server does not offer TLS and sslmode=require requires it"),
        "{err}"
    );
    // prefer (the default) goes on without TLS there.
    m.ok(
        &["remote", "init", &tcp_url(&plain, "127.0.0.1", &db, "")],
        None,
    );
}

#[test]
fn pgpass_and_pg_variables_supply_what_the_url_leaves_out() {
    let ca = pg::TestCa::new("tresor test CA");
    let c = pg::tls_cluster(&ca, &["127.0.0.1"]);
    let db = c.database();
    let home = tempfile::tempdir().unwrap();
    let pgpass = home.path().join(".pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "# tresor's team server\n127.0.0.1:{}:{}:tresor:{}\n",
            c.port(),
            db.name,
            pg::TLS_PASSWORD
        ),
    )
    .unwrap();
    chmod(&pgpass, 0o644);
    let home_dir = home.path().display().to_string();
    // A key=value string holding only sslmode; the rest from PG* and the password file.
    let m = Member::new()
        .with_env("HOME", &home_dir)
        .with_env("PGHOST", "127.0.0.1")
        .with_env("PGPORT", &c.port().to_string())
        .with_env("PGUSER", "tresor")
        .with_env("PGDATABASE", &db.name);
    m.ok(&["add", "K"], Some(b"v"));
    m.public_key();
    let err = m.err(&["remote", "init", "sslmode=require", "--name", "m"], None);
    assert!(err.contains("chmod 0600"), "{err}");
    assert_eq!(vaults_on(&db), 0);
    chmod(&pgpass, 0o600);
    m.ok(&["remote", "init", "sslmode=require", "--name", "m"], None);
    assert_eq!(vaults_on(&db), 1);
    // PGPASSFILE names another file; a wrong password there is the server's refusal.
    let wrong = home.path().join("wrong");
    std::fs::write(&wrong, "*:*:*:*:not-the-password\n").unwrap();
    chmod(&wrong, 0o600);
    let m = m.with_env("PGPASSFILE", &wrong.display().to_string());
    let out = m.run(&["get", "K"], None).success();
    assert!(
        out.stderr.contains("password authentication failed"),
        "{}",
        out.stderr
    );
}
