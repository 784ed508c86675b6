//! USB HID Power Device Class: report descriptor parsing and report values, as NUT's
//! usbhid-ups reads them (`drivers/hidparser.c`, `drivers/libhid.c`, NUT 2.8.0), so a
//! descriptor yields the same items (usage path, report ID, bit offset, size) and a
//! report the same values as NUT's driver. Sans-IO: bytes in, items and numbers out.
//!
//! Not yet: the NUT variable mapping (usbhid-ups subdrivers) and a USB transport; this
//! is the layer they stand on, checked against NUT's own explore-mode output for real
//! devices (hw-fixtures/hid).

/// Most usages a local state keeps (NUT's `USAGE_TAB_SIZE`).
pub const USAGE_TAB_SIZE: usize = 50;
/// Deepest collection path (NUT's `PATH_SIZE`).
pub const PATH_SIZE: usize = 10;
/// Most items kept from one descriptor (NUT's `MAX_REPORT`).
pub const MAX_ITEMS: usize = 500;
/// Longest descriptor accepted, in bytes (NUT's `REPORT_DSC_SIZE`).
pub const MAX_DESCRIPTOR_BYTES: usize = 6144;

/// Main item kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Input (interrupt reports, also readable as a report).
    Input,
    /// Output.
    Output,
    /// Feature (read with GET_REPORT).
    Feature,
}

impl Kind {
    /// NUT's name (`HIDDataType`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Input => "Input",
            Kind::Output => "Output",
            Kind::Feature => "Feature",
        }
    }
}

/// One report field (NUT's `HIDData_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Usage path: collection usages (with `0x00ffNNNN` index nodes) and the field's usage.
    pub path: Vec<u32>,
    /// Main item kind.
    pub kind: Kind,
    /// Report ID.
    pub report_id: u8,
    /// Bit offset in the report, after the report ID byte.
    pub offset: u32,
    /// Bits.
    pub size: u8,
    /// Main item attribute bits (constant, variable, ...).
    pub attribute: u8,
    /// Logical minimum.
    pub log_min: i64,
    /// Logical maximum.
    pub log_max: i64,
    /// Physical minimum, if given.
    pub phy_min: Option<i64>,
    /// Physical maximum, if given.
    pub phy_max: Option<i64>,
    /// Unit code.
    pub unit: u32,
    /// Unit exponent.
    pub unit_exp: i8,
}

/// A descriptor's items (continuation fields without a usage are not kept, as NUT).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Descriptor {
    /// Items in descriptor order.
    pub items: Vec<Item>,
}

fn sign_extend(value: u32, bytes: usize) -> i64 {
    match bytes {
        1 => i64::from(value as u8 as i8),
        2 => i64::from(value as u16 as i16),
        4 => i64::from(value as i32),
        _ => i64::from(value),
    }
}

