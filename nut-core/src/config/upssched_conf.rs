//! upssched.conf: timers and commands driven by upsmon notifications
//! (nut-reference.md §4).
//!
//! `CMDSCRIPT`, `PIPEFN` and `LOCKFN` must come before the first `AT` line (NUT stops
//! with a fatal error otherwise). Each `AT <type> <ups|*> <action> ...` line becomes an
//! [`AtRule`]; several rules may fire for one event, in file order.

use super::{bad_number, parse_signed, parse_unsigned, usable_lines, warn_extra, Diags, Parsed};
use crate::notify::NotifyType;
use crate::tokenizer::Line;

/// What an `AT` line does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtAction {
    /// `START-TIMER <name> <seconds>`: start an independent timer.
    StartTimer {
        /// Timer name, passed to CMDSCRIPT on expiry.
        name: String,
        /// Delay in seconds.
        seconds: u64,
    },
    /// `START-TIMER-SHARED <name> <seconds>` (2.8.5+): start a timer shared by all UPSes.
    StartTimerShared {
        /// Timer name, passed to CMDSCRIPT on expiry.
        name: String,
        /// Delay in seconds.
        seconds: u64,
    },
    /// `CANCEL-TIMER <name> [<cmd>]`: cancel; run `cmd` if no such timer was running.
    CancelTimer {
        /// Timer name.
        name: String,
        /// Command to run when no timer was cancelled.
        cmd: Option<String>,
    },
    /// `CANCEL-TIMER-MATCHED <name> [<cmd>]` (2.8.5+): cancel the timers of this UPS.
    CancelTimerMatched {
        /// Timer name.
        name: String,
        /// Command to run when no timer was cancelled.
        cmd: Option<String>,
    },
    /// `EXECUTE <cmd>`: run `CMDSCRIPT <cmd>` at once.
    Execute {
        /// Argument given to CMDSCRIPT.
        cmd: String,
    },
}

/// One `AT` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtRule {
    /// Notification type, upper-cased.
    pub notify_type: String,
    /// Full UPS name (`ups@host`) or `*`.
    pub ups: String,
    /// What to do.
    pub action: AtAction,
    /// Line of the AT directive.
    pub line: usize,
}

impl AtRule {
    /// type case-insensitive; ups exact or "*"
    pub fn matches(&self, notify_type: &str, upsname: &str) -> bool {
        self.notify_type.eq_ignore_ascii_case(notify_type)
            && (self.ups == "*" || self.ups == upsname)
    }
}

/// The whole of upssched.conf.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpsschedConf {
    /// `CMDSCRIPT` path.
    pub cmdscript: Option<String>,
    /// Extra words after the CMDSCRIPT path (later releases).
    pub cmdscript_args: Vec<String>,
    /// `PIPEFN`: the timer daemon's socket.
    pub pipefn: Option<String>,
    /// `LOCKFN`: the daemon start-up lock file.
    pub lockfn: Option<String>,
    /// `AT` rules in file order.
    pub rules: Vec<AtRule>,
    /// `DEBUG_MIN`.
    pub debug_min: Option<u32>,
}

fn at_action(diags: &mut Diags, line: &Line) -> Option<AtAction> {
    let words = &line.words;
    let action = words[3].to_ascii_uppercase();
    let name = words[4].clone();
    let cmd = || words.get(5).cloned();
    let seconds = |diags: &mut Diags| -> Option<u64> {
        let Some(text) = words.get(5) else {
            diags.error(
                line,
                "AT",
                format!("{action} needs a timer name and a number of seconds"),
            );
            return None;
        };
        match parse_unsigned(text) {
            Some(v) => Some(v),
            None if parse_signed(text).is_some() => {
                diags.error(
                    line,
                    "AT",
                    format!("negative timer length {text:?} rejected"),
                );
                None
            }
            None => {
                bad_number(diags, line, "AT", "a whole number of seconds", text);
                None
            }
        }
    };
    Some(match action.as_str() {
        "START-TIMER" | "START-TIMER-SHARED" => {
            let seconds = seconds(diags)?;
            warn_extra(diags, line, "AT", 6);
            if action == "START-TIMER" {
                AtAction::StartTimer { name, seconds }
            } else {
                AtAction::StartTimerShared { name, seconds }
            }
        }
        "CANCEL-TIMER" => {
            warn_extra(diags, line, "AT", 6);
            AtAction::CancelTimer { name, cmd: cmd() }
        }
        "CANCEL-TIMER-MATCHED" => {
            warn_extra(diags, line, "AT", 6);
            AtAction::CancelTimerMatched { name, cmd: cmd() }
        }
        "EXECUTE" => {
            warn_extra(diags, line, "AT", 5);
            AtAction::Execute { cmd: name }
        }
        _ => {
            diags.error(
                line,
                "AT",
                format!(
                    "unknown action {:?}; expected START-TIMER, START-TIMER-SHARED, CANCEL-TIMER, \
                     CANCEL-TIMER-MATCHED or EXECUTE",
                    words[3]
                ),
            );
            return None;
        }
    })
}

/// Parses upssched.conf; `file` is used only in diagnostics.
pub fn parse_upssched_conf(file: &str, text: &[u8]) -> Parsed<UpsschedConf> {
    let mut diags = Diags::new(file);
    let mut conf = UpsschedConf::default();

    for line in usable_lines(text, &mut diags) {
        let words = &line.words;
        let directive = if words[0].eq_ignore_ascii_case("DEBUG_MIN") {
            "DEBUG_MIN"
        } else {
            words[0].as_str()
        };
        match directive {
            "CMDSCRIPT" | "PIPEFN" | "LOCKFN" | "DEBUG_MIN" => {
                if words.len() < 2 {
                    diags.error(&line, directive, "missing value");
                    continue;
                }
                if directive != "DEBUG_MIN" && !conf.rules.is_empty() {
                    diags.error(
                        &line,
                        directive,
                        format!("{directive} must be set before the first AT line (upssched stops with a fatal error)"),
                    );
                    continue;
                }
                let value = words[1].clone();
                match directive {
                    "CMDSCRIPT" => {
                        conf.cmdscript = Some(value);
                        conf.cmdscript_args = words[2..].to_vec();
                    }
                    "PIPEFN" => {
                        warn_extra(&mut diags, &line, directive, 2);
                        conf.pipefn = Some(value);
                    }
                    "LOCKFN" => {
                        warn_extra(&mut diags, &line, directive, 2);
                        conf.lockfn = Some(value);
                    }
                    _ => match parse_unsigned(&value).and_then(|v| u32::try_from(v).ok()) {
                        Some(v) => conf.debug_min = Some(v),
                        None => bad_number(
                            &mut diags,
                            &line,
                            directive,
                            "a whole number (debug level)",
                            &value,
                        ),
                    },
                }
            }
            "AT" => {
                if words.len() < 5 {
                    diags.error(
                        &line,
                        directive,
                        "incomplete AT line: expected AT <notifytype> <upsname|*> <action> <argument>",
                    );
                    continue;
                }
                let notify_type = words[1].to_ascii_uppercase();
                if NotifyType::parse(&notify_type).is_none() {
                    diags.warning(
                        &line,
                        directive,
                        format!(
                            "unknown notification type {:?}; this rule will never fire",
                            words[1]
                        ),
                    );
                }
                if let Some(action) = at_action(&mut diags, &line) {
                    conf.rules.push(AtRule {
                        notify_type,
                        ups: words[2].clone(),
                        action,
                        line: line.line_no,
                    });
                }
            }
            _ => diags.error(&line, directive, "unknown directive; line ignored"),
        }
    }
    diags.finish(conf)
}
