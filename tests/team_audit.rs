//! The team's audit log on a real PostgreSQL server (see `common/postgres.rs`): every
//! member's reads and changes reach it with the member's name and machine, reads made
//! while the server was away arrive later, a log changed with SQL is reported, the
//! database holds none of it in clear, and `member list` says when each was last seen.

mod common;
#[path = "common/postgres.rs"]
mod pg;

use std::os::unix::process::CommandExt;

use common::*;

/// A person or server: a local vault (keyfile), an identity protected by the same
/// keyfile, and, where the system allows it, a machine name of its own (a UTS namespace).
struct Member {
    v: Vault,
    host: &'static str,
}

/// Whether this process may give a child its own host name (root, or CAP_SYS_ADMIN).
fn can_rename_host() -> bool {
    let mut c = std::process::Command::new("true");
    with_host(&mut c, "probe");
    c.status().is_ok_and(|s| s.success())
}

fn with_host(c: &mut std::process::Command, host: &'static str) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWUTS) != 0
                || libc::sethostname(host.as_ptr().cast(), host.len()) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The host name a member's entries should carry.
fn expected_host(host: &'static str) -> String {
    if can_rename_host() {
        host.to_string()
    } else {
        let out = std::process::Command::new("hostname").output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

impl Member {
    fn new(host: &'static str) -> Member {
        Member {
            v: Vault::new(),
            host,
        }
    }

    fn run(&self, args: &[&str], input: Option<&[u8]>) -> Output {
        let mut c = self.v.cmd(args);
        c.env("TRESOR_IDENTITY", self.v.dir.path().join("identity"));
        if can_rename_host() {
            with_host(&mut c, self.host);
        }
        output(c, input)
    }

    #[track_caller]
    fn ok(&self, args: &[&str], input: Option<&[u8]>) -> Output {
        self.run(args, input).success()
    }

    #[track_caller]
    fn err(&self, args: &[&str], input: Option<&[u8]>) -> String {
        self.run(args, input).failure().error()
    }

    fn public_key(&self) -> String {
        self.ok(&["identity", "new"], None)
            .text()
            .trim()
            .to_string()
    }

    /// `tresor audit` as text (it must succeed).
    fn audit(&self) -> String {
        self.ok(&["audit"], None).text()
    }
}

/// Alice's vault with a secret in development and one in production, put on the server.
fn team_of_alice(db: &pg::Db) -> Member {
    let alice = Member::new("alices-desk");
    alice.ok(&["add", "DATABASE_URL"], Some(b"postgres://dev-value-4711"));
    alice.ok(
        &["-e", "production", "add", "STRIPE_LIVE_KEY"],
        Some(b"sk_live_prod_value_0815"),
    );
    alice.public_key();
    alice.ok(&["remote", "init", &db.url, "--name", "alice"], None);
    alice
}

fn join(admin: &Member, db: &pg::Db, name: &str, host: &'static str, only: &[&str]) -> Member {
    let m = Member::new(host);
    let pk = m.public_key();
    let role = if only.is_empty() { "writer" } else { "reader" };
    let mut args = vec!["member", "add", name, &pk, "--role", role];
    for e in only {
        args.extend(["--only-env", e]);
    }
    let token = admin.ok(&args, None).text();
    m.ok(&["remote", "join", &db.url, "--token", token.trim()], None);
    m
}

/// The lines of `text` that hold every one of `parts`.
fn lines_with<'a>(text: &'a str, parts: &[&str]) -> Vec<&'a str> {
    text.lines()
        .filter(|l| parts.iter().all(|p| l.contains(p)))
        .collect()
}

#[test]
fn every_members_reads_and_changes_reach_the_team_log_with_their_machine() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "bobs-laptop", &[]);
    let ci = join(&alice, &db, "ci-prod", "ci-runner", &["production"]);
    let (alice_host, bob_host) = (expected_host("alices-desk"), expected_host("bobs-laptop"));

    bob.ok(&["get", "DATABASE_URL"], None);
    bob.ok(&["add", "API_TOKEN"], Some(b"from-bob"));
    alice.ok(&["get", "API_TOKEN"], None);
    ci.ok(&["-e", "production", "get", "STRIPE_LIVE_KEY"], None);

    // Either member sees both, each with the member's name and machine.
    for viewer in [&alice, &bob] {
        let log = viewer.audit();
        let bob_read = lines_with(
            &log,
            &[
                "  bob  ",
                &format!("@{bob_host}  "),
                "  get  ",
                "DATABASE_URL",
            ],
        );
        assert_eq!(bob_read.len(), 1, "{log}");
        assert_eq!(
            lines_with(&log, &["  bob  ", "  add  ", "development", "API_TOKEN"]).len(),
            1,
            "{log}"
        );
        assert_eq!(
            lines_with(
                &log,
                &[
                    "  alice  ",
                    &format!("@{alice_host}  "),
                    "  get  ",
                    "API_TOKEN"
                ]
            )
            .len(),
            1,
            "{log}"
        );
        assert!(
            lines_with(&log, &["  ci-prod  ", "  get  ", "STRIPE_LIVE_KEY"]).len() == 1,
            "{log}"
        );
        // Oldest first: bob's read came before alice's.
        let at = |needle: &str| log.find(needle).unwrap();
        assert!(at("DATABASE_URL") < at("API_TOKEN"), "{log}");
    }

    // A production-only member sees that development was read, not which secret.
    let log = ci.audit();
    let dev_reads = lines_with(&log, &["  bob  ", "  get  ", "development"]);
    assert_eq!(dev_reads.len(), 1, "{log}");
    assert!(
        dev_reads[0].contains("an environment you cannot read"),
        "{log}"
    );
    assert!(
        !log.contains("DATABASE_URL") && !log.contains("API_TOKEN"),
        "{log}"
    );
    assert!(log.contains("STRIPE_LIVE_KEY"), "{log}");

    // --mine: this machine's own log, without the others.
    let mine = bob.ok(&["audit", "--mine"], None).text();
    assert!(mine.contains("DATABASE_URL"), "{mine}");
    assert!(!mine.contains("STRIPE_LIVE_KEY"), "{mine}");

    // Last seen: every member that made an entry; one that never joined, never.
    let carol = Member::new("carols-box");
    let pk = carol.public_key();
    alice.ok(&["member", "add", "carol", &pk, "--role", "reader"], None);
    let list = bob.ok(&["member", "list"], None).text();
    for name in ["alice", "bob (you)", "ci-prod"] {
        let line = list
            .lines()
            .find(|l| l.starts_with(&format!("{name}\t")))
            .unwrap_or_else(|| panic!("{name}: {list}"));
        assert!(
            line.contains("\tlast seen ") && line.contains(" ago\t"),
            "{list}"
        );
    }
    let carol_line = list.lines().find(|l| l.starts_with("carol\t")).unwrap();
    assert!(carol_line.contains("\tnever seen\t"), "{list}");
}

