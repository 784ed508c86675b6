//! The driver socket protocol between a driver and upsd (nut-reference.md §2), both ways.
//!
//! Lines are tokenized with [`crate::tokenizer`]; this module turns words into typed
//! messages and typed messages into lines. Values are always escaped, also in live
//! updates (NUT's drivers forget to escape those; we fix it, the reader is the same).

use crate::tokenizer::{encode, quote};

/// A line sent by a driver to upsd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverLine {
    /// `SETINFO <var> "<value>"`
    SetInfo {
        /// Variable name.
        var: String,
        /// Raw (unescaped) value.
        value: String,
    },
    /// `DELINFO <var>`
    DelInfo {
        /// Variable name.
        var: String,
    },
    /// `ADDENUM <var> "<value>"`
    AddEnum {
        /// Variable name.
        var: String,
        /// Raw (unescaped) value.
        value: String,
    },
    /// `DELENUM <var> "<value>"`
    DelEnum {
        /// Variable name.
        var: String,
        /// Raw (unescaped) value.
        value: String,
    },
    /// `ADDRANGE <var> <min> <max>`
    AddRange {
        /// Variable name.
        var: String,
        /// Lower bound.
        min: i64,
        /// Upper bound.
        max: i64,
    },
    /// `DELRANGE <var> <min> <max>`
    DelRange {
        /// Variable name.
        var: String,
        /// Lower bound.
        min: i64,
        /// Upper bound.
        max: i64,
    },
    /// `SETAUX <var> <n>`
    SetAux {
        /// Variable name.
        var: String,
        /// Aux number (maximum length for STRING variables).
        aux: i64,
    },
    /// `SETFLAGS <var> <flag>...`
    SetFlags {
        /// Variable name.
        var: String,
        /// Flag words (RW, STRING, NUMBER).
        flags: Vec<String>,
    },
    /// `ADDCMD <cmd>`
    AddCmd {
        /// Instant command name.
        cmd: String,
    },
    /// `DELCMD <cmd>`
    DelCmd {
        /// Instant command name.
        cmd: String,
    },
    /// `DUMPDONE`
    DumpDone,
    /// `PONG`
    Pong,
    /// `DATAOK`
    DataOk,
    /// `DATASTALE`
    DataStale,
    /// `TRACKING <id> <result>`
    Tracking {
        /// Tracking id.
        id: String,
        /// Driver result code.
        result: i64,
    },
}

/// C's `strtol(s, &end, 16)`, saturating: leading blanks, a sign, an optional `0x`, hex
/// digits; the value and what follows it (all of `s` when there are no digits).
pub fn strtol16(s: &str) -> (i64, &str) {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let t = match t.get(..2) {
        Some("0x" | "0X") if t.as_bytes().get(2).is_some_and(u8::is_ascii_hexdigit) => &t[2..],
        _ => t,
    };
    let digits = t.bytes().take_while(u8::is_ascii_hexdigit).count();
    if digits == 0 {
        return (0, s);
    }
    let mut v: i64 = 0;
    for c in t[..digits].chars() {
        v = v
            .saturating_mul(16)
            .saturating_add(i64::from(c.to_digit(16).unwrap_or(0)));
    }
    (if neg { -v } else { v }, &t[digits..])
}

/// C's `strtol`/`atoi` on a word: leading sign and digits, anything else stops; 0 if none.
pub fn atoi(word: &str) -> i64 {
    let trimmed = word.trim_start();
    let (sign, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (-1i64, &trimmed[1..]),
        Some(b'+') => (1, &trimmed[1..]),
        _ => (1, trimmed),
    };
    // Accumulate with the sign applied digit by digit so that out-of-range input clamps
    // to i64::MIN or i64::MAX, as strtol does (negating a clamped i64::MAX would give
    // i64::MIN + 1).
    let mut value: i64 = 0;
    for byte in digits.bytes() {
        if !byte.is_ascii_digit() {
            break;
        }
        value = value
            .saturating_mul(10)
            .saturating_add(sign * i64::from(byte - b'0'));
    }
    value
}

