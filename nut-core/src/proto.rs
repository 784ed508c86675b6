//! The network protocol between upsd and its clients (RFC 9271, protocol 1.3).
//!
//! Typed requests (parsed from tokenizer words, the way upsd reads them), typed responses
//! (formatted byte-exactly as upsd sends them), and the client-side reading of replies.
//! The check order of errors that depend on server state (authentication, UPS names,
//! driver availability) lives in [`crate::upsd`]; this module only knows word counts.

use std::fmt;

/// Protocol version answered to NETVER and PROTVER.
pub const PROTOCOL_VERSION: &str = "1.3";
/// The NUT release whose behaviour and strings we reproduce.
pub const NUT_VERSION: &str = "2.8.0";
/// Answer to `VER` and the value of `server.info`.
pub const SERVER_INFO: &str = "Network UPS Tools upsd 2.8.0 - http://www.networkupstools.org/";
/// Answer to `HELP` (NUT 2.8.0).
pub const HELP_TEXT: &str =
    "Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS";
/// upsd truncates a response to this many bytes (513-byte buffer, no LF after truncation).
pub const MAX_RESPONSE_BYTES: usize = 512;

macro_rules! err_codes {
    ($($variant:ident => $text:literal, $message:literal;)*) => {
        /// Every `ERR` code a client can see (nut-reference.md §1.7).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrCode { $(
            #[doc = $message]
            $variant,
        )* }

        impl ErrCode {
            /// The code as sent after `ERR `.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrCode::$variant => $text,)* }
            }
            /// Parses a code; unknown codes give `None`.
            pub fn parse(text: &str) -> Option<ErrCode> {
                match text { $($text => Some(ErrCode::$variant),)* _ => None }
            }
            /// The text NUT's clients print for this code (clients/upsclient.c).
            pub fn client_message(self) -> &'static str {
                match self { $(ErrCode::$variant => $message,)* }
            }
        }
    };
}

err_codes! {
    AccessDenied => "ACCESS-DENIED", "Access denied";
    UnknownUps => "UNKNOWN-UPS", "Unknown UPS";
    VarNotSupported => "VAR-NOT-SUPPORTED", "Variable not supported by UPS";
    CmdNotSupported => "CMD-NOT-SUPPORTED", "Instant command not supported";
    InvalidArgument => "INVALID-ARGUMENT", "Invalid argument";
    InstcmdFailed => "INSTCMD-FAILED", "Instant command failed";
    SetFailed => "SET-FAILED", "Set command failed";
    Readonly => "READONLY", "Read-only variable";
    TooLong => "TOO-LONG", "New value is too long";
    InvalidValue => "INVALID-VALUE", "Invalid value for variable";
    FeatureNotSupported => "FEATURE-NOT-SUPPORTED", "Feature not supported by server";
    FeatureNotConfigured => "FEATURE-NOT-CONFIGURED", "Feature not configured by server";
    AlreadySslMode => "ALREADY-SSL-MODE", "Already in TLS mode";
    DriverNotConnected => "DRIVER-NOT-CONNECTED", "Driver not connected";
    DataStale => "DATA-STALE", "Data stale";
    AlreadyLoggedIn => "ALREADY-LOGGED-IN", "Already logged in";
    AlreadySetUsername => "ALREADY-SET-USERNAME", "Already set username";
    AlreadySetPassword => "ALREADY-SET-PASSWORD", "Already set password";
    UsernameRequired => "USERNAME-REQUIRED", "Username required";
    PasswordRequired => "PASSWORD-REQUIRED", "Password required";
    UnknownCommand => "UNKNOWN-COMMAND", "Unknown command";
    InvalidUsername => "INVALID-USERNAME", "Invalid username";
    InvalidPassword => "INVALID-PASSWORD", "Invalid password";
    VarUnknown => "VAR-UNKNOWN", "Unknown variable";
    UnknownType => "UNKNOWN-TYPE", "Unknown type";
    UnknownInstcmd => "UNKNOWN-INSTCMD", "Unknown instant command";
    MissingArgument => "MISSING-ARGUMENT", "Missing argument";
    PasswordIncorrect => "PASSWORD-INCORRECT", "Password incorrect";
    Unknown => "UNKNOWN", "Unknown error";
    Failed => "FAILED", "Failed";
}

