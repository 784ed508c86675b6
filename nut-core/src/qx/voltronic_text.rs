//! Text and range logic of nutdrv_qx's `voltronic` subdriver (NUT 2.8.0,
//! `drivers/nutdrv_qx_voltronic.c`), translated byte for byte:
//!
//! - [`fault`]: `voltronic_fault`, the reply to `QFS`;
//! - [`warning`]: `voltronic_warning`, the reply to `QWS`;
//! - [`rw_allowed`]: the range/enum preprocess filters (`voltronic_batt_low`,
//!   `voltronic_bypass_volt_max`, ...), with their `info_rw_t` tables ([`R_BATT_LOW`], ...)
//!   and the subdriver's other fixed range/enum tables.
//!
//! Everything here is pure: the C functions' side effects (`update_status()`,
//! `upslogx()`) are returned to the caller, in the order C performs them.
//!
//! C reads its inputs as NUL-terminated strings, so every input here is cut at its
//! first NUL byte before use, as C would see it. Output buffers are truncated as C's
//! `snprintf`/NUT's `snprintfcat` would truncate them; since Rust strings must stay
//! UTF-8, a cut that would split a multi-byte character backs off to the character
//! boundary (C would cut the bytes; the device only ever sends ASCII here).

/// NUT's `SMALLBUF` (include/common.h).
const SMALLBUF: usize = 512;
/// NUT's `LARGEBUF` (include/common.h).
const LARGEBUF: usize = 1024;
/// NUT's `ST_MAX_VALUE_LEN` (include/extstate.h).
const ST_MAX_VALUE_LEN: usize = 256;
/// Size of `voltronic_warning`'s `warns` buffer.
const WARNS_BUF: usize = 4096;

/* ---------------------------------------------------------------------------------- */
/* C string helpers                                                                   */
/* ---------------------------------------------------------------------------------- */

/// The part of `s` C sees: up to (excluding) the first NUL.
fn c_str(s: &str) -> &str {
    match s.find('\0') {
        Some(n) => &s[..n],
        None => s,
    }
}

/// C's `strspn`: length of the leading run of bytes of `s` that are in `set`.
fn strspn(s: &[u8], set: &[u8]) -> usize {
    s.iter().take_while(|b| set.contains(b)).count()
}

/// C's `isspace` in the "C" locale.
pub(super) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C's `strtol(s, NULL, 10)` on a 64-bit `long`: leading white space, an optional
/// sign, then decimal digits up to the first non-digit; 0 without digits; saturating
/// at `i64::MIN`/`i64::MAX` on overflow (as glibc does, with `ERANGE`). Stops at NUL.
pub(super) fn strtol(s: &[u8]) -> i64 {
    let mut i = 0;
    while s.get(i).copied().is_some_and(is_c_space) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    // Accumulate negatively so that i64::MIN is reachable exactly.
    let mut acc: i64 = 0;
    let mut overflow = false;
    while let Some(&c) = s.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        let d = i64::from(c - b'0');
        match acc.checked_mul(10).and_then(|v| v.checked_sub(d)) {
            Some(v) => acc = v,
            None => overflow = true,
        }
        i += 1;
    }
    if overflow {
        return if neg { i64::MIN } else { i64::MAX };
    }
    if neg {
        acc
    } else {
        acc.checked_neg().unwrap_or(i64::MAX)
    }
}

/// C's `strtod(s, NULL)` (glibc, "C" locale): leading white space, optional sign, then
/// the longest prefix that is a decimal float (`12`, `1.5`, `.5`, `1e3`), a hexadecimal
/// float (`0x32`, `0x1.8p4`), `inf`/`infinity` or `nan`/`nan(...)`, case-insensitively;
/// 0.0 when nothing converts. Stops at NUL.
pub(super) fn strtod(s: &[u8]) -> f64 {
    let mut i = 0;
    while s.get(i).copied().is_some_and(is_c_space) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let rest = s.get(i..).unwrap_or(&[]);
    let starts_ci = |p: &[u8]| rest.len() >= p.len() && rest[..p.len()].eq_ignore_ascii_case(p);
    let is_hex = |n: usize| rest.get(n).is_some_and(|c| c.is_ascii_hexdigit());
    let mag = if starts_ci(b"inf") {
        f64::INFINITY
    } else if starts_ci(b"nan") {
        f64::NAN
    } else if rest.first() == Some(&b'0')
        && matches!(rest.get(1), Some(b'x' | b'X'))
        && (is_hex(2) || (rest.get(2) == Some(&b'.') && is_hex(3)))
    {
        hex_float(&rest[2..])
    } else {
        dec_float(rest)
    };
    if neg {
        -mag
    } else {
        mag
    }
}

/// Value of an ASCII hex digit (caller checked it is one).
fn hex_val(c: u8) -> u64 {
    match c {
        b'0'..=b'9' => u64::from(c - b'0'),
        b'a'..=b'f' => u64::from(c - b'a' + 10),
        b'A'..=b'F' => u64::from(c - b'A' + 10),
        _ => 0,
    }
}

/// Optional `e`/`p` exponent at `s[i]` (`marker` lower case): its value (saturated
/// far beyond any finite double) and the index after it; `(0, i)` when absent.
fn exponent(s: &[u8], i: usize, marker: u8) -> (i64, usize) {
    if s.get(i).map(u8::to_ascii_lowercase) != Some(marker) {
        return (0, i);
    }
    let mut j = i + 1;
    let neg = match s.get(j) {
        Some(b'-') => {
            j += 1;
            true
        }
        Some(b'+') => {
            j += 1;
            false
        }
        _ => false,
    };
    if !s.get(j).is_some_and(u8::is_ascii_digit) {
        return (0, i);
    }
    let mut e: i64 = 0;
    while let Some(&c) = s.get(j) {
        if !c.is_ascii_digit() {
            break;
        }
        e = (e * 10 + i64::from(c - b'0')).min(1_000_000);
        j += 1;
    }
    (if neg { -e } else { e }, j)
}

