//! The client side of a upsd session, sans IO: STARTTLS policy, `USERNAME`, `PASSWORD`,
//! `LOGIN`, and `PRIMARY` with the `MASTER` fallback for upsd releases before 2.8.0.
//!
//! One state machine serves upsmon, the command-line clients and dummy-ups's repeater.
//! The shell sends what [`Next::Send`] says, feeds each reply line to
//! [`ClientSession::reply`], upgrades the stream when told [`Next::UpgradeTls`] and
//! reports it with [`ClientSession::tls_ready`], until [`Next::Done`].
//!
//! The order of requests is NUT's (clients/upsclient.c, clients/upsmon.c): STARTTLS
//! first, so credentials never cross the network in clear text when TLS is on; then
//! USERNAME, PASSWORD, LOGIN; then PRIMARY (NUT 2.8) or, refused, MASTER.

use crate::proto::{format_request, parse_reply, ErrCode};

/// How a client uses STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Never ask (upsmon without FORCESSL/CERTPATH/CERTVERIFY).
    #[default]
    Off,
    /// Ask, and go on in plain text when upsd does not offer it (NUT's clients).
    Try,
    /// Ask, and fail when upsd does not offer it (FORCESSL, `NUT_FORCESSL`).
    Require,
}

/// What a session should establish.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionPlan {
    /// STARTTLS policy.
    pub tls: TlsMode,
    /// `USERNAME` to send, if any.
    pub username: Option<String>,
    /// `PASSWORD` to send, if any.
    pub password: Option<String>,
    /// `LOGIN <ups>` to send, if any (upsmon).
    pub login: Option<String>,
    /// Ask for primary privileges on this UPS (`PRIMARY`, then `MASTER`).
    pub primary: Option<String>,
}

/// A step of the dialogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `STARTTLS`.
    StartTls,
    /// `USERNAME`.
    Username,
    /// `PASSWORD`.
    Password,
    /// `LOGIN`.
    Login,
    /// `PRIMARY`.
    Primary,
    /// `MASTER` (after `PRIMARY` was refused).
    Master,
}

/// A reply line, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `OK` with whatever followed it (`OK STARTTLS`, `OK Goodbye`, ...).
    Ok(String),
    /// `ERR <code>`.
    Err(ErrCode),
    /// Anything else (a protocol error for a dialogue step).
    Other(String),
}

impl Reply {
    /// Types one reply line (without its LF).
    pub fn parse(line: &str) -> Reply {
        match parse_reply(line) {
            Err(code) => Reply::Err(code),
            Ok(words) if words.first().map(String::as_str) == Some("OK") => {
                Reply::Ok(words[1..].join(" "))
            }
            Ok(_) => Reply::Other(line.to_string()),
        }
    }
}

/// A step upsd refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Which step.
    pub stage: Stage,
    /// The reply line as received.
    pub reply: String,
    /// The typed reply.
    pub typed: Reply,
}

/// How the dialogue ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Established {
    /// The connection is in TLS.
    pub tls: bool,
    /// The first step upsd refused, if any; the dialogue stops there (the connection is
    /// still usable: upsmon polls without being logged in, as NUT's does).
    pub refused: Option<Refusal>,
    /// Primary privileges were granted (by `PRIMARY` or `MASTER`).
    pub primary: bool,
}

/// A failure that makes the connection unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// TLS is required and upsd did not offer it.
    TlsRequired {
        /// upsd's answer to STARTTLS.
        reply: String,
    },
    /// The shell could not complete the TLS handshake.
    TlsFailed,
}

/// What the shell must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send this request line (ends with LF).
    Send(String),
    /// upsd said `OK STARTTLS`: do the TLS handshake now, then call
    /// [`ClientSession::tls_ready`].
    UpgradeTls,
    /// The dialogue is over.
    Done(Result<Established, SessionError>),
}

/// The session state machine; see the module documentation.
#[derive(Debug, Clone)]
pub struct ClientSession {
    plan: SessionPlan,
    waiting: Option<Stage>,
    tls: bool,
    primary: bool,
    done: bool,
}

impl ClientSession {
    /// A session for `plan`; call [`ClientSession::start`] first.
    pub fn new(plan: SessionPlan) -> ClientSession {
        ClientSession {
            plan,
            waiting: None,
            tls: false,
            primary: false,
            done: false,
        }
    }

    /// The first step.
    pub fn start(&mut self) -> Next {
        if self.plan.tls == TlsMode::Off {
            self.after(Stage::StartTls)
        } else {
            self.ask(Stage::StartTls, &["STARTTLS"])
        }
    }

    /// The reply to the request last sent.
    pub fn reply(&mut self, line: &str) -> Next {
        let Some(stage) = self.waiting.take() else {
            return self.finish(None);
        };
        let typed = Reply::parse(line);
        let ok = matches!(typed, Reply::Ok(_));
        match stage {
            Stage::StartTls => {
                if matches!(&typed, Reply::Ok(rest) if rest.starts_with("STARTTLS")) {
                    return Next::UpgradeTls;
                }
                if self.plan.tls == TlsMode::Require {
                    self.done = true;
                    return Next::Done(Err(SessionError::TlsRequired {
                        reply: line.to_string(),
                    }));
                }
                // ERR FEATURE-NOT-CONFIGURED (or an old upsd's UNKNOWN-COMMAND): plain
                // text, as NUT's clients do.
                self.after(Stage::StartTls)
            }
            Stage::Primary if !ok => {
                let ups = self.plan.primary.clone().unwrap_or_default();
                self.ask(Stage::Master, &["MASTER", &ups])
            }
            Stage::Primary | Stage::Master if ok => {
                self.primary = true;
                self.finish(None)
            }
            _ if !ok => self.finish(Some(Refusal {
                stage,
                reply: line.to_string(),
                typed,
            })),
            _ => self.after(stage),
        }
    }

    /// The TLS handshake finished (`ok`) or failed.
    pub fn tls_ready(&mut self, ok: bool) -> Next {
        if !ok {
            self.done = true;
            return Next::Done(Err(SessionError::TlsFailed));
        }
        self.tls = true;
        self.after(Stage::StartTls)
    }

    /// True once [`Next::Done`] was returned.
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn ask(&mut self, stage: Stage, words: &[&str]) -> Next {
        self.waiting = Some(stage);
        Next::Send(format_request(words))
    }

    /// The step after `stage` succeeded (or was skipped).
    fn after(&mut self, stage: Stage) -> Next {
        let plan = self.plan.clone();
        let order = [
            Stage::Username,
            Stage::Password,
            Stage::Login,
            Stage::Primary,
        ];
        let start = match stage {
            Stage::StartTls => 0,
            Stage::Username => 1,
            Stage::Password => 2,
            Stage::Login => 3,
            Stage::Primary | Stage::Master => 4,
        };
        for next in &order[start..] {
            let request = match next {
                Stage::Username => plan.username.as_deref().map(|u| ["USERNAME", u]),
                Stage::Password => plan.password.as_deref().map(|p| ["PASSWORD", p]),
                Stage::Login => plan.login.as_deref().map(|u| ["LOGIN", u]),
                Stage::Primary => plan.primary.as_deref().map(|u| ["PRIMARY", u]),
                _ => None,
            };
            if let Some(words) = request {
                return self.ask(*next, &words);
            }
        }
        self.finish(None)
    }

    fn finish(&mut self, refused: Option<Refusal>) -> Next {
        self.done = true;
        Next::Done(Ok(Established {
            tls: self.tls,
            refused,
            primary: self.primary,
        }))
    }
}