impl fmt::Display for ErrCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `GET` sub-commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetRequest {
    /// `GET NUMLOGINS <ups>`
    NumLogins {
        /// UPS name, as the client spelled it.
        ups: String,
    },
    /// `GET UPSDESC <ups>`
    UpsDesc {
        /// UPS name, as the client spelled it.
        ups: String,
    },
    /// `GET VAR <ups> <var>`
    Var {
        /// UPS name, as the client spelled it.
        ups: String,
        /// Variable name.
        var: String,
    },
    /// `GET TYPE <ups> <var>`
    Type {
        /// UPS name, as the client spelled it.
        ups: String,
        /// Variable name.
        var: String,
    },
    /// `GET DESC <ups> <var>`
    Desc {
        /// UPS name, as the client spelled it.
        ups: String,
        /// Variable name.
        var: String,
    },
    /// `GET CMDDESC <ups> <cmd>`
    CmdDesc {
        /// UPS name, as the client spelled it.
        ups: String,
        /// Instant command name.
        cmd: String,
    },
    /// `GET TRACKING [<id>]`
    Tracking {
        /// Tracking id.
        id: Option<String>,
    },
}

/// `LIST` sub-commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListRequest {
    /// `LIST UPS`
    Ups,
    /// `LIST VAR <ups>`
    Var {
        /// UPS name, as the client spelled it.
        ups: String,
    },
    /// `LIST RW <ups>`
    Rw {
        /// UPS name, as the client spelled it.
        ups: String,
    },
    /// `LIST CMD <ups>`
    Cmd {
        /// UPS name, as the client spelled it.
        ups: String,
    },
    /// `LIST ENUM <ups> <var>`
    Enum {
        /// UPS name, as the client spelled it.
        ups: String,
        /// Variable name.
        var: String,
    },
    /// `LIST RANGE <ups> <var>`
    Range {
        /// UPS name, as the client spelled it.
        ups: String,
        /// Variable name.
        var: String,
    },
    /// `LIST CLIENT <ups>`
    Client {
        /// UPS name, as the client spelled it.
        ups: String,
    },
}

impl ListRequest {
    /// The query words echoed in `BEGIN LIST` / `END LIST` (keyword upper-case, names as sent).
    pub fn query_words(&self) -> String {
        match self {
            ListRequest::Ups => "UPS".to_string(),
            ListRequest::Var { ups } => format!("VAR {ups}"),
            ListRequest::Rw { ups } => format!("RW {ups}"),
            ListRequest::Cmd { ups } => format!("CMD {ups}"),
            ListRequest::Enum { ups, var } => format!("ENUM {ups} {var}"),
            ListRequest::Range { ups, var } => format!("RANGE {ups} {var}"),
            ListRequest::Client { ups } => format!("CLIENT {ups}"),
        }
    }

    /// The UPS this list is about, if any.
    pub fn ups(&self) -> Option<&str> {
        match self {
            ListRequest::Ups => None,
            ListRequest::Var { ups }
            | ListRequest::Rw { ups }
            | ListRequest::Cmd { ups }
            | ListRequest::Enum { ups, .. }
            | ListRequest::Range { ups, .. }
            | ListRequest::Client { ups } => Some(ups),
        }
    }
}

/// A client request, as upsd understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `VER`
    Ver,
    /// `NETVER`
    NetVer,
    /// `PROTVER`
    ProtVer,
    /// `HELP`
    Help,
    /// `STARTTLS`
    StartTls,
    /// `USERNAME <name>`
    Username(String),
    /// `PASSWORD <password>`
    Password(String),
    /// `LOGIN <ups>`
    Login(String),
    /// `LOGOUT`
    Logout,
    /// `PRIMARY <ups>` (or `MASTER <ups>` when `master` is true)
    Primary {
        /// UPS name, as the client spelled it.
        ups: String,
        /// True when the client said MASTER (deprecated alias).
        master: bool,
    },
    /// `FSD <ups>`
    Fsd(String),
    /// `GET ...`
    Get(GetRequest),
    /// `LIST ...`
    List(ListRequest),
    /// `SET VAR <ups> <var> <value>`
    SetVar {
        /// UPS name, as the client spelled it.
        ups: String,
        /// Variable name.
        var: String,
        /// Raw (unescaped) value.
        value: String,
    },
    /// `SET TRACKING ON|OFF`
    SetTracking(bool),
    /// `INSTCMD <ups> <cmd> [<param>]`
    InstCmd {
        /// UPS name, as the client spelled it.
        ups: String,
        /// Instant command name.
        cmd: String,
        /// Optional parameter.
        param: Option<String>,
    },
}