#[test]
fn reads_made_while_the_server_was_away_reach_the_log_later() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "bobs-laptop", &[]);
    let away = |on: bool| {
        let (from, to) = if on {
            (db.name.clone(), format!("{}_away", db.name))
        } else {
            (format!("{}_away", db.name), db.name.clone())
        };
        pg::database()
            .client()
            .batch_execute(&format!("ALTER DATABASE {from} RENAME TO {to}"))
            .unwrap();
    };
    away(true);
    // The server answers that the database is gone.
    let away_said =
        |text: &str| text.contains("refused the login") && text.contains("does not exist");
    let out = bob.ok(&["get", "DATABASE_URL"], None);
    assert!(away_said(&out.stderr), "{}", out.stderr);
    bob.ok(
        &["--offline", "-e", "production", "get", "STRIPE_LIVE_KEY"],
        None,
    );
    // The team's log needs the server, and says so.
    let err = bob.err(&["audit"], None);
    assert!(away_said(&err), "{err}");
    assert!(err.contains("--mine"), "{err}");
    let err = bob.err(&["--offline", "audit"], None);
    assert!(err.contains("--mine"), "{err}");
    let mine = bob.ok(&["--offline", "audit", "--mine"], None).text();
    assert!(mine.contains("STRIPE_LIVE_KEY"), "{mine}");
    away(false);

    // Not there until bob talks to the server again…
    let log = alice.audit();
    assert!(
        lines_with(&log, &["  bob  ", "  get  "]).is_empty(),
        "{log}"
    );
    // …and then all there, in the order they were made.
    bob.ok(&["list"], None);
    let log = alice.audit();
    let reads = lines_with(&log, &["  bob  ", "  get  "]);
    assert_eq!(reads.len(), 2, "{log}");
    assert!(reads[0].contains("DATABASE_URL"), "{log}");
    assert!(reads[1].contains("STRIPE_LIVE_KEY"), "{log}");
}

