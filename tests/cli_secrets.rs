//! add, edit, get, list and rm through the real binary: the product page's rules and
//! messages, byte-exact values, and what a listing may show.

mod common;

use common::Vault;

const PEM: &[u8] = b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nVJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZ\n-----END PRIVATE KEY-----\n";

#[test]
fn add_then_get_prints_the_value_and_nothing_else() {
    let v = Vault::new();
    let out = v.ok(
        &["add", "DATABASE_URL", "-d", "primary database"],
        Some(b"postgres://app:pw@db/app\n"),
    );
    assert!(out.stdout.is_empty(), "add writes nothing to stdout");
    assert_eq!(
        out.stderr,
        "added DATABASE_URL to default/development (Connection string)\n"
    );
    assert_eq!(v.get("DATABASE_URL"), b"postgres://app:pw@db/app");
    let out = v.ok(&["get", "DATABASE_URL"], None);
    assert_eq!(out.stderr, "", "get is silent on stderr");
}

#[test]
fn empty_key_is_refused_verbatim() {
    let v = Vault::new();
    assert_eq!(
        v.err(&["add", ""], Some(b"value")),
        "Secret key is required"
    );
    assert!(v.list("development").is_empty());
}

#[test]
fn empty_value_is_refused_verbatim() {
    let v = Vault::new();
    assert_eq!(
        v.err(&["add", "API_KEY"], Some(b"")),
        "Secret value is required"
    );
    // A lone newline is stripped, leaving nothing.
    assert_eq!(
        v.err(&["add", "API_KEY"], Some(b"\n")),
        "Secret value is required"
    );
    assert_eq!(v.err(&["add", "API_KEY"], None), "Secret value is required");
    assert!(v.list("development").is_empty());
}

#[test]
fn bad_key_characters_are_named() {
    let v = Vault::new();
    let cases: &[(&str, &str)] = &[
        ("API-KEY", "character `-` is not allowed"),
        ("9LIVES", "it starts with the digit `9`"),
        ("MY KEY", "a space is not allowed"),
        ("CLÉ", "character `É` is not allowed"),
        ("A.B", "character `.` is not allowed"),
        ("TAB\tKEY", "a tab is not allowed"),
    ];
    for (key, reason) in cases {
        let err = v.err(&["add", key], Some(b"value"));
        assert!(err.starts_with("invalid secret key `"), "{key}: {err}");
        assert!(err.contains(reason), "{key}: {err}");
    }
    let err = v.err(&["add", "API-KEY"], Some(b"value"));
    assert_eq!(
        err,
        "invalid secret key `API-KEY`: character `-` is not allowed; use letters, digits and `_` (e.g. API_KEY)"
    );
    assert!(v.list("development").is_empty());
}

#[test]
fn lowercase_key_warns_but_is_stored_as_typed() {
    let v = Vault::new();
    let out = v.ok(&["add", "db_password"], Some(b"hunter22"));
    assert_eq!(
        out.stderr,
        "warning: key `db_password` has lowercase letters; environment variables are usually UPPERCASE (`DB_PASSWORD`)\n\
         added db_password to default/development (Password)\n"
    );
    assert_eq!(v.keys("development"), ["db_password"]);
    assert_eq!(v.get("db_password"), b"hunter22");
    // Keys are case-sensitive: the uppercase form is a different secret.
    assert_eq!(
        v.err(&["get", "DB_PASSWORD"], None),
        "no secret `DB_PASSWORD` in default/development (keys are case-sensitive: did you mean db_password?)"
    );
}

#[test]
fn duplicate_key_names_the_key_and_keeps_the_first_value() {
    let v = Vault::new();
    v.add("STRIPE_API_KEY", b"first");
    assert_eq!(
        v.err(&["add", "STRIPE_API_KEY"], Some(b"second")),
        "secret `STRIPE_API_KEY` already exists in default/development"
    );
    assert_eq!(v.get("STRIPE_API_KEY"), b"first");
    // The same key in another environment is a different secret.
    v.add_in("production", "STRIPE_API_KEY", b"live");
    assert_eq!(v.get_in("production", "STRIPE_API_KEY"), b"live");
    assert_eq!(v.get("STRIPE_API_KEY"), b"first");
}

