//! What the vault file and its neighbours reveal, what a wrong or missing credential does,
//! and how files that are not vaults are met.

mod common;

use std::time::Duration;

use common::{Cred, Vault, WRONG_CREDENTIAL, chmod, contains, output, tresor};

/// Distinctive strings that must never appear in the vault or audit file in clear.
const CANARIES: &[&str] = &[
    "zqxvalue-canary-one",
    "zqxvalue-canary-edited",
    "zqxvalue-canary-deleted",
    "ZQXKEY_CANARY",
    "ZQXKEY_DELETED",
    "zqxdescription canary",
    "zqxproject",
    "zqxenvironment",
    "zqxpassphrase-canary",
];

#[test]
fn the_files_hold_no_names_values_or_descriptions_in_clear() {
    let v = Vault::with_passphrase("zqxpassphrase-canary");
    v.ok(&["-p", "zqxproject", "env", "add", "zqxenvironment"], None);
    let place = ["-p", "zqxproject", "-e", "zqxenvironment"];
    let with = |args: &[&'static str]| -> Vec<&'static str> { [&place[..], args].concat() };
    v.ok(
        &with(&["add", "ZQXKEY_CANARY", "-d", "zqxdescription canary"]),
        Some(b"zqxvalue-canary-one"),
    );
    v.ok(
        &with(&["add", "ZQXKEY_DELETED"]),
        Some(b"zqxvalue-canary-deleted"),
    );
    v.ok(
        &with(&["edit", "ZQXKEY_CANARY", "--value-stdin"]),
        Some(b"zqxvalue-canary-edited"),
    );
    v.ok(&with(&["rm", "ZQXKEY_DELETED", "--yes"]), None);
    v.ok(
        &["add", "ZQXKEY_CANARY", "-d", "zqxdescription canary"],
        Some(b"zqxvalue-canary-one"),
    );
    v.ok(
        &["-e", "staging", "import", "-"],
        Some(b"ZQXKEY_CANARY=zqxvalue-canary-one\n"),
    );
    v.ok(&with(&["get", "ZQXKEY_CANARY"]), None);
    v.ok(&with(&["run", "--", "true"]), None);
    assert_eq!(
        v.ok(&with(&["get", "ZQXKEY_CANARY"]), None).stdout,
        b"zqxvalue-canary-edited"
    );

    let files = [v.path.clone(), v.audit_path()];
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        assert!(bytes.len() > 1000, "{}", file.display());
        for canary in CANARIES {
            for needle in [
                canary.as_bytes().to_vec(),
                canary.to_uppercase().into_bytes(),
                utf16(canary),
            ] {
                assert!(
                    !contains(&bytes, &needle),
                    "{} holds {canary:?} in clear",
                    file.display()
                );
            }
        }
        // Nor the default names (the project and environment names are sealed too).
        for name in ["development", "staging", "production"] {
            assert!(
                !contains(&bytes, name.as_bytes()),
                "{} holds {name:?}",
                file.display()
            );
        }
    }
    // Every file under the vault's directory, whatever it is (the high-water mark too).
    let mut dirs = vec![v.dir.path().to_path_buf()];
    let mut seen = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            seen += 1;
            let bytes = std::fs::read(&path).unwrap();
            for canary in CANARIES {
                assert!(!contains(&bytes, canary.as_bytes()), "{canary}");
            }
        }
    }
    assert!(seen >= 3, "vault, audit log and high-water mark: {seen}");
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[test]
fn a_keyfile_vault_holds_no_trace_of_the_keyfile() {
    let v = Vault::new();
    v.add("K", b"v");
    let text = std::fs::read_to_string(v.keyfile()).unwrap();
    let hex = text.trim().strip_prefix("tresor-keyfile-v1:").unwrap();
    let raw: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    for file in [v.path.clone(), v.audit_path()] {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!contains(&bytes, hex.as_bytes()));
        assert!(
            !contains(&bytes, &raw[..16]),
            "{} holds keyfile bytes",
            file.display()
        );
    }
}

