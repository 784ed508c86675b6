//! The masterguard protocol of nutdrv_qx (NUT's drivers/nutdrv_qx_masterguard.c,
//! "Masterguard 0.02"): Masterguard A and E series units, `WH` identity and ratings,
//! `Q3` status with a second status byte, slave-addressed queries (`GS,XX`, `GBS,XX`,
//! `GSN,XX`, `DRC,XX`, `FLT,XX`: the unit's address in place of `XX`), the settable
//! output voltages `MSO` lists, and the unit's own shutdown and test commands.
//!
//! One NUT 2.8.0 flaw fixed on purpose: its claim looks up the items `series` and
//! `output_voltages`, which the table names `experimental.series` and
//! `experimental.output_voltages`, so NUT 2.8.0 never claims a unit (fixed in NUT
//! 2.8.1, whose claim this is). Also, where NUT reads `output.voltage` or the delays
//! with `strtod(NULL)`/`strtol(NULL)` on a unit that never reported them (a crash),
//! the item or command fails here; and the claim's search of the series' command list
//! stops at its end (NUT's loop only stops on a match, which every command of the
//! table has).
//!
//! Kept as NUT sends it: `shutdown.return`'s `S<off>R<on>` gives the start delay in
//! seconds (`R0180` for the default 180 s), where Megatec's `R` counts minutes; without
//! Masterguard's documentation it is not known which the unit reads.

use super::*;

/// A preprocess function of this protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum M {
    /// `masterguard_slaveaddr`: the unit's address, kept for its commands.
    SlaveAddr,
    /// `masterguard_series`: `A` or `E`.
    Series,
    /// `masterguard_model`: the model name from `WH`'s type field, and the battery
    /// pack range of that model.
    Model,
    /// `masterguard_power`: the nominal power of that model.
    Power,
    /// `masterguard_mmm_ss`: minutes.seconds to seconds.
    MmmSs,
    /// `masterguard_hhh`: hours to seconds.
    Hhh,
    /// `masterguard_tttt_hh_mm_ss`: days:hours:minutes:seconds to seconds.
    TtttHhMmSs,
    /// `masterguard_numcells`: the number of battery cells.
    NumCells,
    /// `masterguard_battvolt`: a cell's voltage times the cells.
    BattVolt,
    /// `masterguard_ups_power`: the load percentage of the nominal power.
    UpsPower,
    /// `masterguard_output_current`: the load's share of the nominal power over the
    /// output voltage.
    OutputCurrent,
    /// `masterguard_output_current_nominal`: the nominal power over the output voltage.
    OutputCurrentNominal,
    /// `masterguard_status`: the status bits of `Q3`.
    Status,
    /// `masterguard_beeper_status`.
    Beeper,
    /// `masterguard_output_voltages`: `MSO`'s list, the settable output voltages.
    OutputVoltages,
    /// `masterguard_fault`: a fault record in words.
    Fault,
    /// `masterguard_shutdown_return`: `S<off>R<on>` from the delays.
    ShutdownReturn,
    /// `masterguard_shutdown_stayoff`: `S<off>`.
    ShutdownStayoff,
    /// `masterguard_test_battery`: `T` for 10 s, else `T<minutes>`.
    TestBattery,
    /// `masterguard_setvar`: the value into the item's command, as its `dfl` types it.
    Setvar,
    /// `masterguard_set_slaveaddr`: a new address, taken once the command went out.
    SetSlaveAddr,
}

/// What masterguard keeps between calls (the statics of nutdrv_qx_masterguard.c).
#[derive(Debug, Clone)]
pub(super) struct MasterState {
    /// `A`, `E`, or `?` before the claim.
    series: u8,
    /// The unit's address, two digits (`??` before the claim).
    slaveaddr: [u8; 2],
    /// The address a pending `SS` command sets.
    next_slaveaddr: i64,
    /// Nominal power, for the load's power and current.
    power: i64,
    /// Battery cells, for the battery voltages.
    numcells: i64,
    /// The model's battery pack range (`masterguard_r_batpacks`).
    packs: (u8, u8),
    /// The output voltages `MSO` listed.
    out_volts: Vec<String>,
}

impl Default for MasterState {
    fn default() -> Self {
        MasterState {
            series: b'?',
            slaveaddr: *b"??",
            next_slaveaddr: 0,
            power: 0,
            numcells: 0,
            packs: (0, 9),
            out_volts: Vec::new(),
        }
    }
}