#[test]
fn size_limits() {
    let v = Vault::new();
    let key256 = "K".repeat(256);
    v.add(&key256, b"ok");
    assert_eq!(v.get(&key256), b"ok");
    let key257 = "K".repeat(257);
    assert_eq!(
        v.err(&["add", &key257], Some(b"x")),
        "secret key is too long (257 bytes, at most 256)"
    );

    let desc4096 = "é".repeat(4096);
    v.ok(&["add", "DESC_OK", "-d", &desc4096], Some(b"x"));
    assert_eq!(
        v.list("development")
            .iter()
            .find(|s| s["key"] == "DESC_OK")
            .unwrap()["description"],
        desc4096.as_str()
    );
    let desc4097 = "é".repeat(4097);
    assert_eq!(
        v.err(&["add", "DESC_LONG", "-d", &desc4097], Some(b"x")),
        "description is too long (4097 characters, at most 4096)"
    );
    v.add("EDIT_ME", b"x");
    assert_eq!(
        v.err(&["edit", "EDIT_ME", "-d", &desc4097], None),
        "description is too long (4097 characters, at most 4096)"
    );

    const MIB: usize = 1024 * 1024;
    let exactly = vec![b'v'; MIB];
    v.add("ONE_MIB", &exactly);
    assert_eq!(v.get("ONE_MIB"), exactly);
    // 1 MiB plus the newline a pipe adds is still 1 MiB.
    let mut with_newline = exactly.clone();
    with_newline.push(b'\n');
    v.add("ONE_MIB_NL", &with_newline);
    assert_eq!(v.get("ONE_MIB_NL").len(), MIB);

    let over = vec![b'v'; MIB + 1];
    assert_eq!(
        v.err(&["add", "TOO_BIG"], Some(&over)),
        "secret value is too large (1048577 bytes, at most 1 MiB)"
    );
    let huge = vec![b'v'; 3 * MIB];
    let err = v.err(&["add", "HUGE"], Some(&huge));
    assert!(err.starts_with("secret value is too large ("), "{err}");
    assert!(err.ends_with("bytes, at most 1 MiB)"), "{err}");
    let err = v.err(&["edit", "EDIT_ME", "--value-stdin"], Some(&over));
    assert!(err.starts_with("secret value is too large"), "{err}");
    assert_eq!(v.get("EDIT_ME"), b"x");

    let keys = v.keys("development");
    for absent in ["TOO_BIG", "HUGE", "DESC_LONG", key257.as_str()] {
        assert!(!keys.iter().any(|k| k == absent), "{absent} was stored");
    }
}

#[test]
fn exactly_one_trailing_newline_is_stripped() {
    let v = Vault::new();
    let cases: &[(&str, &[u8], &[u8])] = &[
        ("LF", b"value\n", b"value"),
        ("CRLF", b"value\r\n", b"value"),
        ("TWO_LF", b"value\n\n", b"value\n"),
        ("TWO_CRLF", b"value\r\n\r\n", b"value\r\n"),
        ("LONE_CR", b"value\r", b"value\r"),
        ("LF_CR", b"value\n\r", b"value\n\r"),
        ("NONE", b"value", b"value"),
        ("INNER", b"a\nb\n", b"a\nb"),
    ];
    for (key, input, stored) in cases {
        v.add(key, input);
        assert_eq!(v.get(key), *stored, "{key}");
    }
    // edit --value-stdin follows the same rule.
    v.ok(&["edit", "LF", "--value-stdin"], Some(b"new\r\n"));
    assert_eq!(v.get("LF"), b"new");
}

