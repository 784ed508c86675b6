//! Replays the raw exchanges observed against NUT 2.8.0's upsd (nut-reference.md
//! appendix A, §1, §9) through [`UpsdCore`], comparing reply bytes exactly.
//!
//! A scenario is a table of steps `(who, send, expect)`:
//! * `C<n>`: client `n` sends the line `send` (tokenized like a socket stream);
//!   `expect` is the exact reply text. `{ID1}`... in `expect` captures a tracking id;
//!   `{ID1}` in `send` substitutes it (`{id1}`: lower-case).
//! * `SIDE`: the other effects of the previous client step (see [`render`]).
//! * `NEW:C<n>` (send = address), `BYE:C<n>`, `CONNECT:<ups>`, `KILL:<ups>`,
//!   `D:<ups>` (send = driver output, any number of lines), `AT` (send = the clock in
//!   ms), `TICK`: `expect` is the rendering of every effect; `*` skips the check.

use nut_core::config::parse_upsd_users;
use nut_core::desc::Descriptions;
use nut_core::tokenizer::Tokenizer;
use nut_core::upsd::{Action, ClientId, UpsDefinition, UpsdCore, UpsdSettings};
use nut_core::Millis;
use std::collections::BTreeMap;

const USERS: &str = "
[admin]
    password = secret
    actions = SET FSD
    instcmds = ALL
[mon]
    password = monpass
    upsmon primary
[sec]
    password = secpass
    upsmon secondary
";

/// The real DUMPALL answer of NUT 2.8.0 dummy-ups for a small .dev file.
const ALPHA_DUMP: &str = include_str!("fixtures/dummy-ups-2.8.0-dumpall.txt");

/// appendix A's fake driver: input.transfer.low RW enum 100,103; x.range RW NUMBER
/// ranges 1-10, 20-30; ups.id RW STRING aux 8; ups.mfr a plain read-only string.
const ZETA_DUMP: &str = r#"SETINFO input.transfer.low "100"
ADDENUM input.transfer.low "100"
ADDENUM input.transfer.low "103"
SETFLAGS input.transfer.low RW
SETINFO x.range "5"
ADDRANGE x.range 1 10
ADDRANGE x.range 20 30
SETFLAGS x.range RW NUMBER
SETINFO ups.id "zeta1"
SETAUX ups.id 8
SETFLAGS ups.id RW STRING
SETINFO ups.mfr "Fake"
SETINFO ups.status "OL"
ADDCMD AA.cmd
DATAOK
DUMPDONE
"#;

struct Harness {
    core: UpsdCore,
    now: Millis,
    names: Vec<String>,
    ids: BTreeMap<String, String>,
    /// Effects of the last client step besides its reply.
    side: String,
}

impl Harness {
    fn new(settings: UpsdSettings) -> Harness {
        let users = parse_upsd_users("upsd.users", USERS.as_bytes());
        assert!(users.diagnostics.is_empty(), "{:?}", users.diagnostics);
        let def = |name: &str, driver: &str, desc: Option<&str>| UpsDefinition {
            name: name.to_string(),
            driver: driver.to_string(),
            desc: desc.map(str::to_string),
        };
        // ups.conf order of appendix A: zeta (fake driver), alpha (dummy-ups .dev, no
        // desc) and seq (dummy-ups .seq, never connected here).
        let upses = vec![
            def("zeta", "fake", Some("Zeta \"quoted\" # hash")),
            def("alpha", "dummy-ups", None),
            def("seq", "dummy-ups", Some("seq")),
        ];
        let names = upses.iter().map(|u| u.name.clone()).collect();
        Harness {
            core: UpsdCore::new(upses, users.value, settings, Descriptions::builtin(), 42),
            now: 1_000_000,
            names,
            ids: BTreeMap::new(),
            side: String::new(),
        }
    }

    fn ups(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no UPS {name}"))
    }

    fn client(who: &str) -> ClientId {
        who.trim_start_matches('C')
            .parse()
            .unwrap_or_else(|_| panic!("bad client {who}"))
    }

    /// Renders effects: `close C<n>`, `<ups>< <line to driver>`, `log <event>`, and
    /// `tls C<n>`, one per line. Client replies render as their text.
    fn render(&self, actions: &[Action]) -> String {
        let mut out = String::new();
        for action in actions {
            match action {
                Action::Reply { text, .. } => out.push_str(text),
                Action::Close { client } => out.push_str(&format!("close C{client}\n")),
                Action::StartTls { client } => out.push_str(&format!("tls C{client}\n")),
                Action::ToDriver { ups, line } => {
                    out.push_str(&format!("{}< {}", self.names[*ups], line.format()))
                }
                Action::Event(event) => out.push_str(&format!("log {event}\n")),
            }
        }
        out
    }

    fn substitute(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (name, id) in &self.ids {
            text = text.replace(&format!("{{{name}}}"), id);
            text = text.replace(&format!("{{{}}}", name.to_lowercase()), &id.to_lowercase());
        }
        text
    }

    /// Compares `got` with `expected`, capturing `{IDn}` placeholders.
    fn matches(&mut self, got: &str, expected: &str, context: &str) {
        let expected = self.substitute(expected);
        let Some(start) = expected.find("{ID") else {
            assert_eq!(got, expected, "{context}");
            return;
        };
        let end = start + expected[start..].find('}').expect("closed placeholder");
        let name = expected[start + 1..end].to_string();
        let (before, after) = (&expected[..start], &expected[end + 1..]);
        assert!(
            got.len() == before.len() + 36 + after.len()
                && got.starts_with(before)
                && got.ends_with(after),
            "{context}: got {got:?}, expected {expected:?}"
        );
        let id = &got[before.len()..before.len() + 36];
        // UUIDv4 in upper-case hex, e.g. 2DDC5036-F665-4D29-BE4C-0374D091D263.
        let shape_ok = id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            14 => c == '4',
            19 => "89AB".contains(c),
            _ => c.is_ascii_digit() || ('A'..='F').contains(&c),
        });
        assert!(shape_ok, "{context}: {id} is not an upper-case UUIDv4");
        assert!(!self.ids.values().any(|v| v == id), "tracking id reused");
        self.ids.insert(name, id.to_string());
    }

    fn lines(text: &str) -> Vec<Vec<String>> {
        let mut tokenizer = Tokenizer::new();
        let mut lines = Vec::new();
        tokenizer.feed(text.as_bytes(), &mut lines);
        lines.into_iter().map(|l| l.words).collect()
    }

    fn step(&mut self, who: &str, send: &str, expect: &str) {
        let context = format!("step ({who:?}, {send:?})");
        let send = self.substitute(send);
        let now = self.now;
        let actions: Vec<Action> = if let Some(client) = who.strip_prefix("NEW:") {
            self.core.client_connected(now, Self::client(client), &send);
            Vec::new()
        } else if let Some(client) = who.strip_prefix("BYE:") {
            self.core.client_disconnected(Self::client(client))
        } else if let Some(ups) = who.strip_prefix("CONNECT:") {
            self.core.driver_connected_now(now, self.ups(ups))
        } else if let Some(ups) = who.strip_prefix("KILL:") {
            self.core.driver_disconnected(self.ups(ups))
        } else if let Some(ups) = who.strip_prefix("D:") {
            let index = self.ups(ups);
            Self::lines(&format!("{send}\n"))
                .iter()
                .flat_map(|words| self.core.driver_line(now, index, words))
                .collect()
        } else if who == "AT" {
            self.now = send.parse().expect("AT takes milliseconds");
            Vec::new()
        } else if who == "TICK" {
            self.core.tick(now)
        } else if who == "SIDE" {
            let side = std::mem::take(&mut self.side);
            self.matches(&side, expect, &context);
            return;
        } else {
            let client = Self::client(who);
            let mut lines = Self::lines(&format!("{send}\n"));
            assert_eq!(lines.len(), 1, "{context}: one request line");
            let words = lines.remove(0);
            // The borrowed-words path (upsd's hot path) must answer exactly the same.
            let mut twin = self.core.clone();
            let borrowed: Vec<&str> = words.iter().map(String::as_str).collect();
            let mut twin_reply = String::new();
            let twin_actions = twin.client_words(now, client, &borrowed, &mut twin_reply);
            let actions = self.core.client_line(now, client, &words);
            let mut expected_reply = String::new();
            let mut expected_others = Vec::new();
            for action in &actions {
                match action {
                    Action::Reply { client: c, text } if *c == client => {
                        expected_reply.push_str(text)
                    }
                    other => expected_others.push(other.clone()),
                }
            }
            assert_eq!(twin_reply, expected_reply, "{context}: client_words reply");
            assert_eq!(
                twin_actions, expected_others,
                "{context}: client_words actions"
            );
            let (replies, others): (Vec<Action>, Vec<Action>) = actions
                .into_iter()
                .partition(|a| matches!(a, Action::Reply { client: c, .. } if *c == client));
            assert_eq!(replies.len(), 1, "{context}: exactly one reply");
            self.side = self.render(&others);
            let reply = self.render(&replies);
            self.matches(&reply, expect, &context);
            return;
        };
        self.side.clear();
        if expect != "*" {
            let got = self.render(&actions);
            self.matches(&got, expect, &context);
        }
    }
}

