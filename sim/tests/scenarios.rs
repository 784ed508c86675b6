//! Every scenario in `scenarios/` runs twice (the bytes must be identical), its report
//! is compared with the committed insta snapshot, and it must match its expectations;
//! every scenario the fast driver models also runs there, twice, and must make the same
//! decisions and reach the same verdict.

use nut_core::event::Event;
use sim::world::WorldEvent;
use std::path::Path;

#[test]
fn every_scenario_is_deterministic_matches_its_snapshot_and_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let files = sim::scenario_files(&dir).expect("scenarios directory");
    assert!(
        files.len() >= 30,
        "expected at least thirty scenarios, found {}",
        files.len()
    );
    // Shrunk swarm findings run too (their snapshots are prefixed).
    let regressions = sim::scenario_files(&dir.join("regressions")).expect("regressions directory");
    let files: Vec<_> = files.into_iter().chain(regressions).collect();
    let mut failures = Vec::new();
    let mut disagreements = Vec::new();
    let mut agreed = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let scenario = sim::scenario::Scenario::from_yaml(&text).expect("scenario parses");
        let report = |outcome: &sim::harness::Outcome| {
            let verdict = sim::verdict::judge(&scenario, outcome);
            (
                sim::verdict::render(&scenario, outcome, &verdict),
                verdict.passed(),
            )
        };
        let outcome = sim::harness::run(&scenario).expect("scenario runs");
        let (first, passed) = report(&outcome);
        let (second, _) = report(&sim::harness::run(&scenario).expect("scenario runs again"));
        assert_eq!(first, second, "{} is not deterministic", file.display());
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        let name = if file.parent().is_some_and(|p| p.ends_with("regressions")) {
            format!("regressions-{stem}")
        } else {
            stem
        };
        insta::assert_snapshot!(name, first);
        if !passed {
            failures.push(format!("{}:\n{first}", file.display()));
        }
        // The fast driver must make the same decisions, deterministically, and reach
        // the same verdict; a scenario it cannot model must say why.
        if sim::fast::unsupported(&scenario).is_some() {
            continue;
        }
        let fast = sim::fast::run(&scenario).expect("scenario runs on the fast driver");
        let again = sim::fast::run(&scenario).expect("scenario runs on the fast driver again");
        assert_eq!(
            fast.timeline,
            again.timeline,
            "{} is not deterministic on the fast driver",
            file.display()
        );
        // Skipping quiet polls and ticks changes nothing.
        let every = sim::fast::run_every_instant(&scenario).expect("runs taking every instant");
        assert_same_run(&fast, &every, &file.display().to_string());
        let (fast_report, fast_passed) = report(&fast);
        let mut problems =
            sim::agree::compare(&outcome, &fast, sim::agree::tolerance_ms(&scenario));
        if fast_passed != passed {
            problems.push(format!(
                "verdict {passed} on turmoil, {fast_passed} on fast"
            ));
        }
        if problems.is_empty() {
            agreed += 1;
        } else {
            disagreements.push(format!(
                "{}: {}\nfast driver's report:\n{fast_report}",
                file.display(),
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "scenarios failed:\n{}",
        failures.join("\n")
    );
    assert!(
        disagreements.is_empty(),
        "the drivers disagree:\n{}",
        disagreements.join("\n")
    );
    // Every scenario runs on both (nutdrv_qx and usbhid-ups included); only a reload
    // of upsd or a driver would not, and the library has none.
    assert!(agreed >= 49, "only {agreed} scenarios ran on both drivers");
}

#[test]
fn the_fast_driver_names_what_it_does_not_model() {
    // No library scenario reloads upsd; one that does runs on turmoil only.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/01-shutdown-sequence.yaml");
    let text = std::fs::read_to_string(path).unwrap()
        + "faults:\n  - { at_s: 10, do: signal, host: nas, process: upsd, signal: reload }\n";
    let scenario = sim::scenario::Scenario::from_yaml(&text).unwrap();
    let err = sim::fast::run(&scenario).map(|_| ()).unwrap_err();
    assert!(
        err.contains("does not model: reload of a process other than upsmon"),
        "{err}"
    );
}

#[test]
fn the_drivers_disagree_when_a_decision_moves() {
    // The comparison is not vacuous: the same scenario with the secondary's shutdown
    // much longer moves its halt past the tolerance.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/01-shutdown-sequence.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let scenario = sim::scenario::Scenario::from_yaml(&text).unwrap();
    let mut slower = scenario.clone();
    for host in &mut slower.hosts {
        if host.name == "web1" {
            host.shutdown_s += 30.0;
        }
    }
    let a = sim::fast::run(&scenario).unwrap();
    let b = sim::fast::run(&slower).unwrap();
    let problems = sim::agree::compare(&a, &b, sim::agree::AGREEMENT_TOLERANCE_MS);
    assert!(
        problems.iter().any(|p| p.starts_with("web1: halted")),
        "{problems:?}"
    );
}

#[test]
fn a_different_seed_changes_latencies_but_not_decisions() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/01-shutdown-sequence.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let decisions = |seed: u64| {
        let mut scenario = sim::scenario::Scenario::from_yaml(&text).unwrap();
        scenario.seed = seed;
        // With latencies below one tick every seed looks alike; widen them.
        scenario.max_latency_ms = 300;
        let outcome = sim::harness::run(&scenario).unwrap();
        let verdict = sim::verdict::judge(&scenario, &outcome);
        assert!(verdict.passed(), "seed {seed}: {:?}", verdict.surprises);
        let mut order: Vec<String> = outcome
            .timeline
            .iter()
            .filter(|e| {
                matches!(e.event(), Some(Event::ShutdownCmdStarted { .. }))
                    || e.world() == Some(&WorldEvent::Halted)
            })
            .map(|e| format!("{} {}", e.host, sim::verdict::entry_text(e, &[])))
            .collect();
        order.sort();
        (order, outcome.timeline)
    };
    let (order_a, timeline_a) = decisions(42);
    let (order_b, timeline_b) = decisions(4242);
    assert_eq!(order_a, order_b);
    assert_ne!(
        timeline_a, timeline_b,
        "the seed should change message latencies"
    );
}

