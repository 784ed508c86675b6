//! Prometheus metrics: upsd's `--metrics` endpoint scraped by a real Prometheus server
//! (Debian's package), queried through its HTTP API with every expression of
//! nut_exporter's published Grafana dashboard; and `nut-exporter` reading NUT's own
//! upsd renders what our upsd serves natively for the same device.

use crate::interop::peer;
use crate::lab::{bin, exchange, free_port, is_root, wait_for, Lab};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

const DEV: &str = "battery.charge: 87\nbattery.runtime: 1620\nbattery.voltage: 13.1\n\
device.type: ups\ninput.voltage: 229.5\nups.mfr: ACME\nups.model: Backup 1500\n\
ups.beeper.status: enabled\nups.load: 23\nups.status: OL CHRG\n";

/// The expressions of DRuggeri/nut_exporter's dashboard/dashboard.json (its panels'
/// `expr` fields and its `ups` template query), with `$ups` filled in.
const DASHBOARD: [&str; 8] = [
    "network_ups_tools_ups_status{ups=\"$ups\"} == 1",
    "network_ups_tools_device_info{ups=\"$ups\"}",
    "network_ups_tools_battery_charge{ups=\"$ups\"}",
    "network_ups_tools_battery_runtime{ups=\"$ups\"}",
    "network_ups_tools_ups_load{ups=\"$ups\"}",
    "network_ups_tools_input_voltage{ups=\"$ups\"}",
    "network_ups_tools_battery_voltage{ups=\"$ups\"}",
    "network_ups_tools_device_info",
];

/// A plain HTTP GET on 127.0.0.1; returns (status line, body).
fn http_get(port: u16, target: &str) -> Option<(String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_string(), body.to_string()))
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Our dummy-ups and upsd with `--metrics`; returns (upsd port, metrics port).
fn start_ours(lab: &mut Lab) -> (u16, u16) {
    let (port, metrics) = (free_port(), free_port());
    lab.write(
        "etc/ups.conf",
        "[dummy]\n\tdriver = dummy-ups\n\tport = test.dev\n",
    );
    lab.write("etc/test.dev", DEV);
    lab.write("etc/upsd.conf", &format!("LISTEN 127.0.0.1 {port}\n"));
    lab.write("etc/upsd.users", "[admin]\n\tpassword = p\n");
    lab.spawn("dummy-ups", &bin("dummy-ups"), "etc", &["-a", "dummy"]);
    let addr = format!("127.0.0.1:{metrics}");
    lab.spawn("upsd", &bin("upsd"), "etc", &["--metrics", &addr]);
    wait_for(Duration::from_secs(20), "upsd to serve the UPS", || {
        let reply = exchange(port, b"GET VAR dummy ups.status\n", 1);
        (reply == "VAR dummy ups.status \"OL CHRG\"\n").then_some(())
    });
    (port, metrics)
}

#[test]
fn prometheus_scrapes_upsd_and_answers_every_dashboard_query() {
    let Some(prometheus) = peer("/usr/bin/prometheus") else {
        return;
    };
    let mut lab = Lab::new("metrics-prom");
    let (_, metrics) = start_ours(&mut lab);
    let (status, body) = http_get(metrics, "/metrics").expect("metrics answer");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        body.contains("network_ups_tools_battery_charge{ups=\"dummy\"} 87\n"),
        "{body}"
    );
    assert_eq!(
        http_get(metrics, "/nope").unwrap().0,
        "HTTP/1.1 404 Not Found"
    );

    let web = free_port();
    lab.write(
        "prom/prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: nut\n    static_configs:\n      - targets: ['127.0.0.1:{metrics}']\n"
        ),
    );
    let config = lab.path("prom/prometheus.yml");
    let data = lab.path("prom/data");
    lab.spawn(
        "prometheus",
        prometheus,
        "prom",
        &[
            &format!("--config.file={}", config.display()),
            &format!("--storage.tsdb.path={}", data.display()),
            &format!("--web.listen-address=127.0.0.1:{web}"),
        ],
    );
    for expr in DASHBOARD {
        let expr = expr.replace("$ups", "dummy");
        let target = format!("/api/v1/query?query={}", urlencode(&expr));
        let body = wait_for(
            Duration::from_secs(90),
            &format!("Prometheus to answer {expr}"),
            || {
                let (_, body) = http_get(web, &target)?;
                body.contains("\"result\":[{").then_some(body)
            },
        );
        assert!(body.contains("\"ups\":\"dummy\""), "{expr}: {body}");
        if expr.contains("device_info") {
            assert!(
                body.contains("\"mfr\":\"ACME\"") && body.contains("\"model\":\"Backup 1500\""),
                "{body}"
            );
        }
        if expr.contains("ups_status") {
            assert!(
                body.contains("\"flag\":\"OL\"") && body.contains("\"flag\":\"CHRG\""),
                "{body}"
            );
            assert!(
                !body.contains("\"flag\":\"OB\""),
                "== 1 keeps only flags present: {body}"
            );
        }
    }
}