impl DriverLine {
    /// Reads the words of one driver line as upsd does (server/sstate.c): verbs are
    /// case-insensitive, too few words or an unknown verb give `None` (logged, ignored).
    pub fn parse<S: AsRef<str>>(words: &[S]) -> Option<DriverLine> {
        let verb = words.first()?.as_ref().to_ascii_uppercase();
        let w = |i: usize| words[i].as_ref().to_string();
        let n = words.len();
        let line = match verb.as_str() {
            "PONG" => DriverLine::Pong,
            "DUMPDONE" => DriverLine::DumpDone,
            "DATAOK" => DriverLine::DataOk,
            "DATASTALE" => DriverLine::DataStale,
            "ADDCMD" if n >= 2 => DriverLine::AddCmd { cmd: w(1) },
            "DELCMD" if n >= 2 => DriverLine::DelCmd { cmd: w(1) },
            "DELINFO" if n >= 2 => DriverLine::DelInfo { var: w(1) },
            "SETINFO" if n >= 3 => DriverLine::SetInfo {
                var: w(1),
                value: w(2),
            },
            "ADDENUM" if n >= 3 => DriverLine::AddEnum {
                var: w(1),
                value: w(2),
            },
            "DELENUM" if n >= 3 => DriverLine::DelEnum {
                var: w(1),
                value: w(2),
            },
            "SETAUX" if n >= 3 => DriverLine::SetAux {
                var: w(1),
                aux: atoi(words[2].as_ref()),
            },
            "SETFLAGS" if n >= 3 => DriverLine::SetFlags {
                var: w(1),
                flags: words[2..].iter().map(|f| f.as_ref().to_string()).collect(),
            },
            "TRACKING" if n >= 3 => DriverLine::Tracking {
                id: w(1),
                result: atoi(words[2].as_ref()),
            },
            "ADDRANGE" if n >= 4 => DriverLine::AddRange {
                var: w(1),
                min: atoi(words[2].as_ref()),
                max: atoi(words[3].as_ref()),
            },
            "DELRANGE" if n >= 4 => DriverLine::DelRange {
                var: w(1),
                min: atoi(words[2].as_ref()),
                max: atoi(words[3].as_ref()),
            },
            _ => return None,
        };
        Some(line)
    }

    /// Formats the line, LF-terminated.
    pub fn format(&self) -> String {
        let body = match self {
            DriverLine::SetInfo { var, value } => format!("SETINFO {var} {}", quote(value)),
            DriverLine::DelInfo { var } => format!("DELINFO {var}"),
            DriverLine::AddEnum { var, value } => format!("ADDENUM {var} {}", quote(value)),
            DriverLine::DelEnum { var, value } => format!("DELENUM {var} {}", quote(value)),
            DriverLine::AddRange { var, min, max } => format!("ADDRANGE {var} {min} {max}"),
            DriverLine::DelRange { var, min, max } => format!("DELRANGE {var} {min} {max}"),
            DriverLine::SetAux { var, aux } => format!("SETAUX {var} {aux}"),
            DriverLine::SetFlags { var, flags } => {
                let mut line = format!("SETFLAGS {var}");
                for flag in flags {
                    line.push(' ');
                    line.push_str(flag);
                }
                line
            }
            DriverLine::AddCmd { cmd } => format!("ADDCMD {cmd}"),
            DriverLine::DelCmd { cmd } => format!("DELCMD {cmd}"),
            DriverLine::DumpDone => "DUMPDONE".to_string(),
            DriverLine::Pong => "PONG".to_string(),
            DriverLine::DataOk => "DATAOK".to_string(),
            DriverLine::DataStale => "DATASTALE".to_string(),
            DriverLine::Tracking { id, result } => format!("TRACKING {id} {result}"),
        };
        body + "\n"
    }
}

