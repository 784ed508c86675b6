//! Request parsing and the whole upsd state machine never panic on client input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::config::parse_upsd_users;
use nut_core::desc::Descriptions;
use nut_core::tokenizer::tokenize;
use nut_core::upsd::{UpsDefinition, UpsdCore, UpsdSettings};

fuzz_target!(|data: &[u8]| {
    let users = parse_upsd_users(
        "u",
        b"[a]\npassword = p\nactions = SET FSD\ninstcmds = ALL\nupsmon primary\n",
    )
    .value;
    let ups = UpsDefinition {
        name: "u".into(),
        driver: "dummy-ups".into(),
        desc: None,
    };
    let mut core = UpsdCore::new(
        vec![ups],
        users,
        UpsdSettings::default(),
        Descriptions::builtin(),
        1,
    );
    core.driver_connected_now(0, 0);
    for line in tokenize(b"SETINFO ups.status \"OL\"\nSETINFO x.y \"1\"\nSETFLAGS x.y RW\nADDENUM x.y \"1\"\nADDCMD load.off\nDATAOK\nDUMPDONE\n") {
        core.driver_line(0, 0, &line.words);
    }
    core.client_connected(0, 1, "127.0.0.1");
    for (i, line) in tokenize(data).into_iter().enumerate() {
        let _ = nut_core::proto::parse_request(&line.words);
        core.client_line(i as u64 * 100, 1, &line.words);
    }
    core.tick(1_000_000);
});