/// Parses a report descriptor as NUT's `Parse_ReportDesc`. Never panics; a truncated
/// item ends the parse.
pub fn parse(desc: &[u8]) -> Descriptor {
    let desc = &desc[..desc.len().min(MAX_DESCRIPTOR_BYTES)];
    let mut items = Vec::new();
    let mut pos = 0;
    let mut upage: u16 = 0;
    let mut usages: Vec<u32> = Vec::new();
    let mut report_count: u32 = 0;
    let mut path: Vec<u32> = Vec::new();
    let mut offsets: Vec<((u8, u8), u32)> = Vec::new();
    let mut report_id: u8 = 0;
    let mut size: u8 = 0;
    let mut unit_exp: i8 = 0;
    let mut unit: u32 = 0;
    let mut log_min: i64 = 0;
    let mut log_max: i64 = 0;
    let mut phy_min: Option<i64> = None;
    let mut phy_max: Option<i64> = None;
    let first_usage = |usages: &[u32]| usages.first().copied().unwrap_or(0);
    let shift_usage = |usages: &mut Vec<u32>| {
        if !usages.is_empty() {
            usages.remove(0);
        }
    };
    while pos < desc.len() && items.len() < MAX_ITEMS {
        let item = desc[pos];
        pos += 1;
        let n = [0usize, 1, 2, 4][usize::from(item & 0x03)];
        if pos + n > desc.len() {
            break;
        }
        let mut value: u32 = 0;
        for i in 0..n {
            value |= u32::from(desc[pos + i]) << (8 * i);
        }
        pos += n;
        match item & 0xfc {
            0x04 => upage = value as u16,
            0x08 if usages.len() < USAGE_TAB_SIZE => {
                usages.push(if n > 2 {
                    value
                } else {
                    (u32::from(upage) << 16) | (value & 0xffff)
                });
            }
            0xa0 => {
                if path.len() < PATH_SIZE {
                    path.push(first_usage(&usages));
                    if value >= 0x80 && path.len() < PATH_SIZE {
                        path.push(0x00ff_0000 | (value & 0x7f));
                    }
                }
                usages.clear();
            }
            0xc0 => {
                // hidparser.c: the node removed is tested, so an indexed collection
                // leaves with its index, and a collection inside one keeps the index.
                if path.pop().is_some_and(|n| n & 0xffff_0000 == 0x00ff_0000) {
                    path.pop();
                }
                usages.clear();
            }
            main @ (0x80 | 0x90 | 0xb0) => {
                let kind = match main {
                    0x80 => Kind::Input,
                    0x90 => Kind::Output,
                    _ => Kind::Feature,
                };
                for _ in 0..report_count {
                    let usage = first_usage(&usages);
                    shift_usage(&mut usages);
                    let key = (report_id, main);
                    let slot = match offsets.iter().position(|(k, _)| *k == key) {
                        Some(i) => i,
                        None => {
                            offsets.push((key, 0));
                            offsets.len() - 1
                        }
                    };
                    let offset = offsets[slot].1;
                    offsets[slot].1 = offset.saturating_add(u32::from(size));
                    if usage != 0 && items.len() < MAX_ITEMS {
                        let mut item_path = path.clone();
                        item_path.push(usage);
                        items.push(Item {
                            path: item_path,
                            kind,
                            report_id,
                            offset,
                            size,
                            attribute: value as u8,
                            log_min,
                            log_max,
                            phy_min,
                            phy_max,
                            unit,
                            unit_exp,
                        });
                    }
                }
                usages.clear();
            }
            0x84 => report_id = value as u8,
            0x74 => size = value as u8,
            0x94 => report_count = value & 0xff,
            0x54 => {
                let mut e = value as u8 as i8;
                if e > 7 {
                    e = (e as u8 | 0xf0) as i8;
                }
                unit_exp = e;
            }
            0x64 => unit = value,
            0x14 => log_min = sign_extend(value, n),
            0x24 => {
                log_max = sign_extend(value, n);
                // NUT's hack for firmware that encodes LogMax too short (sign bit set).
                if log_max < log_min {
                    log_max = i64::from(value);
                }
            }
            0x34 => phy_min = Some(sign_extend(value, n)),
            0x44 => phy_max = Some(sign_extend(value, n)),
            0xfc => pos = pos.saturating_add(usize::from(value as u8)),
            _ => {}
        }
    }
    Descriptor { items }
}

/// The logical value of `item` in `report` (whose first byte is the report ID), as
/// NUT's `GetValue`: sign per the logical range, clamped to it.
pub fn logical(report: &[u8], item: &Item) -> i64 {
    let mut value: i64 = 0;
    // The first byte of a report is its ID.
    let first = item.offset as usize + 8;
    for (bit, weight) in (first..).zip(0..u32::from(item.size).min(63)) {
        if report
            .get(bit >> 3)
            .is_some_and(|b| b & (1 << (bit & 7)) != 0)
        {
            value += 1i64 << weight;
        }
    }
    let magnitude = |v: i64| if v >= 0 { v as u64 } else { (-(v + 1)) as u64 };
    let (mag_max, mag_min) = (magnitude(item.log_max), magnitude(item.log_min));
    let hibit = 64 - mag_max.max(mag_min).leading_zeros();
    let signbit: u64 = 1u64.checked_shl(hibit).unwrap_or(0);
    let mask = signbit.wrapping_sub(1) | if item.log_min < 0 { signbit } else { 0 };
    let mut v = (value as u64 & mask) as i64;
    if item.log_min < 0 && (v as u64 & signbit) != 0 {
        v |= !(mask as i64);
    }
    v.clamp(
        item.log_min.min(item.log_max),
        item.log_max.max(item.log_min),
    )
}

/// Units whose exponent NUT corrects (libhid.c `HIDUnits`): (unit code, exponent).
const UNIT_EXPONENTS: [(u32, i8); 3] = [(0x00F0_D121, 7), (0x0000_D121, 7), (0x0000_0000, 0)];