impl MasterState {
    /// The settable battery packs, as `info_rw` values.
    pub(super) fn packs_range(&self) -> Vec<String> {
        vec![self.packs.0.to_string(), self.packs.1.to_string()]
    }

    /// The settable output voltages, as `info_rw` values.
    pub(super) fn volts(&self) -> Vec<String> {
        self.out_volts.clone()
    }
}

/// `masterguard_r_slaveaddr`.
const R_SLAVEADDR: &[Rw] = &[rw("0"), rw("99")];
/// `masterguard_r_offdelay` (99 minutes).
const R_OFFDELAY: &[Rw] = &[rw("0"), rw("5940")];
/// `masterguard_r_ondelay` (9999 minutes).
const R_ONDELAY: &[Rw] = &[rw("0"), rw("599940")];

/// Commands of the A series (`masterguard_commands_a`).
const COMMANDS_A: [&str; 28] = [
    "Q", "Q1", "Q3", "T", "TL", "S", "C", "CT", "WH", "M", "N", "O", "DECO", "DRC", "SRC", "FLT",
    "FCLR", "G", "SS", "GS", "MSO", "PNV", "FOFF", "FON", "TUD", "GBS", "SSN", "GSN",
];
/// Commands of the E series (`masterguard_commands_e`).
const COMMANDS_E: [&str; 29] = [
    "Q", "Q1", "Q3", "PSR", "T", "TL", "S", "C", "CT", "WH", "DRC", "SRC", "FLT", "FCLR", "SS",
    "GS", "MSO", "PNV", "FOFF", "FON", "TUD", "GBS", "SSN", "GSN", "BUS", "V", "INVDC", "BUSP",
    "BUSN",
];

/// The claim's items, read in this order (NUT 2.8.1's names).
const MANDATORY: [&str; 5] = [
    "experimental.series",
    "device.model",
    "ups.power.nominal",
    "ups.id",
    "experimental.output_voltages",
];

