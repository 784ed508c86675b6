//! Tests of upsmon's decisions (nut-reference.md §3.3-3.6, §9 items 7-9) through
//! [`UpsmonCore`], as scenario tables.
//!
//! A scenario is a config plus steps `(time_ms, action, expect)`. Actions:
//! * `N: <status>`: monitor N's `ups.status` poll answered `<status>`;
//! * `N! <ERR-CODE>`: upsd answered an error; `N~`: the connection is lost;
//! * `end`: end of the poll cycle (critical rule); `next`: ask for the next command;
//! * `fsd-sent`, `logins <n>`, `done` (SHUTDOWNCMD ran), `user-fsd`.
//!
//! `expect` lists, space-separated: the notifications queued by the step (NOTIFYTYPE
//! names), `ASSUMED-DEAD`, `HOSTSYNC-DONE`/`HOSTSYNC-EXPIRED` log events, `CRIT` when
//! `end` started the shutdown, and for `next` the command: `poll`, `sleep <t>`,
//! `setfsd <list or ->`, `numlogins <list>`, `run-shutdown`, `exit`.

use nut_core::config::{parse_upsmon_conf, UpsmonConf};
use nut_core::event::Event;
use nut_core::proto::ErrCode;
use nut_core::upsmon::{Command, PollOutcome, UpsmonCore};

fn conf(text: &str) -> UpsmonConf {
    let parsed = parse_upsmon_conf("upsmon.conf", text.as_bytes());
    assert!(!parsed.has_errors(), "{:?}", parsed.diagnostics);
    parsed.value
}

const PRIMARY: &str = "MONITOR ups1@localhost 1 mon monpass primary
POWERDOWNFLAG /etc/killpower
SHUTDOWNCMD \"/sbin/shutdown -h +0\"
POLLFREQ 5
POLLFREQALERT 2
";

const SECONDARY: &str = "MONITOR ups1@server 1 sec secpass secondary
POWERDOWNFLAG /etc/killpower
SHUTDOWNCMD \"/sbin/shutdown -h +0\"
POLLFREQ 5
POLLFREQALERT 2
";

fn list(v: &[usize]) -> String {
    if v.is_empty() {
        return "-".to_string();
    }
    v.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}

fn step(core: &mut UpsmonCore, now: u64, action: &str) -> Vec<String> {
    let mut out = Vec::new();
    let monitor = |a: &str| -> usize { a[..1].parse().expect("monitor index") };
    match action {
        "end" => {
            if core.end_poll_cycle(now) {
                out.push("CRIT".to_string());
            }
        }
        "next" => out.push(match core.next_command(now) {
            Command::PollAll => "poll".to_string(),
            Command::SleepUntil(t) => format!("sleep {t}"),
            Command::SetFsd(v) => format!("setfsd {}", list(&v)),
            Command::QueryNumLogins(v) => format!("numlogins {}", list(&v)),
            Command::RunShutdown {
                powerdownflag,
                shutdowncmd,
            } => {
                assert_eq!(powerdownflag.as_deref(), Some("/etc/killpower"));
                assert_eq!(shutdowncmd.as_deref(), Some("/sbin/shutdown -h +0"));
                "run-shutdown".to_string()
            }
            Command::Exit => "exit".to_string(),
        }),
        "fsd-sent" => core.fsd_sent(now),
        "done" => core.shutdown_done(),
        "user-fsd" => core.user_fsd(),
        // `logins ?`: upsd did not report the count (an error reply, a lost connection).
        _ if action.starts_with("logins ") => core.numlogins_result(now, action[7..].parse().ok()),
        _ if action[1..].starts_with(": ") => core.poll_result(
            now,
            monitor(action),
            PollOutcome::Status(action[3..].to_string()),
        ),
        _ if action[1..].starts_with("! ") => {
            let code = ErrCode::parse(&action[3..]).expect("error code");
            core.poll_result(now, monitor(action), PollOutcome::Error(code))
        }
        _ if action[1..].starts_with('~') => core.poll_result(
            now,
            monitor(action),
            PollOutcome::ConnectionLost("Server disconnected".to_string()),
        ),
        _ => panic!("unknown action {action:?}"),
    }
    let mut rendered: Vec<String> = core
        .take_notifications()
        .into_iter()
        .map(|n| n.kind.as_str().to_string())
        .collect();
    for event in core.take_events() {
        match event {
            Event::AssumedDead { .. } => rendered.push("ASSUMED-DEAD".to_string()),
            Event::HostsyncDone { expired: true, .. } => {
                rendered.push("HOSTSYNC-EXPIRED".to_string())
            }
            Event::HostsyncDone { expired: false, .. } => {
                rendered.push("HOSTSYNC-DONE".to_string())
            }
            _ => {}
        }
    }
    rendered.extend(out);
    rendered
}

