//! STARTTLS: a clear start-up error for a bad CERTFILE, and real TLS clients (Python's
//! ssl module, with certificate verification, and Debian's upsc) against our upsd.

use crate::lab::{bin, exchange, free_port, run, wait_for, Lab};
use std::process::Command;
use std::time::Duration;

/// A test CA (`ca.pem`) and a server certificate it signed for 127.0.0.1/localhost;
/// `etc/upsd.pem` holds the server certificate and its key (NUT's CERTFILE layout).
fn make_cert(lab: &Lab) -> bool {
    lab.write(
        "ext.cnf",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    );
    let openssl = |args: &[&str]| {
        Command::new("openssl")
            .current_dir(&lab.root)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let ok = openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=nut-rs test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]) && openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "req.csr",
    ]) && openssl(&[
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
    if ok {
        let mut pem = std::fs::read(lab.path("cert.pem")).unwrap();
        pem.extend(std::fs::read(lab.path("key.pem")).unwrap());
        lab.write("etc/upsd.pem", &String::from_utf8(pem).unwrap());
    }
    ok
}

fn configure(lab: &Lab, port: u16, certfile: &str) {
    lab.write(
        "etc/ups.conf",
        "[dummy]\n\tdriver = dummy-ups\n\tport = test.dev\n",
    );
    lab.write("etc/test.dev", "ups.status: OL\nbattery.charge: 97\n");
    lab.write(
        "etc/upsd.conf",
        &format!("LISTEN 127.0.0.1 {port}\nCERTFILE {certfile}\n"),
    );
    lab.write(
        "etc/upsd.users",
        "[admin]\n\tpassword = adminpass\n\tactions = SET\n",
    );
}

/// A lab whose upsd serves UPS `dummy` with STARTTLS (CERTFILE from [`make_cert`]),
/// with `users` as upsd.users when given; `None` outside CI when openssl is missing.
fn tls_server(name: &str, users: Option<&str>) -> Option<(Lab, u16)> {
    let mut lab = Lab::new(name);
    if !make_cert(&lab) {
        assert!(std::env::var("CI").is_err(), "openssl is needed in CI");
        eprintln!("skipping: openssl not available");
        return None;
    }
    let port = free_port();
    configure(&lab, port, &lab.path("etc/upsd.pem").display().to_string());
    if let Some(users) = users {
        lab.write("etc/upsd.users", users);
    }
    lab.spawn("dummy-ups", &bin("dummy-ups"), "etc", &["-a", "dummy"]);
    lab.spawn("upsd", &bin("upsd"), "etc", &[]);
    wait_for(Duration::from_secs(15), "upsd", || {
        exchange(port, b"GET VAR dummy ups.status\n", 1)
            .starts_with("VAR")
            .then_some(())
    });
    Some((lab, port))
}

#[test]
fn a_bad_certfile_stops_upsd_with_a_clear_message() {
    let lab = Lab::new("tls-bad");
    lab.write(
        "etc/bad.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
    );
    let bad = lab.path("etc/bad.pem").display().to_string();
    configure(&lab, free_port(), &bad);
    let (code, _, stderr) = run(
        &bin("upsd"),
        &[],
        &[
            ("NUT_CONFPATH", &lab.path("etc")),
            ("NUT_STATEPATH", &lab.root),
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("CERTFILE") && stderr.contains("bad.pem"),
        "{stderr}"
    );
    lab.write("etc/bad.pem", "");
    let (code, _, stderr) = run(
        &bin("upsd"),
        &[],
        &[
            ("NUT_CONFPATH", &lab.path("etc")),
            ("NUT_STATEPATH", &lab.root),
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no CERTIFICATE block found"), "{stderr}");
}

#[test]
fn starttls_serves_verified_clients_and_debian_upsc() {
    let Some((lab, port)) = tls_server("tls", None) else {
        return;
    };
    let script = format!(
        r#"
import socket, ssl
s = socket.create_connection(("127.0.0.1", {port}))
s.sendall(b"STARTTLS\n")
print(s.recv(100).decode(), end="")
ctx = ssl.create_default_context(cafile="{cafile}")
t = ctx.wrap_socket(s, server_hostname="localhost")
t.sendall(b"GET VAR dummy battery.charge\nSTARTTLS\nLOGOUT\n")
data = b""
while data.count(b"\n") < 3:
    chunk = t.recv(1000)
    if not chunk:
        break
    data += chunk
print(data.decode(), end="")
"#,
        cafile = lab.path("ca.pem").display()
    );
    lab.write("client.py", &script);
    let (code, stdout, stderr) = run(
        std::path::Path::new("python3"),
        &[lab.path("client.py").to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "OK STARTTLS\nVAR dummy battery.charge \"97\"\nERR ALREADY-SSL-MODE\nOK Goodbye\n"
    );
    // Plain clients are still served.
    assert_eq!(
        exchange(port, b"GET VAR dummy ups.status\n", 1),
        "VAR dummy ups.status \"OL\"\n"
    );
    if let Some(upsc) = crate::interop::peer("/usr/bin/upsc") {
        let (code, stdout, stderr) = run(
            upsc,
            &[&format!("dummy@127.0.0.1:{port}"), "battery.charge"],
            &[],
        );
        assert_eq!((code, stdout.as_str()), (0, "97\n"), "{stderr}");
    }
}

#[test]
fn upsmon_uses_starttls_and_verifies_the_server_when_asked() {
    let users = "[mon]\n\tpassword = mp\n\tupsmon secondary\n";
    let Some((mut lab, port)) = tls_server("tls-upsmon", Some(users)) else {
        return;
    };
    // A CA that did not sign upsd's certificate.
    let other = Lab::new("tls-other-ca");
    assert!(make_cert(&other));
    let root = lab.root.clone();
    let conf = |certpath: &std::path::Path| {
        format!(
            "MONITOR dummy@127.0.0.1:{port} 1 mon mp secondary\nSHUTDOWNCMD \"true\"\n\
             POWERDOWNFLAG {}/killpower\nPOLLFREQ 1\nFORCESSL 1\nCERTVERIFY 1\nCERTPATH {}\n",
            root.display(),
            certpath.display()
        )
    };
    lab.write("wrongca/upsmon.conf", &conf(&other.path("ca.pem")));
    lab.spawn("upsmon-wrong", &bin("upsmon"), "wrongca", &[]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        exchange(port, b"GET NUMLOGINS dummy\n", 1),
        "NUMLOGINS dummy 0\n"
    );
    lab.stop("upsmon-wrong");
    lab.write("goodca/upsmon.conf", &conf(&lab.path("ca.pem")));
    lab.spawn("upsmon-good", &bin("upsmon"), "goodca", &[]);
    wait_for(Duration::from_secs(10), "a verified TLS login", || {
        (exchange(port, b"GET NUMLOGINS dummy\n", 1) == "NUMLOGINS dummy 1\n").then_some(())
    });
    assert!(lab.running("upsmon-good"));
}

#[test]
fn our_clients_try_starttls_and_verify_when_asked() {
    let Some((lab, port)) = tls_server("tls-clients", None) else {
        return;
    };
    let other = Lab::new("tls-clients-other-ca");
    assert!(make_cert(&other));
    let target = format!("dummy@127.0.0.1:{port}");
    let upsc =
        |envs: &[(&str, &std::path::Path)]| run(&bin("upsc"), &[&target, "battery.charge"], envs);
    let one = std::path::Path::new("1");
    let ca = lab.path("ca.pem");
    // Opportunistic (NUT's default), required, and verified against the right CA.
    for envs in [
        vec![],
        vec![("NUT_FORCESSL", one)],
        vec![("NUT_CERTVERIFY", one), ("NUT_CERTPATH", ca.as_path())],
    ] {
        let (code, stdout, stderr) = upsc(&envs);
        assert_eq!((code, stdout.as_str()), (0, "97\n"), "{envs:?}: {stderr}");
    }
    // A CA that did not sign upsd's certificate: refused, with the reason.
    let wrong = other.path("ca.pem");
    let (code, stdout, stderr) = upsc(&[("NUT_CERTVERIFY", one), ("NUT_CERTPATH", &wrong)]);
    assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
    assert!(
        stderr.starts_with("Error: SSL error: ") && stderr.contains("certificate"),
        "{stderr}"
    );
    // The administrative clients share the connection code.
    let (code, stdout, stderr) = run(
        &bin("upscmd"),
        &["-l", &target],
        &[("NUT_CERTVERIFY", one), ("NUT_CERTPATH", ca.as_path())],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("Instant commands supported on UPS [dummy]:"),
        "{stdout}"
    );

    // A upsd without CERTFILE: plain text by default, refused when TLS is required.
    let mut plain = Lab::new("tls-clients-plain");
    let plain_port = crate::lab::start_server(&mut plain, "ups.status: OL\n");
    let target = format!("dummy@127.0.0.1:{plain_port}");
    let (code, stdout, stderr) = run(&bin("upsc"), &[&target, "ups.status"], &[]);
    assert_eq!((code, stdout.as_str()), (0, "OL\n"), "{stderr}");
    let (code, _, stderr) = run(
        &bin("upsc"),
        &[&target, "ups.status"],
        &[("NUT_FORCESSL", one)],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("SSL error: upsd answered STARTTLS with [ERR FEATURE-NOT-CONFIGURED]"),
        "{stderr}"
    );
}
