//! Tests of the network protocol (requests, replies; nut-reference.md §1.3-1.7) and of the
//! driver socket protocol (§2.2-2.4), table-driven, plus format-then-parse properties.

use nut_core::proto::*;
use nut_core::sock::{atoi, DriverLine, ServerLine};
use nut_core::tokenizer::tokenize;

/// The words of the first logical line of `text`.
fn words(text: &str) -> Vec<String> {
    tokenize(text.as_bytes())
        .into_iter()
        .next()
        .map(|l| l.words)
        .unwrap_or_default()
}

/// Parses one request line; renders `auth ` (when USERNAME/PASSWORD are needed first)
/// followed by the Debug form of the result.
fn render_request(line: &str) -> String {
    let parsed = parse_request(&words(line));
    let auth = if parsed.needs_auth { "auth " } else { "" };
    format!("{auth}{:?}", parsed.request)
}

/// Renders the Debug form of a driver line (or `None`).
fn render_driver(line: &str) -> String {
    format!("{:?}", DriverLine::parse(&words(line)))
}

/// Renders the Debug form of a line sent to a driver (or `None`).
fn render_server(line: &str) -> String {
    format!("{:?}", ServerLine::parse(&words(line)))
}

/// The one comparison helper: `render(input)` must equal `expected`.
fn check(render: fn(&str) -> String, input: &str, expected: &str) {
    assert_eq!(render(input), expected, "input {input:?}");
}