/// The outcome of reading one request line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRequest {
    /// True for verbs that need USERNAME and PASSWORD before anything else is checked.
    pub needs_auth: bool,
    /// The request, or the ERR code upsd gives for its words.
    pub request: Result<Request, ErrCode>,
}

fn verb_needs_auth(verb: &str) -> bool {
    matches!(
        verb,
        "LOGIN" | "PRIMARY" | "MASTER" | "FSD" | "SET" | "INSTCMD"
    )
}

/// Reads the words of one request line (nut-reference.md §1.3-1.6).
pub fn parse_request(words: &[String]) -> ParsedRequest {
    parse_request_owned(words.to_vec())
}

/// [`parse_request`] taking the words, so the request's strings are moved out of them
/// rather than copied (upsd's hot path).
pub fn parse_request_owned(mut words: Vec<String>) -> ParsedRequest {
    let Some((first, args)) = words.split_first_mut() else {
        return ParsedRequest {
            needs_auth: false,
            request: Err(ErrCode::UnknownCommand),
        };
    };
    let mut buffer = [0u8; KEYWORD_BYTES];
    let verb = upper(first, &mut buffer);
    ParsedRequest {
        needs_auth: verb_needs_auth(verb),
        request: parse_verb(verb, args),
    }
}

/// Moves argument `i` out (each is used once).
fn take(args: &mut [String], i: usize) -> String {
    std::mem::take(&mut args[i])
}

/// Longest protocol keyword (`NUMLOGINS`, `TRACKING`, ...) upper-cased without an
/// allocation; longer words are no keyword.
const KEYWORD_BYTES: usize = 16;

/// `word` in upper case, in `buffer`; a word longer than the buffer (no keyword is) or
/// not ASCII comes back as `"?"`, which matches no keyword.
fn upper<'a>(word: &str, buffer: &'a mut [u8; KEYWORD_BYTES]) -> &'a str {
    let Some(slot) = buffer.get_mut(..word.len()) else {
        return "?";
    };
    slot.copy_from_slice(word.as_bytes());
    slot.make_ascii_uppercase();
    std::str::from_utf8(slot).unwrap_or("?")
}

fn exactly<T>(args: &[String], count: usize, build: impl FnOnce() -> T) -> Result<T, ErrCode> {
    if args.len() == count {
        Ok(build())
    } else {
        Err(ErrCode::InvalidArgument)
    }
}

fn parse_verb(verb: &str, args: &mut [String]) -> Result<Request, ErrCode> {
    let one = |args: &mut [String], build: fn(String) -> Request| {
        if args.len() == 1 {
            Ok(build(take(args, 0)))
        } else {
            Err(ErrCode::InvalidArgument)
        }
    };
    match verb {
        "VER" => exactly(args, 0, || Request::Ver),
        "NETVER" => exactly(args, 0, || Request::NetVer),
        "PROTVER" => exactly(args, 0, || Request::ProtVer),
        "HELP" => exactly(args, 0, || Request::Help),
        "LOGOUT" => exactly(args, 0, || Request::Logout),
        "STARTTLS" => Ok(Request::StartTls),
        "USERNAME" => one(args, Request::Username),
        "PASSWORD" => one(args, Request::Password),
        "LOGIN" => one(args, Request::Login),
        "FSD" => one(args, Request::Fsd),
        "PRIMARY" => one(args, |ups| Request::Primary { ups, master: false }),
        "MASTER" => one(args, |ups| Request::Primary { ups, master: true }),
        "GET" => parse_get(args).map(Request::Get),
        "LIST" => parse_list(args).map(Request::List),
        "SET" => parse_set(args),
        "INSTCMD" => {
            if args.len() < 2 {
                return Err(ErrCode::InvalidArgument);
            }
            // The parameter is used only when exactly three words follow INSTCMD.
            let param = (args.len() == 3).then(|| take(args, 2));
            Ok(Request::InstCmd {
                ups: take(args, 0),
                cmd: take(args, 1),
                param,
            })
        }
        _ => Err(ErrCode::UnknownCommand),
    }
}

