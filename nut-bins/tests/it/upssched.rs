//! upssched as upsmon runs it: our upssched on its own (EXECUTE, timers with their
//! event's environment, CANCEL and its fallback, a stale lock, the idle exit, bad
//! input), Debian's upsmon driving our upssched, and our upsmon driving Debian's. Every
//! CMDSCRIPT only appends a line to a file.

use crate::interop::peer;
use crate::lab::{bin, start_server, wait_for, Lab};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// upssched.conf with a logging CMDSCRIPT in the lab.
fn configure(lab: &Lab, confdir: &str, rules: &str) {
    let dir = lab.root.display();
    lab.write(
        "cmd.sh",
        &format!("#!/bin/sh\necho \"$1|$UPSNAME|$NOTIFYTYPE|$NOTIFYMSG\" >> {dir}/cmd.log\n"),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(lab.path("cmd.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    lab.write(
        &format!("{confdir}/upssched.conf"),
        &format!(
            "CMDSCRIPT {dir}/cmd.sh\nPIPEFN {dir}/state/upssched.pipe\nLOCKFN {dir}/state/upssched.lock\n{rules}"
        ),
    );
}

/// Runs our upssched as upsmon would; returns (exit code, stdout + stderr).
fn event(lab: &Lab, confdir: &str, kind: &str, ups: &str, message: &str) -> (i32, String) {
    let out = Command::new(bin("upssched"))
        .arg(message)
        .env("NUT_CONFPATH", lab.path(confdir))
        .env("UPSNAME", ups)
        .env("NOTIFYTYPE", kind)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn cmd_log(lab: &Lab) -> Vec<String> {
    std::fs::read_to_string(lab.path("cmd.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn wait_log(lab: &Lab, what: &str, line: &str) {
    wait_for(Duration::from_secs(15), what, || {
        cmd_log(lab).iter().any(|l| l == line).then_some(())
    });
}

#[test]
fn timers_execute_and_cancel_like_nut() {
    let lab = Lab::new("upssched");
    configure(
        &lab,
        "etc",
        "AT ONBATT * START-TIMER onbatt 2\n\
         AT ONBATT * EXECUTE page\n\
         AT ONLINE * CANCEL-TIMER onbatt back-online\n\
         AT COMMBAD * START-TIMER commbad 60\n\
         AT COMMOK * CANCEL-TIMER commbad\n",
    );
    // A lock left by a client that died: removed and the daemon started anyway.
    lab.write("state/upssched.lock", "");
    let (code, out) = event(&lab, "etc", "ONBATT", "ups1@nas", "UPS ups1@nas on battery");
    assert_eq!(code, 0, "{out}");
    // EXECUTE runs at once, with the event's environment (NOTIFYMSG too: an addition
    // to NUT, whose EXECUTE sees only UPSNAME and NOTIFYTYPE).
    assert_eq!(
        cmd_log(&lab),
        ["page|ups1@nas|ONBATT|UPS ups1@nas on battery"]
    );
    // The timer runs CMDSCRIPT after 2 s with the environment of the event that
    // started it, including NOTIFYMSG.
    wait_log(
        &lab,
        "the onbatt timer",
        "onbatt|ups1@nas|ONBATT|UPS ups1@nas on battery",
    );
    // A timer cancelled in time never runs; the daemon is still up for it.
    assert_eq!(event(&lab, "etc", "COMMBAD", "ups1@nas", "").0, 0);
    assert_eq!(event(&lab, "etc", "COMMOK", "ups1@nas", "").0, 0);
    // Nothing left to cancel: the fallback command runs instead.
    assert_eq!(event(&lab, "etc", "ONLINE", "ups1@nas", "back").0, 0);
    wait_log(
        &lab,
        "the CANCEL fallback",
        "back-online|ups1@nas|ONLINE|back",
    );
    assert!(!cmd_log(&lab).iter().any(|l| l.starts_with("commbad")));
    // With no timer left the daemon exits by itself and removes its socket.
    wait_for(
        Duration::from_secs(30),
        "the idle timer daemon to exit",
        || (!lab.path("state/upssched.pipe").exists()).then_some(()),
    );
    assert!(!lab.path("state/upssched.lock").exists());
    assert_eq!(cmd_log(&lab).len(), 3, "{:?}", cmd_log(&lab));
}

#[test]
fn bad_input_gets_nut_messages_and_exit_1() {
    let lab = Lab::new("upssched-bad");
    configure(&lab, "etc", "AT ONBATT * EXECUTE x\n");
    let out = Command::new(bin("upssched"))
        .env("NUT_CONFPATH", lab.path("etc"))
        .env_remove("UPSNAME")
        .env_remove("NOTIFYTYPE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("environment variables UPSNAME and NOTIFYTYPE must be set"));
    // AT before CMDSCRIPT: NUT stops with a fatal error; we name file and line.
    lab.write(
        "broken/upssched.conf",
        "AT ONBATT * START-TIMER t 5\nCMDSCRIPT /bin/true\n",
    );
    let (code, text) = event(&lab, "broken", "ONBATT", "u@h", "");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("upssched.conf:2:"), "{text}");
    let check = Command::new(bin("upssched"))
        .arg("--check-config")
        .env("NUT_CONFPATH", lab.path("broken"))
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    // A negative timer is refused with its line.
    lab.write(
        "negative/upssched.conf",
        "CMDSCRIPT /bin/true\nPIPEFN /tmp/p\nLOCKFN /tmp/l\nAT ONBATT * START-TIMER t -5\n",
    );
    let (code, text) = event(&lab, "negative", "ONBATT", "u@h", "");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("upssched.conf:4:"), "{text}");
    assert!(cmd_log(&lab).is_empty());
}

/// upsmon.conf that hands ONBATT to `notifycmd`, monitoring our upsd.
fn upsmon_conf(lab: &Lab, port: u16, notifycmd: &Path) -> String {
    let dir = lab.root.display();
    format!(
        "MONITOR dummy@127.0.0.1:{port} 1 monsecondary sp secondary\n\
         SHUTDOWNCMD \"echo shutdown >> {dir}/shutdown.log\"\n\
         NOTIFYCMD {}\n\
         NOTIFYFLAG ONBATT SYSLOG+EXEC\n\
         POLLFREQ 1\nPOLLFREQALERT 1\nDEADTIME 5\n",
        notifycmd.display()
    )
}

/// Runs an upsmon against our upsd, turns the UPS to battery and waits for the
/// upssched rule to run CMDSCRIPT.
fn onbatt_reaches_cmdscript(upsmon: &Path, upssched: &Path, tag: &str, nut_upsmon: bool) {
    let mut lab = Lab::new(tag);
    let port = start_server(&mut lab, "ups.status: OL\n");
    configure(
        &lab,
        "mon",
        "AT ONBATT * EXECUTE onbatt-now\nAT ONBATT * START-TIMER later 1\n",
    );
    lab.write("mon/upsmon.conf", &upsmon_conf(&lab, port, upssched));
    if nut_upsmon {
        crate::nut_upsmon::spawn_nut_upsmon(&mut lab, "upsmon", "mon");
    } else {
        lab.spawn("upsmon", upsmon, "mon", &[]);
    }
    wait_for(Duration::from_secs(15), "upsmon to log in", || {
        let reply = crate::lab::exchange(port, b"GET NUMLOGINS dummy\n", 1);
        (reply.trim() == "NUMLOGINS dummy 1").then_some(())
    });
    lab.write("etc/test.dev", "ups.status: OB DISCHRG\n");
    wait_for(Duration::from_secs(20), "both upssched rules", || {
        let log = cmd_log(&lab);
        let now = log
            .iter()
            .any(|l| l.starts_with("onbatt-now|dummy@127.0.0.1"));
        let later = log.iter().any(|l| l.starts_with("later|"));
        (now && later).then_some(())
    });
    assert!(!lab.path("shutdown.log").exists());
    // Both upssched implementations remove their socket once idle; wait for it so no
    // daemon outlives the test.
    wait_for(Duration::from_secs(40), "the timer daemon to exit", || {
        (!lab.path("state/upssched.pipe").exists()).then_some(())
    });
}

#[test]
fn debian_upsmon_drives_our_upssched() {
    let Some(upsmon) = peer(crate::nut_upsmon::NUT_UPSMON) else {
        return;
    };
    onbatt_reaches_cmdscript(upsmon, &bin("upssched"), "upssched-nut-upsmon", true);
}

#[test]
fn our_upsmon_drives_debian_upssched() {
    let Some(upssched) = peer("/usr/sbin/upssched") else {
        return;
    };
    onbatt_reaches_cmdscript(&bin("upsmon"), upssched, "upssched-our-upsmon", false);
}

#[test]
fn a_pipefn_that_is_not_a_socket_is_never_replaced_and_a_stale_socket_is() {
    let lab = Lab::new("upssched-pipefn");
    configure(&lab, "etc", "AT ONBATT * START-TIMER t 1\n");
    // A user's file where PIPEFN points: upssched fails with a message, the file stays.
    lab.write("state/upssched.pipe", "my notes\n");
    let (code, text) = event(&lab, "etc", "ONBATT", "u@h", "");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("Unable to"), "{text}");
    assert_eq!(
        std::fs::read_to_string(lab.path("state/upssched.pipe")).unwrap(),
        "my notes\n"
    );
    // A socket left by a dead daemon is replaced and the timer runs.
    std::fs::remove_file(lab.path("state/upssched.pipe")).unwrap();
    drop(std::os::unix::net::UnixListener::bind(lab.path("state/upssched.pipe")).unwrap());
    let (code, text) = event(&lab, "etc", "ONBATT", "u@h", "");
    assert_eq!(code, 0, "{text}");
    wait_log(&lab, "the timer after a dead daemon", "t|u@h|ONBATT|");
    wait_for(Duration::from_secs(30), "the timer daemon to exit", || {
        (!lab.path("state/upssched.pipe").exists()).then_some(())
    });
}

#[test]
fn garbage_on_the_timer_socket_gets_err_and_changes_nothing() {
    let lab = Lab::new("upssched-garbage");
    configure(&lab, "etc", "AT ONBATT * START-TIMER t 2\n");
    let (code, text) = event(&lab, "etc", "ONBATT", "u@h", "m");
    assert_eq!(code, 0, "{text}");
    // The daemon runs now; talk nonsense to it.
    use std::io::{BufRead, BufReader, Write};
    let mut stream =
        std::os::unix::net::UnixStream::connect(lab.path("state/upssched.pipe")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for garbage in [
        "HELLO",
        "START only-a-name",
        "CANCEL",
        "START x -3",
        "\u{1}NOISE\u{2}",
    ] {
        stream.write_all(format!("{garbage}\n").as_bytes()).unwrap();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, "ERR UNKNOWN\n", "{garbage:?}");
    }
    drop(stream);
    // The real timer still fires, and only it.
    wait_log(&lab, "the timer despite the garbage", "t|u@h|ONBATT|m");
    wait_for(Duration::from_secs(30), "the timer daemon to exit", || {
        (!lab.path("state/upssched.pipe").exists()).then_some(())
    });
    assert_eq!(cmd_log(&lab), ["t|u@h|ONBATT|m"]);
}
