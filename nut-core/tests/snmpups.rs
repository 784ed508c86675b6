//! snmp-ups' device logic against recorded agents (hw-fixtures/snmp): every message
//! goes through the codec, as on the wire.

use nut_core::dummy::DriverState;
use nut_core::snmp::{parse_oid, Agent, Message, PduType, Value, Version};
use nut_core::snmpups::{detect, key, Reads, Reply, SnmpOptions, SnmpUps, Step, Walk};
use std::path::PathBuf;

fn fixture(name: &str) -> Agent {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../hw-fixtures/snmp/{name}.snmprec"));
    Agent::from_snmprec(&String::from_utf8_lossy(&std::fs::read(&path).unwrap())).unwrap()
}

/// GETs each OID in its own request, as NUT does.
fn get(
    agent: &mut Agent,
    opts: &SnmpOptions,
    oids: &[String],
    reads: &mut Reads,
    sent: &mut usize,
) {
    for oid in oids {
        let req = Message::request(
            opts.version,
            &opts.community,
            PduType::Get,
            *sent as i32,
            &[parse_oid(oid).unwrap()],
        );
        *sent += 1;
        let reply = agent.answer(&Message::decode(&req.encode()).unwrap());
        let reply = match reply {
            None => Reply::Timeout,
            Some(r) => {
                let r = Message::decode(&r.encode()).unwrap();
                if r.error_status != 0 {
                    Reply::Error(r.error_status)
                } else {
                    Reply::Value(r.varbinds[0].1.clone())
                }
            }
        };
        reads.insert(key(oid).to_string(), reply);
    }
}

pub fn run(agent: &mut Agent, opts: &SnmpOptions, updates: usize) -> (SnmpUps, DriverState, usize) {
    let mut sent = 0;
    let mut reads = Reads::new();
    let mut notes = Vec::new();
    let detected = loop {
        match detect(opts, &reads, &mut notes) {
            Step::Need(oids) => get(agent, opts, &oids, &mut reads, &mut sent),
            Step::Done(d) => break d.unwrap(),
        }
    };
    let mut ups = SnmpUps::new(opts.clone(), &detected);
    let mut state = DriverState::new();
    for walk in std::iter::once(Walk::Init).chain(std::iter::repeat_n(Walk::Update, updates)) {
        let mut reads = Reads::new();
        while let Step::Need(oids) = ups.walk(&mut state, walk, &reads) {
            get(agent, opts, &oids, &mut reads, &mut sent);
        }
    }
    (ups, state, sent)
}

/// The walks Debian's snmp-ups 2.8.0 recognizes, with what it printed for each
/// (`snmp-ups -d 1` against snmpsim serving the walk, in hw-fixtures/snmp/nut-2.8.0).
const RECOGNIZED: [(&str, &str); 9] = [
    ("apc-7902b", "apc_pdu"),
    ("apc-8641", "apc_pdu"),
    ("apc-8932", "apc_pdu"),
    ("eastpower-istars-swv053", "tripplite"),
    ("eaton-93e-80", "mge"),
    ("eaton-9px-partial", "mge"),
    ("huawei-gse200m", "huawei"),
    ("ingrasys-power-switch", "tripplite"),
    ("phoenixtec-power", "xppc"),
];

/// NUT's `-d` listing, unescaped (dstate escapes backslashes and `#`... as `\`).
fn nut_listing(name: &str) -> Vec<(String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../hw-fixtures/snmp/nut-2.8.0/{name}.txt"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| {
            (
                k.to_string(),
                v.replace("\\\\", "\u{1}")
                    .replace('\\', "")
                    .replace('\u{1}', "\\"),
            )
        })
        .collect()
}