/// Decimal part of [`strtod`] (after the sign).
fn dec_float(s: &[u8]) -> f64 {
    let mut i = 0;
    let mut digits = 0;
    while s.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
        digits += 1;
    }
    if s.get(i) == Some(&b'.') {
        i += 1;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return 0.0;
    }
    let (_, end) = exponent(s, i, b'e');
    // The prefix is ASCII and in a syntax Rust's (correctly rounded) parser accepts.
    std::str::from_utf8(&s[..end])
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// Hexadecimal part of [`strtod`] (after `0x`), rounded to nearest, ties to even.
fn hex_float(s: &[u8]) -> f64 {
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut sticky = false;
    let mut stored = 0;
    let mut point = false;
    let mut i = 0;
    loop {
        match s.get(i) {
            Some(&c) if c.is_ascii_hexdigit() => {
                let d = hex_val(c);
                if mant == 0 && d == 0 {
                    if point {
                        exp -= 4;
                    }
                } else if stored < 16 {
                    mant = (mant << 4) | d;
                    stored += 1;
                    if point {
                        exp -= 4;
                    }
                } else {
                    sticky |= d != 0;
                    if !point {
                        exp += 4;
                    }
                }
            }
            Some(b'.') if !point => point = true,
            _ => break,
        }
        i += 1;
    }
    let (e, _) = exponent(s, i, b'p');
    exp += e;
    if mant == 0 {
        return 0.0;
    }
    let bits = i64::from(64 - mant.leading_zeros());
    if bits > 53 {
        let sh = bits - 53;
        let rem = mant & ((1u64 << sh) - 1);
        let half = 1u64 << (sh - 1);
        mant >>= sh;
        exp += sh;
        if rem > half || (rem == half && (sticky || mant & 1 == 1)) {
            mant += 1;
        }
    }
    // `mant` <= 2^53 is exact as a double; scale by powers of two.
    let mut x = mant as f64;
    let pow2 = |k: i64| f64::from_bits(((1023 + k) as u64) << 52);
    while exp > 1000 {
        x *= pow2(1000);
        exp -= 1000;
        if x.is_infinite() {
            return x;
        }
    }
    while exp < -1000 {
        x *= pow2(-1000);
        exp += 1000;
        if x == 0.0 {
            return x;
        }
    }
    x * pow2(exp)
}

/// Truncate `s` to at most `max` bytes (backing off to a character boundary).
fn truncate_bytes(s: &mut String, max: usize) {
    if s.len() > max {
        let mut n = max;
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s.truncate(n);
    }
}

/// C's `snprintf(buf, size, "%s", text)`: `text` cut to `size - 1` bytes.
fn snprintf(size: usize, text: &str) -> String {
    let mut s = text.to_owned();
    truncate_bytes(&mut s, size.saturating_sub(1));
    s
}

/// NUT's `snprintfcat(dst, size, "%s", text)` (common/common.c). Note its off-by-one:
/// it decrements `size` and then hands `size - strlen(dst)` to `vsnprintf`, so the
/// result never grows beyond `size - 2` bytes (a string already longer is kept as is).
fn snprintfcat(dst: &mut String, size: usize, text: &str) {
    let size = size.saturating_sub(1);
    let len = dst.len();
    if len > size {
        return;
    }
    let room = (size - len).saturating_sub(1);
    let mut add = text.to_owned();
    truncate_bytes(&mut add, room);
    dst.push_str(&add);
}

/// The protocol number the filters derive from `ups.firmware.aux` (`P01` -> 1):
/// C's `strtol(dstate_getinfo("ups.firmware.aux")+1, NULL, 10)`, which skips the
/// first byte whatever it is. For an empty value C reads past the terminator
/// (undefined behaviour); this returns 0, which no protocol check accepts.
pub(super) fn protocol_of(aux: &str) -> i64 {
    strtol(c_str(aux).as_bytes().get(1..).unwrap_or(&[]))
}

/* ---------------------------------------------------------------------------------- */
/* voltronic_fault                                                                    */
/* ---------------------------------------------------------------------------------- */

/// The text C puts in the value (and so in `ups.alarm`, through `alarm_set()`) for a
/// `QFS` reply of `OK`.
pub(super) const NO_FAULT: &str = "No fault found";

/// Outcome of [`fault`]. C always returns 0 and skips the `QFS` item afterwards
/// (`QX_FLAG_SKIP`); before deciding it logs `Checking for faults..` (LOG_INFO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FaultText {
    /// The reply was `OK` (case-insensitive). C still writes [`NO_FAULT`] into the
    /// value, so `ups_infoval_set()` raises it as an alarm (`alarm_set("No fault
    /// found")`), and logs it (LOG_INFO, `%s`).
    NoFault,
    /// A fault. `alarm` is the value C writes (`snprintf(value, SMALLBUF, "%s",
    /// alarm)`) and raises with `alarm_set()`; C logs `Fault found: <alarm>`
    /// (LOG_INFO). `status` is the token C passed to `update_status()` first, if any.
    Fault {
        /// The alarm text.
        alarm: String,
        /// `update_status()` token (`OVER` for the overload faults).
        status: Option<&'static str>,
    },
}

