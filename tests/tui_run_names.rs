//! The add form warns, while the key is typed, when `tresor run` would refuse to pass
//! the key to a command (a name that makes programs load or run code).

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use tresor::tui::app::{App, Mode};
use tresor::vault::{NewCredential, Vault};

fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn warning(app: &App) -> Option<String> {
    match &app.mode {
        Mode::Form(f) => f.key_warning.clone(),
        _ => panic!("no form open"),
    }
}

#[test]
fn the_add_form_warns_about_a_name_run_refuses() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let vault = Vault::create(
        &tmp.path().join("v.tresor"),
        NewCredential::Keyfile(tmp.path().join("k")),
    )
    .expect("create vault");
    let mut app = App::unlocked(vault, "default", "development");
    press(&mut app, KeyCode::Char('a'));
    for c in "LD_PRELOAD".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    assert_eq!(
        warning(&app).as_deref(),
        Some("`tresor run` refuses LD_PRELOAD without --allow-name LD_PRELOAD (it can load code)")
    );
    // LD_PRELOADX is still a loader variable; DATABASE_URL is not.
    for _ in 0.."LD_PRELOAD".len() {
        press(&mut app, KeyCode::Backspace);
    }
    for c in "DATABASE_URL".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    assert_eq!(warning(&app), None);
}
