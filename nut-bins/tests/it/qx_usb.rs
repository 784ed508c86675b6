//! nutdrv_qx through every USB-to-serial bridge of NUT 2.8.0 (cypress, phoenixtec,
//! phoenix, ippon, krauler, fabula, hunnox, fuji, sgs, snr, ablerex, armac) against a
//! modelled bridge in front of each recorded Megatec unit: the bridge's transfers carry
//! the unit's answers as that bridge does (8-byte reports and interrupt reads, one
//! 64-byte read, string descriptors, vendor requests, 47-byte feature reports, 6-byte
//! counted reports), and the driver must
//! print the same variables as over a serial line, and `-k` must reach the unit.

use nut_bins::qx::{dump, kill_power, QxWiring};
use nut_bins::real::RealSys;
use nut_bins::usb::BridgeQx;
use nut_core::qx::QxOptions;
use nut_core::qxusb::{Bridge, BridgeIo, UsbError, BRIDGES};
use nut_core::transcript::{Answer, Transcript};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A string descriptor read: index, language.
type StringRead = (u8, Option<u16>);

/// A bridge in front of a recorded unit.
struct FakeBridge {
    bridge: Bridge,
    unit: Transcript,
    /// Bytes written so far (cypress, phoenix, ippon), until a `\r`.
    sending: Vec<u8>,
    /// The unit's reply not yet read.
    pending: Vec<u8>,
    /// Every query the unit received.
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Every string descriptor read (index, language), in order.
    strings: Arc<Mutex<Vec<StringRead>>>,
    /// Armac: the unit answered, and its end-of-answer report is still to come.
    answering: bool,
}

impl FakeBridge {
    fn new(bridge: Bridge, unit: Transcript) -> (FakeBridge, Arc<Mutex<Vec<Vec<u8>>>>) {
        let received = Arc::new(Mutex::new(Vec::new()));
        (
            FakeBridge {
                bridge,
                unit,
                sending: Vec::new(),
                pending: Vec::new(),
                received: received.clone(),
                strings: Arc::new(Mutex::new(Vec::new())),
                answering: false,
            },
            received,
        )
    }

    /// Hunnox's string reads: the language list (index 0) and string 1 of its
    /// lock-step, the rest queries to the unit through fabula's indexes, answered with
    /// the unit's `\r` kept (NUT's hunnox_command adds none) or "UPS No Ack" for
    /// commands; raw descriptors (UTF-16LE) when a language is given.
    fn hunnox_string(&mut self, index: u8, langid: Option<u16>) -> Result<Vec<u8>, UsbError> {
        let text = match index {
            0x00 => return Ok(vec![4, 3, 0x09, 0x04]),
            0x01 => b"MEC".to_vec(),
            _ => {
                let query = string_query(Bridge::Fabula, index);
                if query.starts_with(b"fabula-shutdown") || query == b"C\r" || query == b"Q\r" {
                    self.received.lock().unwrap().push(query);
                    b"UPS No Ack".to_vec()
                } else {
                    self.ask(&query).ok_or(UsbError::Timeout)?
                }
            }
        };
        Ok(match langid {
            None => text,
            Some(_) => {
                let mut raw = vec![(2 + 2 * text.len()) as u8, 3];
                for c in text {
                    raw.extend([c, 0]);
                }
                raw
            }
        })
    }

    fn ask(&mut self, query: &[u8]) -> Option<Vec<u8>> {
        self.received.lock().unwrap().push(query.to_vec());
        match self.unit.answer(query) {
            Answer::Bytes(b) => Some(b),
            Answer::Silent => None,
        }
    }
}

/// Fabula's and krauler's string indexes (nutdrv_qx.c's tables, seen from the unit).
fn string_query(bridge: Bridge, index: u8) -> Vec<u8> {
    match (bridge, index) {
        (_, 0x03) => b"Q1\r".to_vec(),
        (_, 0x0d) => b"F\r".to_vec(),
        (_, 0x0c) => b"I\r".to_vec(),
        (_, 0x07) => b"Q\r".to_vec(),
        (Bridge::Krauler, 0x04) => b"T\r".to_vec(),
        (Bridge::Krauler, 0x05) => b"TL\r".to_vec(),
        (Bridge::Krauler, 0x0b) => b"C\r".to_vec(),
        (Bridge::Fabula, 0x0a) => b"C\r".to_vec(),
        // Fabula's shutdowns: the index itself.
        (_, n) => format!("fabula-shutdown-{n:#04x}").into_bytes(),
    }
}

