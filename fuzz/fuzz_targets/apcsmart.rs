//! apcsmart's device logic fed any I/O results (garbled, truncated, NULs, alert
//! characters, silence, port errors) across start-up, polls, commands, settings and
//! -k: never a panic, and every job ends.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::apcsmart::{ApcDriver, ApcOptions, IoResult, Job, Progress};
use nut_core::dummy::DriverState;

/// More I/O steps than any one job takes (32 cycles of a setting, retries included).
const MAX_STEPS_PER_JOB: usize = 2_000;

fuzz_target!(|data: &[u8]| {
    let mut chunks = data.split(|&b| b == 0xfe);
    let mut next = move || match chunks.next() {
        None => IoResult::Timeout(Vec::new()),
        Some([]) => IoResult::Error,
        Some([0xfd, rest @ ..]) => IoResult::Timeout(rest.to_vec()),
        Some([0xfc, rest @ ..]) => {
            let mut parts = rest.splitn(2, |&b| b == 0xfb);
            let pending = parts.next().unwrap_or_default().to_vec();
            let line = parts.next().unwrap_or_default().to_vec();
            IoResult::Answer {
                pending,
                read: Box::new(IoResult::Line(line)),
            }
        }
        Some(bytes) => IoResult::Line(bytes.to_vec()),
    };
    let options = ApcOptions {
        advorder: data
            .first()
            .is_some_and(|b| b % 2 == 0)
            .then(|| vec![0, 1, 2, 3, 4]),
        cshdelay_ms: 10,
        ..ApcOptions::default()
    };
    let mut driver = ApcDriver::new(options);
    let mut state = DriverState::new();
    let jobs = [
        Job::Start,
        Job::Update,
        Job::Set {
            var: "input.transfer.high".into(),
            value: "261".into(),
        },
        Job::Set {
            var: "ups.id".into(),
            value: "RACK".into(),
        },
        Job::InstCmd {
            cmd: "calibrate.start".into(),
            arg: None,
        },
        Job::InstCmd {
            cmd: "load.off".into(),
            arg: None,
        },
        Job::InstCmd {
            cmd: "load.off".into(),
            arg: None,
        },
        Job::InstCmd {
            cmd: "shutdown.return".into(),
            arg: Some("AT:12".into()),
        },
        Job::Update,
        Job::Shutdown,
    ];
    for (n, job) in jobs.iter().enumerate() {
        let mut results = Vec::new();
        loop {
            match driver.run(&mut state, job, n as u64 * 5_000, &results) {
                Progress::Io(_) => {
                    assert!(results.len() < MAX_STEPS_PER_JOB, "job {job:?} never ends");
                    results.push(next());
                }
                Progress::Done { .. } => break,
            }
        }
    }
});
