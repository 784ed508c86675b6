//! nut-bins: the NUT daemons and clients as thin tokio shells around `nut-core`.
//!
//! Daemon functions (`driver::run_dummy`, `upsd::serve`, `upsmon::run`) are generic over
//! the seams in [`seam`], so the `sim` crate runs these very functions inside turmoil.
//! Real implementations of the seams are in [`real`]. This crate must not depend on
//! turmoil, and daemon code must not read `std::time` clocks or touch files or processes
//! except through [`seam::Sys`].

pub mod apcsmart;
pub mod cli;
pub mod client;
pub mod confload;
pub mod driver;
pub mod drivercli;
pub mod fakeups;
pub mod http;
pub mod lines;
pub mod manual;
pub mod privsep;
pub mod qx;
pub mod real;
pub mod relay;
pub mod seam;
pub mod serial;
pub mod service;
pub mod session;
pub mod snmp;
pub mod snmpv3;
pub mod tls;
pub mod udp;
pub mod upsd;
pub mod upsdrvctl;
pub mod upsmon;
pub mod upssched;
pub mod usb;
pub mod usbhid;
pub mod wiring;
pub mod zeroconf;
