//! usbhid-ups's device logic over any descriptor and any reports (bogus lengths, IDs,
//! ranges; reads failing or the device gone at random): walks, interrupt reports,
//! commands and SET VAR never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::dummy::DriverState;
use nut_core::hidups::{HidOptions, HidUps, ReadError, UsbDevice, Walk, APC};

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let split = (split as usize * rest.len() / 255).min(rest.len());
    let (desc, reports) = rest.split_at(split);
    let mut driver = HidUps::new(&APC, desc, UsbDevice::default(), HidOptions::default());
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
    for (step, walk) in [Walk::Init, Walk::Quick, Walk::Full, Walk::Quick].into_iter().enumerate() {
        let reads: Vec<_> = driver
            .reports(walk)
            .into_iter()
            .enumerate()
            .map(|(n, id)| (id, read(id, n + step)))
            .collect();
        driver.walk(&mut state, walk, &reads, step as u64 * 40);
        for chunk in &chunks {
            driver.interrupt(&mut state, chunk);
        }
    }
    for cmd in ["shutdown.return", "load.off", "beeper.enable", "test.battery.start.quick"] {
        let _ = driver.command(&state, cmd, None);
        let _ = driver.command(&state, cmd, Some("-1"));
    }
    let mut lines = Vec::new();
    for (var, value) in [("ups.delay.shutdown", "x"), ("input.sensitivity", "high"), ("battery.mfr.date", "2024/13/99")] {
        let _ = driver.set_var(&mut state, var, value, &mut lines);
    }
    let _ = driver.shutdown(&state);
    driver.written();
    let _ = driver.lost(&mut state);
});