#[test]
fn requests() {
    let rows: &[(&str, &str)] = &[
        ("VER", "Ok(Ver)"),
        ("ver", "Ok(Ver)"),
        ("VER extra", "Err(InvalidArgument)"),
        ("NETVER", "Ok(NetVer)"),
        ("PROTVER", "Ok(ProtVer)"),
        ("PROTVER x", "Err(InvalidArgument)"),
        ("HELP", "Ok(Help)"),
        ("HELP me", "Err(InvalidArgument)"),
        ("LOGOUT", "Ok(Logout)"),
        ("LOGOUT now", "Err(InvalidArgument)"),
        ("STARTTLS", "Ok(StartTls)"),
        ("STARTTLS extra", "Ok(StartTls)"),
        ("", "Err(UnknownCommand)"),
        ("   ", "Err(UnknownCommand)"),
        ("# just a comment", "Err(UnknownCommand)"),
        ("FOO", "Err(UnknownCommand)"),
        ("FOO BAR", "Err(UnknownCommand)"),
        // USERNAME/PASSWORD: exactly one word, case kept.
        ("USERNAME Admin", "Ok(Username(\"Admin\"))"),
        ("username admin", "Ok(Username(\"admin\"))"),
        ("USERNAME", "Err(InvalidArgument)"),
        ("USERNAME a b", "Err(InvalidArgument)"),
        ("PASSWORD \"pass word\"", "Ok(Password(\"pass word\"))"),
        ("PASSWORD", "Err(InvalidArgument)"),
        // Auth-gated verbs: the gate is reported whatever the word count.
        ("LOGIN alpha", "auth Ok(Login(\"alpha\"))"),
        ("LOGIN", "auth Err(InvalidArgument)"),
        ("LOGIN a b", "auth Err(InvalidArgument)"),
        ("login Alpha", "auth Ok(Login(\"Alpha\"))"),
        (
            "PRIMARY alpha",
            "auth Ok(Primary { ups: \"alpha\", master: false })",
        ),
        (
            "MASTER alpha",
            "auth Ok(Primary { ups: \"alpha\", master: true })",
        ),
        (
            "master alpha",
            "auth Ok(Primary { ups: \"alpha\", master: true })",
        ),
        ("PRIMARY", "auth Err(InvalidArgument)"),
        ("MASTER a b", "auth Err(InvalidArgument)"),
        ("FSD alpha", "auth Ok(Fsd(\"alpha\"))"),
        ("FSD", "auth Err(InvalidArgument)"),
        ("FSD a b", "auth Err(InvalidArgument)"),
        // GET (netget.c): counts first, unknown sub-command INVALID-ARGUMENT.
        ("GET", "Err(InvalidArgument)"),
        ("GET FOO", "Err(InvalidArgument)"),
        ("GET FOO BAR", "Err(InvalidArgument)"),
        ("GET FOO BAR BAZ", "Err(InvalidArgument)"),
        ("GET TRACKING", "Ok(Get(Tracking { id: None }))"),
        (
            "get tracking abc",
            "Ok(Get(Tracking { id: Some(\"abc\") }))",
        ),
        (
            "GET NUMLOGINS alpha",
            "Ok(Get(NumLogins { ups: \"alpha\" }))",
        ),
        ("GET NUMLOGINS", "Err(InvalidArgument)"),
        ("GET UPSDESC alpha", "Ok(Get(UpsDesc { ups: \"alpha\" }))"),
        ("GET UPSDESC", "Err(InvalidArgument)"),
        (
            "GET VAR alpha ups.status",
            "Ok(Get(Var { ups: \"alpha\", var: \"ups.status\" }))",
        ),
        (
            "get var alpha UPS.STATUS",
            "Ok(Get(Var { ups: \"alpha\", var: \"UPS.STATUS\" }))",
        ),
        ("GET VAR alpha", "Err(InvalidArgument)"),
        (
            "GET VAR alpha ups.status extra",
            "Ok(Get(Var { ups: \"alpha\", var: \"ups.status\" }))",
        ),
        (
            "GET TYPE alpha ups.id",
            "Ok(Get(Type { ups: \"alpha\", var: \"ups.id\" }))",
        ),
        ("GET TYPE alpha", "Err(InvalidArgument)"),
        (
            "GET DESC alpha ups.id",
            "Ok(Get(Desc { ups: \"alpha\", var: \"ups.id\" }))",
        ),
        (
            "GET CMDDESC alpha load.off",
            "Ok(Get(CmdDesc { ups: \"alpha\", cmd: \"load.off\" }))",
        ),
        ("GET CMDDESC alpha", "Err(InvalidArgument)"),
        // LIST (netlist.c).
        ("LIST", "Err(InvalidArgument)"),
        ("LIST UPS", "Ok(List(Ups))"),
        ("LIST UPS extra args", "Ok(List(Ups))"),
        ("list ups", "Ok(List(Ups))"),
        ("LIST VAR", "Err(InvalidArgument)"),
        ("LIST VAR alpha", "Ok(List(Var { ups: \"alpha\" }))"),
        ("LIST RW alpha", "Ok(List(Rw { ups: \"alpha\" }))"),
        ("LIST CMD alpha", "Ok(List(Cmd { ups: \"alpha\" }))"),
        ("LIST CLIENT alpha", "Ok(List(Client { ups: \"alpha\" }))"),
        ("LIST CLIENTS alpha", "Err(InvalidArgument)"),
        ("LIST ENUM alpha", "Err(InvalidArgument)"),
        (
            "LIST ENUM alpha ups.id",
            "Ok(List(Enum { ups: \"alpha\", var: \"ups.id\" }))",
        ),
        (
            "LIST RANGE alpha x.range",
            "Ok(List(Range { ups: \"alpha\", var: \"x.range\" }))",
        ),
        ("LIST FOO alpha bar", "Err(InvalidArgument)"),
        // SET (netset.c).
        ("SET", "auth Err(InvalidArgument)"),
        ("SET VAR", "auth Err(InvalidArgument)"),
        ("SET VAR alpha ups.id", "auth Err(InvalidArgument)"),
        (
            "SET VAR alpha ups.id \"My UPS\"",
            "auth Ok(SetVar { ups: \"alpha\", var: \"ups.id\", value: \"My UPS\" })",
        ),
        (
            "SET VAR alpha ups.id x extra",
            "auth Ok(SetVar { ups: \"alpha\", var: \"ups.id\", value: \"x\" })",
        ),
        (
            "set var alpha ups.id \"\"",
            "auth Ok(SetVar { ups: \"alpha\", var: \"ups.id\", value: \"\" })",
        ),
        ("SET TRACKING", "auth Err(InvalidArgument)"),
        ("SET TRACKING ON", "auth Ok(SetTracking(true))"),
        ("set tracking off", "auth Ok(SetTracking(false))"),
        ("SET TRACKING maybe", "auth Err(InvalidArgument)"),
        ("SET FOO bar", "auth Err(InvalidArgument)"),
        // INSTCMD (netinstcmd.c): the parameter only with exactly three words.
        ("INSTCMD", "auth Err(InvalidArgument)"),
        ("INSTCMD alpha", "auth Err(InvalidArgument)"),
        (
            "INSTCMD alpha load.off",
            "auth Ok(InstCmd { ups: \"alpha\", cmd: \"load.off\", param: None })",
        ),
        (
            "INSTCMD zeta AA.cmd arg",
            "auth Ok(InstCmd { ups: \"zeta\", cmd: \"AA.cmd\", param: Some(\"arg\") })",
        ),
        (
            "INSTCMD zeta AA.cmd a b",
            "auth Ok(InstCmd { ups: \"zeta\", cmd: \"AA.cmd\", param: None })",
        ),
        // Control bytes vanish before parsing.
        (
            "GET VAR alpha ups.\x01status",
            "Ok(Get(Var { ups: \"alpha\", var: \"ups.status\" }))",
        ),
    ];
    for (line, expected) in rows {
        check(render_request, line, expected);
    }
}

