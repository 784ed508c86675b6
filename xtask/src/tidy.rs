//! Structural rules of the code base, checked by `cargo xtask tidy` and by `cargo test`.
//!
//! They keep the promises of ARCHITECTURE.md: nut-core is pure, daemon code reads time
//! and the world only through seams, only `sim` links turmoil, simulations stay
//! deterministic, and no stub or ignored test slips in.

use std::path::{Path, PathBuf};

/// Words that must not appear in nut-core's sources (it does no IO and reads no clock).
const CORE_FORBIDDEN: &[&str] = &[
    "tokio::",
    "turmoil::",
    "std::net",
    "std::fs",
    "std::thread",
    "std::process",
    "Instant::now",
    "SystemTime",
    "HashMap",
    "HashSet",
    "thread_rng",
    "std::env",
];

/// Words that must not appear in daemon code that also runs inside turmoil.
const DAEMON_FORBIDDEN: &[&str] = &[
    "turmoil::",
    "std::time::Instant",
    "SystemTime",
    "std::fs",
    "std::process",
    "std::thread",
    "spawn_blocking",
    "HashMap",
    "HashSet",
    "std::env",
];

/// nut-bins modules that run in the simulation (everything but the real seams, config
/// loading and the binaries).
const DAEMON_FILES: &[&str] = &[
    "driver.rs",
    "lines.rs",
    "seam.rs",
    "session.rs",
    "upsd.rs",
    "upsmon.rs",
    "upssched.rs",
    "upsdrvctl.rs",
    "wiring.rs",
    "qx.rs",
    "usbhid.rs",
    "snmp.rs",
    "apcsmart.rs",
];

/// What the simulation must not do itself: build a daemon's runtime or parse its config
/// files. It writes each host's files and starts the daemons through their `process`
/// functions, the one wiring the binaries use too.
const SIM_FORBIDDEN: &[&str] = &[
    "UpsdCore",
    "UpsdRuntime",
    "UpsmonCore",
    "DummyConfig",
    "run_dummy",
    "upsd::serve",
    "upsmon::run(",
    "run_wired",
    "parse_ups_conf",
    "parse_upsd_conf",
    "parse_upsd_users",
    "parse_upsmon_conf",
    "QxDriver",
    "run_qx",
    "QxOptions",
    "run_hid",
    "HidSession",
    "run_snmp",
    "SnmpSession",
];

/// `nut-sim check` parses a site's config files with nut-core's parsers to lint them
/// (every diagnostic, not just the first error a daemon stops on); the outage it then
/// simulates starts the daemons through their wiring like every other scenario, so it
/// may name the parsers (`parse_*`) but nothing else the simulation may not.
const LINT_FILE: &str = "sim/src/check.rs";