/// Connects alpha and zeta and loads their dumps (run before every scenario).
const SETUP: &[(&str, &str, &str)] = &[
    (
        "CONNECT:alpha",
        "",
        "log Connected to UPS [alpha]: dummy-ups-alpha\nalpha< DUMPALL\n",
    ),
    ("D:alpha", ALPHA_DUMP, ""),
    (
        "CONNECT:zeta",
        "",
        "log Connected to UPS [zeta]: fake-zeta\nzeta< DUMPALL\n",
    ),
    ("D:zeta", ZETA_DUMP, ""),
];

/// Runs a scenario table (after [`SETUP`]) against a fresh upsd with default settings.
fn check(steps: &[(&str, &str, &str)]) {
    check_with(UpsdSettings::default(), steps)
}

fn check_with(settings: UpsdSettings, steps: &[(&str, &str, &str)]) {
    let mut harness = Harness::new(settings);
    for (who, send, expect) in SETUP.iter().chain(steps) {
        harness.step(who, send, expect);
    }
}

#[test]
fn anonymous_client() {
    check(&[
        ("NEW:C1", "127.0.0.1", ""),
        (
            "C1",
            "LIST UPS",
            "BEGIN LIST UPS\nUPS zeta \"Zeta \\\"quoted\\\" \\# hash\"\nUPS alpha \"Description unavailable\"\nUPS seq \"seq\"\nEND LIST UPS\n",
        ),
        (
            "C1",
            "LIST UPS extra args",
            "BEGIN LIST UPS\nUPS zeta \"Zeta \\\"quoted\\\" \\# hash\"\nUPS alpha \"Description unavailable\"\nUPS seq \"seq\"\nEND LIST UPS\n",
        ),
        ("C1", "GET UPSDESC alpha", "UPSDESC alpha \"Unavailable\"\n"),
        ("C1", "GET UPSDESC zeta", "UPSDESC zeta \"Zeta \\\"quoted\\\" \\# hash\"\n"),
        ("C1", "GET UPSDESC seq", "UPSDESC seq \"seq\"\n"),
        ("C1", "GET UPSDESC nosuch", "ERR UNKNOWN-UPS\n"),
        ("C1", "VER", "Network UPS Tools upsd 2.8.0 - http://www.networkupstools.org/\n"),
        ("C1", "NETVER", "1.3\n"),
        ("C1", "PROTVER", "1.3\n"),
        (
            "C1",
            "HELP",
            "Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS\n",
        ),
        ("C1", "VER extra", "ERR INVALID-ARGUMENT\n"),
        ("C1", "", "ERR UNKNOWN-COMMAND\n"),
        ("C1", "   ", "ERR UNKNOWN-COMMAND\n"),
        ("C1", "# comment", "ERR UNKNOWN-COMMAND\n"),
        ("C1", "FOO", "ERR UNKNOWN-COMMAND\n"),
        ("C1", "GET VAR nosuch ups.status", "ERR UNKNOWN-UPS\n"),
        ("C1", "GET VAR alpha nosuch.var", "ERR VAR-NOT-SUPPORTED\n"),
        (
            "C1",
            "GET VAR nosuch server.info",
            "VAR nosuch server.info \"Network UPS Tools upsd 2.8.0 - http://www.networkupstools.org/\"\n",
        ),
        ("C1", "GET VAR alpha server.version", "VAR alpha server.version \"2.8.0\"\n"),
        ("C1", "GET VAR seq SERVER.Version", "VAR seq SERVER.Version \"2.8.0\"\n"),
        ("C1", "GET VAR alpha server.other", "ERR VAR-NOT-SUPPORTED\n"),
        ("C1", "GET VAR alpha", "ERR INVALID-ARGUMENT\n"),
        ("C1", "GET", "ERR INVALID-ARGUMENT\n"),
        ("C1", "GET FOO", "ERR INVALID-ARGUMENT\n"),
        ("C1", "GET FOO BAR", "ERR INVALID-ARGUMENT\n"),
        (
            "C1",
            "LIST ENUM alpha ups.id",
            "BEGIN LIST ENUM alpha ups.id\nEND LIST ENUM alpha ups.id\n",
        ),
        ("C1", "GET NUMLOGINS alpha", "NUMLOGINS alpha 0\n"),
        ("C1", "GET TYPE alpha ups.id", "TYPE alpha ups.id RW STRING:16\n"),
        ("C1", "GET TYPE alpha battery.charge", "TYPE alpha battery.charge RW NUMBER\n"),
        ("C1", "GET TYPE alpha driver.name", "TYPE alpha driver.name NUMBER\n"),
        ("C1", "GET TYPE alpha nosuch", "ERR VAR-NOT-SUPPORTED\n"),
        ("C1", "GET DESC alpha ups.status", "DESC alpha ups.status \"UPS status\"\n"),
        ("C1", "GET DESC alpha x.custom", "DESC alpha x.custom \"Description unavailable\"\n"),
        (
            "C1",
            "GET CMDDESC alpha load.off",
            "CMDDESC alpha load.off \"Turn off the load immediately\"\n",
        ),
        (
            "C1",
            "GET CMDDESC alpha no.such",
            "CMDDESC alpha no.such \"Description unavailable\"\n",
        ),
        ("C1", "GET TRACKING", "OFF\n"),
        ("C1", "GET TRACKING abc", "ERR FEATURE-NOT-CONFIGURED\n"),
        ("C1", "get var alpha UPS.STATUS", "VAR alpha UPS.STATUS \"OL CHRG\"\n"),
        ("C1", "GET VAR ALPHA ups.status", "VAR ALPHA ups.status \"OL CHRG\"\n"),
        ("C1", "GET VAR alpha ups.\x01status", "VAR alpha ups.status \"OL CHRG\"\n"),
        ("C1", "GET VAR alpha ups.status\r", "VAR alpha ups.status \"OL CHRG\"\n"),
        ("C1", "GET VAR alpha ups.mfr", "VAR alpha ups.mfr \"ACME Corp\"\n"),
        ("C1", "GET VAR zeta ups.mfr", "VAR zeta ups.mfr \"Fake\"\n"),
        // Variables sorted case-insensitively; `ups.status` undecorated without FSD.
        (
            "C1",
            "LIST VAR zeta",
            "BEGIN LIST VAR zeta\nVAR zeta input.transfer.low \"100\"\nVAR zeta ups.id \"zeta1\"\nVAR zeta ups.mfr \"Fake\"\nVAR zeta ups.status \"OL\"\nVAR zeta x.range \"5\"\nEND LIST VAR zeta\n",
        ),
        (
            "C1",
            "LIST RW zeta",
            "BEGIN LIST RW zeta\nRW zeta input.transfer.low \"100\"\nRW zeta ups.id \"zeta1\"\nRW zeta x.range \"5\"\nEND LIST RW zeta\n",
        ),
        ("C1", "LIST CMD alpha", "BEGIN LIST CMD alpha\nCMD alpha load.off\nEND LIST CMD alpha\n"),
        ("C1", "list cmd ZETA", "BEGIN LIST CMD ZETA\nCMD ZETA AA.cmd\nEND LIST CMD ZETA\n"),
        ("C1", "LIST CLIENT alpha", "BEGIN LIST CLIENT alpha\nEND LIST CLIENT alpha\n"),
        ("C1", "LIST CLIENTS alpha", "ERR INVALID-ARGUMENT\n"),
        ("C1", "LIST", "ERR INVALID-ARGUMENT\n"),
        ("C1", "LIST VAR", "ERR INVALID-ARGUMENT\n"),
        ("C1", "LIST ENUM alpha", "ERR INVALID-ARGUMENT\n"),
        ("C1", "LIST VAR nosuch", "ERR UNKNOWN-UPS\n"),
        // The type words (§1.4) and list items of appendix A's fake driver.
        (
            "C1",
            "GET TYPE zeta input.transfer.low",
            "TYPE zeta input.transfer.low RW ENUM NUMBER\n",
        ),
        ("C1", "GET TYPE zeta x.range", "TYPE zeta x.range RW RANGE NUMBER\n"),
        ("C1", "GET TYPE zeta ups.id", "TYPE zeta ups.id RW STRING:8\n"),
        ("C1", "GET TYPE zeta ups.mfr", "TYPE zeta ups.mfr NUMBER\n"),
        (
            "C1",
            "LIST ENUM zeta input.transfer.low",
            "BEGIN LIST ENUM zeta input.transfer.low\nENUM zeta input.transfer.low \"100\"\nENUM zeta input.transfer.low \"103\"\nEND LIST ENUM zeta input.transfer.low\n",
        ),
        (
            "C1",
            "LIST RANGE zeta x.range",
            "BEGIN LIST RANGE zeta x.range\nRANGE zeta x.range \"1\" \"10\"\nRANGE zeta x.range \"20\" \"30\"\nEND LIST RANGE zeta x.range\n",
        ),
        ("C1", "LIST ENUM zeta nosuch", "ERR VAR-NOT-SUPPORTED\n"),
        ("C1", "LIST RANGE zeta nosuch", "ERR VAR-NOT-SUPPORTED\n"),
        // seq's driver never connected: only LIST UPS, UPSDESC, LIST CLIENT work.
        ("C1", "GET VAR seq ups.status", "ERR DRIVER-NOT-CONNECTED\n"),
        ("C1", "GET NUMLOGINS seq", "ERR DRIVER-NOT-CONNECTED\n"),
        ("C1", "GET TYPE seq ups.status", "ERR DRIVER-NOT-CONNECTED\n"),
        ("C1", "GET DESC seq ups.status", "ERR DRIVER-NOT-CONNECTED\n"),
        ("C1", "GET CMDDESC seq load.off", "ERR DRIVER-NOT-CONNECTED\n"),
        ("C1", "LIST VAR seq", "ERR DRIVER-NOT-CONNECTED\n"),
        ("C1", "LIST RW seq", "ERR DRIVER-NOT-CONNECTED\n"),
        ("C1", "LIST CMD seq", "ERR DRIVER-NOT-CONNECTED\n"),
        ("C1", "LIST ENUM seq x", "ERR DRIVER-NOT-CONNECTED\n"),
        ("C1", "LIST CLIENT seq", "BEGIN LIST CLIENT seq\nEND LIST CLIENT seq\n"),
        // The auth gate comes before word counts and UPS names (§9 item 1).
        ("C1", "LOGIN alpha", "ERR USERNAME-REQUIRED\n"),
        ("C1", "LOGIN", "ERR USERNAME-REQUIRED\n"),
        ("C1", "FSD", "ERR USERNAME-REQUIRED\n"),
        ("C1", "PRIMARY nosuch", "ERR USERNAME-REQUIRED\n"),
        ("C1", "SET TRACKING ON", "ERR USERNAME-REQUIRED\n"),
        ("C1", "SET", "ERR USERNAME-REQUIRED\n"),
        ("C1", "INSTCMD alpha load.off", "ERR USERNAME-REQUIRED\n"),
        ("C1", "STARTTLS", "ERR FEATURE-NOT-CONFIGURED\n"),
        ("C1", "LOGOUT extra", "ERR INVALID-ARGUMENT\n"),
        ("C1", "LOGOUT", "OK Goodbye\n"),
        ("SIDE", "", "close C1\n"),
    ]);
}

