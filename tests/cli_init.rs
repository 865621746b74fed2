//! init, unlocking, keyfile add and passwd.

mod common;

use common::{CHEAP_KDF, Cred, Vault, WRONG_CREDENTIAL, chmod, mode, output, tresor};

#[test]
fn init_creates_the_default_project_and_environments() {
    let v = Vault::new();
    let out = v.ok(&["env", "list"], None);
    assert_eq!(
        out.text(),
        "development\t0 secrets\nstaging\t0 secrets\nproduction\t0 secrets\n"
    );
    for env in ["development", "staging", "production"] {
        assert!(v.list(env).is_empty(), "{env}");
    }
}

#[test]
fn init_reports_what_it_made() {
    let v = Vault::uninit();
    let keyfile = v.dir.path().join("ci.key");
    let mut cmd = tresor();
    cmd.arg("--vault")
        .arg(&v.path)
        .arg("--keyfile")
        .arg(&keyfile)
        .arg("init");
    let out = output(cmd, None).success();
    assert!(out.stdout.is_empty());
    assert_eq!(
        out.stderr,
        format!(
            "created vault {} with project default (development, staging, production)\n\
             warning: keyfile {} unlocks this vault: keep it private and backed up; without it the secrets are lost\n",
            v.path.display(),
            keyfile.display()
        )
    );
}

#[test]
fn init_makes_private_files() {
    let v = Vault::uninit();
    let nested = v.dir.path().join("data").join("tresor");
    let path = nested.join("vault.tresor");
    // The keyfile's folder does not exist yet either (`--keyfile ~/.config/tresor/ci.key`).
    let key_dir = v.dir.path().join("config").join("tresor");
    let keyfile = key_dir.join("vault.key");
    let mut cmd = tresor();
    cmd.arg("--vault")
        .arg(&path)
        .arg("--keyfile")
        .arg(&keyfile)
        .arg("init");
    output(cmd, None).success();
    assert_eq!(mode(&nested), 0o700, "vault directory");
    assert_eq!(mode(&key_dir), 0o700, "keyfile directory");
    assert_eq!(mode(&path), 0o600, "vault file");
    assert_eq!(mode(&keyfile), 0o600, "keyfile");
    let audit = {
        let mut p = path.clone().into_os_string();
        p.push(".audit");
        std::path::PathBuf::from(p)
    };
    assert_eq!(mode(&audit), 0o600, "audit log");
    let key_text = std::fs::read_to_string(&keyfile).unwrap();
    assert!(
        key_text.starts_with("tresor-keyfile-v1:") && key_text.ends_with('\n'),
        "{key_text}"
    );
    assert_eq!(key_text.trim_end().len(), "tresor-keyfile-v1:".len() + 64);
}

#[test]
fn init_refuses_an_existing_vault_and_changes_nothing() {
    let v = Vault::new();
    v.add("KEEP", b"me");
    let before = v.bytes();
    let keyfile_before = std::fs::read(v.keyfile()).unwrap();
    assert_eq!(
        v.err(&["init"], None),
        format!("a vault already exists at {}", v.path.display())
    );
    // Also with a new keyfile path: the keyfile is not written.
    let other_key = v.dir.path().join("other.key");
    let mut cmd = tresor();
    cmd.arg("--vault")
        .arg(&v.path)
        .arg("--keyfile")
        .arg(&other_key)
        .arg("init");
    output(cmd, None).failure();
    assert!(
        !other_key.exists(),
        "a keyfile was written for a refused init"
    );
    // And with a passphrase.
    let mut cmd = tresor();
    cmd.arg("--vault").arg(&v.path).arg("init").args(CHEAP_KDF);
    cmd.env("TRESOR_PASSPHRASE", "a long enough passphrase");
    output(cmd, None).failure();
    assert!(v.bytes() == before, "the vault file changed");
    assert!(
        std::fs::read(v.keyfile()).unwrap() == keyfile_before,
        "the keyfile changed"
    );
    assert_eq!(v.get("KEEP"), b"me");
}

