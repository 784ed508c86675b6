//! apcsmart's device logic against recorded APC Smart-UPS units (hw-fixtures/apcsmart),
//! each served by the modelled unit over an in-memory serial line.

use nut_core::apcsmart::{ApcDriver, ApcOptions, Io, Job, Link, Note, Outcome, SmartUps};
use nut_core::dummy::{tracking, DriverState};
use nut_core::transcript::Transcript;
use std::path::PathBuf;

fn fixture(name: &str) -> Transcript {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../hw-fixtures/apcsmart/{name}.txt"));
    Transcript::parse(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn fixtures() -> Vec<(String, Transcript)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../hw-fixtures/apcsmart");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.len() >= 4,
        "hw-fixtures/apcsmart has {} fixtures",
        names.len()
    );
    names
        .into_iter()
        .map(|n| (n.clone(), fixture(&n)))
        .collect()
}

struct Unit {
    link: Link,
    driver: ApcDriver,
    state: DriverState,
}

fn options(t: &Transcript, extra: &[(&str, &str)]) -> ApcOptions {
    let mut opts = t.options.clone();
    for (k, v) in extra {
        opts.push((k.to_string(), Some(v.to_string())));
    }
    ApcOptions::from_options("/dev/ttyS0", &opts).unwrap()
}

fn start(t: &Transcript, extra: &[(&str, &str)]) -> (Unit, Vec<Note>) {
    let mut unit = Unit {
        link: Link::new(SmartUps::new(t)),
        driver: ApcDriver::new(options(t, extra)),
        state: DriverState::new(),
    };
    for (k, v) in &t.options {
        match v {
            Some(v) => unit.state.set(&format!("driver.parameter.{k}"), v),
            None => unit.state.set(&format!("driver.flag.{k}"), "enabled"),
        };
    }
    let (outcome, _, notes) = unit.job(&Job::Start);
    assert_eq!(outcome, Outcome::Started, "{notes:?}");
    (unit, notes)
}

