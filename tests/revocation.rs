//! Revocation: key slots listed and removed, `rekey`, the key slots inside the vault
//! digest, and Argon2 settings a crafted slot cannot abuse. Each test is a way a leaked
//! passphrase or keyfile, or someone who can write the file, kept or got access before.

mod common;

use std::os::unix::process::CommandExt;

use secrecy::SecretString;
use tresor::vault::Credential;
use tresor::vault::records::{self, Slot, SlotKind};
use tresor::vault::storage::{Storage, Table, redb_file::RedbFile};

use common::{CHEAP_KDF, Cred, Vault, WRONG_CREDENTIAL, output};

const VALUE: &[u8] = b"written-after-the-leak";

/// A passphrase vault (cheap Argon2) that a second keyfile also opens.
fn vault_with_keyfile() -> (Vault, std::path::PathBuf) {
    let v = Vault::with_passphrase("first passphrase");
    let keyfile = v.dir.path().join("laptop.key");
    v.ok(&["keyfile", "add", keyfile.to_str().unwrap()], None);
    (v, keyfile)
}

fn by_keyfile(v: &Vault, keyfile: &std::path::Path) -> Vault {
    Vault {
        dir: tempfile::tempdir().unwrap(),
        path: v.path.clone(),
        cred: Cred::Keyfile(keyfile.to_path_buf()),
    }
}

type Rows = Vec<(Vec<u8>, Vec<u8>)>;

fn slots_and_header(path: &std::path::Path) -> (Rows, Vec<u8>) {
    let mut slots = Vec::new();
    let mut header = Vec::new();
    RedbFile::new(path)
        .read(&mut |txn| {
            txn.scan(Table::Slots, b"", &mut |k, v| {
                slots.push((k.to_vec(), v.to_vec()));
                Ok(())
            })?;
            header = txn.get(Table::Meta, b"header")?.unwrap_or_default();
            Ok(())
        })
        .unwrap();
    (slots, header)
}

/// Replaces the file's key slots (and header, if given) as someone with write access.
fn put_slots(path: &std::path::Path, slots: &Rows, header: Option<&[u8]>) {
    RedbFile::new(path)
        .write(&mut |txn| {
            txn.delete_prefix(Table::Slots, b"")?;
            for (id, bytes) in slots {
                txn.put(Table::Slots, id, bytes)?;
            }
            if let Some(h) = header {
                txn.put(Table::Meta, b"header", h)?;
            }
            Ok(())
        })
        .unwrap();
}

fn slot_id(key: &[u8]) -> u32 {
    u32::from_be_bytes(key.try_into().unwrap())
}

#[test]
fn keyfile_list_shows_every_slot_and_which_one_opened_it() {
    let (v, keyfile) = vault_with_keyfile();
    let out = v.ok(&["keyfile", "list"], None).text();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "ID\tKIND\tADDED\tLAST USED");
    assert!(lines[1].starts_with("0\tpassphrase\t20"), "{out}");
    assert!(lines[1].ends_with("\tnow"), "{out}");
    assert!(lines[2].starts_with("1\tkeyfile\t20"), "{out}");
    assert_eq!(lines.len(), 3);
    let via_keyfile = by_keyfile(&v, &keyfile)
        .ok(&["keyfile", "list"], None)
        .text();
    assert!(via_keyfile.lines().nth(2).unwrap().ends_with("\tnow"));
}

#[test]
fn the_last_key_slot_cannot_be_removed() {
    let v = Vault::new();
    let err = v.err(&["keyfile", "rm", "0"], None);
    assert_eq!(
        err,
        "key slot 0 is the only way to unlock this vault: add another first (`tresor keyfile add PATH` or `tresor passwd`)"
    );
    assert_eq!(
        v.err(&["keyfile", "rm", "9"], None),
        "no key slot 9 in this vault (see `tresor keyfile list`)"
    );
    v.add("STILL_OPENS", b"yes");
}

#[test]
fn a_removed_keyfile_no_longer_opens_the_file_and_the_user_is_told_what_remains() {
    let (v, keyfile) = vault_with_keyfile();
    v.add("API_TOKEN", b"tok");
    let out = v.ok(&["keyfile", "rm", "1"], None);
    assert!(
        out.stderr
            .starts_with("removed key slot 1 (keyfile); it no longer opens this file\n")
    );
    assert!(out.stderr.contains("run `tresor rekey`"), "{}", out.stderr);
    let gone = by_keyfile(&v, &keyfile);
    assert_eq!(
        gone.run(&["get", "API_TOKEN"], None).failure().stderr,
        WRONG_CREDENTIAL
    );
    assert_eq!(v.get("API_TOKEN"), b"tok");
}

