//! usbhid-ups's device logic against recorded APC units (hw-fixtures/hid): the variables
//! NUT printed, the reports `-k` and instant commands write, staleness and recovery.

use nut_core::dummy::DriverState;
use nut_core::hidups::{
    claim, set_value, to_logical, HidOptions, HidUps, Matcher, ReadError, UsbDevice, Walk,
};
use nut_core::transcript::{parse_hid, HidRecording};
use std::path::Path;

fn fixtures() -> Vec<(String, HidRecording)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hw-fixtures/hid");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let rec = parse_hid(&std::fs::read_to_string(&p).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, rec)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The USB device a recording came from (its strings rebuilt from NUT's listing, so
/// the identity check tests APC's product-string split).
fn device(rec: &HidRecording) -> UsbDevice {
    nut_core::hidups::recorded_device(rec).unwrap()
}

fn reads(driver: &HidUps, rec: &HidRecording, walk: Walk) -> Vec<(u8, Result<Vec<u8>, ReadError>)> {
    driver
        .reports(walk)
        .into_iter()
        .map(|id| {
            (
                id,
                rec.report(id).map(<[u8]>::to_vec).ok_or(ReadError::Failed),
            )
        })
        .collect()
}

/// The string descriptors a walk asked for, answered from the recording (as the
/// binary's `run_walk` answers them from the device).
fn resolve(driver: &mut HidUps, state: &mut DriverState, rec: &HidRecording, strings: &[u8]) {
    let answers: Vec<_> = strings
        .iter()
        .map(|&i| {
            let text = rec.string(i).map(str::to_string);
            (i, text.ok_or(ReadError::Failed))
        })
        .collect();
    driver.strings(state, &answers);
}

fn started(rec: &HidRecording) -> (HidUps, DriverState) {
    let dev = device(rec);
    let sub = claim(&dev, false).expect("APC claims the unit");
    let mut driver = HidUps::new(sub, &rec.descriptor, dev, HidOptions::default());
    let mut state = DriverState::new();
    let r = reads(&driver, rec, Walk::Init);
    let walked = driver.walk(&mut state, Walk::Init, &r, 0);
    assert!(walked.ok);
    assert_eq!(walked.strings, [4], "iDeviceChemistry's string");
    resolve(&mut driver, &mut state, rec, &walked.strings);
    let due = driver.due(2);
    assert_eq!(
        due,
        Walk::Quick,
        "the first poll after start-up is quick, as NUT's"
    );
    let r = reads(&driver, rec, due);
    let walked = driver.walk(&mut state, due, &r, 2);
    assert!(walked.ok);
    (driver, state)
}

/// Variables not from the device: the driver's own and the dump's other NUT version.
fn checked(var: &str) -> bool {
    !(var.starts_with("driver.version")
        || var.starts_with("driver.parameter.")
        || var == "driver.state")
}

/// Where a dump's upsc listing was taken at another moment than its reports, or its
/// owner anonymised one copy of a value and not the other.
const READ_AT_ANOTHER_TIME: [(&str, &str); 2] = [
    ("apc-back-ups-bk650m2-ch.txt", "ups.load"),
    ("apc-back-ups-bk650m2-ch.txt", "device.serial"),
];

#[test]
fn apc_units_publish_what_nut_printed() {
    let mut failures = Vec::new();
    let mut apc = 0;
    for (name, rec) in fixtures() {
        if !name.starts_with("apc-") {
            continue;
        }
        apc += 1;
        let (_, state) = started(&rec);
        for (var, value) in rec.expect.iter().filter(|(v, _)| checked(v)) {
            if READ_AT_ANOTHER_TIME.contains(&(name.as_str(), var.as_str())) {
                continue;
            }
            let ours = state.tree().value(var);
            if ours != Some(value.as_str()) {
                failures.push(format!("{name}: {var}: ours {ours:?}, NUT {value:?}"));
            }
        }
        assert!(
            !state.is_stale(),
            "{name}: data stays stale after a good walk"
        );
    }
    assert!(apc >= 2, "{apc} APC recordings");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn kill_power_writes_the_reboot_timer_on_back_ups_units() {
    for (name, rec) in fixtures() {
        if !name.starts_with("apc-") {
            continue;
        }
        let (driver, state) = started(&rec);
        // Neither unit has Output.APCDelayBeforeReboot nor a startup delay, so NUT's
        // shutdown.return fails and shutdown.reboot (APCDelayBeforeReboot, 10 s) runs.
        let writes = driver.shutdown(&state).unwrap();
        assert_eq!(writes.len(), 1, "{name}");
        assert_eq!(writes[0].report, vec![0x40, 10], "{name}");
        assert_eq!(writes[0].what, "shutdown.reboot 10");
    }
}

#[test]
fn instant_commands_and_set_var_write_the_reports_nut_writes() {
    let (_, rec) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "apc-back-ups-bk650m2-ch.txt")
        .unwrap();
    let (mut driver, mut state) = started(&rec);
    let cmds: Vec<&str> = state.tree().cmds().collect();
    for cmd in [
        "load.off",
        "load.off.delay",
        "beeper.enable",
        "test.battery.start.quick",
    ] {
        assert!(cmds.contains(&cmd), "{cmd} not in {cmds:?}");
    }
    // No DelayBeforeStartup: no load.on, no composite shutdown commands.
    assert!(!cmds.contains(&"shutdown.return"), "{cmds:?}");
    let w = driver.command(&state, "load.off.delay", None).unwrap();
    assert_eq!(w[0].report[0], 0x15);
    assert_eq!(w[0].what, "load.off.delay 20");
    let w = driver
        .command(&state, "test.battery.start.quick", None)
        .unwrap();
    assert_eq!(w[0].report, vec![0x21, 1]);
    // beeper.on is NUT's old name for beeper.enable (AudibleAlarmControl = 2).
    assert_eq!(
        driver.command(&state, "beeper.on", None).unwrap()[0].report,
        driver.command(&state, "beeper.enable", None).unwrap()[0].report
    );
    assert_eq!(driver.command(&state, "no.such.cmd", None), Err(2));
    // A server-side delay changes at once; a device value is written.
    let mut lines = Vec::new();
    assert_eq!(
        driver.set_var(&mut state, "ups.delay.shutdown", "60", &mut lines),
        Ok(vec![])
    );
    assert_eq!(state.tree().value("ups.delay.shutdown"), Some("60"));
    // A bare load.off.delay takes the table's value, as NUT's instcmd does; only the
    // composite shutdown commands use ups.delay.shutdown.
    let w = driver.command(&state, "load.off.delay", None).unwrap();
    assert_eq!(w[0].what, "load.off.delay 20");
    let w = driver
        .command(&state, "load.off.delay", Some("60"))
        .unwrap();
    assert_eq!(w[0].what, "load.off.delay 60");
    let w = driver
        .set_var(&mut state, "input.sensitivity", "high", &mut lines)
        .unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].report[0], 0x35);
    assert_eq!(
        driver.set_var(&mut state, "ups.load", "3", &mut lines),
        Err(1),
        "read-only"
    );
    // After a write, the next walk is full.
    driver.written(&[]);
    assert_eq!(driver.due(3), Walk::Full);
}

#[test]
fn a_device_gone_mid_walk_fails_the_walk_and_a_later_walk_restores_the_data() {
    let (_, rec) = fixtures().into_iter().next().unwrap();
    let (mut driver, mut state) = started(&rec);
    let mut r = reads(&driver, &rec, Walk::Quick);
    r[0].1 = Err(ReadError::Gone);
    assert!(!driver.walk(&mut state, Walk::Quick, &r, 4).ok);
    // The shell cannot reconnect: data goes stale, once.
    assert!(driver.lost(&mut state).is_some());
    assert!(driver.lost(&mut state).is_none());
    // Back: init walk, then a poll; DATAOK and "re-established".
    let r = reads(&driver, &rec, Walk::Init);
    assert!(driver.walk(&mut state, Walk::Init, &r, 10).ok);
    let r = reads(&driver, &rec, Walk::Quick);
    let walked = driver.walk(&mut state, Walk::Quick, &r, 12);
    assert!(!state.is_stale());
    assert!(walked.lines.contains(&nut_core::sock::DriverLine::DataOk));
    assert!(walked.notes.contains(&nut_core::qx::Note::Restored));
    // A failed read skips its items and keeps the rest.
    let mut r = reads(&driver, &rec, Walk::Full);
    for read in &mut r {
        read.1 = Err(ReadError::Failed);
    }
    assert!(driver.walk(&mut state, Walk::Full, &r, 50).ok);
    assert_eq!(state.tree().value("ups.status"), rec.expected("ups.status"));
}

#[test]
fn interrupt_reports_change_the_status_before_the_next_poll() {
    let (_, rec) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "apc-back-ups-cs-500.txt")
        .unwrap();
    let (mut driver, mut state) = started(&rec);
    assert_eq!(state.tree().value("ups.status"), Some("OL"));
    // Report 0x13 (ACPresent) as an interrupt: mains gone.
    driver.interrupt(&mut state, &[0x13, 0x00]);
    // The next quick walk commits the status from the flags; its own feature reads of
    // 0x13 would bring ACPresent back, so leave them out (a failed read).
    let r: Vec<_> = driver
        .reports(Walk::Quick)
        .into_iter()
        .map(|id| (id, Err(ReadError::Failed)))
        .collect();
    driver.walk(&mut state, Walk::Quick, &r, 4);
    assert_eq!(state.tree().value("ups.status"), Some("OB"));
}

#[test]
fn logical_values_round_trip_through_reports() {
    let (_, rec) = fixtures().into_iter().next().unwrap();
    let dev = device(&rec);
    let driver = HidUps::new(
        claim(&dev, false).unwrap(),
        &rec.descriptor,
        dev,
        HidOptions::default(),
    );
    for item in &driver.descriptor().items {
        let mut report = vec![0u8; 1 + (item.offset as usize + item.size as usize).div_ceil(8)];
        report[0] = item.report_id;
        for value in [
            item.log_min,
            item.log_max,
            (item.log_min + item.log_max) / 2,
        ] {
            // Descriptors may declare ranges wider than their field (an 8-bit field up
            // to 65535): only values the field can hold round-trip.
            let bits = u32::from(item.size).min(62);
            if value >= 1i64 << bits || value < -(1i64 << bits.saturating_sub(1)) {
                continue;
            }
            set_value(&mut report, item, value);
            // The field holds the low bits: -1 in a 16-bit field whose range reaches
            // 65535 reads back as 65535, as NUT's GetValue reads it.
            let read = nut_core::hid::logical(&report, item);
            assert_eq!(
                (read - value).rem_euclid(1i64 << bits),
                0,
                "{item:?}: {value} read as {read}"
            );
            let phys = nut_core::hid::physical(item, value);
            assert_eq!(to_logical(item, phys), value, "{item:?} at {phys}");
        }
    }
}

#[test]
fn matching_options_select_the_device_as_nut() {
    let dev = UsbDevice {
        vendor_id: 0x051d,
        product_id: 0x0002,
        vendor: Some("American Power Conversion".into()),
        product: Some("Back-UPS CS 500".into()),
        serial: Some("AB0427".into()),
        bus: "001".into(),
        device: "004".into(),
    };
    let opts = |pairs: &[(&str, &str)]| -> Vec<(String, Option<String>)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect()
    };
    let m = Matcher::from_options(&opts(&[("vendorid", "051D"), ("serial", "ab0427")])).unwrap();
    assert!(m.matches(&dev));
    let m = Matcher::from_options(&opts(&[("bus", "002")])).unwrap();
    assert!(!m.matches(&dev));
    // POSIX extended regular expressions over the whole field, ignoring case, as
    // NUT's usb-common.c; the IDs as four lower-case hex digits.
    let m = Matcher::from_options(&opts(&[
        ("product", "back-ups.*"),
        ("vendorid", "05[0-9]D"),
    ]))
    .unwrap();
    assert!(m.matches(&dev));
    let m = Matcher::from_options(&opts(&[("serial", "AB04")])).unwrap();
    assert!(!m.matches(&dev), "a match covers the whole field");
    let m = Matcher::from_options(&opts(&[
        ("productid", "0002|0003"),
        ("vendor", "American.*"),
    ]))
    .unwrap();
    assert!(m.matches(&dev));
    // A string the unit lacks reads as "".
    let bare = UsbDevice {
        serial: None,
        ..dev.clone()
    };
    assert!(Matcher::from_options(&opts(&[("serial", "")]))
        .unwrap()
        .matches(&bare));
    assert!(!Matcher::from_options(&opts(&[("serial", ".+")]))
        .unwrap()
        .matches(&bare));
    let err = Matcher::from_options(&opts(&[("product", "Back-UPS (")])).unwrap_err();
    assert_eq!(err, "invalid regular expression: Back-UPS ( (unmatched ()");
    // An APC product NUT does not list is claimed only with productid given.
    let odd = UsbDevice {
        product_id: 0x0099,
        ..dev.clone()
    };
    assert!(claim(&odd, false).is_none());
    assert!(claim(&odd, true).is_some());
    assert!(claim(
        &UsbDevice {
            vendor_id: 0x1234,
            ..dev
        },
        true
    )
    .is_none());
}

#[test]
fn nut_scanner_prints_sections_and_parsable_lines_as_nut() {
    let devices = vec![
        UsbDevice {
            vendor_id: 0x051d,
            product_id: 0x0002,
            vendor: Some("American Power Conversion".into()),
            product: Some("Back-UPS CS 500 FW:808.q8.I USB FW:q8".into()),
            serial: Some("AB0427".into()),
            bus: "001".into(),
            device: "004".into(),
        },
        // A Voltronic unit behind a Cypress bridge: nutdrv_qx.
        UsbDevice {
            vendor_id: 0x0665,
            product_id: 0x5161,
            product: Some("USB to Serial".into()),
            bus: "003".into(),
            ..UsbDevice::default()
        },
        // A keyboard: no driver claims it, no section.
        UsbDevice {
            vendor_id: 0x046d,
            product_id: 0xc31c,
            bus: "001".into(),
            ..UsbDevice::default()
        },
        // No strings readable (no permission): IDs and bus only.
        UsbDevice {
            vendor_id: 0x051d,
            product_id: 0x0003,
            bus: "002".into(),
            ..UsbDevice::default()
        },
    ];
    let found = nut_core::scan::usb(&devices);
    assert_eq!(
        nut_core::scan::ups_conf(&found, 1),
        "[nutdev1]\n\tdriver = \"usbhid-ups\"\n\tport = \"auto\"\n\tvendorid = \"051D\"\n\
         \tproductid = \"0002\"\n\tproduct = \"Back-UPS CS 500 FW:808.q8.I USB FW:q8\"\n\
         \tserial = \"AB0427\"\n\tvendor = \"American Power Conversion\"\n\tbus = \"001\"\n\
         [nutdev2]\n\tdriver = \"nutdrv_qx\"\n\tport = \"auto\"\n\tvendorid = \"0665\"\n\
         \tproductid = \"5161\"\n\tproduct = \"USB to Serial\"\n\tbus = \"003\"\n\
         [nutdev3]\n\tdriver = \"usbhid-ups\"\n\tport = \"auto\"\n\tvendorid = \"051D\"\n\
         \tproductid = \"0003\"\n\tbus = \"002\"\n"
    );
    assert_eq!(
        nut_core::scan::parsable(&found[2..]),
        "USB:driver=\"usbhid-ups\",port=\"auto\",vendorid=\"051D\",productid=\"0003\",bus=\"002\"\n"
    );
    // Every unit the scanner names for usbhid-ups is one its subdrivers claim.
    for f in found.iter().filter(|f| f.driver == "usbhid-ups") {
        let id = |k: &str| {
            let v = &f.options.iter().find(|(n, _)| n == k).unwrap().1;
            u16::from_str_radix(v, 16).unwrap()
        };
        let dev = UsbDevice {
            vendor_id: id("vendorid"),
            product_id: id("productid"),
            ..UsbDevice::default()
        };
        assert!(claim(&dev, false).is_some());
    }
}