/// A line sent by upsd (or another client of the driver socket) to a driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerLine {
    /// `DUMPALL`
    DumpAll,
    /// `PING`
    Ping,
    /// `INSTCMD <cmd> [<param>] [TRACKING <id>]`
    InstCmd {
        /// Instant command name.
        cmd: String,
        /// Optional parameter.
        param: Option<String>,
        /// Tracking id, when tracking is on.
        tracking: Option<String>,
    },
    /// `SET <var> "<value>" [TRACKING <id>]`
    Set {
        /// Variable name.
        var: String,
        /// Raw (unescaped) value.
        value: String,
        /// Tracking id, when tracking is on.
        tracking: Option<String>,
    },
    /// `NOBROADCAST`
    NoBroadcast,
    /// `BROADCAST [n]`
    Broadcast(bool),
    /// `LOGOUT`
    Logout,
}

impl ServerLine {
    /// Reads a line as a driver does (drivers/main.c); malformed lines give `None`.
    pub fn parse(words: &[String]) -> Option<ServerLine> {
        let verb = words.first()?.to_ascii_uppercase();
        let n = words.len();
        let tracking_at = |i: usize| {
            (n == i + 2 && words[i].eq_ignore_ascii_case("TRACKING")).then(|| words[i + 1].clone())
        };
        match verb.as_str() {
            "DUMPALL" => Some(ServerLine::DumpAll),
            "PING" => Some(ServerLine::Ping),
            "NOBROADCAST" => Some(ServerLine::NoBroadcast),
            "LOGOUT" => Some(ServerLine::Logout),
            "BROADCAST" => Some(ServerLine::Broadcast(
                words.get(1).map(|w| atoi(w) > 0).unwrap_or(true),
            )),
            "INSTCMD" => match n {
                2 => Some(ServerLine::InstCmd {
                    cmd: words[1].clone(),
                    param: None,
                    tracking: None,
                }),
                3 => Some(ServerLine::InstCmd {
                    cmd: words[1].clone(),
                    param: Some(words[2].clone()),
                    tracking: None,
                }),
                4 => tracking_at(2).map(|id| ServerLine::InstCmd {
                    cmd: words[1].clone(),
                    param: None,
                    tracking: Some(id),
                }),
                5 => tracking_at(3).map(|id| ServerLine::InstCmd {
                    cmd: words[1].clone(),
                    param: Some(words[2].clone()),
                    tracking: Some(id),
                }),
                _ => None,
            },
            "SET" => {
                if n < 3 || (n == 5 && !words[3].eq_ignore_ascii_case("TRACKING")) {
                    return None;
                }
                Some(ServerLine::Set {
                    var: words[1].clone(),
                    value: words[2].clone(),
                    tracking: tracking_at(3),
                })
            }
            _ => None,
        }
    }

    /// Formats the line, LF-terminated. INSTCMD's parameter is escaped but not quoted,
    /// as upsd sends it (nut-reference.md §1.6).
    pub fn format(&self) -> String {
        let tracking = |t: &Option<String>| {
            t.as_ref()
                .map(|id| format!(" TRACKING {id}"))
                .unwrap_or_default()
        };
        let body = match self {
            ServerLine::DumpAll => "DUMPALL".to_string(),
            ServerLine::Ping => "PING".to_string(),
            ServerLine::NoBroadcast => "NOBROADCAST".to_string(),
            ServerLine::Logout => "LOGOUT".to_string(),
            ServerLine::Broadcast(on) => format!("BROADCAST {}", u8::from(*on)),
            ServerLine::InstCmd {
                cmd,
                param,
                tracking: t,
            } => {
                let param = param
                    .as_ref()
                    .map(|p| format!(" {}", encode(p)))
                    .unwrap_or_default();
                format!("INSTCMD {cmd}{param}{}", tracking(t))
            }
            ServerLine::Set {
                var,
                value,
                tracking: t,
            } => {
                format!("SET {var} {}{}", quote(value), tracking(t))
            }
        };
        body + "\n"
    }
}
