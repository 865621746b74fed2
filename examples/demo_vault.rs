//! The demo vault of `scripts/screenshots.sh`: made-up secrets written at made-up times
//! (months ago for some, so the table shows a stale value in yellow), through the
//! library with the test-only clock offset. A release build of tresor has no such
//! clock: this needs `--features test-support`.
//!
//! Run: `cargo run --example demo_vault --features test-support -- VAULT KEYFILE`

use tresor::vault::testing::set_clock_offset;
use tresor::vault::{NewCredential, NewSecret, SecretEdit, SecretValue, Vault};

const DAY: i64 = 86_400;

/// (days ago, key, value, description)
const DEVELOPMENT: &[(i64, &str, &str, &str)] = &[
    (
        200,
        "STRIPE_API_KEY_FOR_PRODUCTION",
        "sk_live_51DEMOxDEMOxDEMO",
        "Stripe dashboard → Developers → API keys; the billing team owns it and rotates it after every incident",
    ),
    (
        150,
        "DATABASE_URL",
        "postgres://app:demo-password@db.internal:5432/app",
        "Primary Postgres; ask #infra for access",
    ),
    (
        40,
        "GITHUB_TOKEN",
        "ghp_DEMOdemoDEMOdemoDEMOdemo",
        "Fine-grained token for the release bot",
    ),
    (
        120,
        "SMTP_PASSWORD",
        "demo-smtp-password",
        "Mailgun SMTP credentials",
    ),
    (
        95,
        "JWT_SIGNING_KEY",
        "-----BEGIN PRIVATE KEY-----\nMIIEdemo\n-----END PRIVATE KEY-----",
        "Signs session tokens; rotate every 90 days",
    ),
    (
        12,
        "SENTRY_DSN",
        "https://demo@o0.ingest.sentry.io/0",
        "Error reporting",
    ),
    (3, "REDIS_URL", "redis://cache.internal:6379/0", ""),
];

const PRODUCTION: &[(i64, &str, &str, &str)] = &[
    (
        60,
        "DATABASE_URL",
        "postgres://app:prod-demo@db.prod:5432/app",
        "",
    ),
    (60, "STRIPE_API_KEY_FOR_PRODUCTION", "sk_live_prod_DEMO", ""),
    // The same DSN as development's: `tresor check` and the health column call it reused.
    (
        5,
        "SENTRY_DSN",
        "https://demo2@o0.ingest.sentry.io/0",
        "Error reporting",
    ),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, vault, keyfile] = args.as_slice() else {
        return Err("usage: demo_vault VAULT KEYFILE".into());
    };
    set_clock_offset(-300 * DAY);
    let vault = Vault::create(vault.as_ref(), NewCredential::Keyfile(keyfile.into()))?;
    for (env, secrets) in [("development", DEVELOPMENT), ("production", PRODUCTION)] {
        for (days, key, value, description) in secrets {
            set_clock_offset(-days * DAY);
            let secret = NewSecret {
                key: (*key).into(),
                value: SecretValue::new(value.as_bytes().to_vec()),
                description: (*description).into(),
                kind: None,
            };
            vault.add("default", env, secret)?;
        }
    }
    // Rotated last week: created long ago, changed recently.
    set_clock_offset(-7 * DAY);
    vault.edit(
        "default",
        "development",
        "SENTRY_DSN",
        SecretEdit {
            value: Some(SecretValue::new(
                b"https://demo2@o0.ingest.sentry.io/0".to_vec(),
            )),
            description: None,
            kind: None,
        },
    )?;
    set_clock_offset(0);
    Ok(())
}
