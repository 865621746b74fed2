//! The database password in a team vault's server string, in every libpq form, against
//! real PostgreSQL clusters: `remote status` never shows it, `member add`'s join line
//! leaves it out (the newcomer logs in with their own), a malformed string's error names
//! the key but not the value, and `~/.pgpass` is looked up host by host like libpq.

mod common;
#[path = "common/team_member.rs"]
mod member;
#[path = "common/postgres.rs"]
mod pg;

use common::*;
use member::{Member, team_of_alice};

/// The shared cluster's socket folder and port, out of a database's URL
/// (`postgresql://tresor@%2Fdir:PORT/db`).
fn socket_and_port(db: &pg::Db) -> (String, String) {
    let rest = db
        .url
        .strip_prefix("postgresql://tresor@")
        .expect("test url");
    let (host, _) = rest.split_once('/').expect("a database");
    let (dir, port) = host.rsplit_once(':').expect("a port");
    (dir.replace("%2F", "/"), port.to_string())
}

/// `remote status`'s server line and `member add`'s join line, for a team vault put on
/// the server with `url` (the shared cluster trusts its socket: any password logs in).
fn status_and_join_line(url: &str) -> (String, String) {
    let alice = team_of_alice(url, Member::new());
    let status = alice.ok(&["remote", "status"], None).text();
    let bob = Member::new();
    let pk = bob.public_key();
    let out = alice.ok(&["member", "add", "bob", &pk, "--role", "writer"], None);
    let token = out.text().trim().to_string();
    assert!(token.starts_with("tresor-join2:"), "{token}");
    (status, out.stderr)
}

#[test]
fn remote_status_and_the_join_line_never_show_a_password_in_the_url() {
    let db = pg::database();
    // A percent-encoded `@` in the password, and one more in the query.
    let url = db.url.replacen("tresor@", "tresor:hun%40ter2@", 1).replace(
        &db.name,
        &format!("{}?password=other-pw&sslmode=disable", db.name),
    );
    let (status, added) = status_and_join_line(&url);
    for secret in ["hun", "ter2", "other-pw"] {
        assert!(!status.contains(secret), "{status}");
        assert!(!added.contains(secret), "{added}");
    }
    assert!(status.contains("tresor:***@"), "{status}");
    // The join line works as pasted: no password at all (not `***`), quoted for `&`.
    let (dir, port) = socket_and_port(&db);
    let server = format!(
        "postgresql://tresor@{}:{port}/{}?sslmode=disable",
        dir.replace('/', "%2F"),
        db.name
    );
    assert!(
        added.contains(&format!(
            "tresor remote join '{server}' --token tresor-join2:"
        )),
        "{added}"
    );
    assert!(
        added.contains("their own password (PGPASSWORD or ~/.pgpass)"),
        "{added}"
    );
}

#[test]
fn a_key_value_password_is_hidden_quoted_or_not() {
    let db = pg::database();
    let (dir, port) = socket_and_port(&db);
    let text = format!(
        "host={dir} port={port} user=tresor password='two \\' words' dbname={}",
        db.name
    );
    let (status, added) = status_and_join_line(&text);
    for secret in ["two", "words"] {
        assert!(!status.contains(secret), "{status}");
        assert!(!added.contains(secret), "{added}");
    }
    assert!(status.contains("password=***"), "{status}");
    assert!(
        added.contains(&format!(
            "tresor remote join 'host={dir} port={port} user=tresor dbname={}' --token",
            db.name
        )),
        "{added}"
    );
}

#[test]
fn a_malformed_string_names_the_key_and_never_the_value() {
    let m = Member::new();
    m.public_key();
    for (text, said) in [
        (
            "host=db user=u password=correct horse",
            "a word after `password=…` has no `=value`",
        ),
        (
            "host=db user=u password=correct horse=battery",
            "a word after `password=…` is not a known setting",
        ),
        (
            "postgres://u@db/x?password=correct&horse=battery",
            "a word after `password=…` is not a known setting",
        ),
        (
            "host=db password='correct horse",
            "the value of `password` has no closing quote",
        ),
    ] {
        let err = m.err(&["remote", "init", text], None);
        assert!(err.contains(said), "{text}: {err}");
        for word in ["correct", "horse", "battery"] {
            assert!(!err.contains(word), "{text}: {err}");
        }
    }
}

/// A port nothing listens on.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn pgpass_is_looked_up_for_each_host_and_for_a_hostaddr() {
    let ca = pg::TestCa::new("tresor test CA");
    let c = pg::tls_cluster(&ca, &["127.0.0.1"]);
    let db = c.database();
    let home = tempfile::tempdir().unwrap();
    let pgpass = home.path().join(".pgpass");
    let dead = dead_port();
    // Each host of the list has a password of its own; localhost's is wrong.
    std::fs::write(
        &pgpass,
        format!(
            "127.0.0.1:{dead}:*:tresor:not-this-one\n\
             localhost:*:*:tresor:nor-this-one\n\
             127.0.0.1:{}:*:tresor:{}\n",
            c.port(),
            pg::TLS_PASSWORD
        ),
    )
    .unwrap();
    chmod(&pgpass, 0o600);
    let m = Member::new().with_env("HOME", &home.path().display().to_string());
    m.ok(&["add", "K"], Some(b"v"));
    m.public_key();
    // The first host is down; the second is tried with its own password.
    let url = format!(
        "postgresql://tresor@127.0.0.1:{dead},127.0.0.1:{}/{}?sslmode=require",
        c.port(),
        db.name
    );
    m.ok(&["remote", "init", &url, "--name", "m"], None);
    // hostaddr and no host: the line for the address, not localhost's.
    let by_addr = format!(
        "hostaddr=127.0.0.1 port={} user=tresor dbname={} sslmode=require",
        c.port(),
        db.name
    );
    let out = m.run(&["remote", "status"], None).success();
    assert!(out.text().contains("version:"), "{}", out.text());
    let other = Member::new().with_env("HOME", &home.path().display().to_string());
    other.ok(&["add", "K"], Some(b"v"));
    other.public_key();
    let db2 = c.database();
    let by_addr = by_addr.replace(&db.name, &db2.name);
    other.ok(&["remote", "init", &by_addr, "--name", "o"], None);
}
