//! Real Python NUT clients and check_ups against OUR upsd + dummy-ups: PyNUT (Debian's
//! python3-nut), aionut (Home Assistant) and nut2 (PyPI, in ci/install-peers.sh's venv),
//! and the Nagios plugin check_ups. Each Python test writes a script into the lab that
//! does what that client really does (ecosystem.md §4) and prints `key: repr(result)`
//! lines; the expected output is exactly what the same scripts print against Debian's
//! upsd 2.8.0 + dummy-ups on the same data (checked by hand; client quirks included).
//! Missing peers skip outside CI (see `peer`).

use crate::interop::{peer, python_peer};
use crate::lab::{exchange, run, start_server, wait_for, Lab};
use std::path::Path;
use std::time::Duration;

/// The venv ci/install-peers.sh builds for Debian's python3 (system site packages).
const VENV_PYTHON: &str = "/opt/nut-rs-peers/bin/python3";

const DEV: &str = "battery.charge: 100\nbattery.runtime: 1800\ninput.voltage: 230.0\n\
                   ups.load: 25\nups.mfr: ACME\nups.model: Smart 1500\nups.serial: AB123\n\
                   ups.status: OL CHRG\nups.temperature: 30.5\n";

/// LIST VAR of [`DEV`] in upsd's order.
const VARS: &[(&str, &str)] = &[
    ("battery.charge", "100"),
    ("battery.runtime", "1800"),
    ("device.mfr", "ACME"),
    ("device.model", "Smart 1500"),
    ("device.serial", "AB123"),
    ("device.type", "ups"),
    ("driver.name", "dummy-ups"),
    ("driver.parameter.mode", "dummy-once"),
    ("driver.parameter.pollinterval", "2"),
    ("driver.parameter.port", "test.dev"),
    ("driver.parameter.synchronous", "auto"),
    ("driver.version", "2.8.0"),
    ("driver.version.internal", "0.15"),
    ("input.voltage", "230.0"),
    ("ups.load", "25"),
    ("ups.mfr", "ACME"),
    ("ups.model", "Smart 1500"),
    ("ups.serial", "AB123"),
    ("ups.status", "OL CHRG"),
    ("ups.temperature", "30.5"),
];

/// LIST RW of [`DEV`]: every variable read from the file.
const RW: &[&str] = &[
    "battery.charge",
    "battery.runtime",
    "input.voltage",
    "ups.load",
    "ups.mfr",
    "ups.model",
    "ups.serial",
    "ups.status",
    "ups.temperature",
];