#[test]
fn bad_credentials_and_secondary() {
    check(&[
        ("NEW:C2", "127.0.0.1", ""),
        ("C2", "USERNAME bogus", "OK\n"),
        ("C2", "LOGIN alpha", "ERR PASSWORD-REQUIRED\n"),
        ("C2", "PASSWORD pw", "OK\n"),
        ("C2", "LOGIN alpha", "ERR ACCESS-DENIED\n"),
        ("C2", "USERNAME again", "ERR ALREADY-SET-USERNAME\n"),
        ("C2", "PASSWORD again", "ERR ALREADY-SET-PASSWORD\n"),
        ("C2", "LOGIN", "ERR INVALID-ARGUMENT\n"),
        ("C2", "LOGIN nosuch", "ERR UNKNOWN-UPS\n"),
        ("C2", "SET VAR alpha ups.id x", "ERR ACCESS-DENIED\n"),
        ("C2", "INSTCMD alpha load.off", "ERR ACCESS-DENIED\n"),
        // Right user, wrong password: still only ACCESS-DENIED at use.
        ("NEW:C6", "127.0.0.1", ""),
        ("C6", "USERNAME admin", "OK\n"),
        ("C6", "PASSWORD wrong", "OK\n"),
        ("C6", "SET VAR alpha ups.id x", "ERR ACCESS-DENIED\n"),
        ("C6", "FSD alpha", "ERR ACCESS-DENIED\n"),
        // User names are case-sensitive.
        ("NEW:C7", "127.0.0.1", ""),
        ("C7", "USERNAME Admin", "OK\n"),
        ("C7", "PASSWORD secret", "OK\n"),
        ("C7", "SET VAR alpha ups.id x", "ERR ACCESS-DENIED\n"),
        // The secondary.
        ("NEW:C3", "127.0.0.1", ""),
        ("C3", "USERNAME sec", "OK\n"),
        ("C3", "PASSWORD secpass", "OK\n"),
        ("C3", "LOGIN nosuch", "ERR UNKNOWN-UPS\n"),
        ("C3", "LOGIN alpha", "OK\n"),
        (
            "SIDE",
            "",
            "log User sec@127.0.0.1 logged into UPS [alpha]\n",
        ),
        ("C3", "LOGIN alpha", "ERR ALREADY-LOGGED-IN\n"),
        ("C3", "LOGIN nosuch", "ERR ALREADY-LOGGED-IN\n"),
        (
            "C3",
            "LIST CLIENT alpha",
            "BEGIN LIST CLIENT alpha\nCLIENT alpha 127.0.0.1\nEND LIST CLIENT alpha\n",
        ),
        ("C3", "GET NUMLOGINS alpha", "NUMLOGINS alpha 1\n"),
        ("C3", "PRIMARY alpha", "ERR ACCESS-DENIED\n"),
        ("C3", "MASTER alpha", "ERR ACCESS-DENIED\n"),
        ("C3", "FSD alpha", "ERR ACCESS-DENIED\n"),
        ("C3", "PRIMARY nosuch", "ERR UNKNOWN-UPS\n"),
        ("C3", "FSD nosuch", "ERR UNKNOWN-UPS\n"),
        ("C3", "INSTCMD alpha no.such.cmd", "ERR CMD-NOT-SUPPORTED\n"),
        ("C3", "INSTCMD alpha load.off", "ERR ACCESS-DENIED\n"),
        ("C3", "SET VAR alpha nosuch.var 1", "ERR ACCESS-DENIED\n"),
        ("C3", "SET VAR nosuch ups.id 1", "ERR UNKNOWN-UPS\n"),
        ("C3", "SET VAR seq ups.id 1", "ERR DRIVER-NOT-CONNECTED\n"),
        // Closing the connection undoes the LOGIN.
        (
            "BYE:C3",
            "",
            "log User sec@127.0.0.1 logged out from UPS [alpha]\n",
        ),
        ("C2", "GET NUMLOGINS alpha", "NUMLOGINS alpha 0\n"),
        (
            "C2",
            "LIST CLIENT alpha",
            "BEGIN LIST CLIENT alpha\nEND LIST CLIENT alpha\n",
        ),
    ]);
}