#[test]
fn a_wrong_credential_gets_one_generic_error_and_changes_nothing() {
    let p = Vault::with_passphrase("the right passphrase");
    p.add("K", b"v");
    let k = Vault::new();
    k.add("K", b"v");
    let other = Vault::new();

    let attempts: Vec<(&Vault, Cred)> = vec![
        (&p, Cred::Passphrase("the wrong passphrase".into())),
        (&p, Cred::Passphrase("the right passphrase ".into())),
        (&p, Cred::Keyfile(other.keyfile().to_path_buf())),
        (&k, Cred::Keyfile(other.keyfile().to_path_buf())),
        (&k, Cred::Passphrase("any passphrase at all".into())),
    ];
    for (vault, cred) in attempts {
        let before = vault.bytes();
        let audit_before = vault.audit_bytes();
        let wrong = Vault {
            cred: cred.clone(),
            ..Vault::uninit()
        };
        for args in [
            &["get", "K"][..],
            &["add", "NEW"],
            &["list"],
            &["rm", "K", "--yes"],
            &["env", "add", "x"],
            &["audit"],
        ] {
            let mut cmd = wrong.cmd(args);
            cmd.arg("--vault").arg(&vault.path);
            let out = output(cmd, Some(b"value"));
            assert_eq!(out.code, 1, "{cred:?} {args:?}");
            assert_eq!(out.stderr, WRONG_CREDENTIAL, "{cred:?} {args:?}");
            assert!(out.stdout.is_empty());
        }
        assert!(
            vault.bytes() == before,
            "a wrong credential changed the vault file ({cred:?})"
        );
        assert!(
            vault.audit_bytes() == audit_before,
            "a wrong credential changed the audit log ({cred:?})"
        );
    }
    assert_eq!(p.get("K"), b"v");
    assert_eq!(k.get("K"), b"v");
}

#[test]
fn no_credential_and_no_terminal_fails_fast() {
    let v = Vault::new();
    v.add("K", b"v");
    for args in [
        &["get", "K"][..],
        &["list"],
        &["run", "--", "true"],
        &["add", "X"],
        &["passwd"],
    ] {
        let mut cmd = tresor();
        cmd.arg("--vault").arg(&v.path).args(args);
        let out = output(cmd, Some(b"value")).failure();
        assert!(
            out.elapsed < Duration::from_secs(2),
            "{args:?} took {:?}",
            out.elapsed
        );
        let err = out.error();
        assert_eq!(
            err,
            "the vault is locked and there is no way to ask for a passphrase: pass --keyfile PATH (or set TRESOR_KEYFILE), set TRESOR_PASSPHRASE, run in a terminal to be prompted, or run `tresor unlock` in one first"
        );
        for must in ["TRESOR_KEYFILE", "TRESOR_PASSPHRASE", "prompt"] {
            assert!(err.contains(must), "{err}");
        }
    }
}

#[test]
fn files_that_are_not_vaults_get_a_clear_error() {
    let v = Vault::new();
    for i in 0..3 {
        v.add(
            &format!("KEY_{i}"),
            b"some value to make the file realistic",
        );
    }
    let real = v.bytes();
    let dir = v.dir.path();
    let mut random = vec![0u8; 70_000];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for b in random.iter_mut() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *b = state as u8;
    }
    let mut redb_magic_then_noise = real[..64].to_vec();
    redb_magic_then_noise.extend_from_slice(&random[..8192]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("random", random.clone()),
        ("zeros", vec![0u8; 70_000]),
        ("empty", Vec::new()),
        ("one byte", vec![b'x']),
        ("text", b"DATABASE_URL=postgres://not/a/vault\n".to_vec()),
        ("truncated 4 KiB", real[..4096].to_vec()),
        ("truncated half", real[..real.len() / 2].to_vec()),
        ("truncated by one page", real[..real.len() - 4096].to_vec()),
        ("redb header then noise", redb_magic_then_noise),
    ];
    for (name, bytes) in &cases {
        let path = dir.join(format!("not-a-vault-{}", name.replace(' ', "-")));
        std::fs::write(&path, bytes).unwrap();
        chmod(&path, 0o600);
        for args in [
            &["list"][..],
            &["get", "KEY_0"],
            &["add", "NEW_KEY"],
            &["export"],
            &["env", "list"],
        ] {
            let mut cmd = tresor();
            cmd.arg("--vault")
                .arg(&path)
                .arg("--keyfile")
                .arg(v.keyfile())
                .args(args);
            let out = output(cmd, Some(b"value")).failure();
            let err = out.error();
            assert!(
                err.contains("is not a tresor vault") || err.starts_with("vault file is damaged"),
                "{name} {args:?}: {err}"
            );
        }
        assert!(
            std::fs::read(&path).unwrap() == *bytes,
            "{name}: tresor modified a file that is not a vault"
        );
    }
    // A directory in place of the file.
    let mut cmd = tresor();
    cmd.arg("--vault")
        .arg(dir)
        .arg("--keyfile")
        .arg(v.keyfile())
        .arg("list");
    assert_eq!(
        output(cmd, None).failure().error(),
        format!("{} is not a tresor vault", dir.display())
    );
}

