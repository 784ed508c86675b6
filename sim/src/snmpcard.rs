//! A modelled SNMP management card for the real snmp-ups: an APC Smart-UPS behind an
//! AP9630-style card (PowerNet-MIB, which NUT's `apcc` mapping reads), whose objects
//! carry the model's state: mains, charge, runtime, load, low battery, output. The site
//! writes the card's objects into the world as `.snmprec` text (hw-fixtures/snmp
//! format); `SimSnmpPort` (world.rs) answers the driver's requests from it with
//! nut-core's `Agent`, and the SETs the driver sends come back here as commands.

use nut_core::snmp::{format_oid, Message, PduType, Value};

/// The card's sysObjectID (an AP9630; no NUT mapping names it, so snmp-ups finds the
/// apcc mapping by its model OID, as with a real card).
pub const SYSOID: &str = "1.3.6.1.4.1.318.1.3.27";
/// upsBasicControlConserveBattery.0 (NUT's apcc `shutdown.return`: 2).
pub const CONSERVE_BATTERY: &str = ".1.3.6.1.4.1.318.1.1.1.6.1.1.0";
/// upsAdvControlUpsOff.0 (apcc `load.off`: 2, `shutdown.stayoff`: 3).
pub const UPS_OFF: &str = ".1.3.6.1.4.1.318.1.1.1.6.2.1.0";
/// upsAdvConfigShutoffDelay.0 (apcc `ups.delay.shutdown`, TimeTicks).
pub const SHUTOFF_DELAY: &str = ".1.3.6.1.4.1.318.1.1.1.5.2.10.0";
/// upsAdvConfigReturnDelay.0 (apcc `ups.delay.start`, TimeTicks).
pub const RETURN_DELAY: &str = ".1.3.6.1.4.1.318.1.1.1.5.2.9.0";

/// What the model shows through the card.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CardState {
    /// Mains present.
    pub mains: bool,
    /// The load is powered.
    pub output_on: bool,
    /// Battery charge, percent.
    pub charge: f64,
    /// Runtime left, seconds.
    pub runtime_s: f64,
    /// Low battery.
    pub low: bool,
    /// Load, percent.
    pub load_pct: f64,
    /// The card's shutoff delay, seconds.
    pub shutoff_delay_s: u64,
    /// The card's return delay, seconds.
    pub return_delay_s: u64,
}

/// The card's objects as `.snmprec` text (OID|tag|value).
pub fn text(state: &CardState) -> Vec<u8> {
    // upsBasicOutputStatus: 2 onLine, 3 onBattery, 11 sleepingUntilPowerReturn.
    let output_status = match (state.output_on, state.mains) {
        (false, _) => 11,
        (true, true) => 2,
        (true, false) => 3,
    };
    let objects: Vec<(&str, u8, String)> = vec![
        (
            "1.3.6.1.2.1.1.1.0",
            4,
            "APC Web/SNMP Management Card (simulated)".into(),
        ),
        ("1.3.6.1.2.1.1.2.0", 6, SYSOID.into()),
        ("1.3.6.1.2.1.1.4.0", 4, "sim".into()),
        ("1.3.6.1.2.1.1.6.0", 4, "rack 1".into()),
        ("1.3.6.1.4.1.318.1.1.1.1.1.1.0", 4, "Smart-UPS 1500".into()),
        ("1.3.6.1.4.1.318.1.1.1.1.2.1.0", 4, "UPS 09.3".into()),
        ("1.3.6.1.4.1.318.1.1.1.1.2.3.0", 4, "SIM0001".into()),
        (
            "1.3.6.1.4.1.318.1.1.1.2.1.1.0",
            2,
            if state.low { "3" } else { "2" }.into(),
        ),
        (
            "1.3.6.1.4.1.318.1.1.1.2.2.1.0",
            66,
            format!("{:.0}", state.charge.floor()),
        ),
        (
            "1.3.6.1.4.1.318.1.1.1.2.2.3.0",
            67,
            format!("{:.0}", (state.runtime_s.floor() * 100.0).min(4e9)),
        ),
        (
            "1.3.6.1.4.1.318.1.1.1.3.2.1.0",
            66,
            if state.mains { "230" } else { "0" }.into(),
        ),
        (
            "1.3.6.1.4.1.318.1.1.1.4.1.1.0",
            2,
            output_status.to_string(),
        ),
        (
            "1.3.6.1.4.1.318.1.1.1.4.2.3.0",
            66,
            format!("{:.0}", state.load_pct.round()),
        ),
        (
            "1.3.6.1.4.1.318.1.1.1.5.2.9.0",
            67,
            (state.return_delay_s * 100).to_string(),
        ),
        (
            "1.3.6.1.4.1.318.1.1.1.5.2.10.0",
            67,
            (state.shutoff_delay_s * 100).to_string(),
        ),
        ("1.3.6.1.4.1.318.1.1.1.6.1.1.0", 2, "1".into()),
        ("1.3.6.1.4.1.318.1.1.1.6.2.1.0", 2, "1".into()),
    ];
    let mut out = String::new();
    for (oid, tag, value) in objects {
        out.push_str(&format!("{oid}|{tag}|{value}\n"));
    }
    out.into_bytes()
}

