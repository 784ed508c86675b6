//! upsdrvctl and the killpower path with real processes: our upsdrvctl starting and
//! stopping our dummy-ups (which goes to the background and writes its PID file),
//! Debian's upsdrvctl driving our dummy-ups and ours driving Debian's, `upsdrvctl
//! shutdown` in sdorder, and the late-shutdown hook (`upsmon -K && upsdrvctl shutdown`)
//! with a recording `systemctl`. No test here can power anything off: dummy-ups's `-k`
//! only reports the command it would send.

use crate::interop::peer;
use crate::lab::{bin, exchange, free_port, is_root, wait_for, Lab};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const DEV: &str = "ups.status: OL\nbattery.charge: 100\n";

/// ups.conf with UPSes `a` (sdorder 1), `b` (sdorder 0), `c` (sdorder -1), all
/// dummy-ups in `driverpath`; upsd.conf and upsd.users for checking the drivers serve.
fn configure(lab: &Lab, driverpath: &Path, port: u16) {
    lab.write(
        "etc/ups.conf",
        &format!(
            "driverpath = {}\nmaxretry = 2\nretrydelay = 1\n\
             [a]\n\tdriver = dummy-ups\n\tport = a.dev\n\tsdorder = 1\n\
             [b]\n\tdriver = dummy-ups\n\tport = b.dev\n\
             [c]\n\tdriver = dummy-ups\n\tport = c.dev\n\tsdorder = -1\n",
            driverpath.display()
        ),
    );
    for ups in ["a", "b", "c"] {
        lab.write(&format!("etc/{ups}.dev"), DEV);
    }
    lab.write("etc/upsd.conf", &format!("LISTEN 127.0.0.1 {port}\n"));
    lab.write(
        "etc/upsd.users",
        "[mon]\n\tpassword = p\n\tupsmon primary\n",
    );
}

/// Runs `program args` with the lab's NUT environment; returns (status, stdout+stderr).
fn run_in(lab: &Lab, program: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(program)
        .args(args)
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"))
        .env("NUT_ALTPIDPATH", lab.path("state"))
        .output()
        .unwrap();
    status_and_output(&out)
}

