//! SNMP decoding and snmp-ups' device logic over any bytes: a datagram decodes or is an
//! error (never a panic), what decodes re-encodes to the same message, and walks over
//! agents answering with arbitrary values (any type at any OID, errors, silence) never
//! panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::dummy::DriverState;
use nut_core::snmp::Message;
use nut_core::snmpmib::mibs;
use nut_core::snmpups::{detect, Reads, Reply, SnmpOptions, SnmpUps, Step, Walk};

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Message::decode(data) {
        assert_eq!(Message::decode(&msg.encode()).as_ref(), Ok(&msg));
    }
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let all = mibs();
    let opts = SnmpOptions {
        mibs: all[pick as usize % all.len()].name.clone(),
        ..SnmpOptions::default()
    };
    let chunks: Vec<&[u8]> = rest.chunks(7).collect();
    let mut n = 0usize;
    let mut reply = || -> Reply {
        n += 1;
        let Some(c) = chunks.get(n % chunks.len().max(1)) else {
            return Reply::Timeout;
        };
        match c.first() {
            Some(0xff) => Reply::Timeout,
            Some(0xfe) => Reply::Error(2),
            _ => {
                // A response carrying this chunk as the value's TLV.
                let mut bytes = vec![
                    0x30, 0x00, 0x02, 0x01, 0x00, 0x04, 0x00, 0xa2, 0x00, 0x02, 0x01, 0x01, 0x02,
                    0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x00, 0x30, 0x00, 0x06, 0x01, 0x2b,
                ];
                bytes.extend_from_slice(c);
                let vb = 3 + c.len();
                bytes[21] = vb as u8;
                bytes[19] = (vb + 2) as u8;
                bytes[8] = (vb + 4 + 9) as u8;
                bytes[1] = (bytes.len() - 2) as u8;
                match Message::decode(&bytes) {
                    Ok(m) => Reply::Value(m.varbinds[0].1.clone()),
                    Err(_) => Reply::Error(5),
                }
            }
        }
    };
    let mut reads = Reads::new();
    let mut notes = Vec::new();
    let detected = loop {
        match detect(&opts, &reads, &mut notes) {
            Step::Need(oids) => {
                for o in oids {
                    reads.insert(o, reply());
                }
            }
            Step::Done(d) => break d,
        }
    };
    let Ok(detected) = detected else { return };
    let mut ups = SnmpUps::new(opts, &detected);
    let mut state = DriverState::new();
    for walk in [Walk::Init, Walk::Update, Walk::Update] {
        let mut reads = Reads::new();
        for _ in 0..16 {
            match ups.walk(&mut state, walk, &reads) {
                Step::Need(oids) => {
                    for o in oids {
                        reads.insert(o, reply());
                    }
                }
                Step::Done(_) => break,
            }
        }
    }
    for cmd in [
        "load.off",
        "shutdown.return",
        "outlet.1.load.off",
        "beeper.enable",
    ] {
        let _ = ups.command(&state, cmd, Some("1"));
    }
    let _ = ups.set_var(&state, "ups.delay.shutdown", "20");
    let _ = ups.shutdown_candidates(&state);
});