fn parse_get(args: &mut [String]) -> Result<GetRequest, ErrCode> {
    let Some(sub) = args.first() else {
        return Err(ErrCode::InvalidArgument);
    };
    let mut buffer = [0u8; KEYWORD_BYTES];
    let sub = upper(sub, &mut buffer);
    if sub == "TRACKING" {
        return Ok(GetRequest::Tracking {
            id: (args.len() > 1).then(|| take(args, 1)),
        });
    }
    if args.len() < 2 {
        return Err(ErrCode::InvalidArgument);
    }
    match sub {
        "NUMLOGINS" => return Ok(GetRequest::NumLogins { ups: take(args, 1) }),
        "UPSDESC" => return Ok(GetRequest::UpsDesc { ups: take(args, 1) }),
        _ => {}
    }
    if args.len() < 3 {
        return Err(ErrCode::InvalidArgument);
    }
    let (ups, name) = (take(args, 1), take(args, 2));
    match sub {
        "VAR" => Ok(GetRequest::Var { ups, var: name }),
        "TYPE" => Ok(GetRequest::Type { ups, var: name }),
        "DESC" => Ok(GetRequest::Desc { ups, var: name }),
        "CMDDESC" => Ok(GetRequest::CmdDesc { ups, cmd: name }),
        _ => Err(ErrCode::InvalidArgument),
    }
}

fn parse_list(args: &mut [String]) -> Result<ListRequest, ErrCode> {
    let Some(sub) = args.first() else {
        return Err(ErrCode::InvalidArgument);
    };
    let sub = sub.to_ascii_uppercase();
    if sub == "UPS" {
        return Ok(ListRequest::Ups);
    }
    if args.len() < 2 {
        return Err(ErrCode::InvalidArgument);
    }
    let ups = take(args, 1);
    match sub.as_str() {
        "VAR" => return Ok(ListRequest::Var { ups }),
        "RW" => return Ok(ListRequest::Rw { ups }),
        "CMD" => return Ok(ListRequest::Cmd { ups }),
        "CLIENT" => return Ok(ListRequest::Client { ups }),
        _ => {}
    }
    if args.len() < 3 {
        return Err(ErrCode::InvalidArgument);
    }
    let var = take(args, 2);
    match sub.as_str() {
        "ENUM" => Ok(ListRequest::Enum { ups, var }),
        "RANGE" => Ok(ListRequest::Range { ups, var }),
        _ => Err(ErrCode::InvalidArgument),
    }
}

fn parse_set(args: &mut [String]) -> Result<Request, ErrCode> {
    if args.len() < 2 {
        return Err(ErrCode::InvalidArgument);
    }
    match args[0].to_ascii_uppercase().as_str() {
        "TRACKING" => match args[1].to_ascii_uppercase().as_str() {
            "ON" => Ok(Request::SetTracking(true)),
            "OFF" => Ok(Request::SetTracking(false)),
            _ => Err(ErrCode::InvalidArgument),
        },
        "VAR" if args.len() >= 4 => Ok(Request::SetVar {
            ups: take(args, 1),
            var: take(args, 2),
            value: take(args, 3),
        }),
        _ => Err(ErrCode::InvalidArgument),
    }
}

/// Result of a tracked SET or INSTCMD as reported by `GET TRACKING <id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackingResult {
    /// Not answered by the driver yet.
    Pending,
    /// The driver handled it.
    Success,
    /// The driver did not know the command or variable.
    Unknown,
    /// Bad argument or conversion failure.
    InvalidArgument,
    /// The driver failed to do it.
    Failed,
}

impl TrackingResult {
    /// Maps the driver's `TRACKING <id> <int>` result (nut-reference.md §1.11).
    pub fn from_driver(code: i64) -> TrackingResult {
        match code {
            -1 => TrackingResult::Pending,
            0 => TrackingResult::Success,
            2 | 4 => TrackingResult::InvalidArgument,
            3 => TrackingResult::Failed,
            _ => TrackingResult::Unknown,
        }
    }