/// Small formatting helpers, each row `(got, expected)`.
#[test]
fn reply_formatting() {
    let long_value = "v".repeat(600);
    let long_line = format_value_line("VAR", "u", "x", &long_value);
    let rows: Vec<(String, &str)> = vec![
        (format_err(ErrCode::UnknownUps), "ERR UNKNOWN-UPS"),
        (format_err(ErrCode::DataStale), "ERR DATA-STALE"),
        (
            format_value_line("VAR", "alpha", "ups.status", "OL CHRG"),
            "VAR alpha ups.status \"OL CHRG\"",
        ),
        (format_value_line("UPS", "zeta", "", "x"), "UPS zeta  \"x\""),
        (
            format_value_line("VAR", "a", "device.description", "back\\slash q\"uote"),
            "VAR a device.description \"back\\\\slash q\\\"uote\"",
        ),
        (
            format_value_line("VAR", "a", "x", "with#hash"),
            "VAR a x \"with\\#hash\"",
        ),
        (
            format_list("ENUM alpha ups.id", &[]),
            "BEGIN LIST ENUM alpha ups.id\nEND LIST ENUM alpha ups.id\n",
        ),
        (
            format_list("CMD alpha", &["CMD alpha load.off".to_string()]),
            "BEGIN LIST CMD alpha\nCMD alpha load.off\nEND LIST CMD alpha\n",
        ),
        (truncate_response("short").to_string(), "short"),
        // Truncation keeps exactly 512 bytes (upsd's buffer).
        (truncate_response(&long_line).len().to_string(), "512"),
        (
            format_list("VAR u", std::slice::from_ref(&long_line))
                .len()
                .to_string(),
            // "BEGIN LIST VAR u\n" + 512 + "\n" + "END LIST VAR u\n"
            "545",
        ),
        (
            ListRequest::Enum {
                ups: "Alpha".into(),
                var: "UPS.ID".into(),
            }
            .query_words(),
            "ENUM Alpha UPS.ID",
        ),
        (ListRequest::Ups.query_words(), "UPS"),
        (format!("{:?}", ListRequest::Ups.ups()), "None"),
        (
            format!("{:?}", ListRequest::Client { ups: "z".into() }.ups()),
            "Some(\"z\")",
        ),
        // Client-side request building (upsclient.c): escape, quote only when needed.
        (
            format_request(&["GET", "VAR", "alpha", "ups.status"]),
            "GET VAR alpha ups.status\n",
        ),
        (
            format_request(&["SET", "VAR", "alpha", "ups.id", "My UPS"]),
            "SET VAR alpha ups.id \"My UPS\"\n",
        ),
        (
            format_request(&["PASSWORD", "p#ss\"w"]),
            "PASSWORD p\\#ss\\\"w\n",
        ),
        (
            format_request(&["SET", "VAR", "u", "v", ""]),
            "SET VAR u v \"\"\n",
        ),
        (
            SERVER_INFO.to_string(),
            "Network UPS Tools upsd 2.8.0 - http://www.networkupstools.org/",
        ),
        (
            HELP_TEXT.to_string(),
            "Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS",
        ),
        (PROTOCOL_VERSION.to_string(), "1.3"),
    ];
    for (got, expected) in rows {
        assert_eq!(got, expected);
    }
}

#[test]
fn reply_parsing() {
    let rows: &[(&str, &str)] = &[
        (
            "VAR alpha ups.status \"OL CHRG\"",
            "Ok([\"VAR\", \"alpha\", \"ups.status\", \"OL CHRG\"])",
        ),
        (
            "UPS zeta \"Zeta \\\"quoted\\\" \\# hash\"",
            "Ok([\"UPS\", \"zeta\", \"Zeta \\\"quoted\\\" # hash\"])",
        ),
        ("OK", "Ok([\"OK\"])"),
        (
            "OK TRACKING 2DDC5036-F665-4D29-BE4C-0374D091D263",
            "Ok([\"OK\", \"TRACKING\", \"2DDC5036-F665-4D29-BE4C-0374D091D263\"])",
        ),
        ("", "Ok([])"),
        ("ERR ACCESS-DENIED", "Err(AccessDenied)"),
        ("ERR DATA-STALE", "Err(DataStale)"),
        ("ERR UNKNOWN", "Err(Unknown)"),
        ("ERR FAILED", "Err(Failed)"),
        ("ERR SOMETHING-NEW with words", "Err(Unknown)"),
        ("ERR", "Err(Unknown)"),
    ];
    for (line, expected) in rows {
        check(|l| format!("{:?}", parse_reply(l)), line, expected);
    }
}