/// `voltronic_fault` (drivers/nutdrv_qx_voltronic.c): decode the two characters of
/// the `QFS` reply at columns 1..2 (`value`, C's `item->value`) for `protocol`
/// (see [`protocol_of`]; P31 units use their own codes).
///
/// A code is known only if both characters are in `0123456789ABC`, the string is
/// exactly two such characters long, and either the first is `1` or the second is a
/// digit; the number is C's `strtol` of the value (so `1A` is 1). Anything else is
/// `Unknown fault [<value>]`.
pub(super) fn fault(protocol: i64, value: &str) -> FaultText {
    let text = c_str(value);
    let v = text.as_bytes();

    if v.eq_ignore_ascii_case(b"OK") {
        return FaultText::NoFault;
    }

    let unknown = || snprintf(LARGEBUF, &format!("Unknown fault [{text}]"));
    let mut status = None;

    let alarm: String = if strspn(v, b"0123456789ABC") != 2
        || (v.first() != Some(&b'1') && strspn(v.get(1..).unwrap_or(&[]), b"0123456789") != 1)
    {
        unknown()
    } else if protocol == 31 {
        // P31 UPSes
        if v.get(1..).unwrap_or(&[]).iter().any(|c| b"ABC".contains(c)) {
            unknown()
        } else {
            let known = match strtol(v) {
                1 => "Fan failure.",
                2 => "Over temperature fault.",
                3 => "Battery voltage is too high.",
                4 => "Battery voltage too low.",
                5 => "Inverter relay short-circuited.",
                6 => "Inverter voltage over maximum value.",
                7 => {
                    status = Some("OVER");
                    "Overload fault."
                }
                8 => "Bus voltage exceeds its upper limit.",
                9 => "Bus soft start fail.",
                10 => "Unknown fault [Fault code: 10]",
                51 => "Over current fault.",
                52 => "Bus voltage below its under limit.",
                53 => "Inverter soft start fail.",
                54 => "Self test fail.",
                55 => "Output DC voltage exceeds its upper limit.",
                56 => "Battery open fault.",
                57 => "Current sensor fault.",
                58 => "Battery short.",
                59 => "Inverter voltage below its lower limit.",
                _ => "",
            };
            if known.is_empty() {
                unknown()
            } else {
                known.to_owned()
            }
        }
    } else {
        // All other UPSes
        let known = match strtol(v) {
            1 => match v.get(1) {
                Some(b'A') => "L1 inverter negative power out of acceptable range.",
                Some(b'B') => "L2 inverter negative power out of acceptable range.",
                Some(b'C') => "L3 inverter negative power out of acceptable range.",
                _ => "Bus voltage not within default setting.",
            },
            2 => "Bus voltage over maximum value.",
            3 => "Bus voltage below minimum value.",
            4 => "Bus voltage differences out of acceptable range.",
            5 => "Bus voltage of slope rate drops too fast.",
            6 => "Over current in PFC input inductor.",
            11 => "Inverter voltage not within default setting.",
            12 => "Inverter voltage over maximum value.",
            13 => "Inverter voltage below minimum value.",
            14 => "Inverter short-circuited.",
            15 => "L2 phase inverter short-circuited.",
            16 => "L3 phase inverter short-circuited.",
            17 => "L1L2 inverter short-circuited.",
            18 => "L2L3 inverter short-circuited.",
            19 => "L3L1 inverter short-circuited.",
            21 => "Battery SCR short-circuited.",
            22 => "Line SCR short-circuited.",
            23 => "Inverter relay open fault.",
            24 => "Inverter relay short-circuited.",
            25 => "Input and output wires oppositely connected.",
            26 => "Battery oppositely connected.",
            27 => "Battery voltage is too high.",
            28 => "Battery voltage too low.",
            29 => "Failure for battery fuse being open-circuited.",
            31 => "CAN-bus communication fault.",
            32 => "Host signal circuit fault.",
            33 => "Synchronous signal circuit fault.",
            34 => "Synchronous pulse signal circuit fault.",
            35 => "Parallel cable disconnected.",
            36 => "Load unbalanced.",
            41 => "Over temperature fault.",
            42 => "Communication failure between CPUs in control board.",
            43 => {
                status = Some("OVER");
                "Overload fault."
            }
            44 => "Fan failure.",
            45 => "Charger failure.",
            46 => "Model fault.",
            47 => "MCU communication fault.",
            _ => "",
        };
        if known.is_empty() {
            unknown()
        } else {
            known.to_owned()
        }
    };

    FaultText::Fault {
        // snprintf(value, valuelen = SMALLBUF, item->dfl = "%s", alarm)
        alarm: snprintf(SMALLBUF, &alarm),
        status,
    }
}

/* ---------------------------------------------------------------------------------- */
/* voltronic_warning                                                                  */
/* ---------------------------------------------------------------------------------- */

/// Outcome of [`warning`] when C returns 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Warnings {
    /// The value C writes (raised with `alarm_set()`), `None` when every bit is 0
    /// (C leaves the value empty, so no alarm is raised).
    pub value: Option<String>,
    /// The `upslogx(LOG_INFO, ...)` lines, in order (`Warning from UPS: <text>`).
    pub logs: Vec<String>,
    /// The `update_status()` tokens, in call order (`LB`, `OVER`, `RB`).
    pub status: Vec<&'static str>,
}

/// Text (and `update_status()` token) of the known warning at 0-based bit `i`.
fn warning_text(i: usize) -> Option<(&'static str, Option<&'static str>)> {
    let text = match i {
        0 => "Battery disconnected.",
        1 => "Neutral not connected.",
        2 => "Site fault.",
        3 => "Phase sequence incorrect.",
        4 => "Phase sequence incorrect in bypass.",
        5 => "Input frequency unstable in bypass.",
        6 => "Battery overcharged.",
        7 => return Some(("Low battery.", Some("LB"))),
        8 => return Some(("Overload alarm.", Some("OVER"))),
        9 => "Fan alarm.",
        10 => "EPO enabled.",
        11 => "Unable to turn on UPS.",
        12 => "Over temperature alarm.",
        13 => "Charger alarm.",
        14 => "Remote auto shutdown.",
        15 => "L1 input fuse not working.",
        16 => "L2 input fuse not working.",
        17 => "L3 input fuse not working.",
        18 => "Positive PFC abnormal in L1.",
        19 => "Negative PFC abnormal in L1.",
        20 => "Positive PFC abnormal in L2.",
        21 => "Negative PFC abnormal in L2.",
        22 => "Positive PFC abnormal in L3.",
        23 => "Negative PFC abnormal in L3.",
        24 => "Abnormal in CAN-bus communication.",
        25 => "Abnormal in synchronous signal circuit.",
        26 => "Abnormal in synchronous pulse signal circuit.",
        27 => "Abnormal in host signal circuit.",
        28 => "Male connector of parallel cable not connected well.",
        29 => "Female connector of parallel cable not connected well.",
        30 => "Parallel cable not connected well.",
        31 => "Battery connection not consistent in parallel systems.",
        32 => "AC connection not consistent in parallel systems.",
        33 => "Bypass connection not consistent in parallel systems.",
        34 => "UPS model types not consistent in parallel systems.",
        35 => "Capacity of UPSes not consistent in parallel systems.",
        36 => "Auto restart setting not consistent in parallel systems.",
        37 => "Battery cell over charge.",
        38 => "Battery protection setting not consistent in parallel systems.",
        39 => "Battery detection setting not consistent in parallel systems.",
        40 => "Bypass not allowed setting not consistent in parallel systems.",
        41 => "Converter setting not consistent in parallel systems.",
        42 => "High loss point for frequency in bypass mode not consistent in parallel systems.",
        43 => "Low loss point for frequency in bypass mode not consistent in parallel systems.",
        44 => "High loss point for voltage in bypass mode not consistent in parallel systems.",
        45 => "Low loss point for voltage in bypass mode not consistent in parallel systems.",
        46 => "High loss point for frequency in AC mode not consistent in parallel systems.",
        47 => "Low loss point for frequency in AC mode not consistent in parallel systems.",
        48 => "High loss point for voltage in AC mode not consistent in parallel systems.",
        49 => "Low loss point for voltage in AC mode not consistent in parallel systems.",
        50 => "Warning for locking in bypass mode after 3 consecutive overloads within 30 min.",
        51 => "Warning for three-phase AC input current unbalance.",
        52 => "Warning for a three-phase input current unbalance detected in battery mode.",
        53 => "Warning for Inverter inter-current unbalance.",
        54 => "Programmable outlets cut off pre-alarm.",
        55 => return Some(("Warning for Battery replace.", Some("RB"))),
        56 => "Abnormal warning on input phase angle.",
        57 => "Warning!! Cover of maintain switch is open.",
        61 => "EEPROM operation error.",
        _ => return None,
    };
    Some((text, None))
}