#[test]
fn init_refuses_to_overwrite_an_existing_keyfile() {
    let v = Vault::uninit();
    let keyfile = v.dir.path().join("precious");
    std::fs::write(&keyfile, b"not yours to replace").unwrap();
    let mut cmd = tresor();
    cmd.arg("--vault")
        .arg(&v.path)
        .arg("--keyfile")
        .arg(&keyfile)
        .arg("init");
    let err = output(cmd, None).failure().error();
    assert_eq!(
        err,
        format!(
            "keyfile {}: the file already exists; choose a new path",
            keyfile.display()
        )
    );
    assert_eq!(std::fs::read(&keyfile).unwrap(), b"not yours to replace");
    assert!(!v.path.exists(), "no vault is left behind");
}

#[test]
fn a_vault_or_keyfile_others_can_read_is_refused() {
    let v = Vault::new();
    v.add("X", b"1");
    for m in [0o644, 0o640, 0o604, 0o660] {
        chmod(&v.path, m);
        let err = v.err(&["get", "X"], None);
        assert_eq!(
            err,
            format!(
                "{p} can be read by other users (mode {m:04o}); run `chmod 600 {p}` (and 700 on its folder)",
                p = v.path.display()
            )
        );
        v.run(&["add", "Y"], Some(b"2")).failure();
    }
    chmod(&v.path, 0o600);
    assert_eq!(v.get("X"), b"1");
    chmod(v.keyfile(), 0o644);
    let err = v.err(&["get", "X"], None);
    assert!(
        err.contains("can be read by other users") && err.contains("chmod 600"),
        "{err}"
    );
    chmod(v.keyfile(), 0o400);
    assert_eq!(v.get("X"), b"1");
    assert!(!String::from_utf8_lossy(&v.get("X")).contains("Y"));
}

#[test]
fn init_without_a_passphrase_or_terminal_fails_at_once() {
    let v = Vault::uninit();
    let mut cmd = tresor();
    cmd.arg("--vault").arg(&v.path).arg("init");
    let out = output(cmd, None).failure();
    assert_eq!(
        out.error(),
        "no passphrase: set TRESOR_PASSPHRASE, pass --keyfile PATH, or run in a terminal to be prompted"
    );
    assert!(
        out.elapsed < std::time::Duration::from_secs(2),
        "{:?}",
        out.elapsed
    );
    assert!(!v.path.exists());
    // An empty TRESOR_PASSPHRASE counts as none.
    let mut cmd = tresor();
    cmd.arg("--vault")
        .arg(&v.path)
        .arg("init")
        .env("TRESOR_PASSPHRASE", "");
    assert!(
        output(cmd, None)
            .failure()
            .error()
            .contains("TRESOR_PASSPHRASE")
    );
    assert!(!v.path.exists());
}

#[test]
fn a_short_passphrase_is_refused() {
    let v = Vault::uninit();
    let mut cmd = tresor();
    cmd.arg("--vault").arg(&v.path).arg("init").args(CHEAP_KDF);
    cmd.env("TRESOR_PASSPHRASE", "short");
    assert_eq!(
        output(cmd, None).failure().error(),
        "passphrase is too short (5 characters, at least 8); a few random words are best"
    );
    assert!(!v.path.exists());
    // Characters, not bytes: seven two-byte letters are still too short.
    let mut cmd = tresor();
    cmd.arg("--vault").arg(&v.path).arg("init").args(CHEAP_KDF);
    cmd.env("TRESOR_PASSPHRASE", "ééééééé");
    assert!(
        output(cmd, None)
            .failure()
            .error()
            .contains("(7 characters, at least 8)")
    );
    assert!(!v.path.exists());
}

#[test]
fn passphrase_vault_from_the_environment() {
    let v = Vault::with_passphrase("correct horse battery");
    assert_eq!(mode(&v.path), 0o600);
    v.add("DB_PASSWORD", b"s3cret");
    assert_eq!(v.get("DB_PASSWORD"), b"s3cret");
    let wrong = Vault {
        cred: Cred::Passphrase("correct horse battery!".into()),
        ..Vault::uninit()
    };
    let mut cmd = wrong.cmd(&["get", "DB_PASSWORD"]);
    cmd.arg("--vault").arg(&v.path);
    let out = output(cmd, None).failure();
    assert_eq!(out.stderr, WRONG_CREDENTIAL);
}

