//! Integration tests of the real binaries on 127.0.0.1 (one test binary, many modules).

mod checkconfig;
mod clients;
mod interop;
mod lab;
mod shutdown;
mod tls;
mod upsd_server;