/// `voltronic_warning` (drivers/nutdrv_qx_voltronic.c): decode the `QWS` bit string
/// (`value`, C's `item->value`: columns 1..64 of the reply, `1` = warning set, bit
/// `#01` first).
///
/// `Err(())` where C returns -1 (a character other than `0`/`1`). The value starts
/// `UPS warnings:` followed by either the known warnings' texts and
/// `Unknown warnings [bit: #nn, ...]` ("explicit") or, when that text is not shorter
/// than `ST_MAX_VALUE_LEN - 32` = 224 bytes, `Known (see log or manual) [bit: #nn,
/// ...]` plus `; Unknown warnings [bit: ...]` ("cryptic"). Buffer sizes and
/// truncations are C's (the value never exceeds 510 bytes, see [`snprintfcat`]).
pub(super) fn warning(value: &str) -> Result<Warnings, ()> {
    let v = c_str(value).as_bytes();

    if strspn(v, b"01") != v.len() {
        return Err(());
    }

    let mut out = Warnings::default();

    // No warnings
    if strspn(v, b"0") == v.len() {
        return Ok(out);
    }

    let mut text = snprintf(SMALLBUF, "UPS warnings:");
    let mut unk = String::new();
    let mut bitwarns = String::new();
    let mut warns = String::new();

    for (i, _) in v.iter().enumerate().filter(|(_, &c)| c == b'1') {
        let bit = i + 1;
        let known = warning_text(i);
        let warn = match known {
            Some((t, st)) => {
                if let Some(st) = st {
                    out.status.push(st);
                }
                t.to_owned()
            }
            None => snprintf(
                SMALLBUF,
                &format!("Unknown warning from UPS [bit: #{bit:02}]"),
            ),
        };

        out.logs.push(format!("Warning from UPS: {warn}"));

        if known.is_none() {
            // Unknown warnings
            snprintfcat(&mut unk, SMALLBUF, &format!(", #{bit:02}"));
        } else if !warns.is_empty() {
            // For too long warnings (total)
            snprintfcat(&mut bitwarns, SMALLBUF, &format!(", #{bit:02}"));
            // For warnings (total) not too long
            snprintfcat(&mut warns, WARNS_BUF, &format!(" {warn}"));
        } else {
            bitwarns = snprintf(
                SMALLBUF,
                &format!("Known (see log or manual) [bit: #{bit:02}"),
            );
            warns = snprintf(WARNS_BUF, &warn);
        }
    }

    // `unk+1`: unk without its leading comma.
    let unk_list = unk.get(1..).unwrap_or("");
    if !warns.is_empty() {
        if !unk.is_empty() {
            // 'explicit'
            snprintfcat(
                &mut warns,
                WARNS_BUF,
                &format!(" Unknown warnings [bit:{unk_list}]"),
            );
            // 'cryptic'
            snprintfcat(
                &mut bitwarns,
                SMALLBUF,
                &format!("]; Unknown warnings [bit:{unk_list}]"),
            );
        } else {
            snprintfcat(&mut bitwarns, SMALLBUF, "]");
        }
    } else if !unk.is_empty() {
        warns = snprintf(WARNS_BUF, &format!("Unknown warnings [bit:{unk_list}]"));
        // C: strcpy(bitwarns, warns) into a SMALLBUF; it overflows when warns is
        // longer than 511 bytes (only with >100 unknown bits, impossible for a 64-bit
        // reply). Kept whole here; the final snprintfcat truncates anyway.
        bitwarns = warns.clone();
    } else {
        // Don't know what happened (unreachable: a '1' always adds a warning)
        return Err(());
    }

    if ST_MAX_VALUE_LEN - 32 > warns.len() {
        // ..then be explicit..
        snprintfcat(&mut text, SMALLBUF, &format!(" {warns}"));
    } else {
        // ..be cryptic
        snprintfcat(&mut text, SMALLBUF, &format!(" {bitwarns}"));
    }

    out.value = Some(text);
    Ok(out)
}

/* ---------------------------------------------------------------------------------- */
/* Ranges/enums                                                                       */
/* ---------------------------------------------------------------------------------- */

/// Which preprocess filter guards an [`Rw`] entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RwCheck {
    /// `voltronic_batt_low`.
    BattLow,
    /// `voltronic_bypass_volt_max`.
    BypassVoltMax,
    /// `voltronic_bypass_volt_min`.
    BypassVoltMin,
    /// `voltronic_bypass_freq_max`.
    BypassFreqMax,
    /// `voltronic_bypass_freq_min`.
    BypassFreqMin,
    /// `voltronic_eco_freq_min`.
    EcoFreqMin,
    /// `voltronic_eco_freq_max`.
    EcoFreqMax,
}

use super::{rw, Rw};

const fn rwc(value: &'static str, check: RwCheck) -> Rw {
    Rw {
        value,
        check: Some(check),
    }
}

/// `voltronic_r_ondelay`: range for `ups.delay.start`.
pub(super) const R_ONDELAY: &[Rw] = &[rw("0"), rw("599940")];

/// `voltronic_r_offdelay`: range for `ups.delay.shutdown`.
pub(super) const R_OFFDELAY: &[Rw] = &[rw("12"), rw("5940")];

/// `voltronic_e_phase`: enum for `output_phase_angle`.
pub(super) const E_PHASE: &[Rw] = &[rw("000"), rw("120"), rw("180"), rw("240")];

/// `voltronic_r_batt_low`: range for `battery.voltage.low`.
pub(super) const R_BATT_LOW: &[Rw] = &[
    rw("20"),
    rwc("24", RwCheck::BattLow),
    rwc("28", RwCheck::BattLow),
];

/// `voltronic_r_outlet_delay`: range for `outlet.n.delay.shutdown`.
pub(super) const R_OUTLET_DELAY: &[Rw] = &[rw("0"), rw("59940")];

/// `voltronic_e_work_range`: enum for `work_range_type` (`00`, `01`).
pub(super) const E_WORK_RANGE: &[Rw] = &[rw("Appliance"), rw("UPS")];

/// `voltronic_e_batt_type`: enum for `battery.type` (`00`, `01`, `02`).
pub(super) const E_BATT_TYPE: &[Rw] = &[rw("Li"), rw("Flooded"), rw("AGM")];

/// `voltronic_r_batt_packs`: range for `battery.packs`.
pub(super) const R_BATT_PACKS: &[Rw] = &[rw("1"), rw("99")];

/// `voltronic_r_batt_numb`: range for `battery_number`.
pub(super) const R_BATT_NUMB: &[Rw] = &[rw("1"), rw("9")];