#[test]
fn values_are_kept_byte_for_byte() {
    let v = Vault::new();
    let mut binary: Vec<u8> = (0u8..=255).collect();
    binary.extend_from_slice(&[0xff, 0xfe, 0x00, 0xc3, 0x28]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // A trailing newline must be doubled to survive the one-newline strip.
        ("TLS_KEY", PEM.to_vec()),
        (
            "GCP_JSON",
            br#"{"type":"service_account","private_key":"-----BEGIN\nX\n-----END\n","n":[1,2]}"#
                .to_vec(),
        ),
        ("TRAILING_SPACES", b"  padded value   ".to_vec()),
        ("UNICODE", "pässwörd ✓ 😀 日本".as_bytes().to_vec()),
        ("BINARY", binary),
        (
            "QUOTES",
            br#"it's "quoted" `cmd` $HOME \n \\ # not a comment"#.to_vec(),
        ),
        ("ONLY_SPACE", b" ".to_vec()),
        ("TABS_CR", b"\ta\rb\t".to_vec()),
    ];
    for (key, value) in &cases {
        let mut input = value.clone();
        input.push(b'\n');
        v.add(key, &input);
    }
    for (key, value) in &cases {
        assert_eq!(&v.get(key), value, "{key}");
    }
}

#[test]
fn type_is_detected_and_can_be_overridden() {
    let v = Vault::new();
    v.add("STRIPE_API_KEY", b"sk_live_1");
    v.add("GITHUB_TOKEN", b"ghp_1");
    v.add("DB_PASSWORD", b"hunter22");
    v.add("PRIMARY", b"postgres://u:p@h/db");
    v.add("TLS", PEM);
    v.add("AWS_SECRET_ACCESS_KEY", b"abc");
    v.add("PORT", b"8080");
    v.ok(
        &["add", "CUSTOM", "--type", "password"],
        Some(b"postgres://looks/like/a/url"),
    );
    v.ok(&["add", "SYNONYM", "--type", "URL"], Some(b"x"));
    let types: Vec<(String, String)> = v
        .list("development")
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap().into(),
                s["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("AWS_SECRET_ACCESS_KEY", "credential"),
        ("CUSTOM", "password"),
        ("DB_PASSWORD", "password"),
        ("GITHUB_TOKEN", "token"),
        ("PORT", "other"),
        ("PRIMARY", "connection-string"),
        ("STRIPE_API_KEY", "api-key"),
        ("SYNONYM", "connection-string"),
        ("TLS", "certificate"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(k, t)| (k.to_string(), t.to_string()))
        .collect();
    assert_eq!(types, want);

    v.ok(&["edit", "PORT", "--type", "credential"], None);
    assert_eq!(
        v.list("development")
            .iter()
            .find(|s| s["key"] == "PORT")
            .unwrap()["type"],
        "credential"
    );

    let out = v
        .run(&["add", "BAD_TYPE", "--type", "nonsense"], Some(b"x"))
        .usage_error();
    assert!(
        out.stderr.contains("unknown type `nonsense`"),
        "{}",
        out.stderr
    );
}

#[test]
fn generate_stores_a_random_value_of_the_asked_length() {
    let v = Vault::new();
    let out = v.ok(&["add", "SESSION_SECRET", "--generate"], None);
    assert_eq!(
        out.stderr,
        "added SESSION_SECRET to default/development (Credential, generated 32 characters)\n"
    );
    v.ok(&["add", "LONG_SECRET", "--generate=48"], None);
    v.ok(&["add", "OTHER_SECRET", "--generate"], None);
    let a = v.get("SESSION_SECRET");
    let b = v.get("LONG_SECRET");
    let c = v.get("OTHER_SECRET");
    assert_eq!(a.len(), 32);
    assert_eq!(b.len(), 48);
    assert_ne!(a, c, "two generated values are different");
    for value in [&a, &b, &c] {
        assert!(
            value
                .iter()
                .all(|c| tresor::vault::generate::ALPHABET.contains(c)),
            "{value:?}"
        );
    }
    // edit --generate rotates the value.
    v.ok(&["edit", "SESSION_SECRET", "--generate=64"], None);
    let rotated = v.get("SESSION_SECRET");
    assert_eq!(rotated.len(), 64);
    assert_ne!(rotated[..32], a[..]);
    v.run(&["add", "TINY", "--generate=4"], None).usage_error();
    v.run(&["add", "HUGE", "--generate=5000"], None)
        .usage_error();
    assert!(
        !v.keys("development")
            .iter()
            .any(|k| k == "TINY" || k == "HUGE")
    );
}

#[test]
fn edit_rules_no_changes_to_save() {
    let v = Vault::new();
    v.ok(&["add", "API_KEY", "-d", "how to get it"], Some(b"v1"));
    assert_eq!(v.err(&["edit", "API_KEY"], None), "No changes to save");
    assert_eq!(
        v.err(&["edit", "API_KEY", "-d", "how to get it"], None),
        "No changes to save"
    );
    assert_eq!(
        v.err(&["edit", "API_KEY", "--value-stdin"], Some(b"")),
        "No changes to save"
    );
    assert_eq!(
        v.err(&["edit", "API_KEY", "--value-stdin"], None),
        "No changes to save"
    );
    assert_eq!(
        v.err(&["edit", "API_KEY", "--type", "api-key"], None),
        "No changes to save"
    );
    // An empty new value keeps the current one even when the description changes.
    let out = v.ok(
        &["edit", "API_KEY", "--value-stdin", "-d", "new note"],
        Some(b"\n"),
    );
    assert_eq!(
        out.stderr,
        "updated API_KEY details in default/development\n"
    );
    assert_eq!(v.get("API_KEY"), b"v1");
    assert_eq!(v.list("development")[0]["description"], "new note");
    let out = v.ok(&["edit", "API_KEY", "--value-stdin"], Some(b"v2\n"));
    assert_eq!(out.stderr, "updated API_KEY value in default/development\n");
    assert_eq!(v.get("API_KEY"), b"v2");
    assert_eq!(v.list("development")[0]["description"], "new note");
    // Clearing the description is a change.
    v.ok(&["edit", "API_KEY", "-d", ""], None);
    assert_eq!(v.list("development")[0]["description"], "");
    assert_eq!(
        v.err(&["edit", "MISSING", "-d", "x"], None),
        "no secret `MISSING` in default/development"
    );
}

#[test]
fn the_key_cannot_be_changed() {
    let v = Vault::new();
    v.add("OLD_NAME", b"value");
    // There is no rename: a second positional argument or a --key flag is a usage error.
    v.run(&["edit", "OLD_NAME", "NEW_NAME"], None).usage_error();
    v.run(&["edit", "OLD_NAME", "--key", "NEW_NAME"], None)
        .usage_error();
    v.run(&["rename", "OLD_NAME", "NEW_NAME"], None)
        .usage_error();
    v.ok(&["edit", "OLD_NAME", "-d", "changed"], None);
    assert_eq!(v.keys("development"), ["OLD_NAME"]);
    let help = v.ok(&["edit", "--help"], None).text();
    assert!(help.contains("the key cannot change"), "{help}");
}

#[test]
fn edit_times_and_value_changed() {
    let v = Vault::new();
    v.add("TOKEN", b"v1");
    let before = v.list("development")[0].clone();
    for field in ["created", "updated", "value_changed"] {
        let t = before[field].as_str().unwrap();
        assert_eq!(t.len(), "2026-01-01T00:00:00Z".len(), "{field}: {t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{field}: {t}");
    }
    assert_eq!(before["created"], before["updated"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    v.ok(&["edit", "TOKEN", "-d", "note"], None);
    let after = v.list("development")[0].clone();
    assert_eq!(after["created"], before["created"]);
    assert_eq!(
        after["value_changed"], before["value_changed"],
        "a description edit is not a rotation"
    );
    assert!(after["updated"].as_str() > before["updated"].as_str());
}

#[test]
fn list_json_is_complete_sorted_and_never_shows_values() {
    let v = Vault::new();
    v.ok(
        &["add", "ZETA_TOKEN", "-d", "last \"one\"\nsecond line"],
        Some(b"value-canary-zeta-123"),
    );
    v.ok(
        &["add", "ALPHA_URL", "-d", "first"],
        Some(b"https://value-canary-alpha.example"),
    );
    v.add("MID", b"value-canary-mid");
    let out = v.ok(&["list", "--json"], None);
    let text = out.text();
    for canary in [
        "value-canary-zeta-123",
        "value-canary-alpha",
        "value-canary-mid",
    ] {
        assert!(!text.contains(canary), "list --json shows a value: {text}");
        assert!(!out.stderr.contains(canary));
    }
    let items: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = items.iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["ALPHA_URL", "MID", "ZETA_TOKEN"]);
    for item in &items {
        let mut fields: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "created",
                "description",
                "key",
                "type",
                "updated",
                "value_changed"
            ]
        );
    }
    assert_eq!(items[2]["description"], "last \"one\"\nsecond line");
    assert_eq!(items[0]["type"], "connection-string");
    // An empty environment is an empty array.
    let staging = v.ok(&["-e", "staging", "list", "--json"], None);
    assert_eq!(staging.text(), "[]\n");
}

