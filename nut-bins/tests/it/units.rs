//! The systemd units: `systemd-analyze verify` accepts them (pointing at our
//! binaries), their ExecCondition honours nut.conf MODE, our daemons speak systemd's
//! notification protocol (READY, STOPPING, WATCHDOG) on a socket of the test's, and
//! `upsdrvctl -F start <ups>` becomes the driver (what nut-driver@.service runs).

use crate::lab::{bin, configure_lone_upsd, exchange, free_port, wait_for, Lab};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const UNITS: &[&str] = &[
    "nut.target",
    "nut-driver.target",
    "nut-driver@.service",
    "nut-server.service",
    "nut-monitor.service",
];

fn units_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/systemd")
}

#[test]
fn systemd_analyze_verifies_every_unit() {
    let analyze = Path::new("/usr/bin/systemd-analyze");
    assert!(
        analyze.exists(),
        "systemd-analyze is not installed: this test needs it (ci/install-peers.sh installs systemd)"
    );
    let lab = Lab::new("units");
    let bindir = bin("upsd").parent().unwrap().display().to_string();
    for unit in UNITS {
        let text = std::fs::read_to_string(units_dir().join(unit)).unwrap();
        lab.write(
            &format!("units/{unit}"),
            &text.replace("/sbin/", &format!("{bindir}/")),
        );
    }
    let out = Command::new(analyze)
        .arg("verify")
        .args(UNITS)
        .current_dir(lab.path("units"))
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The ExecCondition= shell command of a unit.
fn condition(unit: &str) -> String {
    let text = std::fs::read_to_string(units_dir().join(unit)).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecCondition=/bin/sh -c '"))
        .unwrap_or_else(|| panic!("{unit} has no ExecCondition"));
    line.strip_suffix('\'').unwrap().to_string()
}

#[test]
fn units_start_only_in_the_nut_conf_modes_they_serve() {
    let runs = |unit: &str, mode: &str| {
        Command::new("/bin/sh")
            .args(["-c", &condition(unit)])
            .env("MODE", mode)
            .output()
            .unwrap()
            .status
            .success()
    };
    for (unit, allowed) in [
        ("nut-server.service", ["standalone", "netserver"].as_slice()),
        (
            "nut-driver@.service",
            ["standalone", "netserver"].as_slice(),
        ),
        (
            "nut-monitor.service",
            ["standalone", "netserver", "netclient"].as_slice(),
        ),
    ] {
        for mode in ["none", "standalone", "netserver", "netclient", ""] {
            assert_eq!(
                runs(unit, mode),
                allowed.contains(&mode),
                "{unit} with MODE={mode}"
            );
        }
    }
}

#[test]
fn upsd_tells_systemd_ready_stopping_and_answers_the_watchdog() {
    let mut lab = Lab::new("units-notify");
    let port = configure_lone_upsd(&lab);
    let socket_path = lab.path("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    lab.spawn_env(
        "upsd",
        &bin("upsd"),
        "etc",
        &["-F"],
        &[
            ("NOTIFY_SOCKET", socket_path.display().to_string()),
            ("WATCHDOG_USEC", "200000".to_string()),
        ],
    );
    let mut seen = Vec::new();
    let mut buffer = [0u8; 256];
    while !(seen.iter().any(|m| m == "READY=1") && seen.iter().any(|m| m == "WATCHDOG=1")) {
        let n = socket
            .recv(&mut buffer)
            .expect("a notification within 10 s");
        seen.push(String::from_utf8_lossy(&buffer[..n]).into_owned());
    }
    assert!(exchange(port, b"VER\n", 1).starts_with("Network UPS Tools upsd"));
    let stop = Command::new(bin("upsd"))
        .args(["-c", "stop"])
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"))
        .env("NUT_ALTPIDPATH", lab.path("pid-upsd"))
        .status()
        .unwrap();
    assert!(stop.success());
    loop {
        let n = socket.recv(&mut buffer).expect("STOPPING=1 within 10 s");
        if &buffer[..n] == b"STOPPING=1" {
            break;
        }
    }
}

#[test]
fn upsdrvctl_f_start_becomes_the_driver() {
    let mut lab = Lab::new("units-driver");
    let port = free_port();
    let dir = bin("dummy-ups").parent().unwrap().display().to_string();
    lab.write(
        "etc/ups.conf",
        &format!("driverpath = {dir}\n[u]\n\tdriver = dummy-ups\n\tport = u.dev\n"),
    );
    lab.write("etc/u.dev", "ups.status: OL\n");
    lab.write("etc/upsd.conf", &format!("LISTEN 127.0.0.1 {port}\n"));
    lab.write("etc/upsd.users", "");
    let pid = lab.spawn("driver", &bin("upsdrvctl"), "etc", &["-F", "start", "u"]);
    lab.spawn("upsd", &bin("upsd"), "etc", &[]);
    wait_for(Duration::from_secs(15), "the driver to serve", || {
        (exchange(port, b"GET VAR u ups.status\n", 1) == "VAR u ups.status \"OL\"\n").then_some(())
    });
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert_eq!(
        exe,
        bin("dummy-ups"),
        "upsdrvctl replaced itself with the driver"
    );
}

#[test]
fn nut_conf_upsd_options_reach_upsd_through_the_unit() {
    // The unit's command line, with $UPSD_OPTIONS expanded as systemd expands an
    // unquoted variable (split on whitespace) from nut.conf as our parser reads it.
    let text = std::fs::read_to_string(units_dir().join("nut-server.service")).unwrap();
    let exec = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let mut words: Vec<String> = exec.split_whitespace().map(str::to_string).collect();
    assert_eq!(
        words.last().map(String::as_str),
        Some("$UPSD_OPTIONS"),
        "{exec}"
    );
    let mut lab = Lab::new("units-options");
    let port = configure_lone_upsd(&lab);
    let metrics = free_port();
    let nut_conf = format!("MODE=standalone\nUPSD_OPTIONS=\"--metrics 127.0.0.1:{metrics}\"\n");
    let parsed = nut_core::config::parse_nut_conf("nut.conf", nut_conf.as_bytes());
    let options = parsed
        .value
        .vars
        .iter()
        .find(|(k, _)| k == "UPSD_OPTIONS")
        .map(|(_, v)| v.clone())
        .expect("UPSD_OPTIONS read from nut.conf");
    words.pop();
    words.extend(options.split_whitespace().map(str::to_string));
    // Our binary for /sbin/upsd; -u nut needs a nut user the test machine may not have.
    let args: Vec<&str> = words[1..]
        .iter()
        .map(String::as_str)
        .filter(|w| *w != "-u" && *w != "nut")
        .collect();
    lab.spawn("upsd", &bin("upsd"), "etc", &args);
    wait_for(Duration::from_secs(15), "upsd to listen", || {
        exchange(port, b"VER\n", 1)
            .starts_with("Network UPS Tools")
            .then_some(())
    });
    let reply = wait_for(Duration::from_secs(15), "the metrics endpoint", || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", metrics)).ok()?;
        use std::io::{Read, Write};
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        Some(text)
    });
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(reply.contains("network_ups_tools_upsd_clients"), "{reply}");
}