#[test]
fn a_redb_file_without_tresor_tables_is_not_a_vault() {
    let v = Vault::uninit();
    let keyfile_vault = Vault::new();
    {
        let db = redb::Database::create(&v.path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let table: redb::TableDefinition<&str, &str> =
                redb::TableDefinition::new("something_else");
            txn.open_table(table).unwrap().insert("k", "v").unwrap();
        }
        txn.commit().unwrap();
    }
    chmod(&v.path, 0o600);
    let mut cmd = tresor();
    cmd.arg("--vault")
        .arg(&v.path)
        .arg("--keyfile")
        .arg(keyfile_vault.keyfile())
        .arg("list");
    assert_eq!(
        output(cmd, None).failure().error(),
        format!("{} is not a tresor vault", v.path.display())
    );
}

#[test]
fn random_damage_never_panics() {
    let v = Vault::new();
    v.add("A", b"alpha");
    v.add_in("staging", "B", b"beta");
    let real = v.bytes();
    let copy = v.dir.path().join("damaged.tresor");
    let mut state: u64 = 0x1234_5678_9abc_def1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..40 {
        let mut bytes = real.clone();
        let flips = [1, 1, 8, 64][round % 4];
        for _ in 0..flips {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] ^= 1 << (next() % 8);
        }
        std::fs::write(&copy, &bytes).unwrap();
        chmod(&copy, 0o600);
        let _ = std::fs::remove_file(format!("{}.audit", copy.display()));
        for args in [&["get", "A"][..], &["-e", "staging", "list"]] {
            let mut cmd = tresor();
            cmd.arg("--vault")
                .arg(&copy)
                .arg("--keyfile")
                .arg(v.keyfile())
                .args(args);
            let out = output(cmd, None);
            out.assert_no_panic();
            match out.code {
                0 if args[0] == "get" => assert_eq!(
                    out.stdout, b"alpha",
                    "round {round}: a damaged vault returned a wrong value"
                ),
                0 => {}
                1 => {
                    out.failure();
                }
                other => panic!("round {round}: exit {other}"),
            }
        }
    }
}

#[test]
fn debug_output_never_shows_keys_or_passphrases() {
    use secrecy::SecretString;
    use tresor::vault::crypto::{KdfParams, Keys};
    use tresor::vault::{Credential, NewCredential};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.tresor");
    let pass = "zqx-debug-passphrase-canary";
    let kdf = KdfParams {
        passes: 1,
        memory_kib: 8 * 1024,
        lanes: 1,
    };
    let created = tresor::vault::Vault::create(
        &path,
        NewCredential::Passphrase(SecretString::from(pass), kdf),
    )
    .unwrap();
    let unlocked =
        tresor::vault::Vault::unlock(&path, &Credential::Passphrase(SecretString::from(pass)))
            .unwrap();
    for text in [format!("{created:?}"), format!("{unlocked:#?}")] {
        assert!(!text.contains(pass), "{text}");
        assert!(text.starts_with("Vault"), "{text}");
    }

    let dek = [0xA5u8; 32];
    let keys = Keys::derive(zeroize::Zeroizing::new(dek), [7u8; 16]).unwrap();
    let subkeys = [
        &keys.value,
        &keys.meta,
        &keys.index,
        &keys.digest,
        &keys.audit,
    ];
    for text in [format!("{keys:?}"), format!("{keys:#?}")] {
        assert!(!text.contains("165"), "the data key shows: {text}");
        assert!(!text.to_lowercase().contains("a5a5"), "{text}");
        for sub in subkeys {
            let hex: String = sub.iter().map(|b| format!("{b:02x}")).collect();
            assert!(!text.contains(&hex[..8]), "a subkey shows: {text}");
            assert!(
                !text.contains(format!("{:?}", &sub[..4]).trim_matches(['[', ']'])),
                "a subkey shows: {text}"
            );
        }
    }

    // The keyfile secret after reading it.
    let keyfile_vault = Vault::new();
    let secret = tresor::vault::keyfile::read(keyfile_vault.keyfile()).unwrap();
    let unlocked = tresor::vault::Vault::unlock(
        &keyfile_vault.path,
        &Credential::Keyfile(keyfile_vault.keyfile().to_path_buf()),
    )
    .unwrap();
    let text = format!("{unlocked:?}");
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        !text.contains(&hex)
            && !text.contains(format!("{:?}", &secret[..4]).trim_matches(['[', ']'])),
        "{text}"
    );

    // The parsed command line holds no passphrase (it never takes one from argv or env).
    use clap::Parser;
    let cli = tresor::cli::Cli::try_parse_from(["tresor", "--vault", "/x", "get", "K"]).unwrap();
    let text = format!("{cli:?}");
    assert!(!text.contains(pass));

    // Credential and NewCredential have no Debug today (so nothing holding one can derive
    // it). Should one be added, it must redact: the probe formats it when it exists.
    let probes = [
        Probe(&Credential::Passphrase(SecretString::from(pass))).debug(),
        Probe(&NewCredential::Passphrase(SecretString::from(pass), kdf)).debug(),
        Probe(&Some(Credential::Passphrase(SecretString::from(pass)))).debug(),
    ];
    // The probe itself works: a SecretString is Debug (and redacted).
    assert!(Probe(&SecretString::from(pass)).debug().is_some());
    assert!(Probe(&[0u8; 0]).debug().is_some());
    for text in probes.into_iter().flatten() {
        assert!(!text.contains(pass), "{text}");
    }
}

