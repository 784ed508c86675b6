//! The USB-to-serial bridges of Megatec/Q1 units (NUT 2.8.0 `drivers/nutdrv_qx.c`:
//! `cypress_command`, `phoenix_command`, `ippon_command`, `krauler_command`,
//! `fabula_command`, `hunnox_command`, `sgs_command`, `snr_command`,
//! `phoenixtec_command`, `fuji_command`, `ablerex_command`, `armac_command`, and the
//! `qx_usb_id` table that picks one per VID:PID). Each
//! bridge turns one Megatec query into USB transfers and their answers back into the
//! reply a serial line would give. The transfers go through [`BridgeIo`], which the
//! shell implements on a real device (rusb) and tests on a modelled one: this module
//! performs no IO of its own.
//!
//! One deliberate difference: when a unit acknowledges a command with silence, the
//! bridge's read times out; NUT counts that timeout as a failed command (so `-k`
//! retries and exits 1, and upsd answers ERR FAILED to commands the UPS carried out,
//! NUT issues #3232 and #3535). Here a silent answer to a command is what it is on a
//! serial line: taken.
//!
//! `noscanlangid` works as documented: NUT 2.8.0 reads it with `getval`, which a flag
//! never has, so its start-up language scan runs anyway unless the option is given a
//! value.

/// Failure of one USB transfer, in the terms nutdrv_qx acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsbError {
    /// Nothing within the timeout.
    Timeout,
    /// The endpoint stalled (cleared and retried at the next poll).
    Pipe,
    /// The device is gone (no device, I/O error, access lost): reopen it.
    Gone,
    /// Anything else.
    Other,
}

/// The transfers a bridge needs.
pub trait BridgeIo {
    /// A class control transfer to the interface (host to device).
    fn control_out(
        &mut self,
        request: u8,
        value: u16,
        data: &[u8],
        timeout_ms: u64,
    ) -> Result<usize, UsbError>;
    /// A class control transfer from the interface (device to host: ablerex's
    /// GET_REPORT).
    fn control_in(
        &mut self,
        request: u8,
        value: u16,
        buf: &mut [u8],
        timeout_ms: u64,
    ) -> Result<usize, UsbError>;
    /// A vendor control transfer to endpoint 0 (host to device: phoenixtec's queries,
    /// `USB_ENDPOINT_OUT | USB_TYPE_VENDOR | USB_RECIP_ENDPOINT`).
    fn vendor_out(&mut self, request: u8, data: &[u8], timeout_ms: u64) -> Result<usize, UsbError>;
    /// An interrupt-out write to `endpoint` (fuji's queries).
    fn interrupt_out(
        &mut self,
        endpoint: u8,
        data: &[u8],
        timeout_ms: u64,
    ) -> Result<usize, UsbError>;
    /// An interrupt-in read from `endpoint` into `buf`.
    fn interrupt_in(
        &mut self,
        endpoint: u8,
        buf: &mut [u8],
        timeout_ms: u64,
    ) -> Result<usize, UsbError>;
    /// A string descriptor's raw bytes (`langid`: a language, else the first one the
    /// device names: libusb's `get_string_descriptor_ascii` then).
    fn get_string(
        &mut self,
        index: u8,
        langid: Option<u16>,
        buf: &mut [u8],
    ) -> Result<usize, UsbError>;
    /// Clears a stalled endpoint.
    fn clear_halt(&mut self, endpoint: u8);
    /// Waits `ms` milliseconds between transfers (hunnox's lock-step pause, ablerex's
    /// half second before its answer, armac's 15 ms when the unit has little to say);
    /// a modelled device need not wait.
    fn pause(&mut self, _ms: u64) {}
}

/// A bridge (nutdrv_qx's `subdriver` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bridge {
    /// Cypress-based cables (Voltronic 0665:5161 and most others).
    Cypress,
    /// Phoenix (flushes the converter before each query).
    Phoenix,
    /// Ippon / Mustek (one 64-byte reply).
    Ippon,
    /// Krauler: queries as string descriptor indexes.
    Krauler,
    /// Fabula / MEC: queries and shutdowns as string descriptor indexes.
    Fabula,
    /// Hunnox (HNX 850, Powercool...): fabula's indexes, each query preceded by the
    /// lock-step string reads of the vendor's Windows client (`hunnox_command`).
    Hunnox,
    /// SGS (TS Shara): 8-byte reports whose first byte counts the data bytes that
    /// follow (at most 7), both ways (`sgs_command`).
    Sgs,
    /// SNR (SNR-UPS-LID): krauler's query indexes read with `langid_fix`, after an
    /// interrupt read that wakes the unit (`snr_command`).
    Snr,
    /// Phoenixtec (Masterguard A series): the query as a vendor control transfer, the
    /// answer read until its `\r`; commands answer nothing (`phoenixtec_command`).
    Phoenixtec,
    /// Fuji: the query in one 8-byte interrupt-out report naming the answer's length,
    /// the answer in zero-padded 8-byte reports (`fuji_command`).
    Fuji,
    /// Ablerex (625L USB): the query in a 47-byte SET_REPORT, the answer in a 47-byte
    /// GET_REPORT half a second later (`ablerex_command`).
    Ablerex,
    /// Armac (Richcomm's PowerManagerII protocol): the query in 3-byte chunks, the
    /// answer in 6-byte interrupt reports whose first byte counts the data
    /// (`armac_command`).
    Armac,
}

/// What a bridge keeps between queries: hunnox's place in its lock-step sequence
/// (nutdrv_qx.c's `hunnox_step`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BridgeState {
    hunnox_step: u8,
}

/// Bridges by `subdriver` name, in NUT's order (nutdrv_qx.c's `usbsubdriver`).
pub const BRIDGES: [(&str, Bridge); 12] = [
    ("cypress", Bridge::Cypress),
    ("phoenixtec", Bridge::Phoenixtec),
    ("phoenix", Bridge::Phoenix),
    ("ippon", Bridge::Ippon),
    ("krauler", Bridge::Krauler),
    ("fabula", Bridge::Fabula),
    ("hunnox", Bridge::Hunnox),
    ("fuji", Bridge::Fuji),
    ("sgs", Bridge::Sgs),
    ("snr", Bridge::Snr),
    ("ablerex", Bridge::Ablerex),
    ("armac", Bridge::Armac),
];

impl Bridge {
    /// By name, as the `subdriver` option gives it (case-insensitive).
    pub fn named(name: &str) -> Option<Bridge> {
        BRIDGES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, b)| *b)
    }

    /// The option's name for it.
    pub fn name(self) -> &'static str {
        BRIDGES
            .iter()
            .find(|(_, b)| *b == self)
            .map_or("", |(n, _)| n)
    }
}

/// One `qx_usb_id` row: VID, PID, iManufacturer and iProduct to match (if given), and
/// the bridge.
pub type UsbId = (u16, u16, Option<&'static str>, Option<&'static str>, Bridge);