/// The fast driver runs the cores (so it names `UpsdCore` and `UpsmonCore`), but takes
/// them from the daemons' `wire` functions like the binaries, and runs on neither
/// turmoil nor tokio.
const FAST_FILE: &str = "sim/src/fast.rs";
const FAST_FORBIDDEN: &[&str] = &[
    "UpsdCore::new",
    "UpsdRuntime {",
    "DummyConfig {",
    "run_dummy",
    "upsd::serve",
    "upsmon::run(",
    "run_wired",
    "parse_ups_conf",
    "parse_upsd_conf",
    "parse_upsd_users",
    "parse_upsmon_conf",
    "turmoil::",
    "tokio::",
];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Code without comments, so documentation may mention what code must not use.
fn code_only(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(pos) => &line[..pos],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn forbid(files: &[PathBuf], words: &[&str], rule: &str, problems: &mut Vec<String>) {
    for file in files {
        let text = code_only(&std::fs::read_to_string(file).unwrap_or_default());
        for word in words {
            if text.contains(word) {
                problems.push(format!("{}: uses `{word}` ({rule})", file.display()));
            }
        }
    }
}

fn manifest_deps(manifest: &Path) -> String {
    let text = std::fs::read_to_string(manifest).unwrap_or_default();
    text.split("[dependencies]")
        .nth(1)
        .unwrap_or("")
        .split("\n[")
        .next()
        .unwrap_or("")
        .to_string()
}

/// Runs every rule; returns the problems found.
pub fn check(root: &Path) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let core_deps = manifest_deps(&root.join("nut-core/Cargo.toml"));
    if core_deps
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
    {
        problems.push("nut-core/Cargo.toml: nut-core must have no dependencies".to_string());
    }
    for krate in ["nut-core", "nut-bins", "xtask"] {
        if manifest_deps(&root.join(krate).join("Cargo.toml")).contains("turmoil") {
            problems.push(format!(
                "{krate}/Cargo.toml: only sim may depend on turmoil"
            ));
        }
    }
    forbid(
        &rust_files(&root.join("nut-core/src")),
        CORE_FORBIDDEN,
        "nut-core is sans-IO",
        &mut problems,
    );
    let daemon_files: Vec<PathBuf> = DAEMON_FILES
        .iter()
        .map(|f| root.join("nut-bins/src").join(f))
        .collect();
    forbid(
        &daemon_files,
        DAEMON_FORBIDDEN,
        "daemon code also runs in turmoil",
        &mut problems,
    );
    let fast = root.join(FAST_FILE);
    let lint = root.join(LINT_FILE);
    let sim_files: Vec<PathBuf> = rust_files(&root.join("sim/src"))
        .into_iter()
        .filter(|f| *f != fast && *f != lint)
        .collect();
    let lint_forbidden: Vec<&str> = SIM_FORBIDDEN
        .iter()
        .copied()
        .filter(|f| !f.starts_with("parse_"))
        .collect();
    forbid(
        std::slice::from_ref(&lint),
        &lint_forbidden,
        "the site check lints config files but starts daemons only through their wiring",
        &mut problems,
    );
    forbid(
        std::slice::from_ref(&fast),
        FAST_FORBIDDEN,
        "the fast driver takes its cores from the daemons' wiring and runs on neither turmoil nor tokio",
        &mut problems,
    );
    forbid(
        &sim_files,
        SIM_FORBIDDEN,
        "the simulation starts daemons through their one wiring (nut_bins::*::process)",
        &mut problems,
    );
    for file in daemon_files
        .iter()
        .chain(rust_files(&root.join("sim/src")).iter())
    {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let selects = text.matches("tokio::select!").count();
        if text.matches("biased;").count() < selects {
            problems.push(format!(
                "{}: every tokio::select! must start with `biased;` (determinism in turmoil)",
                file.display()
            ));
        }
    }
    let mut all = Vec::new();
    for dir in ["nut-core", "nut-bins", "sim", "xtask"] {
        all.extend(rust_files(&root.join(dir)));
    }
    let ignore_attr = format!("#[{}", "ignore");
    let stubs = [format!("{}!(", "todo"), format!("{}!(", "unimplemented")];
    for file in &all {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if text.contains(&ignore_attr) {
            problems.push(format!("{}: ignored test", file.display()));
        }
        for stub in &stubs {
            if text.contains(stub.as_str()) {
                problems.push(format!("{}: stub `{stub}`", file.display()));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_code_base_follows_its_structural_rules() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap();
        if let Err(problems) = super::check(root) {
            panic!("tidy:\n{}", problems.join("\n"));
        }
    }

    #[test]
    fn the_rules_catch_a_violation() {
        let dir = std::env::temp_dir().join(format!("tidy-{}", std::process::id()));
        let src = dir.join("nut-core/src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(
            dir.join("nut-core/Cargo.toml"),
            "[dependencies]\ntokio = \"1\"\n",
        )
        .unwrap();
        std::fs::write(
            src.join("lib.rs"),
            "fn f() { let t = std::time::Instant::now(); }\n",
        )
        .unwrap();
        let problems = super::check(&dir).unwrap_err();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            problems.iter().any(|p| p.contains("no dependencies")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("Instant::now")),
            "{problems:?}"
        );
    }
}
