//! Exit codes, the same for every command (docs/cli.md; listed in
//! `authlake --help`). Declared once here; `main` maps every error to one.

/// What a command's exit status says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It did its job (dead letters are data, not failures).
    Done = 0,
    /// It could not do its job (I/O, AWS, broker, a query error).
    Failed = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// It did its job on a damaged input (a truncated `.gz`: every whole
    /// record before the cut committed, the tail dead-lettered).
    DamagedInput = 3,
    /// A check it ran failed (`export verify`, `config check`).
    CheckFailed = 4,
}

impl Exit {
    pub const ALL: [Exit; 5] = [Exit::Done, Exit::Failed, Exit::Usage, Exit::DamagedInput, Exit::CheckFailed];

    /// One line for `--help`.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Done => "it did its job (dead letters are data, not failures)",
            Exit::Failed => "it could not do its job (I/O, AWS, broker, a query error)",
            Exit::Usage => "usage or configuration error",
            Exit::DamagedInput => "it did its job on a damaged input (e.g. a truncated .gz)",
            Exit::CheckFailed => "a check it ran failed (export verify, config check)",
        }
    }

    /// The exit codes as `--help` lists them.
    pub fn help() -> String {
        let mut out = String::from("Exit codes:\n");
        for e in Exit::ALL {
            out.push_str(&format!("  {}  {}\n", e as i32, e.meaning()));
        }
        out
    }
}

/// `cmd` with the exit codes at the end of its `--help` and of every
/// subcommand's.
pub fn with_help(cmd: clap::Command) -> clap::Command {
    cmd.after_help(Exit::help()).mut_subcommands(with_help)
}

/// An error that says which exit code it ends the process with; any other
/// error exits with [`Exit::Failed`].
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Coded {
    pub exit: Exit,
    message: String,
}

/// `err` ending the process with `exit`.
pub fn coded(exit: Exit, err: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(Coded { exit, message: format!("{err:#}") })
}

/// Marks an error result with its exit code.
pub trait ExitContext<T> {
    fn exit_code(self, exit: Exit) -> anyhow::Result<T>;
}

impl<T, E: std::fmt::Display> ExitContext<T> for Result<T, E> {
    fn exit_code(self, exit: Exit) -> anyhow::Result<T> {
        self.map_err(|e| coded(exit, e))
    }
}

/// The exit code of a command's error: its own where it says one.
pub fn of(err: &anyhow::Error) -> Exit {
    err.chain().find_map(|e| e.downcast_ref::<Coded>()).map_or(Exit::Failed, |c| c.exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coded_errors_keep_their_code_through_context() {
        use anyhow::Context;
        let err = Err::<(), _>("bad date").exit_code(Exit::Usage).context("metrics").unwrap_err();
        assert_eq!(of(&err), Exit::Usage);
        assert_eq!(of(&anyhow::anyhow!("disk full")), Exit::Failed);
        assert!(Exit::help().contains("4  a check it ran failed"));
    }
}
