//! nut-core: the sans-IO heart of the NUT implementation.
//!
//! Everything NUT decides or parses lives here as plain data and state machines: the word
//! tokenizer, the network and driver-socket protocols, the config files, `ups.status`,
//! and the decisions of upsd, upsmon and the drivers. Inputs carry `now`; outputs are
//! actions for a shell to perform. This crate must not depend on tokio, turmoil, sockets,
//! files, threads or clocks (checked by the tidy test in xtask).
#![warn(missing_docs)]

pub mod apcsmart;
pub mod clients;
pub mod config;
pub mod desc;
pub mod dummy;
pub mod event;
pub mod hid;
pub mod hidups;
pub mod hidvendors;
pub mod mdns;
pub mod metrics;
pub mod mgehid;
pub mod notify;
pub mod proto;
pub mod qx;
pub mod qxusb;
pub mod regex;
pub mod relay;
pub mod scan;
pub mod session;
pub mod snmp;
pub mod snmpmib;
pub mod snmpups;
pub mod sock;
pub mod state;
pub mod status;
pub mod tokenizer;
pub mod transcript;
pub mod upsc;
pub mod upsd;
pub mod upsdrvctl;
pub mod upsmon;
pub mod upssched;
pub mod usbhid;

/// Monotonic time as seen by a state machine: milliseconds since the shell started it.
/// Shells derive it from `tokio::time::Instant`, so turmoil drives it in the simulation.
pub type Millis = u64;

/// Seconds from a config file or a data file as [`Millis`], saturating: a huge setting
/// means "never", not an overflow (a panic in debug builds, a wrap in release).
pub fn secs_to_ms(seconds: u64) -> Millis {
    seconds.saturating_mul(1000)
}
