//! upsdrvctl's plans as tables: order, command lines, retries, errors.

use nut_core::config::parse_ups_conf;
use nut_core::upsdrvctl::{plan, shutdown_commands, PassThrough, Verb};

const CONF: &str = "maxretry = 3\nretrydelay = 2\n\
[late]\n\tdriver = usbhid-ups\n\tport = auto\n\tsdorder = 2\n\
[first]\n\tdriver = dummy-ups\n\tport = a.dev\n\tmaxstartdelay = 10\n\
[never]\n\tdriver = nutdrv_qx\n\tport = /dev/ttyS0\n\tsdorder = -1\n\
[second]\n\tdriver = dummy-ups\n\tport = b.dev\n\tsdorder = 1\n\tmaxretry = 1\n\
[zero2]\n\tdriver = dummy-ups\n\tport = c.dev\n\tsdcommands = load.off,shutdown.stayoff\n";

fn render(verb: Verb, ups: Option<&str>, pass: &PassThrough) -> Vec<String> {
    let conf = parse_ups_conf("ups.conf", CONF.as_bytes()).value;
    match plan(&conf, verb, ups, pass) {
        Ok(launches) => launches
            .iter()
            .map(|l| {
                format!(
                    "{} {} [{}s x{} +{}s] {}",
                    l.driver,
                    l.args.join(" "),
                    l.maxstartdelay_s,
                    l.attempts,
                    l.retrydelay_s,
                    l.pidfile
                )
            })
            .collect(),
        Err(e) => vec![e],
    }
}

#[test]
fn start_takes_file_order_with_per_ups_overrides() {
    assert_eq!(
        render(Verb::Start, None, &PassThrough::default()),
        [
            "usbhid-ups -a late [75s x3 +2s] usbhid-ups-late.pid",
            "dummy-ups -a first [10s x3 +2s] dummy-ups-first.pid",
            "nutdrv_qx -a never [75s x3 +2s] nutdrv_qx-never.pid",
            "dummy-ups -a second [75s x1 +2s] dummy-ups-second.pid",
            "dummy-ups -a zero2 [75s x3 +2s] dummy-ups-zero2.pid",
        ]
    );
}

#[test]
fn shutdown_goes_by_sdorder_and_skips_minus_one() {
    assert_eq!(
        render(Verb::Shutdown, None, &PassThrough::default()),
        [
            "dummy-ups -a first -k [10s x3 +2s] dummy-ups-first.pid",
            "dummy-ups -a zero2 -k [75s x3 +2s] dummy-ups-zero2.pid",
            "dummy-ups -a second -k [75s x1 +2s] dummy-ups-second.pid",
            "usbhid-ups -a late -k [75s x3 +2s] usbhid-ups-late.pid",
        ]
    );
    // A named UPS is shut down whatever its sdorder.
    assert_eq!(
        render(Verb::Shutdown, Some("never"), &PassThrough::default()),
        ["nutdrv_qx -a never -k [75s x3 +2s] nutdrv_qx-never.pid"]
    );
}

#[test]
fn pass_through_options_and_errors() {
    let pass = PassThrough {
        debug: 2,
        foreground: Some(false),
        user: Some("nut".into()),
        chroot: None,
    };
    assert_eq!(
        render(Verb::Start, Some("first"), &pass),
        ["dummy-ups -DD -B -a first -u nut [10s x3 +2s] dummy-ups-first.pid"]
    );
    assert_eq!(
        render(Verb::Start, Some("FIRST"), &pass),
        ["UPS FIRST not found in ups.conf"]
    );
    let empty = parse_ups_conf("ups.conf", b"maxretry = 2\n").value;
    assert_eq!(
        plan(&empty, Verb::Start, None, &pass).unwrap_err(),
        "Error: no UPS definitions found in ups.conf"
    );
}

#[test]
fn kill_power_tries_sdcommands_or_nut_default() {
    let conf = parse_ups_conf("ups.conf", CONF.as_bytes()).value;
    assert_eq!(
        shutdown_commands(conf.find("first").unwrap()),
        ["shutdown.return", "load.off.delay"]
    );
    assert_eq!(
        shutdown_commands(conf.find("zero2").unwrap()),
        ["load.off", "shutdown.stayoff"]
    );
}