/// `voltronic_r_bypass_volt_max`: range for `max_bypass_volt`.
pub(super) const R_BYPASS_VOLT_MAX: &[Rw] = &[
    rwc("60", RwCheck::BypassVoltMax),  // P09
    rwc("115", RwCheck::BypassVoltMax), // P02/P03/P10/P13/P14/P99 ivn<200
    rwc("120", RwCheck::BypassVoltMax), // P01 ivn<200
    rwc("132", RwCheck::BypassVoltMax), // P99 ivn<200
    rwc("138", RwCheck::BypassVoltMax), // P02/P03/P10/P13/P14 ivn<200
    rwc("140", RwCheck::BypassVoltMax), // P01 ivn<200, P09
    rwc("230", RwCheck::BypassVoltMax), // P01 ivn>=200
    rwc("231", RwCheck::BypassVoltMax), // P02/P03/P10/P13/P14/P99 ivn>=200
    rwc("261", RwCheck::BypassVoltMax), // P99 ivn>=200
    rwc("264", RwCheck::BypassVoltMax), // P01 ivn>=200
    rwc("276", RwCheck::BypassVoltMax), // P02/P03/P10/P13/P14 ivn>=200
];

/// `voltronic_r_bypass_volt_min`: range for `min_bypass_volt`.
pub(super) const R_BYPASS_VOLT_MIN: &[Rw] = &[
    rwc("50", RwCheck::BypassVoltMin),  // P99 ivn<200
    rwc("55", RwCheck::BypassVoltMin),  // P02/P03/P10/P13/P14 ivn<200
    rwc("60", RwCheck::BypassVoltMin),  // P09
    rwc("85", RwCheck::BypassVoltMin),  // P01/P99 ivn<200
    rwc("104", RwCheck::BypassVoltMin), // P02/P03/P10/P13/P14 ivn<200
    rwc("110", RwCheck::BypassVoltMin), // P02/P03/P10/P13/P14 ivn>=200
    rwc("115", RwCheck::BypassVoltMin), // P01 ivn<200
    rwc("140", RwCheck::BypassVoltMin), // P09
    rwc("149", RwCheck::BypassVoltMin), // P99 ivn>=200
    rwc("170", RwCheck::BypassVoltMin), // P01 ivn>=200
    rwc("209", RwCheck::BypassVoltMin), // P02/P03/P10/P13/P14/P99 ivn>=200
    rwc("220", RwCheck::BypassVoltMin), // P01 ivn>=200
];

/// `voltronic_r_bypass_freq_max`: range for `max_bypass_freq`.
pub(super) const R_BYPASS_FREQ_MAX: &[Rw] = &[
    rwc("51.0", RwCheck::BypassFreqMax), // P01/P09/P02/P03/P10/P13/P14/P99 ofn==50.0
    rwc("54.0", RwCheck::BypassFreqMax), // P02/P03/P10/P13/P14/P99 ofn==50.0
    rwc("60.0", RwCheck::BypassFreqMax), // P01/P09 ofn==50.0
    rwc("61.0", RwCheck::BypassFreqMax), // P01/P09/P02/P03/P10/P13/P14/P99 ofn==60.0
    rwc("64.0", RwCheck::BypassFreqMax), // P02/P03/P10/P13/P14/P99 ofn==60.0
    rwc("70.0", RwCheck::BypassFreqMax), // P01/P09 ofn==60.0
];

/// `voltronic_r_bypass_freq_min`: range for `min_bypass_freq`.
pub(super) const R_BYPASS_FREQ_MIN: &[Rw] = &[
    rwc("40.0", RwCheck::BypassFreqMin), // P01/P09 ofn==50.0
    rwc("46.0", RwCheck::BypassFreqMin), // P02/P03/P10/P13/P14/P99 ofn==50.0
    rwc("49.0", RwCheck::BypassFreqMin), // P01/P09/P02/P03/P10/P13/P14/P99 ofn==50.0
    rwc("50.0", RwCheck::BypassFreqMin), // P01/P09 ofn==60.0
    rwc("56.0", RwCheck::BypassFreqMin), // P02/P03/P10/P13/P14/P99 ofn==60.0
    rwc("59.0", RwCheck::BypassFreqMin), // P01/P09/P02/P03/P10/P13/P14/P99 ofn==60.0
];

/// `voltronic_r_eco_freq_min`: range for `input.frequency.low`.
pub(super) const R_ECO_FREQ_MIN: &[Rw] = &[
    rwc("40.0", RwCheck::EcoFreqMin), // P01/P09 ofn==50.0
    rwc("46.0", RwCheck::EcoFreqMin), // P02/P03/P10/P13/P14/P99 ofn==50.0
    rwc("47.0", RwCheck::EcoFreqMin), // P01/P09 ofn==50.0
    rwc("48.0", RwCheck::EcoFreqMin), // P02/P03/P10/P13/P14/P99 ofn==50.0
    rwc("50.0", RwCheck::EcoFreqMin), // P01/P09 ofn==60.0
    rwc("56.0", RwCheck::EcoFreqMin), // P02/P03/P10/P13/P14/P99 ofn==60.0
    rwc("57.0", RwCheck::EcoFreqMin), // P01/P09 ofn==60.0
    rwc("58.0", RwCheck::EcoFreqMin), // P02/P03/P10/P13/P14/P99 ofn==60.0
];

/// `voltronic_r_eco_freq_max`: range for `input.frequency.high`.
pub(super) const R_ECO_FREQ_MAX: &[Rw] = &[
    rwc("52.0", RwCheck::EcoFreqMax), // P02/P03/P10/P13/P14/P99 ofn==50.0
    rwc("53.0", RwCheck::EcoFreqMax), // P01/P09 ofn==50.0
    rwc("54.0", RwCheck::EcoFreqMax), // P02/P03/P10/P13/P14/P99 ofn==50.0
    rwc("60.0", RwCheck::EcoFreqMax), // P01/P09 ofn==50.0
    rwc("62.0", RwCheck::EcoFreqMax), // P02/P03/P10/P13/P14/P99 ofn==60.0
    rwc("63.0", RwCheck::EcoFreqMax), // P01/P09 ofn==60.0
    rwc("64.0", RwCheck::EcoFreqMax), // P02/P03/P10/P13/P14/P99 ofn==60.0
    rwc("70.0", RwCheck::EcoFreqMax), // P01/P09 ofn==60.0
];

/// `voltronic_e_cap`: enum for capabilities that have a NUT variable.
pub(super) const E_CAP: &[Rw] = &[rw("no"), rw("yes")];

/// `voltronic_e_cap_nonut`: enum for NONUT capabilities (C's order: `enabled` first).
pub(super) const E_CAP_NONUT: &[Rw] = &[rw("enabled"), rw("disabled")];

