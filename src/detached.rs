//! Starting tresor itself as a helper process that outlives the command: the agent and
//! the clipboard's clearer. One place for the `unsafe` session detach.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// A command that runs this tresor binary in a session of its own (so closing the
/// terminal or the shell's job does not end it), without the passphrases this process
/// may have in its environment: a helper never needs them.
pub fn tresor_command() -> io::Result<Command> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .env_remove("TRESOR_PASSPHRASE")
        .env_remove("TRESOR_NEW_PASSPHRASE");
    // SAFETY: setsid is async-signal-safe and touches no memory of this process.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    Ok(command)
}