#[test]
fn primary_and_fsd_latch() {
    check(&[
        ("NEW:C3", "127.0.0.1", ""),
        ("C3", "USERNAME sec", "OK\n"),
        ("C3", "PASSWORD secpass", "OK\n"),
        ("C3", "LOGIN alpha", "OK\n"),
        ("NEW:C4", "10.0.0.2", ""),
        ("C4", "USERNAME mon", "OK\n"),
        ("C4", "PASSWORD monpass", "OK\n"),
        ("C4", "PRIMARY alpha", "OK PRIMARY-GRANTED\n"),
        ("SIDE", "", ""),
        ("C4", "MASTER alpha", "OK MASTER-GRANTED\n"),
        ("C4", "primary ALPHA", "OK PRIMARY-GRANTED\n"),
        ("C4", "PRIMARY alpha extra", "ERR INVALID-ARGUMENT\n"),
        ("C4", "PRIMARY seq", "OK PRIMARY-GRANTED\n"),
        ("C4", "LOGIN alpha", "OK\n"),
        // Newest connection first.
        (
            "C4",
            "LIST CLIENT alpha",
            "BEGIN LIST CLIENT alpha\nCLIENT alpha 10.0.0.2\nCLIENT alpha 127.0.0.1\nEND LIST CLIENT alpha\n",
        ),
        ("C4", "GET NUMLOGINS alpha", "NUMLOGINS alpha 2\n"),
        ("C4", "FSD alpha extra", "ERR INVALID-ARGUMENT\n"),
        ("C4", "FSD alpha", "OK FSD-SET\n"),
        ("SIDE", "", "log Client mon@10.0.0.2 set FSD on UPS [alpha]\n"),
        ("C4", "GET VAR alpha ups.status", "VAR alpha ups.status \"FSD OL CHRG\"\n"),
        ("C3", "get var alpha UPS.Status", "VAR alpha UPS.Status \"FSD OL CHRG\"\n"),
        ("C4", "GET VAR zeta ups.status", "VAR zeta ups.status \"OL\"\n"),
        // LIST VAR is decorated, LIST RW is not (§1.9).
        (
            "C4",
            "LIST VAR alpha",
            concat!(
                "BEGIN LIST VAR alpha\n",
                "VAR alpha battery.charge \"100\"\n",
                "VAR alpha battery.charge.low \"20\"\n",
                "VAR alpha device.mfr \"ACME Corp\"\n",
                "VAR alpha device.model \"Dummy UPS\"\n",
                "VAR alpha device.type \"ups\"\n",
                "VAR alpha driver.name \"dummy-ups\"\n",
                "VAR alpha driver.parameter.mode \"dummy-once\"\n",
                "VAR alpha driver.parameter.pollinterval \"2\"\n",
                "VAR alpha driver.parameter.port \"test.dev\"\n",
                "VAR alpha driver.parameter.synchronous \"auto\"\n",
                "VAR alpha driver.version \"2.8.0\"\n",
                "VAR alpha driver.version.internal \"0.15\"\n",
                "VAR alpha input.voltage \"230.0\"\n",
                "VAR alpha ups.id \"abc\"\n",
                "VAR alpha ups.mfr \"ACME Corp\"\n",
                "VAR alpha ups.model \"Dummy UPS\"\n",
                "VAR alpha ups.status \"FSD OL CHRG\"\n",
                "END LIST VAR alpha\n"
            ),
        ),
        (
            "C4",
            "LIST RW alpha",
            concat!(
                "BEGIN LIST RW alpha\n",
                "RW alpha battery.charge \"100\"\n",
                "RW alpha battery.charge.low \"20\"\n",
                "RW alpha input.voltage \"230.0\"\n",
                "RW alpha ups.id \"abc\"\n",
                "RW alpha ups.mfr \"ACME Corp\"\n",
                "RW alpha ups.model \"Dummy UPS\"\n",
                "RW alpha ups.status \"OL CHRG\"\n",
                "END LIST RW alpha\n"
            ),
        ),
        // FSD needs no driver; the latch survives driver loss and reconnection.
        ("C4", "FSD seq", "OK FSD-SET\n"),
        ("SIDE", "", "log Client mon@10.0.0.2 set FSD on UPS [seq]\n"),
        ("KILL:alpha", "", "log Driver for UPS [alpha] disconnected\n"),
        ("C4", "GET VAR alpha ups.status", "ERR DRIVER-NOT-CONNECTED\n"),
        ("C4", "GET NUMLOGINS alpha", "ERR DRIVER-NOT-CONNECTED\n"),
        // Logins survive too: LIST CLIENT needs no driver.
        (
            "C3",
            "LIST CLIENT alpha",
            "BEGIN LIST CLIENT alpha\nCLIENT alpha 10.0.0.2\nCLIENT alpha 127.0.0.1\nEND LIST CLIENT alpha\n",
        ),
        ("C4", "FSD alpha", "OK FSD-SET\n"),
        (
            "CONNECT:alpha",
            "",
            "log Connected to UPS [alpha]: dummy-ups-alpha\nalpha< DUMPALL\n",
        ),
        ("C4", "GET VAR alpha ups.status", "VAR alpha ups.status \"FSD WAIT\"\n"),
        ("C4", "GET VAR alpha ups.mfr", "ERR VAR-NOT-SUPPORTED\n"),
        ("D:alpha", ALPHA_DUMP, ""),
        ("C4", "GET VAR alpha ups.status", "VAR alpha ups.status \"FSD OL CHRG\"\n"),
        ("C4", "GET NUMLOGINS alpha", "NUMLOGINS alpha 2\n"),
        // A driver status change keeps the prefix.
        ("D:alpha", "SETINFO ups.status \"OB DISCHRG LB\"", ""),
        ("C3", "GET VAR alpha ups.status", "VAR alpha ups.status \"FSD OB DISCHRG LB\"\n"),
    ]);
}