#[test]
fn default_kdf_is_three_passes_and_64_mib() {
    // The only test that pays for the default Argon2 cost (~0.3 s release, more in debug).
    let v = Vault::uninit();
    let mut cmd = tresor();
    cmd.arg("--vault").arg(&v.path).arg("init");
    cmd.env("TRESOR_PASSPHRASE", "default cost passphrase");
    output(cmd, None).success();
    use tresor::vault::storage::{Storage, Table, redb_file::RedbFile};
    let mut kdfs = Vec::new();
    RedbFile::new(&v.path)
        .read(&mut |txn| {
            txn.scan(Table::Slots, b"", &mut |_, bytes| {
                let slot: tresor::vault::records::Slot =
                    tresor::vault::records::decode(bytes, "slot").unwrap();
                match slot.kind().clone() {
                    tresor::vault::records::SlotKind::Passphrase { kdf, .. } => kdfs.push(kdf),
                    other => panic!("unexpected slot {other:?}"),
                }
                Ok(())
            })
        })
        .unwrap();
    let default = tresor::vault::crypto::KdfParams {
        passes: 3,
        memory_kib: 64 * 1024,
        lanes: 1,
    };
    assert_eq!(kdfs, [default]);
    assert_eq!(tresor::vault::crypto::KdfParams::DEFAULT, default);
    let opened = Vault {
        cred: Cred::Passphrase("default cost passphrase".into()),
        ..Vault::uninit()
    };
    let mut cmd = opened.cmd(&["env", "list"]);
    cmd.arg("--vault").arg(&v.path);
    output(cmd, None).success();
}

#[test]
fn kdf_parameters_out_of_range_are_refused() {
    let v = Vault::uninit();
    for (passes, mib) in [("0", "8"), ("11", "8"), ("1", "7"), ("1", "1025")] {
        let mut cmd = tresor();
        cmd.arg("--vault")
            .arg(&v.path)
            .args(["init", "--kdf-passes", passes, "--kdf-memory-mib", mib])
            .env("TRESOR_PASSPHRASE", "long enough passphrase");
        let err = output(cmd, None).failure().error();
        assert!(
            err.starts_with("key slot parameters are out of range"),
            "{passes}/{mib}: {err}"
        );
        assert!(!v.path.exists());
    }
}

#[test]
fn keyfile_add_gives_a_second_way_in() {
    let v = Vault::new();
    v.add("API_TOKEN", b"tok");
    let second = v.dir.path().join("ci.key");
    let out = v.ok(&["keyfile", "add", second.to_str().unwrap()], None);
    assert_eq!(
        out.stderr,
        format!(
            "wrote keyfile {} (mode 0600); it now unlocks the vault as key slot 1\n",
            second.display()
        )
    );
    assert_eq!(mode(&second), 0o600);
    let via_new = Vault {
        cred: Cred::Keyfile(second.clone()),
        ..Vault::uninit()
    };
    let mut cmd = via_new.cmd(&["get", "API_TOKEN"]);
    cmd.arg("--vault").arg(&v.path);
    assert_eq!(output(cmd, None).success().stdout, b"tok");
    // TRESOR_KEYFILE works like --keyfile.
    let mut cmd = tresor();
    cmd.arg("--vault")
        .arg(&v.path)
        .args(["get", "API_TOKEN"])
        .env("TRESOR_KEYFILE", &second);
    assert_eq!(output(cmd, None).success().stdout, b"tok");
    // The old keyfile still works.
    assert_eq!(v.get("API_TOKEN"), b"tok");
}

#[test]
fn keyfile_add_refuses_an_existing_path_and_leaves_it_alone() {
    let v = Vault::new();
    v.add("X", b"1");
    let existing = v.dir.path().join("notes.txt");
    std::fs::write(&existing, b"precious notes").unwrap();
    let err = v.err(&["keyfile", "add", existing.to_str().unwrap()], None);
    assert_eq!(
        err,
        format!(
            "keyfile {}: the file already exists; choose a new path",
            existing.display()
        )
    );
    assert_eq!(
        std::fs::read(&existing).unwrap(),
        b"precious notes",
        "the existing file was touched"
    );
    // Not even its own keyfile may be replaced.
    let own = v.keyfile().to_path_buf();
    let own_before = std::fs::read(&own).unwrap();
    v.run(&["keyfile", "add", own.to_str().unwrap()], None)
        .failure();
    assert!(
        std::fs::read(&own).unwrap() == own_before,
        "its own keyfile was replaced"
    );
    assert_eq!(v.get("X"), b"1");
}