fn partial(name: &str) -> HidRecording {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../hw-fixtures/hid/partial")
        .join(name);
    parse_hid(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn cyberpower(product_id: u16) -> UsbDevice {
    UsbDevice {
        vendor_id: 0x0764,
        product_id,
        vendor: Some("CPS".into()),
        product: Some("CST135UC2".into()),
        serial: None,
        bus: "001".into(),
        device: "003".into(),
    }
}

/// Reports for every feature item of `driver`'s descriptor, zero but for `values`
/// (path, physical value).
fn reports_with(
    driver: &HidUps,
    values: &[(&str, f64)],
) -> std::collections::BTreeMap<u8, Vec<u8>> {
    let mut out: std::collections::BTreeMap<u8, Vec<u8>> = std::collections::BTreeMap::new();
    for item in driver.descriptor().items.iter() {
        let len = 1 + (item.offset as usize + item.size as usize).div_ceil(8);
        let r = out
            .entry(item.report_id)
            .or_insert_with(|| vec![item.report_id]);
        if r.len() < len {
            r.resize(len, 0);
        }
    }
    for (path, value) in values {
        let code = nut_core::usbhid::path_code(path, driver.subdriver().usages).unwrap();
        for item in driver
            .descriptor()
            .items
            .iter()
            .filter(|i| i.path == code && i.kind == nut_core::hid::Kind::Feature)
        {
            let r = out.get_mut(&item.report_id).unwrap();
            set_value(r, item, to_logical(item, *value));
        }
    }
    out
}

fn walk_all(
    driver: &mut HidUps,
    state: &mut DriverState,
    reports: &std::collections::BTreeMap<u8, Vec<u8>>,
) {
    for (walk, t) in [(Walk::Init, 0), (Walk::Full, 100)] {
        let reads: Vec<_> = driver
            .reports(walk)
            .into_iter()
            .map(|id| (id, reports.get(&id).cloned().ok_or(ReadError::Failed)))
            .collect();
        assert!(driver.walk(state, walk, &reads, t).ok);
    }
}

/// The subdriver that claims `dev` (with `productid` given), on descriptor `desc`,
/// started and fully walked over reports holding `values`.
fn unit_with(dev: UsbDevice, desc: &[u8], values: &[(&str, f64)]) -> (HidUps, DriverState) {
    let mut driver = HidUps::new(claim(&dev, true).unwrap(), desc, dev, HidOptions::default());
    let mut state = DriverState::new();
    let reports = reports_with(&driver, values);
    walk_all(&mut driver, &mut state, &reports);
    (driver, state)
}

/// CyberPower's table against a real CyberPower descriptor (hw-fixtures/hid/partial:
/// no NUT output for it, so values are the test's own): the table's paths are found,
/// the commands NUT offers on such a unit appear, and the status word follows the
/// present-status bits.
#[test]
fn cyberpower_units_map_through_nuts_cps_table() {
    let rec = partial("cyberpower-cst135uc2.txt");
    let dev = cyberpower(0x0601);
    let sub = claim(&dev, false).expect("CyberPower claims 0764:0601");
    assert_eq!(sub.name, "CyberPower HID 0.6");
    let mut driver = HidUps::new(sub, &rec.descriptor, dev, HidOptions::default());
    let mut state = DriverState::new();
    let reports = reports_with(
        &driver,
        &[
            ("UPS.PowerSummary.RemainingCapacity", 87.0),
            ("UPS.PowerSummary.RunTimeToEmpty", 1520.0),
            ("UPS.PowerSummary.PresentStatus.ACPresent", 0.0),
            ("UPS.PowerSummary.PresentStatus.Discharging", 1.0),
            ("UPS.Output.PercentLoad", 21.0),
        ],
    );
    walk_all(&mut driver, &mut state, &reports);
    let v = |n: &str| state.tree().value(n).map(str::to_string);
    assert_eq!(v("battery.charge").as_deref(), Some("87"));
    assert_eq!(v("battery.runtime").as_deref(), Some("1520"));
    assert_eq!(v("ups.load").as_deref(), Some("21"));
    assert_eq!(v("ups.status").as_deref(), Some("OB DISCHRG"));
    assert_eq!(v("ups.mfr").as_deref(), Some("CPS"));
    assert_eq!(v("ups.model").as_deref(), Some("CST135UC2"));
    assert_eq!(
        v("driver.version.data").as_deref(),
        Some("CyberPower HID 0.6")
    );
    let cmds: Vec<&str> = state.tree().cmds().collect();
    for cmd in [
        "load.off.delay",
        "load.on.delay",
        "shutdown.return",
        "shutdown.stayoff",
        "beeper.enable",
    ] {
        assert!(cmds.contains(&cmd), "{cmd} not in {cmds:?}");
    }
    // shutdown.return: ups.start.auto is absent, so load.on.delay (ondelay 30) then,
    // 125 ms later, load.off.delay (offdelay 20), as NUT's instcmd composes it.
    let writes = driver.shutdown(&state).unwrap();
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[0].what, "load.on.delay 30");
    assert_eq!(writes[1].what, "load.off.delay 20");
    assert_eq!(writes[1].pause_ms, nut_core::hidups::COMPOSITE_PAUSE_MS);
}

#[test]
fn cyberpower_battery_voltage_is_scaled_on_the_units_that_need_it() {
    let rec = partial("cyberpower-cst135uc2.txt");
    for (product, want) in [(0x0501, "16.0"), (0x0601, "24.0")] {
        let dev = cyberpower(product);
        let (_, state) = unit_with(
            dev,
            &rec.descriptor,
            &[
                ("UPS.PowerSummary.ConfigVoltage", 12.0),
                ("UPS.PowerSummary.Voltage", 24.0),
            ],
        );
        assert_eq!(
            state.tree().value("battery.voltage"),
            Some(want),
            "{product:04x}"
        );
    }
}

#[test]
fn cyberpowers_descriptor_fix_widens_a_wrong_output_voltage_range() {
    use nut_core::hid::{Descriptor, Item, Kind};
    use nut_core::hidups::cps_fix_descriptor;
    let node = |name: &str| nut_core::usbhid::path_code(name, &[]).unwrap()[0];
    let item = |id: u8, usage: u32, min: i64, max: i64| Item {
        path: vec![usage],
        kind: Kind::Feature,
        report_id: id,
        offset: 0,
        size: 16,
        attribute: 2,
        log_min: min,
        log_max: max,
        phy_min: None,
        phy_max: None,
        unit: 0,
        unit_exp: 0,
    };
    let broken = Descriptor {
        items: vec![
            item(16, node("HighVoltageTransfer"), 140, 150),
            item(18, node("Voltage"), 140, 150),
        ],
    };
    let mut desc = broken.clone();
    assert!(cps_fix_descriptor(&cyberpower(0x0501), &mut desc));
    assert_eq!((desc.items[1].log_min, desc.items[1].log_max), (0, 511));
    // Another product, or ranges that differ: left alone.
    let mut desc = broken.clone();
    assert!(!cps_fix_descriptor(&cyberpower(0x0601), &mut desc));
    let mut desc = broken.clone();
    desc.items[1].log_max = 300;
    assert!(!cps_fix_descriptor(&cyberpower(0x0501), &mut desc));
}

/// NUT's `onlinedischarge`: a unit that reports online and discharging is on battery.
#[test]
fn onlinedischarge_turns_ol_discharging_into_ob() {
    let (_, rec) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "apc-back-ups-bk650m2-ch.txt")
        .unwrap();
    let (_, state) = started(&rec);
    assert_eq!(state.tree().value("ups.status"), Some("OL DISCHRG"));
    let dev = device(&rec);
    let options = HidOptions {
        onlinedischarge: true,
        ..HidOptions::default()
    };
    let mut driver = HidUps::new(claim(&dev, false).unwrap(), &rec.descriptor, dev, options);
    let mut state = DriverState::new();
    for (walk, t) in [(Walk::Init, 0), (Walk::Quick, 2)] {
        let r = reads(&driver, &rec, walk);
        let walked = driver.walk(&mut state, walk, &r, t);
        assert!(walked
            .notes
            .iter()
            .all(|n| !format!("{n:?}").contains("OL+DISCHRG")));
    }
    assert_eq!(state.tree().value("ups.status"), Some("OB DISCHRG"));
}

/// shutdown.return on a CyberPower unit: ups.delay.start then, 125 ms later,
/// ups.delay.shutdown, each converted through the unit's physical range. This unit
/// counts its delays in minutes (physical -60..1966020 over logical -1..32767), so
/// NUT's default 30 s start delay truncates to 0 minutes; the test sets whole minutes.
#[test]
fn composite_shutdown_writes_each_delay_in_the_units_terms() {
    let rec = partial("cyberpower-cst135uc2.txt");
    let dev = cyberpower(0x0601);
    let (driver, mut state) = unit_with(dev, &rec.descriptor, &[]);
    let mut lines = Vec::new();
    driver
        .set_var(&mut state, "ups.delay.start", "180", &mut lines)
        .unwrap();
    driver
        .set_var(&mut state, "ups.delay.shutdown", "120", &mut lines)
        .unwrap();
    let writes = driver.command(&state, "shutdown.return", None).unwrap();
    assert_eq!(writes.len(), 2);
    assert_eq!(
        (writes[0].what.as_str(), writes[1].what.as_str()),
        ("load.on.delay 180", "load.off.delay 120")
    );
    let mut unit = reports_with(&driver, &[]);
    for w in &writes {
        unit.insert(w.report[0], w.report.clone());
    }
    let read_back = |path: &str| {
        let code = nut_core::usbhid::path_code(path, &[]).unwrap();
        let item = driver
            .descriptor()
            .items
            .iter()
            .find(|i| i.path == code && i.kind == nut_core::hid::Kind::Feature)
            .unwrap();
        nut_core::hid::physical(item, nut_core::hid::logical(&unit[&item.report_id], item))
    };
    assert_eq!(read_back("UPS.Output.DelayBeforeStartup"), 180.0);
    assert_eq!(read_back("UPS.Output.DelayBeforeShutdown"), 120.0);
}

fn bk650_with(
    options: HidOptions,
    changed: &[(u8, Vec<u8>)],
) -> (HidUps, DriverState, HidRecording) {
    let (_, mut rec) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "apc-back-ups-bk650m2-ch.txt")
        .unwrap();
    for (id, bytes) in changed {
        rec.reports.retain(|r| r[0] != *id);
        rec.reports.push(bytes.clone());
    }
    let dev = device(&rec);
    let mut driver = HidUps::new(claim(&dev, false).unwrap(), &rec.descriptor, dev, options);
    let mut state = DriverState::new();
    for (walk, t) in [(Walk::Init, 0), (Walk::Full, 100)] {
        let r = reads(&driver, &rec, walk);
        assert!(driver.walk(&mut state, walk, &r, t).ok);
    }
    (driver, state, rec)
}

/// main.c's `ignorelb`: the unit's LB is dropped and LB follows battery.charge.low.
#[test]
fn ignorelb_takes_lb_from_the_thresholds() {
    // Charge 40 % (report 0x0c), the unit's low limit 50 %, its own LB flag clear.
    let low_charge = [(0x0c, vec![0x0c, 40])];
    let (_, state, _) = bk650_with(HidOptions::default(), &low_charge);
    assert_eq!(state.tree().value("ups.status"), Some("OL DISCHRG"));
    let options = HidOptions {
        ignorelb: true,
        ..HidOptions::default()
    };
    let (_, state, _) = bk650_with(options.clone(), &low_charge);
    assert_eq!(state.tree().value("ups.status"), Some("OL DISCHRG LB"));
    let (_, state, _) = bk650_with(options, &[]);
    assert_eq!(state.tree().value("ups.status"), Some("OL DISCHRG"));
}

/// NUT's alarms: a unit asking for a new battery gets `ups.alarm` and ALARM in front.
#[test]
fn a_replace_battery_flag_raises_an_alarm() {
    // PresentStatus (report 0x16): bit 6 NeedReplacement on top of the recorded 0x0e.
    let (_, state, _) = bk650_with(HidOptions::default(), &[(0x16, vec![0x16, 0x4e, 0x00])]);
    assert_eq!(state.tree().value("ups.alarm"), Some("Replace battery!"));
    assert_eq!(
        state.tree().value("ups.status"),
        Some("ALARM OL DISCHRG RB")
    );
    let (_, state, _) = bk650_with(HidOptions::default(), &[]);
    assert_eq!(state.tree().value("ups.alarm"), None);
}

/// A report descriptor written item by item (HID 1.11 short items), for makes of which
/// no recording with NUT's output was found (Tripp Lite): the usages named as NUT's
/// tables name them, every field a feature of its own.
struct DescWriter {
    bytes: Vec<u8>,
    usages: &'static [(&'static str, u32)],
}

impl DescWriter {
    fn new(usages: &'static [(&'static str, u32)]) -> DescWriter {
        DescWriter {
            bytes: Vec::new(),
            usages,
        }
    }

    fn item(&mut self, tag: u8, value: u32, bytes: usize) {
        let size = match bytes {
            1 => 1,
            2 => 2,
            _ => 3,
        };
        self.bytes.push(tag | size);
        self.bytes.extend(&value.to_le_bytes()[..bytes]);
    }

    fn usage(&mut self, name: &str) {
        let code = nut_core::usbhid::path_code(name, self.usages)
            .unwrap_or_else(|| panic!("no usage {name}"))[0];
        // An extended (4-byte) usage carries its page.
        self.item(0x08, code, 4);
    }

    fn collection(&mut self, name: &str, kind: u8, body: impl FnOnce(&mut DescWriter)) {
        self.usage(name);
        self.item(0xa0, u32::from(kind), 1);
        body(self);
        self.bytes.push(0xc0);
    }

    /// An input field (interrupt reports), as [`DescWriter::feature`].
    fn input(&mut self, report: u8, name: &str, bits: u8, exponent: i8) {
        self.feature(report, name, bits, exponent);
        // The same field as an Input item: the last main item becomes 0x80.
        let at = self.bytes.len() - 2;
        self.bytes[at] = 0x81;
    }

    /// A feature field: report ID, usage, bits, and the unit exponent (-8..7).
    fn feature(&mut self, report: u8, name: &str, bits: u8, exponent: i8) {
        self.field(report, name, bits, exponent, 0, ((1u64 << bits) - 1) as i64);
    }

    /// A feature field holding negative values too (two's complement).
    fn feature_signed(&mut self, report: u8, name: &str, bits: u8, exponent: i8) {
        let half = 1i64 << (bits - 1);
        self.field(report, name, bits, exponent, -half, half - 1);
    }

    fn field(&mut self, report: u8, name: &str, bits: u8, exponent: i8, min: i64, max: i64) {
        self.item(0x84, u32::from(report), 1);
        self.usage(name);
        self.item(0x74, u32::from(bits), 1);
        self.item(0x94, 1, 1);
        self.item(0x14, min as u32, 4);
        self.item(0x24, max as u32, 4);
        self.item(0x54, u32::from(exponent as u8 & 0x0f), 1);
        self.item(0xb0, 0x02, 1);
    }
}

/// A Tripp Lite SMART1500LCDT-like unit as NUT's tripplite-hid.c paths describe one:
/// the battery and I/O voltages reported 100,000 times too small (unit exponent -5),
/// frequency and current 100 times too large, which NUT's factors for 09ae:3016 undo.
fn tripplite_descriptor() -> Vec<u8> {
    use nut_core::usbhid::TRIPPLITE_USAGES;
    let mut d = DescWriter::new(TRIPPLITE_USAGES);
    d.collection("UPS", 0x01, |d| {
        d.collection("PowerSummary", 0x00, |d| {
            for name in [
                "RemainingCapacity",
                "RemainingCapacityLimit",
                "WarningCapacityLimit",
            ] {
                d.feature(1, name, 8, 0);
            }
            d.feature(1, "RunTimeToEmpty", 16, 0);
            d.feature(2, "AudibleAlarmControl", 8, 0);
            d.feature(18, "iDeviceChemistry", 8, 0);
            d.collection("Input", 0x00, |d| d.feature(3, "ConfigVoltage", 16, 0));
            d.collection("PresentStatus", 0x02, |d| {
                for name in [
                    "ACPresent",
                    "Discharging",
                    "Charging",
                    "BelowRemainingCapacityLimit",
                    "FullyCharged",
                    "ShutdownImminent",
                    "NeedReplacement",
                    "FullyDischarged",
                ] {
                    d.feature(4, name, 1, 0);
                }
            });
        });
        d.collection("BatterySystem", 0x00, |d| {
            d.feature(5, "Test", 8, 0);
            d.collection("Battery", 0x00, |d| {
                d.feature(6, "Voltage", 16, -5);
                d.feature(6, "ConfigVoltage", 16, 0);
            });
        });
        d.collection("PowerConverter", 0x00, |d| {
            d.collection("Input", 0x00, |d| {
                d.feature(7, "Voltage", 16, -5);
                d.feature(7, "Frequency", 16, 0);
            });
            d.collection("Output", 0x00, |d| {
                d.feature(8, "Voltage", 16, -5);
                d.feature(8, "Current", 16, 0);
                d.feature(8, "Frequency", 16, 0);
                for name in [
                    "LowVoltageTransfer",
                    "HighVoltageTransfer",
                    "TLLowVoltageTransferMax",
                    "TLLowVoltageTransferMin",
                    "TLHighVoltageTransferMax",
                    "TLHighVoltageTransferMin",
                ] {
                    d.feature(9, name, 16, 0);
                }
            });
            d.collection("PresentStatus", 0x02, |d| {
                for name in ["Boost", "Buck", "Overload", "OverTemperature"] {
                    d.feature(10, name, 1, 0);
                }
            });
        });
        d.collection("OutletSystem", 0x00, |d| {
            d.collection("Outlet", 0x00, |d| {
                d.feature(11, "DelayBeforeShutdown", 16, 0);
                d.feature(12, "DelayBeforeStartup", 16, 0);
                d.feature(13, "DelayBeforeReboot", 16, 0);
                d.feature(14, "PercentLoad", 8, 0);
                d.feature(15, "TLWatchdog", 16, 0);
            });
        });
        d.collection("Flow", 0x00, |d| {
            d.feature(16, "ConfigVoltage", 8, 0);
            d.feature(16, "ConfigFrequency", 8, 0);
            d.feature(16, "ConfigApparentPower", 16, 0);
            d.feature(16, "ConfigPercentLoad", 8, 0);
        });
        d.collection("TLCustom", 0x81, |d| {
            d.feature(17, "UPSFirmwareVersion", 16, 0);
            d.feature(19, "iUPSPartNumber", 8, 0);
        });
    });
    d.bytes
}

