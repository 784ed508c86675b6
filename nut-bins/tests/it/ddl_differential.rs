//! Differential test on every real device dump in shared/ddl: our dummy-ups + upsd and
//! Debian's NUT 2.8.0 dummy-ups + upsd serve the same .dev files, and Debian's upsc must
//! print the same variables and values for each, and Debian's upsrw the same writable
//! variables with the same types and lengths. One server pair serves the whole
//! directory (one ups.conf section per file). The only accepted differences are listed
//! in [`accepted_difference`] with their reason; any other difference fails.

use crate::interop::peer;
use crate::lab::{bin, free_port, is_root, run, wait_for, Lab};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn ddl_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/ddl")
}

/// Every device file of shared/ddl (`.dev` and `.seq`), sorted. A `.seq` file's first
/// block holds until its first TIMER (300 s in the one `.seq` there), far longer than
/// this test, so both servers show that block.
fn ddl_files() -> Vec<PathBuf> {
    let dir = ddl_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dev" || e == "seq"))
        .collect();
    files.sort();
    files
}

/// Section name of the n-th file.
fn ups_name(n: usize) -> String {
    format!("ddl{n:02}")
}

/// Writes ups.conf (one section per file, each file copied as `ddlNN.dev` so that
/// `driver.parameter.port` is the same on both sides) and starts one dummy-ups per
/// section and upsd. Returns the port.
fn start(lab: &mut Lab, files: &[PathBuf], dummy: &Path, upsd: &Path, extra: &[&str]) -> u16 {
    let port = free_port();
    let mut conf = String::new();
    for (n, file) in files.iter().enumerate() {
        let name = ups_name(n);
        std::fs::create_dir_all(lab.path("etc")).unwrap();
        std::fs::copy(file, lab.path(&format!("etc/{name}.dev"))).unwrap();
        conf.push_str(&format!(
            "[{name}]\n\tdriver = dummy-ups\n\tport = {name}.dev\n"
        ));
    }
    lab.write("etc/ups.conf", &conf);
    lab.write("etc/upsd.conf", &format!("LISTEN 127.0.0.1 {port}\n"));
    lab.write("etc/upsd.users", "");
    for n in 0..files.len() {
        let name = ups_name(n);
        let mut args = vec!["-a", name.as_str()];
        args.extend_from_slice(extra);
        lab.spawn(&format!("dummy-{name}"), dummy, "etc", &args);
    }
    lab.spawn("upsd", upsd, "etc", extra);
    port
}

/// `upsc <ups>@127.0.0.1:<port>` as `var -> value`, once the UPS is served and its
/// status is no longer upsd's `WAIT` placeholder.
fn dump(upsc: &Path, port: u16, ups: &str) -> Option<BTreeMap<String, String>> {
    let (code, out, _) = run(upsc, &[&format!("{ups}@127.0.0.1:{port}")], &[]);
    if code != 0 {
        return None;
    }
    let vars: BTreeMap<String, String> = out
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(": ").unwrap_or((l.trim_end_matches(':'), ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    (vars.get("ups.status").map(String::as_str) != Some("WAIT")).then_some(vars)
}

/// `upsrw <ups>@127.0.0.1:<port>` (RW variables with description, type, maximum
/// length and value) as `var -> block`.
fn rw_blocks(upsrw: &Path, port: u16, ups: &str) -> BTreeMap<String, String> {
    let (code, out, err) = run(upsrw, &[&format!("{ups}@127.0.0.1:{port}")], &[]);
    assert_eq!(code, 0, "upsrw {ups} on {port}: {err}");
    out.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|b| {
            let name = b
                .lines()
                .next()
                .unwrap()
                .trim_matches(['[', ']'])
                .to_string();
            (name, b.to_string())
        })
        .collect()
}

/// Names that a .dev file gives on a line without a value: `name:` alone, or followed
/// only by a comment (`ups.serial: ####`, where `#` starts the comment).
fn valueless_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            // Cut at the first `#` outside quotes and not escaped (NUT's tokenizer).
            let (mut quoted, mut escaped, mut end) = (false, false, l.len());
            for (i, c) in l.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => quoted = !quoted,
                    '#' if !quoted => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            let name = l[..end].trim().strip_suffix(':')?;
            (!name.is_empty() && !name.contains(char::is_whitespace)).then(|| name.to_string())
        })
        .collect()
}