#[test]
fn every_recorded_card_gives_what_nut_printed() {
    let mut failures = Vec::new();
    for (name, mib) in RECOGNIZED {
        let mut agent = fixture(name);
        let (ups, state, _) = run(&mut agent, &SnmpOptions::default(), 1);
        assert_eq!(ups.mib().name, mib, "{name}");
        let want = nut_listing(name);
        for (k, v) in want.iter().filter(|(k, _)| !k.starts_with("driver.")) {
            let got = state.tree().value(k);
            if got != Some(v.as_str()) {
                failures.push(format!("{name}: {k}: NUT {v:?}, ours {got:?}"));
            }
        }
        for var in state.tree().vars() {
            if !want.iter().any(|(k, _)| *k == var.name) {
                failures.push(format!(
                    "{name}: {} = {:?} not in NUT's listing",
                    var.name, var.value
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unrecognized_cards_are_refused_with_nut_s_message() {
    for name in ["emerson-network-power", "vertiv-power"] {
        let mut agent = fixture(name);
        let opts = SnmpOptions::default();
        let mut reads = Reads::new();
        let mut notes = Vec::new();
        let mut sent = 0;
        let outcome = loop {
            match detect(&opts, &reads, &mut notes) {
                Step::Need(oids) => get(&mut agent, &opts, &oids, &mut reads, &mut sent),
                Step::Done(d) => break d,
            }
        };
        assert_eq!(
            outcome,
            Err("No supported device detected".to_string()),
            "{name}"
        );
        assert_eq!(notes.len(), 1, "{name}: {notes:?}");
    }
}

#[test]
fn v2c_exceptions_mean_absent_and_a_silent_agent_is_stale() {
    let mut agent = fixture("huawei-gse200m");
    let opts = SnmpOptions {
        version: Version::V2c,
        ..SnmpOptions::default()
    };
    let (mut ups, mut state, _) = run(&mut agent, &opts, 1);
    let v1 = run(&mut fixture("huawei-gse200m"), &SnmpOptions::default(), 1).1;
    assert_eq!(state.tree(), v1.tree(), "v2c and v1 publish the same");
    // The agent goes silent: the walk says so (the shell marks the data stale).
    let mut reads = Reads::new();
    let walked = loop {
        match ups.walk(&mut state, Walk::Update, &reads) {
            Step::Need(oids) => {
                for o in oids {
                    reads.insert(o, Reply::Timeout);
                }
            }
            Step::Done(w) => break w,
        }
    };
    assert!(!walked.answered);
    let _ = Value::Null;
}

#[test]
fn commands_and_settings_become_sets_of_the_mapped_oid() {
    let mut agent = fixture("eaton-93e-80");
    let (ups, state, _) = run(&mut agent, &SnmpOptions::default(), 1);
    let cmds: Vec<&str> = state.tree().cmds().collect();
    // Advertised when the agent has the OID (test.battery.start's is not in the walk),
    // plus the composite commands initups adds for load.off.delay/load.on.delay.
    for c in [
        "beeper.enable",
        "load.off.delay",
        "load.off",
        "shutdown.return",
    ] {
        assert!(cmds.contains(&c), "{c} missing from {cmds:?}");
    }
    assert!(!cmds.contains(&"test.battery.start"), "{cmds:?}");
    let set = ups.command(&state, "beeper.enable", None).unwrap();
    assert_eq!(
        (set.oid.as_str(), &set.value),
        ("1.3.6.1.2.1.33.1.9.8.0", &Value::Integer(2))
    );
    // load.off.delay takes its argument; without one it is refused, as NUT does.
    let set = ups.command(&state, "load.off.delay", Some("20")).unwrap();
    assert_eq!(set.value, Value::Integer(20));
    assert!(ups.command(&state, "load.off.delay", None).is_err());
    assert!(ups.command(&state, "no.such.command", None).is_err());
    // The SET goes through the agent and changes what the next walk reads.
    let req = Message {
        pdu_type: PduType::Set,
        varbinds: vec![(parse_oid(&set.oid).unwrap(), set.value.clone())],
        ..Message::request(Version::V1, b"public", PduType::Set, 9, &[])
    };
    let reply = agent.answer(&req).unwrap();
    assert_eq!(reply.error_status, 0);
    assert_eq!(
        agent.objects[&parse_oid(&set.oid).unwrap()],
        Value::Integer(20)
    );
}

#[test]
fn an_oid_value_pointing_to_itself_is_not_followed_forever() {
    // Found by the fuzzer: ups.model as an OBJECT IDENTIFIER that names itself.
    let mut agent = fixture("huawei-gse200m");
    let model = parse_oid("1.3.6.1.4.1.2011.6.174.1.2.100.1.2.1").unwrap();
    agent.objects.insert(model.clone(), Value::ObjectId(model));
    let (_, state, _) = run(&mut agent, &SnmpOptions::default(), 1);
    // NUT's fallback when the pointer leads nowhere: the OID's last arc.
    assert_eq!(state.tree().value("ups.model"), Some("1"));
}

#[test]
fn ignorelb_takes_lb_from_the_thresholds_not_the_card() {
    // Eaton 93E (mge): charge 100 % against a low of 20 %.
    let opts = SnmpOptions {
        ignorelb: true,
        ..SnmpOptions::default()
    };
    let mut agent = fixture("eaton-93e-80");
    let (_, state, _) = run(&mut agent, &opts, 1);
    assert_eq!(state.tree().value("ups.status"), Some("OL"));
    // The charge falls below the low mark: LB, whatever the card says.
    let charge = parse_oid("1.3.6.1.4.1.705.1.5.2.0").unwrap();
    agent.objects.insert(charge, Value::Integer(10));
    let (_, state, _) = run(&mut agent, &opts, 1);
    assert_eq!(state.tree().value("ups.status"), Some("OL LB"));
    let (_, state, _) = run(&mut agent, &SnmpOptions::default(), 1);
    assert_eq!(
        state.tree().value("ups.status"),
        Some("OL"),
        "without the flag, the card's word"
    );
}

#[test]
fn numbers_follow_an_oid_value_to_what_it_points_at() {
    // Huawei's battery.charge as an OBJECT IDENTIFIER pointing at an OCTET STRING "87"
    // (NUT's nut_snmp_get_int reads the pointed value with strtol).
    let mut agent = fixture("huawei-gse200m");
    let (ups, _, _) = run(&mut agent, &SnmpOptions::default(), 0);
    let entry = ups
        .mib()
        .info
        .iter()
        .find(|i| i.name == "battery.charge")
        .unwrap();
    let oid = parse_oid(entry.oid.as_deref().unwrap()).unwrap();
    let target = parse_oid("1.3.6.1.4.1.99999.1.0").unwrap();
    agent.objects.insert(oid, Value::ObjectId(target.clone()));
    agent
        .objects
        .insert(target, Value::OctetString(b"87".to_vec()));
    let (_, state, _) = run(&mut agent, &SnmpOptions::default(), 1);
    assert_eq!(state.tree().value("battery.charge"), Some("87"));
}

/// Variables where this snmp-ups deliberately differs from NUT 2.8.0 on the synthetic
/// walks: an outlet template without an OID (the outlet IDs of HPE's ePDU table) takes
/// the outlets' index base here; NUT starts it at -1 (it publishes `outlet.-1.id: -1`
/// and no id for the last outlet).
fn deliberate(mib: &str, var: &str) -> bool {
    mib == "hpe_epdu" && (var == "outlet.-1.id" || var == "outlet.3.id")
}

#[test]
fn every_daisy_chain_mapping_reads_a_single_pdu_as_nut_does() {
    // Synthetic walks (xtask/snmp-mibs/synthetic-walk.py) of the four mappings with
    // daisy-chain templates; NUT's listings are Debian's snmp-ups 2.8.0 on the same.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../hw-fixtures/snmp/synthetic");
    let mut failures = Vec::new();
    for mib in [
        "eaton_epdu",
        "emerson_avocent_pdu",
        "hpe_epdu",
        "raritan-px2",
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{mib}.snmprec"))).unwrap();
        let mut agent = Agent::from_snmprec(&text).unwrap();
        let (ups, state, _) = run(&mut agent, &SnmpOptions::default(), 1);
        assert_eq!(ups.mib().name, mib);
        let want: Vec<(String, String)> =
            std::fs::read_to_string(dir.join(format!("nut-2.8.0/{mib}.txt")))
                .unwrap()
                .lines()
                .filter_map(|l| l.split_once(": "))
                .map(|(k, v)| (k.to_string(), v.replace('\\', "")))
                .collect();
        for (k, v) in want
            .iter()
            .filter(|(k, _)| !k.starts_with("driver.") && !deliberate(mib, k))
        {
            let got = state.tree().value(k);
            if got != Some(v.as_str()) {
                failures.push(format!("{mib}: {k}: NUT {v:?}, ours {got:?}"));
            }
        }
        for var in state.tree().vars() {
            if !deliberate(mib, &var.name) && !want.iter().any(|(k, _)| *k == var.name) {
                failures.push(format!(
                    "{mib}: {} = {:?} not in NUT's listing",
                    var.name, var.value
                ));
            }
        }
        if mib == "eaton_epdu" {
            // One unit: device.count 1, its outlets at the unit's index (0 on Marlin).
            assert_eq!(state.tree().value("device.count"), Some("1"));
            assert_eq!(state.tree().value("outlet.count"), Some("4"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