/// Formats a value with `{:?}` if its type implements Debug, else gives `None`
/// (inherent methods win over the blanket trait when the bound holds).
struct Probe<'a, T>(&'a T);

impl<T: std::fmt::Debug> Probe<'_, T> {
    fn debug(&self) -> Option<String> {
        Some(format!("{:?}", self.0))
    }
}

trait NoDebug {
    fn debug(&self) -> Option<String> {
        None
    }
}

impl<T> NoDebug for Probe<'_, T> {}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A keyfile is read from the handle that was checked: a named pipe or a folder at the
/// keyfile path is refused at once (no read that waits forever).
#[test]
fn a_keyfile_that_is_a_pipe_or_a_folder_is_refused_without_hanging() {
    let v = Vault::new();
    v.add("A", b"1");
    std::fs::remove_file(v.keyfile()).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg("-m")
        .arg("600")
        .arg(v.keyfile())
        .status()
        .unwrap();
    assert!(status.success());
    let error = v.err(&["get", "A"], None);
    assert_eq!(
        error,
        format!(
            "keyfile {}: not a regular file (a named pipe)",
            v.keyfile().display()
        )
    );

    std::fs::remove_file(v.keyfile()).unwrap();
    std::fs::create_dir(v.keyfile()).unwrap();
    chmod(v.keyfile(), 0o700);
    let error = v.err(&["get", "A"], None);
    assert_eq!(
        error,
        format!(
            "keyfile {}: not a regular file (a folder)",
            v.keyfile().display()
        )
    );
}

#[test]
fn a_missing_keyfile_is_named() {
    let v = Vault::new();
    let missing = v.dir.path().join("nowhere/ci.key");
    let out = output(
        {
            let mut c = tresor();
            c.arg("--vault")
                .arg(&v.path)
                .arg("--keyfile")
                .arg(&missing)
                .arg("list");
            c
        },
        None,
    )
    .failure();
    assert_eq!(
        out.error(),
        format!(
            "keyfile {} not found: check the path given with --keyfile or TRESOR_KEYFILE",
            missing.display()
        )
    );
}

/// Root opens files of any user: tresor does not, so a vault or keyfile planted or left by
/// another account is not trusted by a root-run tresor either.
#[test]
fn a_vault_or_keyfile_of_another_user_is_refused_even_for_root() {
    if !running_as_root() {
        eprintln!("skipped: only root can give a file to another user");
        return;
    }
    let v = Vault::new();
    v.add("A", b"1");
    std::os::unix::fs::chown(&v.path, Some(65534), None).unwrap();
    let error = v.err(&["get", "A"], None);
    assert_eq!(
        error,
        format!(
            "{path}: belongs to uid 65534, not to you (uid 0); if you trust it, `chown 0 {path}`",
            path = v.path.display()
        )
    );
    let out = v.run(&["doctor"], None).failure_after_output();
    assert!(
        out.text().contains("belongs to uid 65534"),
        "{}",
        out.text()
    );
    std::os::unix::fs::chown(&v.path, Some(0), None).unwrap();

    std::os::unix::fs::chown(v.keyfile(), Some(65534), None).unwrap();
    let error = v.err(&["get", "A"], None);
    assert_eq!(
        error,
        format!(
            "{path}: belongs to uid 65534, not to you (uid 0); if you trust it, `chown 0 {path}`",
            path = v.keyfile().display()
        )
    );
    std::os::unix::fs::chown(v.keyfile(), Some(0), None).unwrap();
    assert_eq!(v.get("A"), b"1");
}

/// The vault is checked on the handle redb then uses: a folder or a pipe at the vault path
/// is "not a tresor vault", not a hang or a redb error.
#[test]
fn a_vault_path_that_is_not_a_file_is_refused() {
    let v = Vault::new();
    std::fs::remove_file(&v.path).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg("-m")
        .arg("600")
        .arg(&v.path)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        v.err(&["list"], None),
        format!("{} is not a tresor vault", v.path.display())
    );
}