/// masterguard's table (`masterguard_qx2nut`).
#[rustfmt::skip]
pub(super) fn table() -> Vec<Item> {
    use M::*;
    let m = Pre::Master;
    let none = InfoRw::None;
    let (stat, semi, quick, nonut) = (flag::STATIC, flag::SEMI_STATIC, flag::QUICK_POLL, flag::NONUT);
    let mut items = vec![
        it("device.mfr", false, none, "", 0, 0, (0, 0), "Masterguard", stat | flag::ABSENT, Pre::None),
        it("load.high", false, none, "", 0, 0, (0, 0), "140", stat | flag::ABSENT, Pre::None),
        it("battery.type", false, none, "", 0, 0, (0, 0), "PbAc", stat | flag::ABSENT, Pre::None),
    ];
    // WH: (XX VV.VV PP.PP TTTTTTTTTTTTTTTTTTTTTTTTTTTTTT B MMM FF.FF VVV SS.SS HHH.hh
    // GGG.gg RRR mm nn MMM NNN FF.FF FF.FF
    for (var, rw_, info, cols, dfl, flags, pre) in [
        ("ups.id", true, InfoRw::List(R_SLAVEADDR), (1, 2), "%.0f", semi | flag::RANGE, m(SlaveAddr)),
        ("ups.firmware", false, none, (4, 8), "%s", stat, Pre::None),
        ("ups.firmware.aux", false, none, (10, 14), "%s", stat, Pre::None),
        ("experimental.series", false, none, (16, 16), "%s", stat | nonut, m(Series)),
        ("device.model", false, none, (16, 45), "%s", stat, m(Model)),
        ("ups.power.nominal", false, none, (16, 45), "%s", stat, m(Power)),
        ("input.voltage.nominal", false, none, (49, 51), "%.0f", stat, Pre::None),
        ("input.frequency.nominal", false, none, (53, 57), "%.2f", stat, Pre::None),
        ("experimental.number_of_battery_cells", false, none, (59, 61), "%.0f", stat | nonut, m(NumCells)),
        ("experimental.nominal_cell_voltage", false, none, (63, 67), "%.2f", stat | nonut, Pre::None),
        ("battery.voltage.nominal", false, none, (63, 67), "%.2f", stat, m(BattVolt)),
        ("experimental.runtime_half", false, none, (69, 74), "%.0f", stat | nonut, m(MmmSs)),
        ("experimental.runtime_full", false, none, (76, 81), "%.0f", stat | nonut, m(MmmSs)),
        ("experimental.recharge_time", false, none, (83, 85), "%.0f", stat | nonut, m(Hhh)),
        ("ambient.0.temperature.low", false, none, (87, 88), "%.0f", stat, Pre::None),
        ("ambient.0.temperature.high", false, none, (90, 91), "%.0f", stat, Pre::None),
        ("input.voltage.low.critical", false, none, (93, 95), "%.0f", stat, Pre::None),
        ("input.voltage.high.critical", false, none, (97, 99), "%.0f", stat, Pre::None),
        ("input.frequency.low", false, none, (101, 105), "%.2f", stat, Pre::None),
        ("input.frequency.high", false, none, (107, 111), "%.2f", stat, Pre::None),
    ] {
        items.push(it(var, rw_, info, "WH\r", 113, b'(', cols, dfl, flags, pre));
    }
    // Q3: (XX MMM.M NNN.N PPP.P QQQ RR.R SS.SS TT.T ttt.tt CCC BBBBBBBB TTTTTTTT
    for (var, len, cols, dfl, flags, pre) in [
        ("input.voltage", 71, (4, 8), "%.1f", 0, Pre::None),
        ("experimental.input_fault_voltage", 71, (10, 14), "%.1f", nonut, Pre::None),
        ("output.voltage", 71, (16, 20), "%.1f", 0, Pre::None),
        ("ups.load", 71, (22, 24), "%.0f", 0, Pre::None),
        ("ups.power", 71, (22, 24), "%.0f", 0, m(UpsPower)),
        ("output.current", 71, (22, 24), "%f", 0, m(OutputCurrent)),
        ("input.frequency", 71, (26, 29), "%.1f", 0, Pre::None),
        ("battery.voltage", 71, (31, 35), "%.1f", 0, m(BattVolt)),
        ("ups.temperature", 71, (37, 40), "%.1f", 0, Pre::None),
        ("ambient.0.temperature", 71, (37, 40), "%.1f", 0, Pre::None),
        ("battery.runtime", 71, (42, 47), "%.0f", 0, m(MmmSs)),
        ("battery.charge", 71, (49, 51), "%.0f", 0, Pre::None),
        ("ups.status", 71, (53, 53), "", quick, m(Status)),
        ("ups.status", 71, (54, 54), "", quick, m(Status)),
        ("ups.status", 71, (55, 55), "", quick, m(Status)),
        ("ups.alarm", 71, (56, 56), "", quick, m(Status)),
        ("ups.type", 71, (57, 57), "", stat, m(Status)),
        ("ups.status", 71, (58, 58), "", quick, m(Status)),
        ("ups.status", 71, (59, 59), "", quick, m(Status)),
        // NUT's table expects 69 bytes here (71 elsewhere).
        ("ups.alarm", 69, (63, 63), "", quick, m(Status)),
        ("ups.status", 71, (65, 65), "", quick, m(Status)),
        ("ups.alarm", 71, (66, 66), "", quick, m(Status)),
        ("ups.test.result", 71, (67, 69), "", quick, m(Status)),
    ] {
        items.push(it(var, false, none, "Q3\r", len, b'(', cols, dfl, flags, pre));
    }
    let mut new_id = it("ups.id", false, none, "SS%02d--,XX\r", 0, 0, (0, 0), "d", flag::SETVAR | flag::RANGE, m(SetSlaveAddr));
    new_id.answer = Answer::NewSlaveAddr;
    items.extend([
        // GS,XX: (XX,ii p a
        new_id,
        it("battery.packs", true, InfoRw::MasterPacks, "GS,XX\r", 0, b'(', (7, 7), "%.0f", semi | flag::RANGE, Pre::None),
        it("battery.packs", false, none, "SS--%1d-,XX\r", 0, 0, (0, 0), "d", flag::SETVAR | flag::RANGE, m(Setvar)),
        it("ups.beeper.status", false, none, "GS,XX\r", 11, b'(', (9, 9), "", semi, m(Beeper)),
        // GBS,XX: (XX,CCC hhhh HHHH AAAA BBBB DDDD EEE SS.SS
        it("battery.charge", false, none, "GBS,XX\r", 43, b'(', (4, 6), "%.0f", 0, Pre::None),
        // GSN,XX: (XX,SSN=SSSSSSSSSSSnnnnn
        it("device.part", false, none, "GSN,XX\r", 25, b'(', (8, 18), "%s", stat | flag::TRIM, Pre::None),
        it("device.serial", false, none, "GSN,XX\r", 25, b'(', (20, 23), "%s", stat, Pre::None),
        // DRC,XX: (XX,TTTT:hh:mm:ss (running time since the last maintenance)
        it("device.uptime", true, none, "DRC,XX\r", 17, b'(', (4, 16), "%.0f", semi, m(TtttHhMmSs)),
        it("device.uptime", false, none, "SRC%s,XX\r", 0, 0, (0, 0), "thms", flag::SETVAR, m(Setvar)),
        // MSO: (220 230 240
        it("experimental.output_voltages", false, none, "MSO\r", 5, b'(', (1, 0), "%s", stat | nonut, m(OutputVoltages)),
        // PNV: (PNV=nnn
        it("output.voltage.nominal", true, InfoRw::MasterVolts, "PNV\r", 8, b'(', (5, 7), "%.0f", semi | flag::ENUM, Pre::None),
        it("output.voltage.nominal", false, none, "PNV=%03d\r", 0, 0, (0, 0), "d", flag::SETVAR, m(Setvar)),
        it("output.current.nominal", false, none, "PNV\r", 8, b'(', (5, 7), "%.0f", semi, m(OutputCurrentNominal)),
    ]);
    // FLT,XX: five records "A aaaa TTTT:hh:mm:ss".
    for (n, from) in [(1, 4), (2, 25), (3, 46), (4, 67), (5, 88)] {
        let var = ["", "experimental.fault_1", "experimental.fault_2", "experimental.fault_3", "experimental.fault_4", "experimental.fault_5"][n];
        items.push(it(var, false, none, "FLT,XX\r", 108, b'(', (from, from + 19), "%s", nonut, m(Fault)));
    }
    items.extend([
        cmd("shutdown.return", "", m(ShutdownReturn)),
        cmd("shutdown.stayoff", "", m(ShutdownStayoff)),
        cmd("shutdown.stop", "C\r", Pre::None),
        cmd("test.battery.start", "", m(TestBattery)),
        cmd("test.battery.start.quick", "T\r", Pre::None),
        cmd("test.battery.start.deep", "TUD\r", Pre::None),
        cmd("test.battery.stop", "CT\r", Pre::None),
        cmd("bypass.start", "FOFF\r", Pre::None),
        cmd("bypass.stop", "FON\r", Pre::None),
        cmd("beeper.enable", "SS---1,XX\r", Pre::None),
        cmd("beeper.disable", "SS---0,XX\r", Pre::None),
    ]);
    // Server-side delays, taken as given (no preprocess function).
    for (var, range, dfl) in [
        ("ups.delay.shutdown", R_OFFDELAY, DEFAULT_OFFDELAY),
        ("ups.delay.start", R_ONDELAY, DEFAULT_ONDELAY),
    ] {
        let mut item = delay(var, range, dfl);
        item.pre = Pre::None;
        items.push(item);
    }
    items
}

