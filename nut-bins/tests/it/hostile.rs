//! 100 well-behaved pollers keep getting correct answers while hostile clients and a
//! hostile driver run: garbage and NUL bytes, 1 MiB lines, unterminated quotes, `#` in
//! quotes, slowloris clients, a flood of 20,000 connections, a driver that floods
//! updates and sends malformed lines. upsd must not crash and its memory stays bounded.

use crate::lab::{bin, exchange, free_port, wait_for, Lab};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How long the hostile phase lasts.
const HOSTILE_PHASE: Duration = Duration::from_secs(6);
/// Connections the flood opens and closes.
const FLOOD_CONNECTIONS: usize = 20_000;
/// Longest a well-behaved poller may wait between two answers, in milliseconds.
const MAX_GAP_MS: u64 = 2_000;
/// Fewest answers each poller must get on average during the attack (the attackers
/// run flat out on the same two cores, so the rate itself is not upsd's to keep).
const MIN_ANSWERS_PER_POLLER: u64 = 10;
/// Upper bound on upsd's resident memory after the attack, in KiB.
const RSS_LIMIT_KIB: u64 = 256 * 1024;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn hostile_driver(listener: UnixListener, stop: Arc<AtomicBool>) {
    listener.set_nonblocking(false).unwrap();
    while !stop.load(Ordering::Relaxed) {
        let Ok((mut stream, _)) = listener.accept() else {
            continue;
        };
        stream
            .set_write_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut n = 0u64;
        let _ = stream.write_all(b"SETINFO ups.status \"OL\"\nDATAOK\nDUMPDONE\n");
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let line = match n % 5 {
                0 => format!("SETINFO flood.value{} \"{n}\"\n", n % 10_000),
                1 => "SETINFO\nADDRANGE x\nGARBAGE \u{1} \"unterminated\n".to_string(),
                2 => format!("SETINFO ups.status \"OL {}\"\n", n % 7),
                3 => "\"\\\\#\"\" # \"#\"\n".to_string(),
                _ => "A".repeat(600) + "\n",
            };
            if stream.write_all(line.as_bytes()).is_err() {
                break;
            }
            // Bursts of 100 lines, about 20,000 lines a second: a flood, not a CPU hog.
            if n.is_multiple_of(100) {
                thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

#[test]
fn well_behaved_pollers_are_served_while_hostile_clients_and_a_driver_attack() {
    let mut lab = Lab::new("hostile-load");
    let port = free_port();
    lab.write(
        "etc/ups.conf",
        "[dummy]\n\tdriver = dummy-ups\n\tport = test.dev\n[evil]\n\tdriver = fake\n\tport = none\n",
    );
    lab.write("etc/test.dev", "ups.status: OL\nbattery.charge: 88\n");
    lab.write(
        "etc/upsd.conf",
        &format!("LISTEN 127.0.0.1 {port}\nMAXCONN 5000\n"),
    );
    lab.write("etc/upsd.users", "[u]\n\tpassword = p\n");
    let evil = UnixListener::bind(lab.path("state/fake-evil")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let driver = {
        let stop = stop.clone();
        thread::spawn(move || hostile_driver(evil, stop))
    };
    lab.spawn("dummy-ups", &bin("dummy-ups"), "etc", &["-a", "dummy"]);
    let upsd_pid = lab.spawn("upsd", &bin("upsd"), "etc", &[]);
    wait_for(Duration::from_secs(15), "upsd", || {
        (exchange(port, b"GET VAR dummy battery.charge\n", 1)
            == "VAR dummy battery.charge \"88\"\n")
            .then_some(())
    });

    let good = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let worst_gap_ms = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for _ in 0..100 {
        let (stop, good, bad, worst) = (
            stop.clone(),
            good.clone(),
            bad.clone(),
            worst_gap_ms.clone(),
        );
        threads.push(thread::spawn(move || {
            let mut last = Instant::now();
            let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            while !stop.load(Ordering::Relaxed) {
                line.clear();
                let ok = writer.write_all(b"GET VAR dummy battery.charge\n").is_ok()
                    && reader.read_line(&mut line).is_ok()
                    && line == "VAR dummy battery.charge \"88\"\n";
                if ok {
                    good.fetch_add(1, Ordering::Relaxed);
                    worst.fetch_max(last.elapsed().as_millis() as u64, Ordering::Relaxed);
                    last = Instant::now();
                } else {
                    bad.fetch_add(1, Ordering::Relaxed);
                }
                thread::sleep(Duration::from_millis(50));
            }
        }));
    }
    let flood = {
        thread::spawn(move || {
            let mut opened = 0;
            let mut held = Vec::new();
            for i in 0..FLOOD_CONNECTIONS {
                if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
                    opened += 1;
                    if i % 10 == 0 {
                        held.push(s);
                    }
                }
            }
            opened
        })
    };
    // Phase one: the flood (with the pollers, slowloris clients and the hostile driver).
    let flood_started = Instant::now();
    let opened = flood.join().unwrap();
    eprintln!(
        "hostile: flood of {FLOOD_CONNECTIONS} took {:?}",
        flood_started.elapsed()
    );
    // Hostile clients.
    let payloads: Vec<Vec<u8>> = vec![
        vec![b'A'; 1 << 20],
        (0u8..=255).cycle().take(256 * 1024).collect(),
        b"GET VAR \"unterminated".repeat(10_000),
        b"SET VAR dummy \"a # b\" 1\n".repeat(10_000),
        vec![0u8; 512 * 1024],
        b"LIST VAR dummy\n".repeat(50_000),
    ];
    for payload in payloads {
        let stop = stop.clone();
        threads.push(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                    s.set_write_timeout(Some(Duration::from_millis(500)))
                        .unwrap();
                    let _ = s.write_all(&payload);
                }
            }
        }));
    }
    for _ in 0..5 {
        let stop = stop.clone();
        threads.push(thread::spawn(move || {
            let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
                return;
            };
            for byte in b"GET VAR dummy ups.status".iter().cycle() {
                if stop.load(Ordering::Relaxed) || s.write_all(&[*byte]).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(100));
            }
        }));
    }
    let started = Instant::now();
    thread::sleep(HOSTILE_PHASE);
    stop.store(true, Ordering::Relaxed);
    let phase_ms = started.elapsed().as_millis() as u64;
    for t in threads {
        t.join().unwrap();
    }
    let _ = TcpStream::connect(lab.path("state/fake-evil").to_str().unwrap());
    drop(driver);
    assert!(lab.running("upsd"), "upsd died:\n{}", lab.log("upsd"));
    let (good, bad) = (good.load(Ordering::Relaxed), bad.load(Ordering::Relaxed));
    // Every poll gets the correct answer, and no poller waits long for one, even though
    // the attackers share the two CPU cores with upsd and the pollers.
    let possible = 100 * phase_ms / 50;
    let worst = worst_gap_ms.load(Ordering::Relaxed);
    assert_eq!(bad, 0, "{bad} polls failed or were wrong");
    eprintln!("hostile: {good} good answers of {possible} possible, worst gap {worst} ms");
    assert!(
        good >= 100 * MIN_ANSWERS_PER_POLLER,
        "only {good} good answers of about {possible}"
    );
    assert!(
        worst < MAX_GAP_MS,
        "a poller waited {worst} ms between answers"
    );
    assert!(
        opened * 10 >= FLOOD_CONNECTIONS * 9,
        "only {opened} of {FLOOD_CONNECTIONS} flood connections were accepted"
    );
    let rss = rss_kib(upsd_pid);
    assert!(rss < RSS_LIMIT_KIB, "upsd uses {rss} KiB after the attack");
    // Still serving normally afterwards, including the flooded UPS.
    assert_eq!(
        exchange(port, b"GET VAR dummy battery.charge\n", 1),
        "VAR dummy battery.charge \"88\"\n"
    );
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET VAR evil ups.status\n").unwrap();
    let mut buf = [0u8; 100];
    let n = s.read(&mut buf).unwrap();
    let reply = String::from_utf8_lossy(&buf[..n]);
    assert!(
        reply.starts_with("VAR evil ups.status \"OL") || reply.starts_with("ERR "),
        "{reply}"
    );
}