/// An offline read appends one sealed frame to the outbox; a crash in the middle of
/// the next append leaves a frame cut short, which is dropped (that read's entry is
/// lost, as its write never finished) and written over: later entries still arrive.
#[test]
fn an_entry_cut_short_by_a_crash_is_dropped_and_later_ones_still_arrive() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "bobs-laptop", &[]);
    let mut outbox = bob.v.path.clone().into_os_string();
    outbox.push(".team-audit");
    let outbox = std::path::PathBuf::from(outbox);
    bob.ok(&["--offline", "get", "DATABASE_URL"], None);
    let one = std::fs::read(&outbox).unwrap();
    bob.ok(
        &["--offline", "-e", "production", "get", "STRIPE_LIVE_KEY"],
        None,
    );
    let two = std::fs::read(&outbox).unwrap();
    assert!(
        two.len() > one.len() && two.starts_with(&one),
        "appended, not rewritten"
    );
    // The second frame, cut short as a crash mid-write would leave it.
    std::fs::write(&outbox, &two[..two.len() - 7]).unwrap();
    bob.ok(&["--offline", "get", "DATABASE_URL"], None);
    bob.ok(&["list"], None);
    let log = alice.audit();
    let reads = lines_with(&log, &["  bob  ", "  get  "]);
    assert_eq!(reads.len(), 2, "{log}");
    assert!(reads.iter().all(|r| r.contains("DATABASE_URL")), "{log}");
}

/// Runs SQL on the test's database.
fn sql(db: &pg::Db, text: &str) {
    db.client().batch_execute(text).unwrap();
}

#[test]
fn entries_edited_dropped_moved_or_cut_off_on_the_server_are_reported() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "bobs-laptop", &[]);
    for _ in 0..4 {
        bob.ok(&["get", "DATABASE_URL"], None);
    }
    alice.ok(&["get", "DATABASE_URL"], None);
    alice.audit();
    sql(&db, "CREATE TABLE saved AS SELECT * FROM tresor_audit");
    let restore = || {
        sql(
            &db,
            "DELETE FROM tresor_audit; INSERT INTO tresor_audit SELECT * FROM saved",
        );
        alice.audit();
    };
    // bob's chain: remote join (1) then his four reads (2..5).
    let member_with = |last: i64| -> String {
        let id: Vec<u8> = db
            .client()
            .query_one(
                "SELECT member FROM tresor_audit GROUP BY member HAVING max(seq) = $1",
                &[&last],
            )
            .unwrap()
            .get(0);
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        format!("'\\x{hex}'::bytea")
    };
    let bob_member = member_with(5);
    let alice_member = member_with(3);

    // Edited: one byte of a sealed entry.
    sql(
        &db,
        &format!(
            "UPDATE tresor_audit SET entry = set_byte(entry, 40, get_byte(entry, 40) # 1)
             WHERE member = {bob_member} AND seq = 3"
        ),
    );
    let out = alice.run(&["audit"], None).failure_after_output();
    assert!(
        out.error().contains("failed verification"),
        "{}",
        out.stderr
    );
    let text = out.text();
    assert!(text.contains("bob, entry 3: failed verification"), "{text}");
    // Only that entry: the ones around it still show.
    assert!(!text.contains("entry 4"), "{text}");
    assert_eq!(
        lines_with(&text, &["  bob  ", "  get  "]).len(),
        3,
        "{text}"
    );
    restore();

    // Dropped from the middle.
    sql(
        &db,
        &format!("DELETE FROM tresor_audit WHERE member = {bob_member} AND seq = 3"),
    );
    let out = alice.run(&["audit"], None);
    assert_ne!(out.code, 0);
    assert!(
        out.text().contains("bob, entry 3: missing"),
        "{}",
        out.text()
    );
    restore();

    // Reordered: two entries swap places.
    sql(
        &db,
        &format!(
            "UPDATE tresor_audit SET seq = 100 WHERE member = {bob_member} AND seq = 2;
             UPDATE tresor_audit SET seq = 2 WHERE member = {bob_member} AND seq = 3;
             UPDATE tresor_audit SET seq = 3 WHERE member = {bob_member} AND seq = 100"
        ),
    );
    let out = alice.run(&["audit"], None);
    assert_ne!(out.code, 0);
    assert!(
        out.text().contains("bob, entry 2: failed verification"),
        "{}",
        out.text()
    );
    restore();

    // Moved to another member (alice has made 3 entries)…
    sql(
        &db,
        &format!(
            "INSERT INTO tresor_audit SELECT vault, {alice_member}, 4, epoch, entry
             FROM tresor_audit WHERE member = {bob_member} AND seq = 2"
        ),
    );
    let out = alice.run(&["audit"], None);
    assert!(
        out.text().contains("alice, entry 4: failed verification"),
        "{}",
        out.text()
    );
    restore();

    // …and replayed as a later entry of the same one.
    sql(
        &db,
        &format!(
            "INSERT INTO tresor_audit SELECT vault, member, 6, epoch, entry FROM tresor_audit
             WHERE member = {bob_member} AND seq = 2"
        ),
    );
    let out = alice.run(&["audit"], None);
    assert!(
        out.text().contains("bob, entry 6: failed verification"),
        "{}",
        out.text()
    );
    restore();

    // Bob's own entries cut off the end: the others cannot tell, bob can.
    sql(
        &db,
        &format!("DELETE FROM tresor_audit WHERE member = {bob_member} AND seq >= 4"),
    );
    alice.ok(&["audit"], None);
    let out = bob.run(&["audit"], None);
    assert_ne!(out.code, 0);
    assert!(
        out.text()
            .contains("your entries 4 to 5, sent from this machine, are gone"),
        "{}",
        out.text()
    );
}