/// Why a difference in `var` (our value, NUT's value) is intended, or None if it is a
/// failure.
fn accepted_difference(
    var: &str,
    ours: Option<&String>,
    nut: Option<&String>,
    valueless: &BTreeSet<String>,
) -> Option<&'static str> {
    // What we show when we ignored the line: nothing, or dummy-ups's start-up value.
    let default = match var.split_once('.').map(|(_, s)| s) {
        Some("mfr") => Some("Dummy Manufacturer"),
        Some("model") => Some("Dummy UPS"),
        _ => None,
    };
    let ours_ignored = ours.is_none() || ours.map(String::as_str) == default;
    if nut.is_none() || !ours_ignored {
        return None;
    }
    // `name:` without a value: NUT's dummy-ups reuses the previous line's value buffer,
    // ours ignores the line (ARCHITECTURE.md "Deliberate differences"). ups.status is
    // not affected: both publish an empty status for `ups.status:`.
    if var != "ups.status" && valueless.contains(var) {
        return Some("`name:` line without value");
    }
    // device.mfr/model/serial are copied from ups.* at start-up, so they inherit the
    // difference above from a valueless ups.mfr/model/serial line.
    if let Some(suffix) = var.strip_prefix("device.") {
        if ["mfr", "model", "serial"].contains(&suffix)
            && valueless.contains(&format!("ups.{suffix}"))
        {
            return Some("copied from a valueless ups.* line");
        }
    }
    None
}

#[test]
fn every_ddl_dump_is_served_like_nut_serves_it() {
    let (Some(upsc), Some(upsrw), Some(nut_upsd), Some(nut_dummy)) = (
        peer("/usr/bin/upsc"),
        peer("/usr/bin/upsrw"),
        peer("/lib/nut/upsd"),
        peer("/lib/nut/dummy-ups"),
    ) else {
        return;
    };
    let files = ddl_files();
    assert!(
        files.len() >= 50,
        "shared/ddl has only {} device files",
        files.len()
    );
    let nut_extra: &[&str] = if is_root() {
        &["-F", "-u", "root"]
    } else {
        &["-F"]
    };
    let mut ours_lab = Lab::new("ddl-ours");
    let mut nut_lab = Lab::new("ddl-nut");
    let nut_port = start(&mut nut_lab, &files, nut_dummy, nut_upsd, nut_extra);
    let our_port = start(&mut ours_lab, &files, &bin("dummy-ups"), &bin("upsd"), &[]);

    let mut failures = Vec::new();
    let mut accepted: BTreeMap<&str, usize> = BTreeMap::new();
    for (n, file) in files.iter().enumerate() {
        let name = ups_name(n);
        let file_name = file.file_name().unwrap().to_string_lossy();
        let [ours, theirs] = [our_port, nut_port].map(|port| {
            wait_for(
                Duration::from_secs(30),
                &format!("{name} ({file_name}) on port {port}"),
                || dump(upsc, port, &name),
            )
        });
        let text = std::fs::read_to_string(file).unwrap();
        let valueless = valueless_names(&text);
        let vars: BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
        for var in vars {
            let (a, b) = (ours.get(var), theirs.get(var));
            if a == b {
                continue;
            }
            match accepted_difference(var, a, b, &valueless) {
                Some(reason) => *accepted.entry(reason).or_default() += 1,
                None => failures.push(format!("{file_name}: {var}: ours {a:?}, NUT {b:?}")),
            }
        }
        // Flags, types and lengths of the writable variables, as upsrw shows them.
        let [our_rw, their_rw] = [our_port, nut_port].map(|port| rw_blocks(upsrw, port, &name));
        let rw_vars: BTreeSet<&String> = our_rw.keys().chain(their_rw.keys()).collect();
        for var in rw_vars {
            let (a, b) = (our_rw.get(var), their_rw.get(var));
            if a != b
                && accepted_difference(var, ours.get(var), theirs.get(var), &valueless).is_none()
            {
                failures.push(format!("{file_name}: upsrw [{var}]: ours {a:?}, NUT {b:?}"));
            }
        }
    }
    eprintln!("accepted differences: {accepted:?}");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