/// C's `isspace`, for `str` trimming.
fn c_space(c: char) -> bool {
    u8::try_from(c).is_ok_and(voltronic_text::is_c_space)
}

/// C's `sscanf` `%d`: blanks, a sign, digits; the number and what follows.
fn scan_int(text: &str) -> Option<(i64, &str)> {
    let t = text.trim_start_matches(c_space);
    let sign_len = usize::from(t.starts_with(['-', '+']));
    let digits = t[sign_len..].bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let end = sign_len + digits;
    // An int: glibc keeps the low 32 bits of a longer number.
    let n = t[..end].parse::<i64>().unwrap_or(0) as i32;
    Some((i64::from(n), &t[end..]))
}

/// C's `sscanf` `%f`: blanks, then a decimal number (or `inf`, `infinity`, `nan`) read
/// as a `float`; an exponent mark without digits fails the conversion, as in glibc.
/// (Hexadecimal floats, which glibc also takes, are refused.)
fn scan_float(text: &str) -> Option<(f32, &str)> {
    let t = text.trim_start_matches(c_space);
    let b = t.as_bytes();
    let sign = usize::from(t.starts_with(['-', '+']));
    let word = |w: &str| {
        t.get(sign..sign + w.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(w))
    };
    for (w, v) in [
        ("infinity", f32::INFINITY),
        ("inf", f32::INFINITY),
        ("nan", f32::NAN),
    ] {
        if word(w) {
            let v = if t.starts_with('-') { -v } else { v };
            return Some((v, &t[sign + w.len()..]));
        }
    }
    let mut i = sign;
    let int = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    i += int;
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        frac = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += 1 + frac;
    }
    if int + frac == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        j += usize::from(matches!(b.get(j), Some(b'-' | b'+')));
        let exp = b[j..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return None;
        }
        i = j + exp;
    }
    Some((t[..i].parse::<f32>().ok()?, &t[i..]))
}

