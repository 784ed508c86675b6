//! snmp-ups against real SNMP agents: snmpsim (PyPI) serves the recorded walks of
//! hw-fixtures/snmp over UDP on 127.0.0.1, and Debian's snmp-ups 2.8.0 and ours must
//! publish the same variables for every card Debian's recognizes (a differential test,
//! like the DDL one). The replay option and the agent going silent are tested too.

use crate::interop::{peer, present};
use crate::lab::{bin, free_port, is_root, output_within, wait_for, Lab};
use nut_core::snmp::{parse_oid, Message, PduType, Version};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SNMPSIM: &str = "/opt/nut-rs-peers/bin/snmpsim-command-responder";

/// The walks Debian's snmp-ups 2.8.0 recognizes (the others it refuses, as ours).
const RECOGNIZED: [&str; 9] = [
    "apc-7902b",
    "apc-8641",
    "apc-8932",
    "eastpower-istars-swv053",
    "eaton-93e-80",
    "eaton-9px-partial",
    "huawei-gse200m",
    "ingrasys-power-switch",
    "phoenixtec-power",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../hw-fixtures/snmp")
}

/// snmpsim serving every walk (community = file name) on a free UDP port; killed on drop.
struct Snmpsim {
    child: Child,
    port: u16,
}

impl Drop for Snmpsim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn answers(port: u16, community: &str) -> bool {
    let Ok(sock) = UdpSocket::bind("127.0.0.1:0") else {
        return false;
    };
    let _ = sock.set_read_timeout(Some(Duration::from_millis(500)));
    let req = Message::request(
        Version::V1,
        community.as_bytes(),
        PduType::Get,
        7,
        &[parse_oid("1.3.6.1.2.1.1.2.0").unwrap()],
    );
    if sock.send_to(&req.encode(), ("127.0.0.1", port)).is_err() {
        return false;
    }
    let mut buf = [0u8; 2048];
    sock.recv(&mut buf).is_ok()
}

fn snmpsim(lab: &Lab) -> Option<Snmpsim> {
    present(SNMPSIM, Path::new(SNMPSIM).exists()).then_some(())?;
    // snmpsim drops root privileges to nobody: its data and cache must be theirs to read.
    let data = lab.path("snmpsim/data");
    let cache = lab.path("snmpsim/cache");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&cache).unwrap();
    for dir in [fixtures(), fixtures().join("synthetic")] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "snmprec") {
                std::fs::copy(&path, data.join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    use std::os::unix::fs::PermissionsExt;
    for dir in [
        lab.path(""),
        lab.path("snmpsim"),
        data.clone(),
        cache.clone(),
    ] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let port = free_port();
    let mut cmd = Command::new(SNMPSIM);
    cmd.arg(format!("--data-dir={}", data.display()))
        .arg(format!("--cache-dir={}", cache.display()))
        .arg(format!("--agent-udpv4-endpoint=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(lab.path("snmpsim.log")).unwrap());
    if is_root() {
        cmd.args(["--process-user", "nobody", "--process-group", "nogroup"]);
    }
    let sim = Snmpsim {
        child: cmd.spawn().expect("start snmpsim"),
        port,
    };
    // Indexing the walks takes about 10 s on first start.
    wait_for(Duration::from_secs(90), "snmpsim to answer", || {
        answers(port, "huawei-gse200m").then_some(())
    });
    Some(sim)
}

fn dump(
    lab: &Lab,
    program: &Path,
    port: u16,
    community: &str,
    extra: &[&str],
) -> (bool, String, String) {
    lab.write(
        "etc/ups.conf",
        &format!(
            "[test]\n\tdriver = snmp-ups\n\tport = 127.0.0.1:{port}\n\tcommunity = {community}\n"
        ),
    );
    let mut cmd = Command::new(program);
    cmd.args(["-a", "test", "-d", "1"])
        .args(extra)
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"))
        .env("NUT_ALTPIDPATH", lab.path("state"));
    let out = output_within(cmd, Duration::from_secs(240));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `name: value` lines; NUT's dump escapes some characters with a backslash.
fn listing(text: &str, nut: bool) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| {
            let v = if nut {
                let mut out = String::new();
                let mut chars = v.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => out.extend(chars.next()),
                        c => out.push(c),
                    }
                }
                out
            } else {
                v.to_string()
            };
            (k.to_string(), v)
        })
        .collect()
}

