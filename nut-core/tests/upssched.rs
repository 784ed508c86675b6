//! upssched's decisions as tables: which AT lines an event fires, and the timer daemon
//! as (time, request) -> (reply, commands run) rows.

use nut_core::config::parse_upssched_conf;
use nut_core::tokenizer::tokenize;
use nut_core::upssched::{
    client_steps, ClientStep, Notice, Request, Run, TimerDaemon, IDLE_EXIT_MS, MAX_TIMERS,
};

const CONF: &str = r#"
CMDSCRIPT /usr/local/bin/upssched-cmd
PIPEFN /run/nut/upssched.pipe
LOCKFN /run/nut/upssched.lock
AT ONBATT * START-TIMER onbatt 300
AT ONBATT * EXECUTE page-onbatt
AT ONLINE * CANCEL-TIMER onbatt online-again
AT COMMBAD ups2@host START-TIMER commbad 30
AT commok ups2@host CANCEL-TIMER commbad
AT LOWBATT * START-TIMER-SHARED lowbatt 10
AT ONLINE * CANCEL-TIMER-MATCHED lowbatt
"#;

fn notice(kind: &str, ups: &str) -> Notice {
    Notice {
        notifytype: kind.into(),
        upsname: ups.into(),
        message: format!("UPS {ups} {kind}"),
    }
}

