//! `--check-config`: every diagnostic as file:line, exit 1 on errors.

use crate::lab::{bin, run, Lab};

#[test]
fn check_config_names_file_line_and_directive() {
    let lab = Lab::new("check");
    lab.write(
        "good/upsmon.conf",
        "MONITOR ups@localhost 1 mon pass primary\nPOWERDOWNFLAG /etc/killpower\n",
    );
    lab.write(
        "bad/upsmon.conf",
        "MONITOR ups@localhost 1 mon pass primary\nPOLLFREQ abc\nNOTIFYFLAG ONBAT SYSLOG\n",
    );
    let (code, _, _) = run(
        &bin("upsmon"),
        &["--check-config"],
        &[("NUT_CONFPATH", &lab.path("good"))],
    );
    assert_eq!(code, 0);
    let (code, _, stderr) = run(
        &bin("upsmon"),
        &["--check-config"],
        &[("NUT_CONFPATH", &lab.path("bad"))],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("upsmon.conf:2:1: error: POLLFREQ"),
        "{stderr}"
    );
    assert!(stderr.contains("upsmon.conf:3:"), "{stderr}");

    lab.write("upsd/upsd.conf", "LISTEN 127.0.0.1 3493\nMAXAGE\nBOGUS 1\n");
    lab.write(
        "upsd/ups.conf",
        "[a]\n driver = dummy-ups\n port = x.dev\n[b]\n port = y.dev\n",
    );
    lab.write("upsd/upsd.users", "[u]\n password = p\n actions = FLY\n");
    let (code, _, stderr) = run(
        &bin("upsd"),
        &["--check-config"],
        &[("NUT_CONFPATH", &lab.path("upsd"))],
    );
    assert_eq!(code, 1, "{stderr}");
    for needle in [
        "upsd.conf:2:",
        "upsd.conf:3:1: error: BOGUS",
        "ups.conf:4:",
        "upsd.users:3:",
    ] {
        assert!(stderr.contains(needle), "missing {needle} in:\n{stderr}");
    }
}

#[test]
fn every_daemon_checks_its_files_and_nut_conf() {
    let lab = Lab::new("check-all");
    lab.write(
        "etc/upsmon.conf",
        "MONITOR ups@localhost 1 mon pass primary\nPOWERDOWNFLAG /etc/killpower\n",
    );
    lab.write("etc/nut.conf", "MODE=standalone\n");
    lab.write(
        "etc/ups.conf",
        "[dummy]\n driver = dummy-ups\n port = d.dev\n",
    );
    lab.write(
        "etc/upssched.conf",
        "CMDSCRIPT /bin/true\nAT ONBATT * EXECUTE x\n",
    );
    let etc = lab.path("etc");
    let env = [("NUT_CONFPATH", etc.as_path())];
    let ok = |program: &str, args: &[&str]| run(&bin(program), args, &env);
    assert_eq!(ok("upsmon", &["--check-config"]).0, 0);
    assert_eq!(ok("upssched", &["--check-config"]).0, 0);
    assert_eq!(ok("dummy-ups", &["--check-config", "-a", "dummy"]).0, 0);
    // A dummy-ups section that is not there, and one without a port.
    let (code, _, stderr) = ok("dummy-ups", &["--check-config", "-a", "other"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("UPS [other] not found in ups.conf"),
        "{stderr}"
    );
    // A broken nut.conf fails upsmon's check with its line.
    lab.write("etc/nut.conf", "MODE=standalone\nMODE\n");
    let (code, _, stderr) = ok("upsmon", &["--check-config"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("nut.conf:2:"), "{stderr}");
    // upssched: AT before CMDSCRIPT.
    lab.write(
        "etc/upssched.conf",
        "AT ONBATT * EXECUTE x\nCMDSCRIPT /bin/true\n",
    );
    let (code, _, stderr) = ok("upssched", &["--check-config"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("upssched.conf:2:"), "{stderr}");
}
