//! Tests of dummy-ups (nut-reference.md §6.1, §6.2) and of the driver core's answers
//! (§2.3): .dev parsing quirks, DUMPALL order byte for byte against a real NUT 2.8.0 dump,
//! TIMER handling, SET/INSTCMD/PING replies.

use nut_core::dummy::{parse_dummy_file, DriverState, DummyDevice, DummyMode, DummyStep};
use nut_core::sock::{DriverLine, ServerLine};
use nut_core::tokenizer::tokenize;

fn render_steps(steps: &[DummyStep]) -> String {
    steps
        .iter()
        .map(|step| match step {
            DummyStep::Set { name, value } => format!("set {name} {value:?}"),
            DummyStep::Status(tokens) => format!("status [{}]", tokens.join(" ")),
            DummyStep::Timer(seconds) => format!("timer {seconds}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn render_lines(lines: &[DriverLine]) -> String {
    lines.iter().map(DriverLine::format).collect()
}

/// The one comparison helper: `render(input)` must equal `expected`.
fn check(input: &str, expected: &str, mut render: impl FnMut(&str) -> String) {
    assert_eq!(render(input), expected, "input {input:?}");
}

#[test]
fn dev_file_lines() {
    let long = "v".repeat(200);
    let long_row = format!("ups.mfr: {long}");
    let long_expected = format!("set ups.mfr {:?}", &long[..127]);
    let rows: Vec<(&str, &str)> = vec![
        ("battery.charge: 100", "set battery.charge \"100\""),
        ("battery.charge 100", "set battery.charge \"100\""),
        ("ups.mfr:x y", "set ups.mfr \"y\""),
        ("a:b c", "set a \"c\""),
        // Whitespace between value words collapses; quoted values keep inner spaces.
        ("ups.mfr: ACME Corp   Ltd", "set ups.mfr \"ACME Corp Ltd\""),
        ("ups.mfr: ACME   Corp   ", "set ups.mfr \"ACME Corp\""),
        (
            "ups.model: \"Quoted  Model\"",
            "set ups.model \"Quoted  Model\"",
        ),
        // `=` is a word of its own.
        ("ups.id: a=b", "set ups.id \"a = b\""),
        // `#` starts a comment unless escaped.
        ("ups.mfr: with#hash", "set ups.mfr \"with\""),
        ("ups.mfr: with\\#hash", "set ups.mfr \"with#hash\""),
        (
            "ups.mfr: \"quoted \\\"x\\\"\"",
            "set ups.mfr \"quoted \\\"x\\\"\"",
        ),
        // Values are cut to 127 bytes.
        (&long_row, &long_expected),
        // Status lines: tokens as they are, possibly none.
        ("ups.status: OB LB DISCHRG", "status [OB LB DISCHRG]"),
        ("ups.status:", "status []"),
        ("ups.status", "status []"),
        ("ups.statusfoo: OL", "status [OL]"),
        // driver.* is never taken from the file.
        ("driver.name: foo", ""),
        ("driver.parameter.port: x", ""),
        // TIMER lines.
        ("TIMER 300", "timer 300"),
        ("TIMER", "timer 0"),
        ("TIMER -5", "timer 0"),
        ("TIMER 2.5", "timer 2"),
        ("TIMERS 3", "timer 3"),
        // Nothing to do.
        ("", ""),
        ("# comment", ""),
        (":value", ""),
        // Documented difference: a name with no value is ignored (NUT reuses the
        // previous line's value by accident).
        (
            "battery.charge: 100\nups.test.result:",
            "set battery.charge \"100\"",
        ),
        // An explicitly empty value is kept as a step (setvar deletes the variable).
        ("ups.id: \"\"", "set ups.id \"\""),
        // A line NUT rejects (unescaped # in quotes) is skipped; the rest of the physical
        // line is parsed as a new line.
        ("ups.mfr: \"a # b\" c", "set b\" \"c\""),
        ("ups.mfr: \"a # b\"", ""),
    ];
    for (input, expected) in rows {
        check(input, expected, |text| {
            render_steps(&parse_dummy_file(text.as_bytes()))
        });
    }
    // A whole .seq file (the nut repo's example shape).
    check(
        "ups.status: OL CHRG\nbattery.charge: 100\nTIMER 300\nups.status: OB DISCHRG\nTIMER 300\nups.status: OB LB DISCHRG\nTIMER 60\n",
        "status [OL CHRG]; set battery.charge \"100\"; timer 300; status [OB DISCHRG]; timer 300; status [OB LB DISCHRG]; timer 60",
        |text| render_steps(&parse_dummy_file(text.as_bytes())),
    );
}

const TEST_DEV: &str = "battery.charge: 100
battery.charge.low: 20
ups.id: abc
ups.status: OL CHRG
ups.mfr: ACME   Corp
input.voltage: 230.0
";

/// The DUMPALL answer of NUT 2.8.0 dummy-ups for [`TEST_DEV`] (port `test.dev`), recorded.
const REAL_DUMP: &str = include_str!("fixtures/dummy-ups-2.8.0-dumpall.txt");

fn started(text: &str, port: &str, mode: DummyMode) -> (DriverState, DummyDevice) {
    let mut state = DriverState::new();
    DummyDevice::publish_initial(&mut state, port, mode, 2);
    let device = DummyDevice::new(text.as_bytes(), mode);
    (state, device)
}

#[test]
fn dumpall_matches_real_dummy_ups() {
    let (mut state, mut device) = started(TEST_DEV, "test.dev", DummyMode::Once);
    // Before the first read the driver is stale: DATASTALE first, no DATAOK.
    let before = render_lines(&state.dump());
    assert!(before.starts_with("DATASTALE\nSETINFO device.mfr \"Dummy Manufacturer\"\n"));
    assert!(before.ends_with("ADDCMD load.off\nDUMPDONE\n"));
    device.poll(0, &mut state);
    check("DUMPALL", REAL_DUMP, |line| {
        let words = &tokenize(line.as_bytes())[0].words;
        let server_line = ServerLine::parse(words).expect("DUMPALL parses");
        render_lines(&device.handle(&mut state, &server_line).reply)
    });
    // Every dump line reads back as the same line (upsd side).
    for line in tokenize(REAL_DUMP.as_bytes()) {
        let parsed = DriverLine::parse(&line.words).expect("recognised line");
        assert!(REAL_DUMP.contains(&parsed.format()));
    }
}

#[test]
fn dummy_modes() {
    let rows: &[(&str, Option<&str>, DummyMode, &str)] = &[
        ("test.dev", None, DummyMode::Once, "dummy-once"),
        ("test.seq", None, DummyMode::Loop, "dummy-loop"),
        ("data.txt", None, DummyMode::Loop, "dummy-loop"),
        (
            "test.seq",
            Some("dummy-once"),
            DummyMode::Once,
            "dummy-once",
        ),
        (
            "test.dev",
            Some("dummy-loop"),
            DummyMode::Loop,
            "dummy-loop",
        ),
        ("test.dev", Some("dummy"), DummyMode::Loop, "dummy-loop"),
    ];
    for (port, option, mode, text) in rows {
        assert_eq!(
            DummyMode::for_port(port, *option),
            *mode,
            "{port} {option:?}"
        );
        assert_eq!(mode.as_str(), *text);
    }
}

/// Runs `(time_ms, action, expected broadcast)` steps on one device. Actions: `poll`,
/// `reload <file text>`, or a line from upsd (`SET ...`, `INSTCMD ...`, `PING`), whose
/// reply is rendered after `|`. `*` skips the comparison.
fn run(text: &str, port: &str, mode: DummyMode, steps: &[(u64, &str, &str)]) {
    let (mut state, mut device) = started(text, port, mode);
    for (now, action, expected) in steps {
        let got = if *action == "poll" {
            render_lines(&device.poll(*now, &mut state))
        } else if let Some(text) = action.strip_prefix("reload ") {
            device.reload(text.as_bytes());
            String::new()
        } else {
            let words = &tokenize(action.as_bytes())[0].words;
            let line = ServerLine::parse(words).expect("server line");
            let reply = device.handle(&mut state, &line);
            format!(
                "{}|{}",
                render_lines(&reply.broadcast),
                render_lines(&reply.reply)
            )
        };
        if *expected != "*" {
            assert_eq!(got, *expected, "at {now} ms, {action:?}");
        }
    }
}

#[test]
fn sequences_and_timers() {
    let seq = "ups.status: OL\nTIMER 5\nups.status: OB\nbattery.charge: 50\nTIMER 5\n";
    run(
        seq,
        "test.seq",
        DummyMode::Loop,
        &[
            (0, "poll", "DATAOK\n"),
            (1000, "poll", ""),
            (
                5000,
                "poll",
                "SETINFO ups.status \"OB\"\nSETINFO battery.charge \"50\"\nSETFLAGS battery.charge RW\n",
            ),
            (9999, "poll", ""),
            // The last TIMER expires; the end of the file is reached on that pass and,
            // as in dummy-ups, the file starts again from the top on the next one.
            (10000, "poll", ""),
            (12000, "poll", "SETINFO ups.status \"OL\"\n"),
            (15000, "poll", ""),
            (17000, "poll", "SETINFO ups.status \"OB\"\n"),
        ],
    );
    // Once mode stops at the end, TIMER lines are honoured, reload starts over.
    run(
        seq,
        "test.dev",
        DummyMode::Once,
        &[
            (0, "poll", "DATAOK\n"),
            (
                5000,
                "poll",
                "SETINFO ups.status \"OB\"\nSETINFO battery.charge \"50\"\nSETFLAGS battery.charge RW\n",
            ),
            (10000, "poll", ""),
            (20000, "poll", ""),
            (20000, "reload ups.status: OL BOOST\nups.mfr: New", ""),
            (
                21000,
                "poll",
                // device.mfr is copied from ups.mfr only once, at start-up (NUT's main.c).
                "SETINFO ups.status \"OL BOOST\"\nSETINFO ups.mfr \"New\"\n",
            ),
            (22000, "poll", ""),
        ],
    );
    // Values are re-published only when they change; case-only changes are ignored.
    run(
        "ups.mfr: acme\nups.status: OL\n",
        "x.seq",
        DummyMode::Loop,
        &[
            (
                0,
                "poll",
                "SETINFO ups.mfr \"acme\"\nSETINFO device.mfr \"acme\"\nDATAOK\n",
            ),
            (2000, "poll", ""),
            (4000, "reload ups.mfr: ACME\nups.status: OL", ""),
            (4000, "poll", ""),
        ],
    );
    // An empty status line publishes an empty status.
    run(
        "ups.status:\n",
        "x.dev",
        DummyMode::Once,
        &[(0, "poll", "SETINFO ups.status \"\"\nDATAOK\n")],
    );
    // An explicitly empty value deletes the variable (dummy-ups setvar).
    run(
        "ups.id: abc\n",
        "x.dev",
        DummyMode::Once,
        &[
            (
                0,
                "poll",
                "SETINFO ups.id \"abc\"\nSETFLAGS ups.id RW STRING\nSETAUX ups.id 16\nDATAOK\n",
            ),
            (0, "reload ups.id: \"\"", ""),
            (0, "poll", "DELINFO ups.id\n"),
            (0, "reload ups.id: \"\"", ""),
            (0, "poll", ""),
        ],
    );
}

#[test]
fn answers_to_upsd() {
    run(
        TEST_DEV,
        "test.dev",
        DummyMode::Once,
        &[
            (0, "poll", "*"),
            (0, "PING", "|PONG\n"),
            (0, "NOBROADCAST", "|"),
            // SET succeeds and is broadcast; with TRACKING the result goes back.
            (0, "SET ups.id \"My UPS\"", "SETINFO ups.id \"My UPS\"\n|"),
            (
                0,
                "SET ups.id \"tracked\" TRACKING ID1",
                "SETINFO ups.id \"tracked\"\n|TRACKING ID1 0\n",
            ),
            (
                0,
                "SET ups.mfr \"New Corp\" TRACKING ID2",
                "SETINFO ups.mfr \"New Corp\"\n|TRACKING ID2 0\n",
            ),
            (
                0,
                "SET ups.status \"OB LB\"",
                "SETINFO ups.status \"OB LB\"\n|",
            ),
            // Unknown variables and every instant command are "unknown".
            (0, "SET no.such \"1\" TRACKING ID3", "|TRACKING ID3 1\n"),
            (0, "INSTCMD load.off TRACKING ID4", "|TRACKING ID4 1\n"),
            (0, "INSTCMD load.off", "|"),
            // upsrw -s var= : an empty value deletes the variable (§6.2).
            (
                0,
                "SET ups.id \"\" TRACKING ID5",
                "DELINFO ups.id\n|TRACKING ID5 0\n",
            ),
            (0, "SET ups.id \"\" TRACKING ID6", "|TRACKING ID6 1\n"),
        ],
    );
}

#[test]
fn a_huge_timer_holds_for_ever_instead_of_overflowing() {
    let (mut state, mut device) = started(
        "ups.status: OL\nTIMER 18446744073709551615\nups.status: OB\n",
        "huge.seq",
        DummyMode::Loop,
    );
    device.poll(5_000, &mut state);
    assert_eq!(
        state.tree().get("ups.status").map(|v| v.value.as_str()),
        Some("OL")
    );
    device.poll(u64::MAX - 1, &mut state);
    assert_eq!(
        state.tree().get("ups.status").map(|v| v.value.as_str()),
        Some("OL"),
        "the timer saturates at the end of time"
    );
}

#[test]
fn values_keep_what_nuts_value_buffer_holds() {
    // dstate_setinfo formats into ST_MAX_VALUE_LEN (256) bytes: 255 are kept.
    let mut state = DriverState::new();
    let long = "x".repeat(300);
    state.set("ups.alarm", &long);
    assert_eq!(state.tree().value("ups.alarm").map(str::len), Some(255));
    // A DUMPALL carries NUT's escaped copy, cut at 255 bytes: escaped characters make
    // the value shorter than what a live SETINFO carries.
    let hashes = "#".repeat(200);
    state.set("ups.alarm", &hashes);
    let dumped = state
        .dump()
        .into_iter()
        .find_map(|l| match l {
            DriverLine::SetInfo { var, value } if var == "ups.alarm" => Some(value),
            _ => None,
        })
        .unwrap();
    assert_eq!(dumped, "#".repeat(127));
    assert_eq!(nut_core::state::dump_value("a\"b"), "a\"b");
}