#[test]
fn list_table_shows_the_columns_and_never_values() {
    let v = Vault::new();
    v.ok(
        &["add", "STRIPE_API_KEY", "-d", "live key\nrotated monthly"],
        Some(b"sk_live_canary_value"),
    );
    v.add("DATABASE_URL", b"postgres://canary:pw@db/app");
    let created = v.list("development")[0]["created"].as_str().unwrap()[..10].to_string();
    let out = v.ok(&["list"], None);
    // Columns are as wide as their longest cell plus two spaces; the last is not padded.
    let row = |k: &str, d: &str, t: &str| format!("{k:<16}{d:<26}{t:<19}{created}  {created}\n");
    let want = format!(
        "{:<16}{:<26}{:<19}{:<12}UPDATED\n{}{}",
        "KEY",
        "DESCRIPTION",
        "TYPE",
        "CREATED",
        row("DATABASE_URL", "", "Connection string"),
        row("STRIPE_API_KEY", "live key rotated monthly", "API key"),
    );
    assert_eq!(out.text(), want);
    assert!(!out.text().contains("canary"), "{}", out.text());

    let empty = v.ok(&["-e", "staging", "list"], None);
    assert!(empty.stdout.is_empty());
    assert_eq!(
        empty.stderr,
        "no secrets in default/staging (add one with `tresor add KEY`)\n"
    );
}