#[test]
fn a_scenario_with_a_typo_is_rejected_with_its_location() {
    let err = sim::scenario::Scenario::from_yaml(
        "name: x\nduration_s: 10\nups: {name: u, timeline: []}\nhosts: [{name: a, role: primary, shutdwn_s: 3}]\n",
    )
    .unwrap_err();
    assert!(err.contains("shutdwn_s"), "{err}");
    let err = sim::scenario::Scenario::from_yaml(
        "name: x\nduration_s: 10\nups: {name: u, timeline: []}\nhosts: [{name: a, role: secondary}]\n",
    )
    .unwrap_err();
    assert!(
        err.contains("at least one host must have role primary"),
        "{err}"
    );
    // Absurd numbers, unknown UPS names, a UPS hosted by a secondary.
    for (yaml, wanted) in [
        (
            "name: x\nduration_s: 1e12\nups: {name: u}\nhosts: [{name: a, role: primary}]\n",
            "duration_s must be",
        ),
        (
            "name: x\nduration_s: 10\nups: {name: u}\nhosts: [{name: a, role: primary, fed_by: [v]}]\n",
            "host a: unknown UPS \"v\"",
        ),
        (
            "name: x\nduration_s: 10\nupses: [{name: u, host: b}]\nhosts: [{name: a, role: primary}, {name: b, role: secondary}]\n",
            "UPS u: its host b must have role primary",
        ),
        (
            "name: x\nduration_s: 10\nups: {name: u, battery: {runtime_s: 0}}\nhosts: [{name: a, role: primary}]\n",
            "battery needs runtime_s > 0",
        ),
        (
            "name: x\nduration_s: 10\nups: {name: u}\nhosts: [{name: a, role: primary, start_s: -1}]\n",
            "host a: start_s -1 must be between 0 and duration_s",
        ),
        (
            "name: x\nduration_s: 10\nups: {name: u, driver: blazer_ser}\nhosts: [{name: a, role: primary}]\n",
            "unknown variant `blazer_ser`",
        ),
        (
            "name: x\nduration_s: 10\npoll_phases: random\nups: {name: u}\nhosts: [{name: a, role: primary}]\n",
            "unknown variant `random`",
        ),
        (
            "name: x\nduration_s: 10\nups: {name: u, mains_seq: \"ups.mfr: x\\nTIMER 5\\n\"}\nhosts: [{name: a, role: primary}]\n",
            "UPS u: mains_seq: no ups.status with OL or OB in the sequence",
        ),
        (
            "name: x\nduration_s: 10\nups: {name: u}\nhosts: [{name: a, role: primary}, {name: b, role: secondary}]\nfaults: [{at_s: 1, do: latency, a: a, b: b, ms: 99999999}]\n",
            "latency 99999999 ms between a and b: at most 3600000 ms",
        ),
    ] {
        let err = sim::scenario::Scenario::from_yaml(yaml).unwrap_err();
        assert!(err.contains(wanted), "{yaml}: {err}");
    }
}

