//! Real NUT peers against our daemons (Debian's nut-client; installed by .ci/run and
//! `cargo xtask test`). A missing peer is a test failure that names it: a test never
//! passes without the peer it needs.

use crate::lab::{bin, run, start_server, Lab};
use std::path::Path;

pub(crate) fn peer(path: &str) -> Option<&Path> {
    let path = Path::new(path);
    present(&path.display().to_string(), path.exists()).then_some(path)
}

/// `what` is installed: true; missing: the test fails with a message naming it.
pub(crate) fn present(what: &str, installed: bool) -> bool {
    assert!(
        installed,
        "{what} is not installed: this test needs it (`bash ci/install-peers.sh` as root, \
         or `cargo xtask test`, installs every peer)"
    );
    true
}

/// A Python interpreter that can import every one of `modules` (see [`peer`]).
pub(crate) fn python_peer<'a>(python: &'a str, modules: &[&str]) -> Option<&'a Path> {
    let path = Path::new(python);
    let imports = std::process::Command::new(path)
        .arg("-c")
        .arg(format!("import {}", modules.join(", ")))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    present(&format!("{python} with {}", modules.join(", ")), imports).then_some(path)
}

#[test]
fn debian_upsc_prints_the_same_listing_as_ours() {
    let Some(nut_upsc) = peer("/usr/bin/upsc") else {
        return;
    };
    let mut lab = Lab::new("interop-upsc");
    let port = start_server(
        &mut lab,
        "battery.charge: 100\nbattery.runtime: 1800\nups.status: OL CHRG\nups.mfr: ACME   Corp\ndevice.description: back\\\\slash q\\\"uote\n",
    );
    let target = format!("dummy@127.0.0.1:{port}");
    let host = format!("127.0.0.1:{port}");
    for args in [
        vec![target.as_str()],
        vec![target.as_str(), "ups.status"],
        vec!["-l", host.as_str()],
        vec!["-L", host.as_str()],
    ] {
        let (their_code, theirs, _) = run(nut_upsc, &args, &[]);
        let (our_code, ours, _) = run(&bin("upsc"), &args, &[]);
        assert_eq!(their_code, 0, "NUT's upsc {args:?}");
        assert_eq!(our_code, 0, "our upsc {args:?}");
        assert_eq!(theirs, ours, "upsc {args:?}");
    }
    let (code, _, stderr) = run(nut_upsc, &[target.as_str(), "no.such.var"], &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("Error: Variable not supported by UPS"),
        "{stderr}"
    );
}