#[test]
fn debian_snmp_ups_and_ours_publish_the_same_for_every_recorded_card() {
    let Some(nut) = peer("/lib/nut/snmp-ups") else {
        return;
    };
    let lab = Lab::new("snmp-differential");
    let Some(sim) = snmpsim(&lab) else { return };
    let nut_extra: &[&str] = if is_root() { &["-u", "root"] } else { &[] };
    let mut failures = Vec::new();
    // The recorded cards, then synthetic single PDUs of the four daisy-chain mappings
    // (hw-fixtures/snmp/synthetic; no recorded walk of one was found).
    let synthetic = [
        "eaton_epdu",
        "emerson_avocent_pdu",
        "hpe_epdu",
        "raritan-px2",
    ];
    for name in RECOGNIZED.into_iter().chain(synthetic) {
        let (ok, ours, err) = dump(&lab, &bin("snmp-ups"), sim.port, name, &[]);
        assert!(ok, "{name}: our snmp-ups failed:\n{err}");
        let (ok, theirs, err) = dump(&lab, nut, sim.port, name, nut_extra);
        assert!(ok, "{name}: Debian's snmp-ups failed:\n{err}");
        let (ours, theirs) = (listing(&ours, false), listing(&theirs, true));
        // Deliberate: an OID-less outlet template takes the outlets' index base (NUT
        // 2.8.0 starts it at -1: outlet.-1.id, and no id for the last outlet).
        let fixed = |l: Vec<(String, String)>| -> Vec<(String, String)> {
            l.into_iter()
                .filter(|(k, _)| name != "hpe_epdu" || (k != "outlet.-1.id" && k != "outlet.3.id"))
                .collect()
        };
        let (ours, theirs) = (fixed(ours), fixed(theirs));
        assert!(theirs.len() > 20, "{name}: NUT printed only {theirs:?}");
        if ours != theirs {
            let show = |l: &[(String, String)], other: &[(String, String)]| -> Vec<String> {
                l.iter()
                    .filter(|x| !other.contains(x))
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect()
            };
            failures.push(format!(
                "{name}:\n  only ours: {:?}\n  only NUT's: {:?}",
                show(&ours, &theirs),
                show(&theirs, &ours)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn v2c_and_an_unknown_card_behave_as_nut_with_fixes() {
    let lab = Lab::new("snmp-v2c");
    let Some(sim) = snmpsim(&lab) else { return };
    // v2c over the wire gives what v1 gives.
    lab.write(
        "etc/ups.conf",
        &format!("[test]\n\tdriver = snmp-ups\n\tport = 127.0.0.1:{}\n\tcommunity = eaton-93e-80\n\tsnmp_version = v2c\n", sim.port),
    );
    let mut cmd = Command::new(bin("snmp-ups"));
    cmd.args(["-a", "test", "-d", "1"])
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"));
    let out = output_within(cmd, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v2c = String::from_utf8_lossy(&out.stdout).into_owned();
    let (ok, v1, _) = dump(&lab, &bin("snmp-ups"), sim.port, "eaton-93e-80", &[]);
    assert!(ok);
    let strip = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("driver.parameter.snmp_version"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&v2c), strip(&v1));
    // A wrong community: a v1/v2c agent stays silent; no answer to the first request
    // ends detection at once.
    let (ok, _, err) = dump(&lab, &bin("snmp-ups"), sim.port, "not-a-community", &[]);
    assert!(
        !ok && err.contains("Timeout: no response from the agent"),
        "{err}"
    );
    // A card no mapping matches: NUT's messages, and a failure.
    let (ok, _, err) = dump(&lab, &bin("snmp-ups"), sim.port, "vertiv-power", &[]);
    assert!(!ok);
    assert!(
        err.contains("No matching MIB found for sysOID '.1.3.6.1.4.1.476.1.42'!"),
        "{err}"
    );
    assert!(err.contains("No supported device detected"), "{err}");
}

#[test]
fn a_silent_agent_fails_fast_and_the_replay_serves_a_walk() {
    let lab = Lab::new("snmp-silent");
    // Nothing listens there: no answer to the sysObjectID request ends detection
    // instead of probing 30 mappings for minutes.
    let port = free_port();
    lab.write(
        "etc/ups.conf",
        &format!("[test]\n\tdriver = snmp-ups\n\tport = 127.0.0.1:{port}\n\tsnmp_retries = 1\n"),
    );
    let mut cmd = Command::new(bin("snmp-ups"));
    cmd.args(["-a", "test", "-d", "1"])
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"));
    let out = output_within(cmd, Duration::from_secs(60));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("no response from the agent"), "{err}");
    // replay = <walk>: the recorded card without the network.
    lab.write(
        "etc/ups.conf",
        &format!(
            "[test]\n\tdriver = snmp-ups\n\tport = card.example\n\treplay = {}\n",
            fixtures().join("huawei-gse200m.snmprec").display()
        ),
    );
    let mut cmd = Command::new(bin("snmp-ups"));
    cmd.args(["-a", "test", "-d", "1"])
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"));
    let out = output_within(cmd, Duration::from_secs(60));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("ups.status: OL\n") && text.contains("driver.version.data: huawei MIB 0.4\n"),
        "{text}"
    );
    // A bad option value is NUT's message.
    lab.write(
        "etc/ups.conf",
        "[test]\n\tdriver = snmp-ups\n\tport = h\n\tsnmp_version = v4\n",
    );
    let mut cmd = Command::new(bin("snmp-ups"));
    cmd.args(["-a", "test", "-d", "1"])
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"));
    let out = output_within(cmd, Duration::from_secs(30));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Bad SNMP version: v4"));
}

const SNMPD: &str = "/usr/sbin/snmpd";

/// net-snmp's agent (Debian's snmpd): SNMPv3 users in front of snmpsim's walk of
/// `community` (snmpd proxies every OID to it), on a free port; killed on drop.
fn snmpd_v3(lab: &Lab, sim_port: u16, community: &str) -> Option<Snmpsim> {
    present(SNMPD, Path::new(SNMPD).exists()).then_some(())?;
    let conf = lab.path("snmpd/snmpd.conf");
    lab.write(
        "snmpd/snmpd.conf",
        &format!(
            "createUser md5des MD5 auctoritas DES privatus\n\
             createUser sha512aes256 SHA-512 auctoritas AES-256 privatus\n\
             createUser sha256aes192 SHA-256 auctoritas AES-192 privatus\n\
             createUser shaaes SHA auctoritas AES privatus\n\
             rouser md5des priv\nrouser sha512aes256 priv\nrouser sha256aes192 priv\nrouser shaaes priv\n\
             proxy -v 2c -c {community} 127.0.0.1:{sim_port} .1.3\n"
        ),
    );
    let port = free_port();
    // Its own system group would answer before the proxy: off.
    let child = Command::new(SNMPD)
        .args(["-f", "-Lo", "-C", "-c"])
        .arg(&conf)
        .args(["-p"])
        .arg(lab.path("snmpd/pid"))
        .args(["-I", "-system_mib,-sysORTable"])
        .arg(format!("udp:127.0.0.1:{port}"))
        .env("SNMP_PERSISTENT_DIR", lab.path("snmpd/persist"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(lab.path("snmpd.log")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("start snmpd");
    let agent = Snmpsim { child, port };
    // v3-only users: a v1 request goes unanswered; wait for the port to be bound.
    wait_for(Duration::from_secs(30), "snmpd to start", || {
        std::fs::read_to_string(lab.path("snmpd.log"))
            .ok()
            .filter(|l| l.contains("NET-SNMP version"))
    });
    Some(agent)
}

fn v3_conf(
    port: u16,
    user: &str,
    level: &str,
    auth: &str,
    auth_password: &str,
    privacy: &str,
) -> String {
    format!(
        "[test]\n\tdriver = snmp-ups\n\tport = 127.0.0.1:{port}\n\tsnmp_version = v3\n\
         \tsecLevel = {level}\n\tsecName = {user}\n\tauthPassword = {auth_password}\n\
         \tprivPassword = privatus\n\tauthProtocol = {auth}\n\tprivProtocol = {privacy}\n"
    )
}

fn run_dump(lab: &Lab, program: &Path, extra: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(program);
    cmd.args(["-a", "test", "-d", "1"])
        .args(extra)
        .env("NUT_CONFPATH", lab.path("etc"))
        .env("NUT_STATEPATH", lab.path("state"))
        .env("NUT_ALTPIDPATH", lab.path("state"));
    let out = output_within(cmd, Duration::from_secs(180));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn snmpv3_with_authentication_and_privacy_against_net_snmp_as_debian_s() {
    let Some(nut) = peer("/lib/nut/snmp-ups") else {
        return;
    };
    let lab = Lab::new("snmp-v3");
    let Some(sim) = snmpsim(&lab) else { return };
    let Some(agent) = snmpd_v3(&lab, sim.port, "huawei-gse200m") else {
        return;
    };
    let nut_extra: &[&str] = if is_root() { &["-u", "root"] } else { &[] };
    // authPriv with NUT's defaults (MD5, DES): Debian's snmp-ups and ours, same listing.
    lab.write(
        "etc/ups.conf",
        &v3_conf(agent.port, "md5des", "authPriv", "MD5", "auctoritas", "DES"),
    );
    let (ok, ours, err) = run_dump(&lab, &bin("snmp-ups"), &[]);
    assert!(ok, "ours over v3 failed:\n{err}");
    let (ok, theirs, err) = run_dump(&lab, nut, nut_extra);
    assert!(ok, "Debian's over v3 failed:\n{err}");
    assert_eq!(listing(&ours, false), listing(&theirs, true));
    assert!(
        ours.contains("ups.status: OL\n") && ours.contains("driver.version.data: huawei MIB 0.4\n"),
        "{ours}"
    );
    // The other protocols NUT offers (SHA-2 and AES with Blumenthal's key extension).
    for (user, auth, privacy) in [
        ("sha512aes256", "SHA512", "AES256"),
        ("sha256aes192", "SHA256", "AES192"),
        ("shaaes", "SHA", "AES"),
    ] {
        lab.write(
            "etc/ups.conf",
            &v3_conf(agent.port, user, "authPriv", auth, "auctoritas", privacy),
        );
        let (ok, text, err) = run_dump(&lab, &bin("snmp-ups"), &[]);
        assert!(
            ok && text.contains("ups.model: UPS5000-E\n"),
            "{user}: {err}"
        );
    }
    // Wrong credentials: the agent's report, said once, and a prompt failure.
    lab.write(
        "etc/ups.conf",
        &v3_conf(
            agent.port,
            "shaaes",
            "authPriv",
            "SHA",
            "not-the-password",
            "AES",
        ),
    );
    let (ok, _, err) = run_dump(&lab, &bin("snmp-ups"), &[]);
    assert!(!ok);
    assert_eq!(
        err.matches("SNMPv3: the agent reports wrong digest")
            .count(),
        2,
        "{err}"
    );
    lab.write(
        "etc/ups.conf",
        &v3_conf(agent.port, "nobody", "authPriv", "SHA", "auctoritas", "AES"),
    );
    let (ok, _, err) = run_dump(&lab, &bin("snmp-ups"), &[]);
    assert!(!ok && err.contains("unknown user name"), "{err}");
    // NUT's checks of the v3 options, with NUT's messages.
    lab.write("etc/ups.conf", "[test]\n\tdriver = snmp-ups\n\tport = h\n\tsnmp_version = v3\n\tsecLevel = authPriv\n\tsecName = u\n\tauthPassword = x\n");
    let (ok, _, err) = run_dump(&lab, &bin("snmp-ups"), &[]);
    assert!(
        !ok && err
            .contains("authPassword and privPassword are required for SNMPv3 in authPriv mode"),
        "{err}"
    );
}

/// A recorded card that can go silent without making the test wait (each request
/// unanswered at once; the link's retries run through immediately).
struct Switchable {
    agent: std::sync::Arc<std::sync::Mutex<(nut_core::snmp::Agent, bool, Vec<String>)>>,
    pending: Vec<Vec<u8>>,
}

impl nut_bins::snmp::SnmpPort for Switchable {
    async fn send(&mut self, request: Vec<u8>) -> std::io::Result<()> {
        let mut g = self.agent.lock().unwrap();
        if g.1 {
            return Ok(());
        }
        let msg = Message::decode(&request).unwrap();
        if msg.pdu_type == PduType::Set {
            g.2.push(nut_core::snmp::format_oid(&msg.varbinds[0].0));
        }
        if let Some(reply) = g.0.answer(&msg) {
            self.pending.push(reply.encode());
        }
        Ok(())
    }
    async fn recv(&mut self, _timeout: Duration) -> Option<Vec<u8>> {
        (!self.pending.is_empty()).then(|| self.pending.remove(0))
    }
}

#[test]
fn a_silent_card_goes_stale_once_and_comes_back_and_commands_reach_it() {
    use nut_bins::snmp::{SnmpSession, SnmpWiring};
    use nut_core::sock::DriverLine;
    let text = std::fs::read_to_string(fixtures().join("eaton-93e-80.snmprec")).unwrap();
    let agent = nut_core::snmp::Agent::from_snmprec(&text).unwrap();
    let shared = std::sync::Arc::new(std::sync::Mutex::new((agent, false, Vec::new())));
    let port = Switchable {
        agent: shared.clone(),
        pending: Vec::new(),
    };
    let wiring = SnmpWiring {
        ups: "test".into(),
        host: "card".into(),
        pollinterval_s: 2,
        options: nut_core::snmpups::SnmpOptions::default(),
        replay: None,
        initial: Vec::new(),
        overrides: Vec::new(),
        statepath: String::new(),
        salt_seed: 0,
    };
    let sys = nut_bins::real::RealSys::new("snmp-ups", false);
    let rt = nut_bins::real::runtime().unwrap();
    rt.block_on(async {
        let mut session = SnmpSession::start(&sys, &wiring, port).await.unwrap();
        let (lines, notes) = session.update().await;
        assert!(lines.contains(&DriverLine::DataOk), "{lines:?}");
        assert!(notes.iter().all(|n| !matches!(n, nut_core::qx::Note::Restored)), "nothing to restore yet");
        shared.lock().unwrap().1 = true;
        let (lines, notes) = session.update().await;
        assert!(lines.contains(&DriverLine::DataStale), "{lines:?}");
        assert!(notes.contains(&nut_core::qx::Note::Lost));
        // No answer is not an SNMP error (NUT neither counts nor logs it): each entry
        // says its data went stale, once.
        let limiter = notes
            .iter()
            .filter(|n| matches!(n, nut_core::qx::Note::Log(_, t) if t.contains("excessive poll failures")))
            .count();
        assert_eq!(limiter, 0, "{notes:?}");
        assert!(notes.iter().any(|n| matches!(n, nut_core::qx::Note::Log(_, t) if t == "snmp_ups_walk: data stale for ups.status")), "{notes:?}");
        // Still silent: no second DATASTALE.
        let (lines, _) = session.update().await;
        assert!(!lines.contains(&DriverLine::DataStale));
        shared.lock().unwrap().1 = false;
        let (lines, notes) = session.update().await;
        assert!(lines.contains(&DriverLine::DataOk), "{lines:?}");
        assert!(notes.contains(&nut_core::qx::Note::Restored));
        // INSTCMD through the driver socket's path: the SET reaches the card.
        let code = session.instcmd(&sys, "test", "beeper.enable", None).await;
        assert_eq!(code, nut_core::dummy::tracking::SUCCESS);
        assert_eq!(shared.lock().unwrap().2, vec![".1.3.6.1.2.1.33.1.9.8.0".to_string()]);
        // A silent card fails the command (NUT's STAT_INSTCMD_FAILED).
        shared.lock().unwrap().1 = true;
        let code = session.instcmd(&sys, "test", "beeper.enable", None).await;
        assert_eq!(code, nut_core::dummy::tracking::FAILED);
    });
}

#[test]
fn mibs_list_prints_nut_s_table() {
    let Some(nut) = peer("/lib/nut/snmp-ups") else {
        return;
    };
    let lab = Lab::new("snmp-list");
    lab.write(
        "etc/ups.conf",
        "[test]\n\tdriver = snmp-ups\n\tport = card\n\tmibs = --list\n",
    );
    let run = |program: &Path, extra: &[&str]| {
        let mut cmd = Command::new(program);
        cmd.args(["-a", "test"])
            .args(extra)
            .env("NUT_CONFPATH", lab.path("etc"));
        output_within(cmd, Duration::from_secs(30))
    };
    let ours = run(&bin("snmp-ups"), &[]);
    let nut_extra: &[&str] = if is_root() { &["-u", "root"] } else { &[] };
    let theirs = run(nut, nut_extra);
    assert!(ours.status.success() && theirs.status.success());
    let theirs: String = String::from_utf8_lossy(&theirs.stdout)
        .lines()
        .filter(|l| !l.starts_with("Network UPS Tools"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(String::from_utf8_lossy(&ours.stdout), theirs);
    assert!(theirs.contains("Overall this driver has loaded 30 MIB-to-NUT mapping tables"));
}