#[test]
fn rm_needs_yes_without_a_terminal() {
    let v = Vault::new();
    v.add("OLD_TOKEN", b"keep me");
    assert_eq!(
        v.err(&["rm", "OLD_TOKEN"], None),
        "refusing to delete OLD_TOKEN without confirmation: pass --yes"
    );
    // Even with "y" piped in: a pipe is not a confirmation.
    assert_eq!(
        v.err(&["rm", "OLD_TOKEN"], Some(b"y\n")),
        "refusing to delete OLD_TOKEN without confirmation: pass --yes"
    );
    assert_eq!(v.get("OLD_TOKEN"), b"keep me");
    let out = v.ok(&["rm", "OLD_TOKEN", "--yes"], None);
    assert_eq!(out.stderr, "deleted OLD_TOKEN from default/development\n");
    assert_eq!(
        v.err(&["get", "OLD_TOKEN"], None),
        "no secret `OLD_TOKEN` in default/development"
    );
    assert!(v.list("development").is_empty());
    assert_eq!(
        v.err(&["rm", "OLD_TOKEN", "--yes"], None),
        "no secret `OLD_TOKEN` in default/development"
    );
    // After deleting, the key can be created again (that is how one renames).
    v.add("OLD_TOKEN", b"new");
    assert_eq!(v.get("OLD_TOKEN"), b"new");
    v.ok(&["rm", "-y", "OLD_TOKEN"], None);
}

