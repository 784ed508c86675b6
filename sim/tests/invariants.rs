//! The invariants catch what they are for: hand-made timelines that break each one.

use nut_core::event::Event;
use sim::harness::Outcome;
use sim::world::{Entry, What, WorldEvent};
use std::collections::BTreeMap;

fn entry(t_ms: u64, host: &str, what: What) -> Entry {
    Entry {
        t_ms,
        host: host.to_string(),
        program: "upsmon",
        what,
    }
}

fn outcome(timeline: Vec<Entry>) -> Outcome {
    Outcome {
        timeline,
        hosts: BTreeMap::new(),
        addresses: BTreeMap::new(),
        end_ms: 0,
        files: BTreeMap::new(),
        mains_returned_ms: None,
        settled: false,
        skipped: 0,
    }
}

fn problems(timeline: Vec<Entry>, name: &str) -> Vec<String> {
    let scenario = sim::scenario::Scenario::from_yaml(
        "name: x\nduration_s: 10\nups: {name: u, timeline: []}\nhosts: [{name: nas, role: primary}]\n",
    )
    .unwrap();
    let verdict = sim::verdict::judge(&scenario, &outcome(timeline));
    verdict
        .checks
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no invariant {name}"))
        .problems
}

fn started() -> What {
    What::Daemon(Event::ShutdownCmdStarted { cmd: "x".into() })
}

#[test]
fn a_shutdown_without_a_trigger_is_caught() {
    let bad = vec![entry(1000, "db1", started())];
    assert_eq!(
        problems(bad, "no_shutdown_without_trigger"),
        ["db1 ran SHUTDOWNCMD at 00:01.000 without a critical UPS or an FSD request"]
    );
    let good = vec![
        entry(500, "db1", What::Daemon(Event::UserFsd)),
        entry(1000, "db1", started()),
    ];
    assert!(problems(good, "no_shutdown_without_trigger").is_empty());
}

#[test]
fn killpower_before_the_flag_or_the_halt_is_caught() {
    let command = || {
        What::Daemon(Event::DeviceCommand {
            ups: "u".into(),
            cmd: "shutdown.return".into(),
            arg: None,
        })
    };
    let flag = || {
        What::Daemon(Event::PowerdownFlagWritten {
            path: "/etc/killpower".into(),
        })
    };
    assert_eq!(
        problems(
            vec![entry(1, "nas", command())],
            "killpower_after_powerdownflag"
        ),
        ["nas told the UPS to cut the load at 00:00.001 without writing POWERDOWNFLAG"]
    );
    assert_eq!(
        problems(
            vec![entry(1, "nas", flag()), entry(2, "nas", command())],
            "killpower_after_powerdownflag"
        ),
        ["nas told the UPS to cut the load at 00:00.002 before it halted"]
    );
    let good = vec![
        entry(1, "nas", flag()),
        entry(2, "nas", What::World(WorldEvent::Halted)),
        entry(2, "nas", command()),
    ];
    assert!(problems(good, "killpower_after_powerdownflag").is_empty());
}

#[test]
fn an_armed_timer_firing_after_power_came_back_is_caught() {
    let armed = || {
        What::Daemon(Event::TimerStarted {
            name: "onbatt".into(),
            seconds: 30,
            ups: "u@nas".into(),
            notifytype: "ONBATT".into(),
        })
    };
    let online = |system: &str| {
        What::Daemon(Event::Notify {
            kind: nut_core::notify::NotifyType::Online,
            system: system.into(),
            message: String::new(),
            syslog: true,
        })
    };
    let expired = || {
        What::Daemon(Event::TimerExpired {
            name: "onbatt".into(),
        })
    };
    // The blip ended at 10 s but the timer still fired at 30 s: CANCEL-TIMER failed.
    assert_eq!(
        problems(
            vec![
                entry(0, "db1", armed()),
                entry(10_000, "db1", online("u@nas")),
                entry(30_000, "db1", expired()),
            ],
            "no_shutdown_on_transient"
        ),
        ["db1: timer onbatt armed by ONBATT at 00:00.000 expired at 00:30.000 although u@nas was back on line at 00:10.000"]
    );
    // Cancelled in time, or another UPS coming back: fine.
    let cancelled = vec![
        entry(0, "db1", armed()),
        entry(10_000, "db1", online("u@nas")),
        entry(
            10_010,
            "db1",
            What::Daemon(Event::TimerCancelled {
                name: "onbatt".into(),
            }),
        ),
    ];
    assert!(problems(cancelled, "no_shutdown_on_transient").is_empty());
    let other = vec![
        entry(0, "db1", armed()),
        entry(10_000, "db1", online("v@nas")),
        entry(30_000, "db1", expired()),
    ];
    assert!(problems(other, "no_shutdown_on_transient").is_empty());
}