/// NUT 2.8.0's `qx_usb_id`, in its order (first match wins).
pub const QX_USB_IDS: [UsbId; 20] = [
    (0x05b8, 0x0000, None, None, Bridge::Cypress),
    // Ablerex 625L USB.
    (0xffff, 0x0000, None, None, Bridge::Ablerex),
    (0x1cb0, 0x0035, None, None, Bridge::Krauler),
    (0x0665, 0x5161, None, None, Bridge::Cypress),
    // Masterguard A series.
    (
        0x06da,
        0x0002,
        Some("Phoenixtec Power"),
        Some("USB Cable (V2.00)"),
        Bridge::Phoenixtec,
    ),
    (0x06da, 0x0002, None, None, Bridge::Cypress),
    (0x06da, 0x0003, None, None, Bridge::Ippon),
    (0x06da, 0x0004, None, None, Bridge::Cypress),
    (0x06da, 0x0005, None, None, Bridge::Cypress),
    (0x06da, 0x0201, None, None, Bridge::Cypress),
    (0x06da, 0x0601, None, None, Bridge::Phoenix),
    (0x0f03, 0x0001, None, None, Bridge::Cypress),
    (0x14f0, 0x00c9, None, None, Bridge::Phoenix),
    (0x0483, 0x0035, None, None, Bridge::Sgs),
    (0x0001, 0x0000, Some("MEC"), Some("MEC0003"), Bridge::Fabula),
    (0x0001, 0x0000, None, Some("MEC0003"), Bridge::Hunnox),
    (
        0x0001,
        0x0000,
        Some("ATCL FOR UPS"),
        Some("ATCL FOR UPS"),
        Bridge::Fuji,
    ),
    (0x0001, 0x0000, None, None, Bridge::Krauler),
    // Shadowed by hunnox's row, as in NUT: snr only by `subdriver`.
    (0x0001, 0x0000, None, Some("MEC0003"), Bridge::Snr),
    // Armac, and maybe other units of Richcomm's PowerManagerII software.
    (0x0925, 0x1234, None, None, Bridge::Armac),
];

/// The bridge of the `qx_usb_id` row a device matches (NUT's
/// `qx_is_usb_device_supported`).
pub fn usb_bridge(
    vendor_id: u16,
    product_id: u16,
    vendor: Option<&str>,
    product: Option<&str>,
) -> Option<Bridge> {
    let same = |want: Option<&str>, got: Option<&str>| match want {
        None => true,
        Some(w) => got.is_some_and(|g| g.eq_ignore_ascii_case(w)),
    };
    QX_USB_IDS
        .iter()
        .find(|(v, p, mfr, prod, _)| {
            *v == vendor_id && *p == product_id && same(*mfr, vendor) && same(*prod, product)
        })
        .map(|row| row.4)
}

/// How nutdrv_qx finds its USB unit: the matching options and, if given, the bridge
/// (`subdriver`; else from NUT's VID:PID table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QxUsbSpec {
    /// vendorid, productid, vendor, product, serial, bus, device.
    pub matcher: crate::hidups::Matcher,
    /// `subdriver`.
    pub bridge: Option<Bridge>,
    /// `langid_fix`.
    pub langid_fix: Option<u16>,
    /// Read the unit's language list once at start-up (with `langid_fix`, unless
    /// `noscanlangid`): see [`scan_langid`].
    pub scan_langid: bool,
}

/// Options that put nutdrv_qx on USB (nutdrv_qx.c `upsdrv_initups`), besides
/// `port = auto`.
pub const USB_OPTIONS: [&str; 8] = [
    "subdriver",
    "vendorid",
    "productid",
    "vendor",
    "product",
    "serial",
    "bus",
    "langid_fix",
];

impl QxUsbSpec {
    /// The USB spec of a section, or `None` for a serial unit; errors as NUT's.
    pub fn from_options(
        port: Option<&str>,
        options: &[(String, Option<String>)],
    ) -> Result<Option<QxUsbSpec>, String> {
        let get = |name: &str| {
            options
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.as_deref())
        };
        let usb = port.is_some_and(|p| p.eq_ignore_ascii_case("auto"))
            || USB_OPTIONS.iter().any(|o| get(o).is_some());
        if !usb {
            return Ok(None);
        }
        let bridge = match get("subdriver") {
            None => None,
            Some(name) => {
                if get("vendorid").is_none() || get("productid").is_none() {
                    return Err(
                        "When specifying a subdriver, 'vendorid' and 'productid' are mandatory."
                            .to_string(),
                    );
                }
                match Bridge::named(name) {
                    Some(b) => Some(b),
                    None => return Err(format!("Subdriver '{name}' not found!")),
                }
            }
        };
        let langid_fix = match get("langid_fix") {
            None => None,
            Some(v) => match scan_hex(v.get(2..).unwrap_or("")) {
                // NUT logs "Error enabling language ID workaround" and goes on without.
                None => None,
                Some(id) => Some(u16::try_from(id).map_err(|_| {
                    // NUT takes it, and exits at the first string read ("args out of
                    // range"): refused here before any USB is touched.
                    format!("langid_fix = {v}: a language ID is at most 0xffff")
                })?),
            },
        };
        if bridge == Some(Bridge::Snr) && langid_fix.is_none() {
            // NUT reads snr's strings with langid_fix whatever it is, and exits at the
            // first one without it ("usb_get_string() args out of range").
            return Err("subdriver = snr needs langid_fix (e.g. 0x0409)".to_string());
        }
        let noscan = options.iter().any(|(k, _)| k == "noscanlangid");
        let matcher = crate::hidups::Matcher::from_options(options)?;
        Ok(Some(QxUsbSpec {
            matcher,
            bridge,
            langid_fix,
            scan_langid: langid_fix.is_some() && !noscan,
        }))
    }
}

/// C's `sscanf(text, "%x")` as nutdrv_qx reads `langid_fix` after its first two
/// characters: blanks, an optional sign and `0x`, then hex digits; `None` without a
/// digit or above `INT_MAX` (NUT refuses those).
fn scan_hex(text: &str) -> Option<u32> {
    let t = text.trim_start();
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_hexdigit()))
        .unwrap_or(t);
    let digits: String = t.chars().take_while(char::is_ascii_hexdigit).collect();
    if digits.is_empty() {
        return None;
    }
    // strtoul's value (saturated), negated as unsigned, cut to an unsigned int as glibc
    // stores it; NUT refuses what is then above INT_MAX.
    let value = u64::from_str_radix(&digits, 16).unwrap_or(u64::MAX);
    let value = if negative {
        value.wrapping_neg()
    } else {
        value
    } as u32;
    (i32::try_from(value).is_ok()).then_some(value)
}

/// Bytes of nutdrv_qx's language-list read at start-up.
const LANGID_SCAN_BYTES: usize = 255;

/// nutdrv_qx's "language ID workaround #2": with `langid_fix`, string 0 is read once
/// at start-up with language 0 (the languages the unit supports; NUT only logs the
/// first). Some bridges answer differently until it was asked.
pub fn scan_langid<I: BridgeIo>(io: &mut I) -> Option<u16> {
    let mut buf = [0u8; LANGID_SCAN_BYTES];
    let n = io.get_string(0, Some(0), &mut buf).ok()?;
    (n >= 4).then(|| u16::from_le_bytes([buf[2], buf[3]]))
}

/// Longest reply kept, in bytes (nutdrv_qx's `SMALLBUF` reply buffer).
pub const REPLY_BYTES: usize = 512;
/// The buffer length the bridges are given, in bytes (`qx_process` passes its answer
/// buffer less the end NUL): reads stop 8 bytes before it, a `\r` is added only below
/// `BUFLEN - 1`.
const BUFLEN: usize = REPLY_BYTES - 1;
/// Control transfer timeout of the cypress bridge, in ms.
const CYPRESS_SEND_MS: u64 = 5000;
/// Timeout of the other transfers, in ms.
const TRANSFER_MS: u64 = 1000;
/// Interrupt endpoint the bridges read.
const EP_IN: u8 = 0x81;
/// Krauler's and fabula's "command taken" answer.
const NO_ACK: &[u8] = b"UPS No Ack";

/// What one query gave: the reply up to and including `\r` (empty: nothing), or the
/// transfer error that ended it.
pub type BridgeReply = Result<Vec<u8>, UsbError>;

/// One query's answer as NUT's bridges give it: the length they return and what their
/// buffer holds. nutdrv_qx checks an answer's length against the one, and reads values
/// from the other as a C string (so does an item reusing the answer); they differ
/// where a bridge returns 0 or a short read's size over a buffer it filled (ablerex's
/// answer of the wrong length or without a `\r`, armac's short report).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Counted {
    /// The buffer (up to its first NUL is what NUT reads).
    pub bytes: Vec<u8>,
    /// The length the bridge returned.
    pub len: usize,
}