impl BridgeIo for FakeBridge {
    fn control_out(
        &mut self,
        request: u8,
        value: u16,
        data: &[u8],
        _: u64,
    ) -> Result<usize, UsbError> {
        if self.bridge == Bridge::Ablerex {
            // 05 00 <len+1> <command and its \r> in feature report 5, 47 bytes.
            assert_eq!((request, value, data.len()), (0x09, 0x305, 47));
            assert_eq!(&data[..2], &[0x05, 0x00]);
            let n = usize::from(data[2]);
            let query = data[3..3 + n].to_vec();
            assert_eq!(query.last(), Some(&b'\r'), "{query:?}");
            self.pending = self.ask(&query).unwrap_or_default();
            return Ok(47);
        }
        if self.bridge == Bridge::Armac {
            // a0 + n, then n bytes (3 at most), in 4-byte reports.
            assert_eq!((request, value, data.len()), (0x09, 0x200, 4));
            let n = usize::from(data[0] - 0xa0);
            assert!((1..=3).contains(&n), "armac count {n}");
            self.sending.extend_from_slice(&data[1..=n]);
            if let Some(at) = self.sending.iter().position(|b| *b == b'\r') {
                let query: Vec<u8> = self.sending.drain(..=at).collect();
                self.sending.clear();
                match self.ask(&query) {
                    Some(reply) => {
                        self.pending = reply;
                        self.answering = true;
                    }
                    None => self.pending.clear(),
                }
            }
            return Ok(4);
        }
        let want = if self.bridge == Bridge::Ippon {
            0x2
        } else {
            0x200
        };
        assert_eq!(
            (request, value),
            (0x09, want),
            "{:?}: SET_REPORT",
            self.bridge
        );
        assert_eq!(data.len(), 8, "8-byte chunks");
        if self.bridge == Bridge::Sgs {
            // The first byte counts the data bytes.
            let n = usize::from(data[0]);
            assert!((1..=7).contains(&n), "sgs count {n}");
            self.sending.extend_from_slice(&data[1..=n]);
        } else {
            self.sending.extend(data.iter().take_while(|b| **b != 0));
        }
        if let Some(at) = self.sending.iter().position(|b| *b == b'\r') {
            let query: Vec<u8> = self.sending.drain(..=at).collect();
            self.sending.clear();
            self.pending = self.ask(&query).unwrap_or_default();
        }
        Ok(8)
    }

    fn control_in(
        &mut self,
        request: u8,
        value: u16,
        buf: &mut [u8],
        _: u64,
    ) -> Result<usize, UsbError> {
        // Ablerex's answer: GET_REPORT of feature report 5, the answer zero-padded.
        assert_eq!(self.bridge, Bridge::Ablerex);
        assert_eq!((request, value, buf.len()), (0x01, 0x305, 47));
        buf.fill(0);
        let n = self.pending.len().min(47);
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.clear();
        Ok(47)
    }

    fn vendor_out(&mut self, request: u8, data: &[u8], _: u64) -> Result<usize, UsbError> {
        // Phoenixtec: the whole query in one vendor request.
        assert_eq!((self.bridge, request), (Bridge::Phoenixtec, 0x0d));
        self.pending = self.ask(data).unwrap_or_default();
        Ok(data.len())
    }

