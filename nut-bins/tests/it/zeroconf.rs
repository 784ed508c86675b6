//! upsd's zeroconf announcement seen by python-zeroconf, the library Home Assistant
//! discovers NUT servers with (Debian's python3-zeroconf). Everything stays on the
//! loopback interface: upsd listens on 127.0.0.1, so it announces there only.

use crate::interop::python_peer;
use crate::lab::{bin, free_port, Lab};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Browses `_nut._tcp` and `_upsd._tcp` on the loopback interface for `argv[2]`
/// seconds and prints every service whose instance name starts with `argv[1]`; with
/// `argv[3]`, first registers `argv[1]._nut._tcp` itself (port 1), to take the name.
const BROWSE: &str = r#"
import socket, sys, threading, time
from zeroconf import Zeroconf, ServiceBrowser, ServiceListener, ServiceInfo
want, seconds = sys.argv[1], float(sys.argv[2])
zc = Zeroconf(interfaces=["127.0.0.1"])
lock = threading.Lock()
def say(*words):
    with lock:
        sys.stdout.write(" ".join(str(w) for w in words) + "\n")
        sys.stdout.flush()
if len(sys.argv) > 3:
    zc.register_service(ServiceInfo("_nut._tcp.local.", want + "._nut._tcp.local.",
        addresses=[socket.inet_aton("127.0.0.1")], port=1, server="squatter.local."))
    say("registered")
class Listener(ServiceListener):
    def add_service(self, zc, type_, name):
        if not name.startswith(want):
            return
        info = zc.get_service_info(type_, name, timeout=3000)
        props = sorted((k.decode(), (v or b"").decode()) for k, v in info.properties.items())
        say("found", name, info.parsed_addresses(), info.port, info.server, props)
    def update_service(self, zc, type_, name):
        pass
    def remove_service(self, zc, type_, name):
        if name.startswith(want):
            say("removed", name)
browsers = [ServiceBrowser(zc, t, Listener()) for t in ("_nut._tcp.local.", "_upsd._tcp.local.")]
time.sleep(seconds)
zc.close()
"#;

/// The browser's output lines as they come.
struct Browser {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Browser {
    fn start(lab: &Lab, python: &std::path::Path, args: &[&str]) -> Browser {
        lab.write("browse.py", BROWSE);
        let mut child = Command::new(python)
            .arg(lab.path("browse.py"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Browser { child, lines }
    }

    /// Lines until `done` holds for the lines so far, at most `limit`.
    fn until(&self, limit: Duration, got: &mut Vec<String>, done: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(got) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => got.push(line),
                Err(_) => panic!("python-zeroconf did not see it within {limit:?}; saw {got:#?}"),
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn configure(lab: &Lab) -> u16 {
    let port = free_port();
    lab.write(
        "etc/ups.conf",
        "[ups1]\n\tdriver = dummy-ups\n\tport = a.dev\n[ups2]\n\tdriver = dummy-ups\n\tport = b.dev\n",
    );
    lab.write("etc/upsd.conf", &format!("LISTEN 127.0.0.1 {port}\n"));
    lab.write("etc/upsd.users", "");
    port
}

#[test]
fn python_zeroconf_discovers_upsd_and_sees_it_leave() {
    let Some(python) = python_peer("/usr/bin/python3", &["zeroconf"]) else {
        return;
    };
    let mut lab = Lab::new("zeroconf");
    let port = configure(&lab);
    let name = format!("nut-rs-test-{port}");
    let browser = Browser::start(&lab, python, &[&name, "30"]);
    let pid = lab.spawn("upsd", &bin("upsd"), "etc", &["--zeroconf-name", &name]);
    let mut got = Vec::new();
    let found = |l: &[String]| l.iter().filter(|l| l.starts_with("found")).count() == 2;
    browser.until(Duration::from_secs(15), &mut got, found);
    got.sort();
    assert_eq!(
        got,
        vec![
            format!("found {name}._nut._tcp.local. ['127.0.0.1'] {port} vm.local. [('protovers', '1.3'), ('txtvers', '1')]")
                .replace("vm.local.", &format!("{}.local.", nut_bins::zeroconf::host_name())),
            format!("found {name}._upsd._tcp.local. ['127.0.0.1'] {port} vm.local. [('device_list', 'ups1;ups2'), ('protovers', '1.3'), ('txtvers', '1')]")
                .replace("vm.local.", &format!("{}.local.", nut_bins::zeroconf::host_name())),
        ]
    );
    assert!(
        lab.log("upsd").contains(&format!(
            "zeroconf: announcing '{name}' as _nut._tcp and _upsd._tcp"
        )),
        "{}",
        lab.log("upsd")
    );
    // A stopped upsd says goodbye: browsers drop it at once, not after the TTL.
    let status = Command::new("kill").arg(pid.to_string()).status().unwrap();
    assert!(status.success());
    let mut gone = Vec::new();
    let removed = |l: &[String]| l.iter().filter(|l| l.starts_with("removed")).count() == 2;
    browser.until(Duration::from_secs(10), &mut gone, removed);
}

#[test]
fn a_name_taken_on_the_network_is_renamed() {
    let Some(python) = python_peer("/usr/bin/python3", &["zeroconf"]) else {
        return;
    };
    let mut lab = Lab::new("zeroconf-conflict");
    let port = configure(&lab);
    let name = format!("nut-rs-taken-{port}");
    let browser = Browser::start(&lab, python, &[&name, "30", "squat"]);
    let mut got = Vec::new();
    browser.until(Duration::from_secs(15), &mut got, |l| {
        l.iter().any(|l| l == "registered")
    });
    lab.spawn("upsd", &bin("upsd"), "etc", &["--zeroconf-name", &name]);
    let renamed = format!("{name} (2)");
    let ours = |l: &[String]| {
        l.iter()
            .filter(|l| l.starts_with(&format!("found {renamed}.")))
            .count()
            == 2
    };
    browser.until(Duration::from_secs(15), &mut got, ours);
    for line in got
        .iter()
        .filter(|l| l.starts_with(&format!("found {renamed}.")))
    {
        assert!(line.contains(&format!("['127.0.0.1'] {port} ")), "{line}");
    }
    // The squatter keeps its name and port.
    assert!(
        got.iter()
            .any(|l| l.starts_with(&format!("found {name}._nut._tcp.local. ['127.0.0.1'] 1 "))),
        "{got:#?}"
    );
    let log = lab.log("upsd");
    assert!(
        log.contains(&format!(
            "zeroconf: service name '{name}' is taken on the network, using '{renamed}'"
        )),
        "{log}"
    );
}