impl Unit {
    fn job(&mut self, job: &Job) -> (Outcome, Vec<nut_core::sock::DriverLine>, Vec<Note>) {
        self.link.run(&mut self.driver, &mut self.state, job)
    }
    fn value(&self, var: &str) -> Option<&str> {
        self.state.tree().value(var)
    }
    fn poll(&mut self) -> Vec<Note> {
        self.link.now += 2_000;
        self.job(&Job::Update).2
    }
    fn cmd(&mut self, cmd: &str, arg: Option<&str>) -> i64 {
        match self.job(&Job::InstCmd {
            cmd: cmd.into(),
            arg: arg.map(str::to_string),
        }) {
            (Outcome::Tracking(code), _, _) => code,
            other => panic!("{other:?}"),
        }
    }
    fn set(&mut self, var: &str, value: &str) -> i64 {
        match self.job(&Job::Set {
            var: var.into(),
            value: value.into(),
        }) {
            (Outcome::Tracking(code), _, _) => code,
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn every_fixture_gives_the_variables_nut_printed() {
    let mut failures = Vec::new();
    for (name, t) in fixtures() {
        let (mut unit, _) = start(&t, &[]);
        unit.poll();
        for (var, want) in &t.expect {
            let got = unit.value(var);
            if got != Some(want.as_str()) {
                failures.push(format!("{name}: {var}: want {want:?}, got {got:?}"));
            }
        }
        assert!(!unit.state.is_stale(), "{name}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_capability_list_makes_settings_writable_with_their_values() {
    let (unit, _) = start(&fixture("apc-smart-ups-sc450-rm"), &[]);
    let tree = unit.state.tree();
    let high = tree.get("input.transfer.high").unwrap();
    assert!(high.flags.rw);
    assert_eq!(high.enums, ["253", "257", "261", "265"]);
    // Hours to seconds, and "ON " and "OFF" both read as 0: one value.
    assert_eq!(
        tree.get("ups.test.interval").unwrap().enums,
        ["1209600", "604800", "0"]
    );
    assert_eq!(
        tree.get("battery.runtime.low").unwrap().enums,
        ["120", "300", "420", "600"]
    );
    let id = tree.get("ups.id").unwrap();
    assert!(id.flags.rw && id.flags.string);
    assert_eq!(id.aux, 8);
    // Not in the list: read-only.
    assert!(!tree.get("battery.voltage").unwrap().flags.rw);
    let cmds: Vec<&str> = tree.cmds().collect();
    for c in [
        "load.off",
        "load.on",
        "shutdown.return",
        "shutdown.stayoff",
        "test.battery.start",
        "calibrate.start",
        "test.panel.start",
        "test.failure.start",
    ] {
        assert!(cmds.contains(&c), "{c} missing from {cmds:?}");
    }
    assert!(!cmds.contains(&"bypass.start"));
}

#[test]
fn set_var_cycles_an_enumerated_setting_and_writes_strings() {
    let (mut unit, _) = start(&fixture("apc-smart-ups-sc450-rm"), &[]);
    assert_eq!(unit.set("input.transfer.high", "261"), tracking::SUCCESS);
    assert_eq!(unit.value("input.transfer.high"), Some("261"));
    assert_eq!(unit.link.ups.value(b'u'), Some(&b"261"[..]));
    // A value the unit does not offer: it cycles round once and gives up.
    assert_eq!(unit.set("input.transfer.high", "300"), tracking::FAILED);
    assert_eq!(unit.set("ups.test.interval", "604800"), tracking::SUCCESS);
    assert_eq!(unit.link.ups.value(b'E'), Some(&b"168"[..]));
    assert_eq!(unit.set("ups.id", "RACK4"), tracking::SUCCESS);
    assert_eq!(unit.value("ups.id"), Some("RACK4"));
    assert_eq!(unit.set("ups.id", "NINECHARS"), tracking::FAILED);
    assert_eq!(unit.set("battery.voltage", "12"), tracking::UNKNOWN);
    assert_eq!(unit.set("no.such.var", "1"), tracking::UNKNOWN);
    // The string went out as '-', the value, CR padding to 8, paced.
    let w = &unit.link.written;
    assert!(w.windows(9).any(|x| x == b"-RACK4\r\r\r"), "{w:?}");
}

#[test]
fn instant_commands_go_to_the_unit_and_nasty_ones_need_confirming() {
    let (mut unit, _) = start(&fixture("apc-smart-ups-sc450-rm"), &[]);
    assert_eq!(unit.cmd("test.battery.start", None), tracking::SUCCESS);
    assert_eq!(unit.link.ups.done, ["W"]);
    assert_eq!(unit.cmd("bypass.start", None), tracking::INVALID);
    assert_eq!(unit.cmd("no.such.cmd", None), tracking::INVALID);
    // load.off once: nothing happens (NUT's confirmation window).
    assert_eq!(unit.cmd("load.off", None), tracking::SUCCESS);
    assert_eq!(unit.link.ups.done, ["W"]);
    unit.link.now += 5_000;
    assert_eq!(unit.cmd("load.off", None), tracking::SUCCESS);
    assert_eq!(unit.link.ups.done, ["W", "Z"]);
    // shutdown.return with a wake-up delay: @ and three digits.
    unit.link.now += 60_000;
    unit.cmd("shutdown.return", Some("AT:5"));
    unit.link.now += 4_000;
    assert_eq!(unit.cmd("shutdown.return", Some("AT:5")), tracking::SUCCESS);
    assert_eq!(unit.link.ups.done, ["W", "Z", "@005"]);
    // Two digits go out as two (older units); this one wants three and refuses.
    unit.link.now += 60_000;
    unit.cmd("shutdown.return", Some("AT:12"));
    unit.link.now += 4_000;
    assert_eq!(unit.cmd("shutdown.return", Some("AT:12")), tracking::FAILED);
    assert_eq!(unit.link.ups.done.len(), 3);
    // calibrate.stop while none runs: logged, nothing sent.
    assert_eq!(unit.cmd("calibrate.stop", None), tracking::SUCCESS);
    assert_eq!(unit.link.ups.done.len(), 3);
}

fn kill(t: &Transcript, extra: &[(&str, &str)], status: &[u8]) -> (Outcome, SmartUps) {
    let mut link = Link::new(SmartUps::new(t));
    link.ups.set_value(b'Q', status);
    let mut driver = ApcDriver::new(options(t, extra));
    let mut state = DriverState::new();
    let (outcome, _, _) = link.run(&mut driver, &mut state, &Job::Shutdown);
    (outcome, link.ups)
}

#[test]
fn kill_power_picks_the_method_from_the_status() {
    let t = fixture("apc-smart-ups-sc450-rm");
    // On battery: soft shutdown S (the UPS waits for mains, then restarts the load).
    let (outcome, ups) = kill(&t, &[], b"10");
    assert!(matches!(outcome, Outcome::ShutdownSent(_)), "{outcome:?}");
    assert_eq!(ups.done, ["S"]);
    // On mains again (power came back during the shutdown): S would be ignored; the
    // hard hibernate @000 cycles the load.
    let (outcome, ups) = kill(&t, &[], b"08");
    assert!(matches!(outcome, Outcome::ShutdownSent(_)), "{outcome:?}");
    assert_eq!(ups.done, ["@000"]);
    let (_, ups) = kill(&t, &[("awd", "5")], b"08");
    assert_eq!(ups.done, ["@005"]);
    // sdtype 3: delayed power-off K K; 2: instant Z Z; 1: S, else @.
    assert_eq!(kill(&t, &[("sdtype", "3")], b"08").1.done, ["K"]);
    assert_eq!(kill(&t, &[("sdtype", "2")], b"08").1.done, ["Z"]);
    assert_eq!(kill(&t, &[("sdtype", "1")], b"08").1.done, ["@000"]);
    assert_eq!(kill(&t, &[("sdtype", "1")], b"50").1.done, ["S"]);
    // sdtype 4 (CS 350 hack) on mains: simulate a failure (U), wait, S.
    assert_eq!(
        kill(&t, &[("sdtype", "4"), ("cshdelay", "0.5")], b"08")
            .1
            .done,
        ["U"]
    );
    // advorder: each method in turn until one is accepted (S refused on mains).
    assert_eq!(kill(&t, &[("advorder", "02")], b"08").1.done, ["K"]);
    // A silent unit: nothing accepted, -k fails.
    let mut link = Link::new(SmartUps::new(&t));
    link.silent = true;
    let mut driver = ApcDriver::new(options(&t, &[]));
    let (outcome, _, _) = link.run(&mut driver, &mut DriverState::new(), &Job::Shutdown);
    assert!(matches!(outcome, Outcome::Fatal(_)), "{outcome:?}");
}

#[test]
fn bad_options_are_refused_with_nuts_messages() {
    let t = fixture("apc-smart-ups-sc450-rm");
    for (k, v) in [
        ("awd", "1234"),
        ("sdtype", "6"),
        ("advorder", "15"),
        ("cshdelay", "10"),
    ] {
        let opts = vec![(k.to_string(), Some(v.to_string()))];
        assert_eq!(
            ApcOptions::from_options("/dev/x", &opts).unwrap_err(),
            format!("invalid value ({v}) for option '{k}'")
        );
    }
    assert_eq!(options(&t, &[("cshdelay", ".5")]).cshdelay_ms, 500);
    assert_eq!(options(&t, &[("advorder", "no")]).advorder, None);
}

#[test]
fn a_silent_unit_goes_stale_once_and_comes_back() {
    let (mut unit, _) = start(&fixture("apc-smart-ups-3000-rm"), &[]);
    unit.link.silent = true;
    let notes = unit.poll();
    assert!(unit.state.is_stale());
    assert!(notes.contains(&Note::Lost), "{notes:?}");
    let lost_logs = |notes: &[Note]| {
        notes
            .iter()
            .filter(
                |n| matches!(n, Note::Log(_, t) if t.starts_with("Communications with UPS lost")),
            )
            .count()
    };
    assert_eq!(lost_logs(&notes), 1);
    let mut later = Vec::new();
    for _ in 0..12 {
        later.extend(unit.poll());
    }
    assert_eq!(lost_logs(&later), 0, "{later:?}");
    assert!(!later.contains(&Note::Lost));
    unit.link.silent = false;
    let mut back = Vec::new();
    for _ in 0..10 {
        back.extend(unit.poll());
    }
    assert!(!unit.state.is_stale());
    assert!(back.contains(&Note::Restored), "{back:?}");
    assert_eq!(unit.value("ups.status"), Some("OL"));
}

#[test]
fn alerts_between_replies_change_the_status_at_once() {
    let (mut unit, _) = start(&fixture("apc-smart-ups-3000-rm"), &[]);
    // The unit went on battery: '!' arrives before the next reply.
    unit.link.ups.set_value(b'C', b"!046.8");
    unit.poll();
    // The alert set OB; the status read later in the same poll ('Q' comes first) is
    // what the next poll shows.
    assert_eq!(unit.value("ups.temperature"), Some("046.8"));
    unit.link.ups.set_value(b'Q', b"50");
    unit.poll();
    assert_eq!(unit.value("ups.status"), Some("OB LB"));
}

#[test]
fn garbage_never_panics_and_a_broken_caps_string_is_ignored() {
    let mut t = fixture("apc-smart-ups-sc450-rm");
    for (q, r) in t.exchanges.iter_mut() {
        if q == b"\x1a" {
            *r = Some(b"#uI\xff3253".to_vec());
        }
    }
    let (unit, notes) = start(&t, &[]);
    assert!(notes
        .iter()
        .any(|n| matches!(n, Note::Log(_, t) if t.contains("out of range"))));
    assert!(unit.state.tree().get("input.transfer.high").is_some());
    // Overlong, binary and truncated replies.
    let mut unit = unit;
    unit.link.ups.set_value(b'L', &[b'9'; 600]);
    unit.poll();
    unit.link.ups.set_value(b'L', b"\xff\xfe\x00");
    unit.poll();
    unit.link.ups.set_value(b'Q', b"");
    unit.poll();
    // NULs are skipped, as NUT's reads skip them.
    unit.link.ups.set_value(b'Q', b"08");
    unit.link.ups.set_value(b'L', b"\x00231.8\x00");
    for _ in 0..12 {
        unit.poll();
    }
    assert_eq!(unit.value("input.voltage"), Some("231.8"));
    let _ = Io::Flush;
}
