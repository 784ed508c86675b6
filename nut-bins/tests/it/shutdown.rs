//! The whole shutdown sequence with real processes: dummy-ups, upsd, a primary and a
//! secondary upsmon whose SHUTDOWNCMD and NOTIFYCMD only append to files.

use crate::lab::{bin, start_server, wait_for, Lab};
use std::time::Duration;

fn upsmon_conf(lab: &Lab, port: u16, role: &str, user: &str, password: &str) -> String {
    let dir = lab.root.display();
    format!(
        "MONITOR dummy@127.0.0.1:{port} 1 {user} {password} {role}\n\
         SHUTDOWNCMD \"echo {role} $(date +%s%N) >> {dir}/shutdown.log\"\n\
         NOTIFYCMD \"{dir}/notify.sh\"\n\
         NOTIFYFLAG ONBATT SYSLOG+EXEC\n\
         NOTIFYFLAG LOWBATT SYSLOG+EXEC\n\
         NOTIFYFLAG FSD SYSLOG+EXEC\n\
         NOTIFYFLAG SHUTDOWN SYSLOG+EXEC\n\
         POWERDOWNFLAG {dir}/killpower-{role}\n\
         POLLFREQ 1\nPOLLFREQALERT 1\nHOSTSYNC 10\nFINALDELAY 1\nDEADTIME 5\n"
    )
}

#[test]
fn on_battery_low_the_secondary_shuts_down_first_then_the_primary() {
    let mut lab = Lab::new("shutdown");
    let port = start_server(&mut lab, "battery.charge: 100\nups.status: OL CHRG\n");
    lab.write(
        "notify.sh",
        &format!(
            "#!/bin/sh\necho \"$NOTIFYTYPE $UPSNAME $1\" >> {}/notify.log\n",
            lab.root.display()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        lab.path("notify.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let primary = upsmon_conf(&lab, port, "primary", "monprimary", "pp");
    let secondary = upsmon_conf(&lab, port, "secondary", "monsecondary", "sp");
    lab.write("primary/upsmon.conf", &primary);
    lab.write("secondary/upsmon.conf", &secondary);
    lab.spawn("upsmon-primary", &bin("upsmon"), "primary", &[]);
    lab.spawn("upsmon-secondary", &bin("upsmon"), "secondary", &[]);
    wait_for(Duration::from_secs(10), "both upsmon to log in", || {
        let reply = crate::lab::exchange(port, b"GET NUMLOGINS dummy\n", 1);
        (reply.trim() == "NUMLOGINS dummy 2").then_some(())
    });

    lab.write(
        "etc/test.dev",
        "battery.charge: 10\nups.status: OB LB DISCHRG\n",
    );

    let log = wait_for(Duration::from_secs(40), "both SHUTDOWNCMDs", || {
        let log = std::fs::read_to_string(lab.path("shutdown.log")).ok()?;
        (log.lines().count() >= 2).then_some(log)
    });
    let order: Vec<&str> = log.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(order, ["secondary", "primary"], "shutdown.log:\n{log}");
    for role in ["primary", "secondary"] {
        let flag = std::fs::read(lab.path(&format!("killpower-{role}"))).unwrap();
        assert_eq!(flag, b"upsmon-shutdown-file", "POWERDOWNFLAG of the {role}");
    }
    let notes = wait_for(Duration::from_secs(5), "notifications", || {
        let text = std::fs::read_to_string(lab.path("notify.log")).ok()?;
        text.contains("SHUTDOWN").then_some(text)
    });
    let ups = format!("dummy@127.0.0.1:{port}");
    for expected in [
        format!("ONBATT {ups} UPS {ups} on battery"),
        format!("LOWBATT {ups} UPS {ups} battery is low"),
        format!("FSD {ups} UPS {ups}: forced shutdown in progress"),
        "SHUTDOWN  Auto logout and shutdown proceeding".to_string(),
    ] {
        assert!(
            notes.contains(&expected),
            "missing {expected:?} in notify.log:\n{notes}"
        );
    }
    // upsmon exits after SHUTDOWNCMD (SHUTDOWNEXIT yes), and -K sees the flag.
    wait_for(Duration::from_secs(5), "the primary upsmon to exit", || {
        (!lab.running("upsmon-primary")).then_some(())
    });
    let (code, _, _) = crate::lab::run(
        &bin("upsmon"),
        &["-K"],
        &[("NUT_CONFPATH", &lab.path("primary"))],
    );
    assert_eq!(code, 0, "upsmon -K must report the POWERDOWNFLAG");
    // The FSD latch stays set in upsd.
    let reply = crate::lab::exchange(port, b"GET VAR dummy ups.status\n", 1);
    assert_eq!(reply, "VAR dummy ups.status \"FSD OB LB DISCHRG\"\n");
}