/// Runs the steps of one scenario and compares each step's rendering.
fn check(conf_text: &str, steps: &[(u64, &str, &str)]) {
    let mut core = UpsmonCore::new(0, conf(conf_text));
    for (now, action, expected) in steps {
        let got = step(&mut core, *now, action).join(" ");
        assert_eq!(got, *expected, "at {now} ms, step {action:?}");
    }
}

#[test]
fn primary_ob_then_lb_shuts_down() {
    check(
        PRIMARY,
        &[
            (0, "next", "poll"),
            (0, "0: OL", ""),
            (0, "end", ""),
            (0, "next", "sleep 5000"),
            (4999, "next", "sleep 5000"),
            (5000, "next", "poll"),
            (5000, "0: OB DISCHRG", "ONBATT"),
            (5000, "end", ""),
            (5000, "next", "sleep 7000"),
            (7000, "0: OB DISCHRG LB", "LOWBATT"),
            (7000, "end", "CRIT"),
            (7000, "next", "setfsd 0"),
            (7000, "fsd-sent", ""),
            (7000, "next", "numlogins 0"),
            // Only ourselves logged in: SHUTDOWN, then FINALDELAY (5 s), then SHUTDOWNCMD.
            (7000, "logins 1", "SHUTDOWN HOSTSYNC-DONE"),
            (7000, "next", "sleep 12000"),
            (11999, "next", "sleep 12000"),
            (12000, "next", "run-shutdown"),
            (12000, "done", ""),
            (12000, "next", "exit"),
        ],
    );
}

#[test]
fn primary_waits_for_secondaries() {
    let base: &[(u64, &str, &str)] = &[
        (0, "0: OB LB", "ONBATT LOWBATT"),
        (0, "end", "CRIT"),
        (0, "next", "setfsd 0"),
        (1000, "fsd-sent", ""),
        (1000, "next", "numlogins 0"),
    ];
    // The secondaries log out after a while.
    let mut steps = base.to_vec();
    steps.extend_from_slice(&[
        (1000, "logins 3", "SHUTDOWN_HOSTSYNC"),
        (1000, "next", "sleep 1250"),
        (1250, "next", "numlogins 0"),
        (1250, "logins 2", ""),
        (1500, "next", "numlogins 0"),
        (1500, "logins 1", "SHUTDOWN HOSTSYNC-DONE"),
        (1500, "next", "sleep 6500"),
        (6500, "next", "run-shutdown"),
    ]);
    check(PRIMARY, &steps);
    // HOSTSYNC (15 s) expires with a secondary still there: NUT compares whole
    // seconds with a strict "greater than", so 16 - 1 = 15 s is not yet expired and
    // 17 - 1 = 16 s is. SHUTDOWN_HOSTSYNC is sent once, at the first query.
    let mut steps = base.to_vec();
    steps.extend_from_slice(&[
        (1000, "logins 2", "SHUTDOWN_HOSTSYNC"),
        (8000, "logins 2", ""),
        (16000, "logins 2", ""),
        (16999, "logins 2", ""),
        (17000, "logins 2", "SHUTDOWN HOSTSYNC-EXPIRED"),
        (17000, "next", "sleep 22000"),
        (22000, "next", "run-shutdown"),
    ]);
    check(PRIMARY, &steps);
    // SHUTDOWN_HOSTSYNC also when the first query comes a while after FSD.
    let mut steps = base.to_vec();
    steps.extend_from_slice(&[
        (1400, "logins 2", "SHUTDOWN_HOSTSYNC"),
        (1650, "logins 2", ""),
        (1900, "logins 1", "SHUTDOWN HOSTSYNC-DONE"),
    ]);
    check(PRIMARY, &steps);
    // An unreadable count (the driver died, so upsd answers NUMLOGINS with
    // DRIVER-NOT-CONNECTED) is not "every secondary is gone": NUT 2.8.0 counts it as 0
    // and shuts down at once, cutting power under secondaries still stopping; we wait
    // for them until HOSTSYNC expires (found by `nut-sim swarm`, seed 174).
    let mut steps = base.to_vec();
    steps.extend_from_slice(&[
        (1000, "logins ?", "SHUTDOWN_HOSTSYNC"),
        (8000, "logins ?", ""),
        (16999, "logins ?", ""),
        (17000, "logins ?", "SHUTDOWN HOSTSYNC-EXPIRED"),
    ]);
    check(PRIMARY, &steps);
    // A count read again after a failure is believed.
    let mut steps = base.to_vec();
    steps.extend_from_slice(&[
        (1000, "logins ?", "SHUTDOWN_HOSTSYNC"),
        (1250, "logins 1", "SHUTDOWN HOSTSYNC-DONE"),
    ]);
    check(PRIMARY, &steps);
    // A count of 0 is a count: nobody is logged in.
    let mut steps = base.to_vec();
    steps.extend_from_slice(&[(1000, "logins 0", "SHUTDOWN HOSTSYNC-DONE")]);
    check(PRIMARY, &steps);
}

