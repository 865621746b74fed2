//! `tresor`: with a subcommand, the headless CLI; without one, the Secrets screen.

use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};

use tresor::cli::{self, Cli, unlock};
use tresor::tui::{self, TuiOptions};
use tresor::vault;

fn main() -> ExitCode {
    harden_process();
    quiet_storage_panics();
    // A shell asking for completions (`COMPLETE=bash tresor -- …`) is answered here.
    cli::complete::answer_shell();
    let matches = Cli::command().get_matches();
    let cli =
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut Cli::command()).exit());
    let status = match cli.command {
        Some(command) => cli::run(cli.global, command),
        None => {
            // A project or environment from -p/-e or TRESOR_PROJECT/TRESOR_ENV wins over
            // the place the TUI remembers.
            let chosen = ["project", "env"].iter().any(|id| {
                matches
                    .value_source(id)
                    .is_some_and(|s| s != clap::parser::ValueSource::DefaultValue)
            });
            run_tui(cli.global, chosen)
        }
    };
    ExitCode::from(u8::try_from(status).unwrap_or(1))
}

fn run_tui(global: cli::Global, place_chosen: bool) -> i32 {
    use std::io::IsTerminal;
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        eprintln!(
            "error: the Secrets screen needs a terminal; without one use the commands (see `tresor --help`)"
        );
        return 1;
    }
    let vault_path = match vault::resolve_path(global.vault.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let auto_lock = std::env::var("TRESOR_AUTO_LOCK")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(Duration::from_secs(300), Duration::from_secs);
    let options = TuiOptions {
        vault_path: vault_path.clone(),
        project: global.project.clone(),
        env: global.env.clone(),
        place_chosen,
        // A credential given for this run, else the agent's key: straight to the table.
        credential: unlock::preset_credential(&global)
            .or_else(|| unlock::agent_credential(&vault_path)),
        auto_lock,
    };
    if let Err(e) = color_eyre::install() {
        eprintln!("error: {e}");
        return 1;
    }
    match tui::run(options) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// No core dumps (they would hold decrypted values), and no ptrace by the same user.
/// Never `mlockall`: the 64 MiB Argon2 allocation would then abort.
fn harden_process() {
    // SAFETY: plain syscalls with constant, valid arguments.
    unsafe {
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &none);
    }
}

/// A panic inside redb on a damaged file is caught and reported as "vault file is
/// damaged"; the default hook would still print a scary backtrace notice first.
fn quiet_storage_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !vault::store::in_storage() {
            previous(info);
        }
    }));
}