/// Exit status and stdout + stderr of a finished command.
fn status_and_output(out: &std::process::Output) -> (i32, String) {
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn pid_in(lab: &Lab, file: &str) -> Option<u32> {
    std::fs::read_to_string(lab.path(&format!("state/{file}")))
        .ok()
        .and_then(|t| t.trim().parse().ok())
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Starts all drivers with `upsdrvctl`, checks each serves through upsd and has a live
/// PID file, then stops them all and checks they are gone.
fn start_and_stop(upsdrvctl: &Path, driverpath: &Path, tag: &str, extra: &[&str]) {
    let mut lab = Lab::new(tag);
    let port = free_port();
    configure(&lab, driverpath, port);
    for ups in ["a", "b", "c"] {
        lab.adopt_pidfile(lab.path(&format!("state/dummy-ups-{ups}.pid")));
    }
    let mut args = extra.to_vec();
    args.push("start");
    let (code, out) = run_in(&lab, upsdrvctl, &args);
    assert_eq!(code, 0, "upsdrvctl start:\n{out}");
    // Every driver went to the background and wrote its PID file. NUT's drivers may
    // still be rewriting it (the parent's PID, then the background child's) for a
    // moment after upsdrvctl returns: wait for a live PID.
    for ups in ["a", "b", "c"] {
        wait_for(
            Duration::from_secs(5),
            "a PID file naming a live driver",
            || pid_in(&lab, &format!("dummy-ups-{ups}.pid")).filter(|pid| alive(*pid)),
        );
    }
    lab.spawn("upsd", &bin("upsd"), "etc", &["-F"]);
    wait_for(Duration::from_secs(15), "upsd to serve the drivers", || {
        let reply = exchange(port, b"GET VAR b ups.status\n", 1);
        (reply == "VAR b ups.status \"OL\"\n").then_some(())
    });
    let pids: Vec<u32> = ["a", "b", "c"]
        .iter()
        .filter_map(|u| pid_in(&lab, &format!("dummy-ups-{u}.pid")))
        .collect();
    let mut args = extra.to_vec();
    args.push("stop");
    let (code, out) = run_in(&lab, upsdrvctl, &args);
    assert_eq!(code, 0, "upsdrvctl stop:\n{out}");
    wait_for(Duration::from_secs(10), "every driver to exit", || {
        pids.iter().all(|p| !alive(*p)).then_some(())
    });
}

#[test]
fn our_upsdrvctl_starts_and_stops_our_drivers() {
    let dir = bin("dummy-ups").parent().unwrap().to_path_buf();
    start_and_stop(&bin("upsdrvctl"), &dir, "upsdrvctl-ours", &[]);
}

#[test]
fn debian_upsdrvctl_starts_and_stops_our_drivers() {
    let Some(nut) = peer("/sbin/upsdrvctl") else {
        return;
    };
    let dir = bin("dummy-ups").parent().unwrap().to_path_buf();
    start_and_stop(nut, &dir, "upsdrvctl-nut", &[]);
}

#[test]
fn our_upsdrvctl_starts_and_stops_debian_drivers() {
    let Some(_) = peer("/lib/nut/dummy-ups") else {
        return;
    };
    // As root, NUT's drivers would switch to the nut user and lose access to the lab.
    let extra: &[&str] = if is_root() { &["-u", "root"] } else { &[] };
    start_and_stop(
        &bin("upsdrvctl"),
        Path::new("/lib/nut"),
        "upsdrvctl-nutdrv",
        extra,
    );
}

#[test]
fn shutdown_runs_each_kill_power_in_sdorder() {
    let lab = Lab::new("upsdrvctl-shutdown");
    let dir = bin("dummy-ups").parent().unwrap().to_path_buf();
    configure(&lab, &dir, free_port());
    let (code, out) = run_in(&lab, &bin("upsdrvctl"), &["shutdown"]);
    assert_eq!(code, 0, "{out}");
    let order: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("dummy-ups: UPS ["))
        .map(|l| &l[..1])
        .collect();
    assert_eq!(order, ["b", "a"], "sdorder 0, then 1; never -1:\n{out}");
    assert!(
        out.contains("UPS [b]: instant command shutdown.return"),
        "{out}"
    );
    // Testing mode says what it would do and runs nothing.
    let (code, out) = run_in(&lab, &bin("upsdrvctl"), &["-t", "shutdown"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("-a b -k"), "{out}");
    assert!(!out.contains("instant command"), "{out}");
    // Bad input: an unknown UPS, an unknown command.
    let (code, out) = run_in(&lab, &bin("upsdrvctl"), &["start", "nosuch"]);
    assert_eq!(code, 1);
    assert!(out.contains("UPS nosuch not found in ups.conf"), "{out}");
    let (code, out) = run_in(&lab, &bin("upsdrvctl"), &["explode"]);
    assert_eq!(code, 1);
    assert!(out.contains("unrecognized command [explode]"), "{out}");
}

#[test]
fn a_driver_that_cannot_start_is_retried_and_reported() {
    let lab = Lab::new("upsdrvctl-fail");
    let dir = bin("dummy-ups").parent().unwrap().to_path_buf();
    configure(&lab, &dir, free_port());
    // Section b's data file names a repeater target that cannot be parsed.
    lab.write(
        "etc/ups.conf",
        &format!(
            "driverpath = {}\nmaxretry = 2\nretrydelay = 1\n[b]\n\tdriver = dummy-ups\n\tport = x@\n",
            dir.display()
        ),
    );
    let (code, out) = run_in(&lab, &bin("upsdrvctl"), &["start"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        out.matches("Driver failed to start (exit status=1)")
            .count(),
        2,
        "maxretry 2 means two attempts:\n{out}"
    );
}

/// The late-shutdown hook with our binaries, a recording `systemctl` first in PATH
/// and the flag set or not.
fn run_hook(lab: &Lab, nut_conf: &str) -> (i32, String) {
    let sbin = lab.path("sbin");
    std::fs::create_dir_all(&sbin).unwrap();
    for program in ["upsmon", "upsdrvctl", "dummy-ups"] {
        let link = sbin.join(program);
        if !link.exists() {
            std::os::unix::fs::symlink(bin(program), link).unwrap();
        }
    }
    lab.write(
        "fakebin/systemctl",
        &format!(
            "#!/bin/sh\necho \"systemctl $*\" >> {}/systemctl.log\n",
            lab.root.display()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        lab.path("fakebin/systemctl"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    lab.write("etc/nut.conf", nut_conf);
    let hook = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/nutshutdown");
    let path = format!(
        "{}:{}",
        lab.path("fakebin").display(),
        std::env::var("PATH").unwrap()
    );
    let out = Command::new("sh")
        .arg(hook)
        .env("NUT_SBINDIR", &sbin)
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"))
        .env("PATH", path)
        .output()
        .unwrap();
    status_and_output(&out)
}

#[test]
fn the_late_shutdown_hook_kills_power_only_when_upsmon_left_its_flag() {
    let lab = Lab::new("nutshutdown");
    let dir = bin("dummy-ups").parent().unwrap().to_path_buf();
    configure(&lab, &dir, free_port());
    let flag = lab.path("killpower");
    lab.write(
        "etc/upsmon.conf",
        &format!(
            "MONITOR b@localhost 1 mon p primary\nSHUTDOWNCMD \"true\"\nPOWERDOWNFLAG {}\n",
            flag.display()
        ),
    );
    // No flag: an ordinary shutdown; nothing is sent to the UPS.
    let (code, out) = run_hook(&lab, "MODE=standalone\n");
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("instant command"), "{out}");
    // A flag with someone else's content is not upsmon's.
    lab.write("killpower", "notes\n");
    let (_, out) = run_hook(&lab, "MODE=standalone\n");
    assert!(!out.contains("instant command"), "{out}");
    // upsmon's flag: every driver's -k runs.
    lab.write("killpower", "upsmon-shutdown-file\n");
    let (code, out) = run_hook(&lab, "MODE=standalone\n");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("UPS [b]: instant command shutdown.return"),
        "{out}"
    );
    assert!(
        !lab.path("systemctl.log").exists(),
        "no POWEROFF_WAIT, no reboot"
    );
    // POWEROFF_WAIT: the remedy for mains returning mid-shutdown asks for a reboot
    // (recorded by the fake systemctl).
    let (code, out) = run_hook(&lab, "MODE=standalone\nPOWEROFF_WAIT = 0\n");
    assert_eq!(code, 0, "{out}");
    let log = std::fs::read_to_string(lab.path("systemctl.log")).unwrap();
    assert_eq!(log, "systemctl reboot --force --force\n");
}

#[test]
fn a_driver_that_never_gets_ready_times_out() {
    let mut lab = Lab::new("upsdrvctl-hang");
    // A fake driver that records its PID and never goes to the background.
    lab.write(
        "fake/dummy-ups",
        &format!(
            "#!/bin/sh\necho $$ > {}/fake.pid\nexec sleep 60 >/dev/null 2>&1\n",
            lab.root.display()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        lab.path("fake/dummy-ups"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    lab.adopt_pidfile(lab.path("fake.pid"));
    lab.write(
        "etc/ups.conf",
        &format!(
            "driverpath = {}\nmaxstartdelay = 1\n[u]\n\tdriver = dummy-ups\n\tport = u.dev\n",
            lab.path("fake").display()
        ),
    );
    let started = std::time::Instant::now();
    let (code, out) = run_in(&lab, &bin("upsdrvctl"), &["start"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Startup timer elapsed"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(10));
}
