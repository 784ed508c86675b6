//! nutdrv_qx's device logic fed any replies (garbled, truncated, NULs, silence, port
//! errors) across start-up, polls, commands, settings and -k: never a panic, and every
//! job ends (a device cannot keep the driver in one job for ever).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::dummy::DriverState;
use nut_core::qx::{Job, Progress, QxDriver, QxOptions, Reply};

/// More queries than any one job sends (claims of both protocols, retries included).
const MAX_QUERIES_PER_JOB: usize = 200;

/// A well-formed voltronic status line (NUT's test answer), so the claim succeeds and
/// the fuzzed replies reach the protocol's other parsers.
const QGS: &[u8] = b"(234.9 50.0 229.8 50.0 000.0 000 369.1 ---.- 026.5 ---.- 018.8 100000000001\r";
/// Protocol numbers with their own branches (multi-phase, P31, no bypass limits).
const PROTOCOLS: [&[u8]; 7] = [
    b"(PI00\r", b"(PI01\r", b"(PI03\r", b"(PI09\r", b"(PI10\r", b"(PI31\r", b"(PI99\r",
];

/// A well-formed Q1 status line (NUT's test answer), for the smaller protocols' claims.
const Q1: &[u8] = b"(215.0 195.0 230.0 014 49.0 22.7 30.0 00000000\r";
/// The smaller protocols, each with the second answer its claim needs (after Q1).
/// A masterguard unit's identity and output voltages (NUT's examples), for its claim.
const WH: &[u8] = b"(00 10.06 03.09 A  700  + 0 Bat Pack-19        0 230 50.00 012 02.30 006.00 012.00 018 10 40 160 276 47.00 53.00\r";
/// See [`WH`].
const MSO: &[u8] = b"(220 230 240\r";
const FAMILY: [(&str, &[u8]); 7] = [
    ("bestups", b"AX1,750,120,120,20.0,27.6\r"),
    ("bestups", b"PR2,400,120,120,10.8,13.6\r"),
    ("mecer", b"(PI98\r"),
    ("mecer", b"(NAK\r"),
    ("zinto", b"#NOT_A_LIVE_UPS  TESTING    TESTING   \r"),
    ("ablerex", b"#NOT_A_LIVE_UPS  TESTING    TESTING   \r"),
    ("masterguard", b""),
];

fuzz_target!(|data: &[u8]| {
    let first = data.first().copied().unwrap_or(0);
    let voltronic = first & 2 != 0;
    // Else, half the time, one of the smaller protocols (bestups, mecer, zinto, ablerex,
    // masterguard).
    let family =
        (!voltronic && first & 4 != 0).then(|| FAMILY[usize::from(first >> 3) % FAMILY.len()]);
    let mut claim: Vec<Reply> = if voltronic {
        let protocol = PROTOCOLS[usize::from(first >> 2) % PROTOCOLS.len()];
        vec![Reply::Bytes(protocol.to_vec()), Reply::Bytes(QGS.to_vec())]
    } else if let Some(("masterguard", _)) = family {
        // Its claim: the identity four times, then the output voltages.
        let mut claim = vec![Reply::Bytes(MSO.to_vec())];
        claim.extend(std::iter::repeat_n(Reply::Bytes(WH.to_vec()), 4));
        claim
    } else if let Some((_, second)) = family {
        vec![Reply::Bytes(second.to_vec()), Reply::Bytes(Q1.to_vec())]
    } else {
        Vec::new()
    };
    let mut chunks = data.split(|&b| b == 0xff);
    let mut next_reply = move || {
        if let Some(reply) = claim.pop() {
            return reply;
        }
        match chunks.next() {
            None => Reply::Timeout,
            Some([]) => Reply::Error,
            Some(bytes) => Reply::Bytes(bytes.to_vec()),
        }
    };
    // The first byte picks the options: runtime calibration, and whether the voltronic
    // protocol is forced with its ups.conf settings (autodetection rarely reaches it:
    // its claim needs a 76-byte status line and a `(PIxx` protocol answer, given above).
    let setting = |k: &str, v: &str| (k.to_string(), Some(v.to_string()));
    let options = QxOptions {
        runtimecal: (first % 2 == 0).then_some((240.0, 100.0, 720.0, 50.0)),
        protocol: if voltronic {
            Some("voltronic".to_string())
        } else {
            family.map(|(name, _)| name.to_string())
        },
        settings: if family.is_some() {
            vec![setting("pins_shutdown_mode", "2")]
        } else if voltronic {
            vec![
                setting("bypass_forbidding", "enabled"),
                setting("alarm_control", "disabled"),
                setting("max_bypass_volt", "250"),
                setting("min_bypass_freq", "46.0"),
                setting("battery_number", "3"),
                setting("output_phase_angle", "120"),
                setting("work_range_type", "UPS"),
                ("reset_to_default".to_string(), None),
                ("testing".to_string(), None),
            ]
        } else {
            Vec::new()
        },
        ..QxOptions::default()
    };
    let mut driver = QxDriver::new(options);
    let mut state = DriverState::new();
    let jobs = [
        Job::Start,
        Job::Update,
        Job::InstCmd {
            cmd: "shutdown.return".into(),
            arg: None,
        },
        Job::Set {
            var: "ups.delay.shutdown".into(),
            value: "60".into(),
        },
        Job::InstCmd {
            cmd: "test.battery.start".into(),
            arg: Some("120".into()),
        },
        Job::InstCmd {
            cmd: "beeper.toggle".into(),
            arg: None,
        },
        Job::Set {
            var: "ups.start.auto".into(),
            value: "yes".into(),
        },
        Job::Set {
            var: "input.transfer.high".into(),
            value: "250".into(),
        },
        Job::Set {
            var: "outlet.1.delay.shutdown".into(),
            value: "540".into(),
        },
        Job::Set {
            var: "battery.type".into(),
            value: "AGM".into(),
        },
        Job::Set {
            var: "battery.packs".into(),
            value: "1".into(),
        },
        Job::InstCmd {
            cmd: "test.battery.start".into(),
            arg: Some("12".into()),
        },
        Job::Set {
            var: "ups.id".into(),
            value: "7".into(),
        },
        Job::Set {
            var: "device.uptime".into(),
            value: "90061".into(),
        },
        Job::InstCmd {
            cmd: "beeper.enable".into(),
            arg: None,
        },
        Job::Update,
        Job::Shutdown,
    ];
    for (n, job) in jobs.iter().enumerate() {
        let mut replies = Vec::new();
        loop {
            match driver.run(&mut state, job, n as u64 * 31_000, &replies) {
                Progress::Send(_) => {
                    assert!(
                        replies.len() < MAX_QUERIES_PER_JOB,
                        "job {job:?} never ends"
                    );
                    replies.push(next_reply());
                }
                Progress::Done { .. } => break,
            }
        }
    }
});