/// The reviewer's attack: after `passwd`, the old passphrase slot copied back into the
/// current file. The slot table is inside the vault digest, so the file refuses to open
/// with any credential rather than let the old passphrase in.
#[test]
fn a_key_slot_put_back_outside_tresor_is_detected() {
    let v = Vault::with_passphrase("old passphrase 1");
    v.add("DATABASE_URL", b"postgres://x");
    let (old_slots, _) = slots_and_header(&v.path);
    let mut cmd = v.cmd(&["passwd", "--kdf-passes", "1", "--kdf-memory-mib", "8"]);
    cmd.env("TRESOR_NEW_PASSPHRASE", "new passphrase 2");
    output(cmd, None).success();
    v.clone_with("new passphrase 2").add("WRITTEN_LATER", VALUE);

    let (mut slots, _) = slots_and_header(&v.path);
    slots.extend(old_slots.iter().cloned());
    put_slots(&v.path, &slots, None);
    for pass in ["old passphrase 1", "new passphrase 2"] {
        let out = v
            .clone_with(pass)
            .run(&["get", "WRITTEN_LATER"], None)
            .failure();
        assert!(
            out.stderr
                .contains("a key slot was deleted, added or rolled back"),
            "{pass}: {}",
            out.stderr
        );
    }

    // A slot removed outside tresor is detected the same way.
    let (mut slots, _) = slots_and_header(&v.path);
    slots.retain(|(id, _)| !old_slots.iter().any(|(o, _)| o == id));
    slots.pop();
    let (keyfile_vault, keyfile) = vault_with_keyfile();
    let (mut two, _) = slots_and_header(&keyfile_vault.path);
    two.retain(|(id, _)| slot_id(id) == 1);
    put_slots(&keyfile_vault.path, &two, None);
    let err = by_keyfile(&keyfile_vault, &keyfile).err(&["list"], None);
    assert!(
        err.contains("a key slot was deleted, added or rolled back"),
        "{err}"
    );
}

/// After `rekey`, no slot of an older copy of the file, and no removed keyfile, opens
/// anything written since: the old slots unwrap the old data key, which opens nothing.
#[test]
fn after_rekey_an_old_copy_and_a_removed_keyfile_open_nothing_new() {
    let (v, keyfile) = vault_with_keyfile();
    v.add("BEFORE", b"old value");
    let old_copy = v.bytes();
    let (old_slots, old_header) = slots_and_header(&v.path);

    let out = v.ok(&["keyfile", "rm", "1", "--rekey"], None);
    assert!(
        out.stderr.starts_with(
            "removed key slot 1\nrekeyed: a new data key encrypts all 1 value (1 secret in 3 environments); key slot 0 rewrapped; removed slot 1."
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("What it cannot undo"), "{}", out.stderr);
    v.add("AFTER", VALUE);
    assert_eq!(v.get("BEFORE"), b"old value");

    // The removed keyfile, on the current file.
    let gone = by_keyfile(&v, &keyfile);
    assert_eq!(
        gone.run(&["get", "AFTER"], None).failure().stderr,
        WRONG_CREDENTIAL
    );

    // The old copy's header and slots put into the current file: the removed keyfile
    // unwraps the old data key, and that key decrypts nothing written since.
    put_slots(&v.path, &old_slots, Some(&old_header));
    let out = gone.run(&["get", "AFTER"], None);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!common::contains(&out.stdout, VALUE));
    assert!(!common::contains(out.stderr.as_bytes(), VALUE));

    // The old copy itself still opens with the removed keyfile, as the output said.
    std::fs::write(&v.path, &old_copy).unwrap();
    assert_eq!(gone.get("BEFORE"), b"old value");
}

