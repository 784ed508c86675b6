//! UpsmonCore driven by a random configuration (knobs up to u64::MAX seconds) and a
//! random timeline of poll outcomes, time jumps, FSD requests and reloads: never a
//! panic, never time going backwards in its schedule, and once it says Exit it says
//! nothing else.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::config::parse_upsmon_conf_for_startup;
use nut_core::proto::ErrCode;
use nut_core::upsmon::{Command, PollOutcome, UpsmonCore};

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        *first
    }
    fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |v, _| (v << 8) | u64::from(self.byte()))
    }
    fn knob(&mut self) -> u64 {
        match self.byte() % 4 {
            0 => 0,
            1 => u64::from(self.byte()),
            2 => u64::from(self.byte()) * 60,
            _ => self.u64(),
        }
    }
}

const STATUSES: &[&str] = &[
    "OL",
    "OB",
    "OB LB",
    "LB",
    "FSD OB LB",
    "OFF",
    "OVER",
    "CAL OB LB",
    "ALARM OL",
    "",
    "OL CHRG",
    "RB",
];

fn conf_text(b: &mut Bytes) -> String {
    let monitors = 1 + b.byte() % 3;
    let mut text = String::new();
    for i in 0..monitors {
        let role = if b.byte() % 2 == 0 {
            "primary"
        } else {
            "secondary"
        };
        text.push_str(&format!(
            "MONITOR ups{i}@host{i} {} user pass {role}\n",
            b.byte() % 3
        ));
    }
    for knob in [
        "POLLFREQ",
        "POLLFREQALERT",
        "DEADTIME",
        "HOSTSYNC",
        "FINALDELAY",
        "RBWARNTIME",
        "NOCOMMWARNTIME",
        "OFFDURATION",
        "OVERDURATION",
        "OBLBDURATION",
    ] {
        if b.byte() % 2 == 0 {
            text.push_str(&format!("{knob} {}\n", b.knob()));
        }
    }
    text.push_str(&format!("MINSUPPLIES {}\n", b.byte() % 3));
    text
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let parsed = parse_upsmon_conf_for_startup("upsmon.conf", conf_text(&mut b).as_bytes());
    if parsed.has_errors() {
        return;
    }
    let conf = parsed.value;
    let monitors = conf.monitors.len();
    let mut now = 0u64;
    let mut core = UpsmonCore::new(now, conf.clone());
    let mut exited = false;
    for _ in 0..200 {
        if b.0.is_empty() {
            break;
        }
        match b.byte() % 8 {
            0 => core.user_fsd(),
            1 => {
                let _ = core.reload(conf.clone());
            }
            _ => {}
        }
        let command = core.next_command(now);
        assert!(
            !exited || command == Command::Exit,
            "a command after Exit: {command:?}"
        );
        match command {
            Command::PollAll => {
                for ups in 0..monitors {
                    let outcome = match b.byte() % 4 {
                        0 => PollOutcome::ConnectionLost("lost".into()),
                        1 => PollOutcome::Error(ErrCode::DataStale),
                        _ => PollOutcome::Status(
                            STATUSES[usize::from(b.byte()) % STATUSES.len()].into(),
                        ),
                    };
                    core.poll_result(now, ups, outcome);
                }
                core.end_poll_cycle(now);
            }
            Command::SleepUntil(at) => {
                assert!(at >= now, "sleep until {at} at {now}");
                now = at.min(now.saturating_add(b.knob()));
            }
            Command::SetFsd(_) => core.fsd_sent(now),
            Command::QueryNumLogins(_) => {
                // 4: upsd gave no count (an error reply or a lost connection).
                let n = b.byte() % 5;
                core.numlogins_result(now, (n < 4).then_some(u32::from(n)))
            }
            Command::RunShutdown { .. } => core.shutdown_done(),
            Command::Exit => exited = true,
        }
        let _ = core.take_events();
        let _ = core.take_notifications();
        now = now.saturating_add(u64::from(b.byte()) * 100);
    }
});
