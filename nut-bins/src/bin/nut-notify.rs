//! `nut-notify [message]`: relays one upsmon notification to webhooks, ntfy and MQTT
//! (with Home Assistant discovery). Put it behind NOTIFYCMD so upsmon.conf stays NUT's:
//!
//! ```text
//! NOTIFYCMD /usr/sbin/nut-notify
//! NOTIFYFLAG ONBATT SYSLOG+EXEC
//! ```
//!
//! upsmon sets `UPSNAME` and `NOTIFYTYPE`; the message is the argument. Sinks come from
//! `nut-notify.conf` in NUT_CONFPATH. Each sink has a bounded queue on disk; an event
//! that cannot be delivered within the deadline waits for the next run (`--flush`
//! delivers the queues without a new event).

use clap::Parser;
use nut_bins::relay::{drain, enqueue, rfc3339, sinks};
use nut_core::relay::{parse_relay_conf, RelayEvent, RELAY_CONF};
use std::path::PathBuf;
use std::process::ExitCode;

use nut_bins::cli::nut_notify::Args;

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn main() -> ExitCode {
    let args = Args::parse();
    let env = nut_bins::real::nut_env();
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(&env.confpath).join(RELAY_CONF));
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("nut-notify: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let (conf, problems) = parse_relay_conf(&text);
    for problem in &problems {
        let mut problem = problem.clone();
        problem.file = path.display().to_string();
        eprintln!("{problem}");
    }
    if !problems.is_empty() {
        return ExitCode::FAILURE;
    }
    if args.check_config {
        println!("nut-notify: {}: configuration OK", path.display());
        return ExitCode::SUCCESS;
    }
    let spool = PathBuf::from(
        conf.spool
            .clone()
            .unwrap_or_else(|| format!("{}/nut-notify", env.statepath(None))),
    );
    let targets = sinks(&conf);
    if !args.flush {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let event = RelayEvent {
            ups: std::env::var("UPSNAME").unwrap_or_default(),
            kind: std::env::var("NOTIFYTYPE").unwrap_or_default(),
            message: args.message.clone().unwrap_or_default(),
            time: rfc3339(now.as_secs() as i64),
            host: hostname(),
        };
        if event.kind.is_empty() {
            eprintln!(
                "nut-notify: NOTIFYTYPE is not set (run me as upsmon's NOTIFYCMD, or give --flush)"
            );
            return ExitCode::FAILURE;
        }
        for (dir, _) in &targets {
            match enqueue(&spool.join(dir), &event, conf.queue_max, now.as_nanos()) {
                Ok(dropped) => {
                    for what in dropped {
                        eprintln!(
                            "nut-notify: queue {dir} full ({} events): dropped the oldest, {what}",
                            conf.queue_max
                        );
                    }
                }
                Err(e) => eprintln!(
                    "nut-notify: cannot queue the event in {}: {e}",
                    spool.join(dir).display()
                ),
            }
        }
    }
    let result = nut_bins::real::runtime().map(|rt| {
        rt.block_on(async {
            let mut failed = false;
            for (dir, sink) in &targets {
                let (_, error) = drain(&spool.join(dir), sink, &conf).await;
                if let Some(error) = error {
                    eprintln!(
                        "nut-notify: {dir}: not delivered yet ({error}); kept for the next run"
                    );
                    failed = true;
                }
            }
            failed
        })
    });
    match result {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("nut-notify: {e}");
            ExitCode::FAILURE
        }
    }
}