fn tripplite(vendor_id: u16, product_id: u16) -> UsbDevice {
    UsbDevice {
        vendor_id,
        product_id,
        vendor: Some("Tripp Lite".into()),
        product: Some("SMART1500LCDT".into()),
        serial: Some("2211AV0SM123456".into()),
        bus: "001".into(),
        device: "005".into(),
    }
}

/// Tripp Lite's table (tripplite-hid.c) on a unit built from its paths: every
/// variable NUT's table gives, the unit's factors, the vendor usages (the firmware in
/// the `TLCustom.[1]` collection, the transfer limits), static items read once.
#[test]
fn tripplite_units_map_through_nuts_table_with_their_factors() {
    let dev = tripplite(0x09ae, 0x3016);
    let sub = claim(&dev, false).expect("Tripp Lite claims 09ae:3016");
    assert_eq!(sub.name, "TrippLite HID 0.84");
    let mut driver = HidUps::new(sub, &tripplite_descriptor(), dev, HidOptions::default());
    let mut state = DriverState::new();
    // Voltages in the unit's 1e-5 steps, half a step up: the writer truncates to the
    // logical value as NUT's HIDSetDataValue does.
    let mut values = vec![
        ("UPS.PowerSummary.RemainingCapacity", 97.0),
        ("UPS.PowerSummary.RemainingCapacityLimit", 10.0),
        ("UPS.PowerSummary.WarningCapacityLimit", 20.0),
        ("UPS.PowerSummary.RunTimeToEmpty", 2220.0),
        ("UPS.PowerSummary.AudibleAlarmControl", 2.0),
        ("UPS.PowerSummary.Input.ConfigVoltage", 120.0),
        ("UPS.PowerSummary.PresentStatus.ACPresent", 1.0),
        ("UPS.PowerSummary.PresentStatus.Charging", 1.0),
        ("UPS.BatterySystem.Test", 6.0),
        ("UPS.BatterySystem.Battery.Voltage", 14.5e-5),
        ("UPS.BatterySystem.Battery.ConfigVoltage", 24.0),
        ("UPS.PowerConverter.Input.Voltage", 121.5e-5),
        ("UPS.PowerConverter.Input.Frequency", 5990.0),
        ("UPS.PowerConverter.Output.Voltage", 120.5e-5),
        ("UPS.PowerConverter.Output.Current", 150.0),
        ("UPS.PowerConverter.Output.Frequency", 6000.0),
        ("UPS.PowerConverter.Output.LowVoltageTransfer", 88.0),
        ("UPS.PowerConverter.Output.HighVoltageTransfer", 147.0),
        ("UPS.PowerConverter.Output.TLLowVoltageTransferMax", 97.0),
        ("UPS.PowerConverter.Output.TLLowVoltageTransferMin", 83.0),
        ("UPS.PowerConverter.Output.TLHighVoltageTransferMax", 150.0),
        ("UPS.PowerConverter.Output.TLHighVoltageTransferMin", 130.0),
        ("UPS.PowerConverter.PresentStatus.Buck", 1.0),
        ("UPS.OutletSystem.Outlet.DelayBeforeShutdown", 65535.0),
        ("UPS.OutletSystem.Outlet.PercentLoad", 23.0),
        ("UPS.Flow.ConfigVoltage", 120.0),
        ("UPS.Flow.ConfigFrequency", 60.0),
        ("UPS.Flow.ConfigApparentPower", 1500.0),
        ("UPS.Flow.ConfigPercentLoad", 80.0),
        ("UPS.TLCustom.[1].UPSFirmwareVersion", 262.0),
    ];
    let reports = reports_with(&driver, &values);
    walk_all(&mut driver, &mut state, &reports);
    let v = |state: &DriverState, n: &str| state.tree().value(n).map(str::to_string);
    for (var, want) in [
        ("battery.charge", "97"),
        ("battery.charge.low", "10"),
        ("battery.charge.warning", "20"),
        ("battery.runtime", "2220"),
        ("battery.voltage", "14.0"),
        ("battery.voltage.nominal", "24.0"),
        ("ups.beeper.status", "enabled"),
        ("ups.test.result", "No test initiated"),
        ("input.voltage.nominal", "120"),
        ("input.voltage", "121.0"),
        ("input.frequency", "59.9"),
        ("input.transfer.low", "88.0"),
        ("input.transfer.high", "147.0"),
        ("input.transfer.low.max", "97"),
        ("input.transfer.low.min", "83"),
        ("input.transfer.high.max", "150"),
        ("input.transfer.high.min", "130"),
        ("output.voltage", "120.0"),
        ("output.current", "1.5"),
        ("output.frequency", "60.0"),
        ("output.voltage.nominal", "120"),
        ("output.frequency.nominal", "60"),
        ("ups.power.nominal", "1500"),
        ("ups.load", "23"),
        ("ups.load.nominal", "80"),
        ("ups.firmware", "262"),
        ("ups.timer.shutdown", "65535"),
        ("ups.delay.shutdown", "20"),
        ("ups.delay.start", "30"),
        ("ups.status", "OL CHRG TRIM"),
        ("ups.mfr", "Tripp Lite"),
        ("ups.model", "SMART1500LCDT"),
        ("ups.serial", "2211AV0SM123456"),
        ("ups.vendorid", "09ae"),
        ("ups.productid", "3016"),
        ("driver.version.data", "TrippLite HID 0.84"),
    ] {
        assert_eq!(v(&state, var).as_deref(), Some(want), "{var}");
    }
    // Writable with the lengths NUT's table gives them.
    for (var, len) in [
        ("battery.charge.low", 5),
        ("input.transfer.low", 5),
        ("ups.delay.start", 10),
    ] {
        let entry = state.tree().get(var).unwrap();
        assert!(entry.flags.rw && entry.flags.string, "{var}");
        assert_eq!(entry.aux, len, "{var}");
    }
    let cmds: Vec<&str> = state.tree().cmds().collect();
    for cmd in [
        "test.battery.start.quick",
        "test.battery.stop",
        "load.off.delay",
        "load.on.delay",
        "shutdown.stop",
        "shutdown.reboot",
        "reset.watchdog",
        "beeper.mute",
    ] {
        assert!(cmds.contains(&cmd), "{cmd} not in {cmds:?}");
    }
    // On battery, and the nominal values changed: the status follows at once; the
    // static items (read once at start-up, HU_FLAG_STATIC) keep their first reading.
    for (path, value) in values.iter_mut() {
        match *path {
            "UPS.PowerSummary.PresentStatus.ACPresent"
            | "UPS.PowerSummary.PresentStatus.Charging" => *value = 0.0,
            "UPS.PowerSummary.PresentStatus.Discharging" => *value = 1.0,
            "UPS.Flow.ConfigApparentPower" => *value = 999.0,
            "UPS.PowerSummary.RemainingCapacity" => *value = 80.0,
            _ => {}
        }
    }
    values.push(("UPS.PowerSummary.PresentStatus.Discharging", 1.0));
    let reports = reports_with(&driver, &values);
    let reads: Vec<_> = driver
        .reports(Walk::Full)
        .into_iter()
        .map(|id| (id, reports.get(&id).cloned().ok_or(ReadError::Failed)))
        .collect();
    assert!(driver.walk(&mut state, Walk::Full, &reads, 200).ok);
    assert_eq!(v(&state, "ups.status").as_deref(), Some("OB DISCHRG TRIM"));
    assert_eq!(v(&state, "battery.charge").as_deref(), Some("80"));
    assert_eq!(v(&state, "ups.power.nominal").as_deref(), Some("1500"));
}

/// The factors of each product family, on raw readings (unit exponent 0), and NUT's
/// 8-byte buffer: 100,000 V on a 09ae:3016 unit prints as `100000.`.
#[test]
fn tripplite_factors_follow_the_product_id() {
    use nut_core::usbhid::{tl_scaled_text, TRIPPLITE_USAGES};
    let mut d = DescWriter::new(TRIPPLITE_USAGES);
    d.collection("UPS", 0x01, |d| {
        d.collection("BatterySystem", 0x00, |d| {
            d.collection("Battery", 0x00, |d| d.feature(1, "Voltage", 16, 0));
        });
        d.collection("PowerConverter", 0x00, |d| {
            d.collection("Input", 0x00, |d| {
                d.feature(2, "Voltage", 16, 0);
                d.feature(2, "Frequency", 16, 0);
            });
            d.collection("Output", 0x00, |d| d.feature(3, "Current", 16, 0));
        });
    });
    for (product, battery, volts, hertz, amps) in [
        // smart1500lcdt_scale
        (0x3016, "100000.", "100000.", "0.6", "1.5"),
        // battery_scale_0dot1 (an OMNI900LCD)
        (0x2007, "0.1", "1.0", "60.0", "150.0"),
        // battery_scale_1dot0 (a SMART2200RMXL2U)
        (0x3012, "1.0", "1.0", "60.0", "150.0"),
        // a product NUT does not list, taken with productid: no factor
        (0x9999, "1.0", "1.0", "60.0", "150.0"),
    ] {
        let dev = tripplite(0x09ae, product);
        let sub = claim(&dev, true).unwrap();
        let mut driver = HidUps::new(sub, &d.bytes, dev, HidOptions::default());
        let mut state = DriverState::new();
        let reports = reports_with(
            &driver,
            &[
                ("UPS.BatterySystem.Battery.Voltage", 1.0),
                ("UPS.PowerConverter.Input.Voltage", 1.0),
                ("UPS.PowerConverter.Input.Frequency", 60.0),
                ("UPS.PowerConverter.Output.Current", 150.0),
            ],
        );
        walk_all(&mut driver, &mut state, &reports);
        let v = |n: &str| state.tree().value(n).map(str::to_string);
        assert_eq!(
            v("battery.voltage").as_deref(),
            Some(battery),
            "{product:04x}"
        );
        assert_eq!(v("input.voltage").as_deref(), Some(volts), "{product:04x}");
        assert_eq!(
            v("input.frequency").as_deref(),
            Some(hertz),
            "{product:04x}"
        );
        assert_eq!(v("output.current").as_deref(), Some(amps), "{product:04x}");
    }
    // snprintf into 8 bytes keeps 7 characters.
    assert_eq!(tl_scaled_text(1_234_567.8), "1234567");
    assert_eq!(tl_scaled_text(12_345.67), "12345.7");
}

/// tripplite_claim: HP and Tripp Lite products NUT does not list only with
/// `productid`; Tripp Lite's serial-over-USB units never (with NUT's message); other
/// Delta products never.
#[test]
fn tripplite_claims_units_as_nut() {
    let name = |v: u16, p: u16, productid: bool| claim(&tripplite(v, p), productid).map(|s| s.name);
    assert_eq!(name(0x03f0, 0x1fe3, false), Some("TrippLite HID 0.84"));
    assert_eq!(name(0x05dd, 0xa011, false), Some("TrippLite HID 0.84"));
    assert_eq!(name(0x09ae, 0x9999, false), None);
    assert_eq!(name(0x09ae, 0x9999, true), Some("TrippLite HID 0.84"));
    assert_eq!(name(0x03f0, 0x9999, false), None);
    // With productid, an unlisted HP product is mge-hid.c's: first in NUT's list, it
    // takes any HP product then.
    assert_eq!(name(0x03f0, 0x9999, true), Some("MGE HID 1.46"));
    // Another Delta product with productid: delta_ups-hid.c's (before Tripp Lite's,
    // which never takes Delta's other products).
    assert_eq!(name(0x05dd, 0x9999, true), Some("Delta UPS HID 0.6"));
    assert_eq!(name(0x09ae, 0x0001, true), None);
    assert_eq!(
        nut_core::hidups::refusal(&tripplite(0x09ae, 0x0001)).as_deref(),
        Some(
            "This Tripp Lite device (09ae/0001) is not supported by usbhid-ups. \
             Please use the tripplite_usb driver instead."
        )
    );
    assert_eq!(nut_core::hidups::refusal(&tripplite(0x09ae, 0x3016)), None);
    // An unnamed Tripp Lite unit has no ups.mfr or ups.model (NUT deletes them).
    let dev = UsbDevice {
        vendor: None,
        product: None,
        ..tripplite(0x09ae, 0x3012)
    };
    let (_driver, state) = unit_with(dev, &tripplite_descriptor(), &[]);
    assert_eq!(state.tree().value("ups.mfr"), None);
    assert_eq!(state.tree().value("ups.model"), None);
    assert_eq!(state.tree().value("ups.serial"), Some("2211AV0SM123456"));
}

/// OMNI1000LCD units put the status bits on the power page (TLACPresent,
/// TLDischarging, TLCharging): NUT's table reads them there too.
#[test]
fn tripplite_power_page_status_bits_give_the_status() {
    use nut_core::usbhid::TRIPPLITE_USAGES;
    let mut d = DescWriter::new(TRIPPLITE_USAGES);
    d.collection("UPS", 0x01, |d| {
        d.collection("PowerSummary", 0x00, |d| {
            d.feature(1, "RemainingCapacity", 8, 0);
            d.collection("PresentStatus", 0x02, |d| {
                for name in [
                    "TLACPresent",
                    "TLDischarging",
                    "TLCharging",
                    "TLNeedReplacement",
                ] {
                    d.feature(2, name, 1, 0);
                }
            });
        });
    });
    let dev = tripplite(0x09ae, 0x2005);
    let (_driver, state) = unit_with(
        dev,
        &d.bytes,
        &[
            ("UPS.PowerSummary.RemainingCapacity", 64.0),
            ("UPS.PowerSummary.PresentStatus.TLACPresent", 0.0),
            ("UPS.PowerSummary.PresentStatus.TLDischarging", 1.0),
            ("UPS.PowerSummary.PresentStatus.TLNeedReplacement", 1.0),
        ],
    );
    assert_eq!(
        state.tree().value("ups.status"),
        Some("ALARM OB DISCHRG RB")
    );
    assert_eq!(state.tree().value("battery.charge"), Some("64"));
}

/// Phoenixtec's Liebert units (liebert-hid.c) on a unit built from NUT's paths: the
/// indexed input collection (`Input.[1]`), the unnamed vendor usages of the transfer
/// limits, the default maker, the claim of 06da:ffff only.
#[test]
fn liebert_units_map_through_nuts_table() {
    let mut d = DescWriter::new(&[]);
    d.collection("UPS", 0x01, |d| {
        d.collection("PowerSummary", 0x00, |d| {
            d.feature(1, "Voltage", 16, -2);
            d.feature(1, "ConfigVoltage", 16, 0);
            d.feature(1, "RemainingCapacity", 8, 0);
            d.feature(1, "RunTimeToEmpty", 16, 0);
            d.feature(1, "PercentLoad", 8, 0);
            d.collection("PresentStatus", 0x02, |d| {
                for name in ["ACPresent", "Discharging", "Charging", "Overload"] {
                    d.feature(2, name, 1, 0);
                }
            });
        });
        d.collection("PowerConverter", 0x00, |d| {
            d.collection("Input", 0x81, |d| {
                d.feature(3, "Voltage", 16, -1);
                d.feature(3, "Frequency", 16, -2);
            });
            d.collection("Output", 0x00, |d| {
                d.feature(4, "Voltage", 16, -1);
                d.feature(4, "Frequency", 16, -2);
                for name in ["ffff0057", "ffff0058", "ffff00f9", "ffff00f8"] {
                    d.feature(5, name, 16, 0);
                }
            });
        });
    });
    let dev = UsbDevice {
        vendor_id: 0x06da,
        product_id: 0xffff,
        vendor: None,
        product: Some("LI 1000".into()),
        serial: None,
        bus: "001".into(),
        device: "006".into(),
    };
    let sub = claim(&dev, false).expect("Liebert claims 06da:ffff");
    assert_eq!(sub.name, "Phoenixtec/Liebert HID 0.41");
    let other = UsbDevice {
        product_id: 0x0002,
        ..dev.clone()
    };
    assert!(claim(&other, false).is_none());
    assert_eq!(claim(&other, true).map(|s| s.name), Some(sub.name));
    let mut driver = HidUps::new(sub, &d.bytes, dev, HidOptions::default());
    let mut state = DriverState::new();
    let reports = reports_with(
        &driver,
        &[
            ("UPS.PowerSummary.Voltage", 27.355),
            ("UPS.PowerSummary.ConfigVoltage", 24.0),
            ("UPS.PowerSummary.RemainingCapacity", 100.0),
            ("UPS.PowerSummary.RunTimeToEmpty", 1380.0),
            ("UPS.PowerSummary.PercentLoad", 17.0),
            ("UPS.PowerSummary.PresentStatus.ACPresent", 1.0),
            ("UPS.PowerSummary.PresentStatus.Overload", 1.0),
            ("UPS.PowerConverter.Input.[1].Voltage", 230.45),
            ("UPS.PowerConverter.Input.[1].Frequency", 49.985),
            ("UPS.PowerConverter.Output.Voltage", 229.95),
            ("UPS.PowerConverter.Output.Frequency", 50.005),
            ("UPS.PowerConverter.Output.ffff0057", 170.0),
            ("UPS.PowerConverter.Output.ffff0058", 280.0),
            ("UPS.PowerConverter.Output.ffff00f9", 45.0),
            ("UPS.PowerConverter.Output.ffff00f8", 55.0),
        ],
    );
    walk_all(&mut driver, &mut state, &reports);
    let v = |n: &str| state.tree().value(n).map(str::to_string);
    for (var, want) in [
        ("battery.voltage", "27.35"),
        ("battery.voltage.nominal", "24.00"),
        ("battery.charge", "100"),
        ("battery.runtime", "1380"),
        ("ups.load", "17"),
        ("input.voltage", "230.4"),
        ("input.frequency", "49.98"),
        ("output.voltage", "229.9"),
        ("output.frequency", "50.00"),
        ("input.transfer.low", "170"),
        ("input.transfer.high", "280"),
        ("input.frequency.transfer.low", "45"),
        ("input.frequency.transfer.high", "55"),
        ("ups.status", "OL OVER"),
        ("ups.mfr", "Liebert"),
        ("ups.model", "LI 1000"),
        ("driver.version.data", "Phoenixtec/Liebert HID 0.41"),
    ] {
        assert_eq!(v(var).as_deref(), Some(want), "{var}");
    }
    assert_eq!(v("ups.serial"), None);
}