/// glibc's `%.Nf` of `v`, its spellings of infinities and NaNs included.
fn c_fixed(v: f64, precision: usize) -> String {
    if v.is_nan() {
        if v.is_sign_negative() { "-nan" } else { "nan" }.to_string()
    } else if v.is_infinite() {
        if v < 0.0 { "-inf" } else { "inf" }.to_string()
    } else {
        format!("{v:.precision$}")
    }
}

/// `sscanf(text, "%d.%d")`-like: ints separated by `sep`, all `N` of them.
fn scan_ints<const N: usize>(text: &str, sep: char) -> Option<[i64; N]> {
    let mut out = [0; N];
    let mut rest = text;
    for (k, slot) in out.iter_mut().enumerate() {
        if k > 0 {
            rest = rest.strip_prefix(sep)?;
        }
        let (n, r) = scan_int(rest)?;
        *slot = n;
        rest = r;
    }
    Some(out)
}

/// C's `strtol(text, &end, 10)` with `*end == '\0'` required (an empty text is 0):
/// blanks, a sign, digits, and nothing after them.
fn strtol_whole(text: &str) -> Option<i64> {
    if text.is_empty() {
        return Some(0);
    }
    let t = text.trim_start_matches(c_space);
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    (!digits.is_empty() && digits.bytes().all(|d| d.is_ascii_digit()))
        .then(|| voltronic_text::strtol(text.as_bytes()))
}

/// `TTTT:hh:mm:ss` in seconds, in C's `int` arithmetic (wrapping as NUT's does on a
/// day count of 24856 or more).
fn seconds(t: i64, h: i64, m: i64, s: i64) -> i32 {
    let int = |v: i64| v as i32;
    86400i32
        .wrapping_mul(int(t))
        .wrapping_add(3600i32.wrapping_mul(int(h)))
        .wrapping_add(60i32.wrapping_mul(int(m)))
        .wrapping_add(int(s))
}

/// The model of a `WH` type field: name, nominal power, battery pack range (rack units
/// with `-19` take more packs).
fn model(value: &str) -> Option<(&'static str, i64, (u8, u8))> {
    let rack = value.contains("-19");
    let (name, power, packs) = if value.starts_with("A  700") {
        ("A700", 700, (0, 0))
    } else if value.starts_with("A 1000") {
        ("A1000", 1000, (0, 2))
    } else if value.starts_with("A 2000") {
        ("A2000", 2000, if rack { (1, 5) } else { (0, 2) })
    } else if value.starts_with("A 3000") {
        ("A3000", 3000, if rack { (1, 5) } else { (0, 2) })
    } else if value.starts_with("E 60") {
        ("E60", 6000, (1, 1))
    } else if value.starts_with("E100") {
        ("E100", 10000, (1, 1))
    } else if value.starts_with("E200") {
        ("E200", 20000, (1, 1))
    } else {
        return None;
    };
    Some((name, power, packs))
}

/// `masterguard_fault`'s words for a fault id and its value.
fn fault_text(id: char, f: f64) -> Option<String> {
    Some(match id {
        '0' => "none".to_string(),
        '1' => format!("bus fault ({f:.0}V)"),
        '2' => format!("inverter fault ({f:.0}V)"),
        '3' => format!("overheat fault ({f:.0}C)"),
        '4' => format!("battery overvoltage fault ({f:.2}V)"),
        '5' => format!("battery mode overload fault ({f:.0}%)"),
        '6' => format!("bypass mode overload fault ({f:.0}%)"),
        '7' => format!("inverter mode outpt short-circuit fault ({f:.0}V)"),
        '8' => "fan lock fault".to_string(),
        '9' => format!("battery fault ({f:.0}V)"),
        'A' => "charger fault".to_string(),
        'B' => "EPO activated".to_string(),
        'C' => "parallel error".to_string(),
        'D' => "MCU communication error".to_string(),
        // 'E' and 'F' are reserved.
        _ => return None,
    })
}

/// A printf integer conversion of masterguard's commands (`%02d`, `%1d`, `%03d`) with
/// `n` as C's `int` (the low 32 bits of NUT's `long`).
fn format_int(command: &str, n: i64) -> Option<String> {
    let start = command.find('%')?;
    let end = start + command[start..].find('d')?;
    let spec = &command[start + 1..end];
    let width: usize = spec.parse().ok()?;
    let n = n as i32;
    let text = if spec.starts_with('0') {
        if n < 0 {
            format!("-{:0>w$}", n.unsigned_abs(), w = width.saturating_sub(1))
        } else {
            format!("{n:0>width$}")
        }
    } else {
        format!("{n:>width$}")
    };
    Some(format!(
        "{}{text}{}",
        &command[..start],
        &command[end + 1..]
    ))
}

