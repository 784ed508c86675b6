//! Debian's upsmon 2.8.0 and ours in one shutdown: their secondary against our upsd with
//! our primary, and our secondary against their upsd + dummy-ups with their primary. Every
//! SHUTDOWNCMD only appends a line to a file: no upsmon here can shut anything down.
//!
//! Debian's upsmon writes its PID file to the compiled-in /run/nut/upsmon.pid whatever
//! NUT_ALTPIDPATH says (checked: neither NUT_ALTPIDPATH nor NUT_STATEPATH moves it, and
//! `-P` only names the PID to signal with `-c`), and refuses to start while that file
//! names a live upsmon. So each instance runs in its own mount namespace
//! (`unshare -m`, private propagation) with the lab's own directory bound over
//! /run/nut, which also keeps the machine's /run/nut untouched. That needs root.

use crate::interop::{peer, present};
use crate::lab::{bin, exchange, is_root, start_server, start_server_with, wait_for, Lab};
use std::path::Path;
use std::time::Duration;

pub(crate) const NUT_UPSMON: &str = "/lib/nut/upsmon";
const DEV: &str = "battery.charge: 100\nups.status: OL CHRG\n";
const LOW: &str = "battery.charge: 10\nups.status: OB LB DISCHRG\n";
/// The secondary's FINALDELAY is well below the primary's HOSTSYNC (as NUT's docs ask),
/// so a primary that runs SHUTDOWNCMD before HOSTSYNC has seen the secondary log out.
const HOSTSYNC_S: u64 = 15;

fn upsmon_conf(lab: &Lab, port: u16, role: &str, user: &str, password: &str) -> String {
    let dir = lab.root.display();
    format!(
        "MONITOR dummy@127.0.0.1:{port} 1 {user} {password} {role}\n\
         SHUTDOWNCMD \"echo {role} $(date +%s%N) >> {dir}/shutdown.log\"\n\
         POWERDOWNFLAG {dir}/killpower-{role}\n\
         POLLFREQ 1\nPOLLFREQALERT 1\nHOSTSYNC {HOSTSYNC_S}\nFINALDELAY 1\nDEADTIME 5\n"
    )
}

/// Starts Debian's upsmon (`-p -F`: one root process in the foreground) with config
/// directory `confdir`, in a private mount namespace whose /run/nut is a lab directory.
pub(crate) fn spawn_nut_upsmon(lab: &mut Lab, label: &str, confdir: &str) {
    let run_dir = lab.path(&format!("run-{label}"));
    std::fs::create_dir_all(run_dir.join("nut")).unwrap();
    // Without /run/nut on the host (no nut-client tmpfiles), bind over /run instead.
    let script = format!(
        "if [ -d /run/nut ]; then mount --bind \"$0/nut\" /run/nut; else mount --bind \"$0\" /run; fi \
         && exec {NUT_UPSMON} -p -F"
    );
    let run_dir = run_dir.to_str().unwrap().to_string();
    lab.spawn(
        label,
        Path::new("/usr/bin/unshare"),
        confdir,
        &[
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
            &run_dir,
        ],
    );
}

fn numlogins(port: u16) -> String {
    exchange(port, b"GET NUMLOGINS dummy\n", 1)
        .trim()
        .to_string()
}

/// Waits for both SHUTDOWNCMDs and returns the roles in the order they ran, with the
/// time between them in ms.
fn shutdown_order(lab: &Lab) -> (Vec<String>, u64) {
    let log = wait_for(Duration::from_secs(40), "both SHUTDOWNCMDs", || {
        let log = std::fs::read_to_string(lab.path("shutdown.log")).ok()?;
        (log.lines().count() >= 2).then_some(log)
    });
    let entries: Vec<(String, u64)> = log
        .lines()
        .map(|l| {
            let (role, ns) = l.split_once(' ').unwrap();
            (role.to_string(), ns.parse::<u64>().unwrap() / 1_000_000)
        })
        .collect();
    let gap = entries[1].1.saturating_sub(entries[0].1);
    (entries.into_iter().map(|(r, _)| r).collect(), gap)
}

fn check_powerdown_flags(lab: &Lab) {
    for role in ["primary", "secondary"] {
        let flag = std::fs::read(lab.path(&format!("killpower-{role}"))).unwrap();
        assert_eq!(flag, b"upsmon-shutdown-file", "POWERDOWNFLAG of the {role}");
    }
}

fn usable() -> bool {
    peer(NUT_UPSMON).is_some()
        && peer("/usr/bin/unshare").is_some()
        && present(
            "root (Debian's upsmon runs in its own mount namespace)",
            is_root(),
        )
}

