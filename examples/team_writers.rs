//! Four writers on four replicas of one team vault, in one process, each adding secrets
//! as fast as it can (no sync before a write, so most writes rebase over the others'
//! commits): commits per second, and that none was lost. Needs PostgreSQL 15 (the
//! tests' throwaway cluster, `tests/common/postgres.rs`).
//!
//! `cargo run --release --example team_writers [-- COMMITS_PER_WRITER]` (an example, not a
//! criterion bench: one run of many commits is the measurement, and it shares the
//! release build's artifacts).

#[path = "../tests/common/postgres.rs"]
mod pg;

use std::path::Path;
use std::time::Instant;

use tresor::vault::crypto::KdfParams;
use tresor::vault::team::identity::{self, Identity};
use tresor::vault::team::records::Role;
use tresor::vault::{Credential, NewCredential, NewSecret, SecretValue, Vault};

const WRITERS: usize = 4;

fn replica(dir: &Path) -> (Vault, Identity) {
    let path = dir.join("v.tresor");
    Vault::create(&path, NewCredential::Keyfile(dir.join("k"))).expect("create vault");
    let cred = Credential::Keyfile(dir.join("k"));
    let id = identity::create(&dir.join("id"), &cred, KdfParams::DEFAULT).expect("identity");
    (Vault::unlock(&path, &cred).expect("unlock"), id)
}

fn open(dir: &Path) -> Vault {
    Vault::unlock(&dir.join("v.tresor"), &Credential::Keyfile(dir.join("k"))).expect("unlock")
}

fn secret(key: String) -> NewSecret {
    NewSecret {
        key,
        value: SecretValue::new(b"value".to_vec()),
        description: String::new(),
        kind: None,
    }
}

/// User and system CPU time of this process so far: the writers' own cost, steadier
/// than commits per second on a shared machine.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn main() {
    let per_writer: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100);
    let db = pg::database();
    let dirs: Vec<tempfile::TempDir> = (0..WRITERS).map(|_| tempfile::tempdir().unwrap()).collect();
    let (admin, admin_id) = replica(dirs[0].path());
    admin
        .add("default", "development", secret("SEED".into()))
        .expect("seed");
    admin
        .team_init(&db.url, &admin_id, "w0")
        .expect("remote init");
    for (i, dir) in dirs.iter().enumerate().skip(1) {
        let (v, id) = replica(dir.path());
        let token = admin
            .team_add_member(
                &admin_id,
                &format!("w{i}"),
                &(id.public, id.signing),
                Role::Writer,
                None,
            )
            .expect("member add");
        v.team_join(&db.url, &token, &id).expect("remote join");
    }
    drop(admin);

    let (start, cpu_start) = (Instant::now(), cpu_seconds());
    let handles: Vec<_> = dirs
        .iter()
        .enumerate()
        .map(|(w, dir)| {
            let path = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let v = open(&path);
                let (mut landed, mut refused) = (Vec::new(), 0usize);
                for i in 0..per_writer {
                    let key = format!("W{w}_{i:04}");
                    match v.add("default", "development", secret(key.clone())) {
                        Ok(_) => landed.push(key),
                        Err(e) if e.to_string().contains("nothing was written") => refused += 1,
                        Err(e) => panic!("writer {w}: {e}"),
                    }
                }
                (landed, refused)
            })
        })
        .collect();
    let mut landed = Vec::new();
    let mut refused = 0;
    for h in handles {
        let (l, r) = h.join().expect("writer");
        landed.extend(l);
        refused += r;
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;

    let check = open(dirs[0].path());
    check.team_sync().expect("sync");
    let listed: std::collections::BTreeSet<String> = check
        .list("default", "development")
        .expect("list")
        .into_iter()
        .map(|s| s.key)
        .collect();
    let lost = landed.iter().filter(|k| !listed.contains(*k)).count();
    println!(
        "{WRITERS} writers × {per_writer} adds on 4 replicas: {} landed, {refused} refused (told to re-run), {lost} lost; {:.0} commits/s (target 200); the writers' CPU {:.2} ms per commit (the server's not counted)",
        landed.len(),
        landed.len() as f64 / secs,
        cpu * 1000.0 / landed.len().max(1) as f64
    );
    assert_eq!(lost, 0, "a landed write is missing");
}
