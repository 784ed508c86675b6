//! HID report descriptors and reports of any bytes (bogus lengths, nesting, usages,
//! ranges): parsing and value extraction never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::hid::{logical, parse, path_name, physical};

fuzz_target!(|data: &[u8]| {
    let split = data.len() / 2;
    let (desc, report) = data.split_at(split);
    let parsed = parse(desc);
    for item in &parsed.items {
        let v = logical(report, item);
        let _ = physical(item, v);
        let _ = path_name(&item.path);
    }
});