/// String items (stringid_conversion, tripplite_chemistry): the walk names the string
/// descriptors it needs, their text is cut to NUT's 19 bytes and loses its trailing
/// newline, a failed read gives "" as NUT's HIDGetIndexString, Tripp Lite's AVR550U and
/// OMNI1000LCD say "unknown" without asking, and a string read once is not asked again.
#[test]
fn string_items_read_their_descriptors_as_nut() {
    let desc = tripplite_descriptor();
    let values = [
        ("UPS.PowerSummary.iDeviceChemistry", 5.0),
        ("UPS.TLCustom.[1].iUPSPartNumber", 6.0),
    ];
    let init = |product: u16| {
        let dev = tripplite(0x09ae, product);
        let mut driver = HidUps::new(
            claim(&dev, false).unwrap(),
            &desc,
            dev,
            HidOptions::default(),
        );
        let mut state = DriverState::new();
        let reports = reports_with(&driver, &values);
        let reads: Vec<_> = driver
            .reports(Walk::Init)
            .into_iter()
            .map(|id| (id, reports.get(&id).cloned().ok_or(ReadError::Failed)))
            .collect();
        let walked = driver.walk(&mut state, Walk::Init, &reads, 0);
        assert!(walked.ok);
        (driver, state, walked.strings)
    };
    let (mut driver, mut state, wanted) = init(0x3016);
    assert_eq!(wanted, [6, 5], "device.part comes first in NUT's table");
    assert_eq!(
        state.tree().value("battery.type"),
        None,
        "not before it is read"
    );
    driver.strings(
        &mut state,
        &[
            (6, Ok("SU1500RTXL2UA-PARTNO-123\n".to_string())),
            (5, Ok("PbAc\n".to_string())),
        ],
    );
    assert_eq!(
        state.tree().value("device.part"),
        Some("SU1500RTXL2UA-PARTN")
    );
    assert_eq!(state.tree().value("battery.type"), Some("PbAc"));

    let (mut driver, mut state, wanted) = init(0x3012);
    assert_eq!(wanted, [6, 5]);
    driver.strings(
        &mut state,
        &[(6, Err(ReadError::Failed)), (5, Err(ReadError::Failed))],
    );
    assert_eq!(state.tree().value("battery.type"), Some(""));
    assert_eq!(state.tree().value("device.part"), Some(""));

    let (_, state, wanted) = init(0x1003);
    assert_eq!(wanted, [6], "the AVR550U's chemistry is not read");
    assert_eq!(state.tree().value("battery.type"), Some("unknown"));

    // APC reads battery.type at every full walk: the string is kept, not asked again.
    let rec = fixtures()
        .into_iter()
        .find(|(name, _)| name == "apc-back-ups-cs-500.txt")
        .unwrap()
        .1;
    let (mut driver, mut state) = started(&rec);
    assert_eq!(state.tree().value("battery.type"), Some("PbAc"));
    let r = reads(&driver, &rec, Walk::Full);
    let walked = driver.walk(&mut state, Walk::Full, &r, 100);
    assert!(walked.ok);
    assert!(walked.strings.is_empty(), "{:?}", walked.strings);
    assert_eq!(state.tree().value("battery.type"), Some("PbAc"));
}

/// A Powercom unit (powercom-hid.c) built from NUT's paths: standard pages for the
/// newer units, Powercom's own page (`PowercomUPS`, bit-packed status bytes, voltages
/// in 4 V steps) for the older ones.
fn powercom_descriptor() -> Vec<u8> {
    use nut_core::usbhid::POWERCOM_USAGES;
    let mut d = DescWriter::new(POWERCOM_USAGES);
    d.collection("UPS", 0x01, |d| {
        d.collection("PowerSummary", 0x00, |d| {
            d.feature(1, "RemainingCapacity", 8, 0);
            d.feature(1, "RunTimeToEmpty", 16, 0);
            d.feature(2, "AudibleAlarmControl", 8, 0);
            d.feature(3, "DelayBeforeStartup", 16, 0);
            d.feature(4, "DelayBeforeShutdown", 16, 0);
            d.collection("PresentStatus", 0x02, |d| {
                for name in [
                    "ACPresent",
                    "Discharging",
                    "Charging",
                    "BelowRemainingCapacityLimit",
                ] {
                    d.feature(5, name, 1, 0);
                }
            });
        });
        d.collection("Output", 0x00, |d| {
            d.feature(7, "Voltage", 16, 0);
            d.feature(7, "PercentLoad", 8, 0);
        });
        d.collection("Battery", 0x00, |d| d.feature(8, "Test", 8, 0));
    });
    d.collection("PowercomUPS", 0x01, |d| {
        d.feature(11, "PowercomSerialNumber", 8, 0);
        d.collection("PowercomPowerConverter", 0x00, |d| {
            d.collection("PowercomOutput", 0x00, |d| {
                d.feature(9, "PowercomPrimaryBatterySupport", 8, 0);
                d.feature(9, "PowercomInternalChargeController", 8, 0);
            });
            d.collection("PowercomInput", 0x00, |d| {
                d.feature(10, "PowercomVoltage", 8, 0)
            });
        });
    });
    d.bytes
}

fn powercom(product_id: u16) -> UsbDevice {
    UsbDevice {
        vendor_id: 0x0d9f,
        product_id,
        vendor: None,
        product: Some("BNT-1000AP".into()),
        serial: None,
        bus: "001".into(),
        device: "007".into(),
    }
}

/// Powercom's table: the status bits, the delays as the unit encodes them (minutes
/// with bytes swapped; minutes and seconds), 4 V steps, the serial number from the
/// table when the device gives none (NUT's identity comes first), and the claim.
#[test]
fn powercom_units_map_through_nuts_table() {
    let dev = powercom(0x00a3);
    let sub = claim(&dev, false).expect("Powercom claims 0d9f:00a3");
    assert_eq!(sub.name, "PowerCOM HID 0.6");
    let mut driver = HidUps::new(sub, &powercom_descriptor(), dev, HidOptions::default());
    let mut state = DriverState::new();
    let reports = reports_with(
        &driver,
        &[
            ("UPS.PowerSummary.RemainingCapacity", 76.0),
            ("UPS.PowerSummary.RunTimeToEmpty", 900.0),
            ("UPS.PowerSummary.AudibleAlarmControl", 2.0),
            ("UPS.PowerSummary.DelayBeforeStartup", 768.0),
            ("UPS.PowerSummary.DelayBeforeShutdown", 7681.0),
            ("UPS.PowerSummary.PresentStatus.Discharging", 1.0),
            ("UPS.Output.Voltage", 230.0),
            ("UPS.Output.PercentLoad", 31.0),
            ("UPS.Battery.Test", 1.0),
            ("PowercomUPS.PowercomSerialNumber", 3.0),
            (
                "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomPrimaryBatterySupport",
                9.0,
            ),
            (
                "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomInternalChargeController",
                2.0,
            ),
            (
                "PowercomUPS.PowercomPowerConverter.PowercomInput.PowercomVoltage",
                57.0,
            ),
        ],
    );
    let reads: Vec<_> = driver
        .reports(Walk::Init)
        .into_iter()
        .map(|id| (id, reports.get(&id).cloned().ok_or(ReadError::Failed)))
        .collect();
    let walked = driver.walk(&mut state, Walk::Init, &reads, 0);
    assert_eq!(walked.strings, [3], "the serial number's string");
    driver.strings(&mut state, &[(3, Ok("CA2230999999".to_string()))]);
    let reads: Vec<_> = driver
        .reports(Walk::Full)
        .into_iter()
        .map(|id| (id, reports.get(&id).cloned().ok_or(ReadError::Failed)))
        .collect();
    assert!(driver.walk(&mut state, Walk::Full, &reads, 100).ok);
    let v = |n: &str| state.tree().value(n).map(str::to_string);
    for (var, want) in [
        ("battery.charge", "76"),
        ("battery.runtime", "900"),
        ("ups.beeper.status", "disabled"),
        ("ups.timer.start", "180"),
        ("ups.timer.shutdown", "90"),
        ("ups.delay.start", "60"),
        ("ups.delay.shutdown", "20"),
        ("output.voltage", "230.0"),
        ("input.voltage", "228"),
        ("ups.load", "31"),
        ("ups.test.result", "Done and passed"),
        // Line fail (bit 0) and AVR bucking (bit 3, not 4); battery bad (bit 1).
        ("ups.status", "ALARM OB DISCHRG RB TRIM"),
        ("ups.mfr", "PowerCOM"),
        ("ups.model", "BNT-1000AP"),
        ("ups.serial", "CA2230999999"),
        ("device.serial", "CA2230999999"),
    ] {
        assert_eq!(v(var).as_deref(), Some(want), "{var}");
    }
    // Commands write the delays in the unit's encoding: load.on.delay from
    // ups.delay.start (60 s: one minute, bytes swapped), shutdown.return and
    // shutdown.stayoff from ups.delay.shutdown (20 s) or their argument (90 s: 1 min
    // 30 s), with the restart bit 0x4000 or the stay-off bit 0x8000.
    let write = |cmd: &str, arg: Option<&str>| driver.command(&state, cmd, arg).unwrap();
    assert_eq!(write("load.on.delay", None)[0].report, [3, 0x00, 0x01]);
    assert_eq!(write("shutdown.return", None)[0].report, [4, 0x00, 0x54]);
    assert_eq!(write("shutdown.stayoff", None)[0].report, [4, 0x00, 0x94]);
    assert_eq!(
        write("shutdown.return", Some("90"))[0].report,
        [4, 0x01, 0x5e]
    );
    // No PCM start-up item here: load.on falls back to load.on.delay 0.
    assert_eq!(write("load.on", None)[0].report, [3, 0x00, 0x00]);
    // -k: shutdown.return first, as NUT.
    assert_eq!(driver.shutdown(&state).unwrap()[0].report, [4, 0x00, 0x54]);

    // Claims: the serial-protocol 0002 units refused, other products with productid.
    assert!(claim(&powercom(0x0099), false).is_none());
    assert!(claim(&powercom(0x0099), true).is_some());
    assert!(claim(&powercom(0x0002), true).is_none());
    assert_eq!(
        nut_core::hidups::refusal(&powercom(0x0002)).as_deref(),
        Some(
            "This Powercom device (0d9f/0002) is not supported by usbhid-ups. \
             Please use the 'powercom' driver instead."
        )
    );
    assert_eq!(nut_core::hidups::refusal(&powercom(0x0001)), None);
}

/// usbhid-ups.c's alarms for the flags Tripp Lite and Powercom units raise (overheat,
/// internal fault, awaiting power, fan failure), in NUT's order.
#[test]
fn fault_flags_raise_nuts_alarms() {
    let dev = tripplite(0x09ae, 0x3012);
    let (_driver, state) = unit_with(
        dev,
        &tripplite_descriptor(),
        &[
            ("UPS.PowerSummary.PresentStatus.ACPresent", 1.0),
            ("UPS.PowerConverter.PresentStatus.OverTemperature", 1.0),
        ],
    );
    assert_eq!(
        state.tree().value("ups.alarm"),
        Some("Temperature too high!")
    );
    assert_eq!(state.tree().value("ups.status"), Some("ALARM OL"));

    let dev = powercom(0x00a3);
    let (_driver, state) = unit_with(
        dev,
        &powercom_descriptor(),
        &[(
            "PowercomUPS.PowercomPowerConverter.PowercomOutput.PowercomInternalChargeController",
            3.0,
        )],
    );
    assert_eq!(
        state.tree().value("ups.alarm"),
        Some("Replace battery! Fan failure!")
    );
}

/// A reading that arrives in an interrupt report takes the unit's factor as a polled
/// one does (tripplite-hid.c's conversions run in NUT's event path too).
#[test]
fn interrupt_readings_take_the_units_factor() {
    use nut_core::usbhid::TRIPPLITE_USAGES;
    let mut d = DescWriter::new(TRIPPLITE_USAGES);
    d.collection("UPS", 0x01, |d| {
        d.collection("BatterySystem", 0x00, |d| {
            d.collection("Battery", 0x00, |d| {
                d.feature(1, "Voltage", 16, 0);
                d.input(1, "Voltage", 16, 0);
            });
        });
    });
    let dev = tripplite(0x09ae, 0x2007);
    let (mut driver, mut state) = unit_with(
        dev,
        &d.bytes,
        &[("UPS.BatterySystem.Battery.Voltage", 136.0)],
    );
    assert_eq!(state.tree().value("battery.voltage"), Some("13.6"));
    driver.interrupt(&mut state, &[1, 130, 0]);
    assert_eq!(state.tree().value("battery.voltage"), Some("13.0"));
}

/// NUT never reads report 0x54 of Tripp Lite's SU3000LCD2UHV (09ae:1330): a firmware
/// bug. Other units read it.
#[test]
fn the_su3000lcd2uhv_bad_report_is_never_read() {
    use nut_core::usbhid::TRIPPLITE_USAGES;
    let mut d = DescWriter::new(TRIPPLITE_USAGES);
    d.collection("UPS", 0x01, |d| {
        d.collection("PowerSummary", 0x00, |d| {
            d.feature(0x53, "RemainingCapacity", 8, 0)
        });
        d.collection("OutletSystem", 0x00, |d| {
            d.collection("Outlet", 0x00, |d| d.feature(0x54, "PercentLoad", 8, 0));
        });
    });
    for (product, reads_it) in [(0x1330, false), (0x3012, true)] {
        let dev = tripplite(0x09ae, product);
        let mut driver = HidUps::new(
            claim(&dev, false).unwrap(),
            &d.bytes,
            dev,
            HidOptions::default(),
        );
        assert_eq!(
            driver.reports(Walk::Init).contains(&0x54),
            reads_it,
            "{product:04x}"
        );
        let mut state = DriverState::new();
        let reports = reports_with(
            &driver,
            &[
                ("UPS.PowerSummary.RemainingCapacity", 88.0),
                ("UPS.OutletSystem.Outlet.PercentLoad", 12.0),
            ],
        );
        walk_all(&mut driver, &mut state, &reports);
        assert_eq!(state.tree().value("battery.charge"), Some("88"));
        assert_eq!(
            state.tree().value("ups.load").is_some(),
            reads_it,
            "{product:04x}"
        );
    }
}

/// apc_format_model: the product in a 64-byte buffer, split at "FW:"; a replayed
/// product string with non-ASCII text before it is cut on a character boundary.
#[test]
fn apc_model_names_are_cut_as_nut_cuts_them() {
    let rec = fixtures()
        .into_iter()
        .find(|(name, _)| name == "apc-back-ups-cs-500.txt")
        .unwrap()
        .1;
    for (product, model, firmware) in [
        (
            "Back-UPS ES 700G ".repeat(4) + "FW:871.O4 .I USB FW:O4",
            "Back-UPS ES 700G Back-UPS ES 700G Back-UPS ES 700G Back-UPS ES 7",
            None,
        ),
        ("Back-UPS üFW:1.0".to_string(), "Back-UPS ", Some("1.0")),
    ] {
        let dev = UsbDevice {
            product: Some(product.clone()),
            ..device(&rec)
        };
        let mut driver = HidUps::new(
            claim(&dev, false).unwrap(),
            &rec.descriptor,
            dev,
            HidOptions::default(),
        );
        let mut state = DriverState::new();
        let r = reads(&driver, &rec, Walk::Init);
        assert!(driver.walk(&mut state, Walk::Init, &r, 0).ok);
        assert_eq!(
            state.tree().value("ups.model"),
            Some(&model[..model.len().min(63)]),
            "{product}"
        );
        assert_eq!(state.tree().value("ups.firmware"), firmware, "{product}");
    }
}

