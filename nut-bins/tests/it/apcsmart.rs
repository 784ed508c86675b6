//! apcsmart against recorded APC Smart-UPS units: each fixture of hw-fixtures/apcsmart
//! is played by a modelled unit on a pseudo-terminal, and our driver (serial port
//! included) must print the variables NUT printed for that unit; Debian's apcsmart runs
//! against the same fake unit and must print the same listing and send the same
//! commands (a differential test, like the nutdrv_qx one).

use crate::interop::peer;
use crate::lab::{bin, exchange, is_root, wait_for, Lab};
use nut_bins::fakeups::PtyUps;
use nut_core::transcript::Transcript;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Variables that name the implementation rather than the unit (and the port: each
/// run gets its own pseudo-terminal).
const IMPLEMENTATION_VARS: [&str; 2] = ["driver.version", "driver.parameter.port"];

fn fixtures() -> Vec<(String, Transcript)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hw-fixtures/apcsmart");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "hw-fixtures/apcsmart has {} fixtures",
        files.len()
    );
    files
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let t = Transcript::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, t)
        })
        .collect()
}

fn fixture(name: &str) -> Transcript {
    fixtures()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
        .1
}

fn ups_conf(port: &str, t: &Transcript, extra: &[(&str, &str)]) -> String {
    let mut conf = format!("[test]\n\tdriver = apcsmart\n\tport = {port}\n");
    for (key, value) in &t.options {
        match value {
            Some(v) => conf.push_str(&format!("\t{key} = {v}\n")),
            None => conf.push_str(&format!("\t{key}\n")),
        }
    }
    for (key, value) in extra {
        conf.push_str(&format!("\t{key} = {value}\n"));
    }
    conf
}

fn command(lab: &Lab, program: &Path, args: &[&str], extra: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(["-a", "test"])
        .args(args)
        .args(extra)
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"))
        .env("NUT_ALTPIDPATH", lab.path("state"));
    cmd
}

/// Runs `program -a test -d 1` against a fresh fake unit; the listing and the command
/// characters the unit received.
fn dump(lab: &Lab, program: &Path, t: &Transcript, extra: &[&str]) -> (String, Vec<u8>) {
    let ups = PtyUps::spawn_apc(t).unwrap();
    lab.write("etc/ups.conf", &ups_conf(ups.path(), t, &[]));
    let cmd = command(lab, program, &["-d", "1"], extra);
    let out = crate::lab::output_within(cmd, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "{} -d 1 failed:\n{}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        ups.received().concat(),
    )
}

fn parse_listing(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            l.split_once(": ")
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .filter(|(k, _)| !IMPLEMENTATION_VARS.contains(&k.as_str()))
        .collect()
}