#[test]
fn admin_set_and_instcmd() {
    check(&[
        ("NEW:C5", "127.0.0.1", ""),
        ("C5", "USERNAME admin", "OK\n"),
        ("C5", "PASSWORD secret", "OK\n"),
        ("C5", "LOGIN alpha", "ERR ACCESS-DENIED\n"),
        ("C5", "SET VAR alpha nosuch.var 1", "ERR VAR-NOT-SUPPORTED\n"),
        ("C5", "SET VAR alpha driver.name x", "ERR READONLY\n"),
        ("C5", "SET VAR alpha ups.id 12345678901234567", "ERR TOO-LONG\n"),
        ("C5", "SET VAR alpha ups.id 1234567890123456", "OK\n"),
        ("C5", "SET VAR alpha ups.id \"My UPS\"", "OK\n"),
        (
            "SIDE",
            "",
            "alpha< SET ups.id \"My UPS\"\nlog Set variable: admin@127.0.0.1 set ups.id on alpha to My UPS\n",
        ),
        ("C5", "SET VAR alpha ups.id \"a\\\"b\\#c\"", "OK\n"),
        (
            "SIDE",
            "",
            "alpha< SET ups.id \"a\\\"b\\#c\"\nlog Set variable: admin@127.0.0.1 set ups.id on alpha to a\"b#c\n",
        ),
        ("C5", "SET VAR alpha ups.id", "ERR INVALID-ARGUMENT\n"),
        ("C5", "SET VAR seq ups.id x", "ERR DRIVER-NOT-CONNECTED\n"),
        ("C5", "SET FOO", "ERR INVALID-ARGUMENT\n"),
        // Appendix A's fake driver: enums, ranges with atoi semantics, string lengths.
        ("C5", "SET VAR zeta input.transfer.low 101", "ERR INVALID-VALUE\n"),
        ("C5", "SET VAR zeta input.transfer.low 103", "OK\n"),
        ("C5", "SET VAR zeta x.range 25.9", "OK\n"),
        (
            "SIDE",
            "",
            "zeta< SET x.range \"25.9\"\nlog Set variable: admin@127.0.0.1 set x.range on zeta to 25.9\n",
        ),
        ("C5", "SET VAR zeta x.range abc", "ERR INVALID-VALUE\n"),
        ("C5", "SET VAR zeta x.range 15", "ERR INVALID-VALUE\n"),
        ("C5", "SET VAR zeta x.range 10", "OK\n"),
        ("C5", "SET VAR zeta x.range 1", "OK\n"),
        ("C5", "SET VAR zeta x.range 0", "ERR INVALID-VALUE\n"),
        ("C5", "SET VAR zeta x.range 30", "OK\n"),
        ("C5", "SET VAR zeta x.range 31", "ERR INVALID-VALUE\n"),
        ("C5", "SET VAR zeta ups.id 123456789", "ERR TOO-LONG\n"),
        ("C5", "SET VAR zeta ups.id 12345678", "OK\n"),
        ("C5", "SET VAR zeta ups.mfr x", "ERR READONLY\n"),
        ("C5", "SET VAR zeta UPS.ID abc", "OK\n"),
        (
            "SIDE",
            "",
            "zeta< SET UPS.ID \"abc\"\nlog Set variable: admin@127.0.0.1 set UPS.ID on zeta to abc\n",
        ),
        // Setting does not change upsd's copy; only the driver's SETINFO does.
        ("C5", "GET VAR zeta ups.id", "VAR zeta ups.id \"zeta1\"\n"),
        ("D:zeta", "SETINFO ups.id \"abc\"", ""),
        ("C5", "GET VAR zeta ups.id", "VAR zeta ups.id \"abc\"\n"),
        // A change only in letter case is ignored (common/state.c).
        ("D:zeta", "SETINFO ups.id \"ABC\"", ""),
        ("C5", "GET VAR zeta ups.id", "VAR zeta ups.id \"abc\"\n"),
        // INSTCMD: parameter escaped but not quoted, client's spelling kept.
        ("C5", "INSTCMD zeta AA.cmd arg", "OK\n"),
        (
            "SIDE",
            "",
            "zeta< INSTCMD AA.cmd arg\nlog Instant command: admin@127.0.0.1 did AA.cmd on zeta\n",
        ),
        ("C5", "INSTCMD zeta aa.CMD", "OK\n"),
        (
            "SIDE",
            "",
            "zeta< INSTCMD aa.CMD\nlog Instant command: admin@127.0.0.1 did aa.CMD on zeta\n",
        ),
        ("C5", "INSTCMD zeta AA.cmd a b", "OK\n"),
        (
            "SIDE",
            "",
            "zeta< INSTCMD AA.cmd\nlog Instant command: admin@127.0.0.1 did AA.cmd on zeta\n",
        ),
        ("C5", "INSTCMD zeta AA.cmd \"p\\#1\"", "OK\n"),
        (
            "SIDE",
            "",
            "zeta< INSTCMD AA.cmd p\\#1\nlog Instant command: admin@127.0.0.1 did AA.cmd on zeta\n",
        ),
        ("C5", "INSTCMD zeta", "ERR INVALID-ARGUMENT\n"),
        ("C5", "INSTCMD nosuch x", "ERR UNKNOWN-UPS\n"),
        ("C5", "INSTCMD seq x", "ERR DRIVER-NOT-CONNECTED\n"),
        ("C5", "INSTCMD zeta no.such", "ERR CMD-NOT-SUPPORTED\n"),
        // A driver removing the command.
        ("D:zeta", "DELCMD aa.cmd", ""),
        ("C5", "INSTCMD zeta AA.cmd", "ERR CMD-NOT-SUPPORTED\n"),
        ("C5", "LIST CMD zeta", "BEGIN LIST CMD zeta\nEND LIST CMD zeta\n"),
    ]);
}