/// The physical value NUT's `HIDGetDataValue` gives: logical to physical through the
/// physical range, then the unit exponent (with NUT's correction for volts and watts).
pub fn physical(item: &Item, logical: i64) -> f64 {
    let value = match (item.phy_min, item.phy_max) {
        (Some(pmin), Some(pmax))
            if !(pmin == 0 && pmax == 0) && pmax > pmin && item.log_max > item.log_min =>
        {
            let factor = (pmax - pmin) as f64 / (item.log_max - item.log_min) as f64;
            let p = (logical - item.log_min) as f64 * factor + pmin as f64;
            p.clamp(pmin as f64, pmax as f64)
        }
        _ => logical as f64,
    };
    let mut expo = i32::from(item.unit_exp);
    if let Some((_, e)) = UNIT_EXPONENTS.iter().find(|(u, _)| *u == item.unit) {
        expo -= i32::from(*e);
    }
    let mut factor = 1.0;
    if expo > 0 {
        for _ in 0..expo {
            factor *= 10.0;
        }
    } else {
        for _ in 0..(-expo) {
            factor /= 10.0;
        }
    }
    value * factor
}

/// A usage path as NUT writes it (`UPS.PowerSummary.RemainingCapacity`; unknown usages
/// as 8 hex digits, collection indexes as `[n]`).
pub fn path_name(path: &[u32]) -> String {
    path_name_with(path, &[])
}

/// [`path_name`] with a subdriver's vendor usages looked up first (libhid.c
/// `HIDGetDataItem` with the subdriver's usage tables).
pub fn path_name_with(path: &[u32], vendor: &[(&str, u32)]) -> String {
    let mut parts = Vec::new();
    for &node in path {
        if node & 0xffff_0000 == 0x00ff_0000 {
            parts.push(format!("[{}]", node & 0xffff));
        } else if let Some((name, _)) = vendor
            .iter()
            .chain(USAGES.iter())
            .find(|(_, code)| *code == node)
        {
            parts.push((*name).to_string());
        } else {
            parts.push(format!("{node:08x}"));
        }
    }
    parts.join(".")
}

