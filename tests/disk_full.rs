//! A full disk (bad input loses nothing): a write that cannot fit fails with a
//! clear error and changes nothing, reads keep working (the audit log's miss is a
//! warning), and once space is back, writes work again. The vault lives on a small tmpfs
//! mounted for the test; where mounting is not allowed the test says so and skips.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Output, output, tresor};

struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then_some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn run(vault: &Path, keyfile: &Path, args: &[&str], input: Option<&[u8]>) -> Output {
    let mut cmd = tresor();
    cmd.arg("--vault")
        .arg(vault)
        .arg("--keyfile")
        .arg(keyfile)
        .args(args);
    output(cmd, input)
}

/// Fills the file system with one file until it refuses more.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("filler");
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.sync_all();
    path
}

#[test]
fn a_full_disk_fails_a_write_cleanly_and_loses_nothing() {
    let Some(fs) = Tmpfs::mount("2m") else {
        eprintln!("NOTE: cannot mount a tmpfs here: the disk-full test is SKIPPED");
        return;
    };
    let vault = fs.path().join("vault.tresor");
    let keyfile = fs.path().join("vault.key");
    run(&vault, &keyfile, &["init"], None).success();
    for i in 0..5 {
        run(
            &vault,
            &keyfile,
            &["add", &format!("KEPT_{i}")],
            Some(format!("value {i}").as_bytes()),
        )
        .success();
    }
    let before = run(&vault, &keyfile, &["export", "--format", "json"], None).success();

    let filler = fill(fs.path());
    let big = vec![b'x'; 512 * 1024];
    let out = run(&vault, &keyfile, &["add", "TOO_BIG"], Some(&big)).failure();
    assert_eq!(
        out.error(),
        "the disk holding the vault is full: nothing was changed; free some space and try again"
    );

    // Reads still work. The audit entry fits only if its page has room left: when it
    // does not, the read still succeeds and says what the log missed.
    let during = run(&vault, &keyfile, &["export", "--format", "json"], None).success();
    assert_eq!(
        during.stdout, before.stdout,
        "the failed write changed something"
    );
    assert!(
        during.stderr.is_empty() || during.stderr.contains("audit log could not record"),
        "{}",
        during.stderr
    );

    std::fs::remove_file(filler).expect("free the space");
    run(&vault, &keyfile, &["add", "TOO_BIG"], Some(&big)).success();
    assert_eq!(
        run(&vault, &keyfile, &["get", "TOO_BIG"], None)
            .success()
            .stdout,
        big
    );
    assert_eq!(
        run(&vault, &keyfile, &["get", "KEPT_4"], None)
            .success()
            .stdout,
        b"value 4"
    );
    run(&vault, &keyfile, &["doctor"], None).success();
}
