//! import and export: npm dotenv's dialect, JSON and shell output, and the round trip
//! export → import → export that the CLI promises.
//!
//! The .env cases depend on `src/vault/dotenv.rs` being the faithful port of npm dotenv's
//! parser (the stub it replaces fails them). `common::npm_dotenv_parse` is an independent
//! transcription of npm's `parse`, so exported files are checked against npm itself too.

mod common;

use std::collections::BTreeMap;

use common::{Cred, Vault, npm_dotenv_parse};
use proptest::prelude::*;

/// Every feature of the .env dialect in one file (line numbers matter below).
const DIALECT: &str = r#"# a comment line
export EXPORTED=yes
PLAIN=hello world   # trailing comment
HASH_CUT=abc#def
SINGLE='single $HOME \n kept'
DOUBLE="line1\nline2"
BACKTICK=`it's "quoted"`
MULTI="first
second"
MULTI_SINGLE='a
b'
HASH_IN_QUOTES="a # not a comment"
QUOTED_COMMENT='v' # comment
DOLLAR=$OTHER_VAR
SPACED =   padded value   
DUP=first
DUP=second
INNER_SPACES="  keep  "
UNICODE=héllo wörld ✓
    INDENTED=ok
JSON={"a": [1, 2]}
EMPTY=
EMPTY_QUOTED=""
"#;