#[test]
fn tracking() {
    check(&[
        ("NEW:C5", "127.0.0.1", ""),
        ("C5", "USERNAME admin", "OK\n"),
        ("C5", "PASSWORD secret", "OK\n"),
        ("C5", "GET TRACKING", "OFF\n"),
        ("C5", "SET TRACKING ON", "OK\n"),
        ("C5", "GET TRACKING", "ON\n"),
        ("C5", "SET VAR alpha ups.id tracked", "OK TRACKING {ID1}\n"),
        (
            "SIDE",
            "",
            "alpha< SET ups.id \"tracked\" TRACKING {ID1}\nlog Set variable: admin@127.0.0.1 set ups.id on alpha to tracked\n",
        ),
        ("C5", "GET TRACKING {ID1}", "PENDING\n"),
        ("D:alpha", "TRACKING {ID1} 0", ""),
        ("C5", "GET TRACKING {ID1}", "SUCCESS\n"),
        ("C5", "GET TRACKING {id1}", "SUCCESS\n"),
        ("C5", "INSTCMD alpha load.off", "OK TRACKING {ID2}\n"),
        (
            "SIDE",
            "",
            "alpha< INSTCMD load.off TRACKING {ID2}\nlog Instant command: admin@127.0.0.1 did load.off on alpha\n",
        ),
        ("D:alpha", "TRACKING {id2} 1", ""),
        ("C5", "GET TRACKING {ID2}", "ERR UNKNOWN\n"),
        ("C5", "INSTCMD zeta AA.cmd arg", "OK TRACKING {ID3}\n"),
        (
            "SIDE",
            "",
            "zeta< INSTCMD AA.cmd arg TRACKING {ID3}\nlog Instant command: admin@127.0.0.1 did AA.cmd on zeta\n",
        ),
        ("D:zeta", "TRACKING {ID3} 3", ""),
        ("C5", "GET TRACKING {ID3}", "ERR FAILED\n"),
        ("C5", "SET VAR zeta x.range 2", "OK TRACKING {ID4}\n"),
        ("D:zeta", "TRACKING {ID4} 4", ""),
        ("C5", "GET TRACKING {ID4}", "ERR INVALID-ARGUMENT\n"),
        ("C5", "SET VAR zeta x.range 3", "OK TRACKING {ID5}\n"),
        ("D:zeta", "TRACKING {ID5} 2", ""),
        ("C5", "GET TRACKING {ID5}", "ERR INVALID-ARGUMENT\n"),
        // Failed requests get no id.
        ("C5", "SET VAR zeta x.range 15", "ERR INVALID-VALUE\n"),
        ("C5", "GET TRACKING 00000000-0000-4000-8000-000000000000", "ERR UNKNOWN\n"),
        ("C5", "SET TRACKING maybe", "ERR INVALID-ARGUMENT\n"),
        ("C5", "SET TRACKING", "ERR INVALID-ARGUMENT\n"),
        // Tracking is per connection; results are kept while it is off.
        ("NEW:C6", "127.0.0.1", ""),
        ("C6", "GET TRACKING", "OFF\n"),
        ("C6", "GET TRACKING {ID1}", "ERR FEATURE-NOT-CONFIGURED\n"),
        ("C5", "SET TRACKING OFF", "OK\n"),
        ("C5", "GET TRACKING {ID1}", "ERR FEATURE-NOT-CONFIGURED\n"),
        ("C5", "SET VAR alpha ups.id plain", "OK\n"),
        ("C5", "SET TRACKING on", "OK\n"),
        ("C5", "GET TRACKING {ID1}", "SUCCESS\n"),
        // Results older than TRACKINGDELAY (3600 s) are purged. C5 stays active.
        ("AT", "3000000", ""),
        ("C5", "GET TRACKING {ID1}", "SUCCESS\n"),
        ("AT", "4601000", ""),
        ("C5", "GET TRACKING {ID1}", "SUCCESS\n"),
        ("TICK", "", "*"),
        ("C5", "GET TRACKING {ID1}", "ERR UNKNOWN\n"),
    ]);
}

