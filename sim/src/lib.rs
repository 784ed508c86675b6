//! sim: runs NUT deployments inside turmoil, from YAML scenarios, and judges the outcome.
//!
//! The daemons are nut-bins' own functions; this crate only supplies simulated seams
//! ([`world`]), the scenario schema ([`scenario`]), the run loop ([`harness`]) and the
//! invariants and report ([`verdict`]). It is the only crate that depends on turmoil.

pub mod agree;
pub mod analytic;
pub mod check;
pub mod fast;
pub mod harness;
pub mod heatmap;
pub mod hidunit;
pub mod plan;
pub mod scenario;
pub mod site;
pub mod smartunit;
pub mod snmpcard;
pub mod swarm;
pub mod verdict;
pub mod world;

use std::path::Path;

/// Loads, runs and judges one scenario file; returns the report and whether it passed.
pub fn run_file(path: &Path) -> Result<(String, bool), String> {
    run_file_timed(path).map(|(report, passed, _)| (report, passed))
}

/// Like [`run_file`], also returning the simulated milliseconds covered.
pub fn run_file_timed(path: &Path) -> Result<(String, bool, u64), String> {
    run_file_as(path, Format::Text)
}

/// How `nut-sim run` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Timeline and verdict as text (what snapshots store).
    #[default]
    Text,
    /// One JSON object per timeline event, then one for the verdict.
    Json,
}

/// Loads, runs and judges one scenario file; returns the report in `format`, whether it
/// passed and the simulated milliseconds covered.
pub fn run_file_as(path: &Path, format: Format) -> Result<(String, bool, u64), String> {
    run_file_with(path, format, None, Driver::Turmoil)
}

/// Which engine runs a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Driver {
    /// turmoil: the daemons' tokio shells over simulated TCP.
    #[default]
    Turmoil,
    /// The event-jumping driver ([`fast`]): the same cores, no turmoil, no tokio.
    Fast,
}

impl Driver {
    /// Runs `scenario` on this driver.
    pub fn run(self, scenario: &scenario::Scenario) -> Result<harness::Outcome, String> {
        match self {
            Driver::Turmoil => harness::run(scenario),
            Driver::Fast => fast::run(scenario),
        }
    }
}

/// [`run_file_as`] with a wall-clock bound in seconds that overrides the scenario's, on
/// `driver`.
pub fn run_file_with(
    path: &Path,
    format: Format,
    wall_limit_s: Option<u64>,
    driver: Driver,
) -> Result<(String, bool, u64), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut scenario =
        scenario::Scenario::from_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if wall_limit_s.is_some() {
        scenario.wall_limit_s = wall_limit_s;
    }
    let outcome = driver
        .run(&scenario)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let verdict = verdict::judge(&scenario, &outcome);
    let report = match format {
        Format::Text => verdict::render(&scenario, &outcome, &verdict),
        Format::Json => {
            let mut out = verdict::json_lines(&outcome);
            let checks: serde_json::Map<String, serde_json::Value> = verdict
                .checks
                .iter()
                .map(|c| (c.name.to_string(), c.problems.clone().into()))
                .collect();
            let summary = serde_json::json!({
                "scenario": scenario.name,
                "kind": "verdict",
                "passed": verdict.passed(),
                "checks": checks,
                "surprises": verdict.surprises,
            });
            out.push_str(&summary.to_string());
            out.push('\n');
            out
        }
    };
    Ok((report, verdict.passed(), outcome.end_ms))
}

/// Scenario files under `dir` (`*.yaml`, sorted by name).
pub fn scenario_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}