impl Ctx<'_> {
    /// The claim (`masterguard_claim`, as NUT 2.8.1 fixed it): the identity items through
    /// their preprocess functions only, the configured `slave_address` matched, the
    /// commands the series lacks skipped.
    pub(super) fn master_claim(&mut self) -> Step<bool> {
        let wanted = match self.drv.options.getval("slave_address") {
            None => None,
            Some(sa) => match strtol_whole(sa) {
                Some(n) if !sa.is_empty() && (0..=99).contains(&n) => Some(n),
                _ => return Ok(false),
            },
        };
        for name in MANDATORY {
            let Some(i) = self.find(name, 0, flag::SETVAR) else {
                return Ok(false);
            };
            let (ok, _, value) = self.qx_process(i, None)?;
            let Pre::Master(pre) = self.drv.items[i].pre else {
                return Ok(false);
            };
            if !ok || self.master_pre(i, pre, &value).is_none() {
                return Ok(false);
            }
        }
        let have = std::str::from_utf8(&self.drv.master.slaveaddr)
            .ok()
            .and_then(|s| scan_int(s).map(|(n, _)| n))
            .unwrap_or(0);
        if wanted.is_some_and(|w| w != have) {
            return Ok(false);
        }
        let commands: &[&str] = match self.drv.master.series {
            b'A' => &COMMANDS_A,
            b'E' => &COMMANDS_E,
            _ => return Ok(false),
        };
        for item in std::sync::Arc::make_mut(&mut self.drv.items).iter_mut() {
            if item.command.is_empty() {
                continue;
            }
            let word: &str = item
                .command
                .split(|c: char| !c.is_ascii_uppercase())
                .next()
                .unwrap_or("");
            if !commands.contains(&word) {
                item.flags |= flag::SKIP;
            }
        }
        Ok(true)
    }

    /// A query's command with the unit's address for its `XX` (`masterguard_add_slaveaddr`);
    /// `None` when a command of this table lacks the `,XX\r` ending.
    pub(super) fn master_address(&self, command: &str) -> Option<String> {
        let head = command.strip_suffix(",XX\r")?;
        let addr = String::from_utf8_lossy(&self.drv.master.slaveaddr).into_owned();
        Some(format!("{head},{addr}\r"))
    }

    /// `masterguard_new_slaveaddr`: after the `SS` command, the new address is the one.
    pub(super) fn master_new_slaveaddr(&mut self) -> bool {
        let next = self.drv.master.next_slaveaddr;
        if !(0..=99).contains(&next) {
            return false;
        }
        self.drv.master.slaveaddr = [b'0' + (next / 10) as u8, b'0' + (next % 10) as u8];
        true
    }

    /// The preprocess functions of the variables: the value to publish, or `None`
    /// (NUT's -1).
    pub(super) fn master_pre(&mut self, i: usize, pre: M, raw: &str) -> Option<String> {
        let item = self.drv.items[i];
        let st = &mut self.drv.master;
        match pre {
            M::SlaveAddr => {
                let b = raw.as_bytes();
                if b.len() != 2 {
                    return None;
                }
                st.slaveaddr = [b[0], b[1]];
                Some(raw.to_string())
            }
            M::Series => {
                let c = *raw.as_bytes().first()?;
                if c != b'A' && c != b'E' {
                    return None;
                }
                st.series = c;
                Some(char::from(c).to_string())
            }
            M::Model => {
                let (name, _, packs) = model(raw)?;
                st.packs = packs;
                let rack = if raw.contains("-19") { "-19" } else { "" };
                Some(format!("{name}{rack}"))
            }
            M::Power => {
                let (_, power, _) = model(raw)?;
                st.power = power;
                Some(power.to_string())
            }
            M::MmmSs => {
                let [m, s] = scan_ints::<2>(raw, '.')?;
                Some((60 * m + s).to_string())
            }
            M::Hhh => {
                let (h, _) = scan_int(raw)?;
                Some((3600 * h).to_string())
            }
            M::TtttHhMmSs => {
                let [t, h, m, s] = scan_ints::<4>(raw, ':')?;
                Some(seconds(t, h, m, s).to_string())
            }
            M::NumCells => {
                let (n, _) = scan_int(raw)?;
                st.numcells = n;
                Some(n.to_string())
            }
            M::BattVolt => {
                // long * float: a float product, as in C.
                let (cell, _) = scan_float(raw)?;
                Some(c_fixed(f64::from(st.numcells as f32 * cell), 2))
            }
            M::UpsPower => {
                let (q, _) = scan_int(raw)?;
                Some(format!("{:.0}", q as f64 / 100.0 * st.power as f64 + 0.5))
            }
            M::OutputCurrent | M::OutputCurrentNominal => {
                let fraction = if pre == M::OutputCurrent {
                    scan_int(raw)?.0 as f64 / 100.0
                } else {
                    1.0
                };
                let power = st.power as f64;
                let volts = strtod(&self.get("output.voltage")?);
                Some(c_fixed(fraction * power / volts + 0.005, 2))
            }
            M::Status => master_status(item.from, raw),
            M::Beeper => match raw.as_bytes().first() {
                Some(b'0') => Some("disabled".to_string()),
                Some(b'1') => Some("enabled".to_string()),
                _ => None,
            },
            M::OutputVoltages => {
                st.out_volts = raw
                    .split(' ')
                    .filter(|w| !w.is_empty())
                    .map(str::to_string)
                    .collect();
                Some(raw.to_string())
            }
            M::Fault => {
                let mut chars = raw.chars();
                let id = chars.next()?;
                let (f, rest) = scan_float(chars.as_str())?;
                let [t, h, m, s] = scan_ints::<4>(rest, ':')?;
                let seconds = seconds(t, h, m, s);
                Some(format!("{seconds}: {}", fault_text(id, f64::from(f))?))
            }
            M::ShutdownReturn
            | M::ShutdownStayoff
            | M::TestBattery
            | M::Setvar
            | M::SetSlaveAddr => None,
        }
    }

    /// The command of `shutdown.return`, `shutdown.stayoff` (`masterguard_shutdown`) or
    /// `test.battery.start` (`masterguard_test_battery`); `None`: refused.
    pub(super) fn master_command(&mut self, pre: M, value: &str) -> Option<String> {
        if pre == M::TestBattery {
            if value.is_empty() {
                return None;
            }
            let duration = strtol_whole(value)?;
            if duration == 10 {
                return Some("T\r".to_string());
            }
            if !(60..=99 * 60).contains(&duration) {
                return None;
            }
            return Some(format!("T{:02}\r", duration / 60));
        }
        let offdelay = strtol_whole(&self.get("ups.delay.shutdown")?)?;
        let off = match offdelay {
            0..=59 => format!(".{}", offdelay / 6),
            60..=5940 => format!("{:02}", offdelay / 60),
            _ => return None,
        };
        if pre == M::ShutdownStayoff {
            return Some(format!("S{off}\r"));
        }
        let ondelay = strtol_whole(&self.get("ups.delay.start")?)?;
        if !(0..=9999 * 60).contains(&ondelay) {
            return None;
        }
        Some(format!("S{off}R{ondelay:04}\r"))
    }

    /// `masterguard_setvar` (and `masterguard_set_slaveaddr`): the command setting `value`,
    /// typed by the item's `dfl` (`d`, `f`, `s`, or `thms` for a running time).
    pub(super) fn master_setvar(&mut self, item: &Item, pre: M, value: &str) -> Option<String> {
        if value.is_empty() {
            return None;
        }
        if pre == M::SetSlaveAddr {
            self.drv.master.next_slaveaddr = strtol_whole(value)?;
        }
        match item.dfl {
            "d" => format_int(item.command, strtol_whole(value)?),
            "f" => {
                // No masterguard command takes a float; NUT would print it with %f.
                let f: f64 = value.parse().ok()?;
                Some(item.command.replacen("%f", &format!("{f:.6}"), 1))
            }
            "s" => (value.len() < 80).then(|| item.command.replacen("%s", value, 1)),
            "thms" => {
                // NUT first tries the SETVAR item's last answer (what the unit said to
                // the previous SRC) as TTTT:hh:mm:ss and would send that instead; here
                // the value asked for is what is sent, in seconds.
                let mut l = strtol_whole(value)?;
                let sec = l % 60;
                l /= 60;
                let m = l % 60;
                l /= 60;
                let h = l % 24;
                l /= 24;
                if l > 9999 {
                    return None;
                }
                let text = format!("{l:04}:{h:02}:{m:02}:{sec:02}");
                Some(item.command.replacen("%s", &text, 1))
            }
            _ => None,
        }
    }
}

