//! A member of a team vault in the tests: a local vault (keyfile), an identity protected
//! by the same keyfile, and the environment its commands run with (PG* settings).
//!
//! Included by the team tests that need it (`#[path = "common/team_member.rs"] mod member;`).

#![allow(dead_code)]

use std::path::PathBuf;

use crate::common::*;

pub struct Member {
    pub v: Vault,
    /// Extra environment for every command (PGPASSWORD, PGSSLROOTCERT…).
    pub env: Vec<(String, String)>,
}

impl Member {
    pub fn new() -> Member {
        Member {
            v: Vault::new(),
            env: Vec::new(),
        }
    }

    pub fn with_env(mut self, key: &str, value: &str) -> Member {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn identity(&self) -> PathBuf {
        self.v.dir.path().join("identity")
    }

    pub fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = self.v.cmd(args);
        c.env("TRESOR_IDENTITY", self.identity());
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    pub fn run(&self, args: &[&str], input: Option<&[u8]>) -> Output {
        output(self.cmd(args), input)
    }

    /// One command with more environment than the member's own.
    pub fn run_with(&self, args: &[&str], input: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
        let mut c = self.cmd(args);
        c.envs(env.iter().copied());
        output(c, input)
    }

    #[track_caller]
    pub fn ok(&self, args: &[&str], input: Option<&[u8]>) -> Output {
        self.run(args, input).success()
    }

    #[track_caller]
    pub fn err(&self, args: &[&str], input: Option<&[u8]>) -> String {
        self.run(args, input).failure().error()
    }

    /// `identity new`: the public key it prints (`tresor1`, the X25519 key and the hash
    /// of the signing key, in hex).
    pub fn public_key(&self) -> String {
        let text = self.ok(&["identity", "new"], None).text();
        assert!(
            text.starts_with("tresor1") && text.trim().len() == 7 + 128,
            "{text}"
        );
        text.trim().to_string()
    }

    pub fn get(&self, env: &str, key: &str) -> Vec<u8> {
        self.ok(&["-e", env, "get", key], None).stdout
    }

    /// The replica opened in this process (its high-water marks in a folder of this
    /// test binary's, see `state_dir`).
    pub fn open(&self) -> tresor::vault::Vault {
        tresor::vault::testing::set_state_dir(state_dir().to_path_buf());
        tresor::vault::Vault::unlock(
            &self.v.path,
            &tresor::vault::Credential::Keyfile(self.v.keyfile().to_path_buf()),
        )
        .expect("unlock")
    }

    /// The keys of an environment, as `list --json` shows them.
    pub fn keys(&self, env: &str) -> Vec<String> {
        let out = self.ok(&["-e", env, "list", "--json"], None);
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
        rows.iter()
            .map(|r| r["key"].as_str().expect("key").to_string())
            .collect()
    }
}

/// Where the replicas opened in this process keep their high-water marks: not the
/// user's state folder, and one of this run's (a fixture's vault ids are the same on
/// every run). Under target/tmp, which `cargo clean` empties.
pub fn state_dir() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("team-seen-{}", std::process::id()))
    })
}

/// Alice's vault (DATABASE_URL in development, STRIPE_LIVE_KEY in production), put on
/// the server at `url` with her as admin.
pub fn team_of_alice(url: &str, alice: Member) -> Member {
    alice.ok(
        &["add", "DATABASE_URL", "-d", "primary-database-note"],
        Some(b"postgres://dev-value-4711"),
    );
    alice.ok(
        &["-e", "production", "add", "STRIPE_LIVE_KEY"],
        Some(b"sk_live_prod_value_0815"),
    );
    alice.public_key();
    alice.ok(&["remote", "init", url, "--name", "alice"], None);
    alice
}

/// `m` (an empty vault) added by `admin` with `role` and joined at `url`.
pub fn join(admin: &Member, url: &str, m: Member, name: &str, role: &str, only: &[&str]) -> Member {
    let token = invite(admin, &m, name, role, only);
    m.ok(&["remote", "join", url, "--token", &token], None);
    m
}

/// `m`'s identity made and added by `admin`: the join token it prints.
pub fn invite(admin: &Member, m: &Member, name: &str, role: &str, only: &[&str]) -> String {
    let pk = m.public_key();
    let mut args = vec!["member", "add", name, &pk, "--role", role];
    for e in only {
        args.extend(["--only-env", e]);
    }
    let token = admin.ok(&args, None).text();
    assert!(token.starts_with("tresor-join2:"), "{token}");
    token.trim().to_string()
}
