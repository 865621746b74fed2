//! The password file, `~/.pgpass` (or `PGPASSFILE`), read the way libpq reads it: skipped
//! when others may read it, and looked up for each host of the list on its own. A line's
//! host field is matched to the `host` if one is given for that entry, else to its
//! `hostaddr`, else to `localhost`; a unix socket in the default socket folder also
//! matches as `localhost`, one elsewhere by its path.

use std::net::IpAddr;
use std::path::PathBuf;

use postgres::config::Host;

use super::{Env, default_socket_dir, home};
use crate::vault::error::{Result, VaultError};

/// The password file's text, or why there is none to use.
pub enum File {
    Text(String),
    /// The file was there but not used, and why (said after a failed login).
    Skipped(String),
    Missing,
}

/// Reads the password file, if there is one that may be used.
pub fn read(env: Env<'_>) -> Result<File> {
    let path = match env("PGPASSFILE") {
        Some(p) => PathBuf::from(p),
        None => match home(env) {
            Some(h) => h.join(".pgpass"),
            None => return Ok(File::Missing),
        },
    };
    let Ok(meta) = std::fs::metadata(&path) else {
        return Ok(File::Missing);
    };
    if !meta.is_file() {
        return Ok(File::Skipped(format!(
            "{} is not a plain file",
            path.display()
        )));
    }
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Ok(File::Skipped(format!(
                "{} was not used: it has group or world access; run `chmod 0600 {}`",
                path.display(),
                path.display()
            )));
        }
    }
    std::fs::read_to_string(&path)
        .map(File::Text)
        .map_err(|e| VaultError::team(format!("{} cannot be read: {e}", path.display())))
}

/// The text a line's host field must match for one entry of the host list.
pub fn host_field(host: Option<&Host>, hostaddr: Option<IpAddr>) -> String {
    match (host, hostaddr) {
        (Some(Host::Tcp(name)), _) if !name.is_empty() => name.clone(),
        (Some(Host::Unix(path)), _) => {
            let path = path.display().to_string();
            if path.trim_end_matches('/') == default_socket_dir() {
                "localhost".into()
            } else {
                path
            }
        }
        (_, Some(addr)) => addr.to_string(),
        _ => "localhost".into(),
    }
}

/// The first line of a pgpass file matching these four fields (`*` matches anything;
/// `\:` and `\\` are escapes).
pub fn pgpass_match(text: &str, wanted: [&str; 4]) -> Option<String> {
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => field.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
                _ => field.push(c),
            }
        }
        if fields.len() < 4 {
            continue;
        }
        if fields.iter().zip(wanted).all(|(f, w)| f == "*" || f == w) {
            return Some(field);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_lines_match_like_libpq() {
        let text = "# comment\ndb:5432:other:app:no\ndb:*:secrets:app:pa\\:ss\n*:*:*:*:any\n";
        assert_eq!(
            pgpass_match(text, ["db", "5432", "secrets", "app"]).as_deref(),
            Some("pa:ss")
        );
        assert_eq!(
            pgpass_match(text, ["elsewhere", "1", "d", "u"]).as_deref(),
            Some("any")
        );
        assert_eq!(
            pgpass_match("db:5432:secrets:app\n", ["db", "5432", "secrets", "app"]),
            None
        );
    }

    #[test]
    fn the_host_field_is_the_host_else_the_hostaddr_else_localhost() {
        let addr: IpAddr = "10.0.0.7".parse().unwrap();
        let tcp = Host::Tcp("db.internal".into());
        assert_eq!(host_field(Some(&tcp), Some(addr)), "db.internal");
        assert_eq!(host_field(None, Some(addr)), "10.0.0.7");
        assert_eq!(host_field(None, None), "localhost");
        let default = Host::Unix(default_socket_dir().into());
        assert_eq!(host_field(Some(&default), None), "localhost");
        let other = Host::Unix("/srv/pg".into());
        assert_eq!(host_field(Some(&other), None), "/srv/pg");
    }
}