#[test]
fn nut_settings_nut_would_reject_fail_before_the_run_naming_host_and_file() {
    let err = sim::scenario::Scenario::from_yaml(
        "name: x\nduration_s: 10\nups: {name: u, timeline: []}\n\
         hosts: [{name: nas, role: primary, upsmon: {HOSTSYNC: soon}}]\n",
    )
    .and_then(|s| sim::harness::run(&s).map(|_| ()))
    .unwrap_err();
    assert!(err.contains("host nas"), "{err}");
    assert!(err.contains("/etc/nut/upsmon.conf:"), "{err}");
    assert!(err.contains("HOSTSYNC"), "{err}");
}

#[test]
fn a_nutdrv_qx_ups_is_checked_through_the_drivers_own_wiring() {
    // delay_shutdown_s becomes nutdrv_qx's offdelay, which NUT bounds to 12..600 s
    // (12..5940 s for a voltronic unit).
    let err = sim::scenario::Scenario::from_yaml(
        "name: x\nduration_s: 10\nups: {name: u, driver: nutdrv_qx, delay_shutdown_s: 6000}\n\
         hosts: [{name: nas, role: primary}]\n",
    )
    .and_then(|s| sim::harness::run(&s).map(|_| ()))
    .unwrap_err();
    assert!(err.contains("host nas"), "{err}");
    assert!(err.contains("Shutdown delay '6000' out of range"), "{err}");
}

#[test]
fn json_output_has_one_typed_object_per_event_and_a_verdict() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/01-shutdown-sequence.yaml");
    let (report, passed, _) = sim::run_file_as(&path, sim::Format::Json).unwrap();
    assert!(passed);
    let objects: Vec<serde_json::Value> = report
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is one JSON object"))
        .collect();
    let verdict = objects.last().unwrap();
    assert_eq!(verdict["kind"], "verdict");
    assert_eq!(verdict["passed"], true);
    let fsd: Vec<&serde_json::Value> = objects.iter().filter(|o| o["kind"] == "fsd_set").collect();
    assert_eq!(fsd.len(), 1, "one FSD, set by the primary");
    assert_eq!(fsd[0]["host"], "nas");
    assert_eq!(fsd[0]["system"], "ups1@nas:3493");
    let shutdowns = objects
        .iter()
        .filter(|o| o["kind"] == "shutdowncmd_started")
        .count();
    assert_eq!(shutdowns, 3, "every host ran SHUTDOWNCMD once");
    let notify = objects
        .iter()
        .find(|o| o["kind"] == "notify" && o["type"] == "ONBATT")
        .expect("an ONBATT notification");
    assert!(
        notify["message"].as_str().unwrap().contains("on battery"),
        "{notify}"
    );
}