fn render(steps: &[ClientStep]) -> String {
    steps
        .iter()
        .map(|s| match s {
            ClientStep::Execute(run) => format!("exec {}", run.cmd),
            ClientStep::Send(r) => r.format().trim_end().to_string(),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn at_lines_fire_in_file_order_for_matching_type_and_ups() {
    let parsed = parse_upssched_conf("upssched.conf", CONF.as_bytes());
    assert!(!parsed.has_errors(), "{:?}", parsed.diagnostics);
    let conf = parsed.value;
    let rows = [
        (
            "ONBATT",
            "ups1@nas",
            r#"START "onbatt" "300" "ONBATT" "ups1@nas" "UPS ups1@nas ONBATT" | exec page-onbatt"#,
        ),
        (
            "ONLINE",
            "ups1@nas",
            r#"CANCEL "onbatt" "online-again" "ONLINE" "ups1@nas" "UPS ups1@nas ONLINE" | CANCEL-MATCHED "lowbatt" "" "ONLINE" "ups1@nas" "UPS ups1@nas ONLINE""#,
        ),
        // UPSNAME matches exactly (case-sensitive); NOTIFYTYPE case-insensitively.
        ("COMMBAD", "ups2@HOST", ""),
        (
            "COMMOK",
            "ups2@host",
            r#"CANCEL "commbad" "" "COMMOK" "ups2@host" "UPS ups2@host COMMOK""#,
        ),
        ("FSD", "ups1@nas", ""),
    ];
    for (kind, ups, expected) in rows {
        assert_eq!(
            render(&client_steps(&conf, &notice(kind, ups))),
            expected,
            "{kind} {ups}"
        );
    }
}

#[test]
fn cancel_without_fallback_needs_no_daemon() {
    let cancel = |cmd: Option<&str>| Request::Cancel {
        name: "t".into(),
        cmd: cmd.map(str::to_string),
        matched: false,
        notice: Notice::default(),
    };
    assert!(!cancel(None).needs_daemon());
    assert!(cancel(Some("x")).needs_daemon());
}

fn words(line: &str) -> Vec<String> {
    tokenize(line.as_bytes()).remove(0).words
}

/// Feeds `(ms, line)` rows (`tick` expires timers); returns one rendered row per input.
fn daemon_rows(rows: &[(u64, &str)]) -> Vec<String> {
    let mut daemon = TimerDaemon::new(0);
    rows.iter()
        .map(|(now, line)| {
            let (reply, runs): (String, Vec<Run>) = if *line == "tick" {
                (String::new(), daemon.expire(*now))
            } else {
                let answer = daemon.handle(*now, &words(line));
                (answer.reply.trim_end().to_string(), answer.runs)
            };
            let runs: Vec<String> = runs
                .iter()
                .map(|r| {
                    format!(
                        "run {} [{}] [{}] [{}]",
                        r.cmd, r.notifytype, r.upsname, r.notifymsg
                    )
                })
                .collect();
            format!(
                "{reply}{}{}",
                if runs.is_empty() { "" } else { " " },
                runs.join(", ")
            )
            .trim()
            .to_string()
        })
        .collect()
}

#[test]
fn timers_start_expire_and_cancel_as_nut_does() {
    let got = daemon_rows(&[
        (0, r#"START onbatt 30 ONBATT ups1@nas "on battery""#),
        (
            1_000,
            r#"START onbatt 60 ONBATT ups2@nas "ups2 on battery""#,
        ),
        (29_999, "tick"),
        // The first timer expires with its own event's environment.
        (30_000, "tick"),
        // CANCEL removes every timer of that name; no fallback runs.
        (40_000, "CANCEL onbatt back ONLINE ups2@nas"),
        // Nothing to cancel now: the fallback command runs at once.
        (41_000, "CANCEL onbatt back ONLINE ups2@nas online"),
        (120_000, "tick"),
        // 2.8.0's short forms are understood too.
        (121_000, "START short 1"),
        (122_000, "tick"),
        // Malformed and negative requests are refused.
        (123_000, "START x -5"),
        (123_000, "START x"),
        (123_000, "HELLO"),
    ]);
    assert_eq!(
        got,
        [
            "OK",
            "OK",
            "",
            "run onbatt [ONBATT] [ups1@nas] [on battery]",
            "OK",
            "OK run back [ONLINE] [ups2@nas] [online]",
            "",
            "OK",
            "run short [] [] []",
            "ERR UNKNOWN",
            "ERR UNKNOWN",
            "ERR UNKNOWN",
        ]
    );
}

#[test]
fn shared_timers_collect_every_ups_and_matched_cancel_only_takes_its_own() {
    let got = daemon_rows(&[
        (0, r#"START-SHARED lowbatt 10 LOWBATT ups1@nas "ups1 low""#),
        (
            2_000,
            r#"START-SHARED lowbatt 10 LOWBATT ups2@nas "ups2 low""#,
        ),
        (3_000, r#"START mine 10 ONBATT ups3@nas m"#),
        // A matched cancel for another UPS leaves the timer alone.
        (4_000, r#"CANCEL-MATCHED mine "" ONBATT ups1@nas x"#),
        // The shared timer keeps its first expiry, with both UPSes' data.
        (10_000, "tick"),
        (13_000, "tick"),
    ]);
    assert_eq!(
        got,
        [
            "OK",
            "OK",
            "OK",
            "OK",
            "run lowbatt [LOWBATT] [ups1@nas,ups2@nas] [ups1 low.\tups2 low]",
            "run mine [ONBATT] [ups3@nas] [m]",
        ]
    );
}

#[test]
fn the_daemon_exits_after_idling_and_wakes_up_in_time() {
    let mut daemon = TimerDaemon::new(0);
    assert!(!daemon.should_exit(IDLE_EXIT_MS - 1));
    daemon.handle(1_000, &words("START t 100"));
    assert!(
        !daemon.should_exit(50_000),
        "a running timer keeps it alive"
    );
    assert_eq!(daemon.next_wakeup(100_500), 101_000);
    assert_eq!(
        daemon.next_wakeup(50_000),
        51_000,
        "at most one second apart"
    );
    assert_eq!(daemon.expire(101_000).len(), 1);
    assert!(!daemon.should_exit(101_000 + IDLE_EXIT_MS - 1));
    assert!(daemon.should_exit(101_000 + IDLE_EXIT_MS));
    // A huge timer saturates instead of overflowing.
    daemon.handle(5, &words("START huge 18446744073709551615"));
    assert_eq!(daemon.timers()[0].1, u64::MAX);
}

#[test]
fn a_start_flood_is_bounded() {
    let mut daemon = TimerDaemon::new(0);
    for i in 0..MAX_TIMERS {
        assert_eq!(
            daemon.handle(0, &words(&format!("START t{i} 5"))).reply,
            "OK\n"
        );
    }
    assert_eq!(
        daemon.handle(0, &words("START one-more 5")).reply,
        "ERR UNKNOWN\n"
    );
    assert_eq!(daemon.timers().len(), MAX_TIMERS);
}

#[test]
fn requests_round_trip_through_the_wire_format() {
    let request = Request::Start {
        name: "a timer".into(),
        seconds: 30,
        shared: true,
        notice: Notice {
            notifytype: "ONBATT".into(),
            upsname: "ups@h".into(),
            message: "say \"hi\"".into(),
        },
    };
    assert_eq!(Request::parse(&words(&request.format())), Some(request));
}

#[test]
fn matched_cancel_compares_what_the_canceller_gives() {
    // Empty NOTIFYTYPE or UPSNAME in the cancel: that part is not compared.
    let rows = [
        (r#"CANCEL-MATCHED t "" "" "" x"#, 0),
        (r#"CANCEL-MATCHED t "" "" ups1@h x"#, 0),
        (r#"CANCEL-MATCHED t "" ONBATT "" x"#, 0),
        (r#"CANCEL-MATCHED t "" ONLINE "" x"#, 1),
        (r#"CANCEL-MATCHED t "" "" ups2@h x"#, 1),
        (r#"CANCEL-MATCHED t "" ONBATT ups1@h x"#, 0),
    ];
    for (cancel, left) in rows {
        let mut daemon = TimerDaemon::new(0);
        daemon.handle(0, &words(r#"START t 60 ONBATT ups1@h msg"#));
        assert_eq!(daemon.handle(1, &words(cancel)).reply, "OK\n");
        assert_eq!(daemon.timers().len(), left, "{cancel}");
    }
    // Too many words is a malformed request.
    let mut daemon = TimerDaemon::new(0);
    assert_eq!(
        daemon.handle(0, &words("CANCEL a b c d e f g")).reply,
        "ERR UNKNOWN\n"
    );
}

#[test]
fn the_idle_count_starts_only_when_the_last_timer_is_gone() {
    // Cancelling one of two timers: not idle.
    let mut daemon = TimerDaemon::new(0);
    daemon.handle(0, &words("START a 100"));
    daemon.handle(0, &words("START b 100"));
    daemon.handle(5_000, &words("CANCEL a"));
    assert!(!daemon.should_exit(5_000 + IDLE_EXIT_MS));
    // Cancelling the last one starts it.
    daemon.handle(6_000, &words("CANCEL b"));
    assert!(!daemon.should_exit(6_000 + IDLE_EXIT_MS - 1));
    assert!(daemon.should_exit(6_000 + IDLE_EXIT_MS));
    // Expiring one of two timers: not idle; the last one: idle from then.
    let mut daemon = TimerDaemon::new(0);
    daemon.handle(0, &words("START a 1"));
    daemon.handle(0, &words("START b 10"));
    assert_eq!(daemon.expire(1_000).len(), 1);
    assert!(!daemon.should_exit(1_000 + IDLE_EXIT_MS));
    assert_eq!(daemon.expire(10_000).len(), 1);
    assert!(!daemon.should_exit(10_000 + IDLE_EXIT_MS - 1));
    assert!(daemon.should_exit(10_000 + IDLE_EXIT_MS));
}