/// Python's repr of a dict of [`VARS`] (only `names` if given), with `changed` values,
/// as `str` or `bytes` keys and values.
fn pydict(names: Option<&[&str]>, changed: &[(&str, &str)], bytes: bool) -> String {
    let b = if bytes { "b" } else { "" };
    let items: Vec<String> = VARS
        .iter()
        .filter(|(name, _)| names.is_none_or(|n| n.contains(name)))
        .map(|(name, value)| {
            let value = changed
                .iter()
                .find(|(n, _)| n == name)
                .map_or(*value, |(_, v)| v);
            format!("{b}'{name}': {b}'{value}'")
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// Writes `script` into the lab, runs it with `python` against `port`, returns stdout.
fn run_script(lab: &Lab, python: &Path, name: &str, script: &str, port: u16) -> String {
    lab.write(name, script);
    let script_path = lab.path(name);
    let (code, out, err) = run(
        python,
        &[script_path.to_str().unwrap(), &port.to_string()],
        &[],
    );
    assert_eq!(code, 0, "{name} failed:\n{out}\n{err}");
    out
}

fn assert_lines(got: &str, expected: &[String]) {
    let got: Vec<&str> = got.lines().collect();
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(got.get(i).copied(), Some(want.as_str()), "line {}", i + 1);
    }
    assert_eq!(got.len(), expected.len(), "extra lines: {got:#?}");
}

const PYNUT_SCRIPT: &str = r#"
import sys, time, PyNUT
port = int(sys.argv[1])
def show(key, value):
    print(f"{key}: {value!r}", flush=True)
def attempt(key, fn):
    try:
        show(key, fn())
    except PyNUT.PyNUTError as e:
        show(key + " error", e.args[0])
admin = PyNUT.PyNUTClient(host="127.0.0.1", port=port, login="admin", password="adminpass")
show("ups", admin.GetUPSList())
show("vars", admin.GetUPSVars("dummy"))
show("cmds", admin.GetUPSCommands("dummy"))
show("rw", admin.GetRWVars("dummy"))
attempt("set", lambda: admin.SetRWVar("dummy", "ups.serial", "NEW1"))
deadline = time.time() + 10
while admin.GetUPSVars("dummy").get(b"ups.serial") != b"NEW1" and time.time() < deadline:
    time.sleep(0.2)
show("after set", admin.GetUPSVars("dummy"))
attempt("set ro", lambda: admin.SetRWVar("dummy", "driver.name", "x"))
attempt("instcmd", lambda: admin.RunUPSCommand("dummy", "load.off"))
attempt("instcmd unknown", lambda: admin.RunUPSCommand("dummy", "no.such"))
show("help", admin.help())
show("ver", admin.ver())
attempt("clients", lambda: admin.ListClients())
attempt("fsd admin", lambda: admin.FSD("dummy"))
secondary = PyNUT.PyNUTClient(host="127.0.0.1", port=port, login="monsecondary", password="sp")
attempt("fsd secondary", lambda: secondary.FSD("dummy"))
attempt("status before", lambda: secondary.GetUPSVars("dummy")[b"ups.status"])
primary = PyNUT.PyNUTClient(host="127.0.0.1", port=port, login="monprimary", password="pp")
attempt("fsd primary", lambda: primary.FSD("dummy"))
attempt("status after", lambda: secondary.GetUPSVars("dummy")[b"ups.status"])
try:
    PyNUT.PyNUTClient(host="127.0.0.1", port=port, login="admin", password="adminpass").GetUPSVars("nosuch")
except PyNUT.PyNUTError as e:
    show("unknown ups", e.args[0])
"#;

#[test]
fn pynut_lists_sets_runs_commands_and_forces_shutdown() {
    let Some(python) = python_peer("/usr/bin/python3", &["PyNUT"]) else {
        return;
    };
    let mut lab = Lab::new("pynut");
    let port = start_server(&mut lab, DEV);
    let out = run_script(&lab, python, "pynut.py", PYNUT_SCRIPT, port);
    let expected = [
        "ups: {b'dummy': b'Test UPS'}".to_string(),
        format!("vars: {}", pydict(None, &[], true)),
        // PyNUT's own parsing of GET CMDDESC falls back to this text (same on NUT's upsd).
        "cmds: {b'load.off': b'Description unavailable'}".to_string(),
        format!("rw: {}", pydict(Some(RW), &[], true)),
        "set: 'OK'".to_string(),
        // SET changes ups.serial only: device.serial was copied once at start-up.
        format!(
            "after set: {}",
            pydict(None, &[("ups.serial", "NEW1")], true)
        ),
        "set ro error: b'ERR READONLY\\n'".to_string(),
        "instcmd: 'OK'".to_string(),
        "instcmd unknown error: b'ERR CMD-NOT-SUPPORTED'".to_string(),
        "help: b'Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS\\n'"
            .to_string(),
        "ver: b'Network UPS Tools upsd 2.8.0 - http://www.networkupstools.org/\\n'".to_string(),
        "clients error: b'ERR INVALID-ARGUMENT'".to_string(),
        "fsd admin error: ('Primary level functions are not available', '')".to_string(),
        "fsd secondary error: ('Primary level functions are not available', '')".to_string(),
        "status before: b'OL CHRG'".to_string(),
        "fsd primary: 'OK'".to_string(),
        "status after: b'FSD OL CHRG'".to_string(),
        "unknown ups: b'ERR UNKNOWN-UPS'".to_string(),
    ];
    assert_lines(&out, &expected);
}

const AIONUT_SCRIPT: &str = r#"
import asyncio, sys
from aionut import AIONUTClient, NUTError
port = int(sys.argv[1])
def show(key, value):
    print(f"{key}: {value!r}", flush=True)
async def attempt(key, coro):
    try:
        show(key, await coro)
    except NUTError as e:
        show(key + " error", f"{type(e).__name__}: {e}")
async def main():
    # Home Assistant's setup and refresh: persistent connection with credentials.
    ha = AIONUTClient(host="127.0.0.1", port=port, username="admin", password="adminpass", timeout=5.0, persistent=True)
    await attempt("ups", ha.list_ups())
    await attempt("desc", ha.description("dummy"))
    await attempt("vars", ha.list_vars("dummy"))
    await attempt("cmds", ha.list_commands("dummy"))
    await attempt("instcmd", ha.run_command("dummy", "load.off"))
    await attempt("instcmd param", ha.run_command("dummy", "load.off", "10"))
    await attempt("instcmd unknown", ha.run_command("dummy", "no.such"))
    await attempt("unknown ups", ha.list_vars("nosuch"))
    await attempt("refresh", ha.list_vars("dummy"))
    ha.shutdown()
    # Wrong password: USERNAME/PASSWORD pass, the privileged command is an auth failure.
    bad = AIONUTClient(host="127.0.0.1", port=port, username="admin", password="wrong", persistent=False)
    await attempt("bad password", bad.run_command("dummy", "load.off"))
    bad.shutdown()
    # Anonymous, non-persistent (a fresh connection per call).
    anon = AIONUTClient(host="127.0.0.1", port=port, persistent=False)
    await attempt("anon ups", anon.list_ups())
    await attempt("anon vars", anon.list_vars("dummy"))
    await attempt("anon instcmd", anon.run_command("dummy", "load.off"))
    anon.shutdown()
asyncio.run(main())
"#;

#[test]
fn aionut_does_what_home_assistant_does() {
    let Some(python) = python_peer(VENV_PYTHON, &["aionut"]) else {
        return;
    };
    let mut lab = Lab::new("aionut");
    let port = start_server(&mut lab, DEV);
    let out = run_script(&lab, python, "aionut_script.py", AIONUT_SCRIPT, port);
    let vars = pydict(None, &[], false);
    let expected = [
        "ups: {'dummy': 'Test UPS'}".to_string(),
        "desc: 'Test UPS'".to_string(),
        format!("vars: {vars}"),
        "cmds: {'load.off'}".to_string(),
        "instcmd: 'OK'".to_string(),
        "instcmd param: 'OK'".to_string(),
        "instcmd unknown error: 'NUTCommandError: Error running: INSTCMD dummy no.such: ERR CMD-NOT-SUPPORTED'".to_string(),
        "unknown ups error: 'NUTCommandError: Error running: LIST VAR nosuch: ERR UNKNOWN-UPS'".to_string(),
        format!("refresh: {vars}"),
        "bad password error: 'NUTLoginError: Error running: INSTCMD dummy load.off: ERR ACCESS-DENIED'".to_string(),
        "anon ups: {'dummy': 'Test UPS'}".to_string(),
        format!("anon vars: {vars}"),
        "anon instcmd error: 'NUTCommandError: Error running: INSTCMD dummy load.off: ERR USERNAME-REQUIRED'".to_string(),
    ];
    assert_lines(&out, &expected);
}

const NUT2_SCRIPT: &str = r#"
import sys, time, warnings
warnings.simplefilter("ignore")
import nut2
port = int(sys.argv[1])
def show(key, value):
    print(f"{key}: {value!r}", flush=True)
def attempt(key, fn):
    try:
        show(key, fn())
    except nut2.PyNUTError as e:
        show(key + " error", e.args[0])
with nut2.PyNUTClient(host="127.0.0.1", port=port, login="admin", password="adminpass") as c:
    show("ups", c.list_ups())
    show("desc", c.description("dummy"))
    show("vars", c.list_vars("dummy"))
    show("cmds", c.list_commands("dummy"))
    show("rw", c.list_rw_vars("dummy"))
    attempt("enum", lambda: c.list_enum("dummy", "ups.status"))
    attempt("range", lambda: c.list_range("dummy", "battery.charge"))
    attempt("get", lambda: c.get_var("dummy", "ups.status"))
    attempt("get missing", lambda: c.get_var("dummy", "no.such"))
    attempt("type", lambda: c.var_type("dummy", "ups.mfr"))
    attempt("type number", lambda: c.var_type("dummy", "battery.charge"))
    attempt("type ro", lambda: c.var_type("dummy", "driver.name"))
    attempt("desc var", lambda: c.var_description("dummy", "battery.charge"))
    attempt("desc custom", lambda: c.var_description("dummy", "x.custom"))
    attempt("cmddesc", lambda: c.command_description("dummy", "load.off"))
    attempt("numlogins", lambda: c.num_logins("dummy"))
    attempt("clients", lambda: c.list_clients())
    attempt("set", lambda: c.set_var("dummy", "battery.charge", "90"))
    deadline = time.time() + 10
    while c.get_var("dummy", "battery.charge") != "90" and time.time() < deadline:
        time.sleep(0.2)
    attempt("charge", lambda: c.get_var("dummy", "battery.charge"))
    attempt("set too long", lambda: c.set_var("dummy", "ups.mfr", "x" * 40))
    attempt("instcmd", lambda: c.run_command("dummy", "load.off"))
    attempt("fsd admin", lambda: c.fsd("dummy"))
    show("help", c.help())
    show("ver", c.ver())
with nut2.PyNUTClient(host="127.0.0.1", port=port, login="monprimary", password="pp") as p:
    attempt("fsd primary", lambda: p.fsd("dummy"))
    attempt("status", lambda: p.get_var("dummy", "ups.status"))
try:
    nut2.PyNUTClient(host="127.0.0.1", port=port, login="admin", password="adminpass").list_vars("nosuch")
except nut2.PyNUTError as e:
    show("unknown ups", e.args[0])
"#;

#[test]
fn nut2_exercises_every_call_it_has() {
    let Some(python) = python_peer(VENV_PYTHON, &["nut2"]) else {
        return;
    };
    let mut lab = Lab::new("nut2");
    let port = start_server(&mut lab, DEV);
    let out = run_script(&lab, python, "nut2_script.py", NUT2_SCRIPT, port);
    let expected = [
        "ups: {'dummy': 'Test UPS'}".to_string(),
        "desc: 'Test UPS'".to_string(),
        format!("vars: {}", pydict(None, &[], false)),
        "cmds: {'load.off': 'Turn off the load immediately'}".to_string(),
        format!("rw: {}", pydict(Some(RW), &[], false)),
        // nut2 cannot parse an empty ENUM/RANGE block (NUT's upsd gives the same).
        "enum error: 'END LIST ENUM dummy ups.status'".to_string(),
        "range error: 'END LIST RANGE dummy battery.charge'".to_string(),
        "get: 'OL CHRG'".to_string(),
        "get missing error: 'ERR VAR-NOT-SUPPORTED'".to_string(),
        "type: 'RW STRING:32'".to_string(),
        "type number: 'RW NUMBER'".to_string(),
        "type ro: 'NUMBER'".to_string(),
        "desc var: 'Battery charge (percent of full)'".to_string(),
        "desc custom: 'Description unavailable'".to_string(),
        "cmddesc: 'Turn off the load immediately'".to_string(),
        "numlogins: 0".to_string(),
        "clients error: 'ERR INVALID-ARGUMENT'".to_string(),
        "set: None".to_string(),
        "charge: '90'".to_string(),
        "set too long error: 'ERR TOO-LONG'".to_string(),
        "instcmd: None".to_string(),
        "fsd admin error: ('Master level function are not available', '')".to_string(),
        "help: 'Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS\\n'"
            .to_string(),
        "ver: 'Network UPS Tools upsd 2.8.0 - http://www.networkupstools.org/\\n'".to_string(),
        "fsd primary: None".to_string(),
        "status: 'FSD OL CHRG'".to_string(),
        "unknown ups: 'ERR UNKNOWN-UPS'".to_string(),
    ];
    assert_lines(&out, &expected);
}

/// check_ups's verdicts, as Debian's monitoring-plugins 2.3.3 prints them against NUT's
/// upsd 2.8.0 for the same data (observed in the lab).
#[test]
fn check_ups_reports_ok_warning_and_critical() {
    let Some(check_ups) = peer("/usr/lib/nagios/plugins/check_ups") else {
        return;
    };
    let mut lab = Lab::new("check-ups");
    let port = start_server(&mut lab, DEV);
    let port_s = port.to_string();
    let check = |extra: &[&str]| {
        let mut args = vec!["-H", "127.0.0.1", "-p", &port_s];
        args.extend_from_slice(extra);
        let (code, out, err) = run(check_ups, &args, &[]);
        (code, format!("{out}{err}"))
    };
    let perf = |batt_thresholds: &str| {
        format!(
            "Utility=230.0V Batt=100.0% Load=25.0% Temp=86.9F|voltage=230000mV;;;0; \
             battery=100%;{batt_thresholds};0;100 load=25%;;;0;100 temp=86degF;;;0;\n"
        )
    };
    let cases = [
        ("OL CHRG", 0, "UPS OK - Status=Online, Charging"),
        (
            "OB DISCHRG",
            1,
            "UPS WARNING - Status=On Battery, Discharging",
        ),
        (
            "OB LB DISCHRG",
            2,
            "UPS CRITICAL - Status=On Battery, Low Battery",
        ),
        ("OL LB", 1, "UPS WARNING - Status=Online, Low Battery"),
        ("OFF", 2, "UPS CRITICAL - Status=Off"),
        ("OL BOOST", 0, "UPS OK - Status=Online, Boosting"),
        ("CAL OL", 0, "UPS OK - Status=Online, Calibrating"),
        ("RB OL", 1, "UPS WARNING - Status=Online, Replace Battery"),
    ];
    // The status changes through upsd (dummy-ups variables are writable), as in NUT labs.
    let set_status = |status: &str| {
        let request =
            format!("USERNAME admin\nPASSWORD adminpass\nSET VAR dummy ups.status \"{status}\"\n");
        assert_eq!(exchange(port, request.as_bytes(), 3), "OK\nOK\nOK\n");
    };
    for (status, code, text) in cases {
        set_status(status);
        let expected = (code, format!("{text} {}", perf(";")));
        wait_for(
            Duration::from_secs(10),
            &format!("check_ups on {status}"),
            || (check(&["-u", "dummy"]) == expected).then_some(()),
        );
    }
    assert_eq!(
        check(&["-u", "dummy", "-v", "BATTPCT", "-w", "50", "-c", "20"]),
        (
            1,
            format!(
                "UPS WARNING - Status=Online, Replace Battery {}",
                perf("50;20")
            )
        )
    );
    assert_eq!(
        check(&["-u", "nosuch"]),
        (
            2,
            "CRITICAL - no such UPS 'nosuch' on that host\nInvalid response received from host\n"
                .to_string()
        )
    );
    // An FSD set by a primary shows up as an unknown status word; still OK for check_ups.
    set_status("OL CHRG");
    wait_for(Duration::from_secs(10), "OL CHRG again", || {
        (exchange(port, b"GET VAR dummy ups.status\n", 1) == "VAR dummy ups.status \"OL CHRG\"\n")
            .then_some(())
    });
    let reply = exchange(port, b"USERNAME monprimary\nPASSWORD pp\nFSD dummy\n", 3);
    assert_eq!(reply, "OK\nOK\nOK FSD-SET\n");
    assert_eq!(
        check(&["-u", "dummy"]),
        (
            0,
            format!("UPS OK - Status=Online, Charging, Unknown {}", perf(";"))
        )
    );
    // The driver is gone: upsd answers DRIVER-NOT-CONNECTED.
    lab.stop("dummy-ups");
    wait_for(Duration::from_secs(10), "check_ups without driver", || {
        (check(&["-u", "dummy"])
            == (
                2,
                "Unknown error: ERR DRIVER-NOT-CONNECTED\nInvalid response received from host\n"
                    .to_string(),
            ))
            .then_some(())
    });
}
