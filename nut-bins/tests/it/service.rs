//! Service life of the real daemons: going to the background once ready, PID files
//! that refuse a second instance, `-u` dropping privileges after binding (upsd) or
//! before opening the unit (drivers, also from ups.conf's `user`), upsmon's
//! RUN_AS_USER split (root parent runs SHUTDOWNCMD, unprivileged child monitors,
//! NOPARENT when the parent dies), and NOTIFYFLAG WALL through a recording `wall`.

use crate::lab::{
    bin, configure_lone_upsd, exchange, free_port, is_root, start_server, wait_for, Lab,
};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn uid_of(pid: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("Uid:"))?
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

fn nobody_uid() -> u32 {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    passwd
        .lines()
        .find(|l| l.starts_with("nobody:"))
        .and_then(|l| l.split(':').nth(2)?.parse().ok())
        .expect("a nobody user")
}

fn run_env(lab: &Lab, program: &Path, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"))
        .env("NUT_ALTPIDPATH", lab.path("state"))
        .output()
        .unwrap()
}

#[test]
fn upsd_goes_to_the_background_refuses_a_second_instance_and_drops_privileges() {
    let mut lab = Lab::new("svc-upsd");
    let port = configure_lone_upsd(&lab);
    lab.adopt_pidfile(lab.path("state/upsd.pid"));
    let args: &[&str] = if is_root() { &["-u", "nobody"] } else { &[] };
    let started = std::time::Instant::now();
    let out = run_env(&lab, &bin("upsd"), args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid: u32 = std::fs::read_to_string(lab.path("state/upsd.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the background upsd runs"
    );
    let reply = exchange(port, b"LIST UPS\n", 3);
    assert!(reply.starts_with("BEGIN LIST UPS\n"), "{reply}");
    if is_root() {
        assert_eq!(uid_of(pid), Some(nobody_uid()), "-u nobody after binding");
    }
    // A second upsd refuses to start while the first runs.
    let second = run_env(&lab, &bin("upsd"), &["-F"]);
    assert_eq!(second.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already running"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    // -c stop through the PID file.
    let stop = run_env(&lab, &bin("upsd"), &["-c", "stop"]);
    assert!(stop.status.success());
    wait_for(Duration::from_secs(10), "upsd to exit", || {
        (!Path::new(&format!("/proc/{pid}")).exists()).then_some(())
    });
    // A user that does not exist is refused before anything starts.
    let bad = run_env(&lab, &bin("upsd"), &["-F", "-u", "no-such-user-here"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no-such-user-here"));
}

fn upsmon_conf(lab: &Lab, port: u16, extra: &str) -> String {
    let dir = lab.root.display();
    format!(
        "MONITOR dummy@127.0.0.1:{port} 1 monprimary pp primary\n\
         SHUTDOWNCMD \"echo uid=$(id -u) >> {dir}/shutdown.log\"\n\
         POWERDOWNFLAG {dir}/killpower\n\
         POLLFREQ 1\nPOLLFREQALERT 1\nHOSTSYNC 5\nFINALDELAY 0\n{extra}"
    )
}

fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// A lab with our server and an upsmon with RUN_AS_USER nobody, started as root; returns
/// the lab, upsd's port and the parent's and child's PIDs.
fn split_upsmon(tag: &str) -> (Lab, u16, u32, u32) {
    assert!(
        is_root(),
        "this test needs root (RUN_AS_USER only splits when started as root); CI runs as root"
    );
    let mut lab = Lab::new(tag);
    let port = start_server(&mut lab, "ups.status: OL\n");
    lab.write(
        "mon/upsmon.conf",
        &upsmon_conf(&lab, port, "RUN_AS_USER nobody\n"),
    );
    let parent = lab.spawn("upsmon", &bin("upsmon"), "mon", &[]);
    let child = wait_for(Duration::from_secs(10), "the monitoring child", || {
        children_of(parent).into_iter().next()
    });
    lab.adopt_pid(child);
    (lab, port, parent, child)
}

#[test]
fn upsmon_run_as_user_splits_root_shutdown_from_unprivileged_monitoring() {
    let (lab, port, parent, child) = split_upsmon("svc-privsep");
    assert_eq!(uid_of(parent), Some(0), "the parent stays root");
    // The child exists from the fork on and drops root just after: read its user once
    // it is no longer root (it was read too early, a race seen once in CI).
    let child_uid = wait_for(Duration::from_secs(10), "the child to drop root", || {
        uid_of(child).filter(|uid| *uid != 0)
    });
    assert_eq!(child_uid, nobody_uid(), "the child runs as RUN_AS_USER");
    wait_for(Duration::from_secs(10), "the child to log in", || {
        let reply = exchange(port, b"GET NUMLOGINS dummy\n", 1);
        (reply.trim() == "NUMLOGINS dummy 1").then_some(())
    });
    lab.write("etc/test.dev", "ups.status: OB LB\n");
    let log = wait_for(Duration::from_secs(30), "SHUTDOWNCMD", || {
        std::fs::read_to_string(lab.path("shutdown.log"))
            .ok()
            .filter(|t| t.ends_with('\n'))
    });
    assert_eq!(log, "uid=0\n", "SHUTDOWNCMD runs in the root parent");
    assert_eq!(
        std::fs::read_to_string(lab.path("killpower")).unwrap(),
        "upsmon-shutdown-file",
        "the parent wrote POWERDOWNFLAG"
    );
}

#[test]
fn upsmon_child_reports_noparent_when_the_parent_dies() {
    let (mut lab, port, _parent, _child) = split_upsmon("svc-noparent");
    wait_for(Duration::from_secs(10), "the child to log in", || {
        let reply = exchange(port, b"GET NUMLOGINS dummy\n", 1);
        (reply.trim() == "NUMLOGINS dummy 1").then_some(())
    });
    lab.stop("upsmon");
    // The event's line comes first and the NOPARENT notification's after it: wait for
    // both (reading the log once more right after the first raced with the second).
    wait_for(
        Duration::from_secs(10),
        "the ParentDied event and NOPARENT",
        || {
            let log = lab.log("upsmon");
            (log.contains("Parent died - shutdown impossible")
                && log.contains("upsmon parent process died - shutdown impossible"))
            .then_some(())
        },
    );
}

#[test]
fn upsmon_refuses_a_second_instance_and_walls_notifications() {
    let mut lab = Lab::new("svc-upsmon");
    let port = start_server(&mut lab, "ups.status: OL\n");
    lab.write(
        "fakebin/wall",
        &format!("#!/bin/sh\ncat >> {}/wall.log\n", lab.root.display()),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        lab.path("fakebin/wall"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    lab.write(
        "mon/upsmon.conf",
        &upsmon_conf(
            &lab,
            port,
            "NOTIFYFLAG ONBATT WALL\nNOTIFYFLAG ONLINE SYSLOG\n",
        ),
    );
    let path = format!(
        "{}:{}",
        lab.path("fakebin").display(),
        std::env::var("PATH").unwrap()
    );
    lab.spawn_env("upsmon", &bin("upsmon"), "mon", &["-p"], &[("PATH", path)]);
    wait_for(Duration::from_secs(10), "upsmon to log in", || {
        let reply = exchange(port, b"GET NUMLOGINS dummy\n", 1);
        (reply.trim() == "NUMLOGINS dummy 1").then_some(())
    });
    let second = Command::new(bin("upsmon"))
        .args(["-F", "-p"])
        .env("NUT_CONFPATH", lab.path("mon"))
        .env("NUT_STATEPATH", lab.path("state"))
        .env("NUT_ALTPIDPATH", lab.path("pid-upsmon"))
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&second.stderr).contains("already running"));
    lab.write("etc/test.dev", "ups.status: OB\n");
    // The shell creates wall.log before `cat` writes into it: wait for a whole line.
    let wall = wait_for(Duration::from_secs(15), "the ONBATT wall", || {
        std::fs::read_to_string(lab.path("wall.log"))
            .ok()
            .filter(|t| t.ends_with('\n'))
    });
    assert_eq!(wall, format!("UPS dummy@127.0.0.1:{port} on battery\n"));
    lab.write("etc/test.dev", "ups.status: OL\n");
    wait_for(Duration::from_secs(15), "ONLINE in the log", || {
        lab.log("upsmon").contains("on line power").then_some(())
    });
    // ONBATT is WALL only: not in the log. ONLINE is SYSLOG only: not on terminals.
    assert!(
        !lab.log("upsmon").contains("on battery"),
        "{}",
        lab.log("upsmon")
    );
    assert!(!std::fs::read_to_string(lab.path("wall.log"))
        .unwrap()
        .contains("line power"));
}

#[test]
fn a_pid_file_naming_someone_elses_process_is_never_signalled() {
    let mut lab = Lab::new("svc-foreign-pid");
    lab.write("etc/upsd.conf", "LISTEN 127.0.0.1 1\n");
    lab.write(
        "etc/ups.conf",
        "[u]\n\tdriver = dummy-ups\n\tport = u.dev\n",
    );
    lab.write("etc/upsd.users", "");
    // A process of the test's own that is not upsd.
    let sleeper = lab.spawn("sleeper", Path::new("/bin/sleep"), "etc", &["60"]);
    lab.write("state/upsd.pid", &format!("{sleeper}\n"));
    let out = run_env(&lab, &bin("upsd"), &["-c", "stop"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not signalling it"), "{stderr}");
    assert!(lab.running("sleeper"), "the other process was left alone");
    // The same for upsmon and a driver.
    lab.write("state/upsmon.pid", &format!("{sleeper}\n"));
    let out = run_env(&lab, &bin("upsmon"), &["-c", "stop"]);
    assert_eq!(out.status.code(), Some(1));
    lab.write("state/dummy-ups-u.pid", &format!("{sleeper}\n"));
    let out = run_env(&lab, &bin("dummy-ups"), &["-a", "u", "-c", "exit"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(lab.running("sleeper"));
}

#[test]
fn upsd_4_and_6_keep_only_listen_addresses_of_that_family() {
    let mut lab = Lab::new("svc-family");
    let port = free_port();
    lab.write(
        "etc/ups.conf",
        "[u]\n\tdriver = dummy-ups\n\tport = u.dev\n",
    );
    lab.write(
        "etc/upsd.conf",
        &format!("LISTEN 127.0.0.1 {port}\nLISTEN ::1 {port}\n"),
    );
    lab.write("etc/upsd.users", "");
    let answers = |addr: &str| {
        std::net::TcpStream::connect(addr)
            .map(|mut s| {
                use std::io::{Read, Write};
                s.write_all(b"VER\n").unwrap();
                let mut buf = [0u8; 64];
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                s.read(&mut buf).unwrap_or(0) > 0
            })
            .unwrap_or(false)
    };
    let v4 = format!("127.0.0.1:{port}");
    let v6 = format!("[::1]:{port}");
    lab.spawn("upsd4", &bin("upsd"), "etc", &["-4"]);
    wait_for(Duration::from_secs(10), "upsd -4 on IPv4", || {
        answers(&v4).then_some(())
    });
    assert!(!answers(&v6), "-4 must not listen on ::1");
    lab.stop("upsd4");
    lab.spawn("upsd6", &bin("upsd"), "etc", &["-6"]);
    wait_for(Duration::from_secs(10), "upsd -6 on IPv6", || {
        answers(&v6).then_some(())
    });
    assert!(!answers(&v4), "-6 must not listen on 127.0.0.1");
}

#[test]
fn upsmon_4_and_6_choose_the_address_family_of_the_connection() {
    let mut lab = Lab::new("svc-upsmon-family");
    // Our upsd on 127.0.0.1 only; MONITOR names localhost (IPv4 and IPv6).
    let port = start_server(&mut lab, "ups.status: OL\n");
    lab.write(
        "mon/upsmon.conf",
        &format!(
            "MONITOR dummy@localhost:{port} 1 monprimary pp primary\n\
             SHUTDOWNCMD \"true\"\nPOLLFREQ 1\nPOLLFREQALERT 1\n"
        ),
    );
    lab.spawn("upsmon6", &bin("upsmon"), "mon", &["-p", "-6"]);
    wait_for(Duration::from_secs(10), "upsmon -6 to fail", || {
        lab.log("upsmon6")
            .contains("Poll UPS [dummy@localhost")
            .then_some(())
    });
    assert_eq!(
        crate::lab::exchange(port, b"GET NUMLOGINS dummy\n", 1).trim(),
        "NUMLOGINS dummy 0",
        "-6 never reaches an IPv4-only upsd"
    );
    lab.stop("upsmon6");
    lab.spawn("upsmon4", &bin("upsmon"), "mon", &["-p", "-4"]);
    wait_for(Duration::from_secs(10), "upsmon -4 to log in", || {
        let reply = crate::lab::exchange(port, b"GET NUMLOGINS dummy\n", 1);
        (reply.trim() == "NUMLOGINS dummy 1").then_some(())
    });
}

#[test]
fn a_background_daemon_logs_to_syslog_at_nuts_levels() {
    let mut lab = Lab::new("svc-syslog");
    let port = configure_lone_upsd(&lab);
    let log = std::os::unix::net::UnixDatagram::bind(lab.path("log.sock")).unwrap();
    log.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    lab.adopt_pidfile(lab.path("state/upsd.pid"));
    let out = Command::new(bin("upsd"))
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"))
        .env("NUT_ALTPIDPATH", lab.path("state"))
        .env("NUT_SYSLOG_SOCKET", lab.path("log.sock"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut buffer = [0u8; 512];
    let n = log.recv(&mut buffer).expect("a syslog line within 10 s");
    let line = String::from_utf8_lossy(&buffer[..n]).into_owned();
    // Facility daemon (3), LOG_INFO (6): <30>.
    assert!(
        line.starts_with("<30>upsd[")
            && line.ends_with(&format!("]: listening on 127.0.0.1:{port}")),
        "{line}"
    );
    let stop = run_env(&lab, &bin("upsd"), &["-c", "stop"]);
    assert!(stop.status.success());
}

/// dummy-ups started as root under another account, named by `-u` (`args`) or by
/// `user` in its ups.conf section (`section_user`): once running it is that account
/// and still serves upsd.
fn driver_runs_as_nobody(tag: &str, section_user: bool, args: &[&str]) {
    use std::os::unix::fs::PermissionsExt;
    assert!(
        is_root(),
        "this test needs root (a driver drops root only when started as root); CI runs as root"
    );
    let mut lab = Lab::new(tag);
    let port = free_port();
    let user = if section_user {
        "\tuser = nobody\n"
    } else {
        ""
    };
    lab.write(
        "etc/ups.conf",
        &format!("[dummy]\n\tdriver = dummy-ups\n\tport = test.dev\n{user}"),
    );
    lab.write("etc/test.dev", "ups.status: OL\nbattery.charge: 91\n");
    lab.write("etc/upsd.conf", &format!("LISTEN 127.0.0.1 {port}\n"));
    lab.write("etc/upsd.users", "[admin]\n\tpassword = a\n");
    // What the driver needs once it is nobody, as NUT's drivers need it for their
    // account: the state path (its socket) and its PID directory.
    for dir in ["state", "pid-dummy-ups"] {
        std::fs::create_dir_all(lab.path(dir)).unwrap();
        std::fs::set_permissions(lab.path(dir), std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let mut driver_args = vec!["-a", "dummy"];
    driver_args.extend_from_slice(args);
    let driver = lab.spawn("dummy-ups", &bin("dummy-ups"), "etc", &driver_args);
    lab.spawn("upsd", &bin("upsd"), "etc", &[]);
    wait_for(
        Duration::from_secs(15),
        "upsd to serve the driver's data",
        || {
            let reply = exchange(port, b"GET VAR dummy battery.charge\n", 1);
            (reply.trim() == "VAR dummy battery.charge \"91\"").then_some(())
        },
    );
    assert_eq!(
        uid_of(driver),
        Some(nobody_uid()),
        "{}",
        lab.log("dummy-ups")
    );
}

#[test]
fn a_driver_drops_root_for_the_user_given_with_minus_u() {
    driver_runs_as_nobody("svc-drv-u", false, &["-u", "nobody"]);
}

#[test]
fn a_driver_drops_root_for_the_user_of_its_ups_conf_section() {
    driver_runs_as_nobody("svc-drv-conf", true, &[]);
}

#[test]
fn a_driver_refuses_to_start_as_an_unknown_user() {
    let lab = Lab::new("svc-drv-nouser");
    lab.write(
        "etc/ups.conf",
        "user = no-such-user-here\n[dummy]\n\tdriver = dummy-ups\n\tport = test.dev\n",
    );
    lab.write("etc/test.dev", "ups.status: OL\n");
    let out = run_env(&lab, &bin("dummy-ups"), &["-a", "dummy", "-F"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Fatal error:") && stderr.contains("no-such-user-here"),
        "{stderr}"
    );
}

/// The directory a process has as its root (`/proc/<pid>/root`).
fn root_of(pid: u32) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/root")).ok()
}

#[test]
fn upsd_chroots_before_reading_its_configuration() {
    assert!(is_root(), "this test needs root (chroot); CI runs as root");
    let mut lab = Lab::new("svc-upsd-chroot");
    let port = free_port();
    // Inside the jail: upsd's files, found at /etc and /state once it has chrooted.
    lab.write(
        "jail/etc/ups.conf",
        "[dummy]\n\tdriver = dummy-ups\n\tport = test.dev\n",
    );
    lab.write("jail/etc/test.dev", "ups.status: OL\nbattery.charge: 77\n");
    lab.write("jail/etc/upsd.conf", &format!("LISTEN 127.0.0.1 {port}\n"));
    lab.write("jail/etc/upsd.users", "[admin]\n\tpassword = a\n");
    std::fs::create_dir_all(lab.path("jail/state")).unwrap();
    let jail = lab.path("jail");
    // The driver, not chrooted, serves its socket where the jailed upsd looks.
    let state = lab.path("jail/state").display().to_string();
    lab.spawn_env(
        "dummy-ups",
        &bin("dummy-ups"),
        "jail/etc",
        &["-a", "dummy"],
        &[("NUT_STATEPATH", state)],
    );
    let upsd = lab.spawn_env(
        "upsd",
        &bin("upsd"),
        "jail/etc",
        &["-r", &jail.display().to_string()],
        &[
            ("NUT_CONFPATH", "/etc".to_string()),
            ("NUT_STATEPATH", "/state".to_string()),
            ("NUT_ALTPIDPATH", "/state".to_string()),
        ],
    );
    wait_for(Duration::from_secs(15), "the jailed upsd to serve", || {
        let reply = exchange(port, b"GET VAR dummy battery.charge\n", 1);
        (reply.trim() == "VAR dummy battery.charge \"77\"").then_some(())
    });
    assert_eq!(root_of(upsd), Some(jail), "{}", lab.log("upsd"));
}

/// dummy-ups chrooted by `-r` (`by_flag`) or by ups.conf's global `chroot`: it opens
/// its data file, socket and PID file inside the jail.
fn driver_in_jail(tag: &str, by_flag: bool) {
    assert!(is_root(), "this test needs root (chroot); CI runs as root");
    let mut lab = Lab::new(tag);
    let port = free_port();
    let jail = lab.path("jail");
    // -r wins over the file's setting, as NUT's.
    let global = if by_flag {
        "/nonexistent-overridden-by-r".to_string()
    } else {
        jail.display().to_string()
    };
    lab.write(
        "etc/ups.conf",
        &format!("chroot = {global}\n[dummy]\n\tdriver = dummy-ups\n\tport = test.dev\n"),
    );
    lab.write("etc/upsd.conf", &format!("LISTEN 127.0.0.1 {port}\n"));
    lab.write("etc/upsd.users", "[admin]\n\tpassword = a\n");
    // ups.conf is read before the chroot; the data file, the socket's state path and
    // the PID directory are looked up inside it (as with NUT's drivers).
    let within = |path: std::path::PathBuf| jail.join(path.strip_prefix("/").unwrap());
    let dev = within(lab.path("etc/test.dev"));
    std::fs::create_dir_all(dev.parent().unwrap()).unwrap();
    std::fs::write(&dev, "ups.status: OB\nbattery.charge: 42\n").unwrap();
    let jailed_state = within(lab.path("state"));
    std::fs::create_dir_all(&jailed_state).unwrap();
    std::fs::create_dir_all(within(lab.path("pid-dummy-ups"))).unwrap();
    let flag = jail.display().to_string();
    let args: &[&str] = if by_flag {
        &["-a", "dummy", "-r", &flag]
    } else {
        &["-a", "dummy"]
    };
    let driver = lab.spawn("dummy-ups", &bin("dummy-ups"), "etc", args);
    lab.spawn_env(
        "upsd",
        &bin("upsd"),
        "etc",
        &[],
        &[("NUT_STATEPATH", jailed_state.display().to_string())],
    );
    wait_for(
        Duration::from_secs(15),
        "upsd to serve the jailed driver",
        || {
            let reply = exchange(port, b"GET VAR dummy battery.charge\n", 1);
            (reply.trim() == "VAR dummy battery.charge \"42\"").then_some(())
        },
    );
    assert_eq!(root_of(driver), Some(jail), "{}", lab.log("dummy-ups"));
}

#[test]
fn a_driver_chroots_with_minus_r_before_opening_its_device_and_socket() {
    driver_in_jail("svc-drv-chroot-r", true);
}

#[test]
fn a_driver_chroots_where_ups_conf_says() {
    driver_in_jail("svc-drv-chroot-conf", false);
}

#[test]
fn a_chrooted_background_upsd_still_logs_to_syslog() {
    assert!(is_root(), "this test needs root (chroot); CI runs as root");
    let mut lab = Lab::new("svc-chroot-syslog");
    let port = free_port();
    lab.write(
        "jail/etc/ups.conf",
        "[dummy]\n\tdriver = dummy-ups\n\tport = x\n",
    );
    lab.write("jail/etc/upsd.conf", &format!("LISTEN 127.0.0.1 {port}\n"));
    lab.write("jail/etc/upsd.users", "[admin]\n\tpassword = a\n");
    std::fs::create_dir_all(lab.path("jail/state")).unwrap();
    lab.adopt_pidfile(lab.path("jail/state/upsd.pid"));
    // The logger's socket is outside the jail: only a connection made before the
    // chroot reaches it.
    let log = std::os::unix::net::UnixDatagram::bind(lab.path("log.sock")).unwrap();
    log.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let out = Command::new(bin("upsd"))
        .args(["--no-zeroconf", "-r"])
        .arg(lab.path("jail"))
        .env("NUT_CONFPATH", "/etc")
        .env("NUT_STATEPATH", "/state")
        .env("NUT_ALTPIDPATH", "/state")
        .env("NUT_SYSLOG_SOCKET", lab.path("log.sock"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut buffer = [0u8; 512];
    let mut lines = Vec::new();
    let listening = format!("]: listening on 127.0.0.1:{port}");
    while !lines.iter().any(|l: &String| l.ends_with(&listening)) {
        let n = log
            .recv(&mut buffer)
            .unwrap_or_else(|_| panic!("no syslog line `listening` within 10 s; got {lines:?}"));
        lines.push(String::from_utf8_lossy(&buffer[..n]).into_owned());
    }
    let stop = Command::new(bin("upsd"))
        .args(["-c", "stop"])
        .env("NUT_CONFPATH", lab.path("jail/etc"))
        .env("NUT_STATEPATH", lab.path("jail/state"))
        .env("NUT_ALTPIDPATH", lab.path("jail/state"))
        .output()
        .unwrap();
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
}

#[test]
fn a_background_drivers_fatal_error_reaches_syslog() {
    let lab = Lab::new("svc-drv-bg-fatal");
    lab.write(
        "etc/ups.conf",
        "user = no-such-user-here\n[dummy]\n\tdriver = dummy-ups\n\tport = test.dev\n",
    );
    lab.write("etc/test.dev", "ups.status: OL\n");
    let log = std::os::unix::net::UnixDatagram::bind(lab.path("log.sock")).unwrap();
    log.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // No -F: the child it starts in the background, whose stderr goes nowhere, fails.
    let out = Command::new(bin("dummy-ups"))
        .args(["-a", "dummy"])
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"))
        .env("NUT_ALTPIDPATH", lab.path("state"))
        .env("NUT_SYSLOG_SOCKET", lab.path("log.sock"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let mut buffer = [0u8; 512];
    let n = log
        .recv(&mut buffer)
        .expect("the child's error in syslog within 10 s");
    let line = String::from_utf8_lossy(&buffer[..n]).into_owned();
    // Facility daemon (3), LOG_ERR (3): <27>.
    assert!(
        line.starts_with("<27>dummy-ups[")
            && line.contains("Fatal error: ")
            && line.contains("no-such-user-here"),
        "{line}"
    );
}