/// NUT's interrupt-only mode (Powercom's 0001 units, or `interruptonly` on any unit):
/// the table maps input items, no report is ever read with GET_REPORT, values are 0
/// until the first interrupt report (NUT's zeroed buffer), then the walks read the
/// buffered report, cut to `interruptsize` bytes (8 on these units).
#[test]
fn interrupt_only_units_are_read_from_their_interrupt_reports() {
    use nut_core::usbhid::POWERCOM_USAGES;
    let mut d = DescWriter::new(POWERCOM_USAGES);
    d.collection("PowercomUPS", 0x01, |d| {
        d.collection("PowercomPowerConverter", 0x00, |d| {
            d.collection("PowercomOutput", 0x00, |d| {
                d.input(1, "PowercomPrimaryBatterySupport", 8, 0);
                d.input(1, "PowercomInternalChargeController", 8, 0);
                d.input(1, "PowercomPercentLoad", 8, 0);
            });
            d.collection("PowercomInput", 0x00, |d| {
                d.input(1, "PowercomVoltage", 8, 0)
            });
        });
    });
    let dev = powercom(0x0001);
    let sub = claim(&dev, false).expect("Powercom claims 0d9f:0001");
    let mut driver = HidUps::new(sub, &d.bytes, dev, HidOptions::default());
    assert!(driver.interrupt_only());
    assert!(driver.reports(Walk::Init).is_empty(), "no GET_REPORT");
    let mut state = DriverState::new();
    assert!(driver.walk(&mut state, Walk::Init, &[], 0).ok);
    assert_eq!(state.tree().value("ups.load"), Some("0"));
    assert_eq!(state.tree().value("input.voltage"), Some("0"));
    // On battery, battery bad, 57 x 4 V; the ninth byte is past interrupt_size.
    driver.interrupt(&mut state, &[1, 0x01, 0x02, 44, 57, 0, 0, 0, 0xff]);
    assert_eq!(state.tree().value("ups.load"), Some("44"));
    assert!(driver.walk(&mut state, Walk::Quick, &[], 2).ok);
    assert_eq!(state.tree().value("ups.status"), Some("OB RB"));
    assert!(driver.walk(&mut state, Walk::Full, &[], 40).ok);
    assert_eq!(state.tree().value("input.voltage"), Some("228"));
    assert_eq!(state.tree().value("ups.alarm"), Some("Replace battery!"));

    // Another Powercom product is not interrupt-only unless the option says so.
    let plain = UsbDevice {
        product_id: 0x00a3,
        ..powercom(0x0001)
    };
    let driver = HidUps::new(
        claim(&plain, false).unwrap(),
        &d.bytes,
        plain.clone(),
        HidOptions::default(),
    );
    assert!(!driver.interrupt_only());
    // `interruptonly` and `interruptsize` as NUT reads them (atoi, above 0).
    let opts = |pairs: &[(&str, Option<&str>)]| {
        HidOptions::from_options(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect::<Vec<_>>(),
        )
    };
    let o = opts(&[("interruptonly", None), ("interruptsize", Some("8x"))]).unwrap();
    assert!(o.interruptonly);
    assert_eq!(o.interruptsize, Some(8));
    assert_eq!(
        opts(&[("interruptsize", Some("abc"))]).unwrap_err(),
        "Error: invalid interruptsize: 0"
    );
    let driver = HidUps::new(claim(&plain, false).unwrap(), &d.bytes, plain.clone(), o);
    assert!(driver.interrupt_only());
}

/// Belkin's table (belkin-hid.c) on a unit built from its paths on Belkin's own usage
/// page: tenths, the firmware and UPS type nibbles, the sensitivity, the bit-packed
/// power and battery status words, and the identity rules (a blank product is
/// "unknown", the maker loses its leading spaces).
#[test]
fn belkin_units_map_through_nuts_table() {
    use nut_core::usbhid::BELKIN_USAGES;
    let mut d = DescWriter::new(BELKIN_USAGES);
    d.collection("UPS", 0x01, |d| {
        d.collection("BELKINBatterySystem", 0x00, |d| {
            d.feature(1, "BELKINCharge", 8, 0);
            d.feature(1, "BELKINVoltage", 16, 0);
        });
        d.collection("BELKINConfig", 0x00, |d| {
            for name in [
                "BELKINConfigVoltage",
                "BELKINConfigBatteryVoltage",
                "BELKINConfigFrequency",
            ] {
                d.feature(2, name, 8, 0);
            }
            for name in [
                "BELKINConfigApparentPower",
                "BELKINLowVoltageTransfer",
                "BELKINHighVoltageTransfer",
            ] {
                d.feature(2, name, 16, 0);
            }
        });
        d.collection("BELKINPowerState", 0x00, |d| {
            d.collection("BELKINInput", 0x00, |d| {
                d.feature(3, "BELKINVoltage", 16, 0);
                d.feature(3, "BELKINFrequency", 16, 0);
            });
            d.collection("BELKINOutput", 0x00, |d| {
                d.feature(4, "BELKINVoltage", 16, 0);
                d.feature(4, "BELKINPercentLoad", 8, 0);
            });
        });
        d.collection("BELKINDevice", 0x00, |d| {
            d.feature(5, "BELKINUPSType", 8, 0);
            d.feature(5, "BELKINVoltageSensitivity", 8, 0);
        });
        d.collection("BELKINControls", 0x00, |d| {
            d.feature(6, "BELKINDelayBeforeShutdown", 16, 0);
            d.feature(7, "BELKINDelayBeforeStartup", 16, 0);
            d.feature(8, "BELKINTest", 8, 0);
            d.feature(9, "BELKINAudibleAlarmControl", 8, 0);
        });
        d.collection("BELKINStatus", 0x00, |d| {
            d.feature(10, "BELKINPowerStatus", 16, 0);
            d.feature(10, "BELKINBatteryStatus", 8, 0);
        });
    });
    let dev = UsbDevice {
        vendor_id: 0x050d,
        product_id: 0x0980,
        vendor: Some("  Belkin International".into()),
        product: Some(String::new()),
        serial: None,
        bus: "001".into(),
        device: "008".into(),
    };
    assert_eq!(
        claim(&dev, false).map(|s| s.name),
        Some("Belkin/Liebert HID 0.18")
    );
    let (_, state) = unit_with(
        dev,
        &d.bytes,
        &[
            ("UPS.BELKINBatterySystem.BELKINCharge", 95.0),
            ("UPS.BELKINBatterySystem.BELKINVoltage", 274.0),
            ("UPS.BELKINConfig.BELKINConfigVoltage", 120.0),
            ("UPS.BELKINConfig.BELKINConfigBatteryVoltage", 24.0),
            ("UPS.BELKINConfig.BELKINConfigFrequency", 60.0),
            ("UPS.BELKINConfig.BELKINConfigApparentPower", 800.0),
            ("UPS.BELKINConfig.BELKINLowVoltageTransfer", 96.0),
            ("UPS.BELKINConfig.BELKINHighVoltageTransfer", 138.0),
            ("UPS.BELKINPowerState.BELKINInput.BELKINVoltage", 1199.0),
            ("UPS.BELKINPowerState.BELKINInput.BELKINFrequency", 600.0),
            ("UPS.BELKINPowerState.BELKINOutput.BELKINVoltage", 1200.0),
            ("UPS.BELKINPowerState.BELKINOutput.BELKINPercentLoad", 17.0),
            ("UPS.BELKINDevice.BELKINUPSType", 0x52 as f64),
            ("UPS.BELKINDevice.BELKINVoltageSensitivity", 1.0),
            ("UPS.BELKINControls.BELKINAudibleAlarmControl", 2.0),
            // AC failure and overheat; low battery.
            ("UPS.BELKINStatus.BELKINPowerStatus", 0x0041 as f64),
            ("UPS.BELKINStatus.BELKINBatteryStatus", 0x04 as f64),
        ],
    );
    let v = |n: &str| state.tree().value(n).map(str::to_string);
    for (var, want) in [
        ("battery.charge", "95"),
        ("battery.voltage", "27.4"),
        ("battery.voltage.nominal", "24"),
        ("input.voltage.nominal", "120"),
        ("input.frequency.nominal", "60"),
        ("ups.power.nominal", "800"),
        ("input.transfer.low", "96"),
        ("input.transfer.high", "138"),
        ("input.voltage", "119.9"),
        ("input.frequency", "60.0"),
        ("output.voltage", "120.0"),
        ("ups.load", "17"),
        ("ups.firmware", "5"),
        ("ups.type", "line-interactive"),
        ("input.sensitivity", "reduced"),
        ("ups.test.result", "No test initiated"),
        ("ups.beeper.status", "enabled"),
        ("ups.delay.start", "30"),
        ("ups.alarm", "Temperature too high!"),
        ("ups.status", "ALARM OB LB"),
        ("ups.mfr", "Belkin International"),
        ("ups.model", "unknown"),
    ] {
        assert_eq!(v(var).as_deref(), Some(want), "{var}");
    }
    let entry = state.tree().get("input.sensitivity").unwrap();
    assert!(entry.flags.rw && entry.aux == 10);
    // The USB hub Belkin also makes is never claimed.
    let hub = UsbDevice {
        vendor_id: 0x050d,
        product_id: 0x0218,
        ..UsbDevice::default()
    };
    assert!(claim(&hub, true).is_none());
}

/// Liebert's own units (10af, belkin-hid.c): the 1e-7 a broken exponent makes of a
/// reading. NUT's heuristic keys on the nominal battery voltage reading exactly 1e-7,
/// which comes after the line voltages: they read 0.0 (with NUT's notice) until the
/// next walk applies the factor found.
#[test]
fn liebert_gxt_units_correct_their_broken_exponents_as_nut() {
    let mut d = DescWriter::new(&[]);
    d.collection("UPS", 0x01, |d| {
        d.collection("PowerSummary", 0x00, |d| {
            d.feature(1, "RemainingCapacity", 8, 0);
            d.feature(1, "ConfigVoltage", 8, -7);
            d.collection("PresentStatus", 0x02, |d| {
                d.feature(2, "ACPresent", 1, 0);
                d.feature(2, "Discharging", 1, 0);
            });
        });
        d.collection("Input", 0x00, |d| d.feature(3, "Voltage", 16, -7));
        d.collection("Output", 0x00, |d| {
            d.feature(4, "Voltage", 16, -7);
            d.feature(4, "PercentLoad", 8, 0);
        });
    });
    let dev = UsbDevice {
        vendor_id: 0x10af,
        product_id: 0x0001,
        vendor: None,
        product: Some("PowerSure PSA".into()),
        ..UsbDevice::default()
    };
    let sub = claim(&dev, false).unwrap();
    let mut driver = HidUps::new(sub, &d.bytes, dev, HidOptions::default());
    let mut state = DriverState::new();
    let reports = reports_with(
        &driver,
        &[
            ("UPS.PowerSummary.RemainingCapacity", 100.0),
            ("UPS.PowerSummary.ConfigVoltage", 1.5e-7),
            ("UPS.PowerSummary.PresentStatus.ACPresent", 1.0),
            ("UPS.Input.Voltage", 120.5e-7),
            ("UPS.Output.Voltage", 119.5e-7),
            ("UPS.Output.PercentLoad", 30.0),
        ],
    );
    let reads = |driver: &HidUps, walk: Walk| -> Vec<_> {
        driver
            .reports(walk)
            .into_iter()
            .map(|id| (id, reports.get(&id).cloned().ok_or(ReadError::Failed)))
            .collect()
    };
    let walked = driver.walk(&mut state, Walk::Init, &reads(&driver, Walk::Init), 0);
    assert_eq!(state.tree().value("input.voltage"), Some("0.0"));
    assert_eq!(state.tree().value("battery.voltage.nominal"), Some("10.0"));
    assert!(walked.notes.iter().any(|n| matches!(
        n,
        nut_core::qx::Note::Log(_, text) if text == "LineVoltage exponent looks wrong, but not correcting."
    )));
    assert!(
        driver
            .walk(&mut state, Walk::Full, &reads(&driver, Walk::Full), 100)
            .ok
    );
    assert_eq!(state.tree().value("input.voltage"), Some("120.0"));
    assert_eq!(state.tree().value("output.voltage"), Some("119.0"));
    assert_eq!(state.tree().value("ups.status"), Some("OL"));
    assert_eq!(state.tree().value("ups.mfr"), Some("Belkin"));
    assert_eq!(state.tree().value("ups.model"), Some("PowerSure PSA"));
}

/// From a review against NUT's source: a Powercom unit whose delays come from its own
/// page (flags 0 in NUT's table) keeps them read-only; Belkin's sensitivity is written
/// by name (NUT writes -1 whatever is asked, a NUT flaw); `interruptsize` takes any
/// positive size as NUT does; a huge SET value saturates instead of overflowing.
#[test]
fn review_fixes_hold() {
    use nut_core::usbhid::POWERCOM_USAGES;
    let mut d = DescWriter::new(POWERCOM_USAGES);
    d.collection("PowercomUPS", 0x01, |d| {
        d.collection("PowercomPowerConverter", 0x00, |d| {
            d.feature(1, "PowercomDelayBeforeShutdown", 8, 0);
        });
    });
    let (driver, mut state) = unit_with(
        powercom(0x00a3),
        &d.bytes,
        &[(
            "PowercomUPS.PowercomPowerConverter.PowercomDelayBeforeShutdown",
            15.0,
        )],
    );
    assert_eq!(state.tree().value("ups.delay.shutdown"), Some("15"));
    assert!(!state.tree().get("ups.delay.shutdown").unwrap().flags.rw);
    let mut lines = Vec::new();
    assert!(driver
        .set_var(&mut state, "ups.delay.shutdown", "60", &mut lines)
        .is_err());

    use nut_core::usbhid::BELKIN_USAGES;
    let mut d = DescWriter::new(BELKIN_USAGES);
    d.collection("UPS", 0x01, |d| {
        d.collection("BELKINDevice", 0x00, |d| {
            d.feature(5, "BELKINVoltageSensitivity", 8, 0)
        });
    });
    let belkin = UsbDevice {
        vendor_id: 0x050d,
        product_id: 0x0980,
        ..UsbDevice::default()
    };
    let (driver, mut state) = unit_with(belkin, &d.bytes, &[]);
    assert_eq!(state.tree().value("input.sensitivity"), Some("normal"));
    let writes = driver
        .set_var(&mut state, "input.sensitivity", "low", &mut lines)
        .unwrap();
    assert_eq!(writes[0].report, [5, 2]);

    let o = HidOptions::from_options(&[("interruptsize".to_string(), Some("512".to_string()))])
        .unwrap();
    assert_eq!(o.interruptsize, Some(nut_core::hidups::MAX_REPORT_BYTES));

    let item = nut_core::hid::Item {
        path: Vec::new(),
        kind: nut_core::hid::Kind::Feature,
        report_id: 1,
        offset: 0,
        size: 16,
        attribute: 0,
        log_min: 5,
        log_max: 1000,
        phy_min: Some(0),
        phy_max: Some(10),
        unit: 0,
        unit_exp: 0,
    };
    assert_eq!(to_logical(&item, 1e300), 1000);
}

/// NUT's hint for a unit of a known maker whose product no subdriver lists.
#[test]
fn an_unlisted_product_of_a_known_maker_gets_nuts_hint() {
    let dev = tripplite(0x09ae, 0x9999);
    assert!(claim(&dev, false).is_none());
    let hint = nut_core::hidups::possibly_supported(&dev).unwrap();
    assert!(
        hint.starts_with(
            "This Tripp Lite device (09ae:9999) is not (or perhaps not yet) supported"
        ),
        "{hint}"
    );
    assert!(hint.ends_with("'-x productid=9999' option."), "{hint}");
    // Listed units, refused ones and unknown makers get none.
    assert_eq!(
        nut_core::hidups::possibly_supported(&tripplite(0x09ae, 0x3016)),
        None
    );
    assert_eq!(
        nut_core::hidups::possibly_supported(&tripplite(0x09ae, 0x0001)),
        None
    );
    assert_eq!(
        nut_core::hidups::possibly_supported(&tripplite(0x1234, 0x0001)),
        None
    );
    // NUT gives none for HP, which makes many USB devices that are not UPSes.
    assert_eq!(
        nut_core::hidups::possibly_supported(&tripplite(0x03f0, 0x9999)),
        None
    );
}

fn eaton(
    vendor_id: u16,
    product_id: u16,
    vendor: Option<&str>,
    product: Option<&str>,
) -> UsbDevice {
    UsbDevice {
        vendor_id,
        product_id,
        vendor: vendor.map(str::to_string),
        product: product.map(str::to_string),
        serial: None,
        bus: "001".into(),
        device: "004".into(),
    }
}

/// An Eaton / MGE unit started as the binary's `run_walk` starts one: the Init walk's
/// reports, the iModel string its name needs (read before the walk), the walk, its
/// string items; then a full walk. `strings` answers string descriptors by index.
fn mge_started(
    dev: UsbDevice,
    desc: &[u8],
    values: &[(&str, f64)],
    strings: &[(u8, &str)],
) -> (HidUps, DriverState) {
    laid_out("MGE HID 1.46", dev, desc, values, strings)
}