#[test]
fn passwd_changes_only_the_passphrase() {
    let v = Vault::with_passphrase("old passphrase 1");
    v.ok(&["add", "DATABASE_URL", "-d", "db"], Some(b"postgres://x"));
    let keyfile = v.dir.path().join("backup.key");
    v.ok(&["keyfile", "add", keyfile.to_str().unwrap()], None);

    let mut args = vec!["passwd"];
    args.extend(CHEAP_KDF);
    let mut cmd = v.cmd(&args);
    cmd.env("TRESOR_NEW_PASSPHRASE", "new passphrase 2");
    let out = output(cmd, None).success();
    // It says what is true: the old passphrase no longer opens this file, but still
    // opens older copies, whose data key is this file's until a rekey.
    assert!(
        out.stderr.starts_with(
            "passphrase changed: the old passphrase no longer opens this file\nwarning: it still opens copies of the vault made before now"
        ) && out.stderr.contains("tresor rekey"),
        "{}",
        out.stderr
    );
    // The old passphrase fails with the generic message, the new one works.
    assert_eq!(
        v.run(&["get", "DATABASE_URL"], None).failure().stderr,
        WRONG_CREDENTIAL
    );
    let new = Vault {
        cred: Cred::Passphrase("new passphrase 2".into()),
        ..Vault::uninit()
    };
    let mut cmd = new.cmd(&["get", "DATABASE_URL"]);
    cmd.arg("--vault").arg(&v.path);
    assert_eq!(output(cmd, None).success().stdout, b"postgres://x");
    let mut cmd = new.cmd(&["list", "--json"]);
    cmd.arg("--vault").arg(&v.path);
    let list: serde_json::Value =
        serde_json::from_slice(&output(cmd, None).success().stdout).unwrap();
    assert_eq!(list[0]["description"], "db");
    // The keyfile slot was not touched.
    let by_key = Vault {
        cred: Cred::Keyfile(keyfile),
        ..Vault::uninit()
    };
    let mut cmd = by_key.cmd(&["get", "DATABASE_URL"]);
    cmd.arg("--vault").arg(&v.path);
    assert_eq!(output(cmd, None).success().stdout, b"postgres://x");
}

#[test]
fn passwd_refusals() {
    let v = Vault::with_passphrase("old passphrase 1");
    let before = v.bytes();
    let mut args = vec!["passwd"];
    args.extend(CHEAP_KDF);
    // No new passphrase and no terminal.
    assert_eq!(
        v.err(&args, None),
        "no passphrase: set TRESOR_NEW_PASSPHRASE, pass --keyfile PATH, or run in a terminal to be prompted"
    );
    let mut cmd = v.cmd(&args);
    cmd.env("TRESOR_NEW_PASSPHRASE", "short");
    assert!(
        output(cmd, None)
            .failure()
            .error()
            .starts_with("passphrase is too short")
    );
    // A wrong current passphrase changes nothing.
    let wrong = Vault {
        cred: Cred::Passphrase("not the passphrase".into()),
        ..Vault::uninit()
    };
    let mut cmd = wrong.cmd(&args);
    cmd.arg("--vault")
        .arg(&v.path)
        .env("TRESOR_NEW_PASSPHRASE", "new passphrase 2");
    assert_eq!(output(cmd, None).failure().stderr, WRONG_CREDENTIAL);
    assert!(
        v.bytes() == before,
        "a refused passwd changed the vault file"
    );
    v.ok(&["env", "list"], None);
}

#[test]
fn passwd_adds_a_passphrase_to_a_keyfile_vault() {
    let v = Vault::new();
    v.add("K", b"v");
    let mut args = vec!["passwd"];
    args.extend(CHEAP_KDF);
    let mut cmd = v.cmd(&args);
    cmd.env("TRESOR_NEW_PASSPHRASE", "first passphrase");
    output(cmd, None).success();
    let p = Vault {
        cred: Cred::Passphrase("first passphrase".into()),
        ..Vault::uninit()
    };
    let mut cmd = p.cmd(&["get", "K"]);
    cmd.arg("--vault").arg(&v.path);
    assert_eq!(output(cmd, None).success().stdout, b"v");
    assert_eq!(v.get("K"), b"v");
}

#[test]
fn keyfile_takes_precedence_over_the_passphrase() {
    let v = Vault::new();
    v.add("K", b"v");
    let mut cmd = v.cmd(&["get", "K"]);
    cmd.env("TRESOR_PASSPHRASE", "irrelevant passphrase");
    assert_eq!(output(cmd, None).success().stdout, b"v");
}

