//! `upsmon -c reload`: the running upsmon re-reads upsmon.conf, logs into a newly
//! monitored UPS, logs out of a dropped one, and keeps running (and its configuration)
//! when the new file is broken. A driver survives SIGHUP too.

use crate::lab::{bin, exchange, run, start_server, wait_for, Lab};
use std::time::Duration;

fn numlogins(port: u16, ups: &str) -> String {
    exchange(port, format!("GET NUMLOGINS {ups}\n").as_bytes(), 1)
}

#[test]
fn reload_switches_monitors_and_survives_a_broken_file() {
    let mut lab = Lab::new("upsmon-reload");
    let port = start_server(&mut lab, "ups.status: OL\n");
    // A second UPS on the same upsd.
    lab.write(
        "etc/ups.conf",
        "[dummy]\n\tdriver = dummy-ups\n\tport = test.dev\n\
         [other]\n\tdriver = dummy-ups\n\tport = test.dev\n",
    );
    let other_driver = lab.spawn("dummy-other", &bin("dummy-ups"), "etc", &["-a", "other"]);
    let (code, _, stderr) = run(
        &bin("upsd"),
        &["-c", "reload"],
        &[
            ("NUT_CONFPATH", &lab.path("etc")),
            ("NUT_STATEPATH", &lab.path("state")),
            ("NUT_ALTPIDPATH", &lab.path("pid-upsd")),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    wait_for(Duration::from_secs(15), "upsd to serve [other]", || {
        exchange(port, b"GET VAR other ups.status\n", 1)
            .starts_with("VAR other")
            .then_some(())
    });
    let root = lab.root.clone();
    let conf = |ups: &str| {
        format!(
            "MONITOR {ups}@127.0.0.1:{port} 1 monsecondary sp secondary\n\
             SHUTDOWNCMD \"echo shutdown >> {dir}/shutdown.log\"\n\
             POWERDOWNFLAG {dir}/killpower\nPOLLFREQ 1\nPOLLFREQALERT 1\n",
            dir = root.display()
        )
    };
    lab.write("mon/upsmon.conf", &conf("dummy"));
    lab.spawn("upsmon", &bin("upsmon"), "mon", &[]);
    wait_for(Duration::from_secs(10), "login on [dummy]", || {
        (numlogins(port, "dummy") == "NUMLOGINS dummy 1\n").then_some(())
    });
    let reload = || {
        run(
            &bin("upsmon"),
            &["-c", "reload"],
            &[
                ("NUT_CONFPATH", &lab.path("mon")),
                ("NUT_STATEPATH", &lab.path("state")),
                ("NUT_ALTPIDPATH", &lab.path("pid-upsmon")),
            ],
        )
    };

    lab.write("mon/upsmon.conf", &conf("other"));
    let (code, _, stderr) = reload();
    assert_eq!(code, 0, "{stderr}");
    wait_for(Duration::from_secs(10), "the switch to [other]", || {
        (numlogins(port, "other") == "NUMLOGINS other 1\n"
            && numlogins(port, "dummy") == "NUMLOGINS dummy 0\n")
            .then_some(())
    });

    // A broken file: `-c reload` still signals, upsmon refuses it and keeps running
    // with the configuration it has.
    lab.write("mon/upsmon.conf", "MONITOR nonsense\n");
    let (code, _, stderr) = reload();
    assert_eq!(code, 0, "{stderr}");
    std::thread::sleep(Duration::from_secs(2));
    assert!(lab.running("upsmon"));
    assert_eq!(numlogins(port, "other"), "NUMLOGINS other 1\n");
    let log = std::fs::read_to_string(lab.path("upsmon.log")).unwrap();
    assert!(
        log.contains("Reload failed, keeping the running configuration"),
        "{log}"
    );
    assert!(!lab.path("shutdown.log").exists());

    // A driver takes SIGHUP (a reload request) without dying, and keeps serving.
    let status = std::process::Command::new("kill")
        .args(["-HUP", &other_driver.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_secs(1));
    assert!(lab.running("dummy-other"));
    assert_eq!(
        exchange(port, b"GET VAR other ups.status\n", 1),
        "VAR other ups.status \"OL\"\n"
    );
}
