//! upsd with dummy-ups as real processes: exact replies, file changes picked up,
//! hostile input survived.

use crate::lab::{bin, configure_lone_upsd, exchange, start_server, wait_for, Lab};
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

#[test]
fn answers_like_nut_and_follows_the_data_file() {
    let mut lab = Lab::new("upsd");
    let port = start_server(
        &mut lab,
        "battery.charge: 100\nups.status: OL CHRG\nups.mfr: ACME   Corp\n",
    );
    let cases: &[(&[u8], &str)] = &[
        (
            b"VER\n",
            "Network UPS Tools upsd 2.8.0 - http://www.networkupstools.org/\n",
        ),
        (b"NETVER\n", "1.3\n"),
        (b"\n", "ERR UNKNOWN-COMMAND\n"),
        (
            b"LIST UPS\n",
            "BEGIN LIST UPS\nUPS dummy \"Test UPS\"\nEND LIST UPS\n",
        ),
        (
            b"get var dummy UPS.MFR\n",
            "VAR dummy UPS.MFR \"ACME Corp\"\n",
        ),
        (b"GET VAR nosuch ups.status\n", "ERR UNKNOWN-UPS\n"),
        (b"LOGIN dummy\n", "ERR USERNAME-REQUIRED\n"),
        (b"LIST CLIENTS dummy\n", "ERR INVALID-ARGUMENT\n"),
        (
            b"GET TYPE dummy ups.mfr\n",
            "TYPE dummy ups.mfr RW STRING:32\n",
        ),
        (b"STARTTLS\n", "ERR FEATURE-NOT-CONFIGURED\n"),
    ];
    for (request, expected) in cases {
        let lines = expected.matches('\n').count();
        assert_eq!(
            &exchange(port, request, lines),
            expected,
            "request {:?}",
            String::from_utf8_lossy(request)
        );
    }
    lab.write(
        "etc/test.dev",
        "battery.charge: 42\nups.status: OB DISCHRG\nups.mfr: ACME   Corp\n",
    );
    wait_for(Duration::from_secs(10), "the new status", || {
        let reply = exchange(port, b"GET VAR dummy ups.status\n", 1);
        (reply == "VAR dummy ups.status \"OB DISCHRG\"\n").then_some(())
    });
    // The driver goes away: DRIVER-NOT-CONNECTED, and back once it restarts.
    lab.stop("dummy-ups");
    wait_for(Duration::from_secs(10), "DRIVER-NOT-CONNECTED", || {
        (exchange(port, b"GET VAR dummy ups.status\n", 1) == "ERR DRIVER-NOT-CONNECTED\n")
            .then_some(())
    });
    lab.spawn(
        "dummy-ups-2",
        &crate::lab::bin("dummy-ups"),
        "etc",
        &["-a", "dummy"],
    );
    wait_for(
        Duration::from_secs(15),
        "reconnect to the restarted driver",
        || {
            exchange(port, b"GET VAR dummy battery.charge\n", 1)
                .starts_with("VAR dummy battery.charge \"42\"")
                .then_some(())
        },
    );
}

#[test]
fn garbage_and_idle_clients_do_not_stop_upsd_serving_others() {
    let mut lab = Lab::new("hostile");
    let port = start_server(&mut lab, "ups.status: OL\n");
    // A client that sends 1 MiB without a newline, one with NUL and high bytes, and one
    // that connects and never reads.
    let mut big = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = big.write_all(&vec![b'A'; 1 << 20]);
    let garbage: Vec<u8> = (0u8..=255).cycle().take(64 * 1024).collect();
    let mut noisy = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = noisy.write_all(&garbage);
    let mut silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = silent.write_all(&b"LIST VAR dummy\n".repeat(2000));
    for _ in 0..20 {
        assert_eq!(
            exchange(port, b"GET VAR dummy ups.status\n", 1),
            "VAR dummy ups.status \"OL\"\n"
        );
    }
    assert_eq!(
        exchange(port, b"GET VAR dummy ups.\x01status\n", 1),
        "VAR dummy ups.status \"OL\"\n",
        "control bytes are dropped inside words"
    );
    assert!(lab.running("upsd"));
}