#[test]
fn error_codes() {
    // code, parse name, client message (clients/upsclient.c texts from §1.13)
    let rows: &[(ErrCode, &str, &str)] = &[
        (
            ErrCode::VarNotSupported,
            "VAR-NOT-SUPPORTED",
            "Variable not supported by UPS",
        ),
        (ErrCode::UnknownUps, "UNKNOWN-UPS", "Unknown UPS"),
        (ErrCode::AccessDenied, "ACCESS-DENIED", "Access denied"),
        (ErrCode::DataStale, "DATA-STALE", "Data stale"),
        (
            ErrCode::DriverNotConnected,
            "DRIVER-NOT-CONNECTED",
            "Driver not connected",
        ),
        (
            ErrCode::PasswordRequired,
            "PASSWORD-REQUIRED",
            "Password required",
        ),
        (
            ErrCode::UsernameRequired,
            "USERNAME-REQUIRED",
            "Username required",
        ),
        (ErrCode::Readonly, "READONLY", "Read-only variable"),
        (ErrCode::TooLong, "TOO-LONG", "New value is too long"),
        (
            ErrCode::InvalidValue,
            "INVALID-VALUE",
            "Invalid value for variable",
        ),
        (ErrCode::SetFailed, "SET-FAILED", "Set command failed"),
        (
            ErrCode::InstcmdFailed,
            "INSTCMD-FAILED",
            "Instant command failed",
        ),
        (
            ErrCode::CmdNotSupported,
            "CMD-NOT-SUPPORTED",
            "Instant command not supported",
        ),
        (
            ErrCode::UnknownCommand,
            "UNKNOWN-COMMAND",
            "Unknown command",
        ),
        (
            ErrCode::InvalidArgument,
            "INVALID-ARGUMENT",
            "Invalid argument",
        ),
        (
            ErrCode::AlreadyLoggedIn,
            "ALREADY-LOGGED-IN",
            "Already logged in",
        ),
        (
            ErrCode::FeatureNotConfigured,
            "FEATURE-NOT-CONFIGURED",
            "Feature not configured by server",
        ),
        (
            ErrCode::AlreadySetUsername,
            "ALREADY-SET-USERNAME",
            "Already set username",
        ),
        (
            ErrCode::AlreadySetPassword,
            "ALREADY-SET-PASSWORD",
            "Already set password",
        ),
        (
            ErrCode::AlreadySslMode,
            "ALREADY-SSL-MODE",
            "Already in TLS mode",
        ),
        (
            ErrCode::FeatureNotSupported,
            "FEATURE-NOT-SUPPORTED",
            "Feature not supported by server",
        ),
    ];
    for (code, name, message) in rows {
        assert_eq!(code.as_str(), *name);
        assert_eq!(code.to_string(), *name);
        assert_eq!(ErrCode::parse(name), Some(*code));
        assert_eq!(code.client_message(), *message, "{name}");
    }
    assert_eq!(
        ErrCode::parse("access-denied"),
        None,
        "codes are upper-case on the wire"
    );
}

#[test]
fn tracking_results() {
    // driver code -> GET TRACKING reply (nut-reference.md §1.11)
    let rows: &[(i64, &str)] = &[
        (-1, "PENDING"),
        (0, "SUCCESS"),
        (1, "ERR UNKNOWN"),
        (2, "ERR INVALID-ARGUMENT"),
        (3, "ERR FAILED"),
        (4, "ERR INVALID-ARGUMENT"),
        (5, "ERR UNKNOWN"),
        (-7, "ERR UNKNOWN"),
    ];
    for (code, reply) in rows {
        assert_eq!(
            TrackingResult::from_driver(*code).reply(),
            *reply,
            "code {code}"
        );
    }
}

