//! nut.conf: which NUT parts the init scripts start (nut-reference.md §5.7).
//!
//! Unlike the other files this one is shell syntax, sourced by init scripts: one
//! `KEY=value` per line, no spaces around `=`, values optionally in `'...'` or `"..."`,
//! `#` comments. Only single-line assignments are understood.

use super::{Diags, Parsed, Severity};

/// `MODE`: which daemons to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NutMode {
    /// Start nothing (the default).
    #[default]
    None,
    /// Driver, upsd and upsmon, local only.
    Standalone,
    /// Like standalone, with upsd listening for network clients.
    Netserver,
    /// upsmon only.
    Netclient,
}

/// The whole of nut.conf.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NutConf {
    /// `MODE` (default none).
    pub mode: NutMode,
    /// Every assignment in file order, MODE included, values unquoted.
    pub vars: Vec<(String, String)>,
}

fn is_name(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads a shell word from `text`; returns the value and the unread rest.
fn shell_value(text: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            ' ' | '\t' => return Ok((value, &text[i..])),
            '\'' => {
                chars.next();
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, c)) => value.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                chars.next();
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, c @ ('"' | '\\' | '$' | '`'))) => value.push(c),
                            Some((_, c)) => {
                                value.push('\\');
                                value.push(c);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some((_, c)) => value.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                chars.next();
                if let Some((_, c)) = chars.next() {
                    value.push(c);
                }
            }
            _ => {
                value.push(c);
                chars.next();
            }
        }
    }
    Ok((value, ""))
}

/// Parses nut.conf; `file` is used only in diagnostics.
pub fn parse_nut_conf(file: &str, text: &[u8]) -> Parsed<NutConf> {
    let mut diags = Diags::new(file);
    let mut conf = NutConf::default();
    let text = String::from_utf8_lossy(text);

    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let trimmed = raw.trim_start();
        let column = raw.len() - trimmed.len() + 1;
        let trimmed = trimmed.trim_end();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut error = |directive: &str, message: String| {
            diags.push(line_no, column, directive, Severity::Error, message)
        };
        let body = trimmed
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(trimmed);
        let Some((key, rest)) = body.split_once('=') else {
            let word = body.split_whitespace().next().unwrap_or_default();
            error(word, "expected KEY=value; line ignored".to_string());
            continue;
        };
        let name = key.trim_end();
        if name != key || rest.starts_with([' ', '\t']) {
            error(
                name,
                "no spaces around '=' in shell syntax (write KEY=value); line ignored".to_string(),
            );
            continue;
        }
        if !is_name(name) {
            error(
                name,
                format!("{name:?} is not a valid variable name; line ignored"),
            );
            continue;
        }
        let (value, after) = match shell_value(rest) {
            Ok(parsed) => parsed,
            Err(message) => {
                error(name, format!("{message}; line ignored"));
                continue;
            }
        };
        let after = after.trim_start();
        if !after.is_empty() && !after.starts_with('#') {
            error(
                name,
                format!("unexpected text {after:?} after the value (quote values with spaces); line ignored"),
            );
            continue;
        }
        if name == "MODE" {
            conf.mode = match value.as_str() {
                "none" => NutMode::None,
                "standalone" => NutMode::Standalone,
                "netserver" => NutMode::Netserver,
                "netclient" => NutMode::Netclient,
                other => {
                    error(
                        name,
                        format!("unknown MODE {other:?}; expected none, standalone, netserver or netclient"),
                    );
                    continue;
                }
            };
        }
        conf.vars.push((name.to_string(), value));
    }
    diags.finish(conf)
}
