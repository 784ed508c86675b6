//! The planner: the example plan's outputs, shards merging into the unsharded outputs,
//! bad plans, and the closed-form prediction against the simulation on the scenario
//! library.

use sim::analytic::{self, Call, Prediction};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nut-sim-plan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Simulated margins may differ from the formula's by the network's few milliseconds
/// per message.
const TOLERANCE_MS: i64 = 1_000;

#[test]
fn the_prediction_brackets_the_simulation_on_the_library() {
    let dir = root().join("scenarios");
    let mut calls = std::collections::BTreeMap::new();
    for file in sim::scenario_files(&dir).expect("scenarios") {
        let text = std::fs::read_to_string(&file).expect("read");
        let s = sim::scenario::Scenario::from_yaml(&text).expect("scenario");
        let prediction = analytic::predict(&s);
        calls.insert(s.name.clone(), prediction.call());
        let Prediction::Margins(bounds) = &prediction else {
            continue;
        };
        if sim::fast::unsupported(&s).is_some() {
            continue;
        }
        let outcome = sim::fast::run(&s).expect("run");
        let safe = sim::verdict::judge(&s, &outcome)
            .checks
            .iter()
            .any(|c| c.name == "no_unsafe_power_loss" && c.problems.is_empty());
        match prediction.call() {
            Call::Safe => assert!(safe, "{}: predicted safe, simulated unsafe", s.name),
            Call::Unsafe => assert!(!safe, "{}: predicted unsafe, simulated safe", s.name),
            _ => {}
        }
        let simulated = sim::plan::margins(&s, &outcome);
        for (host, lo, hi) in bounds {
            let Some(Some(m)) = simulated.get(host) else {
                continue;
            };
            if *lo == analytic::NEVER_HALTS {
                assert!(
                    *m < 0,
                    "{}: {host} never halts yet its margin is {m} ms",
                    s.name
                );
                continue;
            }
            assert!(
                (lo - TOLERANCE_MS..=hi + TOLERANCE_MS).contains(m),
                "{}: {host}'s simulated margin {m} ms is outside the predicted {lo}..{hi} ms",
                s.name
            );
        }
    }
    // The boundary pairs of the library (docs/planner.md says why 30/31 is a race).
    assert_eq!(calls["secondary-finaldelay-within-hostsync"], Call::Safe);
    assert_eq!(calls["secondary-finaldelay-above-hostsync"], Call::Unsafe);
    assert_eq!(calls["boundary-battery-outlasts-halt"], Call::Race);
    assert_eq!(calls["boundary-battery-one-second-short"], Call::Race);
    assert_eq!(calls["hostsync-expires"], Call::Unsafe);
    assert_eq!(calls["shutdown-sequence"], Call::Safe);
    let decisive = calls
        .values()
        .filter(|c| matches!(c, Call::Safe | Call::Unsafe))
        .count();
    assert!(
        decisive >= 10,
        "only {decisive} scenarios predicted: {calls:?}"
    );
}