#[test]
fn staleness_and_driver_loss() {
    // The clock starts at 1_000_000 ms; MAXAGE is 15 s.
    check(&[
        ("NEW:C1", "127.0.0.1", ""),
        (
            "C1",
            "GET VAR zeta ups.status",
            "VAR zeta ups.status \"OL\"\n",
        ),
        // A silent driver gets PINGs after MAXAGE/3 of silence, at most every MAXAGE/3.
        // alpha's driver talks all the time, zeta's stays silent.
        ("AT", "1004000", ""),
        ("D:alpha", "PONG", ""),
        ("TICK", "", ""),
        ("AT", "1006000", ""),
        ("D:alpha", "PONG", ""),
        ("TICK", "", "zeta< PING\n"),
        ("AT", "1008000", ""),
        ("D:alpha", "PONG", ""),
        ("TICK", "", ""),
        ("AT", "1012000", ""),
        ("D:alpha", "PONG", ""),
        ("TICK", "", "zeta< PING\n"),
        (
            "C1",
            "GET VAR zeta ups.status",
            "VAR zeta ups.status \"OL\"\n",
        ),
        // Stale only after MAXAGE+1 s of silence.
        ("AT", "1016000", ""),
        ("D:alpha", "PONG", ""),
        ("TICK", "", ""),
        (
            "C1",
            "GET VAR zeta ups.status",
            "VAR zeta ups.status \"OL\"\n",
        ),
        ("AT", "1018000", ""),
        ("D:alpha", "PONG", ""),
        (
            "TICK",
            "",
            "zeta< PING\nlog Data for UPS [zeta] is stale - check driver\n",
        ),
        ("C1", "GET VAR zeta ups.status", "ERR DATA-STALE\n"),
        ("C1", "GET NUMLOGINS zeta", "ERR DATA-STALE\n"),
        ("C1", "LIST VAR zeta", "ERR DATA-STALE\n"),
        (
            "C1",
            "GET UPSDESC zeta",
            "UPSDESC zeta \"Zeta \\\"quoted\\\" \\# hash\"\n",
        ),
        (
            "C1",
            "LIST CLIENT zeta",
            "BEGIN LIST CLIENT zeta\nEND LIST CLIENT zeta\n",
        ),
        // Any recognised line refreshes; unrecognised ones do not.
        ("D:zeta", "BOGUS line", ""),
        ("C1", "GET VAR zeta ups.status", "ERR DATA-STALE\n"),
        ("D:zeta", "PONG", "log UPS [zeta] data is no longer stale\n"),
        (
            "C1",
            "GET VAR zeta ups.status",
            "VAR zeta ups.status \"OL\"\n",
        ),
        // DATASTALE after the dump: stale at once; DATAOK: fresh again.
        (
            "D:zeta",
            "DATASTALE",
            "log Data for UPS [zeta] is stale - check driver\n",
        ),
        ("C1", "GET VAR zeta ups.status", "ERR DATA-STALE\n"),
        ("C1", "GET NUMLOGINS zeta", "ERR DATA-STALE\n"),
        (
            "D:zeta",
            "DATAOK",
            "log UPS [zeta] data is no longer stale\n",
        ),
        ("C1", "GET NUMLOGINS zeta", "NUMLOGINS zeta 0\n"),
        // Driver gone: variables dropped, DRIVER-NOT-CONNECTED, UPSDESC still works.
        ("KILL:zeta", "", "log Driver for UPS [zeta] disconnected\n"),
        ("KILL:zeta", "", ""),
        (
            "C1",
            "GET VAR zeta ups.status",
            "ERR DRIVER-NOT-CONNECTED\n",
        ),
        (
            "C1",
            "GET UPSDESC zeta",
            "UPSDESC zeta \"Zeta \\\"quoted\\\" \\# hash\"\n",
        ),
        ("TICK", "", ""),
        // Reconnect: WAIT until the dump; DATASTALE counts only once DUMPDONE arrived.
        (
            "CONNECT:zeta",
            "",
            "log Connected to UPS [zeta]: fake-zeta\nzeta< DUMPALL\n",
        ),
        (
            "C1",
            "GET VAR zeta ups.status",
            "VAR zeta ups.status \"WAIT\"\n",
        ),
        (
            "C1",
            "LIST VAR zeta",
            "BEGIN LIST VAR zeta\nVAR zeta ups.status \"WAIT\"\nEND LIST VAR zeta\n",
        ),
        ("D:zeta", "DATASTALE\nSETINFO ups.status \"OB\"", ""),
        (
            "C1",
            "GET VAR zeta ups.status",
            "VAR zeta ups.status \"OB\"\n",
        ),
        (
            "D:zeta",
            "DUMPDONE",
            "log Data for UPS [zeta] is stale - check driver\n",
        ),
        ("C1", "GET VAR zeta ups.status", "ERR DATA-STALE\n"),
        (
            "D:zeta",
            "DATAOK",
            "log UPS [zeta] data is no longer stale\n",
        ),
        (
            "C1",
            "GET VAR zeta ups.status",
            "VAR zeta ups.status \"OB\"\n",
        ),
    ]);
}

#[test]
fn idle_clients_are_dropped() {
    check(&[
        ("NEW:C1", "127.0.0.1", ""),
        ("NEW:C3", "127.0.0.1", ""),
        ("C3", "USERNAME sec", "OK\n"),
        ("C3", "PASSWORD secpass", "OK\n"),
        ("C3", "LOGIN alpha", "OK\n"),
        ("AT", "1030000", ""),
        (
            "C1",
            "VER",
            "Network UPS Tools upsd 2.8.0 - http://www.networkupstools.org/\n",
        ),
        // 60 s after its last request C3 is still there; a moment later it is dropped
        // silently (no message to the client) and its LOGIN is undone. The drivers
        // keep talking so that only clients matter here.
        ("AT", "1060000", ""),
        ("D:alpha", "PONG", ""),
        ("D:zeta", "PONG", ""),
        ("TICK", "", ""),
        ("C1", "GET NUMLOGINS alpha", "NUMLOGINS alpha 1\n"),
        ("AT", "1060001", ""),
        (
            "TICK",
            "",
            "close C3\nlog User sec@127.0.0.1 logged out from UPS [alpha]\n",
        ),
        ("C1", "GET NUMLOGINS alpha", "NUMLOGINS alpha 0\n"),
        (
            "C1",
            "LIST CLIENT alpha",
            "BEGIN LIST CLIENT alpha\nEND LIST CLIENT alpha\n",
        ),
        // A line resets the idle timer of C1 (last request at 1060001).
        ("AT", "1120001", ""),
        ("D:alpha", "PONG", ""),
        ("D:zeta", "PONG", ""),
        ("TICK", "", ""),
        ("AT", "1120002", ""),
        ("TICK", "", "close C1\n"),
    ]);
    // A client the core does not know (or no longer knows) gets nothing.
    let mut harness = Harness::new(UpsdSettings::default());
    let words = vec!["VER".to_string()];
    assert!(harness.core.client_line(0, 99, &words).is_empty());
    assert_eq!(harness.core.client_count(), 0);
    harness.step("NEW:C1", "127.0.0.1", "");
    assert_eq!(harness.core.client_count(), 1);
    harness.step("BYE:C1", "", "");
    assert!(harness.core.client_line(0, 1, &words).is_empty());
}

#[test]
fn starttls_when_configured() {
    let settings = UpsdSettings {
        tls_configured: true,
        ..UpsdSettings::default()
    };
    let mut harness = Harness::new(settings);
    harness.step("NEW:C1", "127.0.0.1", "");
    harness.step("C1", "STARTTLS", "OK STARTTLS\n");
    harness.step("SIDE", "", "tls C1\n");
    harness.core.client_tls_established(1);
    harness.step("C1", "STARTTLS", "ERR ALREADY-SSL-MODE\n");
}

#[test]
fn long_replies_are_cut_to_512_bytes() {
    // upsd truncates replies at 512 bytes; we keep the LF (a documented difference).
    let long = "x".repeat(600);
    let dump = format!("SETINFO ups.long \"{long}\"");
    let expected = format!("{}\n", &format!("VAR zeta ups.long \"{long}\"")[..512]);
    let list = format!(
        "BEGIN LIST VAR zeta\n{}\nEND LIST VAR zeta\n",
        &format!("VAR zeta ups.long \"{long}\"")[..512]
    );
    check(&[
        ("D:zeta", &dump, ""),
        (
            "D:zeta",
            "DELINFO ups.id\nDELINFO ups.mfr\nDELINFO x.range",
            "",
        ),
        (
            "D:zeta",
            "DELINFO ups.status\nDELINFO input.transfer.low",
            "",
        ),
        ("NEW:C1", "127.0.0.1", ""),
        ("C1", "GET VAR zeta ups.long", &expected),
        ("C1", "LIST VAR zeta", &list),
    ]);
}