impl Counted {
    /// An answer whose length is its size.
    pub fn whole(bytes: Vec<u8>) -> Counted {
        let len = bytes.len();
        Counted { bytes, len }
    }
}

impl From<Counted> for crate::qx::Reply {
    /// What nutdrv_qx makes of a bridge's answer: nothing at all is a timeout (a query
    /// fails, a command is taken).
    fn from(answer: Counted) -> Self {
        use crate::qx::Reply;
        if answer.bytes.is_empty() && answer.len == 0 {
            Reply::Timeout
        } else if answer.len == answer.bytes.len() {
            Reply::Bytes(answer.bytes)
        } else {
            Reply::Counted {
                bytes: answer.bytes,
                len: answer.len,
            }
        }
    }
}

fn truncate_at_cr(mut buf: Vec<u8>) -> Vec<u8> {
    if let Some(at) = buf.iter().position(|b| *b == b'\r') {
        buf.truncate(at + 1);
    }
    buf
}

/// Writes `cmd` in 8-byte SET_REPORT chunks (the chunk after the end zero-filled).
fn send_chunks<I: BridgeIo>(
    io: &mut I,
    cmd: &[u8],
    value: u16,
    timeout_ms: u64,
) -> Result<(), UsbError> {
    let mut i = 0;
    while i < cmd.len() {
        let mut chunk = [0u8; 8];
        let n = (cmd.len() - i).min(8);
        chunk[..n].copy_from_slice(&cmd[i..i + n]);
        let sent = io
            .control_out(0x09, value, &chunk, timeout_ms)
            .map_err(send_failed)?;
        if sent == 0 {
            return Err(UsbError::Timeout);
        }
        i += sent;
    }
    Ok(())
}

/// A send that timed out failed (NUT's negative return): the command may not have
/// reached the unit, unlike a read timing out after it did.
fn send_failed(e: UsbError) -> UsbError {
    match e {
        UsbError::Timeout => UsbError::Other,
        other => other,
    }
}

/// Reads 8-byte interrupt chunks until a `\r` or the buffer is full.
fn read_chunks<I: BridgeIo>(io: &mut I) -> BridgeReply {
    let mut buf = vec![0u8; BUFLEN];
    let mut i = 0;
    while i + 8 <= BUFLEN && !buf[..i].contains(&b'\r') {
        let got = io.interrupt_in(EP_IN, &mut buf[i..i + 8], TRANSFER_MS)?;
        if got == 0 {
            return Err(UsbError::Timeout);
        }
        i += got.min(8);
    }
    buf.truncate(i);
    Ok(truncate_at_cr(buf))
}

/// Exactly "UPS No Ack" before the `\r` (nutdrv_qx.c: `strcspn(buf, "\r") == 10`).
fn is_no_ack(reply: &[u8]) -> bool {
    let text = reply.split(|b| *b == b'\r').next().unwrap_or_default();
    text.len() == 10 && text.eq_ignore_ascii_case(NO_ACK)
}

fn with_cr(mut reply: Vec<u8>) -> Vec<u8> {
    if !reply.is_empty() && !reply.contains(&b'\r') && reply.len() < BUFLEN - 1 {
        reply.push(b'\r');
    }
    reply
}

/// The ASCII of a raw string descriptor (`bLength`, type, UTF-16LE): non-ASCII
/// characters become `?`, as nutdrv_qx's conversion does.
fn descriptor_ascii(raw: &[u8]) -> Vec<u8> {
    let size = raw.first().map_or(0, |n| *n as usize).min(raw.len());
    raw.get(2..size)
        .unwrap_or_default()
        .chunks(2)
        .map(|c| {
            if c.get(1).copied().unwrap_or(0) != 0 {
                b'?'
            } else {
                c[0]
            }
        })
        .collect()
}

/// A string descriptor read as nutdrv_qx reads it: with `langid_fix`, the raw
/// descriptor checked and converted; without it, libusb's ASCII getter.
fn read_string<I: BridgeIo>(
    io: &mut I,
    index: u8,
    langid_fix: Option<u16>,
) -> Result<Option<Vec<u8>>, UsbError> {
    // NUT's reply buffer less one.
    let mut buf = vec![0u8; BUFLEN];
    let n = io.get_string(index, langid_fix, &mut buf)?;
    if n == 0 {
        return Err(UsbError::Timeout);
    }
    buf.truncate(n);
    Ok(Some(match langid_fix {
        // A size that disagrees with bLength is a corrupted message: try again.
        Some(_) if buf.first().map(|b| *b as usize) != Some(n) => return Ok(None),
        Some(_) => descriptor_ascii(&buf),
        None => buf,
    }))
}

/// Fabula's (and hunnox's) string index for a Megatec command; `None` for one they
/// do not know (echoed back, as a Megatec unit does).
fn fabula_index(cmd: &[u8]) -> Option<u8> {
    match cmd {
        b"Q1\r" => Some(0x03),
        b"F\r" => Some(0x0d),
        b"I\r" => Some(0x0c),
        b"Q\r" => Some(0x07),
        b"C\r" => Some(0x0a),
        _ => fabula_shutdown(cmd),
    }
}

/// Reads of an SGS reply at most (NUT reads until a timeout or a full buffer, and a
/// unit answering empty reports at once would keep it reading for ever).
const SGS_MAX_READS: usize = REPLY_BYTES;
/// SNR's reply buffer, in bytes.
const SNR_BUF_BYTES: usize = 102;
/// SNR's tries of one query (a size mismatch or "UPS No Ack" asks again).
const SNR_TRIES: usize = 10;

/// Hunnox's reply buffer, in bytes: the Windows client's size ("if we inform a large
/// buffer, the USB locks", nutdrv_qx.c).
const HUNNOX_BUF_BYTES: usize = 102;
/// The buffer of hunnox's first lock-step reads, in bytes.
const HUNNOX_FIRST_BUF_BYTES: usize = 1026;
/// The language hunnox's lock-step reads use without `langid_fix` (US English).
const HUNNOX_LANGID: u16 = 0x0409;
/// Hunnox's pause after its first lock-step reads, in ms.
const HUNNOX_PAUSE_MS: u64 = 10;

/// `hunnox_protocol`: the string reads that precede query `index` (their answers
/// unused): the language list and string 1 once, then in turn the ratings (0x0d),
/// status (0x03) and vendor (0x0c) strings, each skipped when it is the one asked.
/// (Every query counts, claims of other protocols included, as in NUT.)
fn hunnox_lock_step<I: BridgeIo>(
    io: &mut I,
    index: u8,
    langid_fix: Option<u16>,
    state: &mut BridgeState,
) {
    let langid = Some(langid_fix.unwrap_or(HUNNOX_LANGID));
    let mut buf = vec![0u8; HUNNOX_FIRST_BUF_BYTES];
    match state.hunnox_step {
        0 => {
            for first in [0x00, 0x00, 0x01] {
                let _ = io.get_string(first, langid, &mut buf);
            }
            io.pause(HUNNOX_PAUSE_MS);
        }
        step @ 1..=3 => {
            let other = [0x0d, 0x03, 0x0c][usize::from(step - 1)];
            if index != other {
                let _ = io.get_string(other, langid, &mut buf[..HUNNOX_BUF_BYTES]);
            }
        }
        _ => state.hunnox_step = 0,
    }
    state.hunnox_step += 1;
    if state.hunnox_step > 3 {
        state.hunnox_step = 1;
    }
}

/// The answer lengths fuji's reports announce (nutdrv_qx.c `fuji_command`'s `query`).
const FUJI_ANSWERS: [(&[u8], u8); 3] = [(b"Q1", 47), (b"F", 22), (b"I", 39)];
/// Fuji's longest command, in bytes (its 8-byte report less the frame).
const FUJI_MAX_COMMAND: usize = 3;
/// The endpoint fuji's queries go to (`USB_ENDPOINT_OUT | 2`).
const FUJI_EP_OUT: u8 = 0x02;
/// libusb1.c's `USB_TIMEOUT` (fuji's write), in ms.
const USB_TIMEOUT_MS: u64 = 5000;

