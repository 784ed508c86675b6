//! usbhid-ups's device logic over any descriptor and any reports (bogus lengths, IDs,
//! ranges; reads failing or the device gone at random), for every subdriver and units
//! with their factors and quirks, string descriptors answered with any text or not at
//! all: walks, interrupt reports, commands and SET VAR never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::dummy::DriverState;
use nut_core::hidups::{HidOptions, HidUps, ReadError, UsbDevice, Walk, SUBDRIVERS};

/// Units whose factors or quirks differ (vendor, product).
const UNITS: [(u16, u16); 19] = [
    (0x050d, 0x0980),
    (0x10af, 0x0001),
    (0x0d9f, 0x0001),
    (0x051d, 0x0002),
    (0x0764, 0x0501),
    (0x06da, 0xffff),
    (0x0d9f, 0x00a3),
    (0x09ae, 0x3016),
    (0x09ae, 0x2007),
    (0x09ae, 0x1330),
    (0x09ae, 0x1003),
    (0x03f0, 0x1fe3),
    (0x051d, 0x0003),
    (0x0463, 0xffff),
    (0x047c, 0xffff),
    (0x05dd, 0x041b),
    (0x2e51, 0xffff),
    (0x04d8, 0xd004),
    (0x1cb0, 0x0032),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else {
        return;
    };
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let split = (split as usize * rest.len() / 255).min(rest.len());
    let (desc, reports) = rest.split_at(split);
    let sub = SUBDRIVERS[usize::from(pick) % SUBDRIVERS.len()];
    let (vendor_id, product_id) = UNITS[usize::from(pick / 16) % UNITS.len()];
    let device = UsbDevice {
        vendor_id,
        product_id,
        product: (pick & 1 == 1)
            .then(|| String::from_utf8_lossy(desc.get(..12).unwrap_or(desc)).into_owned()),
        ..UsbDevice::default()
    };
    let mut driver = HidUps::new(sub, desc, device, HidOptions::default());
    let mut state = DriverState::new();
    let chunks: Vec<&[u8]> = reports.chunks(9).collect();
    let read = |id: u8, n: usize| -> Result<Vec<u8>, ReadError> {
        match chunks.get(n % chunks.len().max(1)) {
            Some(c) if c.first() == Some(&0xff) => Err(ReadError::Gone),
            Some(c) if c.first() == Some(&0xfe) => Err(ReadError::Failed),
            Some(c) => Ok(std::iter::once(id).chain(c.iter().copied()).collect()),
            None => Err(ReadError::Failed),
        }
    };
    for (step, walk) in [Walk::Init, Walk::Quick, Walk::Full, Walk::Quick]
        .into_iter()
        .enumerate()
    {
        let reads: Vec<_> = driver
            .reports(walk)
            .into_iter()
            .enumerate()
            .map(|(n, id)| (id, read(id, n + step)))
            .collect();
        // Eaton's model name: its iModel string, read before the first walk.
        let wanted = driver.identity_strings(&reads);
        let model: Vec<_> = wanted
            .iter()
            .zip(&chunks)
            .map(|(&i, c)| (i, Ok(String::from_utf8_lossy(c).into_owned())))
            .collect();
        driver.identity_read(&model);
        let walked = driver.walk(&mut state, walk, &reads, step as u64 * 40);
        let strings: Vec<_> = walked
            .strings
            .iter()
            .enumerate()
            .map(|(n, &i)| match chunks.get(n) {
                Some(c) if c.first() == Some(&0xfe) => (i, Err(ReadError::Failed)),
                Some(c) => (i, Ok(String::from_utf8_lossy(c).into_owned())),
                None => (i, Err(ReadError::Gone)),
            })
            .collect();
        driver.strings(&mut state, &strings);
        for chunk in &chunks {
            driver.interrupt(&mut state, chunk);
        }
    }
    for cmd in [
        "shutdown.return",
        "shutdown.stayoff",
        "load.off",
        "load.on",
        "load.on.delay",
        "beeper.enable",
        "reset.watchdog",
        "test.battery.start.quick",
    ] {
        let _ = driver.command(&state, cmd, None);
        let _ = driver.command(&state, cmd, Some("-1"));
        let _ = driver.command(&state, cmd, Some("99999999999"));
        let _ = driver.command(&state, cmd, Some(" +7x"));
    }
    let mut lines = Vec::new();
    for (var, value) in [
        ("ups.delay.shutdown", "x"),
        ("ups.delay.start", "-99999999999"),
        ("input.sensitivity", "high"),
        ("battery.mfr.date", "2024/13/99"),
        ("input.transfer.low", "1e309"),
        ("ups.date", "9999/99/99"),
        ("ups.time", "23:59:61"),
        ("output.voltage.nominal", "230"),
        ("outlet.power", "25"),
        ("outlet.2.switchable", "yes"),
    ] {
        let _ = driver.set_var(&mut state, var, value, &mut lines);
    }
    if let Ok(writes) = driver.shutdown(&state) {
        driver.written(&writes);
    }
    let _ = driver.lost(&mut state);
});