#[test]
fn driver_state_quirks() {
    // common/state.c semantics (nut-reference.md §2.4) as seen through upsd.
    check(&[
        ("NEW:C5", "127.0.0.1", ""),
        ("C5", "USERNAME admin", "OK\n"),
        ("C5", "PASSWORD secret", "OK\n"),
        // A range sharing either bound with an existing one is a duplicate.
        ("D:zeta", "ADDRANGE x.range 1 50\nADDRANGE x.range 40 30\nADDRANGE x.range 40 50", ""),
        (
            "C5",
            "LIST RANGE zeta x.range",
            "BEGIN LIST RANGE zeta x.range\nRANGE zeta x.range \"1\" \"10\"\nRANGE zeta x.range \"20\" \"30\"\nRANGE zeta x.range \"40\" \"50\"\nEND LIST RANGE zeta x.range\n",
        ),
        // DELRANGE removes the first range matching min OR max.
        ("D:zeta", "DELRANGE x.range 99 30", ""),
        (
            "C5",
            "LIST RANGE zeta x.range",
            "BEGIN LIST RANGE zeta x.range\nRANGE zeta x.range \"1\" \"10\"\nRANGE zeta x.range \"40\" \"50\"\nEND LIST RANGE zeta x.range\n",
        ),
        ("C5", "SET VAR zeta x.range 25", "ERR INVALID-VALUE\n"),
        ("C5", "SET VAR zeta x.range 45", "OK\n"),
        // Enums: exact duplicates ignored, DELENUM case-insensitive, SET exact.
        ("D:zeta", "ADDENUM input.transfer.low \"100\"\nADDENUM input.transfer.low \"abc\"", ""),
        ("D:zeta", "DELENUM input.transfer.low \"ABC\"\nADDENUM input.transfer.low \"Low\"", ""),
        (
            "C5",
            "LIST ENUM zeta input.transfer.low",
            "BEGIN LIST ENUM zeta input.transfer.low\nENUM zeta input.transfer.low \"100\"\nENUM zeta input.transfer.low \"103\"\nENUM zeta input.transfer.low \"Low\"\nEND LIST ENUM zeta input.transfer.low\n",
        ),
        ("C5", "SET VAR zeta input.transfer.low low", "ERR INVALID-VALUE\n"),
        ("C5", "SET VAR zeta input.transfer.low Low", "OK\n"),
        // Commands: sorted, de-duplicated case-insensitively.
        ("D:zeta", "ADDCMD aa.CMD\nADDCMD beeper.off\nADDCMD Ab.cmd", ""),
        (
            "C5",
            "LIST CMD zeta",
            "BEGIN LIST CMD zeta\nCMD zeta AA.cmd\nCMD zeta Ab.cmd\nCMD zeta beeper.off\nEND LIST CMD zeta\n",
        ),
        // Lines about missing variables are ignored.
        ("D:zeta", "ADDENUM no.var \"1\"\nSETFLAGS no.var RW\nSETAUX no.var 3", ""),
        ("C5", "GET VAR zeta no.var", "ERR VAR-NOT-SUPPORTED\n"),
        // STRING without aux: SET-FAILED; SETFLAGS replaces all flags.
        ("D:zeta", "SETINFO x.str \"a\"\nSETFLAGS x.str RW STRING", ""),
        ("C5", "GET TYPE zeta x.str", "TYPE zeta x.str RW STRING:0\n"),
        ("C5", "SET VAR zeta x.str b", "ERR SET-FAILED\n"),
        ("D:zeta", "SETFLAGS x.str NUMBER BOGUS", ""),
        ("C5", "GET TYPE zeta x.str", "TYPE zeta x.str NUMBER\n"),
        ("C5", "SET VAR zeta x.str b", "ERR READONLY\n"),
        // DELINFO removes; an empty value is handed to the driver as is.
        ("D:zeta", "DELINFO x.str", ""),
        ("C5", "GET VAR zeta x.str", "ERR VAR-NOT-SUPPORTED\n"),
        ("C5", "SET VAR alpha ups.id \"\"", "OK\n"),
        (
            "SIDE",
            "",
            "alpha< SET ups.id \"\"\nlog Set variable: admin@127.0.0.1 set ups.id on alpha to \n",
        ),
        // Escaped values round-trip from driver to client.
        ("D:zeta", "SETINFO ups.mfr \"back\\\\slash q\\\"uote with\\#hash\"", ""),
        (
            "C5",
            "GET VAR zeta ups.mfr",
            "VAR zeta ups.mfr \"back\\\\slash q\\\"uote with\\#hash\"\n",
        ),
    ]);
}

#[test]
fn a_line_the_tokenizer_rejects_gets_no_reply() {
    let mut harness = Harness::new(UpsdSettings::default());
    let now = harness.now;
    harness.core.client_connected(now, 1, "127.0.0.1");
    let mut tokenizer = Tokenizer::new();
    let mut seen = Vec::new();
    // A `#` inside quotes: NUT's parser rejects the line, and upsd skips it silently.
    tokenizer.feed_with(b"GET VAR alpha \"a#b\"\nVER\n", |line| {
        let mut reply = String::new();
        let actions = harness.core.client_tokens(now, 1, &line, &mut reply);
        seen.push((line.error.is_some(), reply, actions.len()));
    });
    assert_eq!(seen[0], (true, String::new(), 0), "{seen:?}");
    let last = seen.last().expect("lines");
    assert!(
        !last.0 && last.1.starts_with("Network UPS Tools"),
        "{seen:?}"
    );
}

/// `skip_ticks` leaves upsd as the ticks themselves would when every driver answers
/// PING with PONG at once and clients keep asking: checked from several starting
/// phases of the drivers' last lines, with a tracking result purged on the way.
#[test]
fn skipped_ticks_leave_upsd_as_the_ticks_do() {
    use nut_core::upsd::TICK_INTERVAL_MS;
    for offset in [0, 1, 999, 1_000, 2_500, 4_999, 5_001, 7_000] {
        let mut harness = Harness::new(UpsdSettings {
            trackingdelay_s: 30,
            ..UpsdSettings::default()
        });
        let start = harness.now;
        for ups in ["alpha", "zeta"] {
            let index = harness.ups(ups);
            harness.core.driver_connected_now(start, index);
            let dump = if ups == "alpha" {
                ALPHA_DUMP
            } else {
                ZETA_DUMP
            };
            for words in Harness::lines(dump) {
                harness.core.driver_line(start + offset, index, &words);
            }
        }
        harness.core.client_connected(start, 1, "127.0.0.1");
        for line in [
            "USERNAME admin",
            "PASSWORD secret",
            "SET TRACKING ON",
            "INSTCMD zeta AA.cmd",
        ] {
            let words: Vec<String> = line.split(' ').map(str::to_string).collect();
            harness.core.client_line(start, 1, &words);
        }
        assert!(harness.core.ticks_skippable());
        let (first, last) = (start + TICK_INTERVAL_MS, start + 40 * TICK_INTERVAL_MS);
        let mut ticked = harness.core.clone();
        let mut tick = first;
        while tick <= last {
            // The client keeps asking, so it never goes idle.
            ticked.client_line(tick, 1, &["VER".into()]);
            let actions = ticked.tick(tick);
            for action in actions {
                match action {
                    Action::ToDriver { ups, line } => {
                        assert_eq!(line.format(), "PING\n");
                        ticked.driver_line(tick, ups, &["PONG".to_string()]);
                    }
                    other => panic!("a quiet tick did {other:?}"),
                }
            }
            tick += TICK_INTERVAL_MS;
        }
        let mut skipped = harness.core.clone();
        skipped.client_line(last, 1, &["VER".into()]);
        skipped.skip_ticks(first, last);
        assert_eq!(
            format!("{skipped:?}"),
            format!("{ticked:?}"),
            "drivers' last line {offset} ms after start"
        );
    }
}