/// A unit the subdriver named `subdriver` claims, started (its start-up and one full
/// walk) on reports carrying `values` by path, with `strings` as its string descriptors.
fn laid_out(
    subdriver: &str,
    dev: UsbDevice,
    desc: &[u8],
    values: &[(&str, f64)],
    strings: &[(u8, &str)],
) -> (HidUps, DriverState) {
    let sub = claim(&dev, false).expect("a subdriver claims the unit");
    assert_eq!(sub.name, subdriver);
    let mut driver = HidUps::new(sub, desc, dev, HidOptions::default());
    let mut state = DriverState::new();
    let reports = reports_with(&driver, values);
    let answer = |i: u8| {
        strings
            .iter()
            .find(|(n, _)| *n == i)
            .map(|(_, t)| t.to_string())
            .ok_or(ReadError::Failed)
    };
    for (walk, t) in [(Walk::Init, 0), (Walk::Full, 100)] {
        let reads: Vec<_> = driver
            .reports(walk)
            .into_iter()
            .map(|id| (id, reports.get(&id).cloned().ok_or(ReadError::Failed)))
            .collect();
        let wanted = driver.identity_strings(&reads);
        let read: Vec<_> = wanted.iter().map(|&i| (i, answer(i))).collect();
        driver.identity_read(&read);
        let walked = driver.walk(&mut state, walk, &reads, t);
        assert!(walked.ok);
        let read: Vec<_> = walked.strings.iter().map(|&i| (i, answer(i))).collect();
        driver.strings(&mut state, &read);
    }
    (driver, state)
}

/// An Eaton 5E 650i as NUT issue #484 shows it (usbhid-ups 2.7.4, "MGE HID 1.39", 57
/// HID objects): the report IDs, offsets and sizes of the items its debug log printed
/// (`UPS.Flow.[4].ConfigApparentPower` in report 0x0d at 0 with 16 bits,
/// `ConfigFrequency` at 16, `ConfigVoltage` in 0x12, `UPS.OutletSystem.Outlet.[1]`'s
/// `OutletID` in 0x0b at 16 and `PresentStatus.Switchable` in 0x0c); the other items
/// are laid out here (the log the thread holds stops there) to carry the values of
/// the upsc listing posted with it. The listing is NUT's: this driver must give every
/// line of it, and, as NUT 2.8.0's table adds it for units without an active power
/// reading, the computed `ups.realpower` (21 % of 650 VA at 0.8).
#[test]
fn an_eaton_5e_650i_reads_as_nut_listed_it() {
    use nut_core::mgehid::MGE_USAGES;
    let mut d = DescWriter::new(MGE_USAGES);
    d.collection("UPS", 0x01, |d| {
        d.collection("PowerSummary", 0x00, |d| {
            d.feature(0x06, "RemainingCapacity", 8, 0);
            d.feature(0x06, "RunTimeToEmpty", 16, 0);
            d.feature(0x07, "PercentLoad", 8, 0);
            d.feature(0x10, "iDeviceChemistry", 8, 0);
            d.feature(0x10, "iVersion", 8, 0);
            d.feature(0x10, "iModel", 8, 0);
            d.feature(0x11, "AudibleAlarmControl", 8, 0);
            d.feature_signed(0x15, "DelayBeforeShutdown", 16, 0);
            d.collection("PresentStatus", 0x02, |d| {
                for name in ["ACPresent", "Charging", "Discharging", "Good"] {
                    d.feature(0x01, name, 8, 0);
                }
            });
        });
        d.collection("Flow", 0x84, |d| {
            d.feature(0x0d, "ConfigApparentPower", 16, 0);
            d.feature(0x0d, "ConfigFrequency", 8, 0);
            d.feature(0x12, "ConfigVoltage", 8, 0);
        });
        d.collection("OutletSystem", 0x00, |d| {
            d.collection("Outlet", 0x81, |d| {
                d.feature(0x0b, "FlowID", 8, 0);
                d.feature(0x0b, "FlowID", 8, 0);
                d.feature(0x0b, "OutletID", 8, 0);
                d.collection("PresentStatus", 0x02, |d| {
                    d.feature(0x0c, "Switchable", 8, 0)
                });
            });
        });
        d.collection("PowerConverter", 0x00, |d| {
            d.collection("Input", 0x81, |d| d.feature(0x0f, "Voltage", 16, -1));
            d.collection("Input", 0x83, |d| d.feature(0x20, "StartOnBattery", 8, 0));
            d.collection("Output", 0x00, |d| {
                d.feature(0x1c, "Voltage", 16, -1);
                d.feature(0x1c, "Frequency", 16, -1);
            });
        });
    });
    let desc = d.bytes;
    let dev = eaton(0x0463, 0xffff, Some("EATON"), Some("5E"));
    let (driver, state) = mge_started(
        dev,
        &desc,
        &[
            ("UPS.PowerSummary.RemainingCapacity", 100.0),
            ("UPS.PowerSummary.RunTimeToEmpty", 1590.0),
            ("UPS.PowerSummary.PercentLoad", 21.0),
            ("UPS.PowerSummary.iDeviceChemistry", 4.0),
            ("UPS.PowerSummary.iVersion", 5.0),
            ("UPS.PowerSummary.iModel", 6.0),
            ("UPS.PowerSummary.AudibleAlarmControl", 2.0),
            ("UPS.PowerSummary.DelayBeforeShutdown", -1.0),
            ("UPS.PowerSummary.PresentStatus.ACPresent", 1.0),
            ("UPS.PowerSummary.PresentStatus.Good", 1.0),
            ("UPS.Flow.[4].ConfigApparentPower", 650.0),
            ("UPS.Flow.[4].ConfigFrequency", 50.0),
            ("UPS.Flow.[4].ConfigVoltage", 230.0),
            ("UPS.OutletSystem.Outlet.[1].OutletID", 1.0),
            ("UPS.PowerConverter.Input.[1].Voltage", 229.0),
            ("UPS.PowerConverter.Input.[3].StartOnBattery", 1.0),
            ("UPS.PowerConverter.Output.Voltage", 226.0),
            ("UPS.PowerConverter.Output.Frequency", 50.0),
        ],
        &[(4, "PbAc"), (5, "02.06.0017"), (6, "650i")],
    );
    // nut#484's listing, but for the driver.* lines (this driver's own).
    let nut = "battery.charge: 100
battery.runtime: 1590
battery.type: PbAc
device.mfr: EATON
device.model: 5E 650i
device.type: ups
input.voltage: 229.0
outlet.1.status: on
outlet.desc: Main Outlet
outlet.id: 1
outlet.switchable: no
output.frequency: 50.0
output.frequency.nominal: 50
output.voltage: 226.0
output.voltage.nominal: 230
ups.beeper.status: enabled
ups.delay.shutdown: 20
ups.firmware: 02.06.0017
ups.load: 21
ups.mfr: EATON
ups.model: 5E 650i
ups.power.nominal: 650
ups.productid: ffff
ups.start.battery: yes
ups.status: OL
ups.timer.shutdown: -1
ups.vendorid: 0463";
    let mut ours: Vec<String> = state
        .tree()
        .vars()
        .filter(|v| !v.name.starts_with("driver."))
        .map(|v| format!("{}: {}", v.name, v.value))
        .collect();
    ours.sort();
    let mut expected: Vec<String> = nut.lines().map(str::to_string).collect();
    expected.push("ups.realpower: 109".to_string());
    expected.sort();
    assert_eq!(ours, expected);
    // Writable as NUT's table flags them, the nominal voltage with the values a
    // line-interactive 230 V unit may take.
    let var = state.tree().get("output.voltage.nominal").unwrap();
    assert!(var.flags.rw && var.flags.string && var.aux == 3);
    assert_eq!(var.enums, ["200", "208", "220", "230", "240"]);
    assert!(state.tree().get("ups.start.battery").unwrap().flags.rw);
    assert!(!state.tree().get("outlet.switchable").unwrap().flags.rw);
    // NUT's commands for such a unit: only the shutdown timer is there.
    let cmds: Vec<&str> = state.tree().cmds().collect();
    for cmd in [
        "load.off",
        "load.off.delay",
        "shutdown.stop",
        "beeper.on",
        "beeper.off",
        "beeper.enable",
    ] {
        assert!(cmds.contains(&cmd), "{cmd} in {cmds:?}");
    }
    assert!(!cmds.contains(&"shutdown.return"), "{cmds:?}");
    assert_eq!(driver.subdriver().name, "MGE HID 1.46");
}

/// A descriptor with the Eaton items the model-dependent rows read.
fn eaton_descriptor() -> Vec<u8> {
    use nut_core::mgehid::MGE_USAGES;
    let mut d = DescWriter::new(MGE_USAGES);
    d.collection("UPS", 0x01, |d| {
        d.collection("PowerSummary", 0x00, |d| {
            d.feature(0x06, "RemainingCapacity", 8, 0);
            d.feature(0x06, "PercentLoad", 8, 0);
            d.feature(0x07, "Voltage", 16, -1);
            d.feature(0x07, "ConfigVoltage", 8, 0);
            d.feature(0x08, "Country", 8, 0);
            d.feature(0x10, "iModel", 8, 0);
            d.feature(0x13, "Time", 32, 0);
            d.collection("PresentStatus", 0x02, |d| {
                for name in [
                    "ACPresent",
                    "Charging",
                    "Discharging",
                    "Good",
                    "FanFailure",
                    "EmergencyStop",
                ] {
                    d.feature(0x01, name, 8, 0);
                }
            });
        });
        d.collection("BatterySystem", 0x00, |d| {
            d.collection("Charger", 0x00, |d| {
                d.feature(0x14, "ABMEnable", 8, 0);
                d.feature(0x14, "Mode", 8, 0);
            });
        });
        d.collection("Flow", 0x84, |d| {
            d.feature(0x0d, "ConfigApparentPower", 16, 0);
            d.feature(0x12, "ConfigVoltage", 8, 0);
        });
        d.collection("OutletSystem", 0x00, |d| {
            d.collection("Outlet", 0x81, |d| {
                d.feature(0x0b, "ConfigApparentPower", 8, 0)
            });
            d.collection("Outlet", 0x83, |d| {
                d.collection("PresentStatus", 0x02, |d| {
                    d.feature(0x0c, "Switchable", 8, 0)
                });
            });
        });
    });
    d.bytes
}

const EATON_VALUES: &[(&str, f64)] = &[
    ("UPS.PowerSummary.RemainingCapacity", 80.0),
    ("UPS.PowerSummary.PercentLoad", 30.0),
    ("UPS.PowerSummary.Voltage", 27.3),
    ("UPS.PowerSummary.ConfigVoltage", 24.0),
    ("UPS.PowerSummary.iModel", 6.0),
    // 2026-12-02 04:08:00 UTC
    ("UPS.PowerSummary.Time", 1_796_184_480.0),
    ("UPS.PowerSummary.PresentStatus.ACPresent", 1.0),
    ("UPS.PowerSummary.PresentStatus.Good", 1.0),
    ("UPS.PowerSummary.PresentStatus.EmergencyStop", 1.0),
    ("UPS.PowerSummary.PresentStatus.FanFailure", 1.0),
    ("UPS.BatterySystem.Charger.ABMEnable", 1.0),
    ("UPS.BatterySystem.Charger.Mode", 3.0),
    ("UPS.Flow.[4].ConfigApparentPower", 650.0),
    ("UPS.Flow.[4].ConfigVoltage", 230.0),
    ("UPS.OutletSystem.Outlet.[1].ConfigApparentPower", 25.0),
    ("UPS.OutletSystem.Outlet.[3].PresentStatus.Switchable", 1.0),
];

/// mge-hid.c's model-dependent rows: the model name decides the type, and the type
/// which values are published and which can be set.
#[test]
fn eaton_model_names_decide_what_a_unit_publishes() {
    let desc = eaton_descriptor();
    let value = |state: &DriverState, var: &str| state.tree().value(var).map(str::to_string);
    // An Evolution 650: battery voltages published, the nominal forced to 12 V.
    let dev = eaton(0x0463, 0xffff, Some("MGE UPS SYSTEMS"), Some("Evolution"));
    let (_, state) = mge_started(dev, &desc, EATON_VALUES, &[(6, "650")]);
    assert_eq!(value(&state, "ups.model").as_deref(), Some("Evolution 650"));
    assert_eq!(value(&state, "battery.voltage").as_deref(), Some("27.3"));
    assert_eq!(
        value(&state, "battery.voltage.nominal").as_deref(),
        Some("12")
    );
    // Not a Pegasus: the threshold and the master/slave switch stay out or read-only.
    assert_eq!(value(&state, "outlet.power"), None);
    let switchable = state.tree().get("outlet.2.switchable").unwrap();
    assert_eq!(switchable.value, "yes");
    assert!(!switchable.flags.rw, "the generic row is read-only");
    // Row alarms first, then the status flags' ones; ALARM leads the status.
    assert_eq!(
        value(&state, "ups.alarm").as_deref(),
        Some("Emergency stop! Fan failure!")
    );
    // ABM on: the charger mode says floating, which is CHRG.
    assert_eq!(
        value(&state, "battery.charger.status").as_deref(),
        Some("floating")
    );
    assert_eq!(
        value(&state, "ups.status").as_deref(),
        Some("ALARM OL CHRG")
    );
    // Unix time as UTC date and time; the real power computed (30 % of 650 VA x 0.8).
    assert_eq!(value(&state, "ups.date").as_deref(), Some("2026/12/02"));
    assert_eq!(value(&state, "ups.time").as_deref(), Some("04:08:00"));
    assert_eq!(value(&state, "ups.realpower").as_deref(), Some("156"));
    // The country row publishes nothing.
    assert_eq!(value(&state, "device.country"), None);

    // A 3S 700 (Pegasus kind): the threshold is published and settable among 10, 25
    // and 60 VA, the switch is settable; battery voltages are not published.
    let dev = eaton(0x0463, 0xffff, Some("EATON"), Some("3S"));
    let (driver, mut state) = mge_started(dev, &desc, EATON_VALUES, &[(6, "700")]);
    assert_eq!(value(&state, "ups.model").as_deref(), Some("3S 700"));
    assert_eq!(value(&state, "battery.voltage"), None);
    assert_eq!(value(&state, "battery.voltage.nominal"), None);
    let power = state.tree().get("outlet.power").unwrap();
    assert_eq!((power.value.as_str(), power.flags.rw), ("25", true));
    assert_eq!(power.enums, ["10", "25", "60"]);
    assert!(state.tree().get("outlet.2.switchable").unwrap().flags.rw);
    // An offline unit's nominal voltage takes only 220-240 V.
    let nominal = state.tree().get("output.voltage.nominal").unwrap();
    assert_eq!(nominal.enums, ["220", "230", "240"]);
    let mut lines = Vec::new();
    let writes = driver
        .set_var(&mut state, "outlet.power", "60", &mut lines)
        .unwrap();
    assert_eq!(writes[0].report, [0x0b, 60]);
    assert_eq!(
        driver.set_var(&mut state, "outlet.power", "50", &mut lines),
        Err(nut_core::dummy::tracking::UNKNOWN)
    );
    // Setting the time writes Unix time from the date and the new time (UTC).
    let writes = driver
        .set_var(&mut state, "ups.time", "05:00:01", &mut lines)
        .unwrap();
    let t = 1_796_184_480u32 + 3121;
    let mut want = vec![0x13];
    want.extend(t.to_le_bytes());
    assert_eq!(writes[0].report, want);
    // NUT writes 0 (1970) for a time strptime rejects; refused here.
    assert_eq!(
        driver.set_var(&mut state, "ups.time", "noon", &mut lines),
        Err(nut_core::dummy::tracking::UNKNOWN)
    );

    // No iModel string: the apparent power names the model.
    let dev = eaton(0x0463, 0xffff, None, Some("Ellipse MAX"));
    let mut values = EATON_VALUES.to_vec();
    values.retain(|(p, _)| !p.ends_with("iModel"));
    values.push(("UPS.Flow.[4].ConfigApparentPower", 850.0));
    let (_, state) = mge_started(dev, &desc, &values, &[]);
    assert_eq!(
        value(&state, "ups.model").as_deref(),
        Some("Ellipse MAX 850")
    );
    assert_eq!(
        value(&state, "ups.mfr").as_deref(),
        Some("Eaton"),
        "mge_format_mfr's default"
    );
    // Dell names its units fully.
    let dev = eaton(
        0x047c,
        0xffff,
        Some("Dell"),
        Some("Dell UPS Tower 1920W HV"),
    );
    let (_, state) = mge_started(dev, &desc, EATON_VALUES, &[(6, "650")]);
    assert_eq!(
        value(&state, "ups.model").as_deref(),
        Some("Dell UPS Tower 1920W HV")
    );
}

/// mge-hid.c `mge_claim`, first in NUT's subdriver list.
#[test]
fn eaton_claims_follow_nut() {
    let name = |dev: &UsbDevice, productid: bool| claim(dev, productid).map(|s| s.name);
    // Phoenixtec's ffff is AEG's PROTECT NAS only when a string names AEG.
    let plain = eaton(0x06da, 0xffff, Some("Phoenixtec"), Some("LI 1000"));
    assert_eq!(name(&plain, false), Some("Phoenixtec/Liebert HID 0.41"));
    let aeg = eaton(0x06da, 0xffff, None, Some("PROTECT NAS AEG"));
    assert_eq!(name(&aeg, false), Some("MGE HID 1.46"));
    // Any Phoenixtec product naming AEG, productid or not; the others are Liebert's.
    let aeg_other = eaton(0x06da, 0x0002, Some("AEG"), None);
    assert_eq!(name(&aeg_other, false), Some("MGE HID 1.46"));
    let other = eaton(0x06da, 0x0002, Some("Phoenixtec"), None);
    assert_eq!(name(&other, false), None);
    assert_eq!(name(&other, true), Some("Phoenixtec/Liebert HID 0.41"));
    // Eaton, Dell, Powerware, IBM.
    for (v, p) in [
        (0x0463, 0x0001),
        (0x047c, 0xffff),
        (0x0592, 0x0004),
        (0x04b3, 0x0001),
    ] {
        assert_eq!(name(&eaton(v, p, None, None), false), Some("MGE HID 1.46"));
    }
    // Another Eaton product: only with productid, and NUT's hint says so.
    let other = eaton(0x0463, 0x1234, None, None);
    assert_eq!(name(&other, false), None);
    assert_eq!(name(&other, true), Some("MGE HID 1.46"));
    let hint = nut_core::hidups::possibly_supported(&other).unwrap();
    assert!(
        hint.starts_with("This Eaton / MGE device (0463:1234)"),
        "{hint}"
    );
    // Dell's other products: no hint (Dell makes many USB devices).
    assert_eq!(
        nut_core::hidups::possibly_supported(&eaton(0x047c, 0x1234, None, None)),
        None
    );
    // An HP unit Tripp Lite's table lists is Tripp Lite's; with productid, MGE, first
    // in NUT's list, takes any HP product.
    let hp = eaton(0x03f0, 0x1fe0, None, None);
    assert_eq!(name(&hp, false), Some("TrippLite HID 0.84"));
    assert_eq!(name(&hp, true), Some("MGE HID 1.46"));
}