#[test]
fn secondary_waits_hostsync_for_fsd() {
    check(
        SECONDARY,
        &[
            (0, "0: OL", ""),
            (0, "end", ""),
            (5000, "0: OB", "ONBATT"),
            (5000, "end", ""),
            (7000, "0: OB LB", "LOWBATT"),
            (7000, "end", ""),
            (9000, "0: OB LB", ""),
            (9000, "end", ""),
            // HOSTSYNC (15 s) since the last non-critical reading (7000: OB before LB).
            // Whole seconds, strict: 22 - 7 = 15 is not more than HOSTSYNC, 23 - 7 is.
            (22000, "0: OB LB", ""),
            (22000, "end", ""),
            (22999, "end", ""),
            (23000, "end", "CRIT"),
            (23000, "next", "setfsd -"),
            (23000, "fsd-sent", "SHUTDOWN"),
            (23000, "next", "sleep 28000"),
            (28000, "next", "run-shutdown"),
        ],
    );
}

#[test]
fn secondary_sees_fsd() {
    // Observed 2.8.0 order on a secondary: ONBATT, LOWBATT, FSD, SHUTDOWN.
    check(
        SECONDARY,
        &[
            (0, "0: OL", ""),
            (0, "end", ""),
            (5000, "0: OB DISCHRG", "ONBATT"),
            (5000, "end", ""),
            (7000, "0: OB DISCHRG LB", "LOWBATT"),
            (7000, "end", ""),
            (8000, "0: FSD OB DISCHRG LB", "FSD"),
            (8000, "end", "CRIT"),
            (8000, "next", "setfsd -"),
            (8000, "fsd-sent", "SHUTDOWN"),
        ],
    );
}

#[test]
fn fsd_is_critical() {
    // FSD is critical whatever else the status says.
    check(PRIMARY, &[(0, "0: FSD OL", "FSD"), (0, "end", "CRIT")]);
    check(
        SECONDARY,
        &[
            (0, "0: OL", ""),
            (0, "end", ""),
            (5000, "0: FSD OL CHRG", "FSD"),
            (5000, "end", "CRIT"),
        ],
    );
    // FSD on a UPS with power value 0 is critical but does not count in the healthy sum.
    let two = "MONITOR a@h 1 u p primary
MONITOR b@h 0 u p secondary
POWERDOWNFLAG /etc/killpower
";
    check(
        two,
        &[(0, "0: OL", ""), (0, "1: FSD OL", "FSD"), (0, "end", "")],
    );
    let two_needed = "MONITOR a@h 1 u p primary
MONITOR b@h 1 u p secondary
MINSUPPLIES 2
POWERDOWNFLAG /etc/killpower
";
    check(
        two_needed,
        &[
            (0, "0: OL", ""),
            (0, "1: FSD OL", "FSD"),
            (0, "end", "CRIT"),
        ],
    );
    // OB LB on one of two supplies with MINSUPPLIES 1: still enough power.
    check(
        "MONITOR a@h 1 u p primary\nMONITOR b@h 1 u p primary\nPOWERDOWNFLAG /x\n",
        &[
            (0, "0: OL", ""),
            (0, "1: OB LB", "ONBATT LOWBATT"),
            (0, "end", ""),
        ],
    );
}

#[test]
fn dead_ups_last_on_battery() {
    let primary = "MONITOR ups1@localhost 1 mon monpass primary
POWERDOWNFLAG /etc/killpower
DEADTIME 6
HOSTSYNC 15
";
    let secondary = primary.replace("primary\n", "secondary\n");
    // Primary: critical once DEADTIME has passed since the last good poll.
    check(
        primary,
        &[
            (0, "0: OL", ""),
            (0, "end", ""),
            (5000, "0: OB", "ONBATT"),
            (5000, "end", ""),
            (7000, "0! DATA-STALE", "COMMBAD"),
            (7000, "end", ""),
            (11000, "0! DRIVER-NOT-CONNECTED", ""),
            (11000, "end", ""),
            (12000, "0~", ""),
            (12000, "end", "ASSUMED-DEAD CRIT"),
        ],
    );
    // Secondary: also waits HOSTSYNC since its last non-critical reading (5000), in
    // whole seconds with a strict "greater than" as NUT: 20 - 5 = 15 is not enough,
    // 21 - 5 = 16 is.
    check(
        &secondary,
        &[
            (0, "0: OL", ""),
            (5000, "0: OB", "ONBATT"),
            (7000, "0! DATA-STALE", "COMMBAD"),
            (12000, "0! DATA-STALE", ""),
            (12000, "end", "ASSUMED-DEAD"),
            (20000, "end", ""),
            (20999, "end", ""),
            (21000, "end", "CRIT"),
        ],
    );
    // Dead but last known on line: never critical.
    check(
        primary,
        &[
            (0, "0: OL", ""),
            (5000, "0! DATA-STALE", "COMMBAD"),
            (60000, "0! DATA-STALE", ""),
            (60000, "end", ""),
            (3_600_000, "end", ""),
        ],
    );
}