    fn interrupt_out(&mut self, endpoint: u8, data: &[u8], _: u64) -> Result<usize, UsbError> {
        // Fuji: 80 06 <len+1> 03 <command, no \r> <padding> <answer length>.
        assert_eq!((self.bridge, endpoint, data.len()), (Bridge::Fuji, 0x02, 8));
        assert_eq!((data[0], data[1], data[3]), (0x80, 0x06, 0x03));
        let n = usize::from(data[2]) - 1;
        assert!(n <= 3, "fuji command of {n} bytes");
        let mut query = data[4..4 + n].to_vec();
        query.push(b'\r');
        if data[7] == 0 {
            // No answer announced: a command, carried out without a word (as fuji's
            // units do, nutdrv_qx.c), or a query the unit does not know.
            self.received.lock().unwrap().push(query);
            self.pending.clear();
            return Ok(8);
        }
        self.pending = self.ask(&query).unwrap_or_default();
        assert_eq!(usize::from(data[7]), self.pending.len(), "{query:?}");
        Ok(8)
    }

    fn interrupt_in(&mut self, endpoint: u8, buf: &mut [u8], _: u64) -> Result<usize, UsbError> {
        assert_eq!(endpoint, 0x81);
        if self.bridge == Bridge::Armac {
            // Up to 5 bytes behind a0 + their count; a0 alone ends the answer.
            assert_eq!(buf.len(), 6);
            if self.pending.is_empty() && !self.answering {
                return Err(UsbError::Timeout);
            }
            let n = self.pending.len().min(5);
            buf.fill(0);
            buf[0] = 0xa0 + n as u8;
            buf[1..=n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            if n == 0 {
                self.answering = false;
            }
            return Ok(6);
        }
        if self.bridge == Bridge::Fuji {
            // 8-byte reports, zero-padded after the \r.
            assert_eq!(buf.len(), 8);
            if self.pending.is_empty() {
                return Err(UsbError::Timeout);
            }
            let n = self.pending.len().min(8);
            buf.fill(0);
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            return Ok(8);
        }
        if self.bridge == Bridge::Phoenixtec {
            // 8-byte packets into what is left of the driver's buffer.
            if self.pending.is_empty() {
                return Err(UsbError::Timeout);
            }
            let n = self.pending.len().min(8).min(buf.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            return Ok(n);
        }
        if self.bridge == Bridge::Snr {
            // The wake-up read: nothing to read.
            assert_eq!(buf.len(), 102);
            return Err(UsbError::Timeout);
        }
        if self.bridge == Bridge::Sgs {
            if self.pending.is_empty() {
                return Err(UsbError::Timeout);
            }
            // Up to 7 bytes behind their count.
            assert_eq!(buf.len(), 8);
            let n = self.pending.len().min(7);
            buf.fill(0);
            buf[0] = n as u8;
            buf[1..=n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            return Ok(8);
        }
        if self.bridge == Bridge::Ippon {
            // Always one 64-byte report, zero-padded; a silent unit's is 00 0d.
            assert_eq!(buf.len(), 64);
            buf.fill(0);
            if self.pending.is_empty() {
                buf[1] = b'\r';
            }
            let n = self.pending.len().min(64);
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.clear();
            return Ok(64);
        }
        if self.pending.is_empty() {
            return Err(UsbError::Timeout);
        }
        // Always whole 8-byte reports: past the reply's end, stale bytes.
        assert_eq!(buf.len(), 8);
        let n = self.pending.len().min(8);
        buf[..n].copy_from_slice(&self.pending[..n]);
        buf[n..].fill(b'x');
        self.pending.drain(..n);
        Ok(8)
    }

    fn get_string(
        &mut self,
        index: u8,
        langid: Option<u16>,
        buf: &mut [u8],
    ) -> Result<usize, UsbError> {
        self.strings.lock().unwrap().push((index, langid));
        if self.bridge == Bridge::Snr {
            // Krauler's indexes, raw descriptors; the unit's first byte is not the
            // Megatec one (NUT puts it back).
            assert_eq!(langid, Some(0x0409));
            let mut text = self
                .ask(&string_query(Bridge::Krauler, index))
                .ok_or(UsbError::Timeout)?;
            if let Some(first) = text.first_mut() {
                *first = b'?';
            }
            let mut raw = vec![(2 + 2 * text.len()) as u8, 3];
            for c in text {
                raw.extend([c, 0]);
            }
            let n = raw.len().min(buf.len());
            buf[..n].copy_from_slice(&raw[..n]);
            return Ok(n);
        }
        if self.bridge == Bridge::Hunnox {
            let reply = self.hunnox_string(index, langid)?;
            let n = reply.len().min(buf.len());
            buf[..n].copy_from_slice(&reply[..n]);
            return Ok(n);
        }
        assert!(matches!(self.bridge, Bridge::Krauler | Bridge::Fabula));
        assert_eq!(langid, None);
        let query = string_query(self.bridge, index);
        let reply = if query.starts_with(b"fabula-shutdown") || query == b"C\r" || query == b"Q\r" {
            self.received.lock().unwrap().push(query.clone());
            b"UPS No Ack".to_vec()
        } else {
            match self.ask(&query) {
                Some(mut r) => {
                    // These bridges drop the reply's \r; krauler's first byte is not
                    // the Megatec one (NUT puts it back).
                    r.retain(|b| *b != b'\r');
                    if self.bridge == Bridge::Krauler {
                        if let Some(first) = r.first_mut() {
                            *first = b'?';
                        }
                    }
                    r
                }
                None => return Err(UsbError::Timeout),
            }
        };
        let n = reply.len().min(buf.len());
        buf[..n].copy_from_slice(&reply[..n]);
        Ok(n)
    }

    fn clear_halt(&mut self, _: u8) {}
}

fn unit(name: &str) -> Transcript {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../hw-fixtures/qx/{name}.txt"));
    Transcript::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn wiring(t: &Transcript) -> QxWiring {
    QxWiring {
        ups: "test".to_string(),
        port: "auto".to_string(),
        pollinterval_s: 2,
        options: QxOptions::from_options(&t.options).unwrap(),
        cablepower: (true, false),
        initial: Vec::new(),
        overrides: Vec::new(),
        statepath: String::new(),
        usb: None,
    }
}

/// What the serial line gives for the unit, and the variables NUT printed: through
/// every bridge the same listing.
#[test]
fn every_bridge_gives_the_units_variables() {
    let sys = RealSys::new("nutdrv_qx", false);
    let rt = nut_bins::real::runtime().unwrap();
    let mut failures = Vec::new();
    for name in ["fideltronik-inigo-viper-1200", "inelt-monolith-3000rt"] {
        let t = unit(name);
        for (bridge_name, bridge) in BRIDGES {
            let (fake, received) = FakeBridge::new(bridge, t.clone());
            // snr reads its strings with langid_fix only.
            let langid = (bridge == Bridge::Snr).then_some(0x0409);
            let mut port = BridgeQx::new(fake, bridge, langid, Box::new(|| None));
            let listing = rt.block_on(dump(&sys, &wiring(&t), &mut port, 1));
            let listing = match listing {
                Ok(l) => l,
                Err(e) => {
                    failures.push(format!("{name} via {bridge_name}: {e}"));
                    continue;
                }
            };
            for (var, want) in t
                .expect
                .iter()
                .filter(|(v, _)| v != "driver.parameter.port")
            {
                // Fabula and krauler units have no beeper toggle query status: the
                // rest must match.
                let line = format!("{var}: {want}\n");
                if !listing.contains(&line) {
                    failures.push(format!("{name} via {bridge_name}: want {line:?}"));
                }
            }
            assert!(
                received.lock().unwrap().iter().any(|q| q == b"Q1\r"),
                "{name} via {bridge_name}: no Q1 reached the unit"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `-k` through each bridge: the unit gets the cancel and the shutdown (fabula's as
/// the string index NUT computes for S.5R0001-like delays).
#[test]
fn kill_power_reaches_the_unit_through_every_bridge() {
    let sys = RealSys::new("nutdrv_qx", false);
    let rt = nut_bins::real::runtime().unwrap();
    let t = unit("fideltronik-inigo-viper-1200");
    for (bridge_name, bridge) in BRIDGES {
        let (fake, received) = FakeBridge::new(bridge, t.clone());
        // snr reads its strings with langid_fix only.
        let langid = (bridge == Bridge::Snr).then_some(0x0409);
        let mut port = BridgeQx::new(fake, bridge, langid, Box::new(|| None));
        let result = rt.block_on(kill_power(&sys, &wiring(&t), &mut port));
        let got = received.lock().unwrap().clone();
        // Hunnox reads a status, ratings or vendor string before each command.
        let commands: Vec<&[u8]> = got
            .iter()
            .map(Vec::as_slice)
            .filter(|q| bridge != Bridge::Hunnox || ![&b"Q1\r"[..], b"F\r", b"I\r"].contains(q))
            .collect();
        let tail = commands[commands.len().saturating_sub(2)..].to_vec();
        // Cancel, then off in a minute and back a minute after mains returns (the
        // fixture's offdelay/ondelay = 60): on the line, S01R0001; fabula's string
        // index for it is 0x68 (96 + 8 for "return"); krauler has no shutdown (NUT
        // answers it with an echo, unsent, and -k fails).
        match bridge {
            Bridge::Krauler | Bridge::Snr => {
                assert!(!got.iter().any(|q| q.starts_with(b"S")), "{got:?}");
                assert!(result.is_err(), "{result:?}");
            }
            Bridge::Fabula | Bridge::Hunnox => {
                assert_eq!(
                    tail,
                    vec![&b"C\r"[..], b"fabula-shutdown-0x68"],
                    "{bridge_name}"
                );
                assert!(result.is_ok(), "{bridge_name}: {result:?}");
            }
            // Fuji's reports hold 3 bytes of command: the return delay is dropped.
            Bridge::Fuji => {
                assert_eq!(tail, vec![&b"C\r"[..], b"S01\r"], "{bridge_name}");
                assert!(result.is_ok(), "{bridge_name}: {result:?}");
            }
            _ => {
                assert_eq!(tail, vec![&b"C\r"[..], b"S01R0001\r"], "{bridge_name}");
                assert!(result.is_ok(), "{bridge_name}: {result:?}");
            }
        }
    }
}

#[test]
fn a_silent_unit_times_out_through_a_bridge() {
    let sys = RealSys::new("nutdrv_qx", false);
    let rt = nut_bins::real::runtime().unwrap();
    let mut t = unit("fideltronik-inigo-viper-1200");
    for exchange in &mut t.exchanges {
        exchange.1 = None;
    }
    let (fake, _) = FakeBridge::new(Bridge::Cypress, t.clone());
    let mut port = BridgeQx::new(fake, Bridge::Cypress, None, Box::new(|| None));
    let err = rt
        .block_on(dump(&sys, &wiring(&t), &mut port, 1))
        .unwrap_err();
    assert!(err.starts_with("Device not supported"), "{err}");
}

/// USB settings NUT refuses are refused with NUT's words, before any USB is touched.
#[test]
fn usb_settings_are_checked_as_nut_checks_them() {
    let lab = crate::lab::Lab::new("qx-usb-conf");
    for (conf, want) in [
        (
            "\tsubdriver = cypress\n",
            "When specifying a subdriver, 'vendorid' and 'productid' are mandatory.",
        ),
        (
            "\tsubdriver = nosuch\n\tvendorid = 0665\n\tproductid = 5161\n",
            "Subdriver 'nosuch' not found!",
        ),
        (
            "\tsubdriver = snr\n\tvendorid = 0001\n\tproductid = 0000\n",
            "subdriver = snr needs langid_fix",
        ),
        (
            "\tlangid_fix = 0x10000\n",
            "a language ID is at most 0xffff",
        ),
    ] {
        lab.write(
            "etc/ups.conf",
            &format!("[test]\n\tdriver = nutdrv_qx\n\tport = auto\n{conf}"),
        );
        let (code, _, err) = crate::lab::run(
            &crate::lab::bin("nutdrv_qx"),
            &["-a", "test", "-d", "1"],
            &[("NUT_CONFPATH", &lab.path("etc"))],
        );
        assert_eq!(code, 1, "{conf}: {err}");
        assert!(err.contains(want), "{conf}: {err}");
    }
}

/// The Powercool units of NUT's device library through the hunnox bridge, as their
/// reports set them up (`langid_fix = 0x0409`, protocol hunnox): the variables NUT
/// printed, and the lock-step reads before each query in NUT's order (the language
/// list twice and string 1 once, then ratings, status and vendor strings in turn, each
/// left out when it is the one asked).
#[test]
fn hunnox_units_answer_through_their_bridge_with_langid_fix() {
    let sys = RealSys::new("nutdrv_qx", false);
    let rt = nut_bins::real::runtime().unwrap();
    let mut failures = Vec::new();
    for name in [
        "hunnox-powercool-650va",
        "hunnox-powercool-1500va",
        "hunnox-powercool-2000va",
    ] {
        let t = unit(name);
        let (fake, _) = FakeBridge::new(Bridge::Hunnox, t.clone());
        let strings = fake.strings.clone();
        let mut port = BridgeQx::new(fake, Bridge::Hunnox, Some(0x0409), Box::new(|| None));
        let listing = match rt.block_on(dump(&sys, &wiring(&t), &mut port, 1)) {
            Ok(l) => l,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        for (var, want) in &t.expect {
            let line = format!("{var}: {want}\n");
            if !listing.contains(&line) {
                failures.push(format!("{name}: want {line:?}"));
            }
        }
        let strings = strings.lock().unwrap().clone();
        assert!(
            strings.iter().all(|(_, lang)| *lang == Some(0x0409)),
            "{strings:?}"
        );
        let indexes: Vec<u8> = strings.iter().map(|(i, _)| *i).collect();
        // Claim: Q1 after the first lock-step; the second Q1 (of the start-up walk)
        // after the ratings read.
        assert_eq!(
            indexes[..4],
            [0x00, 0x00, 0x01, 0x03],
            "{name}: {indexes:02x?}"
        );
        assert_eq!(indexes[4..6], [0x0d, 0x03], "{name}: {indexes:02x?}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hunnox_units_are_found_by_their_product_string() {
    use nut_core::qxusb::usb_bridge;
    assert_eq!(
        usb_bridge(0x0001, 0x0000, Some("Powercool"), Some("MEC0003")),
        Some(Bridge::Hunnox)
    );
    assert_eq!(
        usb_bridge(0x0001, 0x0000, Some("MEC"), Some("MEC0003")),
        Some(Bridge::Fabula)
    );
}

/// The protocols that come with their own bridge, through it: a Masterguard unit
/// through its Phoenixtec cable (slave-addressed queries read until their `\r`, its
/// commands answering nothing) and the Ablerex units (NUT's test unit and four units
/// of NUT's device library) through Ablerex's 47-byte reports (the binary `Q5` and
/// `At` answers, NULs and all): the variables NUT printed for each.
#[test]
fn units_read_through_their_own_bridge_as_over_a_serial_line() {
    let sys = RealSys::new("nutdrv_qx", false);
    let rt = nut_bins::real::runtime().unwrap();
    let mut failures = Vec::new();
    for (name, bridge, protocol) in [
        (
            "masterguard-nut-examples",
            Bridge::Phoenixtec,
            "Masterguard 0.02",
        ),
        ("ablerex-nut-testing", Bridge::Ablerex, "Ablerex 0.01"),
        ("ablerex-ares", Bridge::Ablerex, "Ablerex 0.01"),
        ("ablerex-grs", Bridge::Ablerex, "Ablerex 0.01"),
        ("ablerex-msii", Bridge::Ablerex, "Ablerex 0.01"),
        ("ablerex-msiii", Bridge::Ablerex, "Ablerex 0.01"),
    ] {
        let t = unit(name);
        assert!(!t.expect.is_empty(), "{name}: no listing to compare");
        let (fake, received) = FakeBridge::new(bridge, t.clone());
        let mut port = BridgeQx::new(fake, bridge, None, Box::new(|| None));
        let listing = rt
            .block_on(dump(&sys, &wiring(&t), &mut port, 1))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            listing.contains(&format!("driver.version.data: {protocol}\n")),
            "{name}: {listing}"
        );
        for (var, want) in t.expect.iter().filter(|(v, _)| !v.starts_with("driver.")) {
            let line = format!("{var}: {want}\n");
            if !listing.contains(&line) {
                failures.push(format!("{name}: want {line:?}"));
            }
        }
        let got = received.lock().unwrap().clone();
        assert!(!got.is_empty(), "{name}: nothing reached the unit");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