/// libusb1.c's report descriptor length: the one after the interface descriptor when
/// there, but the one asked for on Eaton's v2.02 units, whose full descriptor is the
/// longer (nut#2189's 5P1550GR-L logged "Eaton device v2.02. Using full report
/// descriptor").
#[test]
fn report_descriptor_length_as_libusb1_chooses_it() {
    use nut_core::hidups::report_descriptor_length as len;
    assert_eq!(len(0x051d, 0x0106, Some(1156), Some(1049)), Some(1049));
    assert_eq!(len(0x051d, 0x0106, Some(1156), None), Some(1156));
    assert_eq!(len(0x0463, 0x0202, Some(4703), Some(1156)), Some(4703));
    assert_eq!(len(0x0463, 0x0202, None, Some(1156)), None);
    assert_eq!(len(0x0463, 0x0100, Some(4703), Some(1156)), Some(1156));
    assert_eq!(len(0x0764, 0x0001, None, None), None);
}

/// `-x explore` with `-D`: libhid.c's `HIDDumpTree` lines over the recorded reports are
/// the explore output NUT printed for each recorded unit (the fixtures' `objects` and
/// `item` lines), item for item.
#[test]
fn the_hid_tree_dump_prints_what_nuts_explore_printed() {
    use nut_core::hidups::{Matcher, EXPLORE};
    let all = fixtures();
    assert!(all.len() >= 2);
    for (name, rec) in all {
        let dev = device(&rec);
        let options: Vec<(String, Option<String>)> = vec![
            ("vendorid".into(), Some(format!("{:04x}", dev.vendor_id))),
            ("explore".into(), None),
        ];
        let matcher = Matcher::from_options(&options).unwrap();
        assert!(matcher.matches(&dev));
        let sub = matcher.claim(&dev).unwrap();
        assert_eq!(sub.name, EXPLORE.name);
        let hid = HidOptions::from_options(&options).unwrap();
        assert!(hid.explore);
        let driver = HidUps::new(sub, &rec.descriptor, dev, hid);
        // The first read of each report, as the dump comes before any walk.
        let reads: Vec<_> = driver
            .tree_reports()
            .into_iter()
            .map(|id| {
                let first = rec.reports.iter().find(|r| r.first() == Some(&id)).cloned();
                (id, first.ok_or(ReadError::Failed))
            })
            .collect();
        let lines = driver.tree_lines(&reads);
        assert_eq!(
            lines[0],
            format!("{} HID objects found", rec.objects),
            "{name}"
        );
        let ours: Vec<String> = lines[1..]
            .iter()
            .map(|l| {
                let f: Vec<&str> = l
                    .strip_prefix("Path: ")
                    .unwrap()
                    .split(", ")
                    .map(|p| p.split_once(": ").map_or(p, |(_, v)| v))
                    .collect();
                f.join("|")
            })
            .collect();
        assert_eq!(ours, rec.items, "{name}");
    }
    // NUT refuses explore without a vendor ID.
    let err = HidOptions::from_options(&[("explore".into(), None)]).unwrap_err();
    assert_eq!(err, "must specify \"vendorid\" when using \"explore\"");
}

/// A Salicru SPS 850 ADV T as NUT 2.8.0 listed it ("Salicru HID 0.3", nut-ddl
/// `Salicru__SPS_850_ADV_T__usbhid_ups__2.8.0__01.dev`, from nut#1416): a unit laid out
/// here with the items salicru-hid.c reads, carrying the listing's values. Its product
/// 0302 is not in NUT's list: the listing was taken with `productid` given. The
/// driver must print the listing (maker "1" and model " 850" as the unit named
/// itself; the output voltage a tenth of the input, as the unit reported it).
#[test]
fn a_salicru_sps_850_reads_as_nut_listed_it() {
    let mut d = DescWriter::new(&[]);
    d.collection("UPS", 0x01, |d| {
        d.collection("PowerSummary", 0x00, |d| {
            d.feature(0x01, "RemainingCapacity", 8, 0);
            d.feature(0x01, "WarningCapacityLimit", 8, 0);
            d.feature(0x01, "RemainingCapacityLimit", 8, 0);
            d.feature(0x02, "RunTimeToEmpty", 16, 0);
            d.feature(0x02, "RemainingTimeLimit", 16, 0);
            d.feature(0x03, "iDeviceChemistry", 8, 0);
            d.feature(0x04, "ConfigVoltage", 8, 0);
            d.feature(0x04, "Voltage", 16, -2);
            d.feature(0x05, "AudibleAlarmControl", 8, 0);
            d.feature(0x05, "PercentLoad", 8, 0);
            d.collection("PresentStatus", 0x02, |d| {
                for name in [
                    "ACPresent",
                    "Charging",
                    "Discharging",
                    "BelowRemainingCapacityLimit",
                ] {
                    d.feature(0x06, name, 8, 0);
                }
            });
        });
        d.collection("Input", 0x00, |d| {
            d.feature(0x07, "Frequency", 16, -1);
            d.feature(0x07, "ConfigVoltage", 16, 0);
            d.feature(0x07, "Voltage", 16, -1);
        });
        d.collection("Output", 0x00, |d| {
            d.feature(0x08, "Frequency", 16, -1);
            d.feature(0x08, "Voltage", 16, -1);
            d.feature(0x08, "ConfigActivePower", 16, 0);
        });
    });
    let dev = UsbDevice {
        vendor_id: 0x2e66,
        product_id: 0x0302,
        vendor: Some("1".into()),
        product: Some(" 850".into()),
        serial: Some("000000000000".into()),
        bus: "001".into(),
        device: "005".into(),
    };
    assert!(claim(&dev, false).is_none(), "0302 is not in NUT's list");
    let hint = nut_core::hidups::possibly_supported(&dev).unwrap();
    assert!(
        hint.starts_with("This Salicru device (2e66:0302)"),
        "{hint}"
    );
    let sub = claim(&dev, true).unwrap();
    assert_eq!(sub.name, "Salicru HID 0.3");
    let mut driver = HidUps::new(sub, &d.bytes, dev, HidOptions::default());
    let mut state = DriverState::new();
    let reports = reports_with(
        &driver,
        &[
            ("UPS.PowerSummary.RemainingCapacity", 100.0),
            ("UPS.PowerSummary.WarningCapacityLimit", 20.0),
            ("UPS.PowerSummary.RemainingCapacityLimit", 10.0),
            ("UPS.PowerSummary.RunTimeToEmpty", 4500.0),
            ("UPS.PowerSummary.RemainingTimeLimit", 300.0),
            ("UPS.PowerSummary.iDeviceChemistry", 3.0),
            ("UPS.PowerSummary.ConfigVoltage", 24.0),
            ("UPS.PowerSummary.Voltage", 26.0),
            ("UPS.PowerSummary.AudibleAlarmControl", 2.0),
            ("UPS.PowerSummary.PercentLoad", 11.0),
            ("UPS.PowerSummary.PresentStatus.ACPresent", 1.0),
            ("UPS.Input.Frequency", 50.2),
            ("UPS.Input.ConfigVoltage", 230.0),
            ("UPS.Input.Voltage", 228.0),
            ("UPS.Output.Frequency", 50.2),
            ("UPS.Output.Voltage", 22.8),
            ("UPS.Output.ConfigActivePower", 595.0),
        ],
    );
    for (walk, t) in [(Walk::Init, 0), (Walk::Full, 100)] {
        let reads: Vec<_> = driver
            .reports(walk)
            .into_iter()
            .map(|id| (id, reports.get(&id).cloned().ok_or(ReadError::Failed)))
            .collect();
        let walked = driver.walk(&mut state, walk, &reads, t);
        assert!(walked.ok);
        let strings: Vec<_> = walked
            .strings
            .iter()
            .map(|&i| (i, Ok("PbAcid".to_string())))
            .collect();
        driver.strings(&mut state, &strings);
    }
    let nut = "battery.charge: 100
battery.charge.low: 10
battery.charge.warning: 20
battery.runtime: 4500
battery.runtime.low: 300
battery.type: PbAcid
battery.voltage: 26.00
battery.voltage.nominal: 24
device.mfr: 1
device.model:  850
device.serial: 000000000000
device.type: ups
input.frequency: 50.2
input.voltage: 228.0
input.voltage.nominal: 230
output.frequency: 50.2
output.voltage: 22.8
output.voltage.nominal: 24
ups.beeper.status: enabled
ups.load: 11
ups.mfr: 1
ups.model:  850
ups.productid: 0302
ups.realpower.nominal: 595
ups.serial: 000000000000
ups.status: OL
ups.vendorid: 2e66";
    let mut ours: Vec<String> = state
        .tree()
        .vars()
        .filter(|v| !v.name.starts_with("driver."))
        .map(|v| format!("{}: {}", v.name, v.value))
        .collect();
    ours.sort();
    let mut want: Vec<&str> = nut.lines().collect();
    want.sort();
    assert_eq!(ours, want);
    assert!(state.tree().get("battery.runtime.low").unwrap().flags.rw);
}

/// The smaller subdrivers' claims, in NUT's order (MGE, APC, Arduino, Belkin, CPS,
/// Delta, iDowell, Legrand, Liebert, Powercom, Powervar, Salicru, Tripp Lite), and
/// Delta's own readings.
#[test]
fn the_smaller_vendors_claim_and_read_as_nut() {
    let unit = |v: u16, p: u16| UsbDevice {
        vendor_id: v,
        product_id: p,
        vendor: None,
        product: Some("Amplon R".into()),
        serial: None,
        bus: "001".into(),
        device: "006".into(),
    };
    for (v, p, name) in [
        (0x2341, 0x8036, "Arduino HID 0.2"),
        (0x2a03, 0x0040, "Arduino HID 0.2"),
        (0x05dd, 0x041b, "Delta UPS HID 0.6"),
        (0x075d, 0x0300, "iDowell HID 0.2"),
        (0x1cb0, 0x0032, "Legrand HID 0.2"),
        (0x4234, 0x0002, "Powervar HID 0.20"),
        (0x2e66, 0x0300, "Salicru HID 0.3"),
    ] {
        assert_eq!(
            claim(&unit(v, p), false).map(|s| s.name),
            Some(name),
            "{v:04x}:{p:04x}"
        );
    }
    // A Minuteman unit (Delta's vendor ID) Tripp Lite's table lists: Tripp Lite's; with
    // productid, Delta's, which comes first in NUT's list.
    assert_eq!(
        claim(&unit(0x05dd, 0xa011), false).map(|s| s.name),
        Some("TrippLite HID 0.84")
    );
    assert_eq!(
        claim(&unit(0x05dd, 0xa011), true).map(|s| s.name),
        Some("Delta UPS HID 0.6")
    );
    // NUT 2.8.0's row counts (its DEBUG-only rows left out, as its builds do).
    use nut_core::hidvendors as v;
    for (table, rows) in [
        (v::ARDUINO_HID2NUT, 9),
        (v::DELTA_HID2NUT, 70),
        (v::IDOWELL_HID2NUT, 28),
        (v::LEGRAND_HID2NUT, 44),
        (v::POWERVAR_HID2NUT, 17),
        (v::SALICRU_HID2NUT, 44),
    ] {
        assert_eq!(table.len(), rows);
    }
    // Usage names match whatever their case, as libhid.c's strcasecmp.
    assert_eq!(
        nut_core::usbhid::path_code("UPS.PowerSummary.RuntimeToEmpty", &[]),
        nut_core::usbhid::path_code("UPS.PowerSummary.RunTimeToEmpty", &[])
    );
    // The HID interface NUT reads on composite units.
    assert_eq!(nut_core::hidups::ARDUINO.hid_interface, 2);
    assert_eq!(nut_core::hidups::POWERVAR.hid_interface, 1);
    // Delta: the model from its own item's string, the type from a nibble.
    use nut_core::hidvendors::DELTA_USAGES;
    let mut d = DescWriter::new(DELTA_USAGES);
    d.collection("UPS", 0x01, |d| {
        d.collection("DeltaCustom", 0x81, |d| {
            d.feature(0x30, "DeltaModelName", 8, 0);
            d.feature(0x30, "DeltaUPSType", 8, 0);
            d.feature(0x30, "DeltaConfigSensitivity", 8, 0);
        });
        d.collection("PowerSummary", 0x00, |d| {
            d.feature(0x01, "RemainingCapacity", 8, 0);
            d.collection("PresentStatus", 0x02, |d| {
                d.feature(0x02, "ACPresent", 8, 0)
            });
        });
    });
    let (mut driver, mut state) = (
        HidUps::new(
            claim(&unit(0x05dd, 0x041b), false).unwrap(),
            &d.bytes,
            unit(0x05dd, 0x041b),
            HidOptions::default(),
        ),
        DriverState::new(),
    );
    let reports = reports_with(
        &driver,
        &[
            ("UPS.DeltaCustom.[1].DeltaModelName", 7.0),
            ("UPS.DeltaCustom.[1].DeltaUPSType", 0x26 as f64),
            ("UPS.DeltaCustom.[1].DeltaConfigSensitivity", 1.0),
            ("UPS.PowerSummary.RemainingCapacity", 99.0),
            ("UPS.PowerSummary.PresentStatus.ACPresent", 1.0),
        ],
    );
    let reads: Vec<_> = driver
        .reports(Walk::Init)
        .into_iter()
        .map(|id| (id, reports.get(&id).cloned().ok_or(ReadError::Failed)))
        .collect();
    assert_eq!(driver.identity_strings(&reads), [7]);
    driver.identity_read(&[(7, Ok("UPS202R2000B0BA".to_string()))]);
    assert!(driver.walk(&mut state, Walk::Init, &reads, 0).ok);
    let value = |var: &str| state.tree().value(var).map(str::to_string);
    assert_eq!(value("ups.model").as_deref(), Some("UPS202R2000B0BA"));
    assert_eq!(
        value("ups.mfr").as_deref(),
        Some("Delta"),
        "delta_ups_format_mfr's default"
    );
    // 0x26: type 6 is split-phase.
    assert_eq!(value("ups.type").as_deref(), Some("split-phase"));
    assert_eq!(value("input.sensitivity").as_deref(), Some("reduced"));
    // Writable as NUT flags it: RW without STRING.
    let sensitivity = state.tree().get("input.sensitivity").unwrap();
    assert!(sensitivity.flags.rw && !sensitivity.flags.string);
    assert_eq!(nut_core::hidvendors::delta_ups_type(3.0), Some("offline"));
    assert_eq!(nut_core::hidvendors::delta_ups_type(7.0), None);
}

/// openups-hid.c: Mini-Box's units, with each product's factors for line readings, the
/// thermistor table (nut-ddl's OPEN-UPS2 listing shows 24.59 °C, which a reading of
/// 5.08 gives), and its own status functions.
#[test]
fn openups_units_read_as_nut() {
    use nut_core::hidvendors::{openups_temperature, OPENUPS_USAGES};
    assert_eq!(openups_temperature(5.08), "24.59");
    assert_eq!(openups_temperature(0.1), "-40");
    assert_eq!(openups_temperature(20.0), "125");
    // A table point: 0x200 is 25 °C.
    assert_eq!(openups_temperature(5.12), "25");
    let mut d = DescWriter::new(OPENUPS_USAGES);
    d.collection("UPS", 0x01, |d| {
        d.collection("PowerSummary", 0x00, |d| {
            d.feature(0x01, "Temperature", 16, -2);
            d.feature(0x01, "RemainingCapacity", 8, 0);
            d.collection("Input", 0x00, |d| d.feature(0x02, "Voltage", 16, 0));
            d.collection("Output", 0x00, |d| d.feature(0x02, "Voltage", 16, 0));
            d.collection("PresentStatus", 0x02, |d| {
                for name in ["ACPresent", "Good", "Charging", "Discharging"] {
                    d.feature(0x03, name, 8, 0);
                }
            });
        });
    });
    for (product, input, output) in [(0xd004, "425.40", "308.52"), (0xd005, "12.00", "12.00")] {
        let dev = UsbDevice {
            vendor_id: 0x04d8,
            product_id: product,
            vendor: Some("Mini-Box.Com".into()),
            product: Some("OPEN-UPS2".into()),
            serial: Some("LI-ION".into()),
            bus: "001".into(),
            device: "007".into(),
        };
        let (driver, state) = unit_with(
            dev,
            &d.bytes,
            &[
                ("UPS.PowerSummary.Temperature", 5.08),
                ("UPS.PowerSummary.RemainingCapacity", 100.0),
                // Raw 120: 120 x 3.545 and 120 x 2.571 on d004, x 0.1 on d005.
                ("UPS.PowerSummary.Input.Voltage", 120.0),
                ("UPS.PowerSummary.Output.Voltage", 120.0),
                ("UPS.PowerSummary.PresentStatus.ACPresent", 1.0),
                ("UPS.PowerSummary.PresentStatus.Good", 1.0),
                ("UPS.PowerSummary.PresentStatus.Charging", 1.0),
            ],
        );
        assert_eq!(driver.subdriver().name, "openUPS HID 0.5");
        let value = |var: &str| state.tree().value(var).map(str::to_string);
        assert_eq!(value("battery.temperature").as_deref(), Some("24.59"));
        assert_eq!(
            value("input.voltage").as_deref(),
            Some(input),
            "{product:04x}"
        );
        assert_eq!(
            value("output.voltage").as_deref(),
            Some(output),
            "{product:04x}"
        );
        assert_eq!(value("ups.status").as_deref(), Some("OL CHRG"));
    }
}