/// C's `%g` (six significant digits, trailing zeros removed), as NUT's logs print values.
pub fn format_g(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let exp = v.abs().log10().floor() as i32;
    if !(-4..6).contains(&exp) {
        let s = format!("{:.5e}", v);
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = mant.trim_end_matches('0').trim_end_matches('.');
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{mant}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (5 - exp).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// NUT's global usage table (libhid.c `hid_usage_lkp`, from the USB HID Power Device
/// and Battery System pages).
pub const USAGES: &[(&str, u32)] = &[
    ("Undefined", 0x00840000),
    ("iName", 0x00840001),
    ("PresentStatus", 0x00840002),
    ("ChangedStatus", 0x00840003),
    ("UPS", 0x00840004),
    ("PowerSupply", 0x00840005),
    ("BatterySystem", 0x00840010),
    ("BatterySystemID", 0x00840011),
    ("Battery", 0x00840012),
    ("BatteryID", 0x00840013),
    ("Charger", 0x00840014),
    ("ChargerID", 0x00840015),
    ("PowerConverter", 0x00840016),
    ("PowerConverterID", 0x00840017),
    ("OutletSystem", 0x00840018),
    ("OutletSystemID", 0x00840019),
    ("Input", 0x0084001a),
    ("InputID", 0x0084001b),
    ("Output", 0x0084001c),
    ("OutputID", 0x0084001d),
    ("Flow", 0x0084001e),
    ("FlowID", 0x0084001f),
    ("Outlet", 0x00840020),
    ("OutletID", 0x00840021),
    ("Gang", 0x00840022),
    ("GangID", 0x00840023),
    ("PowerSummary", 0x00840024),
    ("PowerSummaryID", 0x00840025),
    ("Voltage", 0x00840030),
    ("Current", 0x00840031),
    ("Frequency", 0x00840032),
    ("ApparentPower", 0x00840033),
    ("ActivePower", 0x00840034),
    ("PercentLoad", 0x00840035),
    ("Temperature", 0x00840036),
    ("Humidity", 0x00840037),
    ("BadCount", 0x00840038),
    ("ConfigVoltage", 0x00840040),
    ("ConfigCurrent", 0x00840041),
    ("ConfigFrequency", 0x00840042),
    ("ConfigApparentPower", 0x00840043),
    ("ConfigActivePower", 0x00840044),
    ("ConfigPercentLoad", 0x00840045),
    ("ConfigTemperature", 0x00840046),
    ("ConfigHumidity", 0x00840047),
    ("SwitchOnControl", 0x00840050),
    ("SwitchOffControl", 0x00840051),
    ("ToggleControl", 0x00840052),
    ("LowVoltageTransfer", 0x00840053),
    ("HighVoltageTransfer", 0x00840054),
    ("DelayBeforeReboot", 0x00840055),
    ("DelayBeforeStartup", 0x00840056),
    ("DelayBeforeShutdown", 0x00840057),
    ("Test", 0x00840058),
    ("ModuleReset", 0x00840059),
    ("AudibleAlarmControl", 0x0084005a),
    ("Present", 0x00840060),
    ("Good", 0x00840061),
    ("InternalFailure", 0x00840062),
    ("VoltageOutOfRange", 0x00840063),
    ("FrequencyOutOfRange", 0x00840064),
    ("Overload", 0x00840065),
    ("OverCharged", 0x00840066),
    ("OverTemperature", 0x00840067),
    ("ShutdownRequested", 0x00840068),
    ("ShutdownImminent", 0x00840069),
    ("SwitchOn/Off", 0x0084006b),
    ("Switchable", 0x0084006c),
    ("Used", 0x0084006d),
    ("Boost", 0x0084006e),
    ("Buck", 0x0084006f),
    ("Initialized", 0x00840070),
    ("Tested", 0x00840071),
    ("AwaitingPower", 0x00840072),
    ("CommunicationLost", 0x00840073),
    ("iManufacturer", 0x008400fd),
    ("iProduct", 0x008400fe),
    ("iSerialNumber", 0x008400ff),
    ("Undefined", 0x00850000),
    ("SMBBatteryMode", 0x00850001),
    ("SMBBatteryStatus", 0x00850002),
    ("SMBAlarmWarning", 0x00850003),
    ("SMBChargerMode", 0x00850004),
    ("SMBChargerStatus", 0x00850005),
    ("SMBChargerSpecInfo", 0x00850006),
    ("SMBSelectorState", 0x00850007),
    ("SMBSelectorPresets", 0x00850008),
    ("SMBSelectorInfo", 0x00850009),
    ("OptionalMfgFunction1", 0x00850010),
    ("OptionalMfgFunction2", 0x00850011),
    ("OptionalMfgFunction3", 0x00850012),
    ("OptionalMfgFunction4", 0x00850013),
    ("OptionalMfgFunction5", 0x00850014),
    ("ConnectionToSMBus", 0x00850015),
    ("OutputConnection", 0x00850016),
    ("ChargerConnection", 0x00850017),
    ("BatteryInsertion", 0x00850018),
    ("Usenext", 0x00850019),
    ("OKToUse", 0x0085001a),
    ("BatterySupported", 0x0085001b),
    ("SelectorRevision", 0x0085001c),
    ("ChargingIndicator", 0x0085001d),
    ("ManufacturerAccess", 0x00850028),
    ("RemainingCapacityLimit", 0x00850029),
    ("RemainingTimeLimit", 0x0085002a),
    ("AtRate", 0x0085002b),
    ("CapacityMode", 0x0085002c),
    ("BroadcastToCharger", 0x0085002d),
    ("PrimaryBattery", 0x0085002e),
    ("ChargeController", 0x0085002f),
    ("TerminateCharge", 0x00850040),
    ("TerminateDischarge", 0x00850041),
    ("BelowRemainingCapacityLimit", 0x00850042),
    ("RemainingTimeLimitExpired", 0x00850043),
    ("Charging", 0x00850044),
    ("Discharging", 0x00850045),
    ("FullyCharged", 0x00850046),
    ("FullyDischarged", 0x00850047),
    ("ConditioningFlag", 0x00850048),
    ("AtRateOK", 0x00850049),
    ("SMBErrorCode", 0x0085004a),
    ("NeedReplacement", 0x0085004b),
    ("AtRateTimeToFull", 0x00850060),
    ("AtRateTimeToEmpty", 0x00850061),
    ("AverageCurrent", 0x00850062),
    ("Maxerror", 0x00850063),
    ("RelativeStateOfCharge", 0x00850064),
    ("AbsoluteStateOfCharge", 0x00850065),
    ("RemainingCapacity", 0x00850066),
    ("FullChargeCapacity", 0x00850067),
    ("RunTimeToEmpty", 0x00850068),
    ("AverageTimeToEmpty", 0x00850069),
    ("AverageTimeToFull", 0x0085006a),
    ("CycleCount", 0x0085006b),
    ("BattPackModelLevel", 0x00850080),
    ("InternalChargeController", 0x00850081),
    ("PrimaryBatterySupport", 0x00850082),
    ("DesignCapacity", 0x00850083),
    ("SpecificationInfo", 0x00850084),
    ("ManufacturerDate", 0x00850085),
    ("SerialNumber", 0x00850086),
    ("iManufacturerName", 0x00850087),
    ("iDevicename", 0x00850088),
    ("iDeviceChemistry", 0x00850089),
    ("ManufacturerData", 0x0085008a),
    ("Rechargeable", 0x0085008b),
    ("WarningCapacityLimit", 0x0085008c),
    ("CapacityGranularity1", 0x0085008d),
    ("CapacityGranularity2", 0x0085008e),
    ("iOEMInformation", 0x0085008f),
    ("InhibitCharge", 0x008500c0),
    ("EnablePolling", 0x008500c1),
    ("ResetToZero", 0x008500c2),
    ("ACPresent", 0x008500d0),
    ("BatteryPresent", 0x008500d1),
    ("PowerFail", 0x008500d2),
    ("AlarmInhibited", 0x008500d3),
    ("ThermistorUnderRange", 0x008500d4),
    ("ThermistorHot", 0x008500d5),
    ("ThermistorCold", 0x008500d6),
    ("ThermistorOverRange", 0x008500d7),
    ("VoltageOutOfRange", 0x008500d8),
    ("CurrentOutOfRange", 0x008500d9),
    ("CurrentNotRegulated", 0x008500da),
    ("VoltageNotRegulated", 0x008500db),
    ("MasterMode", 0x008500dc),
    ("ChargerSelectorSupport", 0x008500f0),
    ("ChargerSpec", 0x008500f1),
    ("Level2", 0x008500f2),
    ("Level3", 0x008500f3),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// hidparser.c's ITEM_END_COLLECTION: an indexed collection leaves with its index,
    /// and a collection inside one leaves the index in place.
    #[test]
    fn indexed_collections_open_and_close_as_nuts_parser() {
        #[rustfmt::skip]
        let desc = [
            0x05, 0x84, 0x09, 0x04, 0xa1, 0x01, // UPS
            0x0b, 0x10, 0x00, 0xff, 0xff, 0xa1, 0x81, // ffff0010, indexed [1]
            0x09, 0x1a, 0xa1, 0x00, // Input
            0x85, 0x01, 0x09, 0x30, 0x75, 0x08, 0x95, 0x01, 0x15, 0x00, 0x26, 0xff, 0x00,
            0xb1, 0x02, // Voltage
            0xc0,
            0x85, 0x02, 0x09, 0x32, 0xb1, 0x02, // Frequency
            0xc0,
            0x09, 0x1c, 0xa1, 0x00, // Output
            0x85, 0x03, 0x09, 0x30, 0xb1, 0x02, // Voltage
            0xc0,
            0xc0,
        ];
        let paths: Vec<String> = parse(&desc)
            .items
            .iter()
            .map(|i| path_name(&i.path))
            .collect();
        assert_eq!(
            paths,
            [
                "UPS.ffff0010.[1].Input.Voltage",
                "UPS.ffff0010.[1].Frequency",
                "UPS.Output.Voltage",
            ]
        );
    }

    #[test]
    fn garbage_never_panics_and_signed_ranges_extend() {
        let mut seed = 11u64;
        for _ in 0..2000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 56) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|k| (seed.rotate_left(k as u32) >> 3) as u8)
                .collect();
            for item in parse(&bytes).items {
                let _ = physical(&item, logical(&bytes, &item));
            }
        }
        // Usage Page 0x84, Usage UPS, Collection, Report ID 1, size 8, count 1,
        // LogMin -128, LogMax 127, Usage Temperature (0x36), Feature.
        let desc = [
            0x05, 0x84, 0x09, 0x04, 0xa1, 0x01, 0x85, 0x01, 0x75, 0x08, 0x95, 0x01, 0x15, 0x80,
            0x25, 0x7f, 0x09, 0x36, 0xb1, 0x02, 0xc0,
        ];
        let parsed = parse(&desc);
        assert_eq!(parsed.items.len(), 1);
        assert_eq!(path_name(&parsed.items[0].path), "UPS.Temperature");
        assert_eq!(logical(&[0x01, 0xfe], &parsed.items[0]), -2);
        // A report shorter than the field reads as zeros, as NUT's zero-filled buffer.
        assert_eq!(logical(&[0x01], &parsed.items[0]), 0);
    }
}
