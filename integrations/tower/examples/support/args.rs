//! The examples' command lines: `--flag` and `--name VALUE` arguments, and
//! what a bad one prints.

use std::fmt::Display;
use std::process::ExitCode;
use std::str::FromStr;

/// Why a command line gives no options.
pub(crate) enum ArgError {
    /// `-h` or `--help`: the usage, and success.
    Help,
    /// A bad command line: this message, the usage, and exit code 2.
    Bad(String),
}

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
    pub(crate) fn value(&mut self, name: &str) -> Result<String, ArgError> {
        self.0
            .next()
            .ok_or_else(|| ArgError::Bad(format!("{name} needs a value")))
    }

    /// The value after option `name`, parsed.
    pub(crate) fn parsed<T>(&mut self, name: &str) -> Result<T, ArgError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.value(name)?
            .parse()
            .map_err(|e| ArgError::Bad(format!("{name}: {e}")))
    }
}

/// The answer to an argument the program does not know: [`ArgError::Help`]
/// for `-h`/`--help`, an error otherwise.
pub(crate) fn unknown<T>(arg: &str) -> Result<T, ArgError> {
    match arg {
        "-h" | "--help" => Err(ArgError::Help),
        other => Err(ArgError::Bad(format!("unknown argument {other:?}"))),
    }
}

/// The options `parse` reads; or the exit code to end with: success after
/// printing `usage` for `--help`, 2 (a bad command line) after printing
/// the error and `usage` to standard error.
pub(crate) fn options_or_usage<T>(
    program: &str,
    usage: &str,
    parse: impl FnOnce() -> Result<T, ArgError>,
) -> Result<T, ExitCode> {
    parse().map_err(|e| match e {
        ArgError::Help => {
            println!("{usage}");
            ExitCode::SUCCESS
        }
        ArgError::Bad(message) => {
            eprintln!("{program}: {message}");
            eprintln!("{usage}");
            ExitCode::from(2)
        }
    })
}