#[test]
fn every_fixture_gives_the_variables_nut_printed_for_the_unit() {
    let lab = Lab::new("apcsmart-replay");
    let mut failures = Vec::new();
    for (name, t) in fixtures() {
        let (listing, received) = dump(&lab, &bin("apcsmart"), &t, &[]);
        let vars = parse_listing(&listing);
        for (var, want) in &t.expect {
            let got = vars.iter().find(|(k, _)| k == var).map(|(_, v)| v.as_str());
            if got != Some(want.as_str()) {
                failures.push(format!("{name}: {var}: want {want:?}, got {got:?}"));
            }
        }
        assert!(received.starts_with(b"Y"), "{name}: {received:?}");
        assert!(
            received.contains(&b'Q'),
            "{name}: no status query: {received:?}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn debian_apcsmart_prints_the_same_listing_and_sends_the_same_commands() {
    let Some(nut) = peer("/lib/nut/apcsmart") else {
        return;
    };
    let nut_extra: &[&str] = if is_root() { &["-u", "root"] } else { &[] };
    let lab = Lab::new("apcsmart-differential");
    let mut failures = Vec::new();
    for (name, mut t) in fixtures() {
        // NUT sets the 940-0095B cable's modem lines or exits, and a pseudo-terminal
        // has none: both run without the option.
        t.options
            .retain(|(k, v)| !(k == "cable" && v.as_deref() == Some("940-0095B")));
        let (ours, our_bytes) = dump(&lab, &bin("apcsmart"), &t, &[]);
        let (theirs, their_bytes) = dump(&lab, nut, &t, nut_extra);
        let (ours, theirs) = (parse_listing(&ours), parse_listing(&theirs));
        if ours != theirs {
            failures.push(format!(
                "{name}: listings differ:\n  ours:   {ours:?}\n  theirs: {theirs:?}"
            ));
        }
        // Both take the unit out of smart mode (R) as they exit.
        let theirs = &their_bytes;
        assert!(our_bytes.ends_with(b"R"), "{name}: {our_bytes:?}");
        if &our_bytes != theirs {
            failures.push(format!(
                "{name}: commands differ:\n  ours:   {:?}\n  theirs: {:?}",
                String::from_utf8_lossy(&our_bytes),
                String::from_utf8_lossy(theirs)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `program -a test -k` against a fake unit whose status is `status`; the exit code
/// and the commands the unit carried out.
fn kill(
    lab: &Lab,
    program: &Path,
    t: &Transcript,
    status: &str,
    options: &[(&str, &str)],
    extra: &[&str],
) -> (Option<i32>, Vec<String>) {
    let mut t = t.clone();
    for (q, r) in t.exchanges.iter_mut() {
        if q == b"Q" {
            *r = Some(status.as_bytes().to_vec());
        }
    }
    let ups = PtyUps::spawn_apc(&t).unwrap();
    lab.write("etc/ups.conf", &ups_conf(ups.path(), &t, options));
    let cmd = command(lab, program, &["-k"], extra);
    let out = crate::lab::output_within(cmd, Duration::from_secs(60));
    (out.status.code(), ups.done())
}

#[test]
fn kill_power_matches_debian_apcsmart_on_battery_and_fixes_it_on_mains() {
    let Some(nut) = peer("/lib/nut/apcsmart") else {
        return;
    };
    let nut_extra: &[&str] = if is_root() { &["-u", "root"] } else { &[] };
    let lab = Lab::new("apcsmart-kill");
    let t = fixture("apc-smart-ups-420inet");
    // On battery, every method: both drivers have the unit do the same.
    for options in [
        &[][..],
        &[("sdtype", "1")],
        &[("sdtype", "3")],
        &[("sdtype", "5"), ("awd", "2")],
        &[("advorder", "20")],
    ] {
        let ours = kill(&lab, &bin("apcsmart"), &t, "50", options, &[]);
        let theirs = kill(&lab, nut, &t, "50", options, nut_extra);
        assert_eq!(ours.1, theirs.1, "{options:?}");
        assert!(!ours.1.is_empty(), "{options:?}: nothing done");
        assert_eq!(ours.0, Some(0), "{options:?}");
    }
    // On mains (power came back while the host shut down), default sdtype: NUT sends
    // the soft shutdown S, which a unit on mains refuses, so the load is never cycled
    // and the host stays off; ours sends @000, which cycles it.
    let ours = kill(&lab, &bin("apcsmart"), &t, "08", &[], &[]);
    let theirs = kill(&lab, nut, &t, "08", &[], nut_extra);
    assert_eq!(ours.1, ["@000"]);
    assert_eq!(theirs.1, Vec::<String>::new());
}

#[test]
fn commands_and_settings_reach_the_unit_through_upsd() {
    let mut lab = Lab::new("apcsmart-upsd");
    let t = fixture("apc-smart-ups-sc450-rm");
    let device = PtyUps::spawn_apc(&t).unwrap();
    let port = crate::lab::free_port();
    lab.write("etc/ups.conf", &ups_conf(device.path(), &t, &[]));
    lab.write("etc/upsd.conf", &format!("LISTEN 127.0.0.1 {port}\n"));
    lab.write(
        "etc/upsd.users",
        "[admin]\n\tpassword = adminpass\n\tactions = SET\n\tinstcmds = ALL\n",
    );
    lab.spawn("apcsmart", &bin("apcsmart"), "etc", &["-a", "test", "-F"]);
    lab.spawn("upsd", &bin("upsd"), "etc", &[]);
    wait_for(
        Duration::from_secs(30),
        "upsd to serve the APC unit",
        || {
            let reply = exchange(port, b"GET VAR test ups.status\n", 1);
            (reply == "VAR test ups.status \"OL\"\n").then_some(())
        },
    );
    let reply = exchange(port, b"LIST ENUM test input.transfer.high\n", 6);
    assert!(
        reply.contains("ENUM test input.transfer.high \"261\"\n"),
        "{reply}"
    );
    let ups = format!("test@127.0.0.1:{port}");
    let admin = ["-u", "admin", "-p", "adminpass"];
    let run = |program: &str, args: &[&str]| {
        let mut all: Vec<&str> = admin.to_vec();
        all.extend_from_slice(args);
        crate::lab::run(&bin(program), &all, &[])
    };
    let (code, _, err) = run("upsrw", &["-s", "input.transfer.high=261", "-w", &ups]);
    assert_eq!((code, err.as_str()), (0, "SUCCESS\n"));
    wait_for(Duration::from_secs(10), "the new transfer point", || {
        let reply = exchange(port, b"GET VAR test input.transfer.high\n", 1);
        (reply == "VAR test input.transfer.high \"261\"\n").then_some(())
    });
    let (code, _, err) = run("upsrw", &["-s", "ups.id=RACK4", "-w", &ups]);
    assert_eq!((code, err.as_str()), (0, "SUCCESS\n"));
    let (code, _, err) = run("upscmd", &["-w", &ups, "test.battery.start"]);
    assert_eq!((code, err.as_str()), (0, "SUCCESS\n"));
    assert_eq!(device.done(), ["W"]);
}

#[test]
fn nut_scanner_finds_megatec_and_apc_units_on_serial_ports() {
    let qx_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hw-fixtures/qx");
    let q1 = Transcript::parse(
        &std::fs::read_to_string(qx_dir.join("fideltronik-inigo-viper-1200.txt")).unwrap(),
    )
    .unwrap();
    let megatec = PtyUps::spawn(q1).unwrap();
    let apc = PtyUps::spawn_apc(&fixture("apc-smart-ups-420inet")).unwrap();
    // Something else on a serial line: echoes whatever it gets.
    let other = PtyUps::spawn(Transcript::default()).unwrap();
    let ports = format!(
        "{},{},{},/dev/nonexistent-tty",
        megatec.path(),
        apc.path(),
        other.path()
    );
    let (code, out, err) = crate::lab::run(&bin("nut-scanner"), &["-E", &ports], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "Scanning serial bus for Eaton devices.\n");
    assert_eq!(
        out,
        format!(
            "[nutdev1]\n\tdriver = \"nutdrv_qx\"\n\tport = \"{}\"\n[nutdev2]\n\tdriver = \"apcsmart\"\n\tport = \"{}\"\n",
            megatec.path(),
            apc.path()
        )
    );
    // Only the probes' bytes reached the units: Q1 to the Megatec one, then Q1 (three
    // tries) and Y to the APC one.
    assert_eq!(megatec.received(), [b"Q1\r".to_vec()]);
    assert_eq!(apc.received().concat(), b"Q1\rQ1\rQ1\rY");
    let (code, out, _) = crate::lab::run(&bin("nut-scanner"), &["-q", "-P", "-E", apc.path()], &[]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("serial:driver=\"apcsmart\",port=\"{}\"\n", apc.path())
    );
}
