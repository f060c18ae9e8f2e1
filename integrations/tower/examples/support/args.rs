//! The examples' command lines: `--flag` and `--name VALUE` arguments, and
//! what a bad one prints.

use std::fmt::Display;
use std::process::ExitCode;
use std::str::FromStr;

/// The arguments after the program's name, one at a time.
pub(crate) struct Args(std::iter::Skip<std::env::Args>);

impl Args {
    /// This process's arguments.
    pub(crate) fn new() -> Self {
        Self(std::env::args().skip(1))
    }

    /// The next argument: a flag or an option's name.
    pub(crate) fn next_flag(&mut self) -> Option<String> {
        self.0.next()
    }

    /// The value after option `name`.
    pub(crate) fn value(&mut self, name: &str) -> Result<String, String> {
        self.0.next().ok_or_else(|| format!("{name} needs a value"))
    }

    /// The value after option `name`, parsed.
    pub(crate) fn parsed<T>(&mut self, name: &str) -> Result<T, String>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.value(name)?
            .parse()
            .map_err(|e| format!("{name}: {e}"))
    }
}

/// The error for an argument the program does not know, or `Err("")` for
/// `-h`/`--help` (usage alone).
pub(crate) fn unknown<T>(arg: &str) -> Result<T, String> {
    match arg {
        "-h" | "--help" => Err(String::new()),
        other => Err(format!("unknown argument {other:?}")),
    }
}

/// The options `parse` reads; or the exit code to end with: success after
/// printing `usage` for `--help`, 2 (a bad command line) after printing
/// the error and `usage` to standard error.
pub(crate) fn options_or_usage<T>(
    program: &str,
    usage: &str,
    parse: impl FnOnce() -> Result<T, String>,
) -> Result<T, ExitCode> {
    parse().map_err(|e| {
        if e.is_empty() {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        eprintln!("{program}: {e}");
        eprintln!("{usage}");
        ExitCode::from(2)
    })
}