#[test]
fn debian_secondary_logs_out_before_our_primary_shuts_down() {
    if !usable() {
        return;
    }
    let mut lab = Lab::new("nut-upsmon-sec");
    let port = start_server(&mut lab, DEV);
    let primary = upsmon_conf(&lab, port, "primary", "monprimary", "pp");
    let secondary = upsmon_conf(&lab, port, "secondary", "monsecondary", "sp");
    lab.write("primary/upsmon.conf", &primary);
    lab.write("secondary/upsmon.conf", &secondary);
    spawn_nut_upsmon(&mut lab, "nut-secondary", "secondary");
    lab.spawn("our-primary", &bin("upsmon"), "primary", &[]);
    wait_for(Duration::from_secs(15), "both upsmon to log in", || {
        (numlogins(port) == "NUMLOGINS dummy 2").then_some(())
    });

    lab.write("etc/test.dev", LOW);
    let (order, gap_ms) = shutdown_order(&lab);
    let logs = format!(
        "Debian's secondary:\n{}\nour primary:\n{}",
        lab.log("nut-secondary"),
        lab.log("our-primary")
    );
    assert_eq!(order, ["secondary", "primary"], "{logs}");
    assert!(gap_ms < HOSTSYNC_S * 1000, "{gap_ms} ms\n{logs}");
    let primary_log = lab.log("our-primary");
    assert!(!primary_log.contains("Host sync timer expired"), "{logs}");
    // Debian's secondary saw the FSD our upsd set for our primary, shut down and exited
    // (which logged it out); only our primary is left logged in.
    let secondary_log = lab.log("nut-secondary");
    for expected in [
        format!("UPS dummy@127.0.0.1:{port}: forced shutdown in progress"),
        "Executing automatic power-fail shutdown".to_string(),
    ] {
        assert!(
            secondary_log.contains(&expected),
            "missing {expected:?}\n{logs}"
        );
    }
    wait_for(Duration::from_secs(5), "Debian's upsmon to exit", || {
        (!lab.running("nut-secondary")).then_some(())
    });
    check_powerdown_flags(&lab);
    assert_eq!(
        exchange(port, b"GET VAR dummy ups.status\n", 1),
        "VAR dummy ups.status \"FSD OB LB DISCHRG\"\n"
    );
}

#[test]
fn our_secondary_logs_out_before_debian_primary_shuts_down() {
    if !usable() {
        return;
    }
    let (Some(upsd), Some(dummy)) = (peer("/lib/nut/upsd"), peer("/lib/nut/dummy-ups")) else {
        return;
    };
    let mut lab = Lab::new("nut-upsmon-pri");
    let port = start_server_with(&mut lab, DEV, dummy, upsd, &["-F", "-u", "root"]);
    // Debian's dummy-ups publishes `WAIT` until it has read the file.
    wait_for(Duration::from_secs(15), "Debian's dummy-ups data", || {
        exchange(port, b"GET VAR dummy ups.status\n", 1)
            .contains("OL CHRG")
            .then_some(())
    });
    let primary = upsmon_conf(&lab, port, "primary", "monprimary", "pp");
    let secondary = upsmon_conf(&lab, port, "secondary", "monsecondary", "sp");
    lab.write("primary/upsmon.conf", &primary);
    lab.write("secondary/upsmon.conf", &secondary);
    spawn_nut_upsmon(&mut lab, "nut-primary", "primary");
    lab.spawn("our-secondary", &bin("upsmon"), "secondary", &[]);
    wait_for(Duration::from_secs(15), "both upsmon to log in", || {
        (numlogins(port) == "NUMLOGINS dummy 2").then_some(())
    });

    lab.write("etc/test.dev", LOW);
    let (order, gap_ms) = shutdown_order(&lab);
    let logs = format!(
        "Debian's primary:\n{}\nour secondary:\n{}",
        lab.log("nut-primary"),
        lab.log("our-secondary")
    );
    assert_eq!(order, ["secondary", "primary"], "{logs}");
    assert!(gap_ms < HOSTSYNC_S * 1000, "{gap_ms} ms\n{logs}");
    let primary_log = lab.log("nut-primary");
    assert!(!primary_log.contains("Host sync timer expired"), "{logs}");
    assert!(
        primary_log.contains("Executing automatic power-fail shutdown"),
        "{logs}"
    );
    wait_for(Duration::from_secs(5), "our upsmon to exit", || {
        (!lab.running("our-secondary")).then_some(())
    });
    check_powerdown_flags(&lab);
    assert_eq!(
        exchange(port, b"GET VAR dummy ups.status\n", 1),
        "VAR dummy ups.status \"FSD OB LB DISCHRG\"\n"
    );
}
