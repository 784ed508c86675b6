//! A modelled USB HID UPS for the real usbhid-ups: an APC Back-UPS (the BK650M2-CH of
//! hw-fixtures/hid, whose report descriptor and recorded reports it starts from) whose
//! feature reports carry the model's state: charge, runtime, load, mains, low battery.
//! The site model writes its reports into the world as `get` lines (hw-fixtures/hid
//! format); `SimHidPort` (world.rs) serves them to the driver, and the reports the
//! driver writes come back here as commands.

use nut_core::hid::{parse, Descriptor, Kind};
use nut_core::hidups::{set_value, to_logical, UsbDevice};
use nut_core::transcript::{parse_hid, HidRecording};
use nut_core::usbhid::{path_code, APC_USAGES};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The recorded unit the model is built on.
const RECORDING: &str = include_str!("../../hw-fixtures/hid/apc-back-ups-bk650m2-ch.txt");

/// The template: the recording, its parsed descriptor, the device's identity.
pub struct Template {
    /// The recording (descriptor and reports as read from the real unit).
    pub rec: HidRecording,
    /// Parsed descriptor.
    pub desc: Descriptor,
    /// The unit as found on the bus.
    pub device: UsbDevice,
}

/// The one template (parsed once).
pub fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let rec = parse_hid(RECORDING).expect("the bundled HID recording parses");
        let desc = parse(&rec.descriptor);
        let device = UsbDevice {
            vendor_id: 0x051d,
            product_id: 0x0002,
            vendor: Some("American Power Conversion".to_string()),
            product: Some("Back-UPS BK650M2-CH FW:294803G -292804G".to_string()),
            serial: Some("SIM0001".to_string()),
            bus: "001".to_string(),
            device: "002".to_string(),
        };
        Template { rec, desc, device }
    })
}

/// What the model shows through the unit's reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HidState {
    /// Mains present.
    pub mains: bool,
    /// Battery charge, percent.
    pub charge: f64,
    /// Runtime left, seconds.
    pub runtime_s: f64,
    /// Low battery (the unit's own threshold reached).
    pub low: bool,
    /// Charging.
    pub charging: bool,
    /// Load, percent.
    pub load_pct: f64,
    /// battery.charge.low the unit reports.
    pub charge_low: f64,
}

impl Template {
    /// The unit's feature reports for `state` (the recorded reports with the model's
    /// values written into them), by report ID.
    pub fn reports(&self, state: &HidState) -> BTreeMap<u8, Vec<u8>> {
        let mut reports: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
        for r in &self.rec.reports {
            reports.insert(r[0], r.clone());
        }
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let values = [
            ("UPS.PowerSummary.RemainingCapacity", state.charge.floor()),
            ("UPS.Battery.RemainingCapacity", state.charge.floor()),
            ("UPS.PowerSummary.RunTimeToEmpty", state.runtime_s.floor()),
            ("UPS.Battery.RunTimeToEmpty", state.runtime_s.floor()),
            ("UPS.PowerSummary.RemainingCapacityLimit", state.charge_low),
            ("UPS.PowerSummary.ACPresent", flag(state.mains)),
            (
                "UPS.PowerSummary.PresentStatus.ACPresent",
                flag(state.mains),
            ),
            (
                "UPS.PowerSummary.PresentStatus.Charging",
                flag(state.charging),
            ),
            (
                "UPS.PowerSummary.PresentStatus.Discharging",
                flag(!state.mains),
            ),
            (
                "UPS.PowerSummary.BelowRemainingCapacityLimit",
                flag(state.low),
            ),
            ("UPS.PowerSummary.PresentStatus.ShutdownImminent", 0.0),
            ("UPS.PowerConverter.PercentLoad", state.load_pct.round()),
            ("UPS.Input.Voltage", if state.mains { 230.0 } else { 0.0 }),
            ("UPS.Battery.Voltage", 12.0 + 1.5 * state.charge / 100.0),
        ];
        for (path, value) in values {
            let Some(code) = path_code(path, APC_USAGES) else {
                continue;
            };
            for item in self
                .desc
                .items
                .iter()
                .filter(|i| i.kind == Kind::Feature && i.path == code)
            {
                let len = 1 + (item.offset as usize + item.size as usize).div_ceil(8);
                let report = reports.entry(item.report_id).or_insert_with(|| {
                    let mut r = vec![0u8; len];
                    r[0] = item.report_id;
                    r
                });
                if report.len() < len {
                    report.resize(len, 0);
                }
                set_value(report, item, to_logical(item, value));
            }
        }
        reports
    }

    /// The reports as the world file's text (`get` lines).
    pub fn text(&self, state: &HidState) -> Vec<u8> {
        let mut out = String::new();
        for report in self.reports(state).values() {
            out.push_str("get");
            for b in report {
                out.push_str(&format!(" {b:02x}"));
            }
            out.push('\n');
        }
        out.into_bytes()
    }

