//! The whole chain with real processes, as on a real site: upsmon hands ONBATT to
//! upssched, whose timer runs CMDSCRIPT, which runs `upsmon -c fsd`; upsmon sets FSD,
//! writes POWERDOWNFLAG and runs SHUTDOWNCMD (which only records); then the
//! late-shutdown hook runs `upsmon -K && upsdrvctl shutdown`, and the driver's `-k`
//! reports the command the UPS received. Every step appends a timestamped line; the
//! test checks their order and prints the timeline.

use crate::lab::{bin, start_server, wait_for, Lab};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

#[test]
fn upsmon_upssched_shutdowncmd_killpower_and_driver_kill_in_order() {
    let mut lab = Lab::new("chain");
    let port = start_server(&mut lab, "ups.status: OL\nbattery.charge: 100\n");
    let dir = lab.root.display().to_string();
    let log = format!("{dir}/chain.log");
    let stamp = "$(date +%s%3N)";
    lab.write(
        "cmd.sh",
        &format!(
            "#!/bin/sh\necho \"{stamp} upssched CMDSCRIPT $1 (UPSNAME=$UPSNAME NOTIFYTYPE=$NOTIFYTYPE)\" >> {log}\n\
             if [ \"$1\" = early ]; then {upsmon} -c fsd; fi\n",
            upsmon = bin("upsmon").display()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(lab.path("cmd.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    lab.write(
        "etc/upssched.conf",
        &format!(
            "CMDSCRIPT {dir}/cmd.sh\nPIPEFN {dir}/state/upssched.pipe\nLOCKFN {dir}/state/upssched.lock\n\
             AT ONBATT * START-TIMER early 2\nAT ONLINE * CANCEL-TIMER early\n"
        ),
    );
    lab.write(
        "etc/upsmon.conf",
        &format!(
            "MONITOR dummy@127.0.0.1:{port} 1 monprimary pp primary\n\
             NOTIFYCMD {upssched}\nNOTIFYFLAG ONBATT SYSLOG+EXEC\nNOTIFYFLAG ONLINE SYSLOG+EXEC\n\
             SHUTDOWNCMD \"echo {stamp} upsmon SHUTDOWNCMD >> {log}\"\n\
             POWERDOWNFLAG {dir}/killpower\nPOLLFREQ 1\nPOLLFREQALERT 1\nHOSTSYNC 5\nFINALDELAY 0\n",
            upssched = bin("upssched").display()
        ),
    );
    lab.write("etc/nut.conf", "MODE=standalone\n");
    // upsmon in the lab's etc, so `upsmon -c fsd` from CMDSCRIPT finds its PID file.
    lab.spawn("upsmon", &bin("upsmon"), "etc", &["-p"]);
    wait_for(Duration::from_secs(10), "upsmon to log in", || {
        let reply = crate::lab::exchange(port, b"GET NUMLOGINS dummy\n", 1);
        (reply.trim() == "NUMLOGINS dummy 1").then_some(())
    });
    let t0 = now_ms();
    std::fs::write(
        lab.path("chain.log"),
        format!("{t0} power fails: ups.status OB\n"),
    )
    .unwrap();
    lab.write(
        "etc/test.dev",
        "ups.status: OB DISCHRG\nbattery.charge: 90\n",
    );
    wait_for(Duration::from_secs(30), "SHUTDOWNCMD", || {
        std::fs::read_to_string(lab.path("chain.log"))
            .ok()
            .filter(|l| l.contains("upsmon SHUTDOWNCMD"))
    });
    // The host halts; systemd runs the late-shutdown hook.
    let sbin = lab.path("sbin");
    std::fs::create_dir_all(&sbin).unwrap();
    for program in ["upsmon", "upsdrvctl", "dummy-ups"] {
        std::os::unix::fs::symlink(bin(program), sbin.join(program)).unwrap();
    }
    let hook = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/nutshutdown");
    let out = Command::new("sh")
        .arg(&hook)
        .env("NUT_SBINDIR", &sbin)
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"))
        .output()
        .unwrap();
    let hook_output = String::from_utf8_lossy(&out.stderr).into_owned();
    let t_hook = now_ms();
    let mut chain = std::fs::read_to_string(lab.path("chain.log")).unwrap();
    for line in hook_output
        .lines()
        .filter(|l| l.contains("instant command"))
    {
        chain.push_str(&format!(
            "{t_hook} late shutdown: upsmon -K ok, upsdrvctl shutdown -> {line}\n"
        ));
    }
    // Order: OB, CMDSCRIPT early, SHUTDOWNCMD, kill power.
    let order: Vec<&str> = chain
        .lines()
        .map(|l| l.split_once(' ').map_or("", |(_, rest)| rest))
        .collect();
    let position = |needle: &str| {
        order
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{chain}"))
    };
    assert!(position("power fails") < position("CMDSCRIPT early"));
    assert!(position("CMDSCRIPT early") < position("upsmon SHUTDOWNCMD"));
    assert!(position("upsmon SHUTDOWNCMD") < position("shutdown.return"));
    assert!(order[position("CMDSCRIPT early")].contains("UPSNAME=dummy@127.0.0.1"));
    assert_eq!(
        std::fs::read_to_string(lab.path("killpower")).unwrap(),
        "upsmon-shutdown-file"
    );
    // The timeline, relative to the power failure (shown with --nocapture).
    for line in chain.lines() {
        if let Some((ms, what)) = line.split_once(' ') {
            let ms: u128 = ms.parse().unwrap_or(t0);
            eprintln!(
                "+{:>6.3} s  {what}",
                (ms.saturating_sub(t0)) as f64 / 1000.0
            );
        }
    }
    // The timer daemon exits by itself; wait so it does not outlive the test.
    wait_for(Duration::from_secs(40), "the timer daemon to exit", || {
        (!lab.path("state/upssched.pipe").exists()).then_some(())
    });
}