/// What a SET the card took asks of the UPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardCommand {
    /// Cut the load after the shutoff delay; back after mains returns (`returns`).
    Off {
        /// The load comes back when mains does.
        returns: bool,
        /// At once (load.off), not after the shutoff delay.
        now: bool,
    },
    /// New shutoff delay, seconds.
    ShutoffDelay(u64),
    /// New return delay, seconds.
    ReturnDelay(u64),
}

/// The commands in a SET request the driver sent.
pub fn commands(request: &[u8]) -> Vec<CardCommand> {
    let Ok(msg) = Message::decode(request) else {
        return Vec::new();
    };
    if msg.pdu_type != PduType::Set {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (oid, value) in &msg.varbinds {
        let oid = format_oid(oid);
        let n = value.as_i64();
        let command = match (oid.as_str(), value, n) {
            (CONSERVE_BATTERY, _, Some(2)) => CardCommand::Off {
                returns: true,
                now: false,
            },
            (UPS_OFF, _, Some(2)) => CardCommand::Off {
                returns: false,
                now: true,
            },
            (UPS_OFF, _, Some(3)) => CardCommand::Off {
                returns: false,
                now: false,
            },
            (SHUTOFF_DELAY, Value::TimeTicks(t), _) => {
                CardCommand::ShutoffDelay(u64::from(*t) / 100)
            }
            (RETURN_DELAY, Value::TimeTicks(t), _) => CardCommand::ReturnDelay(u64::from(*t) / 100),
            _ => continue,
        };
        out.push(command);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use nut_core::dummy::DriverState;
    use nut_core::snmp::{parse_oid, Agent, Version};
    use nut_core::snmpups::{detect, key, Reads, Reply, SnmpOptions, SnmpUps, Step, Walk};

    fn ask(agent: &mut Agent, oids: Vec<String>, reads: &mut Reads) {
        for oid in oids {
            let req = Message::request(
                Version::V1,
                b"public",
                PduType::Get,
                1,
                &[parse_oid(&oid).unwrap()],
            );
            let reply = agent.answer(&req).unwrap();
            let r = if reply.error_status != 0 {
                Reply::Error(reply.error_status)
            } else {
                Reply::Value(reply.varbinds[0].1.clone())
            };
            reads.insert(key(&oid).to_string(), r);
        }
    }

    #[test]
    fn the_model_state_reads_back_through_snmp_ups_and_its_sets_are_commands() {
        let state = CardState {
            mains: false,
            output_on: true,
            charge: 42.7,
            runtime_s: 300.0,
            low: true,
            load_pct: 33.0,
            shutoff_delay_s: 20,
            return_delay_s: 30,
        };
        let mut agent = Agent::from_snmprec(&String::from_utf8(text(&state)).unwrap()).unwrap();
        let opts = SnmpOptions::default();
        let (mut reads, mut notes) = (Reads::new(), Vec::new());
        let detected = loop {
            match detect(&opts, &reads, &mut notes) {
                Step::Need(oids) => ask(&mut agent, oids, &mut reads),
                Step::Done(d) => break d.unwrap(),
            }
        };
        let mut ups = SnmpUps::new(opts, &detected);
        assert_eq!(ups.mib().name, "apcc");
        let mut ds = DriverState::new();
        for walk in [Walk::Init, Walk::Update] {
            let mut reads = Reads::new();
            while let Step::Need(oids) = ups.walk(&mut ds, walk, &reads) {
                ask(&mut agent, oids, &mut reads);
            }
        }
        let v = |n: &str| ds.tree().value(n).map(str::to_string);
        assert_eq!(v("ups.status").as_deref(), Some("OB LB"));
        assert_eq!(v("battery.charge").as_deref(), Some("42"));
        assert_eq!(v("battery.runtime").as_deref(), Some("300"));
        assert_eq!(v("ups.load").as_deref(), Some("33"));
        assert_eq!(v("ups.delay.shutdown").as_deref(), Some("20"));
        // -k: NUT's first way on this mapping is shutdown.return.
        let set = ups.shutdown_candidates(&ds).into_iter().next().unwrap();
        let mut req = Message::request(Version::V1, b"public", PduType::Set, 2, &[]);
        req.varbinds = vec![(parse_oid(&set.oid).unwrap(), set.value.clone())];
        assert_eq!(
            commands(&req.encode()),
            vec![CardCommand::Off {
                returns: true,
                now: false
            }]
        );
        let delay = ups.set_var(&ds, "ups.delay.shutdown", "45").unwrap();
        req.varbinds = vec![(parse_oid(&delay.oid).unwrap(), delay.value)];
        assert_eq!(commands(&req.encode()), vec![CardCommand::ShutoffDelay(45)]);
    }
}