    /// A feature report the driver wrote, as a shutdown-related command: the delay in
    /// seconds before the load goes off (`Some(None)`: a cancel, NUT's -1), for
    /// DelayBeforeShutdown and APC's DelayBeforeReboot (the unit turns the load back on
    /// once mains is present); `None` for anything else.
    pub fn command(&self, report: &[u8]) -> Option<Option<u64>> {
        let id = *report.first()?;
        for path in [
            "UPS.PowerSummary.DelayBeforeShutdown",
            "UPS.APCGeneralCollection.APCDelayBeforeReboot",
        ] {
            let code = path_code(path, APC_USAGES)?;
            let Some(item) = self
                .desc
                .items
                .iter()
                .find(|i| i.kind == Kind::Feature && i.path == code && i.report_id == id)
            else {
                continue;
            };
            let raw = nut_core::hid::logical(report, item);
            let all_ones = (1i64 << u32::from(item.size).min(62)) - 1;
            return Some(if raw < 0 || raw == all_ones {
                None
            } else {
                Some(raw as u64)
            });
        }
        None
    }
}

/// How long after `-k` the modelled unit cuts its load, in seconds: what usbhid-ups's
/// own shutdown logic writes to it with ups.conf's `offdelay`/`ondelay` (the recorded
/// Back-UPS has no startup delay, so NUT's shutdown.reboot and its fixed 10 s run).
pub fn kill_delay_s(offdelay_s: f64, ondelay_s: f64) -> Option<u64> {
    use nut_core::dummy::DriverState;
    use nut_core::hidups::{claim, HidOptions, HidUps, ReadError, Walk};
    let t = template();
    let options = HidOptions {
        offdelay: Some(format!("{offdelay_s:.0}")),
        ondelay: Some(format!("{ondelay_s:.0}")),
        ..HidOptions::default()
    };
    let mut driver = HidUps::new(
        claim(&t.device, false)?,
        &t.rec.descriptor,
        t.device.clone(),
        options,
    );
    let mut state = DriverState::new();
    let reads: Vec<_> = driver
        .reports(Walk::Init)
        .into_iter()
        .map(|id| {
            (
                id,
                t.rec
                    .report(id)
                    .map(<[u8]>::to_vec)
                    .ok_or(ReadError::Failed),
            )
        })
        .collect();
    driver.walk(&mut state, Walk::Init, &reads, 0);
    let writes = driver.shutdown_candidates(&state).into_iter().next()?;
    writes.iter().find_map(|w| t.command(&w.report).flatten())
}

/// Parses the world file's `get` lines into reports by ID.
pub fn parse_reports(text: &[u8]) -> BTreeMap<u8, Vec<u8>> {
    let mut out = BTreeMap::new();
    for line in String::from_utf8_lossy(text).lines() {
        let Some(rest) = line.strip_prefix("get ") else {
            continue;
        };
        let bytes: Vec<u8> = rest
            .split_whitespace()
            .filter_map(|h| u8::from_str_radix(h, 16).ok())
            .collect();
        if let Some(&id) = bytes.first() {
            out.insert(id, bytes);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_state_reads_back_through_the_drivers_walk() {
        use nut_core::dummy::DriverState;
        use nut_core::hidups::{claim, HidOptions, HidUps, Walk};
        let t = template();
        let state = HidState {
            mains: false,
            charge: 42.7,
            runtime_s: 300.0,
            low: true,
            charging: false,
            load_pct: 33.0,
            charge_low: 20.0,
        };
        let reports = t.reports(&state);
        let sub = claim(&t.device, false).unwrap();
        let mut driver = HidUps::new(
            sub,
            &t.rec.descriptor,
            t.device.clone(),
            HidOptions::default(),
        );
        let mut ds = DriverState::new();
        for walk in [Walk::Init, Walk::Full] {
            let reads: Vec<_> = driver
                .reports(walk)
                .into_iter()
                .map(|id| {
                    (
                        id,
                        reports
                            .get(&id)
                            .cloned()
                            .ok_or(nut_core::hidups::ReadError::Failed),
                    )
                })
                .collect();
            assert!(driver.walk(&mut ds, walk, &reads, 100).ok);
        }
        let v = |n: &str| ds.tree().value(n).map(str::to_string);
        assert_eq!(v("battery.charge").as_deref(), Some("42"));
        assert_eq!(v("battery.runtime").as_deref(), Some("300"));
        assert_eq!(v("battery.charge.low").as_deref(), Some("20"));
        assert_eq!(v("ups.load").as_deref(), Some("33"));
        assert_eq!(v("ups.status").as_deref(), Some("OB DISCHRG LB"));
        // -k on this unit: shutdown.reboot, APCDelayBeforeReboot = 10, the exact
        // bytes NUT writes (report 0x40, one byte).
        let writes = driver.shutdown(&ds).unwrap();
        assert_eq!(writes[0].report, vec![0x40, 0x0a]);
        assert_eq!(t.command(&writes[0].report), Some(Some(10)));
        assert_eq!(kill_delay_s(20.0, 30.0), Some(10));
        let stop = driver.command(&ds, "shutdown.stop", None).unwrap();
        assert_eq!(t.command(&stop[0].report), Some(None));
        assert_eq!(t.command(&[0x18, 2]), None, "the beeper is no shutdown");
    }
}