#[test]
fn the_database_holds_no_key_name_action_or_machine_of_the_log() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "bobs-laptop", &[]);
    bob.ok(&["get", "DATABASE_URL"], None);
    bob.ok(&["-e", "production", "get", "STRIPE_LIVE_KEY"], None);
    alice.ok(&["audit"], None);
    let dump = db.dump();
    let text = String::from_utf8_lossy(&dump);
    assert!(text.contains("tresor_audit"), "the log is in the dump");
    let rows: i64 = db
        .client()
        .query_one("SELECT count(*) FROM tresor_audit", &[])
        .unwrap()
        .get(0);
    assert!(rows >= 4, "{rows}");
    for clear in [
        "DATABASE_URL",
        "STRIPE_LIVE_KEY",
        "bobs-laptop",
        "alices-desk",
        "remote join",
        "member add",
        "development",
        "production",
    ] {
        assert!(
            !contains(&dump, clear.as_bytes()),
            "`{clear}` is in the dump"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn entries_from_before_a_removal_stay_readable_to_those_who_saw_them() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "bobs-laptop", &[]);
    bob.ok(&["get", "DATABASE_URL"], None);
    alice.audit();
    alice.ok(&["member", "rm", "bob"], None);
    alice.ok(&["get", "DATABASE_URL"], None);

    // Alice held the old keys: bob's read is still there, under his name.
    let log = alice.audit();
    let bob_read = lines_with(&log, &["  bob (removed)  ", "  get  ", "DATABASE_URL"]);
    assert_eq!(bob_read.len(), 1, "{log}");
    assert_eq!(
        lines_with(&log, &["  alice  ", "  member rm  ", "bob"]).len(),
        1,
        "{log}"
    );

    // Dave joins after the rekey: what came before is counted, not shown, not an error.
    let dave = join(&alice, &db, "dave", "daves-box", &[]);
    dave.ok(&["get", "DATABASE_URL"], None);
    let log = dave.audit();
    assert!(
        log.contains("sealed under keys from before you joined"),
        "{log}"
    );
    assert!(!log.contains("bobs-laptop"), "{log}");
    assert_eq!(lines_with(&log, &["  dave  ", "  get  "]).len(), 1, "{log}");
    assert_eq!(
        lines_with(&log, &["  alice  ", "  member add  ", "dave"]).len(),
        1,
        "{log}"
    );
}

/// The outbox beside the vault restored from a backup, or lost: the next entry continues
/// the member's chain after what the server holds, and the log still verifies.
#[test]
fn a_stale_or_lost_outbox_continues_the_chain() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "bobs-laptop", &[]);
    bob.ok(&["get", "DATABASE_URL"], None);
    let outbox = bob.v.dir.path().join(format!(
        "{}.team-audit",
        bob.v.path.file_name().unwrap().to_str().unwrap()
    ));
    let saved = std::fs::read(&outbox).expect("bob's outbox");
    bob.ok(&["-e", "production", "get", "STRIPE_LIVE_KEY"], None);
    std::fs::write(&outbox, &saved).unwrap();
    bob.ok(&["add", "AFTER_RESTORE"], Some(b"x"));
    std::fs::remove_file(&outbox).unwrap();
    bob.ok(&["get", "AFTER_RESTORE"], None);

    let log = alice.audit();
    for key in ["DATABASE_URL", "STRIPE_LIVE_KEY", "AFTER_RESTORE"] {
        assert!(!lines_with(&log, &["  bob  ", key]).is_empty(), "{log}");
    }
    assert_eq!(
        lines_with(&log, &["  bob  ", "AFTER_RESTORE"]).len(),
        2,
        "{log}"
    );
    bob.audit();
}
