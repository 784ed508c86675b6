//! Parsers for NUT's configuration files (nut-reference.md §5): ups.conf, upsd.conf,
//! upsd.users, upsmon.conf, upssched.conf and nut.conf.
//!
//! Every parser takes the file name (used only in diagnostics) and the raw bytes, and
//! returns a [`Parsed`] value: the configuration built from every line that made sense,
//! plus a list of [`Diagnostic`]s for the lines that did not. Parsing never stops at
//! the first problem and never panics. All files except nut.conf are split into words
//! by [`crate::tokenizer`], exactly as NUT does.

use std::fmt;

use crate::tokenizer::{tokenize, Line};

pub mod nut_conf;
pub mod ups_conf;
pub mod upsd_conf;
pub mod upsd_users;
pub mod upsmon_conf;
pub mod upssched_conf;

pub use nut_conf::*;
pub use ups_conf::*;
pub use upsd_conf::*;
pub use upsd_users::*;
pub use upsmon_conf::*;
pub use upssched_conf::*;

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// NUT would reject the line (or refuse to start); the line was not used.
    Error,
    /// NUT accepts or silently ignores the line, but it is probably a mistake.
    Warning,
}

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name given to the parser.
    pub file: String,
    /// 1-based line number (0 for whole-file checks).
    pub line: usize,
    /// 1-based column (0 for whole-file checks).
    pub column: usize,
    /// The directive concerned (usually the first word of the line); may be empty.
    pub directive: String,
    /// Error or warning.
    pub severity: Severity,
    /// A message meant for a system administrator.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {}: ",
            self.file, self.line, self.column, severity
        )?;
        if !self.directive.is_empty() {
            write!(f, "{}: ", self.directive)?;
        }
        f.write_str(&self.message)
    }
}

/// A parsed configuration together with the problems found while parsing it.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    /// The configuration built from the usable lines.
    pub value: T,
    /// Every problem found, in file order (whole-file checks last).
    pub diagnostics: Vec<Diagnostic>,
}

impl<T> Parsed<T> {
    /// True when at least one diagnostic is an [`Severity::Error`].
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// The diagnostics of severity [`Severity::Error`].
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

/// Collects diagnostics for one file.
pub(crate) struct Diags {
    file: String,
    pub(crate) list: Vec<Diagnostic>,
}

impl Diags {
    pub(crate) fn new(file: &str) -> Self {
        Diags {
            file: file.to_string(),
            list: Vec::new(),
        }
    }

    pub(crate) fn push(
        &mut self,
        line: usize,
        column: usize,
        directive: &str,
        severity: Severity,
        message: impl Into<String>,
    ) {
        self.list.push(Diagnostic {
            file: self.file.clone(),
            line,
            column,
            directive: directive.to_string(),
            severity,
            message: message.into(),
        });
    }

    pub(crate) fn error(&mut self, line: &Line, directive: &str, message: impl Into<String>) {
        self.push(
            line.line_no,
            line.column,
            directive,
            Severity::Error,
            message,
        );
    }

    pub(crate) fn warning(&mut self, line: &Line, directive: &str, message: impl Into<String>) {
        self.push(
            line.line_no,
            line.column,
            directive,
            Severity::Warning,
            message,
        );
    }

    pub(crate) fn finish<T>(self, value: T) -> Parsed<T> {
        Parsed {
            value,
            diagnostics: self.list,
        }
    }
}

/// Tokenizes `text`, reports lines the tokenizer rejected and drops empty lines.
pub(crate) fn usable_lines(text: &[u8], diags: &mut Diags) -> Vec<Line> {
    let mut out = Vec::new();
    for line in tokenize(text) {
        if let Some(err) = line.error {
            let directive = line.words.first().cloned().unwrap_or_default();
            diags.error(&line, &directive, format!("{err}; line ignored"));
            continue;
        }
        if line.words.is_empty() {
            continue;
        }
        out.push(line);
    }
    out
}

/// Parses a whole non-negative number (digits only).
pub(crate) fn parse_unsigned(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses a whole number, optionally negative.
pub(crate) fn parse_signed(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    parse_unsigned(digits)?;
    text.parse().ok()
}

/// NUT's boolean words: true/on/yes/1, false/off/no/0 (case-insensitive); a leading
/// digit is read as a number, non-zero meaning true.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "true" | "on" | "yes" => return Some(true),
        "false" | "off" | "no" => return Some(false),
        _ => {}
    }
    if text.as_bytes().first()?.is_ascii_digit() {
        let digits: String = text.chars().take_while(|c| c.is_ascii_digit()).collect();
        return Some(digits.bytes().any(|b| b != b'0'));
    }
    None
}

/// Reports a number that did not parse.
pub(crate) fn bad_number(diags: &mut Diags, line: &Line, directive: &str, what: &str, got: &str) {
    diags.error(line, directive, format!("expected {what}, got {got:?}"));
}

/// Warns about words after the ones a directive uses.
pub(crate) fn warn_extra(diags: &mut Diags, line: &Line, directive: &str, used: usize) {
    if line.words.len() > used {
        diags.warning(
            line,
            directive,
            format!(
                "{} extra word(s) ignored, starting at {:?} (quote values that contain spaces)",
                line.words.len() - used,
                line.words[used]
            ),
        );
    }
}

/// Strips the brackets of a `[name]` section header; `None` when the word is not a
/// well-formed header.
pub(crate) fn section_name(word: &str) -> Option<&str> {
    word.strip_prefix('[')?.strip_suffix(']')
}
