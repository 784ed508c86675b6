//! nut-notify behind NOTIFYCMD: one event reaches a webhook, an ntfy topic and a real
//! Mosquitto broker (Debian's package: retained state, the event, Home Assistant
//! discovery); an unreachable sink keeps events queued, bounded, in order.

use crate::interop::peer;
use crate::lab::{free_port, wait_for, Lab};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

fn nut_notify() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_nut-notify"))
}

/// An HTTP server on 127.0.0.1:`port` that answers 200 and hands every request's text
/// (head and body) to the returned channel.
fn receiver(port: u16) -> mpsc::Receiver<String> {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut text = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                text.extend_from_slice(&buf[..n]);
                let s = String::from_utf8_lossy(&text);
                if let Some((head, body)) = s.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            if tx
                .send(String::from_utf8_lossy(&text).into_owned())
                .is_err()
            {
                return;
            }
        }
    });
    rx
}

fn notify(lab: &Lab, kind: &str, ups: &str, message: &str) -> (i32, String) {
    let out = Command::new(nut_notify())
        .arg(message)
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"))
        .env("UPSNAME", ups)
        .env("NOTIFYTYPE", kind)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn one_event_reaches_a_webhook_ntfy_and_mosquitto_with_home_assistant_discovery() {
    let (Some(mosquitto), Some(sub)) =
        (peer("/usr/sbin/mosquitto"), peer("/usr/bin/mosquitto_sub"))
    else {
        return;
    };
    let mut lab = Lab::new("notify");
    let (http, broker) = (free_port(), free_port());
    let requests = receiver(http);
    lab.write(
        "mq/mosquitto.conf",
        &format!("listener {broker} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
    );
    let conf = lab.path("mq/mosquitto.conf");
    lab.spawn(
        "mosquitto",
        mosquitto,
        "mq",
        &["-c", &conf.display().to_string()],
    );
    let port = broker.to_string();
    // A live subscriber for the (not retained) event topic.
    let events_log = lab.path("events.txt");
    let events = std::fs::File::create(&events_log).unwrap();
    wait_for(Duration::from_secs(10), "mosquitto to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", broker)).ok()
    });
    let mut live = Command::new(sub)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "nut/+/event",
            "-v",
            "-C",
            "1",
            "-W",
            "30",
        ])
        .stdout(events)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    lab.write(
        "etc/nut-notify.conf",
        &format!(
            "WEBHOOK http://127.0.0.1:{http}/hook\nNTFY http://127.0.0.1:{http}/ups-alerts\n\
             MQTT 127.0.0.1 {broker}\nDEADLINE 5\n"
        ),
    );
    let (code, stderr) = notify(
        &lab,
        "ONBATT",
        "ups1@nas:3493",
        "UPS ups1@nas:3493 on battery",
    );
    assert_eq!(code, 0, "{stderr}");

    let mut got: Vec<String> = (0..2)
        .map(|_| {
            requests
                .recv_timeout(Duration::from_secs(10))
                .expect("two HTTP requests")
        })
        .collect();
    got.sort();
    let hook = got
        .iter()
        .find(|r| r.starts_with("POST /hook "))
        .expect("webhook request");
    assert!(hook.contains("Content-Type: application/json"), "{hook}");
    assert!(hook.contains("\"ups\":\"ups1@nas:3493\",\"type\":\"ONBATT\",\"message\":\"UPS ups1@nas:3493 on battery\""), "{hook}");
    let ntfy = got
        .iter()
        .find(|r| r.starts_with("POST /ups-alerts "))
        .expect("ntfy request");
    assert!(
        ntfy.contains("Title: ONBATT ups1@nas:3493\r\n") && ntfy.contains("Priority: high\r\n"),
        "{ntfy}"
    );
    assert!(ntfy.ends_with("UPS ups1@nas:3493 on battery"), "{ntfy}");

    let status = live.wait().unwrap();
    assert!(status.success(), "the live subscriber saw no event");
    let event = std::fs::read_to_string(&events_log).unwrap();
    assert!(
        event.starts_with("nut/ups1_nas/event {\"ups\":\"ups1@nas:3493\",\"type\":\"ONBATT\""),
        "{event}"
    );
    // A subscriber that comes later still gets the state and the discovery configs.
    let retained = Command::new(sub)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "nut/#",
            "-t",
            "homeassistant/#",
            "-v",
            "-C",
            "3",
            "-W",
            "10",
        ])
        .output()
        .unwrap();
    let retained = String::from_utf8_lossy(&retained.stdout);
    assert!(
        retained.contains("nut/ups1_nas/state on_battery\n"),
        "{retained}"
    );
    assert!(
        retained
            .contains("homeassistant/sensor/nut_ups1_nas/state/config {\"name\":\"Power state\""),
        "{retained}"
    );
    assert!(
        retained.contains("\"state_topic\":\"nut/ups1_nas/state\""),
        "{retained}"
    );
    assert!(
        retained.contains("homeassistant/sensor/nut_ups1_nas/event/config"),
        "{retained}"
    );
}

#[test]
fn an_unreachable_sink_keeps_events_queued_bounded_and_in_order() {
    let lab = Lab::new("notify-queue");
    let http = free_port();
    lab.write(
        "etc/nut-notify.conf",
        &format!("WEBHOOK http://127.0.0.1:{http}/hook\nQUEUE_MAX 2\nDEADLINE 1\n"),
    );
    for (i, kind) in ["ONBATT", "LOWBATT", "FSD"].iter().enumerate() {
        let (code, stderr) = notify(&lab, kind, "ups1@nas", &format!("event {i}"));
        assert_eq!(code, 1, "nothing listens yet: {stderr}");
        assert!(stderr.contains("webhook-0: not delivered yet"), "{stderr}");
        if i == 2 {
            assert!(
                stderr.contains(
                    "queue webhook-0 full (2 events): dropped the oldest, ONBATT ups1@nas"
                ),
                "{stderr}"
            );
        }
    }
    let requests = receiver(http);
    let out = Command::new(nut_notify())
        .arg("--flush")
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = requests.recv_timeout(Duration::from_secs(10)).unwrap();
    let second = requests.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(first.contains("\"type\":\"LOWBATT\""), "{first}");
    assert!(second.contains("\"type\":\"FSD\""), "{second}");
    // A broken config names file and line.
    lab.write("etc/nut-notify.conf", "WEBHOOK ftp://x\n");
    let (code, stderr) = notify(&lab, "ONBATT", "u", "m");
    assert_eq!(code, 1);
    assert!(
        stderr.contains("nut-notify.conf:1:1: error: WEBHOOK: expects one http:// or https:// URL"),
        "{stderr}"
    );
}
