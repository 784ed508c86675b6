//! upsd.conf: the network server's settings (nut-reference.md §5.3).
//!
//! Keywords are case-sensitive except `DEBUG_MIN`. `ACL`, `ACCEPT` and `REJECT` are
//! obsolete and only warned about; any other unknown directive is an error (upsd logs
//! it and keeps running).

use super::{bad_number, parse_bool, parse_unsigned, usable_lines, warn_extra, Diags, Parsed};

/// Default upsd port.
const DEFAULT_PORT: u16 = 3493;

/// One `LISTEN` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    /// Address or host name as written (`*` = all addresses).
    pub addr: String,
    /// TCP port (default 3493).
    pub port: u16,
}

/// The whole of upsd.conf.
#[derive(Debug, Clone, PartialEq)]
pub struct UpsdConf {
    /// `LISTEN` lines in order; empty means the default (see [`UpsdConf::listen_or_default`]).
    pub listen: Vec<Listen>,
    /// `MAXAGE` seconds (default 15).
    pub maxage_s: u64,
    /// `MAXCONN` (default: the OS descriptor limit).
    pub maxconn: Option<usize>,
    /// `TRACKINGDELAY` seconds (default 3600).
    pub trackingdelay_s: u64,
    /// `STATEPATH`.
    pub statepath: Option<String>,
    /// `DATAPATH`.
    pub datapath: Option<String>,
    /// `CERTFILE`.
    pub certfile: Option<String>,
    /// `CERTPATH`.
    pub certpath: Option<String>,
    /// `CERTIDENT <name> <password>`.
    pub certident: Option<(String, String)>,
    /// `CERTREQUEST`: 0 = no, 1 = request, 2 = require.
    pub certrequest: u8,
    /// `DISABLE_WEAK_SSL`.
    pub disable_weak_ssl: bool,
    /// `ALLOW_NO_DEVICE`.
    pub allow_no_device: bool,
    /// `ALLOW_NOT_ALL_LISTENERS`.
    pub allow_not_all_listeners: bool,
    /// `DEBUG_MIN`.
    pub debug_min: Option<u32>,
}

impl Default for UpsdConf {
    fn default() -> Self {
        UpsdConf {
            listen: Vec::new(),
            maxage_s: 15,
            maxconn: None,
            trackingdelay_s: 3600,
            statepath: None,
            datapath: None,
            certfile: None,
            certpath: None,
            certident: None,
            certrequest: 0,
            disable_weak_ssl: false,
            allow_no_device: false,
            allow_not_all_listeners: false,
            debug_min: None,
        }
    }
}

impl UpsdConf {
    /// The configured LISTEN addresses, or upsd's default `127.0.0.1` and `::1` on
    /// port 3493 when there are none.
    pub fn listen_or_default(&self) -> Vec<Listen> {
        if !self.listen.is_empty() {
            return self.listen.clone();
        }
        ["127.0.0.1", "::1"]
            .iter()
            .map(|addr| Listen {
                addr: addr.to_string(),
                port: DEFAULT_PORT,
            })
            .collect()
    }
}