#[test]
fn driver_lines() {
    let rows: &[(&str, &str)] = &[
        (
            "SETINFO ups.status \"OL CHRG\"",
            "Some(SetInfo { var: \"ups.status\", value: \"OL CHRG\" })",
        ),
        (
            "setinfo ups.mfr \"a\\\"b\\\\c\\#d\"",
            "Some(SetInfo { var: \"ups.mfr\", value: \"a\\\"b\\\\c#d\" })",
        ),
        ("SETINFO ups.status", "None"),
        (
            "SETINFO ups.status \"OL\" extra",
            "Some(SetInfo { var: \"ups.status\", value: \"OL\" })",
        ),
        ("DELINFO ups.id", "Some(DelInfo { var: \"ups.id\" })"),
        ("DELINFO", "None"),
        (
            "ADDENUM input.transfer.low \"100\"",
            "Some(AddEnum { var: \"input.transfer.low\", value: \"100\" })",
        ),
        (
            "DELENUM input.transfer.low \"100\"",
            "Some(DelEnum { var: \"input.transfer.low\", value: \"100\" })",
        ),
        ("ADDENUM x", "None"),
        (
            "ADDRANGE x.range 1 10",
            "Some(AddRange { var: \"x.range\", min: 1, max: 10 })",
        ),
        (
            "ADDRANGE x.range -5 7abc",
            "Some(AddRange { var: \"x.range\", min: -5, max: 7 })",
        ),
        ("ADDRANGE x.range 1", "None"),
        (
            "DELRANGE x.range 20 30",
            "Some(DelRange { var: \"x.range\", min: 20, max: 30 })",
        ),
        (
            "SETAUX ups.id 16",
            "Some(SetAux { var: \"ups.id\", aux: 16 })",
        ),
        (
            "SETAUX ups.id x",
            "Some(SetAux { var: \"ups.id\", aux: 0 })",
        ),
        ("SETAUX ups.id", "None"),
        (
            "SETFLAGS ups.id RW STRING",
            "Some(SetFlags { var: \"ups.id\", flags: [\"RW\", \"STRING\"] })",
        ),
        ("SETFLAGS ups.id", "None"),
        ("ADDCMD load.off", "Some(AddCmd { cmd: \"load.off\" })"),
        ("DELCMD load.off", "Some(DelCmd { cmd: \"load.off\" })"),
        ("ADDCMD", "None"),
        ("DUMPDONE", "Some(DumpDone)"),
        ("dumpdone", "Some(DumpDone)"),
        ("PONG", "Some(Pong)"),
        ("DATAOK", "Some(DataOk)"),
        ("DATASTALE", "Some(DataStale)"),
        (
            "TRACKING AB88AFE5-7E9E-4BEA-8033-8F712A3B5572 0",
            "Some(Tracking { id: \"AB88AFE5-7E9E-4BEA-8033-8F712A3B5572\", result: 0 })",
        ),
        (
            "TRACKING id -1",
            "Some(Tracking { id: \"id\", result: -1 })",
        ),
        ("TRACKING id", "None"),
        ("PID 1234", "None"),
        ("OK Goodbye", "None"),
        ("", "None"),
        ("BOGUS a b c", "None"),
    ];
    for (line, expected) in rows {
        check(render_driver, line, expected);
    }
}

#[test]
fn server_lines() {
    let rows: &[(&str, &str)] = &[
        ("DUMPALL", "Some(DumpAll)"),
        ("PING", "Some(Ping)"),
        ("NOBROADCAST", "Some(NoBroadcast)"),
        ("BROADCAST", "Some(Broadcast(true))"),
        ("BROADCAST 1", "Some(Broadcast(true))"),
        ("BROADCAST 0", "Some(Broadcast(false))"),
        ("BROADCAST -3", "Some(Broadcast(false))"),
        ("LOGOUT", "Some(Logout)"),
        (
            "INSTCMD load.off",
            "Some(InstCmd { cmd: \"load.off\", param: None, tracking: None })",
        ),
        (
            "INSTCMD AA.cmd arg",
            "Some(InstCmd { cmd: \"AA.cmd\", param: Some(\"arg\"), tracking: None })",
        ),
        (
            "INSTCMD load.off TRACKING abc",
            "Some(InstCmd { cmd: \"load.off\", param: None, tracking: Some(\"abc\") })",
        ),
        (
            "INSTCMD c p TRACKING abc",
            "Some(InstCmd { cmd: \"c\", param: Some(\"p\"), tracking: Some(\"abc\") })",
        ),
        ("INSTCMD load.off x y", "None"),
        ("INSTCMD c p q TRACKING abc", "None"),
        ("INSTCMD", "None"),
        (
            "SET ups.id \"My UPS\"",
            "Some(Set { var: \"ups.id\", value: \"My UPS\", tracking: None })",
        ),
        (
            "SET ups.id \"x\" TRACKING id1",
            "Some(Set { var: \"ups.id\", value: \"x\", tracking: Some(\"id1\") })",
        ),
        // Exactly five words without TRACKING as 4th word: rejected.
        ("SET ups.id \"x\" FOO id1", "None"),
        // Four or six-plus words: extra words ignored, the SET is performed.
        (
            "SET ups.id \"x\" extra",
            "Some(Set { var: \"ups.id\", value: \"x\", tracking: None })",
        ),
        (
            "SET ups.id \"x\" a b c",
            "Some(Set { var: \"ups.id\", value: \"x\", tracking: None })",
        ),
        ("SET ups.id", "None"),
        ("GETPID", "None"),
        ("", "None"),
    ];
    for (line, expected) in rows {
        check(render_server, line, expected);
    }
}

