//! dummy-ups's device logic driven by any data file (.dev or .seq with any TIMER) and a
//! random timeline of polls, reloads and server lines: never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::dummy::{DriverState, DummyDevice, DummyMode};
use nut_core::sock::ServerLine;
use nut_core::tokenizer::tokenize;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (file, rest) = data.split_at(split);
    let mode = if file.first().is_some_and(|b| b % 2 == 0) {
        DummyMode::Once
    } else {
        DummyMode::Loop
    };
    let mut state = DriverState::new();
    DummyDevice::publish_initial(&mut state, "fuzz.seq", mode, 2);
    let mut device = DummyDevice::new(file, mode);
    let mut now = 0u64;
    for chunk in rest.chunks(16) {
        let step = chunk.first().copied().unwrap_or(0);
        match step % 4 {
            0 => device.reload(file),
            1 => {
                for line in tokenize(&chunk[1..]) {
                    if let Some(line) = ServerLine::parse(&line.words) {
                        let _ = device.handle(&mut state, &line);
                    }
                }
            }
            _ => {}
        }
        let _ = device.poll(now, &mut state);
        let _ = state.dump();
        now = now.saturating_add(u64::from(step) * 997);
        if step == 255 {
            now = u64::MAX - 1;
        }
    }
});