fn nut_sim(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nut-sim"))
        .args(args)
        .output()
        .expect("run nut-sim");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn the_example_plan_shards_merge_into_the_unsharded_outputs() {
    let plan = root().join("scenarios/plans/vm-site-plan.yaml");
    let plan = plan.to_str().expect("utf-8 path");
    let dir = scratch("shards");
    let whole = dir.join("whole");
    let (ok, text) = nut_sim(&["plan", plan, "--out", whole.to_str().unwrap()]);
    assert!(ok, "{text}");
    assert!(
        text.contains("the simulation contradicts it in 0 cells"),
        "{text}"
    );
    let mut shards = Vec::new();
    for i in 0..3 {
        let out = dir.join(format!("shard{i}"));
        let shard = format!("{i}/3");
        let (ok, text) = nut_sim(&[
            "plan",
            plan,
            "--shard",
            &shard,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{text}");
        assert!(
            !out.join("plan.md").exists(),
            "a shard writes its rows only"
        );
        shards.push(out.join("plan.csv").to_str().unwrap().to_string());
    }
    let merged = dir.join("merged");
    let mut args = vec!["merge", plan, "--out", merged.to_str().unwrap()];
    args.extend(shards.iter().map(String::as_str));
    let (ok, text) = nut_sim(&args);
    assert!(ok, "{text}");
    for file in ["plan.csv", "plan.md", "plan.svg"] {
        let a = std::fs::read(whole.join(file)).expect("unsharded output");
        let b = std::fs::read(merged.join(file)).expect("merged output");
        assert!(
            a == b,
            "{file} differs between the unsharded and the merged run"
        );
    }
    // A missing shard is an error, and nothing is written.
    let partial = dir.join("partial");
    let (ok, text) = nut_sim(&[
        "merge",
        plan,
        "--out",
        partial.to_str().unwrap(),
        &shards[0],
        &shards[2],
    ]);
    assert!(!ok && text.contains("a shard is missing"), "{text}");
    assert!(!partial.join("plan.csv").exists());
    let svg = std::fs::read_to_string(whole.join("plan.svg")).expect("svg");
    assert!(
        svg.starts_with("<svg") && svg.matches("<rect").count() > 16,
        "{svg}"
    );
    let md = std::fs::read_to_string(whole.join("plan.md")).expect("md");
    insta::assert_snapshot!("vm-site-plan", md);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_example_plan_finds_hostsync_does_not_protect_the_vm_host() {
    // The rule of thumb "raise HOSTSYNC above the slowest shutdown" does nothing here:
    // with SHUTDOWNEXIT yes (NUT's default) the VM host logs out as its shutdown
    // starts; only ups.delay.shutdown (or the primary's FINALDELAY) buys it time.
    let loaded = sim::plan::load(&root().join("scenarios/plans/vm-site-plan.yaml")).expect("plan");
    let rows =
        sim::plan::run(&loaded, sim::plan::Shard::ALL, 2, sim::Driver::Fast, false).expect("run");
    assert!(sim::plan::contradictions(&rows).is_empty());
    for row in &rows {
        let same_delay: Vec<_> = rows
            .iter()
            .filter(|r| r.values[1] == row.values[1])
            .collect();
        assert!(
            same_delay.iter().all(|r| r.safe_runs == row.safe_runs),
            "HOSTSYNC changed the outcome"
        );
    }
    let unsafe_at_20 = rows
        .iter()
        .filter(|r| r.values[1] == 20.0)
        .all(|r| r.safe_runs == 0);
    let safe_at_120 = rows
        .iter()
        .filter(|r| r.values[1] == 120.0)
        .all(|r| r.safe_runs == r.runs);
    assert!(unsafe_at_20 && safe_at_120);
    let best = sim::plan::recommend(&loaded, &rows).expect("a cell");
    assert_eq!(best.safe_runs, best.runs);
}

#[test]
fn bad_plans_fail_naming_file_and_line_and_write_nothing() {
    let dir = scratch("bad");
    std::fs::copy(
        root().join("scenarios/plans/vm-site.yaml"),
        dir.join("vm-site.yaml"),
    )
    .expect("copy");
    let plan = dir.join("plan.yaml");
    std::fs::write(&plan, "base: vm-site.yaml\nknobs:\n  - { knob: HOSTSYNC, values: [10] }\n  - { knob: FINALDLAY, values: [5] }\n").unwrap();
    let out = dir.join("out");
    let (ok, text) = nut_sim(&[
        "plan",
        plan.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        !ok && text.contains("plan.yaml:4: knob FINALDLAY: unknown knob"),
        "{text}"
    );
    assert!(!out.exists());
    std::fs::write(
        &plan,
        "base: vm-site.yaml\nknobs:\n  - { knob: FINALDELAY, from: 10, to: 0, step: 5 }\n",
    )
    .unwrap();
    let (ok, text) = nut_sim(&[
        "plan",
        plan.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        !ok && text.contains("plan.yaml:3: knob FINALDELAY: empty range"),
        "{text}"
    );
    let (ok, text) = nut_sim(&["plan", plan.to_str().unwrap(), "--shard", "3/3"]);
    assert!(!ok && text.contains("want 0 <= i < n"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn swarm_shards_merge_into_the_unsharded_summary() {
    let options = |shard: sim::plan::Shard| sim::swarm::SwarmOptions {
        start: 500,
        seeds: 12,
        jobs: 2,
        agree_every: 0,
        progress: false,
        shard,
    };
    let whole = options(sim::plan::Shard::ALL);
    let expected = sim::swarm::run_seeds(&whole).summary(&whole);
    let mut parts = Vec::new();
    for i in 0..3 {
        let o = options(sim::plan::Shard { index: i, count: 3 });
        let report = sim::swarm::run_seeds(&o);
        assert_eq!(report.seeds, 4);
        parts.push((format!("s{i}.json"), report.summary(&o)));
    }
    parts.reverse();
    assert_eq!(
        sim::swarm::merge_summaries(&parts).expect("merge"),
        expected
    );
    let e = sim::swarm::merge_summaries(&parts[..2]).unwrap_err();
    assert!(e.contains("is missing"), "{e}");
    let twice = vec![parts[0].clone(), parts[0].clone(), parts[1].clone()];
    assert!(sim::swarm::merge_summaries(&twice)
        .unwrap_err()
        .contains("given twice"));
}

#[test]
fn the_prediction_holds_where_the_battery_runs_out_mid_shutdown() {
    // A 20-minute battery on the ten-host site: with long FINALDELAYs the battery runs
    // out while the hosts shut down. The formula once missed that secondaries wait for
    // the primary's FSD (a poll later than LB) and called such cells safe.
    let dir = scratch("battery-out");
    let base = root().join("scenarios/plans/ten-hosts-one-hour.yaml");
    let plan = dir.join("plan.yaml");
    std::fs::write(
        &plan,
        format!(
            "base: {}\nknobs:\n  - {{ knob: battery.runtime_s, values: [1200] }}\n  - {{ knob: HOSTSYNC, host: nas, values: [1, 8] }}\n  - {{ knob: FINALDELAY, from: 60, to: 90, step: 3 }}\n",
            base.display()
        ),
    )
    .expect("plan");
    let loaded = sim::plan::load(&plan).expect("plan loads");
    let rows =
        sim::plan::run(&loaded, sim::plan::Shard::ALL, 2, sim::Driver::Fast, false).expect("run");
    assert_eq!(sim::plan::contradictions(&rows), Vec::<usize>::new());
    assert!(rows
        .iter()
        .any(|r| r.call == Call::Safe && r.safe_runs == r.runs));
    assert!(rows
        .iter()
        .any(|r| r.call == Call::Unsafe && r.safe_runs == 0));
    let _ = std::fs::remove_dir_all(&dir);
}