    /// The reply line for `GET TRACKING <id>`.
    pub fn reply(self) -> &'static str {
        match self {
            TrackingResult::Pending => "PENDING",
            TrackingResult::Success => "SUCCESS",
            TrackingResult::Unknown => "ERR UNKNOWN",
            TrackingResult::InvalidArgument => "ERR INVALID-ARGUMENT",
            TrackingResult::Failed => "ERR FAILED",
        }
    }
}

/// Formats one list item or GET reply of the `<KIND> <ups> <name> "<value>"` shape.
pub fn format_value_line(kind: &str, ups: &str, name: &str, value: &str) -> String {
    // Room for a few escapes and the LF the reply gets, so neither reallocates.
    let mut out = String::with_capacity(kind.len() + ups.len() + name.len() + value.len() + 8);
    push_value_line(&mut out, kind, ups, name, value);
    out
}

/// [`format_value_line`], appending to `out`.
pub fn push_value_line(out: &mut String, kind: &str, ups: &str, name: &str, value: &str) {
    out.push_str(kind);
    out.push(' ');
    out.push_str(ups);
    out.push(' ');
    out.push_str(name);
    out.push_str(" \"");
    crate::tokenizer::encode_into(out, value);
    out.push('"');
}

/// Formats a complete `LIST` reply (BEGIN, items, END), each line LF-terminated.
pub fn format_list(query: &str, items: &[String]) -> String {
    let mut out = String::with_capacity(32 + items.iter().map(|i| i.len() + 1).sum::<usize>());
    out.push_str("BEGIN LIST ");
    out.push_str(query);
    out.push('\n');
    for item in items {
        out.push_str(truncate_response(item));
        out.push('\n');
    }
    out.push_str("END LIST ");
    out.push_str(query);
    out.push('\n');
    out
}

/// Cuts a response line to upsd's buffer size (it then also loses its LF in NUT; we keep
/// the LF so the stream stays parseable, a documented fix).
pub fn truncate_response(line: &str) -> &str {
    if line.len() <= MAX_RESPONSE_BYTES {
        return line;
    }
    let mut end = MAX_RESPONSE_BYTES;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

/// Formats `ERR <code>`.
pub fn format_err(code: ErrCode) -> String {
    format!("ERR {}", code.as_str())
}

/// Reads one reply line on the client side: its words, or the server's `ERR` code.
/// An `ERR` with an unknown code maps to [`ErrCode::Unknown`].
pub fn parse_reply(line: &str) -> Result<Vec<String>, ErrCode> {
    with_reply(line, |reply| {
        reply.map(|words| words.iter().map(|w| w.to_string()).collect())
    })
}

/// [`parse_reply`], lending the words of the reply's first line to `f` instead of
/// allocating them (upsmon parses a reply per poll).
pub fn with_reply<R>(line: &str, mut f: impl FnMut(Result<&[&str], ErrCode>) -> R) -> R {
    fn judge<'a>(words: &'a [&'a str]) -> Result<&'a [&'a str], ErrCode> {
        if words.first() == Some(&"ERR") {
            let code = words.get(1).and_then(|c| ErrCode::parse(c));
            return Err(code.unwrap_or(ErrCode::Unknown));
        }
        Ok(words)
    }
    let mut tokenizer = crate::tokenizer::Tokenizer::for_line(line.len());
    let mut out = None;
    tokenizer.feed_with(line.as_bytes(), |l| {
        if out.is_none() {
            out = Some(f(judge(l.words)));
        }
    });
    if let Some(r) = out {
        return r;
    }
    if let Some(r) = tokenizer.finish_with(|l| f(judge(l.words))) {
        return r;
    }
    f(Ok(&[]))
}

/// Builds a request line from words, escaping and quoting each like NUT's client library.
pub fn format_request(words: &[&str]) -> String {
    let mut out = String::with_capacity(words.iter().map(|w| w.len() + 1).sum::<usize>() + 4);
    for (index, word) in words.iter().enumerate() {
        if index > 0 {
            out.push(' ');
        }
        crate::tokenizer::quote_if_needed_into(&mut out, word);
    }
    out.push('\n');
    out
}