/// Protocols P02/P03/P10/P13/P14/P99.
fn p_2_3_10_13_14_99(p: i64) -> bool {
    matches!(p, 2 | 3 | 10 | 13 | 14 | 99)
}

/// Protocols P02/P03/P10/P13/P14.
fn p_2_3_10_13_14(p: i64) -> bool {
    matches!(p, 2 | 3 | 10 | 13 | 14)
}

/// Protocols P01/P02/P03/P09/P10/P13/P14/P99.
fn p_all(p: i64) -> bool {
    matches!(p, 1 | 2 | 3 | 9 | 10 | 13 | 14 | 99)
}

/// Protocols P01/P09.
fn p_1_9(p: i64) -> bool {
    matches!(p, 1 | 9)
}

/// The range/enum preprocess filters of drivers/nutdrv_qx_voltronic.c
/// (`voltronic_batt_low`, `voltronic_bypass_volt_max`, `voltronic_bypass_volt_min`,
/// `voltronic_bypass_freq_max`, `voltronic_bypass_freq_min`, `voltronic_eco_freq_min`,
/// `voltronic_eco_freq_max`): `true` where C returns 0 (the entry `value` is kept),
/// `false` where it returns -1.
///
/// `get(var)` is `dstate_getinfo(var)`. The filters read only these variables, no
/// driver globals (not `max_bypass_volt` & co.): `BattLow` reads
/// `output.voltage.nominal` × `output.current.nominal` (integer parts, < 1000 keeps
/// 24, otherwise 28); the bypass-voltage filters read `ups.firmware.aux` and
/// `input.voltage.nominal` (integer part, 200 is the split); the frequency filters
/// read `ups.firmware.aux` and `output.frequency.nominal` (exactly 50.0 or 60.0).
/// `value` goes through C's `strtol` (`"51.0"` is 51). When `ups.firmware.aux` is
/// unset C dereferences `NULL + 1` and crashes; this returns `false`.
pub(super) fn rw_allowed(
    check: RwCheck,
    value: &str,
    get: &dyn Fn(&str) -> Option<String>,
) -> bool {
    let val = strtol(c_str(value).as_bytes());

    if check == RwCheck::BattLow {
        let (Some(ovn), Some(ocn)) = (get("output.voltage.nominal"), get("output.current.nominal"))
        else {
            return false;
        };
        // C multiplies two longs; wrapping is what the hardware does on overflow.
        let va = strtol(c_str(&ovn).as_bytes()).wrapping_mul(strtol(c_str(&ocn).as_bytes()));
        return if va < 1000 { val == 24 } else { val == 28 };
    }

    let Some(aux) = get("ups.firmware.aux") else {
        return false;
    };
    let protocol = protocol_of(&aux);

    match check {
        RwCheck::BattLow => false,
        RwCheck::BypassVoltMax | RwCheck::BypassVoltMin => {
            let Some(ivn) = get("input.voltage.nominal") else {
                return false;
            };
            let ivn = strtol(c_str(&ivn).as_bytes());
            let low = ivn < 200;
            if check == RwCheck::BypassVoltMax {
                bypass_volt_max(val, protocol, low)
            } else {
                bypass_volt_min(val, protocol, low)
            }
        }
        RwCheck::BypassFreqMax
        | RwCheck::BypassFreqMin
        | RwCheck::EcoFreqMin
        | RwCheck::EcoFreqMax => {
            let Some(ofn) = get("output.frequency.nominal") else {
                return false;
            };
            let ofn = strtod(c_str(&ofn).as_bytes());
            // The tables' `ofn==50.0`/`ofn==60.0` conditions (C's `!=` returns -1).
            let f50 = ofn == 50.0;
            let f60 = ofn == 60.0;
            let (need50, ok) = match (check, val) {
                (RwCheck::BypassFreqMax, 51) => (true, p_all(protocol)),
                (RwCheck::BypassFreqMax, 54) => (true, p_2_3_10_13_14_99(protocol)),
                (RwCheck::BypassFreqMax, 60) => (true, p_1_9(protocol)),
                (RwCheck::BypassFreqMax, 61) => (false, p_all(protocol)),
                (RwCheck::BypassFreqMax, 64) => (false, p_2_3_10_13_14_99(protocol)),
                (RwCheck::BypassFreqMax, 70) => (false, p_1_9(protocol)),

                (RwCheck::BypassFreqMin, 40) => (true, p_1_9(protocol)),
                (RwCheck::BypassFreqMin, 46) => (true, p_2_3_10_13_14_99(protocol)),
                (RwCheck::BypassFreqMin, 49) => (true, p_all(protocol)),
                (RwCheck::BypassFreqMin, 50) => (false, p_1_9(protocol)),
                (RwCheck::BypassFreqMin, 56) => (false, p_2_3_10_13_14_99(protocol)),
                (RwCheck::BypassFreqMin, 59) => (false, p_all(protocol)),

                (RwCheck::EcoFreqMin, 40) => (true, p_1_9(protocol)),
                (RwCheck::EcoFreqMin, 46) => (true, p_2_3_10_13_14_99(protocol)),
                (RwCheck::EcoFreqMin, 47) => (true, p_1_9(protocol)),
                (RwCheck::EcoFreqMin, 48) => (true, p_2_3_10_13_14_99(protocol)),
                (RwCheck::EcoFreqMin, 50) => (false, p_1_9(protocol)),
                (RwCheck::EcoFreqMin, 56) => (false, p_2_3_10_13_14_99(protocol)),
                (RwCheck::EcoFreqMin, 57) => (false, p_1_9(protocol)),
                (RwCheck::EcoFreqMin, 58) => (false, p_2_3_10_13_14_99(protocol)),

                (RwCheck::EcoFreqMax, 52) => (true, p_2_3_10_13_14_99(protocol)),
                (RwCheck::EcoFreqMax, 53) => (true, p_1_9(protocol)),
                (RwCheck::EcoFreqMax, 54) => (true, p_2_3_10_13_14_99(protocol)),
                (RwCheck::EcoFreqMax, 60) => (true, p_1_9(protocol)),
                (RwCheck::EcoFreqMax, 62) => (false, p_2_3_10_13_14_99(protocol)),
                (RwCheck::EcoFreqMax, 63) => (false, p_1_9(protocol)),
                (RwCheck::EcoFreqMax, 64) => (false, p_2_3_10_13_14_99(protocol)),
                (RwCheck::EcoFreqMax, 70) => (false, p_1_9(protocol)),

                // default: unknown value
                _ => return false,
            };
            (if need50 { f50 } else { f60 }) && ok
        }
    }
}