/// `masterguard_status`: what one status bit (or the test field at 67) says.
fn master_status(from: usize, raw: &str) -> Option<String> {
    let first = *raw.as_bytes().first()?;
    let mut neg = match first {
        b'0' => true,
        b'1' => false,
        _ => return None,
    };
    let word = match from {
        53 => {
            neg = !neg;
            "OL"
        }
        54 => "LB",
        55 => "BYPASS",
        56 => {
            let w = if neg { "" } else { "UPS Failed" };
            neg = false;
            w
        }
        57 => {
            let w = if neg { "online" } else { "offline" };
            neg = false;
            w
        }
        58 => "CAL",
        59 => "FSD",
        63 => {
            let w = if neg {
                ""
            } else {
                "problems in parallel operation mode"
            };
            neg = false;
            w
        }
        65 => "RB",
        66 => {
            let w = if neg { "" } else { "no battery connected" };
            neg = false;
            w
        }
        67 => {
            neg = false;
            match raw.get(..3)? {
                "000" => "no test in progress",
                "001" => "in progress",
                "010" => "OK",
                "011" => "failed",
                "100" => "not possible",
                "101" => "aborted",
                "110" => "autonomy time calibration in progress",
                "111" => "unknown",
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(format!("{}{word}", if neg { "!" } else { "" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanf_conversions_read_as_c_reads_them() {
        assert_eq!(scan_ints::<2>("017.03", '.'), Some([17, 3]));
        assert_eq!(
            scan_ints::<4>("1869:19:06:37", ':'),
            Some([1869, 19, 6, 37])
        );
        assert_eq!(scan_ints::<2>(" 17", '.'), None);
        assert_eq!(scan_float("02.27 x"), Some((2.27, " x")));
        assert_eq!(strtol_whole(""), Some(0));
        assert_eq!(strtol_whole(" 30"), Some(30));
        assert_eq!(strtol_whole("30 "), None);
        assert_eq!(strtol_whole("x"), None);
        assert_eq!(strtol_whole("-"), None);
        assert_eq!(strtol_whole("99999999999999999999"), Some(i64::MAX));
        assert_eq!(strtol_whole("\u{a0}60"), None);
        // The low 32 bits of LONG_MAX, as C's printf takes a long for %d.
        assert_eq!(
            format_int("PNV=%03d\r", i64::MAX).as_deref(),
            Some("PNV=-01\r")
        );
        assert_eq!(scan_float("1e"), None);
        assert_eq!(scan_float("inf").map(|(v, _)| v), Some(f32::INFINITY));
        assert_eq!(seconds(24856, 0, 0, 0), -2147408896);
        assert_eq!(c_fixed(-f64::NAN, 2), "-nan");
        assert_eq!(c_fixed(f64::NAN, 2), "nan");
        assert_eq!(c_fixed(-1.0 / 0.0, 2), "-inf");
        assert_eq!(
            format_int("SS%02d--,XX\r", 5).as_deref(),
            Some("SS05--,XX\r")
        );
        assert_eq!(format_int("PNV=%03d\r", 230).as_deref(), Some("PNV=230\r"));
        assert_eq!(
            format_int("SS--%1d-,XX\r", 2).as_deref(),
            Some("SS--2-,XX\r")
        );
    }

    #[test]
    fn models_faults_and_status_words_follow_nut() {
        assert_eq!(
            model("A  700  + 0 Bat Pack-19       "),
            Some(("A700", 700, (0, 0)))
        );
        assert_eq!(model("A 2000-19"), Some(("A2000", 2000, (1, 5))));
        assert_eq!(model("E100"), Some(("E100", 10000, (1, 1))));
        assert_eq!(model("B 100"), None);
        assert_eq!(master_status(53, "1").as_deref(), Some("!OL"));
        assert_eq!(master_status(53, "0").as_deref(), Some("OL"));
        assert_eq!(master_status(54, "0").as_deref(), Some("!LB"));
        assert_eq!(master_status(56, "0").as_deref(), Some(""));
        assert_eq!(master_status(57, "1").as_deref(), Some("offline"));
        assert_eq!(master_status(67, "010").as_deref(), Some("OK"));
        assert_eq!(master_status(67, "01x"), None);
        assert_eq!(master_status(60, "1"), None);
        assert_eq!(
            fault_text('7', 43.0).as_deref(),
            Some("inverter mode outpt short-circuit fault (43V)")
        );
        assert_eq!(fault_text('E', 0.0), None);
    }
}