#[test]
fn a_damaged_keyfile_is_named() {
    let v = Vault::new();
    let bad = v.dir.path().join("bad.key");
    std::fs::write(&bad, b"tresor-keyfile-v1:zz\n").unwrap();
    chmod(&bad, 0o600);
    let mut cmd = tresor();
    cmd.arg("--vault")
        .arg(&v.path)
        .arg("--keyfile")
        .arg(&bad)
        .arg("list");
    assert_eq!(
        output(cmd, None).failure().error(),
        format!("keyfile {}: the key is not valid hex", bad.display())
    );
    let missing = v.dir.path().join("missing.key");
    let mut cmd = tresor();
    cmd.arg("--vault")
        .arg(&v.path)
        .arg("--keyfile")
        .arg(&missing)
        .arg("list");
    let err = output(cmd, None).failure().error();
    assert!(
        err.starts_with(&format!("keyfile {} not found", missing.display())),
        "{err}"
    );
}

#[test]
fn commands_on_a_missing_vault_say_how_to_create_one() {
    let v = Vault::uninit();
    let mut cmd = tresor();
    cmd.arg("--vault")
        .arg(&v.path)
        .args(["list"])
        .env("TRESOR_PASSPHRASE", "whatever it is");
    assert_eq!(
        output(cmd, None).failure().error(),
        format!(
            "no vault at {}: run `tresor init` to create one",
            v.path.display()
        )
    );
    // TRESOR_VAULT selects the vault like --vault.
    let real = Vault::new();
    real.add("K", b"v");
    let mut cmd = tresor();
    cmd.args(["--keyfile", real.keyfile().to_str().unwrap(), "get", "K"])
        .env("TRESOR_VAULT", &real.path);
    assert_eq!(output(cmd, None).success().stdout, b"v");
}

#[test]
fn keyfiles_survive_being_pasted_or_stored_raw() {
    let v = Vault::new();
    v.add("K", b"v");
    let text = std::fs::read_to_string(v.keyfile()).unwrap();
    let hex = text
        .trim()
        .strip_prefix("tresor-keyfile-v1:")
        .unwrap()
        .to_string();
    let raw: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("crlf", format!("tresor-keyfile-v1:{hex}\r\n").into_bytes()),
        (
            "padded",
            format!("  tresor-keyfile-v1:{hex}  \n\n").into_bytes(),
        ),
        (
            "no newline",
            format!("tresor-keyfile-v1:{hex}").into_bytes(),
        ),
        (
            "uppercase hex",
            format!("tresor-keyfile-v1:{}\n", hex.to_uppercase()).into_bytes(),
        ),
        ("raw 32 bytes", raw.clone()),
    ];
    for (name, bytes) in variants {
        let path = v
            .dir
            .path()
            .join(format!("variant-{}", name.replace(' ', "-")));
        std::fs::write(&path, &bytes).unwrap();
        chmod(&path, 0o600);
        let mut cmd = tresor();
        cmd.arg("--vault")
            .arg(&v.path)
            .arg("--keyfile")
            .arg(&path)
            .args(["get", "K"]);
        assert_eq!(output(cmd, None).success().stdout, b"v", "{name}");
    }
    // A keyfile of the right shape but another key is the generic wrong credential.
    let mut other = raw;
    other[0] ^= 1;
    let path = v.dir.path().join("other-raw");
    std::fs::write(&path, &other).unwrap();
    chmod(&path, 0o600);
    let mut cmd = tresor();
    cmd.arg("--vault")
        .arg(&v.path)
        .arg("--keyfile")
        .arg(&path)
        .args(["get", "K"]);
    assert_eq!(output(cmd, None).failure().stderr, WRONG_CREDENTIAL);
    // Short or odd content is named as not a keyfile.
    for (name, bytes) in [
        ("short hex", "tresor-keyfile-v1:abcd\n"),
        ("other text", "hello\n"),
    ] {
        let path = v.dir.path().join(name.replace(' ', "-"));
        std::fs::write(&path, bytes).unwrap();
        chmod(&path, 0o600);
        let mut cmd = tresor();
        cmd.arg("--vault")
            .arg(&v.path)
            .arg("--keyfile")
            .arg(&path)
            .args(["get", "K"]);
        let err = output(cmd, None).failure().error();
        assert!(
            err.starts_with(&format!("keyfile {}: ", path.display())),
            "{name}: {err}"
        );
    }
}