#[test]
fn never_reached_ups_is_healthy() {
    // COMMBAD on the first failed poll, NOCOMM on the second, then every
    // NOCOMMWARNTIME (300 s); never critical.
    check(
        PRIMARY,
        &[
            (0, "0~", "COMMBAD"),
            (0, "end", ""),
            (5000, "0~", "NOCOMM"),
            (5000, "end", ""),
            (10000, "0! DRIVER-NOT-CONNECTED", ""),
            (305000, "0~", ""),
            (305001, "0~", "NOCOMM"),
            (305001, "end", ""),
            (3_600_000, "end", ""),
        ],
    );
}

#[test]
fn notification_suppression() {
    // §9 item 8 and §3.3.
    check(
        PRIMARY,
        &[
            // First OL and first successful contact are silent.
            (0, "0: OL CHRG", ""),
            (5000, "0: OL", ""),
            // ONLINE only after an OB transition.
            (10000, "0: OB", "ONBATT"),
            (12000, "0: OB", ""),
            (14000, "0: OL", "ONLINE"),
            (19000, "0: OL", ""),
            // COMMBAD once, then COMMOK when the UPS answers again; the line state is
            // unchanged, so no ONLINE.
            (24000, "0! DATA-STALE", "COMMBAD"),
            (29000, "0~", ""),
            (34000, "0: OL", "COMMOK"),
            // LB on line: LOWBATT once per appearance.
            (39000, "0: OL LB", "LOWBATT"),
            (44000, "0: OL LB", ""),
            (49000, "0: OL", ""),
            (54000, "0: OL LB", "LOWBATT"),
            // Replace battery: at once, then only after RBWARNTIME (43200 s).
            (60000, "0: OL RB", "REPLBATT"),
            (65000, "0: OL RB", ""),
            (43_260_000, "0: OL RB", ""),
            (43_260_001, "0: OL RB", "REPLBATT"),
            // FSD notified once while it stays.
            (43_270_000, "0: FSD OL", "FSD"),
            (43_275_000, "0: FSD OL", ""),
            (43_280_000, "0: OL", ""),
            (43_285_000, "0: FSD OL", "FSD"),
            // An empty status is lost communication.
            (43_290_000, "0: ", "COMMBAD"),
            (43_295_000, "0: OL", "COMMOK"),
        ],
    );
    // ONBATT is not suppressed at start-up.
    check(PRIMARY, &[(0, "0: OB DISCHRG", "ONBATT")]);
    // Neither is COMMBAD.
    check(SECONDARY, &[(0, "0! DATA-STALE", "COMMBAD")]);
}

#[test]
fn poll_interval_is_one_global_value() {
    let two = "MONITOR a@h 1 u p primary
MONITOR b@h 1 u p primary
POWERDOWNFLAG /x
POLLFREQ 5
POLLFREQALERT 2
";
    check(
        two,
        &[
            (0, "0: OL", ""),
            (0, "1: OL", ""),
            (0, "end", ""),
            (0, "next", "sleep 5000"),
            (5000, "0: OL", ""),
            (5000, "1: OB", "ONBATT"),
            (5000, "end", ""),
            (5000, "next", "sleep 7000"),
            (7000, "0: OL", ""),
            (7000, "1: OL", "ONLINE"),
            (7000, "end", ""),
            (7000, "next", "sleep 12000"),
        ],
    );
}

#[test]
fn user_fsd() {
    check(
        PRIMARY,
        &[
            (0, "0: OL", ""),
            (0, "end", ""),
            (1000, "user-fsd", ""),
            (1000, "next", "setfsd 0"),
            (1000, "fsd-sent", ""),
            (1000, "logins 1", "SHUTDOWN HOSTSYNC-DONE"),
            (6000, "next", "run-shutdown"),
        ],
    );
}

