//! Every config parser returns a value and diagnostics for any bytes, never a panic; so
//! does the regular expression a USB matching option compiles, and its match.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::config::*;

fuzz_target!(|data: &[u8]| {
    let _ = parse_ups_conf("ups.conf", data);
    let _ = parse_upsd_conf("upsd.conf", data);
    let _ = parse_upsd_users("upsd.users", data);
    let _ = parse_upsmon_conf("upsmon.conf", data);
    let _ = parse_upssched_conf("upssched.conf", data);
    let _ = parse_nut_conf("nut.conf", data);
    let _ = nut_core::dummy::parse_dummy_file(data);
    // A matching option's pattern (up to the first NUL) against the rest as the text.
    let text = String::from_utf8_lossy(data);
    let (pattern, subject) = text.split_once('\0').unwrap_or((&text, "Back-UPS CS 500"));
    if let Ok(re) = nut_core::regex::Regex::new(pattern) {
        let _ = re.is_full_match(subject);
    }
});
