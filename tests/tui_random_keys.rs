//! The Secrets screen driven by long random key sequences through the real key table,
//! on a real vault: thousands of steps across every screen and dialog (table, filter,
//! add/edit forms, delete dialog, help, project picker, unlock after auto-lock, pastes,
//! tiny terminals). After every step: no panic, the selection is in range, and no stored
//! value appears in the drawn buffer.

use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use zeroize::Zeroizing;

use tresor::tui::action::Action;
use tresor::tui::app::App;
use tresor::tui::ui;
use tresor::vault::{NewCredential, NewSecret, Vault};

/// Values that must never be drawn. Random typing cannot produce them.
const STORED: [(&str, &str); 4] = [
    ("DATABASE_URL", "postgres://app:CANARY-db-9f3e@db/app"),
    ("STRIPE_API_KEY", "sk_live_CANARY-stripe-77a1"),
    (
        "TLS_KEY",
        "-----BEGIN PRIVATE KEY-----\nCANARY-pem-0c4d\n-----END PRIVATE KEY-----",
    ),
    ("WIDE_KEY", "CANARY-wide-5b2e"),
];

#[derive(Debug, Clone)]
enum Step {
    Key(KeyCode, KeyModifiers),
    Paste(String),
    Lock,
    Resize(u16, u16),
}

fn step() -> impl Strategy<Value = Step> {
    let none = KeyModifiers::NONE;
    let ctrl = KeyModifiers::CONTROL;
    let keys = prop::sample::select(vec![
        (KeyCode::Char('a'), none),
        (KeyCode::Char('e'), none),
        (KeyCode::Char('d'), none),
        (KeyCode::Char('y'), none),
        (KeyCode::Char('n'), none),
        (KeyCode::Char('/'), none),
        (KeyCode::Char('j'), none),
        (KeyCode::Char('k'), none),
        (KeyCode::Char('g'), none),
        (KeyCode::Char('G'), KeyModifiers::SHIFT),
        (KeyCode::Char('s'), none),
        (KeyCode::Char('p'), none),
        (KeyCode::Char('r'), none),
        (KeyCode::Char('?'), none),
        (KeyCode::Char('A'), KeyModifiers::SHIFT),
        (KeyCode::Char('_'), none),
        (KeyCode::Char('7'), none),
        (KeyCode::Char('-'), none),
        (KeyCode::Char('é'), none),
        (KeyCode::Char('界'), none),
        (KeyCode::Char('g'), ctrl),
        (KeyCode::Char('r'), ctrl),
        (KeyCode::Char('k'), ctrl),
        (KeyCode::Char('m'), ctrl),
        (KeyCode::Char('j'), ctrl),
        (KeyCode::Char('u'), ctrl),
        (KeyCode::Enter, none),
        (KeyCode::Esc, none),
        (KeyCode::Tab, none),
        (KeyCode::BackTab, KeyModifiers::SHIFT),
        (KeyCode::Up, none),
        (KeyCode::Down, none),
        (KeyCode::Left, none),
        (KeyCode::Right, none),
        (KeyCode::Home, none),
        (KeyCode::End, none),
        (KeyCode::PageUp, none),
        (KeyCode::PageDown, none),
        (KeyCode::Backspace, none),
        (KeyCode::Delete, none),
    ]);
    prop_oneof![
        40 => keys.prop_map(|(c, m)| Step::Key(c, m)),
        2 => prop::sample::select(vec![
            "line one\r\nline two\rline three\n".to_string(),
            "NEW_KEY".to_string(),
            "\u{1b}[2J control \u{7} chars".to_string(),
            "é界🔑 wide".to_string(),
        ])
        .prop_map(Step::Paste),
        1 => Just(Step::Lock),
        1 => (20u16..130, 5u16..45).prop_map(|(w, h)| Step::Resize(w, h)),
    ]
}

fn vault(dir: &std::path::Path) -> Vault {
    let vault = Vault::create(&dir.join("v.tresor"), NewCredential::Keyfile(dir.join("k")))
        .expect("create vault");
    for env in ["development", "production"] {
        for (key, value) in STORED {
            vault
                .add(
                    "default",
                    env,
                    NewSecret {
                        key: key.into(),
                        value: Zeroizing::new(value.as_bytes().to_vec()),
                        description: format!("{key} in {env}: 鍵の説明 🔑"),
                        kind: None,
                    },
                )
                .expect("add");
        }
    }
    vault
}

fn check(app: &App, terminal: &Terminal<TestBackend>, step: usize) {
    assert!(
        app.visible.is_empty() && app.selected == 0 || app.selected < app.visible.len(),
        "step {step}: selection {} out of {} visible rows",
        app.selected,
        app.visible.len()
    );
    assert!(
        app.visible.iter().all(|&i| i < app.rows.len()),
        "step {step}: a visible index past the rows"
    );
    let screen = terminal.backend().to_string();
    for (_, value) in STORED {
        for line in value.lines() {
            if line.contains("CANARY") {
                assert!(
                    !screen.contains(line),
                    "step {step}: a stored value is on screen:\n{screen}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_keys_never_panic_lose_the_selection_or_show_a_value(
        steps in prop::collection::vec(step(), 300..700)
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut app = App::unlocked(vault(dir.path()), "default", "development");
        app.keyfile = Some(dir.path().join("k"));
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        app.update(Action::Resize {
            width: 80,
            height: 24,
        });
        for (i, step) in steps.into_iter().enumerate() {
            match step {
                // Quitting would end the run early; every other key goes through the table.
                Step::Key(KeyCode::Char('q'), _) => {}
                Step::Key(code, mods) => app.handle_key(KeyEvent::new(code, mods)),
                Step::Paste(text) => app.update(Action::Paste(text.into())),
                Step::Lock => app.update(Action::Tick(
                    std::time::Instant::now() + std::time::Duration::from_secs(86_400),
                )),
                Step::Resize(w, h) => {
                    terminal.backend_mut().resize(w, h);
                    app.update(Action::Resize {
                        width: w,
                        height: h,
                    });
                }
            }
            terminal.draw(|f| ui::render(&mut app, f)).expect("draw");
            check(&app, &terminal, i);
            if app.should_quit {
                break;
            }
        }
    }
}