/// The fast driver's run with warps and the one taking every instant agree on
/// everything recorded.
fn assert_same_run(warped: &sim::harness::Outcome, every: &sim::harness::Outcome, what: &str) {
    if let Some(index) = (0..warped.timeline.len().max(every.timeline.len()))
        .find(|&i| warped.timeline.get(i) != every.timeline.get(i))
    {
        panic!(
            "{what}: skipping quiet acts changed the timeline at entry {index}:\n  with warps:   {:?}\n  every instant: {:?}",
            warped.timeline.get(index),
            every.timeline.get(index)
        );
    }
    // Keys and certificates of the test CA are drawn afresh for each run.
    let files = |o: &sim::harness::Outcome| {
        o.files
            .iter()
            .filter(|((_, path), _)| !path.ends_with(".pem"))
            .map(|(key, text)| (key.clone(), String::from_utf8_lossy(text).to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(files(warped), files(every), "{what}: files differ");
    assert_eq!(warped.hosts, every.hosts, "{what}: host states differ");
    assert_eq!(
        (warped.end_ms, warped.settled),
        (every.end_ms, every.settled),
        "{what}: the runs ended differently"
    );
}

/// `scenario` on the fast driver with warps and taking every instant: the same run.
fn same_both_ways(
    scenario: &sim::scenario::Scenario,
    what: &str,
) -> (sim::harness::Outcome, sim::harness::Outcome) {
    let warped = sim::fast::run(scenario).expect(what);
    let every = sim::fast::run_every_instant(scenario).expect(what);
    assert_same_run(&warped, &every, what);
    (warped, every)
}

/// Random sites (swarm's generator: faults, outages, several UPSes, upssched, crashes)
/// give the same run with warps as taking every instant; the warps skip most instants
/// on the one-hour capacity site.
#[test]
fn warps_skip_quiet_acts_without_changing_any_run() {
    let mut compared = 0;
    for seed in 5_000..5_060 {
        let scenario = sim::swarm::generate(seed);
        if sim::fast::unsupported(&scenario).is_some() {
            continue;
        }
        same_both_ways(&scenario, &format!("swarm seed {seed}"));
        compared += 1;
    }
    assert!(compared >= 50, "only {compared} seeds compared");
    // The planner's site: a battery whose figures change every second while no status
    // does, so polls are skipped across the driver's busy polls.
    let library = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let load = |path: &str| {
        let text = std::fs::read_to_string(library.join(path)).unwrap();
        sim::scenario::Scenario::from_yaml(&text).expect(path)
    };
    let (warped, _) = same_both_ways(&load("plans/ten-hosts-one-hour.yaml"), "the planner's site");
    assert!(
        warped.skipped > 1_000,
        "only {} instants skipped",
        warped.skipped
    );
    // Where a poll falls within a second can matter (DEADTIME 0 over a two-UPS cycle).
    let deadtime = sim::scenario::Scenario::from_yaml(DEADTIME_SITE).expect("deadtime site");
    same_both_ways(&deadtime, "DEADTIME across a two-UPS cycle");
    let capacity = load("capacity/one-hour-outage-20-secondaries.yaml");
    let (warped, every) = same_both_ways(&capacity, "the capacity scenario");
    assert_eq!(every.skipped, 0);
    assert!(
        warped.skipped > 10_000,
        "only {} instants skipped",
        warped.skipped
    );
}

/// A secondary fed by two UPSes with DEADTIME 0: DEADTIME counts whole seconds from
/// ups1's answer to the end of a cycle that waits 600 ms for ups2's, so whether ups1
/// (on battery) is assumed dead depends on where each poll falls within a second.
const DEADTIME_SITE: &str = r#"
name: deadtime-two-upses
seed: 3
duration_s: 900
upses:
  - { name: ups1, host: nas1, timeline: [{ at_s: 0, status: OL }, { at_s: 30, status: OB DISCHRG }] }
  - { name: ups2, host: nas2 }
hosts:
  - { name: nas1, role: primary, fed_by: [ups1], monitors: [{ ups: ups1 }], shutdown_s: 20 }
  - { name: nas2, role: primary, fed_by: [ups2], monitors: [{ ups: ups2 }], shutdown_s: 20 }
  - name: dual
    role: secondary
    fed_by: [ups1, ups2]
    monitors: [{ ups: ups1, power_value: 1 }, { ups: ups2, power_value: 1 }]
    upsmon: { MINSUPPLIES: "1", DEADTIME: "0", POLLFREQ: "3", POLLFREQALERT: "3" }
faults:
  - { at_s: 10, do: latency, a: dual, b: nas2, ms: 300 }
"#;

#[test]
fn swarm_seeds_hold_every_always_true_invariant_and_agree_with_turmoil() {
    let report = sim::swarm::run_seeds(&sim::swarm::SwarmOptions {
        start: 1_000,
        seeds: 24,
        jobs: 2,
        agree_every: 8,
        progress: false,
        shard: sim::plan::Shard::ALL,
    });
    assert_eq!(report.seeds, 24);
    assert_eq!(report.cross_checked, 3);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    // The generator reaches the branches it is for.
    for mark in [
        "killpower_sent",
        "primary_waited_for_secondaries",
        "host_rebooted",
    ] {
        assert!(
            report.marks.contains_key(mark),
            "no seed hit {mark}: {:?}",
            report.marks
        );
    }
}

#[test]
fn a_failing_scenario_shrinks_to_a_smaller_one_that_still_fails() {
    // A site that loses power (scenario 31) with noise added: a secondary and faults
    // that change nothing about the loss. The shrinker must drop the noise, keep the
    // failure, and write a file that reads back.
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/31-boundary-battery-one-second-short.yaml");
    let mut scenario =
        sim::scenario::Scenario::from_yaml(&std::fs::read_to_string(path).unwrap()).unwrap();
    scenario.expect.violations.clear();
    let mut extra = scenario.hosts[2].clone();
    extra.name = "spare".into();
    scenario.hosts.push(extra);
    let noise = "faults:\n  - { at_s: 250, do: crash, host: spare, process: upsmon }\n  - { at_s: 260, do: latency, a: nas, b: spare, ms: 200 }\n";
    let extra_faults = sim::scenario::Scenario::from_yaml(&format!(
        "name: n\nduration_s: 1\nups: {{ name: ups1 }}\nhosts: [{{ name: nas, role: primary }}, {{ name: spare, role: secondary }}]\n{noise}"
    ))
    .unwrap()
    .faults;
    scenario.faults.extend(extra_faults);
    assert!(sim::swarm::fails_with(&scenario, "no_unsafe_power_loss"));
    let small = sim::swarm::shrink(&scenario, "no_unsafe_power_loss");
    assert!(sim::swarm::fails_with(&small, "no_unsafe_power_loss"));
    assert!(small.faults.is_empty(), "{:?}", small.faults);
    assert!(small.hosts.len() < scenario.hosts.len());
    let text = sim::swarm::to_yaml(&small);
    let back = sim::scenario::Scenario::from_yaml(&text).expect("the shrunk file parses");
    assert!(
        sim::swarm::fails_with(&back, "no_unsafe_power_loss"),
        "{text}"
    );
}

#[test]
fn fsd_latched_flags_a_client_that_never_saw_fsd() {
    use nut_core::upsd::Event as U;
    use sim::world::{Entry, What};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/01-shutdown-sequence.yaml");
    let scenario =
        sim::scenario::Scenario::from_yaml(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut outcome = sim::fast::run(&scenario).unwrap();
    let fsd_latched = |outcome: &sim::harness::Outcome| {
        sim::verdict::judge(&scenario, outcome)
            .checks
            .into_iter()
            .find(|c| c.name == "fsd_latched")
            .unwrap()
            .problems
    };
    assert!(fsd_latched(&outcome).is_empty());
    // The same run where db1 never heard of FSD, never shut down and logged out later.
    let db1 = outcome.addresses["db1"].clone();
    outcome.timeline.retain(|e| {
        e.host != "db1"
            && !matches!(e.event(), Some(Event::Upsd(U::Logout { addr, .. })) if *addr == db1)
    });
    let fsd_at = outcome
        .timeline
        .iter()
        .find(|e| matches!(e.event(), Some(Event::Upsd(U::FsdSet { .. }))))
        .unwrap()
        .t_ms;
    let db1_login = Entry {
        t_ms: 0,
        host: "nas".into(),
        program: "upsd",
        what: What::Daemon(Event::Upsd(U::Login {
            ups: "ups1".into(),
            user: "monsecondary".into(),
            addr: db1.clone(),
        })),
    };
    let db1_logout = Entry {
        t_ms: fsd_at + 20_000,
        host: "nas".into(),
        program: "upsd",
        what: What::Daemon(Event::Upsd(U::Logout {
            ups: "ups1".into(),
            user: "monsecondary".into(),
            addr: db1,
        })),
    };
    outcome.timeline.insert(0, db1_login);
    outcome.timeline.push(db1_logout);
    outcome.timeline.sort_by_key(|e| e.t_ms);
    let problems = fsd_latched(&outcome);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("db1 stayed logged in to ups1")),
        "{problems:?}"
    );
}

/// The usbhid-ups scenario runs the real driver against the modelled APC unit: its -k
/// is NUT's shutdown.reboot with the table's fixed 10 s, so the same site with the
/// primary's FINALDELAY at 5 s cuts the slow secondary's power mid-halt, and the
/// scenario as written (30 s) does not.
#[test]
fn usbhid_ups_kill_power_uses_the_units_fixed_reboot_timer() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/42-usbhid-ups-full-cycle.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let scenario = sim::scenario::Scenario::from_yaml(&text).unwrap();
    let outcome = sim::harness::run(&scenario).unwrap();
    let verdict = sim::verdict::judge(&scenario, &outcome);
    assert!(verdict.passed(), "{:?}", verdict.surprises);
    let lines: Vec<String> = outcome
        .timeline
        .iter()
        .map(|e| format!("{} {}", e.host, sim::verdict::entry_text(e, &[])))
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("load off in 10 s")),
        "{lines:#?}"
    );
    let mut short = scenario.clone();
    short.hosts[0]
        .upsmon
        .insert("FINALDELAY".to_string(), "5".to_string());
    let outcome = sim::harness::run(&short).unwrap();
    let verdict = sim::verdict::judge(&short, &outcome);
    assert!(
        verdict
            .surprises
            .iter()
            .any(|s| s.contains("no_unsafe_power_loss")),
        "{:?}",
        verdict.surprises
    );
}