fn dialect_expected() -> BTreeMap<String, String> {
    [
        ("EXPORTED", "yes"),
        ("PLAIN", "hello world"),
        ("HASH_CUT", "abc"),
        ("SINGLE", "single $HOME \\n kept"),
        ("DOUBLE", "line1\nline2"),
        ("BACKTICK", "it's \"quoted\""),
        ("MULTI", "first\nsecond"),
        ("MULTI_SINGLE", "a\nb"),
        ("HASH_IN_QUOTES", "a # not a comment"),
        ("QUOTED_COMMENT", "v"),
        ("DOLLAR", "$OTHER_VAR"),
        ("SPACED", "padded value"),
        ("DUP", "second"),
        ("INNER_SPACES", "  keep  "),
        ("UNICODE", "héllo wörld ✓"),
        ("INDENTED", "ok"),
        ("JSON", "{\"a\": [1, 2]}"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_reference_parser_agrees_with_npm_on_the_dialect_file() {
    // Checked against node + dotenv's parse; guards the reference used by the tests below.
    let mut want = dialect_expected();
    want.insert("EMPTY".into(), String::new());
    want.insert("EMPTY_QUOTED".into(), String::new());
    assert_eq!(npm_dotenv_parse(DIALECT), want);
}

#[test]
fn import_reads_npm_dotenv_dialect() {
    let v = Vault::new();
    let file = v.dir.path().join(".env");
    std::fs::write(&file, DIALECT).unwrap();
    let out = v.ok(&["import", file.to_str().unwrap()], None);
    assert_eq!(v.export_json("development"), dialect_expected());
    assert_eq!(
        out.stderr,
        "imported 17 new and 0 updated secrets into default/development\n\
         warning: skipped 2 keys with empty values (a value is required): EMPTY, EMPTY_QUOTED\n"
    );
    // Values are byte-exact through get as well.
    assert_eq!(v.get("MULTI"), b"first\nsecond");
    assert_eq!(v.get("SINGLE"), b"single $HOME \\n kept");
}

#[test]
fn import_from_stdin() {
    let v = Vault::new();
    v.ok(&["-e", "staging", "import", "-"], Some(DIALECT.as_bytes()));
    assert_eq!(v.export_json("staging"), dialect_expected());
    assert!(v.list("development").is_empty());
}

#[test]
fn import_accepts_crlf() {
    let v = Vault::new();
    let crlf = DIALECT.replace('\n', "\r\n");
    v.ok(&["import", "-"], Some(crlf.as_bytes()));
    assert_eq!(v.export_json("development"), dialect_expected());
}

#[test]
fn import_details() {
    let v = Vault::new();
    let text =
        "A=1\nexport   B = two  \nC='x' # c\n\n\n# only comments\nD=\"esc \\\" kept\"\nE=`tick`\n";
    v.ok(&["import", "-"], Some(text.as_bytes()));
    let got = v.export_json("development");
    assert_eq!(
        got,
        npm_dotenv_parse(text)
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect()
    );
    assert_eq!(got["B"], "two");
    assert_eq!(got["C"], "x");
    assert_eq!(got["E"], "tick");
    // Imported secrets get a detected type and no description.
    let list = v.list("development");
    assert!(list.iter().all(|s| s["description"] == ""));
    v.ok(
        &["-e", "staging", "import", "-"],
        Some(b"STRIPE_API_KEY=sk\nDATABASE_URL=postgres://h/db\n"),
    );
    let types: Vec<String> = v
        .list("staging")
        .iter()
        .map(|s| s["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["connection-string", "api-key"]);
}

#[test]
fn a_bad_key_stops_the_import_naming_file_and_line() {
    let v = Vault::new();
    let file = v.dir.path().join("prod.env");
    // The multi-line value makes the bad entry's line differ from its entry index.
    std::fs::write(&file, "GOOD=1\nMULTI=\"a\nb\"\nBAD-KEY=3\nLATER=4\n").unwrap();
    let err = v.err(&["import", file.to_str().unwrap()], None);
    assert!(
        err.starts_with(&format!(
            "{}:4: invalid secret key `BAD-KEY`",
            file.display()
        )),
        "{err}"
    );
    assert!(v.list("development").is_empty(), "nothing may be imported");

    let err = v.err(&["import", "-"], Some(b"OK=1\n9LIVES=x\n"));
    assert!(err.starts_with("-:2: invalid secret key `9LIVES`"), "{err}");
    assert!(v.list("development").is_empty());
}

#[test]
fn a_line_that_is_not_an_assignment_stops_the_import() {
    let v = Vault::new();
    let file = v.dir.path().join("broken.env");
    std::fs::write(&file, "# fine\nA=1\nthis line is not valid\nB=2\n").unwrap();
    let err = v.err(&["import", file.to_str().unwrap()], None);
    let name = file.display().to_string();
    assert!(err.starts_with(&name), "names the file: {err}");
    assert!(
        err.contains(":3") || err.contains("line 3"),
        "names line 3: {err}"
    );
    assert!(v.list("development").is_empty(), "nothing may be imported");
}

#[test]
fn an_oversized_value_stops_the_import() {
    let v = Vault::new();
    let text = format!("A=1\nBIG={}\n", "x".repeat(1024 * 1024 + 1));
    let err = v.err(&["import", "-"], Some(text.as_bytes()));
    assert_eq!(
        err,
        "-:2: secret value is too large (1048577 bytes, at most 1 MiB)"
    );
    assert!(v.list("development").is_empty());
}

#[test]
fn import_of_unreadable_or_binary_files_names_them() {
    let v = Vault::new();
    let missing = v.dir.path().join("missing.env");
    let err = v.err(&["import", missing.to_str().unwrap()], None);
    assert!(
        err.starts_with(&format!("{}: ", missing.display())),
        "{err}"
    );
    let binary = v.dir.path().join("binary.env");
    std::fs::write(&binary, b"A=\xff\xfe\n").unwrap();
    let err = v.err(&["import", binary.to_str().unwrap()], None);
    assert_eq!(
        err,
        format!(
            "{}: not a text file (invalid UTF-8 at byte 2)",
            binary.display()
        )
    );
    // An empty file imports nothing, successfully.
    let out = v.ok(&["import", "-"], Some(b""));
    assert_eq!(
        out.stderr,
        "imported 0 new and 0 updated secrets into default/development\n"
    );
}

#[test]
fn existing_keys_are_skipped_unless_overwrite() {
    let v = Vault::new();
    v.ok(&["add", "A", "-d", "keep this note"], Some(b"old a"));
    v.add("B", b"old b");
    let text = b"A=new a\nB=new b\nC=new c\nD=\n";
    let out = v.ok(&["import", "-"], Some(text));
    assert_eq!(
        out.stderr,
        "imported 1 new and 0 updated secrets into default/development\n\
         warning: skipped 2 existing keys (use --overwrite to replace them): A, B\n\
         warning: skipped 1 key with an empty value (a value is required): D\n"
    );
    assert_eq!(
        v.export_json("development"),
        map(&[("A", "old a"), ("B", "old b"), ("C", "new c")])
    );

    let out = v.ok(&["import", "--overwrite", "-"], Some(text));
    assert_eq!(
        out.stderr,
        "imported 0 new and 2 updated secrets into default/development; 1 unchanged (same value)\n\
         warning: skipped 1 key with an empty value (a value is required): D\n"
    );
    assert_eq!(
        v.export_json("development"),
        map(&[("A", "new a"), ("B", "new b"), ("C", "new c")])
    );
    // Overwriting keeps the description.
    let a = v
        .list("development")
        .into_iter()
        .find(|s| s["key"] == "A")
        .unwrap();
    assert_eq!(a["description"], "keep this note");
    // An empty value never clears a stored one.
    let out = v.ok(&["import", "--overwrite", "-"], Some(b"A=\n"));
    assert!(
        out.stderr
            .contains("skipped 1 key with an empty value (a value is required): A"),
        "{}",
        out.stderr
    );
    assert_eq!(v.get("A"), b"new a");
}

#[test]
fn export_json_is_one_object() {
    let v = Vault::new();
    assert_eq!(v.ok(&["export", "--format", "json"], None).text(), "{}\n");
    v.add("B_KEY", b"two");
    v.add("A_KEY", b"o\"ne\n\\");
    let out = v.ok(&["export", "--format", "json"], None);
    assert_eq!(
        out.text(),
        "{\n  \"A_KEY\": \"o\\\"ne\\n\\\\\",\n  \"B_KEY\": \"two\"\n}\n"
    );
    assert_eq!(out.stderr, "");
}

#[test]
fn export_json_matches_get_for_every_value() {
    let v = Vault::new();
    let values: &[(&str, &str)] = &[
        ("PEM", "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"),
        ("SPACES", "  both ends  "),
        ("CONTROL", "tab\there\rcr\u{1b}[0m esc \u{0} nul"),
        ("UNICODE", "😀 ✓ ß"),
        ("QUOTES", "'\"`$#\\"),
    ];
    for (k, val) in values {
        let mut input = val.as_bytes().to_vec();
        input.push(b'\n');
        v.add(k, &input);
    }
    let exported = v.export_json("development");
    assert_eq!(exported.len(), values.len());
    for (k, val) in values {
        assert_eq!(exported[*k], *val, "{k}");
        assert_eq!(v.get(k), val.as_bytes(), "{k}");
    }
}

#[test]
fn export_shell_is_safe_to_eval() {
    let v = Vault::new();
    v.add("SIMPLE", b"value");
    v.add("QUOTE", b"it's");
    assert_eq!(
        v.ok(&["export", "--format", "shell"], None).text(),
        "export QUOTE='it'\\''s'\nexport SIMPLE='value'\n"
    );
    let tricky: &[(&str, &str)] = &[
        ("DOLLAR", "$HOME $(touch /tmp/tresor-pwned) `id` ${X:-y}"),
        ("QUOTES", "'\"'\"'`"),
        ("NEWLINES", "a\nb\n\nc\n"),
        ("BACKSLASH", "C:\\new\\table \\' \\"),
        ("SPACES", "  x  "),
        ("UNICODE", "ü 😀"),
        ("SEMICOLON", "; rm -rf / #"),
        ("CR", "a\rb"),
    ];
    for (k, val) in tricky {
        let mut input = val.as_bytes().to_vec();
        input.push(b'\n');
        v.add(k, &input);
    }
    let file = v.dir.path().join("exports.sh");
    std::fs::write(&file, v.ok(&["export", "--format", "shell"], None).stdout).unwrap();
    for (k, val) in tricky {
        let script = format!(r#"eval "$(cat '{}')"; printf %s "${k}""#, file.display());
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{k}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8(out.stdout).unwrap(), *val, "{k}");
    }
    assert!(!std::path::Path::new("/tmp/tresor-pwned").exists());
}

#[test]
fn export_refuses_values_that_cannot_be_text() {
    let v = Vault::new();
    v.add("FINE", b"ok");
    v.add("BLOB", &[0xff, 0x01, 0xfe]);
    for format in ["dotenv", "json", "shell"] {
        let err = v.err(&["export", "--format", format], None);
        assert_eq!(
            err,
            "secret BLOB is binary (not UTF-8) and cannot be exported as text; read it with `tresor get BLOB`",
            "{format}"
        );
    }
    v.ok(&["rm", "BLOB", "--yes"], None);
    v.add("NUL", b"a\0b");
    assert_eq!(
        v.err(&["export", "--format", "shell"], None),
        "secret NUL contains a NUL byte, which a shell variable cannot hold"
    );
    // JSON can carry a NUL.
    assert_eq!(v.export_json("development")["NUL"], "a\0b");
}

#[test]
fn export_dotenv_round_trips_and_is_what_npm_reads() {
    let v = Vault::new();
    let values: &[(&str, &str)] = &[
        ("PLAIN", "plain"),
        ("SPACES", "  padded  "),
        ("HASH", "a#b # c"),
        ("DOLLAR", "$HOME ${X}"),
        ("PEM", "-----BEGIN KEY-----\nabc\n-----END KEY-----"),
        ("SINGLE", "it's"),
        ("DOUBLE", "say \"hi\""),
        ("BACKTICK", "`cmd`"),
        ("TWO_KINDS", "it's \"x\""),
        ("BACKSLASH_N", "literal \\n stays"),
        ("JSON", "{\"private_key\": \"-----BEGIN\\nX\"}"),
        ("LOOKS_LIKE_A_LINE", "x\nOTHER=injected\n# not a comment"),
        ("EQUALS", "a=b=c"),
        ("UNICODE", "日本 😀"),
        ("LEADING_QUOTE", "'half"),
        ("EXPORT_WORD", "export X=1"),
    ];
    for (k, val) in values {
        let mut input = val.as_bytes().to_vec();
        input.push(b'\n');
        v.ok(
            &["add", k, "-d", &format!("note for {k}\nsecond line")],
            Some(&input),
        );
    }
    let want: BTreeMap<String, String> = values
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let out = v.ok(&["export"], None);
    let text = out.text();
    assert!(
        text.contains("# note for PLAIN\n# second line\n"),
        "descriptions travel as comments:\n{text}"
    );
    assert_eq!(
        npm_dotenv_parse(&text),
        want,
        "npm dotenv reads different values:\n{text}"
    );
    v.ok(&["-e", "staging", "import", "-"], Some(text.as_bytes()));
    assert_eq!(v.export_json("staging"), want);
    // Default format is dotenv.
    assert_eq!(v.ok(&["export", "--format", "dotenv"], None).text(), text);
}

#[test]
fn a_value_with_all_three_quote_kinds_cannot_be_a_dotenv_value() {
    let v = Vault::new();
    v.add("OK", b"fine");
    // All three quote kinds plus a `#`, which an unquoted value cannot hold.
    v.add("ALL_QUOTES", b"it's \"a\" `b`\nand # more");
    let out = v.run(&["export"], None).failure();
    assert!(out.stdout.is_empty(), "nothing partial is written");
    let err = out.error();
    assert!(
        err.contains("ALL_QUOTES") && err.contains("cannot be written as a .env value"),
        "{err}"
    );
    // JSON and shell still carry it.
    assert_eq!(
        v.export_json("development")["ALL_QUOTES"],
        "it's \"a\" `b`\nand # more"
    );
}

/// A value npm dotenv can certainly hold: no backslash (which could pair with a quote or
/// form `\n` inside double quotes), and one quote style that fits: single or backtick
/// quotes when it has no CR (npm turns every CR into LF before parsing) and lacks that
/// quote, or double quotes (CR and LF written as `\r`, `\n`) when it has no `"`.
fn certainly_representable(value: &str) -> bool {
    let has = |c| value.contains(c);
    !has('\\') && ((!has('\r') && (!has('\'') || !has('`'))) || !has('"'))
}

/// A vault seeded in-process (one transaction) so that each case costs little.
fn seeded(values: &[(String, String)]) -> Vault {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.tresor");
    let keyfile = dir.path().join("vault.key");
    let vault = tresor::vault::Vault::create(
        &path,
        tresor::vault::NewCredential::Keyfile(keyfile.clone()),
    )
    .unwrap();
    let entries = values
        .iter()
        .map(|(k, v)| (k.clone(), zeroize::Zeroizing::new(v.as_bytes().to_vec())))
        .collect();
    vault
        .import("default", "development", entries, false)
        .unwrap();
    Vault {
        dir,
        path,
        cred: Cred::Keyfile(keyfile),
    }
}

fn value_strategy() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "'", "\"", "`", "$", "#", "\\", "\n", "\r", "\r\n", " ", "  ", "\t", "=", "a", "Z", "0",
        "é", "✓", "😀", "${X}", "\\n", "\\r", "export ", " # c", "\n#", "\nK=v", "{", "}", "\\'",
        "\\\"", "plain",
    ]);
    prop::collection::vec(atoms, 1..10).prop_map(|parts| parts.concat())
}

const PROP_KEYS: [&str; 6] = [
    "PROP_ALPHA",
    "PROP_BRAVO",
    "PROP_CHARLIE",
    "PROP_DELTA",
    "PROP_ECHO",
    "PROP_FOXTROT",
];

fn dotenv_round_trip(values: Vec<String>) -> Result<(), TestCaseError> {
    let pairs: Vec<(String, String)> = PROP_KEYS
        .iter()
        .map(|k| k.to_string())
        .zip(values)
        .collect();
    let v = seeded(&pairs);
    let mut expected: BTreeMap<String, String> = pairs.into_iter().collect();
    let exported = loop {
        let out = v.run(&["export"], None);
        if out.code == 0 {
            break out.text();
        }
        let err = out.failure().error();
        prop_assert!(
            err.contains("cannot be written as a .env value"),
            "unexpected error: {}",
            err
        );
        let key = expected
            .keys()
            .find(|k| err.contains(k.as_str()))
            .cloned()
            .unwrap_or_else(|| panic!("the error names no key: {err}"));
        let value = &expected[&key];
        prop_assert!(
            !certainly_representable(value),
            "export refused a value npm dotenv can hold: {:?} ({})",
            value,
            err
        );
        v.ok(&["rm", &key, "--yes"], None);
        expected.remove(&key);
    };
    prop_assert_eq!(
        &npm_dotenv_parse(&exported),
        &expected,
        "npm dotenv would read:\n{}",
        exported
    );
    v.ok(&["-e", "staging", "import", "-"], Some(exported.as_bytes()));
    prop_assert_eq!(
        &v.export_json("staging"),
        &expected,
        "after import of:\n{}",
        exported
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn dotenv_export_import_export_keeps_every_value(values in prop::collection::vec(value_strategy(), 1..=6)) {
        dotenv_round_trip(values)?;
    }
}

/// Rotation age: an overwrite with the same bytes is not a new value. The report counts it
/// as unchanged and its "value changed" date stays.
#[test]
fn an_unchanged_import_keeps_each_values_age() {
    let v = Vault::new();
    let text = b"A=alpha\nB=bravo\n";
    v.ok(&["import", "-"], Some(text));
    let before = v.list("development");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = v.ok(&["import", "--overwrite", "-"], Some(text));
    assert_eq!(
        out.stderr,
        "imported 0 new and 0 updated secrets into default/development; 2 unchanged (same value)\n"
    );
    assert_eq!(v.list("development"), before, "no date moved");
    // One real change moves only that value's date.
    v.ok(
        &["import", "--overwrite", "-"],
        Some(b"A=alpha\nB=bravo 2\n"),
    );
    let after = v.list("development");
    assert_eq!(after[0], before[0]);
    assert_ne!(after[1]["value_changed"], before[1]["value_changed"]);
}

/// Values a POSIX shell and npm dotenv can both read from one `KEY=…` line.
const SHELL_SAFE_VALUES: &[(&str, &str)] = &[
    ("APP_NAME", "My App"),
    ("PLAIN", "plain-word_1.2"),
    ("URL", "postgres://user:pw@host:5432/db?sslmode=require"),
    ("DOLLAR", "$HOME ${X} $(id)"),
    ("BACKTICK", "`id`"),
    ("SEMICOLON", "a; echo pwned"),
    ("AMPERSAND", "a && b | c > d < e"),
    ("GLOB", "* ? [a]"),
    ("TILDE", "~/x:~/y"),
    ("HASH", "a#b # c"),
    ("DOUBLE", "say \"hi\""),
    ("SINGLE", "it's"),
    ("BACKSLASH", "C:\\dir\\n"),
    ("SPACES", "  padded  "),
    ("TAB", "a\tb"),
    ("EQUALS", "a=b=c"),
    ("PEM", "-----BEGIN KEY-----\nabc\n-----END KEY-----"),
    ("MULTI_SINGLE", "it's\nmulti"),
    ("LOOKS_LIKE_A_LINE", "x\nOTHER=injected\n# not a comment"),
    ("UNICODE", "日本 😀 é"),
    ("EXCLAMATION", "hello!world"),
    ("BRACES", "{a,b}"),
];

fn added(values: &[(&str, &str)]) -> Vault {
    let v = Vault::new();
    for (k, val) in values {
        v.add(k, val.as_bytes());
    }
    v
}

/// What `sh` reads for `key` after `set -a; . FILE`.
fn shell_reads(file: &std::path::Path, key: &str) -> Vec<u8> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("set -a; . \"$1\" || exit 9; printf %s \"${key}\""))
        .arg("sh")
        .arg(file)
        .current_dir(file.parent().unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sh failed on {key}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn export_dotenv_is_what_a_posix_shell_reads() {
    let v = added(SHELL_SAFE_VALUES);
    let out = v.ok(&["export"], None);
    assert!(out.stderr.is_empty(), "no warning: {}", out.stderr);
    let file = v.dir.path().join("out.env");
    std::fs::write(&file, &out.stdout).unwrap();
    // A value with a space is quoted: sourcing never runs `App`.
    assert!(out.text().contains("APP_NAME='My App'\n"), "{}", out.text());
    assert!(
        out.text().contains("PLAIN=plain-word_1.2\n"),
        "{}",
        out.text()
    );
    for (k, val) in SHELL_SAFE_VALUES {
        assert_eq!(
            String::from_utf8_lossy(&shell_reads(&file, k)),
            *val,
            "{k} in:\n{}",
            out.text()
        );
    }
    let want: BTreeMap<String, String> = SHELL_SAFE_VALUES
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(npm_dotenv_parse(&out.text()), want);
    v.ok(&["-e", "staging", "import", "-"], Some(&out.stdout));
    assert_eq!(v.export_json("staging"), want);
}

#[test]
fn export_dotenv_warns_about_values_only_npm_dotenv_reads() {
    // A `'` with a `$` or a `"` has no form that a shell and npm dotenv both read.
    let v = added(&[
        ("MIXED", "it's $HOME"),
        ("BOTH_QUOTES", "it's \"x\""),
        ("FINE", "it's fine"),
    ]);
    let out = v.ok(&["export"], None);
    assert_eq!(
        out.stderr,
        "warning: 2 values hold a `'` and one of $ ` \\ \", written as only npm dotenv and `tresor import` read them; a shell sourcing this file reads other values and may run part of them as commands (use --format shell for a shell): BOTH_QUOTES, MIXED\n"
    );
    v.ok(&["-e", "staging", "import", "-"], Some(&out.stdout));
    let got = v.export_json("staging");
    assert_eq!(got["MIXED"], "it's $HOME");
    assert_eq!(got["BOTH_QUOTES"], "it's \"x\"");
    assert_eq!(got["FINE"], "it's fine");
}

#[test]
fn export_docker_writes_values_literally() {
    let values: &[(&str, &str)] = &[
        ("APP_NAME", "My App"),
        ("QUOTES", "it's \"x\""),
        ("DOLLAR", "$HOME `id` # not a comment"),
        ("SPACES", "  padded  "),
        ("UNICODE", "日本 😀"),
    ];
    let v = added(values);
    v.ok(&["edit", "APP_NAME", "-d", "the app's name"], None);
    let out = v.ok(&["export", "--format", "docker"], None);
    assert_eq!(
        out.text(),
        "# the app's name\nAPP_NAME=My App\nDOLLAR=$HOME `id` # not a comment\nQUOTES=it's \"x\"\nSPACES=  padded  \nUNICODE=日本 😀\n"
    );
}

#[test]
fn export_docker_refuses_values_it_cannot_hold() {
    for (value, why) in [
        ("a\nb", "line break"),
        ("a\rb", "carriage return"),
        ("a\0b", "NUL"),
        ("'quoted'", "quote"),
        ("\"quoted\"", "quote"),
    ] {
        let v = added(&[("OK", "fine"), ("BAD_ONE", value)]);
        let out = v.run(&["export", "--format", "docker"], None).failure();
        assert!(out.stdout.is_empty(), "nothing partial is written");
        let err = out.error();
        assert!(
            err.contains("BAD_ONE") && err.contains(why),
            "{value:?}: {err}"
        );
    }
    let long = "x".repeat(70_000);
    let v = added(&[("LONG", &long)]);
    let err = v
        .run(&["export", "--format", "docker"], None)
        .failure()
        .error();
    assert!(err.contains("LONG") && err.contains("64 KiB"), "{err}");
}