#[test]
fn missing_key_and_unknown_environment_are_named() {
    let v = Vault::new();
    v.add_in("staging", "ONLY_IN_STAGING", b"x");
    assert_eq!(
        v.err(&["get", "ONLY_IN_STAGING"], None),
        "no secret `ONLY_IN_STAGING` in default/development"
    );
    assert_eq!(
        v.err(&["-e", "production", "get", "ONLY_IN_STAGING"], None),
        "no secret `ONLY_IN_STAGING` in default/production"
    );
    let no_env = "no environment `qa` in project `default` (see `tresor env list`)";
    assert_eq!(v.err(&["-e", "qa", "get", "X"], None), no_env);
    assert_eq!(v.err(&["-e", "qa", "list"], None), no_env);
    assert_eq!(v.err(&["-e", "qa", "add", "X"], Some(b"v")), no_env);
    assert_eq!(v.err(&["-e", "qa", "rm", "X", "--yes"], None), no_env);
    assert_eq!(v.err(&["-e", "qa", "edit", "X", "-d", "d"], None), no_env);
    assert_eq!(
        v.err(&["-p", "billing", "list"], None),
        "no project `billing` (projects: default)"
    );
    assert_eq!(
        v.err(&["-p", "nope", "-e", "qa", "get", "X"], None),
        "no project `nope` (projects: default)",
        "the missing project is named, not the environment"
    );
    // TRESOR_ENV and TRESOR_PROJECT select too.
    let mut cmd = v.cmd(&["get", "ONLY_IN_STAGING"]);
    cmd.env("TRESOR_ENV", "staging");
    assert_eq!(common::output(cmd, None).success().stdout, b"x");
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    // `tresor get BIG | head -c 10`: the closed pipe is the reader's choice.
    let v = Vault::new();
    let big = vec![b'x'; 1024 * 1024];
    v.add("BIG", &big);
    for args in [
        &["get", "BIG"][..],
        &["export"],
        &["export", "--format", "json"],
    ] {
        let mut cmd = v.cmd(args);
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[test]
fn a_key_in_the_wrong_case_gets_a_suggestion() {
    let v = Vault::new();
    v.add("DATABASE_URL", b"postgres://x");
    let error = v.err(&["get", "database_url"], None);
    assert_eq!(
        error,
        "no secret `database_url` in default/development (keys are case-sensitive: did you mean DATABASE_URL?)"
    );
    let error = v.err(&["get", "NOTHING_LIKE_IT"], None);
    assert_eq!(error, "no secret `NOTHING_LIKE_IT` in default/development");
}

/// Rotation age: `edit` with the same value changes nothing and says so, like the page's
/// edit dialog; the value's date stays.
#[test]
fn editing_in_the_same_value_is_no_change() {
    let v = Vault::new();
    v.add("API_TOKEN", b"same bytes");
    let before = v.list("development");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let err = v.err(
        &["edit", "API_TOKEN", "--value-stdin"],
        Some(b"same bytes\n"),
    );
    assert_eq!(err, "No changes to save");
    assert_eq!(v.list("development"), before);
    // A changed description with the same value: the description moves, the value's age
    // does not.
    v.ok(
        &["edit", "API_TOKEN", "--value-stdin", "-d", "note"],
        Some(b"same bytes"),
    );
    let after = &v.list("development")[0];
    assert_eq!(after["description"], "note");
    assert_eq!(after["value_changed"], before[0]["value_changed"]);
    assert_ne!(after["updated"], before[0]["updated"]);
}
