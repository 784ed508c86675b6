//! usbhid-ups against recorded devices (hw-fixtures/hid): the binary serves each
//! recording (`replay =` in ups.conf) and must print the variables NUT printed for that
//! unit; commands reach the device as the feature reports NUT writes, through upsd;
//! an unplugged device goes stale and comes back.

use crate::lab::{bin, exchange, wait_for, Lab};
use nut_bins::real::RealSys;
use nut_bins::usbhid::{HidSession, HidWiring, ReplayHid};
use nut_core::hidups::{HidOptions, Matcher};
use nut_core::sock::DriverLine;
use nut_core::transcript::{parse_hid, HidRecording};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn recordings() -> Vec<(PathBuf, HidRecording)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hw-fixtures/hid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rec = parse_hid(&std::fs::read_to_string(&p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, rec)
        })
        .collect()
}

/// Variables that name the implementation or the dump's own configuration, and values
/// the dump's owner anonymised differently.
fn compared(name: &str, var: &str) -> bool {
    !(var.starts_with("driver.version")
        || var.starts_with("driver.parameter.")
        || var == "driver.state"
        || (name == "apc-back-ups-bk650m2-ch.txt" && ["ups.load", "device.serial"].contains(&var)))
}

#[test]
fn the_binary_prints_what_nut_printed_for_each_recorded_unit() {
    let lab = Lab::new("usbhid-replay");
    let mut failures = Vec::new();
    for (path, rec) in recordings() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        lab.write(
            "etc/ups.conf",
            &format!(
                "[test]\n\tdriver = usbhid-ups\n\tport = auto\n\treplay = {}\n",
                path.display()
            ),
        );
        let mut cmd = Command::new(bin("usbhid-ups"));
        cmd.args(["-a", "test", "-d", "1"])
            .env("NUT_CONFPATH", lab.path("etc"))
            .env("NUT_STATEPATH", lab.path("state"))
            .env("NUT_ALTPIDPATH", lab.path("state"));
        let out = crate::lab::output_within(cmd, Duration::from_secs(60));
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listing = String::from_utf8_lossy(&out.stdout).into_owned();
        for (var, want) in rec.expect.iter().filter(|(v, _)| compared(&name, v)) {
            let line = format!("{var}: {want}\n");
            if !listing.contains(&line) {
                failures.push(format!("{name}: want {line:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `-x explore -D`: the explore subdriver takes the recorded APC unit (no table: only
/// its identity is published) and the HID tree is printed as NUT's debug output.
#[test]
fn explore_prints_the_hid_tree_and_maps_nothing() {
    let lab = Lab::new("usbhid-explore");
    let (path, rec) = recordings()
        .into_iter()
        .find(|(p, _)| p.ends_with("apc-back-ups-cs-500.txt"))
        .unwrap();
    lab.write(
        "etc/ups.conf",
        &format!(
            "[test]\n\tdriver = usbhid-ups\n\tport = auto\n\tvendorid = 051d\n\treplay = {}\n",
            path.display()
        ),
    );
    let mut cmd = Command::new(bin("usbhid-ups"));
    cmd.args(["-a", "test", "-x", "explore", "-D", "-d", "1"])
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"))
        .env("NUT_ALTPIDPATH", lab.path("state"));
    let out = crate::lab::output_within(cmd, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("35 HID objects found"), "{stderr}");
    assert!(
        stderr.contains(
            "Path: UPS.PowerSummary.RemainingCapacity, Type: Feature, ReportID: 0x0c, Offset: 0, Size: 24, Value: 100"
        ),
        "{stderr}"
    );
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("driver.version.data: EXPLORE HID 0.2\n"),
        "{listing}"
    );
    assert!(listing.contains("ups.vendorid: 051d\n"), "{listing}");
    assert!(!listing.contains("battery.charge:"), "{listing}");
    assert!(rec.expect.iter().any(|(v, _)| v == "battery.charge"));
}

#[test]
fn commands_and_settings_reach_the_recorded_unit_through_upsd() {
    let mut lab = Lab::new("usbhid-upsd");
    let (path, _) = recordings()
        .into_iter()
        .find(|(p, _)| p.ends_with("apc-back-ups-bk650m2-ch.txt"))
        .unwrap();
    let port = crate::lab::free_port();
    lab.write(
        "etc/ups.conf",
        &format!(
            "[test]\n\tdriver = usbhid-ups\n\tport = auto\n\treplay = {}\n",
            path.display()
        ),
    );
    lab.write("etc/upsd.conf", &format!("LISTEN 127.0.0.1 {port}\n"));
    lab.write(
        "etc/upsd.users",
        "[admin]\n\tpassword = adminpass\n\tactions = SET\n\tinstcmds = ALL\n",
    );
    // -D: the debug log shows each report written (NUT's Report[set] lines).
    lab.spawn(
        "usbhid-ups",
        &bin("usbhid-ups"),
        "etc",
        &["-a", "test", "-F", "-D"],
    );
    lab.spawn("upsd", &bin("upsd"), "etc", &[]);
    wait_for(Duration::from_secs(20), "upsd to serve the HID UPS", || {
        let reply = exchange(port, b"GET VAR test ups.status\n", 1);
        (reply == "VAR test ups.status \"OL DISCHRG\"\n").then_some(())
    });
    let ups = format!("test@127.0.0.1:{port}");
    let run = |program: &str, args: &[&str]| {
        let mut all = vec!["-u", "admin", "-p", "adminpass"];
        all.extend_from_slice(args);
        crate::lab::run(&bin(program), &all, &[])
    };
    let (code, _, err) = run("upscmd", &["-w", &ups, "test.battery.start.quick"]);
    assert_eq!((code, err.as_str()), (0, "SUCCESS\n"));
    let (code, _, err) = run("upsrw", &["-s", "ups.delay.shutdown=60", "-w", &ups]);
    assert_eq!((code, err.as_str()), (0, "SUCCESS\n"));
    wait_for(Duration::from_secs(10), "the new delay", || {
        let reply = exchange(port, b"GET VAR test ups.delay.shutdown\n", 1);
        (reply == "VAR test ups.delay.shutdown \"60\"\n").then_some(())
    });
    let (code, _, err) = run("upscmd", &["-w", &ups, "no.such.command"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "Unexpected response from upsd: ERR CMD-NOT-SUPPORTED\n")
    );
    let log = lab.log("usbhid-ups");
    assert!(
        log.contains("test.battery.start.quick 1: Report[set]: (2 bytes) => 21 01"),
        "{log}"
    );
}

fn wiring(ups: &str) -> HidWiring {
    HidWiring {
        ups: ups.to_string(),
        pollinterval_s: 2,
        options: HidOptions::default(),
        matcher: Matcher::default(),
        replay: None,
        initial: Vec::new(),
        overrides: Vec::new(),
        statepath: String::new(),
    }
}

#[test]
fn an_unplugged_unit_goes_stale_and_comes_back_with_its_data() {
    let (_, rec) = recordings().into_iter().next().unwrap();
    let port = ReplayHid::new(&rec).unwrap();
    let device = port.shared();
    let sys = RealSys::new("usbhid-ups", false);
    let rt = nut_bins::real::runtime().unwrap();
    rt.block_on(async {
        let mut session = HidSession::start(&sys, &wiring("test"), port)
            .await
            .unwrap();
        let (lines, _) = session.update(2).await;
        assert!(lines.contains(&DriverLine::DataOk), "{lines:?}");
        device.lock().unwrap().unplugged = true;
        // The walk finds it gone; the next poll's reconnection fails: stale, once.
        let (lines, _) = session.update(4).await;
        assert!(!lines.contains(&DriverLine::DataStale));
        let (lines, notes) = session.update(6).await;
        assert!(lines.contains(&DriverLine::DataStale), "{lines:?}");
        assert!(notes.contains(&nut_core::qx::Note::Lost));
        // Not retried before pollinterval has passed, then again without a new line.
        let reads = device.lock().unwrap().reads;
        let (lines, _) = session.update(7).await;
        assert!(lines.is_empty());
        let (lines, _) = session.update(8).await;
        assert!(lines.is_empty(), "{lines:?}");
        assert_eq!(
            device.lock().unwrap().reads,
            reads,
            "no reads while unplugged"
        );
        device.lock().unwrap().unplugged = false;
        let (lines, notes) = session.update(10).await;
        assert!(lines.contains(&DriverLine::DataOk), "{lines:?}");
        assert!(notes.contains(&nut_core::qx::Note::Restored));
        assert_eq!(
            session.state.tree().value("ups.status"),
            rec.expected("ups.status")
        );
    });
}

#[test]
fn a_bad_configuration_names_the_option() {
    let lab = Lab::new("usbhid-conf");
    for (conf, want) in [
        (
            "\tvendorid = 051d\n\tproduct = \"Back-UPS (\"\n",
            "invalid regular expression: Back-UPS (",
        ),
        ("\tpollfreq = 99999999\n", "invalid pollfreq"),
        (
            "\texplore\n",
            "must specify \"vendorid\" when using \"explore\"",
        ),
        ("\tinterruptsize = 0\n", "Error: invalid interruptsize: 0"),
        (
            "\tnosuchoption = 1\n",
            "'nosuchoption' is not a valid variable name",
        ),
    ] {
        lab.write(
            "etc/ups.conf",
            &format!("[test]\n\tdriver = usbhid-ups\n\tport = auto\n{conf}"),
        );
        let (code, _, err) = crate::lab::run(
            &bin("usbhid-ups"),
            &["-a", "test", "-d", "1"],
            &[("NUT_CONFPATH", &lab.path("etc"))],
        );
        assert_eq!(code, 1, "{conf}: {err}");
        assert!(err.contains(want), "{conf}: {err}");
    }
}

/// On the test machine (USB or none): the scan ends, says which bus it scanned unless
/// quiet, and prints only well-formed sections (a machine without USB prints none and
/// says why on stderr).
#[test]
fn nut_scanner_scans_usb_and_prints_only_sections() {
    let (code, out, err) = crate::lab::run(&bin("nut-scanner"), &["-U"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.starts_with("Scanning USB bus.\n"), "{err}");
    for line in out.lines() {
        assert!(
            line.starts_with("[nutdev") || (line.starts_with('\t') && line.contains(" = \"")),
            "{line:?}"
        );
    }
    let (code, out, err) = crate::lab::run(&bin("nut-scanner"), &["-U", "-q", "-P"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("Scanning USB bus."), "{err}");
    assert!(
        out.lines()
            .all(|l| l.starts_with("USB:driver=\"usbhid-ups\",port=\"auto\"")
                || l.starts_with("USB:driver=\"nutdrv_qx\",port=\"auto\"")),
        "{out}"
    );
}

/// After a replug the driver reads every value again (NUT keeps its table mapping
/// across a reconnection): a report that changed while the unit was away shows.
#[test]
fn a_replugged_unit_updates_every_value() {
    let (_, rec) = recordings()
        .into_iter()
        .find(|(p, _)| p.ends_with("apc-back-ups-cs-500.txt"))
        .unwrap();
    let port = ReplayHid::new(&rec).unwrap();
    let device = port.shared();
    let sys = RealSys::new("usbhid-ups", false);
    let rt = nut_bins::real::runtime().unwrap();
    rt.block_on(async {
        let mut session = HidSession::start(&sys, &wiring("test"), port)
            .await
            .unwrap();
        session.update(2).await;
        assert_eq!(session.state.tree().value("battery.charge"), Some("100"));
        device.lock().unwrap().unplugged = true;
        session.update(4).await;
        session.update(6).await;
        // RemainingCapacity and RunTimeToEmpty (report 0x0c) while it was away.
        {
            let mut d = device.lock().unwrap();
            // RemainingCapacity: 24 bits at 0; RunTimeToEmpty: 16 bits at 24.
            d.changed.insert(0x0c, vec![0x0c, 57, 0, 0, 0x10, 0x0e]);
            d.unplugged = false;
        }
        session.update(10).await;
        assert_eq!(session.state.tree().value("battery.charge"), Some("57"));
        assert_eq!(session.state.tree().value("battery.runtime"), Some("3600"));
        // ups.conf's settings are not applied a second time, a runtime SET stays.
        assert_eq!(
            session.state.tree().value("driver.version.data"),
            Some("APC HID 0.98")
        );
    });
}

/// `-k` moves on to the next way when the unit refuses a write (NUT's
/// upsdrv_shutdown): the BK650M2 refuses its reboot timer, so the shutdown delay goes.
#[test]
fn kill_power_falls_back_when_the_unit_refuses_a_write() {
    let (_, rec) = recordings()
        .into_iter()
        .find(|(p, _)| p.ends_with("apc-back-ups-bk650m2-ch.txt"))
        .unwrap();
    let port = ReplayHid::new(&rec).unwrap();
    let device = port.shared();
    device.lock().unwrap().refuse.push(0x40);
    let sys = RealSys::new("usbhid-ups", false);
    let rt = nut_bins::real::runtime().unwrap();
    let said = rt
        .block_on(nut_bins::usbhid::kill_power(&sys, &wiring("test"), port))
        .unwrap();
    assert_eq!(said, "Shutdown sent: load.off.delay 20");
    assert_eq!(device.lock().unwrap().written, vec![vec![0x15, 20, 0]]);
    // Nothing accepted: NUT's fatal message.
    let port = ReplayHid::new(&rec).unwrap();
    port.shared().lock().unwrap().refuse.extend([0x40, 0x15]);
    let err = rt
        .block_on(nut_bins::usbhid::kill_power(&sys, &wiring("test"), port))
        .unwrap_err();
    assert_eq!(err, "Shutdown failed!");
}