#[test]
fn socket_line_formatting() {
    let rows: Vec<(String, &str)> = vec![
        (
            DriverLine::SetInfo {
                var: "ups.mfr".into(),
                value: "a\"b\\c#d".into(),
            }
            .format(),
            "SETINFO ups.mfr \"a\\\"b\\\\c\\#d\"\n",
        ),
        (
            DriverLine::SetFlags {
                var: "ups.id".into(),
                flags: vec!["RW".into(), "STRING".into()],
            }
            .format(),
            "SETFLAGS ups.id RW STRING\n",
        ),
        (
            DriverLine::AddRange {
                var: "x".into(),
                min: -1,
                max: 10,
            }
            .format(),
            "ADDRANGE x -1 10\n",
        ),
        (
            DriverLine::SetAux {
                var: "ups.id".into(),
                aux: 16,
            }
            .format(),
            "SETAUX ups.id 16\n",
        ),
        (DriverLine::DumpDone.format(), "DUMPDONE\n"),
        (
            DriverLine::Tracking {
                id: "ID".into(),
                result: 1,
            }
            .format(),
            "TRACKING ID 1\n",
        ),
        (ServerLine::DumpAll.format(), "DUMPALL\n"),
        (ServerLine::Ping.format(), "PING\n"),
        (ServerLine::Broadcast(false).format(), "BROADCAST 0\n"),
        (
            ServerLine::Set {
                var: "x.range".into(),
                value: "25.9".into(),
                tracking: None,
            }
            .format(),
            "SET x.range \"25.9\"\n",
        ),
        (
            ServerLine::Set {
                var: "ups.id".into(),
                value: "t".into(),
                tracking: Some("ID".into()),
            }
            .format(),
            "SET ups.id \"t\" TRACKING ID\n",
        ),
        // INSTCMD's parameter is escaped but not quoted (nut-reference.md §1.6).
        (
            ServerLine::InstCmd {
                cmd: "AA.cmd".into(),
                param: Some("arg".into()),
                tracking: None,
            }
            .format(),
            "INSTCMD AA.cmd arg\n",
        ),
        (
            ServerLine::InstCmd {
                cmd: "c".into(),
                param: Some("p#\"x".into()),
                tracking: None,
            }
            .format(),
            "INSTCMD c p\\#\\\"x\n",
        ),
        (
            ServerLine::InstCmd {
                cmd: "load.off".into(),
                param: None,
                tracking: Some("ID".into()),
            }
            .format(),
            "INSTCMD load.off TRACKING ID\n",
        ),
    ];
    for (got, expected) in rows {
        assert_eq!(got, expected);
    }
}

#[test]
fn atoi_is_strtol() {
    let rows: &[(&str, i64)] = &[
        ("0", 0),
        ("42", 42),
        ("-42", -42),
        ("+7", 7),
        ("  12", 12),
        ("25.9", 25),
        ("abc", 0),
        ("", 0),
        ("-", 0),
        ("12abc", 12),
        ("9223372036854775807", i64::MAX),
        ("99999999999999999999", i64::MAX),
        ("-9223372036854775808", i64::MIN),
        ("-99999999999999999999", i64::MIN),
    ];
    for (text, value) in rows {
        assert_eq!(atoi(text), *value, "atoi({text:?})");
    }
}

// ---------------------------------------------------------------------------------
// Property tests: format then parse gives back the same value.