/// `voltronic_bypass_volt_max`'s switch; `low` is `ivn < 200`.
fn bypass_volt_max(val: i64, protocol: i64, low: bool) -> bool {
    match val {
        60 => protocol == 9,
        115 => low && p_2_3_10_13_14_99(protocol),
        120 => low && protocol == 1,
        132 => low && protocol == 99,
        138 => low && p_2_3_10_13_14(protocol),
        // P09 is accepted whatever ivn, before the ivn check.
        140 => protocol == 9 || (low && protocol == 1),
        230 => !low && protocol == 1,
        231 => !low && p_2_3_10_13_14_99(protocol),
        261 => !low && protocol == 99,
        264 => !low && protocol == 1,
        276 => !low && p_2_3_10_13_14(protocol),
        _ => false,
    }
}

/// `voltronic_bypass_volt_min`'s switch; `low` is `ivn < 200`.
fn bypass_volt_min(val: i64, protocol: i64, low: bool) -> bool {
    match val {
        50 => low && protocol == 99,
        55 => low && p_2_3_10_13_14(protocol),
        60 | 140 => protocol == 9,
        85 => low && matches!(protocol, 1 | 99),
        104 => low && p_2_3_10_13_14(protocol),
        110 => !low && p_2_3_10_13_14(protocol),
        115 => low && protocol == 1,
        149 => !low && protocol == 99,
        170 => !low && protocol == 1,
        209 => !low && p_2_3_10_13_14_99(protocol),
        220 => !low && protocol == 1,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn fault_of(alarm: &str, status: Option<&'static str>) -> FaultText {
        FaultText::Fault {
            alarm: alarm.to_owned(),
            status,
        }
    }

    #[test]
    fn c_number_parsers() {
        assert_eq!(strtol(b"1A"), 1);
        assert_eq!(strtol(b" -42x"), -42);
        assert_eq!(strtol(b"230.0"), 230);
        assert_eq!(strtol(b"abc"), 0);
        assert_eq!(strtol(b"99999999999999999999"), i64::MAX);
        assert_eq!(strtol(b"-99999999999999999999"), i64::MIN);
        assert_eq!(strtod(b"50.0"), 50.0);
        assert_eq!(strtod(b" 60"), 60.0);
        assert_eq!(strtod(b"5e1x"), 50.0);
        assert_eq!(strtod(b"50."), 50.0);
        assert_eq!(strtod(b".5e2"), 50.0);
        assert_eq!(strtod(b"5e"), 5.0);
        assert_eq!(strtod(b"0x32"), 50.0);
        assert_eq!(strtod(b"0x1.9p5"), 50.0);
        assert_eq!(strtod(b"0x"), 0.0);
        assert_eq!(strtod(b"-inFinity"), f64::NEG_INFINITY);
        assert!(strtod(b"nan").is_nan());
        assert_eq!(strtod(b"."), 0.0);
        assert_eq!(protocol_of("P01"), 1);
        assert_eq!(protocol_of("P31"), 31);
        assert_eq!(protocol_of(""), 0);
    }

    #[test]
    fn snprintfcat_caps_at_size_minus_two() {
        let mut s = "a".repeat(500);
        snprintfcat(&mut s, 512, &"b".repeat(100));
        assert_eq!(s.len(), 510);
        let mut s = "a".repeat(511);
        snprintfcat(&mut s, 512, "b");
        assert_eq!(s.len(), 511);
    }

    #[test]
    fn fault_ok_case_insensitive() {
        assert_eq!(fault(1, "OK"), FaultText::NoFault);
        assert_eq!(fault(31, "ok"), FaultText::NoFault);
    }

    #[test]
    fn fault_p31() {
        assert_eq!(fault(31, "01"), fault_of("Fan failure.", None));
        assert_eq!(fault(31, "07"), fault_of("Overload fault.", Some("OVER")));
        assert_eq!(
            fault(31, "10"),
            fault_of("Unknown fault [Fault code: 10]", None)
        );
        assert_eq!(
            fault(31, "59"),
            fault_of("Inverter voltage below its lower limit.", None)
        );
        assert_eq!(fault(31, "1A"), fault_of("Unknown fault [1A]", None));
        assert_eq!(fault(31, "43"), fault_of("Unknown fault [43]", None));
    }

    #[test]
    fn fault_other_protocols() {
        assert_eq!(
            fault(1, "01"),
            fault_of("Bus voltage not within default setting.", None)
        );
        assert_eq!(
            fault(1, "1A"),
            fault_of("L1 inverter negative power out of acceptable range.", None)
        );
        assert_eq!(
            fault(2, "1C"),
            fault_of("L3 inverter negative power out of acceptable range.", None)
        );
        assert_eq!(fault(1, "14"), fault_of("Inverter short-circuited.", None));
        assert_eq!(fault(1, "43"), fault_of("Overload fault.", Some("OVER")));
        assert_eq!(fault(1, "47"), fault_of("MCU communication fault.", None));
        // Known shape, unknown code.
        assert_eq!(fault(1, "10"), fault_of("Unknown fault [10]", None));
        assert_eq!(fault(1, "07"), fault_of("Unknown fault [07]", None));
        // 'A5' passes the shape checks (second char is a digit) but strtol gives 0.
        assert_eq!(fault(1, "A5"), fault_of("Unknown fault [A5]", None));
        // Bad shape.
        assert_eq!(fault(1, "2A"), fault_of("Unknown fault [2A]", None));
        assert_eq!(fault(1, "--"), fault_of("Unknown fault [--]", None));
        assert_eq!(fault(1, "4"), fault_of("Unknown fault [4]", None));
        assert_eq!(fault(1, ""), fault_of("Unknown fault []", None));
        assert_eq!(fault(1, "143"), fault_of("Unknown fault [143]", None));
        // C stops at NUL.
        assert_eq!(
            fault(1, "14\0junk"),
            fault_of("Inverter short-circuited.", None)
        );
    }

    #[test]
    fn warnings_testing_table_reply() {
        // nutdrv_qx_voltronic.c's testing table: QWS -> "(000...0001000001\r".
        let w = warning("0000000000000000000000000000000000000000000000000000000001000001")
            .expect("valid reply");
        assert_eq!(
            w.value.as_deref(),
            Some(
                "UPS warnings: Warning!! Cover of maintain switch is open. \
                 Unknown warnings [bit: #64]"
            )
        );
        assert_eq!(
            w.logs,
            vec![
                "Warning from UPS: Warning!! Cover of maintain switch is open.".to_owned(),
                "Warning from UPS: Unknown warning from UPS [bit: #64]".to_owned(),
            ]
        );
        assert!(w.status.is_empty());
    }

    #[test]
    fn warnings_none_and_invalid() {
        assert_eq!(warning(&"0".repeat(64)), Ok(Warnings::default()));
        assert_eq!(warning(""), Ok(Warnings::default()));
        assert_eq!(warning("0102"), Err(()));
        assert_eq!(warning(" 01"), Err(()));
    }

    #[test]
    fn warnings_status_and_unknown_only() {
        let w = warning("00000001100000000000000000000000000000000000000000000001").expect("valid");
        assert_eq!(w.status, vec!["LB", "OVER", "RB"]);
        assert_eq!(
            w.value.as_deref(),
            Some("UPS warnings: Low battery. Overload alarm. Warning for Battery replace.")
        );
        let w = warning("0000000000000000000000000000000000000000000000000000000000110011")
            .expect("valid");
        assert_eq!(
            w.value.as_deref(),
            Some("UPS warnings: Unknown warnings [bit: #59, #60, #63, #64]")
        );
        assert_eq!(w.logs.len(), 4);
        assert_eq!(
            w.logs[0],
            "Warning from UPS: Unknown warning from UPS [bit: #59]"
        );
    }

    #[test]
    fn warnings_cryptic() {
        let all = "1".repeat(64);
        let w = warning(&all).expect("valid");
        let mut known = String::from("Known (see log or manual) [bit: #01");
        for b in 2..=58 {
            known.push_str(&format!(", #{b:02}"));
        }
        known.push_str(", #62]; Unknown warnings [bit: #59, #60, #61, #63, #64]");
        assert_eq!(w.value, Some(format!("UPS warnings: {known}")));
        assert_eq!(w.logs.len(), 64);
        assert_eq!(w.logs[61], "Warning from UPS: EEPROM operation error.");
        assert_eq!(w.status, vec!["LB", "OVER", "RB"]);

        // Around the 224-byte threshold: bits #43..#45 are 80/79/78 bytes long
        // (two of them: 160 bytes, explicit; three: 239 bytes, cryptic).
        let mut v = vec![b'0'; 64];
        v[42] = b'1';
        v[43] = b'1';
        let w = warning(std::str::from_utf8(&v).unwrap_or_default()).expect("valid");
        assert!(w
            .value
            .as_deref()
            .is_some_and(|t| t.starts_with("UPS warnings: High loss")));
        v[44] = b'1';
        let w = warning(std::str::from_utf8(&v).unwrap_or_default()).expect("valid");
        assert_eq!(
            w.value.as_deref(),
            Some("UPS warnings: Known (see log or manual) [bit: #43, #44, #45]")
        );
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn allowed(table: &[Rw], vars: &BTreeMap<String, String>) -> Vec<&'static str> {
        let get = |k: &str| vars.get(k).cloned();
        table
            .iter()
            .filter(|e| e.check.is_none_or(|c| rw_allowed(c, e.value, &get)))
            .map(|e| e.value)
            .collect()
    }

    #[test]
    fn rw_bypass_volt() {
        let v = vars(&[
            ("ups.firmware.aux", "P01"),
            ("input.voltage.nominal", "230.0"),
        ]);
        assert_eq!(allowed(R_BYPASS_VOLT_MAX, &v), ["230", "264"]);
        assert_eq!(allowed(R_BYPASS_VOLT_MIN, &v), ["170", "220"]);
        let v = vars(&[
            ("ups.firmware.aux", "P01"),
            ("input.voltage.nominal", "120"),
        ]);
        assert_eq!(allowed(R_BYPASS_VOLT_MAX, &v), ["120", "140"]);
        let v = vars(&[
            ("ups.firmware.aux", "P09"),
            ("input.voltage.nominal", "230"),
        ]);
        assert_eq!(allowed(R_BYPASS_VOLT_MAX, &v), ["60", "140"]);
        assert_eq!(allowed(R_BYPASS_VOLT_MIN, &v), ["60", "140"]);
        let v = vars(&[
            ("ups.firmware.aux", "P99"),
            ("input.voltage.nominal", "230"),
        ]);
        assert_eq!(allowed(R_BYPASS_VOLT_MAX, &v), ["231", "261"]);
        assert_eq!(allowed(R_BYPASS_VOLT_MIN, &v), ["149", "209"]);
        // Missing variables.
        let v = vars(&[("input.voltage.nominal", "230")]);
        assert!(allowed(R_BYPASS_VOLT_MAX, &v).is_empty());
        let v = vars(&[("ups.firmware.aux", "P01")]);
        assert!(allowed(R_BYPASS_VOLT_MAX, &v).is_empty());
    }

    #[test]
    fn rw_freq() {
        let v = vars(&[
            ("ups.firmware.aux", "P01"),
            ("output.frequency.nominal", "50.0"),
        ]);
        assert_eq!(allowed(R_BYPASS_FREQ_MAX, &v), ["51.0", "60.0"]);
        assert_eq!(allowed(R_BYPASS_FREQ_MIN, &v), ["40.0", "49.0"]);
        assert_eq!(allowed(R_ECO_FREQ_MIN, &v), ["40.0", "47.0"]);
        assert_eq!(allowed(R_ECO_FREQ_MAX, &v), ["53.0", "60.0"]);
        let v = vars(&[
            ("ups.firmware.aux", "P03"),
            ("output.frequency.nominal", "60.0"),
        ]);
        assert_eq!(allowed(R_BYPASS_FREQ_MAX, &v), ["61.0", "64.0"]);
        assert_eq!(allowed(R_BYPASS_FREQ_MIN, &v), ["56.0", "59.0"]);
        assert_eq!(allowed(R_ECO_FREQ_MIN, &v), ["56.0", "58.0"]);
        assert_eq!(allowed(R_ECO_FREQ_MAX, &v), ["62.0", "64.0"]);
        // Nominal neither 50 nor 60.
        let v = vars(&[
            ("ups.firmware.aux", "P03"),
            ("output.frequency.nominal", "50.1"),
        ]);
        assert!(allowed(R_BYPASS_FREQ_MAX, &v).is_empty());
    }

    #[test]
    fn rw_batt_low() {
        // 230 V x 4 A = 920 < 1000: 24; the bound "20" has no filter.
        let v = vars(&[
            ("output.voltage.nominal", "230.0"),
            ("output.current.nominal", "004"),
        ]);
        assert_eq!(allowed(R_BATT_LOW, &v), ["20", "24"]);
        let v = vars(&[
            ("output.voltage.nominal", "230.0"),
            ("output.current.nominal", "5"),
        ]);
        assert_eq!(allowed(R_BATT_LOW, &v), ["20", "28"]);
        // Does not need ups.firmware.aux, but needs both nominal values.
        let v = vars(&[("output.voltage.nominal", "230.0")]);
        assert_eq!(allowed(R_BATT_LOW, &v), ["20"]);
    }
}