/// Parses upsd.conf; `file` is used only in diagnostics.
pub fn parse_upsd_conf(file: &str, text: &[u8]) -> Parsed<UpsdConf> {
    let mut diags = Diags::new(file);
    let mut conf = UpsdConf::default();

    for line in usable_lines(text, &mut diags) {
        let words = &line.words;
        let directive = if words[0].eq_ignore_ascii_case("DEBUG_MIN") {
            "DEBUG_MIN"
        } else {
            words[0].as_str()
        };
        let needed = match directive {
            "LISTEN"
            | "MAXAGE"
            | "MAXCONN"
            | "TRACKINGDELAY"
            | "STATEPATH"
            | "DATAPATH"
            | "CERTFILE"
            | "CERTPATH"
            | "CERTREQUEST"
            | "DISABLE_WEAK_SSL"
            | "ALLOW_NO_DEVICE"
            | "ALLOW_NOT_ALL_LISTENERS"
            | "DEBUG_MIN" => 2,
            "CERTIDENT" => 3,
            "ACL" | "ACCEPT" | "REJECT" => {
                diags.warning(
                    &line,
                    directive,
                    "obsolete directive ignored; access control is now done with LISTEN and a firewall",
                );
                continue;
            }
            _ => {
                diags.error(&line, directive, "unknown directive; line ignored");
                continue;
            }
        };
        if words.len() < needed {
            diags.error(
                &line,
                directive,
                format!(
                    "missing value (expected {} word(s) after the directive)",
                    needed - 1
                ),
            );
            continue;
        }
        let value = words[1].as_str();
        let max = match directive {
            "LISTEN" => 3,
            _ => needed,
        };
        warn_extra(&mut diags, &line, directive, max);

        let boolean = |diags: &mut Diags| -> Option<bool> {
            let parsed = parse_bool(value);
            if parsed.is_none() {
                diags.error(
                    &line,
                    directive,
                    format!("expected a boolean (yes/no, true/false, on/off, 1/0), got {value:?}"),
                );
            }
            parsed
        };

        match directive {
            "LISTEN" => {
                let port = match words.get(2) {
                    None => Some(DEFAULT_PORT),
                    Some(p) => match parse_unsigned(p).and_then(|v| u16::try_from(v).ok()) {
                        Some(port) if port > 0 => Some(port),
                        _ => {
                            bad_number(
                                &mut diags,
                                &line,
                                directive,
                                "a TCP port number (1-65535)",
                                p,
                            );
                            None
                        }
                    },
                };
                if let Some(port) = port {
                    conf.listen.push(Listen {
                        addr: value.to_string(),
                        port,
                    });
                }
            }
            "MAXAGE" => {
                if value.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                    let digits: String = value.chars().take_while(|c| c.is_ascii_digit()).collect();
                    match digits.parse() {
                        Ok(v) => conf.maxage_s = v,
                        Err(_) => bad_number(
                            &mut diags,
                            &line,
                            directive,
                            "a whole number of seconds",
                            value,
                        ),
                    }
                    if digits.len() != value.len() {
                        diags.warning(
                            &line,
                            directive,
                            format!("trailing text after the number ignored in {value:?}"),
                        );
                    }
                } else {
                    diags.error(
                        &line,
                        directive,
                        format!("MAXAGE has non numeric value ({value}); expected a whole number of seconds"),
                    );
                }
            }
            "MAXCONN" => match parse_unsigned(value).and_then(|v| usize::try_from(v).ok()) {
                Some(v) => conf.maxconn = Some(v),
                None => bad_number(
                    &mut diags,
                    &line,
                    directive,
                    "a whole number of connections",
                    value,
                ),
            },
            "TRACKINGDELAY" => match parse_unsigned(value) {
                Some(v) => conf.trackingdelay_s = v,
                None => bad_number(
                    &mut diags,
                    &line,
                    directive,
                    "a whole number of seconds",
                    value,
                ),
            },
            "STATEPATH" => conf.statepath = Some(value.to_string()),
            "DATAPATH" => conf.datapath = Some(value.to_string()),
            "CERTFILE" => conf.certfile = Some(value.to_string()),
            "CERTPATH" => conf.certpath = Some(value.to_string()),
            "CERTIDENT" => conf.certident = Some((value.to_string(), words[2].clone())),
            "CERTREQUEST" => {
                let level = match value.to_ascii_uppercase().as_str() {
                    "0" | "NO" => Some(0),
                    "1" | "REQUEST" => Some(1),
                    "2" | "REQUIRE" => Some(2),
                    _ => None,
                };
                match level {
                    Some(v) => conf.certrequest = v,
                    None => diags.error(
                        &line,
                        directive,
                        format!("expected 0/NO, 1/REQUEST or 2/REQUIRE, got {value:?}"),
                    ),
                }
            }
            "DISABLE_WEAK_SSL" => {
                if let Some(v) = boolean(&mut diags) {
                    conf.disable_weak_ssl = v;
                }
            }
            "ALLOW_NO_DEVICE" => {
                if let Some(v) = boolean(&mut diags) {
                    conf.allow_no_device = v;
                }
            }
            "ALLOW_NOT_ALL_LISTENERS" => {
                if let Some(v) = boolean(&mut diags) {
                    conf.allow_not_all_listeners = v;
                }
            }
            "DEBUG_MIN" => match parse_unsigned(value).and_then(|v| u32::try_from(v).ok()) {
                Some(v) => conf.debug_min = Some(v),
                None => bad_number(
                    &mut diags,
                    &line,
                    directive,
                    "a whole number (debug level)",
                    value,
                ),
            },
            _ => {}
        }
    }
    diags.finish(conf)
}
