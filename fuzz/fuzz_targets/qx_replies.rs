//! nutdrv_qx's device logic fed any replies (garbled, truncated, NULs, silence, port
//! errors) across start-up, polls, commands, settings and -k: never a panic, and every
//! job ends (a device cannot keep the driver in one job for ever).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::dummy::DriverState;
use nut_core::qx::{Job, Progress, QxDriver, QxOptions, Reply};

/// More queries than any one job sends (claims of both protocols, retries included).
const MAX_QUERIES_PER_JOB: usize = 200;

fuzz_target!(|data: &[u8]| {
    let mut chunks = data.split(|&b| b == 0xff);
    let mut next_reply = move || match chunks.next() {
        None => Reply::Timeout,
        Some([]) => Reply::Error,
        Some(bytes) => Reply::Bytes(bytes.to_vec()),
    };
    let options = QxOptions {
        runtimecal: data.first().is_some_and(|b| b % 2 == 0).then_some((240.0, 100.0, 720.0, 50.0)),
        ..QxOptions::default()
    };
    let mut driver = QxDriver::new(options);
    let mut state = DriverState::new();
    let jobs = [
        Job::Start,
        Job::Update,
        Job::InstCmd { cmd: "shutdown.return".into(), arg: None },
        Job::Set { var: "ups.delay.shutdown".into(), value: "60".into() },
        Job::InstCmd { cmd: "test.battery.start".into(), arg: Some("120".into()) },
        Job::Update,
        Job::Shutdown,
    ];
    for (n, job) in jobs.iter().enumerate() {
        let mut replies = Vec::new();
        loop {
            match driver.run(&mut state, job, n as u64 * 31_000, &replies) {
                Progress::Send(_) => {
                    assert!(replies.len() < MAX_QUERIES_PER_JOB, "job {job:?} never ends");
                    replies.push(next_reply());
                }
                Progress::Done { .. } => break,
            }
        }
    }
});
