//! The client session dialogue answered by arbitrary reply lines: never a panic, and it
//! always ends within a bounded number of steps.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::session::{ClientSession, Next, SessionPlan, TlsMode};

fuzz_target!(|data: &[u8]| {
    let mode = match data.first().copied().unwrap_or(0) % 3 {
        0 => TlsMode::Off,
        1 => TlsMode::Try,
        _ => TlsMode::Require,
    };
    let plan = SessionPlan {
        tls: mode,
        username: Some("u".into()),
        password: Some("p".into()),
        login: Some("ups".into()),
        primary: Some("ups".into()),
    };
    let mut session = ClientSession::new(plan);
    let mut next = session.start();
    let mut lines = data.get(1..).unwrap_or(&[]).split(|&b| b == b'\n');
    for _ in 0..16 {
        next = match next {
            Next::Send(_) => {
                let line = lines.next().unwrap_or(b"");
                session.reply(&String::from_utf8_lossy(line))
            }
            Next::UpgradeTls => session.tls_ready(data.len() % 2 == 0),
            Next::Done(_) => return,
        };
    }
    panic!("the session did not end within 16 steps");
});