/// What `passwd` without `--rekey` says is true: the old passphrase and an older copy of
/// the file still give the data key of the current file. With `--rekey` they do not.
#[test]
fn passwd_says_what_the_old_passphrase_can_still_do_and_rekey_ends_it() {
    for rekey in [false, true] {
        let v = Vault::with_passphrase("old passphrase 1");
        v.add("BEFORE", b"b");
        let old_copy = v.dir.path().join("backup.tresor");
        std::fs::write(&old_copy, v.bytes()).unwrap();
        common::chmod(&old_copy, 0o600);
        // The holder of the old passphrase opens the old copy...
        let leaked = tresor::vault::Vault::unlock(
            &old_copy,
            &Credential::Passphrase(SecretString::from("old passphrase 1")),
        )
        .unwrap();

        let mut args = vec!["passwd"];
        args.extend(CHEAP_KDF);
        if rekey {
            args.push("--rekey");
        }
        let mut cmd = v.cmd(&args);
        cmd.env("TRESOR_NEW_PASSPHRASE", "new passphrase 2");
        let out = output(cmd, None).success();
        let now = v.clone_with("new passphrase 2");
        now.add("AFTER", VALUE);
        assert_eq!(
            v.run(&["get", "AFTER"], None).failure().stderr,
            WRONG_CREDENTIAL,
            "the old passphrase no longer opens this file"
        );
        // ...and then reads the current file with the data key it got there.
        std::fs::copy(&v.path, &old_copy).unwrap();
        let read = leaked.get("default", "development", "AFTER");
        if rekey {
            assert!(
                out.stderr.contains("opens nothing written from now on"),
                "{}",
                out.stderr
            );
            assert!(read.is_err(), "rekey must end the old data key");
        } else {
            assert!(out.stderr.contains("run `tresor rekey`"), "{}", out.stderr);
            assert_eq!(
                &read.unwrap()[..],
                VALUE,
                "without rekey the warning is true"
            );
        }
    }
}

#[test]
fn rekey_keeps_every_secret_date_and_credential() {
    let (v, keyfile) = vault_with_keyfile();
    v.ok(&["add", "A", "-d", "note"], Some(b"alpha"));
    v.add_in("production", "B", b"bravo");
    v.ok(&["env", "add", "preview"], None);
    v.add_in("preview", "C", b"charlie");
    let before: Vec<_> = ["development", "production", "preview"]
        .iter()
        .map(|e| v.list(e))
        .collect();
    let out = v.ok(&["rekey"], None);
    assert!(
        out.stderr.starts_with("rekeyed: a new data key encrypts all 3 values (3 secrets in 4 environments); key slots 0, 1 rewrapped.\nWhat it cannot undo: copies of the vault made before now"),
        "{}",
        out.stderr
    );
    let after: Vec<_> = ["development", "production", "preview"]
        .iter()
        .map(|e| v.list(e))
        .collect();
    assert_eq!(
        before, after,
        "keys, descriptions, types and dates unchanged"
    );
    assert_eq!(v.get("A"), b"alpha");
    assert_eq!(by_keyfile(&v, &keyfile).get_in("preview", "C"), b"charlie");
    let doctor = v.ok(&["doctor"], None).text();
    assert!(!doctor.contains("problem"), "{doctor}");
}