/// xorshift64: deterministic, dependency-free randomness for property tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn int(&mut self) -> i64 {
        match self.below(4) {
            0 => self.next() as i64,
            1 => [i64::MIN, i64::MAX, 0, -1][self.below(4)],
            _ => self.below(2000) as i64 - 1000,
        }
    }
    /// Any printable ASCII text (values are quoted and escaped on the wire).
    fn printable(&mut self, max_len: usize) -> String {
        let len = self.below(max_len + 1);
        (0..len)
            .map(|_| (0x20 + self.below(0x7f - 0x20)) as u8 as char)
            .collect()
    }
    /// A name that travels as a bare word (variable, command, UPS names, ids).
    fn name(&mut self) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
        let len = 1 + self.below(30);
        (0..len)
            .map(|_| CHARS[self.below(CHARS.len())] as char)
            .collect()
    }
    /// An INSTCMD parameter: escaped but not quoted, so one word without blanks or `=`.
    fn param(&mut self) -> String {
        let len = 1 + self.below(30);
        (0..len)
            .map(|_| loop {
                let c = (0x21 + self.below(0x7f - 0x21)) as u8 as char;
                if c != '=' {
                    break c;
                }
            })
            .collect()
    }
    fn maybe<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        (self.below(2) == 0).then(|| f(self))
    }
}

fn random_driver_line(rng: &mut Rng) -> DriverLine {
    match rng.below(15) {
        0 => DriverLine::SetInfo {
            var: rng.name(),
            value: rng.printable(100),
        },
        1 => DriverLine::DelInfo { var: rng.name() },
        2 => DriverLine::AddEnum {
            var: rng.name(),
            value: rng.printable(50),
        },
        3 => DriverLine::DelEnum {
            var: rng.name(),
            value: rng.printable(50),
        },
        4 => DriverLine::AddRange {
            var: rng.name(),
            min: rng.int(),
            max: rng.int(),
        },
        5 => DriverLine::DelRange {
            var: rng.name(),
            min: rng.int(),
            max: rng.int(),
        },
        6 => DriverLine::SetAux {
            var: rng.name(),
            aux: rng.int(),
        },
        7 => DriverLine::SetFlags {
            var: rng.name(),
            flags: (0..1 + rng.below(4)).map(|_| rng.name()).collect(),
        },
        8 => DriverLine::AddCmd { cmd: rng.name() },
        9 => DriverLine::DelCmd { cmd: rng.name() },
        10 => DriverLine::DumpDone,
        11 => DriverLine::Pong,
        12 => DriverLine::DataOk,
        13 => DriverLine::DataStale,
        _ => DriverLine::Tracking {
            id: rng.name(),
            result: rng.int(),
        },
    }
}

fn random_server_line(rng: &mut Rng) -> ServerLine {
    let tracking = |rng: &mut Rng| rng.maybe(|r| r.name());
    match rng.below(7) {
        0 => ServerLine::DumpAll,
        1 => ServerLine::Ping,
        2 => ServerLine::NoBroadcast,
        3 => ServerLine::Broadcast(rng.below(2) == 0),
        4 => ServerLine::Logout,
        5 => ServerLine::InstCmd {
            cmd: rng.name(),
            param: rng.maybe(|r| r.param()),
            tracking: tracking(rng),
        },
        _ => ServerLine::Set {
            var: rng.name(),
            value: rng.printable(100),
            tracking: tracking(rng),
        },
    }
}

fn parse_one(text: &str) -> Vec<String> {
    let lines = tokenize(text.as_bytes());
    assert_eq!(lines.len(), 1, "one line expected from {text:?}");
    lines
        .into_iter()
        .next()
        .map(|l| l.words)
        .unwrap_or_default()
}

#[test]
fn socket_lines_round_trip() {
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    for _ in 0..5000 {
        let line = random_driver_line(&mut rng);
        let text = line.format();
        assert_eq!(DriverLine::parse(&parse_one(&text)), Some(line), "{text:?}");
        let line = random_server_line(&mut rng);
        let text = line.format();
        assert_eq!(ServerLine::parse(&parse_one(&text)), Some(line), "{text:?}");
    }
}

