//! `nut-sim check`: the example site's planted mistakes, the same site fixed, Debian's
//! sample configs, and bad input.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nut-sim-check-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn check(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nut-sim"))
        .arg("check")
        .args(args)
        .output()
        .expect("run nut-sim");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn copy_site(to: &Path) {
    for host in ["nas", "db", "vmhost"] {
        let from = root().join("scenarios/sites/three-hosts").join(host);
        std::fs::create_dir_all(to.join(host)).expect("mkdir");
        for entry in std::fs::read_dir(&from).expect("site") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), to.join(host).join(entry.file_name())).expect("copy");
        }
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{} has no {from:?}", path.display());
    std::fs::write(path, text.replace(from, to)).expect("write");
}

#[test]
fn the_example_site_shows_every_planted_mistake_with_file_and_line() {
    let site = root().join("scenarios/sites/three-hosts");
    let (code, text) = check(&[site.to_str().unwrap(), "--shutdown-s", "vmhost=90"]);
    assert_eq!(code, 1, "{text}");
    for expected in [
        "nas monitors ups on nas (primary, power 1)",
        "db monitors ups on nas (secondary, power 1)",
        "vmhost monitors ups on nas (secondary, power 1)",
        "vmhost/upsmon.conf:1: error: the password for upsmon_remote differs from nas/upsd.users",
        "vmhost/upssched.conf:4: error: AT ONBATT never fires",
        "db/upsmon.conf:4: warning: FINALDELAY 30 plus up to POLLFREQALERT 5 s to see FSD on db exceeds HOSTSYNC 15 on the primary nas (nas/upsmon.conf:6)",
        "db/upsmon.conf:5: warning: POWERDOWNFLAG /etc/killpower does nothing here",
        "nas/upsmon.conf:0: warning: no POWERDOWNFLAG on the host that runs the driver",
        "nas/upsmon.conf:5: warning: DEADTIME 15 is below 3 x",
        "vmhost/upssched.conf:4: warning: timer onbatt (900 s) is not shorter than the battery's runtime (600 s)",
        // The simulated outage, against those files: the power race NUT users meet.
        "Login on UPS [ups@nas:3493] failed - got [ERR ACCESS-DENIED]",
        "every_host_back_after_mains: VIOLATED",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn with_the_flag_fixed_the_slow_vm_host_loses_power_as_predicted() {
    let site = scratch("flag");
    copy_site(&site);
    edit(
        &site.join("nas/upsmon.conf"),
        "FINALDELAY 5\n",
        "FINALDELAY 5\nPOWERDOWNFLAG /etc/killpower\n",
    );
    let (code, text) = check(&[site.to_str().unwrap(), "--shutdown-s", "vmhost=90"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("predicted margin vmhost: -30.0 .. -24.0 s"),
        "{text}"
    );
    assert!(
        text.contains("vmhost    world     POWER LOST while shutting down"),
        "{text}"
    );
    assert!(!text.contains("no POWERDOWNFLAG on the host"), "{text}");
    let _ = std::fs::remove_dir_all(&site);
}

#[test]
fn the_example_site_fixed_passes() {
    let site = scratch("fixed");
    copy_site(&site);
    edit(
        &site.join("nas/upsmon.conf"),
        "DEADTIME 15\n",
        "DEADTIME 30\nPOWERDOWNFLAG /etc/killpower\n",
    );
    edit(
        &site.join("nas/ups.conf"),
        "offdelay = 20",
        "offdelay = 120",
    );
    edit(
        &site.join("db/upsmon.conf"),
        "FINALDELAY 30\nPOWERDOWNFLAG /etc/killpower\n",
        "FINALDELAY 5\n",
    );
    edit(&site.join("vmhost/upsmon.conf"), "secrte", "secret");
    edit(
        &site.join("vmhost/upsmon.conf"),
        "NOTIFYFLAG ONLINE",
        "NOTIFYFLAG ONBATT SYSLOG+WALL+EXEC\nNOTIFYFLAG ONLINE",
    );
    edit(
        &site.join("vmhost/upssched.conf"),
        "START-TIMER onbatt 900",
        "START-TIMER onbatt 300",
    );
    let (code, text) = check(&[site.to_str().unwrap(), "--shutdown-s", "vmhost=90"]);
    assert!(text.contains("findings: 0 errors, 0 warnings"), "{text}");
    assert!(
        text.contains("Execute command \"onbatt\" OK"),
        "the early-shutdown timer ran: {text}"
    );
    assert!(text.contains("result: PASS"), "{text}");
    assert_eq!(code, 0, "{text}");
    let _ = std::fs::remove_dir_all(&site);
}

#[test]
fn debian_sample_configs_are_checked() {
    let etc = Path::new("/etc/nut");
    assert!(
        etc.join("upsmon.conf").is_file(),
        "Debian's nut-client is not installed (/etc/nut/upsmon.conf is missing): run ci/install-peers.sh"
    );
    let host = scratch("debian").join("debian-host");
    std::fs::create_dir_all(&host).expect("mkdir");
    for entry in std::fs::read_dir(etc).expect("/etc/nut") {
        let entry = entry.expect("entry");
        if entry.path().is_file() {
            std::fs::copy(entry.path(), host.join(entry.file_name())).expect("copy");
        }
    }
    let (code, text) = check(&[host.to_str().unwrap()]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("debian-host/upsmon.conf:0: error: no MONITOR line"),
        "{text}"
    );
    assert!(
        text.contains("not simulated: no ups.conf declares a UPS"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(host.parent().unwrap());
}

#[test]
fn bad_directories_and_broken_files_are_named() {
    let (code, text) = check(&["/nonexistent/nas"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("/nonexistent/nas"), "{text}");
    let site = scratch("broken");
    let empty = site.join("empty");
    std::fs::create_dir_all(empty.join("sub")).expect("mkdir");
    let (code, text) = check(&[site.join("empty/sub").to_str().unwrap()]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("none of upsmon.conf"), "{text}");
    copy_site(&site.join("s"));
    edit(
        &site.join("s/db/upsmon.conf"),
        "MONITOR ups@nas 1 upsmon_remote secret secondary",
        "MONITOR ups@nas 1 upsmon_remote",
    );
    edit(
        &site.join("s/vmhost/upsmon.conf"),
        "ups@192.168.1.10",
        "ups@10.9.9.9",
    );
    let (code, text) = check(&[site.join("s").to_str().unwrap()]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("db/upsmon.conf:1:"),
        "the parser's error names the line: {text}"
    );
    assert!(
        text.contains("vmhost/upsmon.conf:1: error: MONITOR ups@10.9.9.9: no directory serves UPS ups at 10.9.9.9"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&site);
}