#[test]
fn dummy_ups_repeats_another_upsd() {
    let mut lab = Lab::new("repeater");
    let upstream = start_server(
        &mut lab,
        "battery.charge: 77\nups.status: OB DISCHRG\nups.mfr: \"Quoted \\# Corp\"\n",
    );
    let port = crate::lab::free_port();
    lab.write(
        "etc2/ups.conf",
        &format!("[rep]\n\tdriver = dummy-ups\n\tport = dummy@127.0.0.1:{upstream}\n"),
    );
    lab.write("etc2/upsd.conf", &format!("LISTEN 127.0.0.1 {port}\n"));
    lab.write("etc2/upsd.users", "[u]\n\tpassword = p\n");
    lab.spawn(
        "repeater",
        &crate::lab::bin("dummy-ups"),
        "etc2",
        &["-a", "rep"],
    );
    lab.spawn("upsd2", &crate::lab::bin("upsd"), "etc2", &[]);
    let listing = |p: u16, ups: &str| {
        let reply = exchange(p, format!("LIST VAR {ups}\n").as_bytes(), 100);
        reply
            .lines()
            .filter(|l| l.starts_with("VAR ") && !l.contains(" driver.") && !l.contains(" device."))
            .map(|l| l.splitn(3, ' ').nth(2).unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    let expected = listing(upstream, "dummy");
    assert!(
        expected.iter().any(|l| l == "ups.mfr \"Quoted \\# Corp\""),
        "{expected:?}"
    );
    wait_for(
        Duration::from_secs(15),
        "the repeater to mirror upstream",
        || (listing(port, "rep") == expected).then_some(()),
    );
    // Upstream goes away: the repeated UPS becomes stale.
    lab.stop("upsd");
    wait_for(
        Duration::from_secs(30),
        "DATA-STALE on the repeater",
        || (exchange(port, b"GET VAR rep ups.status\n", 1) == "ERR DATA-STALE\n").then_some(()),
    );
}

#[test]
fn reload_applies_new_users_and_upses_without_dropping_clients() {
    let mut lab = Lab::new("reload");
    let port = start_server(&mut lab, "ups.status: OL\n");
    let mut kept = TcpStream::connect(("127.0.0.1", port)).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let ask = |stream: &mut TcpStream, request: &[u8]| {
        use std::io::Read;
        stream.write_all(request).unwrap();
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert_eq!(
        ask(&mut kept, b"GET VAR dummy ups.status\n"),
        "VAR dummy ups.status \"OL\"\n"
    );
    let login = b"USERNAME newmon\nPASSWORD np\nLOGIN dummy\n";
    assert_eq!(exchange(port, login, 3), "OK\nOK\nERR ACCESS-DENIED\n");
    lab.write(
        "etc/upsd.users",
        "[newmon]\n\tpassword = np\n\tupsmon secondary\n",
    );
    lab.write(
        "etc/ups.conf",
        "[dummy]\n\tdriver = dummy-ups\n\tport = test.dev\n\tdesc = \"Test UPS\"\n[added]\n\tdriver = dummy-ups\n\tport = other.dev\n",
    );
    let piddir = lab.path("pid-upsd");
    let (code, _, stderr) = crate::lab::run(
        &crate::lab::bin("upsd"),
        &["-c", "reload"],
        &[
            ("NUT_CONFPATH", &lab.path("etc")),
            ("NUT_STATEPATH", &lab.path("state")),
            ("NUT_ALTPIDPATH", &piddir),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    wait_for(Duration::from_secs(10), "the reload", || {
        (exchange(port, login, 3) == "OK\nOK\nOK\n").then_some(())
    });
    assert_eq!(
        exchange(port, b"LIST UPS\n", 4),
        "BEGIN LIST UPS\nUPS added \"Description unavailable\"\nUPS dummy \"Test UPS\"\nEND LIST UPS\n"
    );
    assert_eq!(
        ask(&mut kept, b"GET VAR dummy ups.status\n"),
        "VAR dummy ups.status \"OL\"\n",
        "the old client was kept"
    );
}

/// Connections a burst opens while upsd is stopped (SIGSTOP): more than NUT's listen
/// queue of 16 and than the soft open-file limit upsd is started with, within ours
/// (`real::LISTEN_BACKLOG`, 128).
const BURST: usize = 120;
/// The soft open-file limit upsd is started with for the burst (systemd's is 1024).
const BURST_SOFT_LIMIT: u64 = 64;
/// The open-file limit of the upsd that must warn about it.
const LOW_SOFT_LIMIT: u64 = 256;

/// This process's hard open-file limit.
fn hard_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit struct.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    limit.rlim_max
}

/// Starts our upsd (and dummy-ups serving `u`) with the open-file limit `soft:hard`.
fn upsd_with_fd_limit(lab: &mut Lab, soft: u64, hard: u64) -> (u16, u32) {
    let port = configure_lone_upsd(lab);
    lab.write("etc/u.dev", "ups.status: OL\n");
    lab.spawn("dummy-ups", &bin("dummy-ups"), "etc", &["-a", "u"]);
    let upsd = bin("upsd");
    let nofile = format!("--nofile={soft}:{hard}");
    // prlimit execs upsd: the PID is upsd's.
    let pid = lab.spawn(
        "upsd",
        std::path::Path::new("/usr/bin/prlimit"),
        "etc",
        &[&nofile, upsd.to_str().unwrap(), "--no-zeroconf", "-F"],
    );
    wait_for(Duration::from_secs(15), "upsd to serve u", || {
        (exchange(port, b"GET VAR u ups.status\n", 1) == "VAR u ups.status \"OL\"\n").then_some(())
    });
    (port, pid)
}

/// Sends SIGCONT to a stopped process when dropped, even when the test fails.
struct Resume(u32);

impl Drop for Resume {
    fn drop(&mut self) {
        // SAFETY: kill() with a PID this test started.
        unsafe { libc::kill(self.0 as i32, libc::SIGCONT) };
    }
}

#[test]
fn a_burst_of_connections_waits_in_the_listen_queue_and_is_served() {
    let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        somaxconn >= BURST,
        "this test needs net.core.somaxconn >= {BURST} (it is {somaxconn})"
    );
    let hard = hard_fd_limit();
    assert!(
        hard >= BURST as u64 + 2 * nut_bins::service::FD_RESERVE,
        "this test needs a hard open-file limit above {BURST} (it is {hard})"
    );
    let mut lab = Lab::new("listen-burst");
    let (port, pid) = upsd_with_fd_limit(&mut lab, BURST_SOFT_LIMIT, hard);
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let soft: u64 = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .expect("Max open files in /proc/PID/limits");
    assert!(
        soft > BURST as u64,
        "upsd raised its soft open-file limit from {BURST_SOFT_LIMIT}: {soft}"
    );
    // While upsd does not run, the kernel completes each handshake into its listen
    // queue; NUT's queue of 16 would drop the SYNs after that and the connects time out.
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut streams = Vec::new();
    {
        // SAFETY: kill() with a PID this test started.
        unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
        let _resume = Resume(pid);
        for i in 0..BURST {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                Ok(stream) => streams.push(stream),
                Err(e) => panic!("connection {i} of the burst: {e}"),
            }
        }
    }
    for (i, stream) in streams.iter_mut().enumerate() {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(b"GET VAR u ups.status\n").unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(&*stream), &mut line)
            .unwrap_or_else(|e| panic!("connection {i} of the burst: {e}"));
        assert_eq!(line, "VAR u ups.status \"OL\"\n", "connection {i}");
    }
    assert!(lab.running("upsd"));
}

#[test]
fn upsd_says_when_the_open_file_limit_is_below_maxconn() {
    let mut lab = Lab::new("fd-limit");
    upsd_with_fd_limit(&mut lab, LOW_SOFT_LIMIT, LOW_SOFT_LIMIT);
    let log = lab.log("upsd");
    let clients = LOW_SOFT_LIMIT - nut_bins::service::FD_RESERVE;
    assert!(
        log.contains(&format!(
            "open file limit {LOW_SOFT_LIMIT} leaves room for about {clients} clients, \
             fewer than MAXCONN (16384)"
        )),
        "{log}"
    );
}
