//! The domain words (vault, project, environment, secret): a secret's type and what a listing shows of a secret.
//!
//! Nothing here holds a value; values travel as [`SecretValue`] (zeroized on drop).

use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroizing;

/// A secret's plaintext value: bytes, kept exactly, wiped from memory on drop.
pub type SecretValue = Zeroizing<Vec<u8>>;

/// The category shown in the table's Type column.
///
/// The discriminants are stored (postcard encodes the variant index), so never reorder:
/// only append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum SecretType {
    ApiKey,
    Token,
    Password,
    ConnectionString,
    Certificate,
    Credential,
    Other,
}

impl SecretType {
    pub const ALL: [SecretType; 7] = [
        SecretType::ApiKey,
        SecretType::Token,
        SecretType::Password,
        SecretType::ConnectionString,
        SecretType::Certificate,
        SecretType::Credential,
        SecretType::Other,
    ];

    /// The label shown in the table and in `list`.
    pub fn label(self) -> &'static str {
        match self {
            SecretType::ApiKey => "API key",
            SecretType::Token => "Token",
            SecretType::Password => "Password",
            SecretType::ConnectionString => "Connection string",
            SecretType::Certificate => "Certificate / key",
            SecretType::Credential => "Credential",
            SecretType::Other => "Other",
        }
    }

    /// The machine name used by `--type` and `list --json`.
    pub fn slug(self) -> &'static str {
        match self {
            SecretType::ApiKey => "api-key",
            SecretType::Token => "token",
            SecretType::Password => "password",
            SecretType::ConnectionString => "connection-string",
            SecretType::Certificate => "certificate",
            SecretType::Credential => "credential",
            SecretType::Other => "other",
        }
    }

    /// Reads a `--type` argument; accepts the slug and a few obvious synonyms.
    pub fn parse(text: &str) -> Option<SecretType> {
        let t = text.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        Some(match t.as_str() {
            "api-key" | "apikey" | "api" => SecretType::ApiKey,
            "token" => SecretType::Token,
            "password" | "passwd" => SecretType::Password,
            "connection-string" | "url" | "uri" | "dsn" | "connection" => {
                SecretType::ConnectionString
            }
            "certificate" | "cert" | "private-key" | "key" | "pem" => SecretType::Certificate,
            "credential" | "credentials" => SecretType::Credential,
            "other" => SecretType::Other,
            _ => return None,
        })
    }

    /// Guesses the type from the value's shape first (it is the stronger signal), then
    /// from the key's name, as the product page's examples suggest.
    pub fn detect(key: &str, value: &[u8]) -> SecretType {
        let text = String::from_utf8_lossy(&value[..value.len().min(512)]);
        let head = text.trim_start();
        if head.starts_with("-----BEGIN ") {
            return SecretType::Certificate;
        }
        if looks_like_url(head) {
            return SecretType::ConnectionString;
        }
        if head.starts_with('{') && head.contains("\"private_key\"") {
            return SecretType::Credential;
        }
        let k = key.to_ascii_uppercase();
        let ends = |suffix: &str| k == suffix[1..] || k.ends_with(suffix);
        if k.contains("API_KEY") || k.contains("APIKEY") {
            SecretType::ApiKey
        } else if k.contains("TOKEN") {
            SecretType::Token
        } else if k.contains("PASSWORD") || k.contains("PASSWD") || ends("_PASS") || ends("_PWD") {
            SecretType::Password
        } else if ends("_URL") || ends("_URI") || ends("_DSN") || k.contains("CONNECTION_STRING") {
            SecretType::ConnectionString
        } else if ends("_CERT") || ends("_PEM") || k.contains("PRIVATE_KEY") || ends("_CRT") {
            SecretType::Certificate
        } else if k.contains("SECRET") || k.contains("CREDENTIAL") || ends("_KEY") {
            SecretType::Credential
        } else {
            SecretType::Other
        }
    }
}

impl fmt::Display for SecretType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

fn looks_like_url(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    !scheme.is_empty()
        && !rest.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// What a listing knows of a secret: everything but the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    pub key: String,
    pub description: String,
    pub kind: SecretType,
    /// Unix seconds.
    pub created: i64,
    /// Last change of anything (value or description).
    pub updated: i64,
    /// Last change of the value: what "rotate regularly" looks at.
    pub value_changed: i64,
    /// Size of the value in bytes (the file reveals it anyway; useful in `list`).
    pub value_len: usize,
}

/// A project and its environments, as the header tabs and `env list` show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentInfo {
    pub project: String,
    pub name: String,
    pub created: i64,
    pub secrets: usize,
}

/// Where a read or change comes from, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Via {
    Cli,
    Tui,
}

impl Via {
    pub fn label(self) -> &'static str {
        match self {
            Via::Cli => "cli",
            Via::Tui => "tui",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_types_from_value_shape_and_key_name() {
        let cases: &[(&str, &str, SecretType)] = &[
            ("STRIPE_API_KEY", "sk_live_x", SecretType::ApiKey),
            ("GITHUB_TOKEN", "ghp_x", SecretType::Token),
            ("DB_PASSWORD", "hunter2", SecretType::Password),
            ("DATABASE_URL", "x", SecretType::ConnectionString),
            (
                "PRIMARY",
                "postgres://u:p@h/db",
                SecretType::ConnectionString,
            ),
            (
                "TLS",
                "-----BEGIN PRIVATE KEY-----\nabc",
                SecretType::Certificate,
            ),
            (
                "GCP",
                "{\"type\":\"service_account\",\"private_key\":\"x\"}",
                SecretType::Credential,
            ),
            ("AWS_SECRET_ACCESS_KEY", "abc", SecretType::Credential),
            ("PORT", "8080", SecretType::Other),
        ];
        for (key, value, want) in cases {
            assert_eq!(SecretType::detect(key, value.as_bytes()), *want, "{key}");
        }
    }

    #[test]
    fn type_names_parse_back() {
        for t in SecretType::ALL {
            assert_eq!(SecretType::parse(t.slug()), Some(t));
        }
        assert_eq!(SecretType::parse("URL"), Some(SecretType::ConnectionString));
        assert_eq!(SecretType::parse("nonsense"), None);
    }
}
