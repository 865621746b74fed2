//! The folder layout is the architecture: these checks fail when a file crosses a line
//! that ARCHITECTURE.md draws.

use std::path::Path;

/// Every `.rs` file under a folder, with its text.
fn sources(dir: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), text));
            }
        }
    }
    assert!(!out.is_empty(), "no sources under {dir}");
    out
}

#[test]
fn the_vault_knows_nothing_of_terminals_or_the_ui() {
    for (file, text) in sources("src/vault") {
        for banned in ["ratatui", "crossterm", "clap", "crate::cli", "crate::tui"] {
            assert!(!text.contains(banned), "{file} uses {banned}");
        }
    }
}

#[test]
fn the_agent_knows_nothing_of_terminals_the_screen_or_the_commands() {
    for (file, text) in sources("src/agent") {
        for banned in ["ratatui", "crossterm", "clap", "crate::cli", "crate::tui"] {
            assert!(!text.contains(banned), "{file} uses {banned}");
        }
    }
}

#[test]
fn the_commands_and_the_screen_never_touch_a_table() {
    for dir in ["src/cli", "src/tui"] {
        for (file, text) in sources(dir) {
            for banned in ["redb::", "vault::storage", "vault::store::open"] {
                assert!(!text.contains(banned), "{file} uses {banned}");
            }
        }
    }
}

#[test]
fn no_comment_points_outside_the_repository() {
    for dir in ["src", "tests", "benches", "examples"] {
        for (file, text) in sources(dir) {
            if file.ends_with("architecture.rs") {
                continue;
            }
            for banned in ["DESIGN.md", "research T-", "issue #", "shared/research"] {
                assert!(!text.contains(banned), "{file} mentions {banned}");
            }
        }
    }
}
