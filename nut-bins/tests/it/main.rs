//! Integration tests of the real binaries on 127.0.0.1 (one test binary, many modules).

mod chain;
mod checkconfig;
mod clients;
mod ddl_differential;
mod hostile;
mod interop;
mod lab;
mod manual;
mod metrics;
mod notify;
mod nut_upsmon;
mod python_clients;
mod qx;
mod qx_usb;
mod service;
mod shutdown;
mod snmp;
mod tls;
mod transcripts;
mod units;
mod upsd_server;
mod upsdrvctl;
mod upsmon_reload;
mod upssched;
mod usbhid;
mod zeroconf;