#[test]
fn notification_texts() {
    let mut core = UpsmonCore::new(0, conf(PRIMARY));
    core.poll_result(0, 0, PollOutcome::Status("OB LB".to_string()));
    core.end_poll_cycle(0);
    core.fsd_sent(0);
    core.numlogins_result(0, Some(1));
    let got: Vec<(String, String, String)> = core
        .take_notifications()
        .into_iter()
        .map(|n| (n.kind.as_str().to_string(), n.system, n.message))
        .collect();
    let expected = [
        ("ONBATT", "ups1@localhost", "UPS ups1@localhost on battery"),
        (
            "LOWBATT",
            "ups1@localhost",
            "UPS ups1@localhost battery is low",
        ),
        ("SHUTDOWN", "", "Auto logout and shutdown proceeding"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn reload_keeps_what_upsmon_knows_of_kept_upses() {
    let mut core = UpsmonCore::new(0, conf(PRIMARY));
    assert_eq!(step(&mut core, 0, "0: OB DISCHRG"), ["ONBATT"]);
    step(&mut core, 0, "end");
    // ups2 is added before ups1; both must be healthy for the system to run.
    let two = "MONITOR ups2@localhost 1 mon monpass primary
MONITOR ups1@localhost 1 mon monpass primary
MINSUPPLIES 2
POWERDOWNFLAG /etc/killpower
SHUTDOWNCMD \"/sbin/shutdown -h +0\"
POLLFREQ 7
POLLFREQALERT 3
";
    assert_eq!(core.reload(conf(two)), Ok(vec![None, Some(0)]));
    // ups1 (now index 1) is still known to be on battery: no second ONBATT. ups2's OL
    // sets the one global poll interval to the new POLLFREQ, as in NUT.
    assert_eq!(step(&mut core, 2000, "next"), ["poll"]);
    assert!(!step(&mut core, 2000, "0: OL").contains(&"ONBATT".to_string()));
    assert_eq!(step(&mut core, 2000, "1: OB DISCHRG"), Vec::<String>::new());
    assert_eq!(step(&mut core, 2000, "end"), Vec::<String>::new());
    assert_eq!(step(&mut core, 2000, "next"), ["sleep 9000"]);
    // Low battery on ups1 now leaves one healthy supply of the two required.
    assert_eq!(step(&mut core, 9000, "1: OB DISCHRG LB"), ["LOWBATT"]);
    assert_eq!(step(&mut core, 9000, "end"), ["CRIT"]);
    // Once shutting down, a reload changes nothing.
    assert!(core.reload(conf(PRIMARY)).is_err());
    assert_eq!(step(&mut core, 9000, "next"), ["setfsd 0,1"]);
}

#[test]
fn reload_forgets_dropped_upses() {
    let mut core = UpsmonCore::new(0, conf(PRIMARY));
    assert_eq!(step(&mut core, 0, "0: OB DISCHRG"), ["ONBATT"]);
    step(&mut core, 0, "end");
    let other = PRIMARY.replace("ups1@", "ups9@");
    assert_eq!(core.reload(conf(&other)), Ok(vec![None]));
    // ups9 is new: going on battery is news, and POLLFREQ applies again.
    assert_eq!(step(&mut core, 2000, "0: OL"), Vec::<String>::new());
    step(&mut core, 2000, "end");
    assert_eq!(step(&mut core, 2000, "next"), ["sleep 7000"]);
    assert_eq!(step(&mut core, 7000, "0: OB DISCHRG"), ["ONBATT"]);
}

#[test]
fn huge_configured_durations_saturate_instead_of_overflowing() {
    let huge = u64::MAX / 10;
    let mut core = UpsmonCore::new(
        0,
        conf(&format!(
            "{PRIMARY}POLLFREQ {huge}\nPOLLFREQALERT {huge}\nHOSTSYNC {huge}\n\
             FINALDELAY {huge}\nDEADTIME {huge}\nNOCOMMWARNTIME {huge}\nRBWARNTIME {huge}\n"
        )),
    );
    assert_eq!(core.next_command(0), Command::PollAll);
    core.poll_result(0, 0, PollOutcome::Status("OB LB".into()));
    assert!(core.end_poll_cycle(0), "OB LB on a primary is critical");
    assert!(matches!(core.next_command(1), Command::SetFsd(_)));
    core.fsd_sent(1);
    assert!(matches!(core.next_command(1), Command::QueryNumLogins(_)));
    core.numlogins_result(1, Some(3));
    // HOSTSYNC "for ever": the primary keeps waiting, and the next query time is sane.
    match core.next_command(2) {
        Command::SleepUntil(at) => assert!((2..u64::MAX / 2).contains(&at), "{at}"),
        other => panic!("{other:?}"),
    }
    core.numlogins_result(u64::MAX - 5, Some(1));
    // FINALDELAY "for ever" saturates at the end of time instead of wrapping to 0.
    match core.next_command(u64::MAX - 5) {
        Command::SleepUntil(at) => assert_eq!(at, u64::MAX),
        other => panic!("{other:?}"),
    }
}

fn events_of(core: &mut UpsmonCore) -> Vec<String> {
    core.take_events()
        .into_iter()
        .map(|e| format!("{}: {e}", e.kind()))
        .collect()
}

#[test]
fn alarm_notifications_carry_ups_alarm_and_follow_its_changes() {
    let mut core = UpsmonCore::new(0, conf(SECONDARY));
    let alarm = |core: &mut UpsmonCore, now, text: Option<&str>| {
        core.poll_result(
            now,
            0,
            PollOutcome::StatusWithAlarm("OL ALARM".into(), text.map(str::to_string)),
        );
        events_of(core)
    };
    core.poll_result(0, 0, PollOutcome::Status("OL".into()));
    events_of(&mut core);
    assert_eq!(
        alarm(&mut core, 1000, Some("Replace battery!")),
        ["notify: UPS ups1@server: one or more active alarms: [Replace battery!]"]
    );
    assert!(alarm(&mut core, 2000, Some("Replace battery!")).is_empty());
    assert_eq!(
        alarm(&mut core, 3000, Some("Replace battery! Fan failure")),
        ["notify: UPS ups1@server: one or more active alarms: [Replace battery! Fan failure]"]
    );
    core.poll_result(4000, 0, PollOutcome::Status("OL".into()));
    assert_eq!(
        events_of(&mut core),
        ["notify: UPS ups1@server is no longer in an alarm state (no active alarms)"]
    );
    // A driver without ups.alarm: "n/a", as NUT.
    assert_eq!(
        alarm(&mut core, 5000, None),
        ["notify: UPS ups1@server: one or more active alarms: [n/a]"]
    );
}

#[test]
fn poll_failures_are_throttled_as_pollfail_log_throttle_max_says() {
    let run = |max: i64| -> Vec<String> {
        let mut core = UpsmonCore::new(
            0,
            conf(&format!("{SECONDARY}POLLFAIL_LOG_THROTTLE_MAX {max}\n")),
        );
        core.poll_result(0, 0, PollOutcome::Status("OL".into()));
        events_of(&mut core);
        let mut out = Vec::new();
        for i in 1..=7u64 {
            core.poll_result(i * 5000, 0, PollOutcome::Error(ErrCode::DataStale));
            out.extend(
                events_of(&mut core)
                    .into_iter()
                    .filter(|e| e.starts_with("poll_"))
                    .map(|e| format!("{i} {e}")),
            );
        }
        core.poll_result(40_000, 0, PollOutcome::Status("OL".into()));
        out.extend(
            events_of(&mut core)
                .into_iter()
                .filter(|e| e.starts_with("poll_")),
        );
        out
    };
    // Every 3rd repeat of the same failure is logged, then the recovery.
    assert_eq!(
        run(3),
        [
            "1 poll_failure_changed: Poll UPS [ups1@server] failure state code changed from NONE to DATA-STALE; report below will only be repeated to syslog every 15 sec:",
            "1 poll_failed: Poll UPS [ups1@server] failed - Data stale",
            "4 poll_failed: Poll UPS [ups1@server] failed - Data stale",
            "7 poll_failed: Poll UPS [ups1@server] failed - Data stale",
            "poll_recovered: Poll UPS [ups1@server] recovered from failure state code DATA-STALE - now NONE",
        ]
    );
    // 0: only the start and the end.
    assert_eq!(run(0).len(), 3);
    // Default (-1): every failure, no throttling messages.
    let every = run(-1);
    assert_eq!(every.len(), 7);
    assert!(every.iter().all(|e| e.contains("poll_failed")));
}

/// Each alert token notifies once when it appears and its NOT* once when it goes; CAL,
/// OFF, BYPASS and ALARM switch to POLLFREQALERT (2 s here), and POLLFREQ (5 s) comes
/// back only when no alert token is left.
#[test]
fn alert_tokens_notify_once_and_drive_the_poll_interval() {
    for (token, alert) in [
        ("CAL", true),
        ("OFF", true),
        ("BYPASS", true),
        ("ALARM", true),
        ("OVER", false),
        ("TRIM", false),
        ("BOOST", false),
        ("ECO", false),
    ] {
        let sleep_with = if alert { "sleep 7000" } else { "sleep 10000" };
        let not = format!("NOT{token}");
        check(
            &format!("{PRIMARY}OFFDURATION -1\nOVERDURATION -1\n"),
            &[
                (0, "0: OL", ""),
                (0, "end", ""),
                (0, "next", "sleep 5000"),
                (5000, "next", "poll"),
                (5000, &format!("0: OL {token}"), token),
                (5000, "end", ""),
                (5000, "next", sleep_with),
                (5000, &format!("0: OL {token}"), ""),
                (10000, "0: OL", &not),
                (10000, "end", ""),
                (10000, "next", "sleep 15000"),
            ],
        );
    }
}

/// Clearing one alert token keeps the alert interval while another alert token (or
/// being on battery) remains.
#[test]
fn the_alert_interval_stays_while_any_alert_token_remains() {
    for (token, remains) in [
        ("OB", "ONBATT"),
        ("OFF", "OFF"),
        ("BYPASS", "BYPASS"),
        ("ALARM", "ALARM"),
        ("OVER", "OVER"),
        ("TRIM", "TRIM"),
        ("BOOST", "BOOST"),
    ] {
        // Without OL in the status: an OL token always restores POLLFREQ (NUT's
        // ups_on_line), which would hide the other tokens.
        check(
            &format!("{PRIMARY}OFFDURATION -1\nOVERDURATION -1\n"),
            &[
                (0, "0: OL", ""),
                (1000, &format!("0: {token} CAL"), &format!("{remains} CAL")),
                (1000, "end", ""),
                (1000, "next", "sleep 3000"),
                (3000, &format!("0: {token}"), "NOTCAL"),
                (3000, "end", ""),
                (3000, "next", "sleep 5000"),
            ],
        );
    }
}

/// A UPS that stops answering is critical when last seen calibrating, on bypass, in
/// ALARM (with ALARMCRITICAL), OFF (unless OFFDURATION is -1) or overloaded for
/// OVERDURATION; not when last seen plainly on line.
#[test]
fn a_dead_ups_is_critical_according_to_its_last_state() {
    // The first column's notification is not under test here.
    let check_first = |extra: &str, status: &str, lost_at: u64, crit: &str| {
        let mut core = UpsmonCore::new(0, conf(&format!("{PRIMARY}{extra}")));
        core.poll_result(0, 0, PollOutcome::Status(status.into()));
        core.end_poll_cycle(0);
        core.take_notifications();
        core.take_events();
        core.poll_result(lost_at, 0, PollOutcome::ConnectionLost("gone".into()));
        let critical = core.end_poll_cycle(lost_at);
        assert_eq!(
            critical,
            crit == "CRIT",
            "{extra:?} {status:?} lost at {lost_at}"
        );
    };
    for (extra, status, lost_at, crit) in [
        ("", "OL CAL", 1000, "CRIT"),
        ("", "OL BYPASS", 1000, "CRIT"),
        ("", "OL ALARM", 1000, "CRIT"),
        ("ALARMCRITICAL 0\n", "OL ALARM", 1000, ""),
        ("OFFDURATION 30\n", "OFF", 1000, "CRIT"),
        ("OFFDURATION -1\n", "OFF", 1000, ""),
        ("OVERDURATION 10\n", "OL OVER", 9999, ""),
        ("OVERDURATION 10\n", "OL OVER", 10000, "CRIT"),
        ("OVERDURATION -1\n", "OL OVER", 60000, ""),
        ("", "OL", 1000, ""),
        ("", "OL TRIM", 1000, ""),
    ] {
        check_first(extra, status, lost_at, crit);
    }
}

/// While upsd answers: OFF is critical after OFFDURATION seconds (never with -1), OB LB
/// only after OBLBDURATION seconds, counted from when it was first seen, and a token
/// that goes away restarts the count.
#[test]
fn offduration_and_oblbduration_count_whole_seconds_from_the_first_sighting() {
    check(
        &format!("{PRIMARY}OFFDURATION 30\n"),
        &[
            (0, "0: OFF", "OFF"),
            (0, "end", ""),
            (29999, "0: OFF", ""),
            (29999, "end", ""),
            (30000, "0: OFF", ""),
            (30000, "end", "CRIT"),
        ],
    );
    // OFF goes away and comes back: the count starts again.
    check(
        &format!("{PRIMARY}OFFDURATION 30\n"),
        &[
            (0, "0: OFF", "OFF"),
            (20000, "0: OL", "NOTOFF"),
            (25000, "0: OFF", "OFF"),
            (50000, "0: OFF", ""),
            (50000, "end", ""),
            (55000, "0: OFF", ""),
            (55000, "end", "CRIT"),
        ],
    );
    check(
        &format!("{PRIMARY}OFFDURATION -1\n"),
        &[
            (0, "0: OFF", "OFF"),
            (100000, "0: OFF", ""),
            (100000, "end", ""),
        ],
    );
    check(
        &format!("{PRIMARY}OBLBDURATION 5\n"),
        &[
            (0, "0: OB", "ONBATT"),
            (1000, "0: OB LB", "LOWBATT"),
            (1000, "end", ""),
            (5999, "0: OB LB", ""),
            (5999, "end", ""),
            (6000, "0: OB LB", ""),
            (6000, "end", "CRIT"),
        ],
    );
    // LB alone (on line) never starts the OB LB count.
    check(
        &format!("{PRIMARY}OBLBDURATION 5\n"),
        &[
            (0, "0: OL LB", "LOWBATT"),
            (9000, "0: OB LB", "ONBATT"),
            (9000, "end", ""),
            (13999, "0: OB LB", ""),
            (13999, "end", ""),
            (14000, "0: OB LB", ""),
            (14000, "end", "CRIT"),
        ],
    );
    // OVER while answering is not critical by itself.
    check(
        &format!("{PRIMARY}OVERDURATION 1\n"),
        &[
            (0, "0: OL OVER", "OVER"),
            (60000, "0: OL OVER", ""),
            (60000, "end", ""),
        ],
    );
    // OVER goes away and comes back: OVERDURATION counts again from then.
    let mut core = UpsmonCore::new(0, conf(&format!("{PRIMARY}OVERDURATION 10\n")));
    for (now, status) in [(0, "OL OVER"), (8000, "OL"), (9000, "OL OVER")] {
        core.poll_result(now, 0, PollOutcome::Status(status.into()));
    }
    core.poll_result(15000, 0, PollOutcome::ConnectionLost("gone".into()));
    assert!(
        !core.end_poll_cycle(15000),
        "6 s of OVER since it came back"
    );
    core.poll_result(19000, 0, PollOutcome::ConnectionLost("gone".into()));
    assert!(core.end_poll_cycle(19000), "10 s of OVER");
}

#[test]
fn hostsync_done_tells_expiry_only_when_secondaries_remain() {
    let base: &[(u64, &str, &str)] = &[
        (0, "0: OB LB", "ONBATT LOWBATT"),
        (0, "end", "CRIT"),
        (0, "next", "setfsd 0"),
        (1000, "fsd-sent", ""),
    ];
    // At the expiry time with only ourselves left: done, not expired.
    let mut steps = base.to_vec();
    steps.extend_from_slice(&[
        (1000, "logins 2", "SHUTDOWN_HOSTSYNC"),
        (17000, "logins 1", "SHUTDOWN HOSTSYNC-DONE"),
    ]);
    check(PRIMARY, &steps);
    // Exactly one second short of expiry with secondaries: still waiting.
    let mut steps = base.to_vec();
    steps.extend_from_slice(&[
        (1000, "logins 3", "SHUTDOWN_HOSTSYNC"),
        (16999, "logins 3", ""),
        (16999, "next", "sleep 17249"),
    ]);
    check(PRIMARY, &steps);
}

#[test]
fn noparent_is_repeated_every_two_minutes_while_the_parent_is_gone() {
    let mut core = UpsmonCore::new(0, conf(SECONDARY));
    let count = |core: &mut UpsmonCore| {
        let noparent = core
            .take_notifications()
            .iter()
            .filter(|n| n.kind.as_str() == "NOPARENT")
            .count();
        core.take_events();
        noparent
    };
    core.parent_gone(1000);
    assert_eq!(count(&mut core), 1);
    core.parent_gone(120_999);
    assert_eq!(count(&mut core), 0, "not again before two minutes");
    core.parent_gone(121_000);
    assert_eq!(count(&mut core), 1, "again after two minutes");
    assert_eq!(core.conf().monitors.len(), 1);
}

#[test]
fn pollfail_throttle_zero_says_it_will_not_repeat() {
    let mut core = UpsmonCore::new(
        0,
        conf(&format!("{SECONDARY}POLLFAIL_LOG_THROTTLE_MAX 0\n")),
    );
    core.poll_result(0, 0, PollOutcome::Error(ErrCode::DataStale));
    let events: Vec<String> = core.take_events().iter().map(|e| e.to_string()).collect();
    assert!(
        events
            .iter()
            .any(|e| e.ends_with("report below will not be repeated to syslog:")),
        "{events:?}"
    );
}

/// `timeless`: which states a poll that keeps getting the same answer can only repeat,
/// and for those, polls every 5 s over two hours leave the core as the last one alone
/// does (what the simulation's warps rely on).
#[test]
fn timeless_states_repeat_and_the_others_do_not_count_as_such() {
    for (conf_text, status, timeless) in [
        (SECONDARY, "OL", true),
        (SECONDARY, "OB DISCHRG", true),
        (PRIMARY, "OL CHRG", true),
        (PRIMARY, "OL TRIM", true),
        // A secondary on battery and low waits HOSTSYNC for FSD; a primary with
        // OBLBDURATION 0 shuts down at once: either way time decides.
        (SECONDARY, "OB LB", false),
        (SECONDARY, "OL RB", false),
        (SECONDARY, "OFF", false),
        (SECONDARY, "OL OVER", false),
    ] {
        let mut core = UpsmonCore::new(0, conf(conf_text));
        core.poll_result(0, 0, PollOutcome::Status("OL".to_string()));
        core.end_poll_cycle(0);
        core.take_events();
        let Command::SleepUntil(first) = core.next_command(1) else {
            panic!("{status}: not monitoring");
        };
        assert_eq!(core.next_command(first), Command::PollAll);
        core.poll_result(first, 0, PollOutcome::Status(status.to_string()));
        core.end_poll_cycle(first);
        core.take_events();
        assert_eq!(core.timeless(&[0]), timeless, "{conf_text}{status}");
        // A gap from an answer to the end of its cycle, which DEADTIME (15 s) counts
        // in whole seconds: 14 s can never pass it; 15.001 s can span 16 boundaries.
        assert_eq!(core.timeless(&[14_000]), timeless, "{status}");
        assert!(!core.timeless(&[15_001]), "{status}");
        if !timeless {
            continue;
        }
        let cycle = |core: &mut UpsmonCore, at: u64| {
            assert_eq!(core.next_command(at), Command::PollAll, "{status}");
            core.poll_result(at, 0, PollOutcome::Status(status.to_string()));
            core.end_poll_cycle(at);
            assert!(core.take_events().is_empty(), "{status} at {at}");
            match core.next_command(at) {
                Command::SleepUntil(next) => next,
                other => panic!("{status}: {other:?}"),
            }
        };
        let (mut every, mut at) = (core.clone(), first);
        let period = cycle(&mut every.clone(), first + 5_000) - (first + 5_000);
        at += period;
        let mut last = at;
        while at < first + 7_200_000 {
            last = at;
            at = cycle(&mut every, at);
        }
        let mut once = core.clone();
        cycle(&mut once, last);
        assert_eq!(format!("{once:?}"), format!("{every:?}"), "{status}");
    }
}