#[test]
fn nut_exporter_reading_nuts_upsd_matches_upsds_own_metrics() {
    let (Some(nut_upsd), Some(nut_dummy)) = (peer("/lib/nut/upsd"), peer("/lib/nut/dummy-ups"))
    else {
        return;
    };
    let mut ours = Lab::new("metrics-ours");
    let (_, metrics) = start_ours(&mut ours);

    let mut theirs = Lab::new("metrics-nut");
    let port = free_port();
    theirs.write(
        "etc/ups.conf",
        "[dummy]\n\tdriver = dummy-ups\n\tport = test.dev\n",
    );
    theirs.write("etc/test.dev", DEV);
    theirs.write("etc/upsd.conf", &format!("LISTEN 127.0.0.1 {port}\n"));
    theirs.write("etc/upsd.users", "[admin]\n\tpassword = p\n");
    let extra: &[&str] = if is_root() { &["-u", "root"] } else { &[] };
    let mut args = vec!["-a", "dummy", "-F"];
    args.extend_from_slice(extra);
    theirs.spawn("dummy-ups", nut_dummy, "etc", &args);
    let mut args = vec!["-F"];
    args.extend_from_slice(extra);
    theirs.spawn("upsd", nut_upsd, "etc", &args);
    wait_for(
        Duration::from_secs(20),
        "NUT's upsd to serve the UPS",
        || {
            let reply = exchange(port, b"GET VAR dummy ups.status\n", 1);
            (reply == "VAR dummy ups.status \"OL CHRG\"\n").then_some(())
        },
    );
    let web = free_port();
    theirs.spawn(
        "nut-exporter",
        Path::new(env!("CARGO_BIN_EXE_nut-exporter")),
        "etc",
        &[
            "--nut.serverport",
            &port.to_string(),
            "--web.listen-address",
            &format!("127.0.0.1:{web}"),
        ],
    );
    let exported = wait_for(Duration::from_secs(20), "nut-exporter to answer", || {
        let (status, body) = http_get(web, "/metrics")?;
        (status == "HTTP/1.1 200 OK").then_some(body)
    });
    let (_, native) = http_get(metrics, "/metrics").unwrap();
    // Series both can know: the device's variables (driver.* name the implementation).
    let device_series = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| {
                !["_driver_", "_ups_stale", "_upsd_clients"]
                    .iter()
                    .any(|skip| l.contains(skip))
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(device_series(&exported), device_series(&native));
    assert!(exported.contains("network_ups_tools_ups_load{ups=\"dummy\"} 23\n"));
    // nut_exporter's scrape path, one UPS, its default variable list.
    let (_, one) = http_get(web, "/ups_metrics?ups=dummy").unwrap();
    assert!(
        one.contains("network_ups_tools_battery_charge{ups=\"dummy\"} 87\n"),
        "{one}"
    );
    assert!(
        !one.contains("battery_runtime"),
        "not in nut_exporter's default list: {one}"
    );
    // upsd gone: the scrape fails loudly instead of reporting a UPS without data.
    theirs.stop("upsd");
    let (status, _) = http_get(web, "/metrics").unwrap();
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
}

#[test]
fn a_scrape_storm_never_stops_upsd_serving_clients() {
    let mut lab = Lab::new("metrics-storm");
    let (port, metrics) = start_ours(&mut lab);
    // More idle scrape connections than the endpoint serves at once.
    let idle: Vec<TcpStream> = (0..200)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", metrics)).ok())
        .collect();
    assert!(idle.len() > nut_bins::http::MAX_HTTP_CONNECTIONS);
    let reply = exchange(port, b"GET VAR dummy battery.charge\n", 1);
    assert_eq!(reply, "VAR dummy battery.charge \"87\"\n");
    drop(idle);
    wait_for(
        Duration::from_secs(20),
        "the metrics endpoint to recover",
        || {
            let (status, _) = http_get(metrics, "/metrics")?;
            (status == "HTTP/1.1 200 OK").then_some(())
        },
    );
}