/// A shutdown command's delays as nutdrv_qx.c reads them with `sscanf(cmd,
/// "S%lfR%d\r")` (fuji, fabula, hunnox): the shutdown delay, and the return delay if
/// an `R` and a number follow; `None` for a command that is not `S<number>`.
fn scan_shutdown(cmd: &[u8]) -> Option<(f64, Option<i64>)> {
    let text = std::str::from_utf8(cmd).ok()?.strip_prefix('S')?;
    // %lf: an optional sign, digits with at most one point, at least one digit.
    let b = text.as_bytes();
    let mut end = usize::from(text.starts_with(['-', '+']));
    let int = b[end..].iter().take_while(|c| c.is_ascii_digit()).count();
    end += int;
    let mut frac = 0;
    if b.get(end) == Some(&b'.') {
        frac = b[end + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        end += 1 + frac;
    }
    if int + frac == 0 {
        return None;
    }
    let off: f64 = text[..end].parse().ok()?;
    // %d after the R: an optional sign and digits.
    let on = text[end..].strip_prefix('R').and_then(|rest| {
        let sign = usize::from(rest.starts_with(['-', '+']));
        let digits = rest[sign..].bytes().take_while(u8::is_ascii_digit).count();
        rest[..sign + digits].parse::<i64>().ok()
    });
    Some((off, on))
}

/// `fuji_command`: one 8-byte interrupt-out report (`80 06 <len+1> 03 <command>
/// <padding> <answer length>`), the answer in 8-byte reports zero-padded after its `\r`.
/// Commands longer than 3 bytes do not fit and are echoed back, as a Megatec unit does
/// with what it does not know; `S<n>R<m>` is cut to `S<n>` (the unit comes back as soon
/// as mains does, whatever `ups.delay.start` says).
fn fuji<I: BridgeIo>(io: &mut I, cmd: &[u8]) -> Result<Counted, UsbError> {
    let end = cmd.iter().position(|b| *b == b'\r').unwrap_or(cmd.len());
    let mut command = &cmd[..end];
    if matches!(scan_shutdown(cmd), Some((_, Some(on))) if on != 0) {
        command = &command[..command.len().min(FUJI_MAX_COMMAND)];
    }
    if command.len() > FUJI_MAX_COMMAND {
        return Ok(Counted::whole(cmd.to_vec()));
    }
    let answer_len = FUJI_ANSWERS
        .iter()
        .find(|(q, _)| *q == command)
        .map_or(0, |(_, n)| *n);
    let mut report = [0u8; 8];
    report[..4].copy_from_slice(&[0x80, 0x06, command.len() as u8 + 1, 0x03]);
    report[4..4 + command.len()].copy_from_slice(command);
    report[7] = answer_len;
    let sent = io
        .interrupt_out(FUJI_EP_OUT, &report, USB_TIMEOUT_MS)
        .map_err(send_failed)?;
    if sent == 0 {
        return Err(UsbError::Timeout);
    }
    let mut buf = vec![0u8; BUFLEN];
    let mut i = 0;
    while i + 8 <= BUFLEN && !buf.contains(&b'\r') {
        let got = io.interrupt_in(EP_IN, &mut buf[i..i + 8], TRANSFER_MS)?;
        if got == 0 {
            // NUT returns the 0 over what it read so far.
            buf.truncate(i);
            return Ok(Counted { bytes: buf, len: 0 });
        }
        i += got.min(8);
    }
    // NUT returns strlen(buf): the answer ends at the padding.
    let len = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    buf.truncate(len);
    Ok(Counted::whole(buf))
}

/// Phoenixtec's commands that answer nothing (`phoenixtec_command`'s `l`): a command
/// starting with one, not followed by another capital ("M" is not "MSO").
const PHOENIXTEC_SILENT: [&[u8]; 13] = [
    b"T", b"TL", b"S", b"C", b"CT", b"M", b"N", b"O", b"SRC", b"FCLR", b"SS", b"TUD", b"SSN",
];
/// Phoenixtec's vendor request carrying a query.
const PHOENIXTEC_REQUEST: u8 = 0x0d;

/// `phoenixtec_command`: the query as a vendor control transfer, then interrupt reads
/// into what is left of the buffer until one holds a `\r`.
fn phoenixtec<I: BridgeIo>(io: &mut I, cmd: &[u8]) -> BridgeReply {
    let sent = io
        .vendor_out(PHOENIXTEC_REQUEST, cmd, TRANSFER_MS)
        .map_err(send_failed)?;
    if sent == 0 {
        return Err(UsbError::Timeout);
    }
    let silent = PHOENIXTEC_SILENT
        .iter()
        .any(|p| cmd.starts_with(p) && !cmd.get(p.len()).is_some_and(u8::is_ascii_uppercase));
    if silent {
        return Ok(Vec::new());
    }
    let mut buf = vec![0u8; BUFLEN];
    let mut at = 0;
    while at < BUFLEN {
        let got = io.interrupt_in(EP_IN, &mut buf[at..], TRANSFER_MS)?;
        if got == 0 {
            return Err(UsbError::Timeout);
        }
        let got = got.min(BUFLEN - at);
        if let Some(cr) = buf[at..at + got].iter().position(|b| *b == b'\r') {
            // The answer up to its \r, if the buffer has room for NUT's end NUL.
            let end = at + cr + 1;
            if end < BUFLEN {
                buf.truncate(end);
                return Ok(buf);
            }
            break;
        }
        at += got;
    }
    // NUT: "buflen too small", nothing.
    Ok(Vec::new())
}

/// Ablerex's report (feature report 5: `wValue` 0x0305), both ways.
const ABLEREX_REPORT: u16 = 0x0305;
/// Its size, in bytes.
const ABLEREX_REPORT_BYTES: usize = 47;
/// Ablerex's wait between the query and reading its answer, in ms.
const ABLEREX_ANSWER_PAUSE_MS: u64 = 500;
/// Ablerex's tries of a query whose answer has not the expected length.
const ABLEREX_TRIES: usize = 3;
/// The answer lengths ablerex's bridge checks (`\r` included); `Q5` is ablerex's
/// binary status query.
const ABLEREX_LENGTHS: [(&[u8], usize); 3] = [(b"Q1\r", 47), (b"I\r", 39), (b"F\r", 22)];
/// Ablerex's `Q5` answer length; a `Q5` not answered so gives NUT's stand-in: `(` and
/// zeros.
const ABLEREX_Q5_BYTES: usize = 22;

/// `ablerex_command`: `05 00 <len+1> <command with its \r>` in a SET_REPORT, half a
/// second, then the answer in a GET_REPORT, up to its `\r`.
fn ablerex<I: BridgeIo>(io: &mut I, cmd: &[u8]) -> Result<Counted, UsbError> {
    let n = cmd.iter().position(|b| *b == b'\r').unwrap_or(cmd.len());
    let mut query = [0u8; ABLEREX_REPORT_BYTES];
    // NUT copies the command and its \r; one longer than the report is cut here (NUT
    // writes past its buffer).
    let copied = (n + 1).min(cmd.len()).min(ABLEREX_REPORT_BYTES - 3);
    query[..3].copy_from_slice(&[0x05, 0x00, (n + 1) as u8]);
    query[3..3 + copied].copy_from_slice(&cmd[..copied]);
    // NUT's buffer: what the last read copied into it (up to its \r) stays there.
    let mut buf = Vec::new();
    for _ in 0..ABLEREX_TRIES {
        // NUT goes on whatever the send gave: the read tells.
        let _ = io.control_out(0x09, ABLEREX_REPORT, &query, TRANSFER_MS);
        io.pause(ABLEREX_ANSWER_PAUSE_MS);
        let mut answer = [0u8; ABLEREX_REPORT_BYTES];
        answer[0] = 0x05;
        let got = io.control_in(0x01, ABLEREX_REPORT, &mut answer, TRANSFER_MS)?;
        let cr = answer.iter().position(|b| *b == b'\r');
        buf = answer[..cr.map_or(ABLEREX_REPORT_BYTES, |at| at + 1)].to_vec();
        if got == 0 {
            return Ok(Counted { bytes: buf, len: 0 });
        }
        // The length counts the \r; none, or one at the start, is 0.
        let len = cr.filter(|at| *at > 0).map_or(0, |at| at + 1);
        if let Some((_, want)) = ABLEREX_LENGTHS
            .iter()
            .find(|(q, _)| q.eq_ignore_ascii_case(cmd))
        {
            if len != *want {
                continue;
            }
        }
        if cmd.eq_ignore_ascii_case(b"Q5\r") && len != ABLEREX_Q5_BYTES {
            let mut stand_in = vec![0u8; ABLEREX_Q5_BYTES];
            stand_in[0] = b'(';
            return Ok(Counted::whole(stand_in));
        }
        return Ok(Counted { bytes: buf, len });
    }
    Ok(Counted { bytes: buf, len: 0 })
}

/// Queries armac's units ignore (and would make wait): echoed back at once.
const ARMAC_UNSUPPORTED: [&[u8]; 5] = [b"QGS\r", b"QS\r", b"QPI\r", b"M\r", b"D\r"];
/// Armac's send timeout, in ms.
const ARMAC_SEND_MS: u64 = 5000;
/// Bytes of a query per armac report.
const ARMAC_CHUNK: usize = 3;
/// Armac's answer reports, in bytes: a count (low nibble) and up to 5 data bytes.
const ARMAC_REPORT_BYTES: usize = 6;
/// Armac's pause after a report of 2 bytes or fewer, in ms (the unit is slow to fill).
const ARMAC_SLOW_PAUSE_MS: u64 = 15;

/// `armac_command`: the query in 4-byte SET_REPORTs (`a0 + n` and `n` bytes, 3 at
/// most), the answer in 6-byte interrupt reports until one counts no byte.
fn armac<I: BridgeIo>(io: &mut I, cmd: &[u8]) -> Result<Counted, UsbError> {
    if ARMAC_UNSUPPORTED.contains(&cmd) {
        return Ok(Counted::whole(cmd.to_vec()));
    }
    // NUT acts on the last chunk's result only.
    let mut last = Ok(0);
    for chunk in cmd.chunks(ARMAC_CHUNK) {
        let mut report = [0u8; 4];
        report[0] = 0xa0 + chunk.len() as u8;
        report[1..=chunk.len()].copy_from_slice(chunk);
        last = io.control_out(0x09, 0x200, &report, ARMAC_SEND_MS);
    }
    if last.map_err(send_failed)? == 0 {
        return Err(UsbError::Timeout);
    }
    let mut buf = Vec::new();
    while buf.len() + ARMAC_REPORT_BYTES < BUFLEN {
        let mut report = [0u8; ARMAC_REPORT_BYTES];
        let got = io.interrupt_in(EP_IN, &mut report, TRANSFER_MS)?;
        if got != ARMAC_REPORT_BYTES {
            // NUT returns the short read's size (0 included) over what it read so far.
            return Ok(Counted {
                bytes: buf,
                len: got,
            });
        }
        // NUT copies up to 15 bytes from its 6-byte report (past its end): 5 here.
        let count = usize::from(report[0] & 0x0f).min(ARMAC_REPORT_BYTES - 1);
        if count == 0 {
            return Ok(Counted::whole(buf));
        }
        buf.extend_from_slice(&report[1..=count]);
        if count <= 2 {
            io.pause(ARMAC_SLOW_PAUSE_MS);
        }
    }
    // NUT: "Protocol error, too much data read.", and -1, which libusb-1.0 builds read
    // as an I/O error: the unit is reopened.
    Err(UsbError::Gone)
}

/// One query through `bridge` (`langid_fix`: nutdrv_qx's option of that name; `state`:
/// what the bridge keeps between queries).
pub fn command<I: BridgeIo>(
    bridge: Bridge,
    io: &mut I,
    cmd: &[u8],
    langid_fix: Option<u16>,
    state: &mut BridgeState,
) -> Result<Counted, UsbError> {
    let whole = match bridge {
        Bridge::Fuji => return fuji(io, cmd),
        Bridge::Ablerex => return ablerex(io, cmd),
        Bridge::Armac => return armac(io, cmd),
        Bridge::Cypress => cypress(io, cmd),
        Bridge::Phoenix => phoenix(io, cmd),
        Bridge::Phoenixtec => phoenixtec(io, cmd),
        Bridge::Ippon => ippon(io, cmd),
        Bridge::Krauler => krauler(io, cmd, langid_fix),
        Bridge::Fabula => fabula(io, cmd),
        Bridge::Sgs => sgs(io, cmd),
        Bridge::Snr => snr(io, cmd, langid_fix),
        Bridge::Hunnox => hunnox(io, cmd, langid_fix, state),
    };
    // Their answer's length is its size.
    whole.map(Counted::whole)
}

/// `cypress_command`: 8-byte SET_REPORT chunks, the answer in 8-byte interrupt reads.
fn cypress<I: BridgeIo>(io: &mut I, cmd: &[u8]) -> BridgeReply {
    send_chunks(io, cmd, 0x200, CYPRESS_SEND_MS)?;
    read_chunks(io)
}

/// `phoenix_command`: the converter flushed of stale bytes, then cypress's transfers.
fn phoenix<I: BridgeIo>(io: &mut I, cmd: &[u8]) -> BridgeReply {
    // The converter keeps stale bytes: flush until it times out (8 reads at most).
    let mut junk = [0u8; 8];
    for _ in 0..8 {
        match io.interrupt_in(EP_IN, &mut junk, TRANSFER_MS) {
            Ok(_) => {}
            Err(UsbError::Pipe) => {
                io.clear_halt(EP_IN);
                break;
            }
            Err(_) => break,
        }
    }
    send_chunks(io, cmd, 0x200, TRANSFER_MS)?;
    read_chunks(io)
}

/// `ippon_command`: cypress's chunks (wValue 2), the answer in one 64-byte read.
fn ippon<I: BridgeIo>(io: &mut I, cmd: &[u8]) -> BridgeReply {
    send_chunks(io, cmd, 0x2, TRANSFER_MS)?;
    let mut buf = [0u8; 64];
    let got = io.interrupt_in(EP_IN, &mut buf, TRANSFER_MS)?;
    if got == 0 {
        return Err(UsbError::Timeout);
    }
    let data = &buf[..got.min(64)];
    // 64 bytes always; the reply ends at its \r (an empty one is 00 0d).
    let len = match data.iter().position(|b| *b == b'\r') {
        Some(at) => at + 1,
        None => data.iter().position(|b| *b == 0).unwrap_or(data.len()),
    };
    Ok(with_cr(data[..len].to_vec()))
}

/// `krauler_command`: queries as string descriptor indexes, tried up to ten times.
fn krauler<I: BridgeIo>(io: &mut I, cmd: &[u8], langid_fix: Option<u16>) -> BridgeReply {
    const COMMANDS: [(&[u8], u8, u8); 8] = [
        (b"Q1\r", 0x03, b'('),
        (b"F\r", 0x0d, b'#'),
        (b"I\r", 0x0c, b'#'),
        (b"T\r", 0x04, b'\r'),
        (b"TL\r", 0x05, b'\r'),
        (b"Q\r", 0x07, b'\r'),
        (b"C\r", 0x0b, b'\r'),
        (b"CT\r", 0x0b, b'\r'),
    ];
    let Some((_, index, prefix)) = COMMANDS.iter().find(|(c, _, _)| *c == cmd) else {
        // Unknown commands are echoed back, as a Megatec unit does.
        return Ok(cmd.to_vec());
    };
    for _ in 0..10 {
        let Some(reply) = read_string(io, *index, langid_fix)? else {
            continue;
        };
        let mut reply = with_cr(reply);
        if is_no_ack(&reply) {
            continue;
        }
        if let Some(first) = reply.first_mut() {
            *first = *prefix;
        }
        return Ok(truncate_at_cr(reply));
    }
    Ok(Vec::new())
}

/// `fabula_command`: queries and shutdowns as string descriptor indexes.
fn fabula<I: BridgeIo>(io: &mut I, cmd: &[u8]) -> BridgeReply {
    let Some(index) = fabula_index(cmd) else {
        return Ok(cmd.to_vec());
    };
    let mut buf = vec![0u8; 256];
    let n = io.get_string(index, None, &mut buf)?;
    if n == 0 {
        return Err(UsbError::Timeout);
    }
    buf.truncate(n);
    let reply = with_cr(buf);
    // "UPS No Ack" answers every command taken: a query sees nothing, an
    // instant command success.
    if is_no_ack(&reply) {
        return Ok(Vec::new());
    }
    Ok(truncate_at_cr(reply))
}

/// `sgs_command`: 8-byte reports whose first byte counts the data bytes, both ways.
fn sgs<I: BridgeIo>(io: &mut I, cmd: &[u8]) -> BridgeReply {
    // Chunks of up to 7 bytes behind their count; NUT moves on by what the
    // transfer reports, less the count byte.
    let mut i = 0;
    for _ in 0..=cmd.len() {
        if i >= cmd.len() {
            break;
        }
        let n = (cmd.len() - i).min(7);
        let mut chunk = [0u8; 8];
        chunk[0] = n as u8;
        chunk[1..=n].copy_from_slice(&cmd[i..i + n]);
        let sent = io
            .control_out(0x09, 0x200, &chunk, CYPRESS_SEND_MS)
            .map_err(send_failed)?;
        if sent == 0 {
            return Err(UsbError::Timeout);
        }
        i += sent - 1;
    }
    if i < cmd.len() {
        return Err(UsbError::Other);
    }
    let mut buf = Vec::new();
    for _ in 0..SGS_MAX_READS {
        if buf.len() + 8 > BUFLEN {
            break;
        }
        let mut chunk = [0u8; 8];
        match io.interrupt_in(EP_IN, &mut chunk, TRANSFER_MS) {
            Err(UsbError::Timeout) => break,
            Err(e) => return Err(e),
            Ok(0) => return Err(UsbError::Timeout),
            Ok(_) => {}
        }
        // A count above 127 is negative in C's char (on x86; unsigned on ARM,
        // where NUT takes 7 bytes): NUT's index wraps and it fails the query.
        let Ok(count) = i8::try_from(chunk[0]) else {
            return Err(UsbError::Other);
        };
        let n = (count as usize).min(7);
        buf.extend_from_slice(&chunk[1..=n]);
    }
    if !buf.is_empty() && !buf.contains(&b'\r') && buf.len() < BUFLEN - 1 {
        buf.push(b'\r');
    }
    Ok(buf)
}

/// `snr_command`: krauler's indexes read with `langid_fix`, after a wake-up read.
fn snr<I: BridgeIo>(io: &mut I, cmd: &[u8], langid_fix: Option<u16>) -> BridgeReply {
    // Without this read the unit answers zeros for a while.
    let mut wake = [0u8; SNR_BUF_BYTES];
    let _ = io.interrupt_in(EP_IN, &mut wake, TRANSFER_MS);
    let (index, prefix) = match cmd {
        b"Q1\r" => (0x03, b'('),
        b"F\r" => (0x0d, b'#'),
        b"I\r" => (0x0c, b'#'),
        _ => return Ok(cmd.to_vec()),
    };
    let Some(langid) = langid_fix else {
        return Err(UsbError::Other);
    };
    for _ in 0..SNR_TRIES {
        let mut buf = vec![0u8; SNR_BUF_BYTES];
        let n = io.get_string(index, Some(langid), &mut buf)?;
        if n == 0 {
            return Err(UsbError::Timeout);
        }
        buf.truncate(n);
        if buf.first().map(|b| usize::from(*b)) != Some(n) {
            continue;
        }
        let mut reply = descriptor_ascii(&buf);
        reply.truncate(BUFLEN - 1);
        if is_no_ack(&reply) {
            continue;
        }
        // The unit's first byte is not the Megatec one.
        if let Some(first) = reply.first_mut() {
            *first = prefix;
        }
        return Ok(reply);
    }
    Ok(Vec::new())
}

/// `hunnox_command`: fabula's indexes after the lock-step string reads.
fn hunnox<I: BridgeIo>(
    io: &mut I,
    cmd: &[u8],
    langid_fix: Option<u16>,
    state: &mut BridgeState,
) -> BridgeReply {
    let Some(index) = fabula_index(cmd) else {
        return Ok(cmd.to_vec());
    };
    hunnox_lock_step(io, index, langid_fix, state);
    let mut buf = vec![0u8; HUNNOX_BUF_BYTES];
    let n = io.get_string(index, langid_fix, &mut buf)?;
    if n == 0 {
        return Err(UsbError::Timeout);
    }
    buf.truncate(n);
    let reply = match langid_fix {
        // A size that disagrees with bLength is a corrupted message: nothing.
        Some(_) if buf.first().map(|b| usize::from(*b)) != Some(n) => return Ok(Vec::new()),
        Some(_) => {
            let mut text = descriptor_ascii(&buf);
            text.truncate(HUNNOX_BUF_BYTES - 1);
            text
        }
        None => buf,
    };
    // No \r added (unlike fabula). "UPS No Ack" answers every command taken.
    if is_no_ack(&reply) {
        return Ok(Vec::new());
    }
    Ok(reply)
}

/// Fabula's string index for `S<n>[R<m>]` (nutdrv_qx.c: delays .5 to 10 minutes in
/// steps of 16, +8 for shutdown.return).
fn fabula_shutdown(cmd: &[u8]) -> Option<u8> {
    let (off, on) = scan_shutdown(cmd)?;
    let delay = off.clamp(0.5, 10.0);
    let mut index = if delay < 1.0 {
        16 + ((delay - 0.5) * 10.0).round() as i64 * 16
    } else {
        96 + ((delay - 1.0) * 16.0) as i64
    };
    // sscanf matched only S<n>: NUT leaves val2 at -1, which counts as "return".
    if on != Some(0) {
        index += 8;
    }
    u8::try_from(index).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fabula_shutdown_indexes_follow_nut() {
        // S.5 -> 0x10 (+8 return), S01 -> 0x60, S10R0000 -> stayoff 0xF0.
        assert_eq!(fabula_shutdown(b"S.5\r"), Some(0x18));
        assert_eq!(fabula_shutdown(b"S.5R0000\r"), Some(0x10));
        assert_eq!(fabula_shutdown(b"S01R0001\r"), Some(0x68));
        assert_eq!(fabula_shutdown(b"S10R0000\r"), Some(0xf0));
        assert_eq!(fabula_shutdown(b"Q1\r"), None);
    }

    #[test]
    fn the_usb_table_picks_nuts_bridge() {
        assert_eq!(
            usb_bridge(0x0665, 0x5161, None, None),
            Some(Bridge::Cypress)
        );
        assert_eq!(usb_bridge(0x06da, 0x0003, None, None), Some(Bridge::Ippon));
        assert_eq!(
            usb_bridge(0x0001, 0x0000, Some("MEC"), Some("MEC0003")),
            Some(Bridge::Fabula)
        );
        // MEC0003 from another maker: hunnox.
        assert_eq!(
            usb_bridge(0x0001, 0x0000, Some("X"), Some("MEC0003")),
            Some(Bridge::Hunnox)
        );
        assert_eq!(
            usb_bridge(0x0001, 0x0000, Some("ATCL FOR UPS"), Some("ATCL FOR UPS")),
            Some(Bridge::Fuji)
        );
        assert_eq!(
            usb_bridge(0xffff, 0x0000, None, None),
            Some(Bridge::Ablerex)
        );
        assert_eq!(usb_bridge(0x0925, 0x1234, None, None), Some(Bridge::Armac));
        // Phoenixtec's cable by its strings only; other 06da:0002 units are cypress's.
        assert_eq!(
            usb_bridge(
                0x06da,
                0x0002,
                Some("phoenixtec power"),
                Some("USB Cable (V2.00)")
            ),
            Some(Bridge::Phoenixtec)
        );
        assert_eq!(
            usb_bridge(0x06da, 0x0002, Some("Phoenixtec Power"), None),
            Some(Bridge::Cypress)
        );
        assert_eq!(
            usb_bridge(0x0001, 0x0000, None, None),
            Some(Bridge::Krauler)
        );
        assert_eq!(usb_bridge(0x1234, 0x0001, None, None), None);
    }

    #[test]
    fn langid_fix_is_read_as_nuts_sscanf_reads_it() {
        let spec = |opts: &[(&str, Option<&str>)]| {
            let mut options: Vec<(String, Option<String>)> = opts
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect();
            options.push(("vendorid".to_string(), Some("0001".to_string())));
            QxUsbSpec::from_options(Some("auto"), &options)
                .map(|s| s.map(|s| (s.langid_fix, s.scan_langid)))
        };
        assert_eq!(
            spec(&[("langid_fix", Some("0x0409"))]),
            Ok(Some((Some(0x409), true)))
        );
        assert_eq!(
            spec(&[("langid_fix", Some("0x0409")), ("noscanlangid", None)]),
            Ok(Some((Some(0x409), false)))
        );
        // The first two characters are skipped whatever they are; %x takes blanks and
        // a second 0x.
        assert_eq!(
            spec(&[("langid_fix", Some("0x 409"))]),
            Ok(Some((Some(0x409), true)))
        );
        assert_eq!(
            spec(&[("langid_fix", Some("xx0x40AZ"))]),
            Ok(Some((Some(0x40a), true)))
        );
        // glibc keeps an unsigned int's bits of a longer number.
        assert_eq!(
            spec(&[("langid_fix", Some("0x100000409"))]),
            Ok(Some((Some(0x409), true)))
        );
        // No digit: NUT goes on without the workaround.
        assert_eq!(
            spec(&[("langid_fix", Some("0xzz"))]),
            Ok(Some((None, false)))
        );
        // Above a USB language ID: refused before any USB is touched.
        assert!(spec(&[("langid_fix", Some("0x10000"))])
            .unwrap_err()
            .contains("0xffff"));
        assert_eq!(spec(&[]), Ok(Some((None, false))));
    }

    /// Answers string 0 (the language list) with US English.
    struct LanguageList(Vec<(u8, Option<u16>, usize)>);

    impl BridgeIo for LanguageList {
        fn control_out(&mut self, _: u8, _: u16, _: &[u8], _: u64) -> Result<usize, UsbError> {
            Err(UsbError::Other)
        }
        fn interrupt_in(&mut self, _: u8, _: &mut [u8], _: u64) -> Result<usize, UsbError> {
            Err(UsbError::Other)
        }
        fn get_string(
            &mut self,
            index: u8,
            langid: Option<u16>,
            buf: &mut [u8],
        ) -> Result<usize, UsbError> {
            self.0.push((index, langid, buf.len()));
            buf[..4].copy_from_slice(&[4, 3, 0x09, 0x04]);
            Ok(4)
        }
        fn clear_halt(&mut self, _: u8) {}
        fn control_in(&mut self, _: u8, _: u16, _: &mut [u8], _: u64) -> Result<usize, UsbError> {
            Err(UsbError::Other)
        }
        fn vendor_out(&mut self, _: u8, _: &[u8], _: u64) -> Result<usize, UsbError> {
            Err(UsbError::Other)
        }
        fn interrupt_out(&mut self, _: u8, _: &[u8], _: u64) -> Result<usize, UsbError> {
            Err(UsbError::Other)
        }
    }

    #[test]
    fn the_language_scan_reads_string_zero_with_language_zero() {
        let mut io = LanguageList(Vec::new());
        assert_eq!(scan_langid(&mut io), Some(0x0409));
        assert_eq!(io.0, vec![(0, Some(0), 255)]);
    }

    /// An SGS unit: sends time out (`send_timeout`) or are taken; reads give `reports`.
    struct Sgs {
        send_timeout: bool,
        reports: Vec<[u8; 8]>,
    }

    impl BridgeIo for Sgs {
        fn control_out(&mut self, _: u8, _: u16, _: &[u8], _: u64) -> Result<usize, UsbError> {
            if self.send_timeout {
                Err(UsbError::Timeout)
            } else {
                Ok(8)
            }
        }
        fn interrupt_in(&mut self, _: u8, buf: &mut [u8], _: u64) -> Result<usize, UsbError> {
            if self.reports.is_empty() {
                return Err(UsbError::Timeout);
            }
            buf.copy_from_slice(&self.reports.remove(0));
            Ok(8)
        }
        fn get_string(&mut self, _: u8, _: Option<u16>, _: &mut [u8]) -> Result<usize, UsbError> {
            Err(UsbError::Other)
        }
        fn clear_halt(&mut self, _: u8) {}
        fn control_in(&mut self, _: u8, _: u16, _: &mut [u8], _: u64) -> Result<usize, UsbError> {
            Err(UsbError::Other)
        }
        fn vendor_out(&mut self, _: u8, _: &[u8], _: u64) -> Result<usize, UsbError> {
            Err(UsbError::Other)
        }
        fn interrupt_out(&mut self, _: u8, _: &[u8], _: u64) -> Result<usize, UsbError> {
            Err(UsbError::Other)
        }
    }

    #[test]
    fn sgs_reports_count_their_bytes_and_failures_fail() {
        let mut state = BridgeState::default();
        let mut unit = Sgs {
            send_timeout: false,
            reports: vec![*b"\x03(21\0\0\0\0", *b"\x025\r\0\0\0\0\0"],
        };
        assert_eq!(
            command(Bridge::Sgs, &mut unit, b"Q1\r", None, &mut state),
            Ok(Counted::whole(b"(215\r".to_vec()))
        );
        // A send that timed out: failed, not an empty answer (which a command takes).
        let mut unit = Sgs {
            send_timeout: true,
            reports: Vec::new(),
        };
        assert_eq!(
            command(Bridge::Sgs, &mut unit, b"Q\r", None, &mut state),
            Err(UsbError::Other)
        );
        // A count byte NUT reads as negative.
        let mut unit = Sgs {
            send_timeout: false,
            reports: vec![*b"\x80(21\0\0\0\0"],
        };
        assert_eq!(
            command(Bridge::Sgs, &mut unit, b"Q1\r", None, &mut state),
            Err(UsbError::Other)
        );
    }

    #[test]
    fn descriptors_become_ascii_as_nut_converts_them() {
        // bLength 8, type 3, "(2" then a non-ASCII char.
        assert_eq!(
            descriptor_ascii(&[8, 3, b'(', 0, b'2', 0, 0x20, 0x26]),
            b"(2?".to_vec()
        );
        assert_eq!(descriptor_ascii(&[]), Vec::<u8>::new());
        assert_eq!(descriptor_ascii(&[200, 3, b'A']), b"A".to_vec());
    }

    /// A unit that records every transfer and answers reads from a script (an empty
    /// entry: a timeout).
    #[derive(Default)]
    struct Script {
        sent: Vec<(&'static str, Vec<u8>)>,
        reads: Vec<Vec<u8>>,
    }

    impl Script {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, UsbError> {
            if self.reads.is_empty() {
                return Err(UsbError::Timeout);
            }
            let r = self.reads.remove(0);
            if r.is_empty() {
                return Err(UsbError::Timeout);
            }
            let n = r.len().min(buf.len());
            buf[..n].copy_from_slice(&r[..n]);
            Ok(n)
        }
    }

    impl BridgeIo for Script {
        fn control_out(&mut self, _: u8, _: u16, data: &[u8], _: u64) -> Result<usize, UsbError> {
            self.sent.push(("control", data.to_vec()));
            Ok(data.len())
        }
        fn control_in(&mut self, _: u8, _: u16, buf: &mut [u8], _: u64) -> Result<usize, UsbError> {
            self.read(buf)
        }
        fn vendor_out(&mut self, _: u8, data: &[u8], _: u64) -> Result<usize, UsbError> {
            self.sent.push(("vendor", data.to_vec()));
            Ok(data.len())
        }
        fn interrupt_out(&mut self, _: u8, data: &[u8], _: u64) -> Result<usize, UsbError> {
            self.sent.push(("interrupt", data.to_vec()));
            Ok(data.len())
        }
        fn interrupt_in(&mut self, _: u8, buf: &mut [u8], _: u64) -> Result<usize, UsbError> {
            self.read(buf)
        }
        fn get_string(&mut self, _: u8, _: Option<u16>, _: &mut [u8]) -> Result<usize, UsbError> {
            Err(UsbError::Other)
        }
        fn clear_halt(&mut self, _: u8) {}
    }

    fn run(bridge: Bridge, io: &mut Script, cmd: &[u8]) -> BridgeReply {
        command(bridge, io, cmd, None, &mut BridgeState::default()).map(|c| {
            assert_eq!(c.len, c.bytes.len(), "{c:?}");
            c.bytes
        })
    }

    fn counted(bridge: Bridge, io: &mut Script, cmd: &[u8]) -> Result<Counted, UsbError> {
        command(bridge, io, cmd, None, &mut BridgeState::default())
    }

    #[test]
    fn phoenixtec_reads_no_answer_to_its_commands() {
        // "M" answers nothing; "MSO" is another command and does.
        for (cmd, answered) in [
            (&b"M\r"[..], false),
            (b"TL\r", false),
            (b"S01R0001\r", false),
            (b"MSO\r", true),
            (b"Q1\r", true),
        ] {
            let mut io = Script {
                reads: vec![b"(12".to_vec(), b"3\r".to_vec()],
                ..Script::default()
            };
            let got = run(Bridge::Phoenixtec, &mut io, cmd);
            assert_eq!(io.sent, vec![("vendor", cmd.to_vec())]);
            let want = if answered {
                b"(123\r".to_vec()
            } else {
                Vec::new()
            };
            assert_eq!(got, Ok(want), "{cmd:?}");
        }
    }

    #[test]
    fn fuji_frames_three_bytes_and_reads_to_the_padding() {
        let mut io = Script {
            reads: vec![b"(225.9 2".to_vec(), b"5\r\0\0\0\0\0".to_vec()],
            ..Script::default()
        };
        assert_eq!(
            run(Bridge::Fuji, &mut io, b"Q1\r"),
            Ok(b"(225.9 25\r".to_vec())
        );
        assert_eq!(
            io.sent,
            vec![("interrupt", vec![0x80, 6, 3, 3, b'Q', b'1', 0, 47])]
        );
        // A shutdown that returns loses its return delay; one that stays off does not
        // fit and is echoed back unsent.
        let mut io = Script::default();
        assert_eq!(
            run(Bridge::Fuji, &mut io, b"S01R0001\r"),
            Err(UsbError::Timeout)
        );
        assert_eq!(
            io.sent,
            vec![("interrupt", vec![0x80, 6, 4, 3, b'S', b'0', b'1', 0])]
        );
        let mut io = Script::default();
        assert_eq!(
            run(Bridge::Fuji, &mut io, b"S01R0000\r"),
            Ok(b"S01R0000\r".to_vec())
        );
        assert!(io.sent.is_empty());
    }

    #[test]
    fn ablerex_asks_again_for_a_short_answer_and_stands_in_for_q5() {
        let q1 = b"(225.9 225.9 225.9 000 50.0 27.7 25.0 00001001\r".to_vec();
        assert_eq!(q1.len(), 47);
        let mut io = Script {
            reads: vec![b"(225.9\r".to_vec(), q1.clone()],
            ..Script::default()
        };
        assert_eq!(run(Bridge::Ablerex, &mut io, b"Q1\r"), Ok(q1));
        assert_eq!(io.sent.len(), 2);
        let mut report = vec![0u8; 47];
        report[..6].copy_from_slice(&[5, 0, 3, b'Q', b'1', b'\r']);
        assert_eq!(io.sent[0], ("control", report));
        // Three short answers: a length of 0 over the last one, which NUT's items can
        // still read as a C string.
        let mut io = Script {
            reads: vec![b"(1\r".to_vec(); 3],
            ..Script::default()
        };
        assert_eq!(
            counted(Bridge::Ablerex, &mut io, b"Q1\r"),
            Ok(Counted {
                bytes: b"(1\r".to_vec(),
                len: 0
            })
        );
        assert_eq!(io.sent.len(), 3);
        // No \r in the report: the whole report, length 0.
        let mut io = Script {
            reads: vec![b"(\x00\x00\x0e\x10".to_vec()],
            ..Script::default()
        };
        let got = counted(Bridge::Ablerex, &mut io, b"At\r").unwrap();
        assert_eq!(
            (got.len, got.bytes.len(), &got.bytes[..5]),
            (0, 47, &b"(\x00\x00\x0e\x10"[..])
        );
        // Q5 of another length: NUT's stand-in, "(" and 21 zeros.
        let mut io = Script {
            reads: vec![b"(\x01\x02\r".to_vec()],
            ..Script::default()
        };
        let mut stand_in = vec![0u8; 22];
        stand_in[0] = b'(';
        assert_eq!(run(Bridge::Ablerex, &mut io, b"Q5\r"), Ok(stand_in));
    }

    #[test]
    fn armac_counts_its_bytes_both_ways() {
        let mut io = Script {
            reads: vec![
                vec![0xa5, b'(', b'2', b'2', b'5', b'.'],
                vec![0xa2, b'9', b'\r', 0, 0, 0],
                vec![0xa0, 0, 0, 0, 0, 0],
            ],
            ..Script::default()
        };
        assert_eq!(
            run(Bridge::Armac, &mut io, b"TL\r"),
            Ok(b"(225.9\r".to_vec())
        );
        // A short report: its size is the length, over what came before it.
        let mut short = Script {
            reads: vec![
                vec![0xa5, b'(', b'2', b'2', b'5', b'.'],
                vec![0xa1, b'9', 0],
            ],
            ..Script::default()
        };
        assert_eq!(
            counted(Bridge::Armac, &mut short, b"Q1\r"),
            Ok(Counted {
                bytes: b"(225.".to_vec(),
                len: 3
            })
        );
        assert_eq!(io.sent, vec![("control", vec![0xa3, b'T', b'L', b'\r'])]);
        let mut io = Script::default();
        let _ = run(Bridge::Armac, &mut io, b"S01R0001\r");
        let chunks: Vec<Vec<u8>> = io.sent.into_iter().map(|(_, d)| d).collect();
        assert_eq!(
            chunks,
            vec![
                vec![0xa3, b'S', b'0', b'1'],
                vec![0xa3, b'R', b'0', b'0'],
                vec![0xa3, b'0', b'1', b'\r']
            ]
        );
        // What it ignores is echoed at once; an answer that never ends fails.
        let mut io = Script::default();
        assert_eq!(run(Bridge::Armac, &mut io, b"QGS\r"), Ok(b"QGS\r".to_vec()));
        assert!(io.sent.is_empty());
        let mut io = Script {
            reads: vec![vec![0xa5, b'x', b'x', b'x', b'x', b'x']; 200],
            ..Script::default()
        };
        assert_eq!(run(Bridge::Armac, &mut io, b"Q1\r"), Err(UsbError::Gone));
    }
}