/// A slot edited to absurd Argon2 settings is refused before any work, and a setting the
/// machine cannot afford is an error, never an abort.
#[test]
fn a_kdf_bomb_is_refused_before_any_work_and_never_aborts() {
    let v = Vault::with_passphrase("a passphrase here");
    v.add("X", b"1");
    let edit = |passes: u32, memory_kib: u32| {
        let (slots, _) = slots_and_header(&v.path);
        let edited: Rows = slots
            .into_iter()
            .map(|(id, bytes)| {
                let mut slot: Slot = records::decode(&bytes, "slot").unwrap();
                if let Slot::V2 {
                    kind: SlotKind::Passphrase { kdf, .. },
                    ..
                } = &mut slot
                {
                    kdf.passes = passes;
                    kdf.memory_kib = memory_kib;
                }
                (id, records::encode(&slot).unwrap())
            })
            .collect();
        put_slots(&v.path, &edited, None);
    };
    edit(64, 2 * 1024 * 1024);
    let out = v.run(&["list"], None).failure();
    assert!(
        out.stderr
            .contains("key slot parameters are out of range (64 passes, allowed 1 to 10)"),
        "{}",
        out.stderr
    );
    assert!(
        out.elapsed < std::time::Duration::from_secs(5),
        "{:?}",
        out.elapsed
    );

    // 1 GiB is allowed, but not under a 512 MiB address-space limit: a clear error.
    edit(1, 1024 * 1024);
    let mut cmd = v.cmd(&["list"]);
    // SAFETY: setrlimit in the child before exec, with constant arguments.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 512 << 20,
                rlim_max: 512 << 20,
            };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
            Ok(())
        });
    }
    let out = output(cmd, None);
    assert_eq!(out.code, 1, "not an abort: {}", out.stderr);
    assert!(
        out.stderr
            .contains("not enough memory to unlock: this key slot asks Argon2id for 1024 MiB"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_format_1_vault_with_one_slot_is_upgraded_by_its_first_change() {
    // A format-1 vault as the first release wrote it: made by the library with the
    // old layout is not possible any more, so take the committed fixture and remove its
    // passphrase slot the way that release's `keyfile rm` would have (it had none).
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-vault");
    let v = Vault::uninit();
    std::fs::copy(src.join("vault.tresor"), &v.path).unwrap();
    let keyfile = v.dir.path().join("vault.key");
    std::fs::copy(src.join("vault.key"), &keyfile).unwrap();
    common::chmod(&v.path, 0o600);
    common::chmod(&keyfile, 0o600);
    let v = Vault {
        cred: Cred::Keyfile(keyfile),
        ..v
    };
    {
        // Format 1's own table, as that release laid it out.
        let slots: redb::TableDefinition<u32, &[u8]> = redb::TableDefinition::new("keyslots_v1");
        let db = redb::Database::open(&v.path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(slots).unwrap().remove(1).unwrap();
        txn.commit().unwrap();
    }

    let out = v.ok(&["add", "NEW"], Some(b"n"));
    assert!(out.stderr.starts_with("upgraded the vault to format 2 before this change: a new data key encrypts all 6 values"), "{}", out.stderr);
    assert_eq!(v.get("NEW"), b"n");
    assert_eq!(
        v.get("DATABASE_URL"),
        b"postgres://app:g0lden@db.internal:5432/app"
    );
    let again = v.ok(&["add", "NEWER"], Some(b"m"));
    assert!(!again.stderr.contains("upgraded"), "once only");
}

/// A screen or process unlocked before someone ran `rekey` is told so, not shown a
/// tampering error; it opens again with its credential.
#[test]
fn a_handle_unlocked_before_a_rekey_is_told_to_unlock_again() {
    let (v, keyfile) = vault_with_keyfile();
    v.add("A", b"alpha");
    let before =
        tresor::vault::Vault::unlock(&v.path, &Credential::Keyfile(keyfile.clone())).unwrap();
    v.ok(&["rekey"], None);
    let err = before.get("default", "development", "A").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the vault was given a new data key (`tresor rekey`) since it was unlocked here: unlock it again"
    );
    let again = tresor::vault::Vault::unlock(&v.path, &Credential::Keyfile(keyfile)).unwrap();
    assert_eq!(
        &again.get("default", "development", "A").unwrap()[..],
        b"alpha"
    );
}

/// Someone who holds the data key before a rekey swaps the public key of a slot that
/// stays, hoping the rekey wraps the next data key to them. The slot that unlocks is
/// checked against its credential, and `rekey` takes that slot's public key from the
/// credential, never from the file.
#[test]
fn a_key_slot_whose_public_key_was_swapped_is_refused() {
    let v = Vault::with_passphrase("victim passphrase");
    v.add("A", b"alpha");
    let attacker = tresor::vault::Vault::unlock(
        &v.path,
        &Credential::Passphrase(SecretString::from("victim passphrase")),
    )
    .unwrap();
    let (slots, _) = slots_and_header(&v.path);
    let swapped: Rows = slots
        .into_iter()
        .map(|(id, bytes)| {
            let mut slot: Slot = records::decode(&bytes, "slot").unwrap();
            if let Slot::V2 { public, .. } = &mut slot {
                *public = [7u8; 32];
            }
            (id, records::encode(&slot).unwrap())
        })
        .collect();
    put_slots(&v.path, &swapped, None);
    attacker.test_reseal().unwrap();
    v.forget_seen();
    let err = v.err(&["get", "A"], None);
    assert!(
        err.contains(
            "key slot 0 was changed outside tresor: its public key is not its credential's"
        ),
        "{err}"
    );
    assert!(
        v.run(&["rekey"], None).code != 0,
        "no rekey to a planted key"
    );
}
