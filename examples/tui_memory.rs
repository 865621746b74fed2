//! The Secrets screen at 100,000 secrets, measured end to end on a real vault: the time
//! from unlock to the first frame, one filter keystroke, and the process's peak memory
//! (the target: under 100 MB).
//!
//! Run: `cargo run --release --example tui_memory [SECRETS]`

use std::time::Instant;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::Input;
use zeroize::Zeroizing;

use tresor::tui::action::Action;
use tresor::tui::app::App;
use tresor::tui::ui;
use tresor::vault::{Credential, NewCredential, Vault};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--open") {
        return open(&args[2], &args[3]);
    }
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("vault.tresor");
    let keyfile = dir.path().join("key");
    let vault = Vault::create(&path, NewCredential::Keyfile(keyfile.clone()))?;
    let entries = (0..n)
        .map(|i| {
            (
                format!("SERVICE_{i:06}_API_KEY"),
                Zeroizing::new(format!("sk_live_{i:06}_{}", "x".repeat(24)).into_bytes()),
            )
        })
        .collect();
    vault.import("default", "development", entries, false)?;
    drop(vault);
    let size = std::fs::metadata(&path)?.len() as f64 / 1048576.0;
    println!("vault with {n} secrets: {size:.1} MiB on disk");
    // A fresh process, so the peak memory is the app's alone, not the import's.
    let status = std::process::Command::new(&args[0])
        .args(["--open".as_ref(), path.as_os_str(), keyfile.as_os_str()])
        .status()?;
    if !status.success() {
        return Err("the measuring process failed".into());
    }
    Ok(())
}

fn open(path: &str, keyfile: &str) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let vault = Vault::unlock(path.as_ref(), &Credential::Keyfile(keyfile.into()))?;
    let mut app = App::unlocked(vault, "default", "development");
    let mut terminal = Terminal::new(TestBackend::new(120, 40))?;
    terminal.draw(|f| ui::render(&mut app, f))?;
    let first = start.elapsed().as_secs_f64() * 1e3;
    println!("unlock (keyfile) to first frame: {first:.1} ms");

    app.update(Action::OpenFilter);
    let start = Instant::now();
    let nine = KeyEvent::new(KeyCode::Char('9'), KeyModifiers::NONE);
    app.update(Action::Input(Input::from(nine)));
    terminal.draw(|f| ui::render(&mut app, f))?;
    let filter = start.elapsed().as_secs_f64() * 1e3;
    println!("one filter keystroke + frame: {filter:.1} ms");
    println!("peak memory of the app process: {:.1} MiB", peak_rss_mib());
    Ok(())
}