/// ever-hid.c: its formatting functions and those that read whole reports, the IP
/// address rows taking reports 211, 230, 231 and 232 in turn as NUT's counter does.
#[test]
fn ever_units_read_as_nut() {
    use nut_core::hidvendors as v;
    assert_eq!(v::ever_version(f64::from(0x1203)), "v1.2b03");
    assert_eq!(v::ever_hardware(f64::from(0x0105)), "rev.Av05");
    assert_eq!(
        v::ever_hardware(f64::from(0x4005)),
        "rev.?v05",
        "past NUT's table"
    );
    assert_eq!(
        v::ever_mac(&[210, 0, 0x1b, 2, 3, 4, 0xff]),
        "00:1b:02:03:04:ff"
    );
    assert_eq!(v::ever_packets(&[215, 1, 1, 0, 0]), "257");
    assert_eq!(v::ever_packets(&[215, 1]), "");
    assert_eq!(v::ever_workmode(&[74, 8]), "ONBATTERY");
    assert_eq!(v::ever_workmode(&[]), "UNKNOWN");
    assert_eq!(
        v::ever_messages(&[75, 0x44, 0x04]),
        "BOOST CHARGING OVERHEAT"
    );
    assert_eq!(
        v::ever_alarms(&[76, 0x09, 0x01]),
        "OVERLOAD OVERHEAT CRITICAL_BATT_VOLTAGE"
    );
    assert!(v::ever_off(&[74, 2]) && !v::ever_off(&[74, 4]));
    let mut d = DescWriter::new(v::EVER_USAGES);
    d.collection("UPS", 0x01, |d| {
        d.collection("EVER1", 0x00, |d| {
            for (report, name) in [
                (211, "EVER73"),
                (230, "EVER93"),
                (231, "EVER94"),
                (232, "EVER95"),
            ] {
                for _ in 0..4 {
                    d.feature(report, name, 8, 0);
                }
            }
            d.feature(74, "EVER13", 16, 0);
        });
        d.collection("PowerSummary", 0x00, |d| {
            d.collection("PresentStatus", 0x02, |d| d.feature(1, "ACPresent", 8, 0));
        });
    });
    let dev = UsbDevice {
        vendor_id: 0x2e51,
        product_id: 0xffff,
        vendor: None,
        product: Some("SINLINE RT XL".into()),
        serial: None,
        bus: "001".into(),
        device: "008".into(),
    };
    let (driver, state) = unit_with(
        dev,
        &d.bytes,
        &[
            ("UPS.EVER1.EVER73", 10.0),
            ("UPS.EVER1.EVER93", 192.0),
            ("UPS.EVER1.EVER94", 255.0),
            ("UPS.EVER1.EVER95", 1.0),
            ("UPS.EVER1.EVER13", f64::from(0x2103)),
            ("UPS.PowerSummary.PresentStatus.ACPresent", 1.0),
        ],
    );
    assert_eq!(driver.subdriver().name, "Ever HID 0.1");
    let value = |var: &str| state.tree().value(var).map(str::to_string);
    // Each report's four fields all hold the value set (the same usage four times).
    for (var, want) in [
        (
            "experimental.networkcard.notification_destination_ip",
            "10.10.10.10",
        ),
        ("experimental.networkcard.ip_address", "192.192.192.192"),
        ("experimental.networkcard.network_mask", "255.255.255.255"),
        ("experimental.networkcard.default_gateway", "1.1.1.1"),
    ] {
        assert_eq!(value(var).as_deref(), Some(want), "{var}");
    }
    assert_eq!(
        value("experimental.id.firmware_version_inverter").as_deref(),
        Some("v2.1b03")
    );
    assert_eq!(value("ups.mfr").as_deref(), Some("Ever"));
    assert_eq!(v::EVER_HID2NUT.len(), 116);
}

/// An interrupt report lands in NUT's report buffer whatever the mode (libhid.c
/// `HIDGetEvents`), so Ever's whole-report readings follow it at the next walk: the
/// work mode and the OFF flag come from report 74 as the unit last sent it.
#[test]
fn interrupt_reports_reach_evers_whole_report_readings() {
    use nut_core::hidvendors::EVER_USAGES;
    let mut d = DescWriter::new(EVER_USAGES);
    d.collection("UPS", 0x01, |d| {
        d.collection("EVER1", 0x00, |d| {
            d.collection("EVER97", 0x00, |d| {
                d.input(74, "EVER98", 8, 0);
                d.feature(74, "EVER98", 8, 0);
                d.feature(74, "EVER102", 8, 0);
            });
        });
        d.collection("PowerSummary", 0x00, |d| {
            d.collection("PresentStatus", 0x02, |d| d.feature(1, "ACPresent", 8, 0));
        });
    });
    let dev = UsbDevice {
        vendor_id: 0x2e51,
        product_id: 0xffff,
        vendor: None,
        product: None,
        serial: None,
        bus: "001".into(),
        device: "009".into(),
    };
    let (mut driver, mut state) = unit_with(
        dev,
        &d.bytes,
        &[
            ("UPS.EVER1.EVER97.EVER98", 4.0),
            ("UPS.PowerSummary.PresentStatus.ACPresent", 1.0),
        ],
    );
    let value = |state: &DriverState, var: &str| state.tree().value(var).map(str::to_string);
    assert_eq!(
        value(&state, "experimental.status.workmode").as_deref(),
        Some("ONLINE")
    );
    assert_eq!(value(&state, "ups.status").as_deref(), Some("OL"));
    // The unit says it stopped: the event's row reads report 74 from the buffer,
    // which holds the event's bytes (before, only an interrupt-only unit's did).
    let (lines, _) = driver.interrupt(&mut state, &[74, 2, 0]);
    assert!(!lines.is_empty());
    assert_eq!(
        value(&state, "experimental.status.workmode").as_deref(),
        Some("STOP")
    );
    // The OFF flag's item is a feature only: the next full walk that reads 74 sets it.
    let reads = vec![(74, Ok(vec![74, 2, 0])), (1, Ok(vec![1, 1]))];
    assert!(driver.walk(&mut state, Walk::Full, &reads, 300).ok);
    assert_eq!(value(&state, "ups.status").as_deref(), Some("OL OFF"));
}

/// legrand-hid.c's `disable_interrupt_pipe`: Keor units are polled only, and NUT says
/// so at start-up even when `pollonly` is set; Legrand's scaled readings.
#[test]
fn legrand_units_are_polled_only_with_nuts_line() {
    let mut d = DescWriter::new(&[]);
    d.collection("UPS", 0x01, |d| {
        d.collection("PowerConverter", 0x00, |d| {
            d.collection("Output", 0x00, |d| {
                d.feature(1, "HighVoltageTransfer", 16, 0)
            });
        });
        d.collection("PowerSummary", 0x00, |d| {
            d.feature(2, "RuntimeToEmpty", 16, 0);
            d.collection("PresentStatus", 0x02, |d| d.feature(3, "ACPresent", 8, 0));
        });
    });
    for pollonly in [false, true] {
        let dev = UsbDevice {
            vendor_id: 0x1cb0,
            product_id: 0x0032,
            vendor: None,
            product: Some("KEOR SP".into()),
            serial: None,
            bus: "001".into(),
            device: "010".into(),
        };
        let options = HidOptions {
            pollonly,
            ..HidOptions::default()
        };
        let mut driver = HidUps::new(claim(&dev, false).unwrap(), &d.bytes, dev, options);
        assert!(!driver.uses_interrupt());
        let mut state = DriverState::new();
        let reports = reports_with(
            &driver,
            &[
                ("UPS.PowerConverter.Output.HighVoltageTransfer", 29.0),
                ("UPS.PowerSummary.RunTimeToEmpty", 1200.0),
                ("UPS.PowerSummary.PresentStatus.ACPresent", 1.0),
            ],
        );
        let reads: Vec<_> = driver
            .reports(Walk::Init)
            .into_iter()
            .map(|id| (id, reports.get(&id).cloned().ok_or(ReadError::Failed)))
            .collect();
        let walked = driver.walk(&mut state, Walk::Init, &reads, 0);
        assert!(walked.notes.iter().any(|n| matches!(
            n,
            nut_core::qx::Note::Log(_, text)
                if text == "interrupt pipe disabled (add 'pollonly' flag to 'ups.conf' to get rid of this message)"
        )));
        // legrand_times10; RuntimeToEmpty spelled as Legrand's table spells it.
        assert_eq!(state.tree().value("input.transfer.high"), Some("290.0"));
        assert_eq!(state.tree().value("battery.runtime"), Some("1200"));
        assert_eq!(state.tree().value("ups.mfr"), Some("Legrand"));
    }
}

/// An APC Smart-UPS X 750 (nut-ddl, NUT issue #1261): its real report descriptor,
/// encoded back from the `lsusb -v` decode of the dump (hw-fixtures/hid/partial), with
/// the values of the upsc listing posted with it laid into its reports (the dump has
/// no raw reports). NUT's listing is NUT 2.7.4's, "APC HID 0.96"; this driver must
/// give every line of it that the unit's reports and strings carry.
#[test]
fn an_apc_smart_ups_x_750_reads_as_nut_listed_it() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../hw-fixtures/hid/partial/apc-smart-ups-x-750.txt"),
    )
    .unwrap();
    let rec = parse_hid(&text).unwrap();
    assert_eq!(rec.descriptor.len(), 425, "wDescriptorLength");
    let dev = UsbDevice {
        vendor_id: 0x051d,
        product_id: 0x0003,
        vendor: Some("American Power Conversion ".to_string()),
        // The model then " FW:" and the firmware, as APC units name themselves
        // (apc-hid.c cuts the blank before "FW:"; the listing's model ends in one).
        product: Some("Smart-UPS X 750  FW:COM 03.8 / UPS 03.8".to_string()),
        serial: Some("<serial>".to_string()),
        bus: "001".to_string(),
        device: "002".to_string(),
    };
    // 2011/11/28 as the unit's date word ((year - 1980) << 9 | month << 5 | day).
    let mfr_date = f64::from((2011 - 1980) << 9 | 11 << 5 | 28);
    let (_, state) = laid_out(
        "APC HID 0.98",
        dev,
        &rec.descriptor,
        &[
            ("UPS.PowerSummary.RemainingCapacity", 66.0),
            ("UPS.PowerSummary.RemainingCapacityLimit", 10.0),
            ("UPS.PowerSummary.WarningCapacityLimit", 50.0),
            ("UPS.PowerSummary.RunTimeToEmpty", 65535.0),
            ("UPS.PowerSummary.RemainingTimeLimit", 150.0),
            ("UPS.PowerSummary.iDeviceChemistry", 4.0),
            ("UPS.PowerSummary.iManufacturer", 1.0),
            ("UPS.PowerSummary.iProduct", 2.0),
            ("UPS.PowerSummary.iSerialNumber", 3.0),
            ("UPS.PowerSummary.Voltage", 52.0),
            ("UPS.PowerSummary.ConfigVoltage", 48.0),
            ("UPS.PowerSummary.AudibleAlarmControl", 2.0),
            ("UPS.PowerSummary.ManufacturerDate", mfr_date),
            ("UPS.PowerSummary.DelayBeforeShutdown", -1.0),
            ("UPS.PowerSummary.DelayBeforeReboot", -1.0),
            ("UPS.PowerSummary.PresentStatus.ACPresent", 1.0),
            ("UPS.PowerSummary.PresentStatus.Charging", 1.0),
            ("UPS.PowerSummary.PresentStatus.BatteryPresent", 1.0),
        ],
        &[
            (1, "American Power Conversion "),
            (2, "Smart-UPS X 750  FW:COM 03.8 / UPS 03.8"),
            (3, "<serial>"),
            (4, "PbAc"),
        ],
    );
    // The dump's listing, but for the driver.* lines (this driver's own) and
    // ups.serial, which the dump's redaction gave a leading blank.
    let nut = "battery.charge: 66
battery.charge.low: 10
battery.charge.warning: 50
battery.runtime: 65535
battery.runtime.low: 150
battery.type: PbAc
battery.voltage: 52.0
battery.voltage.nominal: 48.0
device.mfr: American Power Conversion 
device.model: Smart-UPS X 750 
device.serial: <serial>
device.type: ups
ups.beeper.status: enabled
ups.delay.shutdown: 20
ups.firmware: COM 03.8 / UPS 03.8
ups.mfr: American Power Conversion 
ups.mfr.date: 2011/11/28
ups.model: Smart-UPS X 750 
ups.productid: 0003
ups.status: OL CHRG
ups.timer.reboot: -1
ups.timer.shutdown: -1
ups.vendorid: 051d";
    assert_lists(&state, nut.lines().map(str::to_string));
}

/// A PowerWalker VI 2200 SH (06da:ffff, hw-fixtures/hid/partial/powerwalker-vi-2200-sh,
/// from nut-ddl): NUT's explore output of the unit (all 45 HID objects: path, type,
/// report ID, offset, size, value) and its upsc listing, on a descriptor written from
/// those objects (the dump has no descriptor bytes). Every object must sit where NUT
/// found it; with each value laid at its place, NUT's listing must come out (the
/// battery voltage in NUT 2.8.0's format, 27.10, where 2.7.4's table printed 27).
#[test]
fn a_powerwalker_vi_2200_sh_reads_as_nut_explored_it() {
    use nut_core::hid::Kind;
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../hw-fixtures/hid/partial/powerwalker-vi-2200-sh.txt"),
    )
    .unwrap();
    let rec = parse_hid(&text).unwrap();
    let parsed = nut_core::hid::parse(&rec.descriptor);
    assert_eq!((rec.items.len(), rec.objects), (45, 45));
    assert_eq!(parsed.items.len(), rec.objects);
    let mut values = Vec::new();
    for line in &rec.items {
        let f: Vec<&str> = line.split('|').collect();
        // Standard usages only; NUT spells the vendor ones in hex, as does path_code.
        let code = nut_core::usbhid::path_code(f[0], &[]).unwrap();
        let kind = if f[1] == "Input" {
            Kind::Input
        } else {
            Kind::Feature
        };
        let id = u8::from_str_radix(f[2].trim_start_matches("0x"), 16).unwrap();
        let item = parsed
            .items
            .iter()
            .find(|i| i.path == code && i.kind == kind && i.report_id == id)
            .unwrap_or_else(|| panic!("{line}: not in the descriptor"));
        assert_eq!(
            (item.offset.to_string(), item.size.to_string()),
            (f[3].to_string(), f[4].to_string()),
            "{line}"
        );
        if kind == Kind::Feature {
            values.push((f[0], f[5].parse::<f64>().unwrap()));
        }
    }
    let string = |i: u8| rec.string(i).map(str::to_string);
    let dev = UsbDevice {
        vendor_id: 0x06da,
        product_id: 0xffff,
        vendor: string(1),
        product: string(2),
        serial: string(4),
        bus: "001".to_string(),
        device: "004".to_string(),
    };
    let strings: Vec<(u8, &str)> = rec.strings.iter().map(|(i, t)| (*i, t.as_str())).collect();
    let (_, state) = laid_out(
        "Phoenixtec/Liebert HID 0.41",
        dev,
        &rec.descriptor,
        &values,
        &strings,
    );
    assert_lists(
        &state,
        rec.expect
            .iter()
            .filter(|(var, _)| !var.starts_with("driver."))
            .map(|(var, value)| match (var.as_str(), value.as_str()) {
                ("battery.voltage", "27") => "battery.voltage: 27.10".to_string(),
                _ => format!("{var}: {value}"),
            }),
    );
}

/// The driver's variables hold every `var: value` line of NUT's listing.
fn assert_lists(state: &DriverState, nut: impl Iterator<Item = String>) {
    let ours: Vec<String> = state
        .tree()
        .vars()
        .map(|v| format!("{}: {}", v.name, v.value))
        .collect();
    let missing: Vec<String> = nut.filter(|line| !ours.contains(line)).collect();
    assert!(missing.is_empty(), "missing {missing:?}\nours {ours:#?}");
}