/// The words a client sends for a request.
fn request_words(request: &Request) -> Vec<String> {
    let s = |v: &[&str]| v.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    match request {
        Request::Ver => s(&["VER"]),
        Request::NetVer => s(&["NETVER"]),
        Request::ProtVer => s(&["PROTVER"]),
        Request::Help => s(&["HELP"]),
        Request::StartTls => s(&["STARTTLS"]),
        Request::Username(u) => s(&["USERNAME", u]),
        Request::Password(p) => s(&["PASSWORD", p]),
        Request::Login(u) => s(&["LOGIN", u]),
        Request::Logout => s(&["LOGOUT"]),
        Request::Primary { ups, master } => s(&[if *master { "MASTER" } else { "PRIMARY" }, ups]),
        Request::Fsd(u) => s(&["FSD", u]),
        Request::Get(get) => match get {
            GetRequest::NumLogins { ups } => s(&["GET", "NUMLOGINS", ups]),
            GetRequest::UpsDesc { ups } => s(&["GET", "UPSDESC", ups]),
            GetRequest::Var { ups, var } => s(&["GET", "VAR", ups, var]),
            GetRequest::Type { ups, var } => s(&["GET", "TYPE", ups, var]),
            GetRequest::Desc { ups, var } => s(&["GET", "DESC", ups, var]),
            GetRequest::CmdDesc { ups, cmd } => s(&["GET", "CMDDESC", ups, cmd]),
            GetRequest::Tracking { id: None } => s(&["GET", "TRACKING"]),
            GetRequest::Tracking { id: Some(id) } => s(&["GET", "TRACKING", id]),
        },
        Request::List(list) => {
            let mut words = s(&["LIST"]);
            words.extend(list.query_words().split(' ').map(str::to_string));
            words
        }
        Request::SetVar { ups, var, value } => s(&["SET", "VAR", ups, var, value]),
        Request::SetTracking(on) => s(&["SET", "TRACKING", if *on { "ON" } else { "OFF" }]),
        Request::InstCmd { ups, cmd, param } => {
            let mut words = s(&["INSTCMD", ups, cmd]);
            words.extend(param.clone());
            words
        }
    }
}

fn random_request(rng: &mut Rng) -> Request {
    // Names as a client may type them: anything printable, quoted when needed. LIST
    // queries are rebuilt from query_words(), so their names are bare words.
    let any = |rng: &mut Rng| rng.printable(60);
    match rng.below(24) {
        0 => Request::Ver,
        1 => Request::NetVer,
        2 => Request::ProtVer,
        3 => Request::Help,
        4 => Request::StartTls,
        5 => Request::Username(any(rng)),
        6 => Request::Password(any(rng)),
        7 => Request::Login(any(rng)),
        8 => Request::Logout,
        9 => Request::Primary {
            ups: any(rng),
            master: rng.below(2) == 0,
        },
        10 => Request::Fsd(any(rng)),
        11 => Request::Get(GetRequest::NumLogins { ups: any(rng) }),
        12 => Request::Get(GetRequest::UpsDesc { ups: any(rng) }),
        13 => Request::Get(GetRequest::Var {
            ups: any(rng),
            var: any(rng),
        }),
        14 => Request::Get(GetRequest::Type {
            ups: any(rng),
            var: any(rng),
        }),
        15 => Request::Get(GetRequest::Desc {
            ups: any(rng),
            var: any(rng),
        }),
        16 => Request::Get(GetRequest::CmdDesc {
            ups: any(rng),
            cmd: any(rng),
        }),
        17 => Request::Get(GetRequest::Tracking { id: rng.maybe(any) }),
        18 => Request::List(match rng.below(7) {
            0 => ListRequest::Ups,
            1 => ListRequest::Var { ups: rng.name() },
            2 => ListRequest::Rw { ups: rng.name() },
            3 => ListRequest::Cmd { ups: rng.name() },
            4 => ListRequest::Enum {
                ups: rng.name(),
                var: rng.name(),
            },
            5 => ListRequest::Range {
                ups: rng.name(),
                var: rng.name(),
            },
            _ => ListRequest::Client { ups: rng.name() },
        }),
        19 | 20 => Request::SetVar {
            ups: any(rng),
            var: any(rng),
            value: any(rng),
        },
        21 => Request::SetTracking(rng.below(2) == 0),
        _ => Request::InstCmd {
            ups: any(rng),
            cmd: any(rng),
            param: rng.maybe(any),
        },
    }
}

#[test]
fn formatted_requests_parse_back() {
    let mut rng = Rng(0xFEED_FACE_CAFE_BEEF);
    for _ in 0..5000 {
        let request = random_request(&mut rng);
        let words = request_words(&request);
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let text = format_request(&refs);
        let parsed = parse_request(&parse_one(&text));
        assert_eq!(parsed.request, Ok(request), "{text:?}");
    }
}
