//! The smaller protocols of NUT 2.8.0's nutdrv_qx that build on
//! nutdrv_qx_blazer-common.c, table for table: bestups (drivers/nutdrv_qx_bestups.c:
//! Best Power Fortress, Patriot Pro, Axxium, Sola Australia), mecer
//! (nutdrv_qx_mecer.c: `(ACK`/`(NAK` units and Voltronic Power P98), zinto
//! (nutdrv_qx_zinto.c) and hunnox (nutdrv_qx_hunnox.c), the last two Q1 units whose
//! vendor query is `FW?`, and ablerex (nutdrv_qx_ablerex.c: megatec's queries with a
//! binary `Q5` status, `At` runtime and `TR` test result).
//!
//! One NUT flaw is fixed on purpose: bestups names a model it does not know
//! `Unknown (%s)` (the ID is passed to a `%s` format that has no room for it); here it
//! is `Unknown (<ID>)`, as the code meant. And the pins shutdown mode read from the unit
//! is logged as the number it is (NUT formats the integer with `%.0f`, which prints
//! whatever a floating-point register holds).
//!
//! Ablerex's functions read `battery.voltage.nominal`, `input.voltage` and
//! `output.voltage` without checking that they exist: NUT crashes (`strtod(NULL)`) on a
//! unit that never reported one; here the item fails as any unreadable item does.

use super::*;

/// A preprocess function of these protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum F {
    /// `voltronic_p98_protocol` (mecer): only `PI98` is accepted.
    P98Protocol,
    /// `mecer_process_test_battery`: test times from 12 s on P98 units.
    MecerTest,
    /// `bestups_process_bbb_status_bit`.
    BestupsBbb,
    /// `bestups_manufacturer`.
    BestupsMfr,
    /// `bestups_model`: also unskips the items the model has.
    BestupsModel,
    /// `bestups_batt_runtime`: minutes to seconds.
    BestupsRuntime,
    /// `bestups_batt_packs`.
    BestupsPacks,
    /// `bestups_get_pins_shutdown_mode`.
    BestupsPins,
    /// `bestups_voltage_settings`: the `M` index to transfer voltages.
    BestupsVoltage,
    /// `bestups_process_setvar`.
    BestupsSetvar,
    /// `ablerex_Q5`: output frequency, alarm word and output current from the binary
    /// `Q5` answer; keeps its battery voltages for the two below.
    AblerexQ5,
    /// `ablerex_battery`: the battery voltage, from `Q5`'s when the unit gave one.
    AblerexBattery,
    /// `ablerex_batterycharge`: the charge from the voltage, through ablerex's tables.
    AblerexCharge,
    /// `ablerex_initbattery`: battery.voltage.low (`from` 1) and .high (`from` 2).
    AblerexInitBattery,
    /// `ablerex_At`: the runtime, a 32-bit big-endian number.
    AblerexAt,
    /// `ablerex_TR`: the test result, four characters.
    AblerexTr,
    /// `ablerex_process_status_bits`: bypass/boost/buck against the voltages (`from`
    /// 40), battery and output state (`from` 41).
    AblerexStatus,
}

/// What ablerex keeps between calls (nutdrv_qx_ablerex.c's statics): the battery
/// voltage and its low limit of the last `Q5` answer, in 1/1200ths of the nominal
/// battery voltage (-1 before one).
#[derive(Debug, Clone)]
pub(super) struct AblerexState {
    q5_vb: i64,
    q5_vbc: i64,
}

impl Default for AblerexState {
    fn default() -> Self {
        AblerexState {
            q5_vb: -1,
            q5_vbc: -1,
        }
    }
}

/// ablerex's charge by cell voltage on line (volts, percent), highest first.
const ABLEREX_ONLINE: [(f64, i64); 55] = [
    (2.22, 100),
    (2.21, 90),
    (2.20, 88),
    (2.19, 87),
    (2.18, 85),
    (2.17, 83),
    (2.16, 82),
    (2.15, 80),
    (2.14, 78),
    (2.13, 77),
    (2.12, 75),
    (2.11, 73),
    (2.10, 72),
    (2.09, 70),
    (2.08, 68),
    (2.07, 65),
    (2.06, 65),
    (2.05, 62),
    (2.04, 62),
    (2.03, 58),
    (2.02, 58),
    (2.01, 55),
    (2.00, 55),
    (1.99, 53),
    (1.98, 52),
    (1.97, 50),
    (1.96, 48),
    (1.95, 47),
    (1.94, 45),
    (1.93, 43),
    (1.92, 42),
    (1.91, 40),
    (1.90, 38),
    (1.89, 37),
    (1.88, 35),
    (1.87, 33),
    (1.86, 32),
    (1.85, 30),
    (1.84, 28),
    (1.83, 27),
    (1.82, 25),
    (1.81, 23),
    (1.80, 22),
    (1.79, 20),
    (1.78, 18),
    (1.77, 17),
    (1.76, 15),
    (1.75, 13),
    (1.74, 12),
    (1.73, 10),
    (1.72, 8),
    (1.71, 7),
    (1.70, 5),
    (1.69, 3),
    (1.68, 2),
];

/// ablerex's charge by 12 V block voltage on battery (volts, percent), highest first.
const ABLEREX_OFFLINE: [(f64, i64); 34] = [
    (13.5, 100),
    (13.3, 90),
    (13.2, 88),
    (13.1, 86),
    (13.0, 83),
    (12.9, 80),
    (12.8, 77),
    (12.7, 74),
    (12.6, 72),
    (12.5, 69),
    (12.4, 66),
    (12.3, 63),
    (12.2, 61),
    (12.1, 58),
    (12.0, 55),
    (11.9, 52),
    (11.8, 49),
    (11.7, 47),
    (11.6, 44),
    (11.5, 41),
    (11.4, 38),
    (11.3, 36),
    (11.2, 33),
    (11.1, 30),
    (11.0, 27),
    (10.9, 24),
    (10.8, 22),
    (10.7, 19),
    (10.6, 16),
    (10.5, 13),
    (10.4, 11),
    (10.3, 8),
    (10.2, 5),
    (10.1, 2),
];

/// `ablerex_battery_charge`: a cell's voltage (below 3 V) or a 12 V block's, to
/// percent (0 below the tables).
fn ablerex_charge(volts: f64) -> i64 {
    let table: &[(f64, i64)] = if volts < 3.0 {
        &ABLEREX_ONLINE
    } else {
        &ABLEREX_OFFLINE
    };
    table
        .iter()
        .find(|(v, _)| volts >= *v)
        .map_or(0, |(_, charge)| *charge)
}

/// Big-endian 16-bit word at `at` of a binary answer (missing bytes read 0, as NUT's
/// zeroed answer buffer gives).
fn word(answer: &[u8], at: usize) -> i64 {
    let byte = |i: usize| i64::from(answer.get(i).copied().unwrap_or(0));
    byte(at) * 256 + byte(at + 1)
}

/// ablerex's table: megatec's `Q1` (the battery voltage and charge through ablerex's
/// functions, two more status items), `F` ratings read in every update, `Q5`, `At`,
/// `TR`, `I`, and megatec's commands with `load.off` as `S.2`.
#[rustfmt::skip]
pub(super) fn ablerex_table() -> Vec<Item> {
    use F::*;
    let family = Pre::Family;
    let quick = flag::QUICK_POLL;
    let mut items: Vec<Item> = Vec::new();
    for (var, cols, dfl, pre) in [
        ("input.voltage", (1, 5), "%.1f", Pre::None),
        ("input.voltage.fault", (7, 11), "%.1f", Pre::None),
        ("output.voltage", (13, 17), "%.1f", Pre::None),
        ("ups.load", (19, 21), "%.0f", Pre::None),
        ("input.frequency", (23, 26), "%.1f", Pre::None),
        ("battery.voltage", (28, 31), "%.2f", family(AblerexBattery)),
        ("battery.charge", (28, 31), "%.2f", family(AblerexCharge)),
        ("ups.temperature", (33, 36), "%.1f", Pre::None),
    ] {
        let mut item = q1(var, cols.0, cols.1, dfl, 0);
        item.pre = pre;
        items.push(item);
    }
    items.push(bits("ups.status", 38, "", quick));
    items.push(bits("ups.status", 39, "", quick));
    let mut bbb = q1("ups.status", 40, 42, "", quick);
    bbb.pre = family(AblerexStatus);
    items.push(bbb);
    let mut failed = q1("ups.status", 41, 41, "", quick);
    failed.pre = family(AblerexStatus);
    items.push(failed);
    items.push(bits("ups.alarm", 41, "", 0));
    items.push(bits("ups.type", 42, "%s", flag::STATIC));
    items.push(bits("ups.status", 43, "", quick));
    items.push(bits("ups.status", 44, "", quick));
    items.push(bits("ups.beeper.status", 45, "%s", 0));
    for (var, cols, pre) in [
        ("output.voltage.nominal", (1, 5), Pre::None),
        ("output.current.nominal", (7, 9), Pre::None),
        ("battery.voltage.nominal", (11, 15), Pre::None),
        ("output.frequency.nominal", (17, 20), Pre::None),
    ] {
        items.push(it(var, false, InfoRw::None, "F\r", 22, b'#', cols, "%.1f", quick, pre));
    }
    items.push(it("battery.voltage.low", false, InfoRw::None, "F\r", 22, b'#', (1, 2), "%.2f", quick, family(AblerexInitBattery)));
    items.push(it("battery.voltage.high", false, InfoRw::None, "F\r", 22, b'#', (2, 3), "%.2f", quick, family(AblerexInitBattery)));
    for (var, command, len, leading, cols, dfl, pre) in [
        ("output.frequency", "Q5\r", 22, b'(', (1, 18), "%.1f", AblerexQ5),
        ("battery.runtime", "At\r", 0, b'(', (0, 0), "%d", AblerexAt),
        ("ups.test.result", "TR\r", 0, b'#', (0, 0), "%s", AblerexTr),
    ] {
        let mut item = it(var, false, InfoRw::None, command, len, leading, cols, dfl, 0, family(pre));
        item.answer = Answer::Binary;
        items.push(item);
    }
    items.extend(RATING_ITEMS.iter().filter(|i| i.command == "I\r").copied());
    for mut item in COMMAND_ITEMS {
        if item.var == "load.off" {
            item.command = "S.2\r";
        }
        items.push(item);
    }
    items
}

/// What bestups keeps between calls (the statics of nutdrv_qx_bestups.c).
#[derive(Debug, Clone, Default)]
pub(super) struct BestState {
    /// Patriot Pro units report the bypass/boost/buck bit inverted.
    pub(super) inverted_bbb: bool,
    /// The pins shutdown mode last read from the unit (`SS?`), 0 before.
    pub(super) pins_shutdown_mode: i64,
}

/// zinto's table, or hunnox's (`hunnox`): megatec's `Q1`, `F` and commands, with the
/// vendor query `FW?` in `I`'s layout; hunnox reads every `Q1` value in quick updates
/// and starts with delays of 0 and 60 s.
pub(super) fn zinto_table(hunnox: bool) -> Vec<Item> {
    let mut items: Vec<Item> = Q1_ITEMS.to_vec();
    if hunnox {
        for item in items.iter_mut().filter(|i| i.pre == Pre::None) {
            item.flags |= flag::QUICK_POLL;
        }
    }
    for mut item in RATING_ITEMS {
        if item.command == "I\r" {
            item.command = "FW?\r";
        }
        items.push(item);
    }
    for mut item in COMMAND_ITEMS {
        if hunnox && item.flags & flag::ABSENT != 0 {
            item.dfl = if item.var == "ups.delay.start" {
                "0"
            } else {
                "60"
            };
        }
        items.push(item);
    }
    items
}

/// mecer's table: the `QPI` protocol query, megatec's `Q1`, `F` and `I`, and commands
/// answered `(ACK\r` or `(NAK\r`.
pub(super) fn mecer_table() -> Vec<Item> {
    let mut items = vec![it(
        "ups.firmware.aux",
        false,
        InfoRw::None,
        "QPI\r",
        6,
        b'(',
        (1, 4),
        "%s",
        flag::STATIC,
        Pre::Family(F::P98Protocol),
    )];
    items.extend(Q1_ITEMS);
    items.extend(RATING_ITEMS);
    for mut item in COMMAND_ITEMS {
        if item.flags & flag::CMD != 0 {
            item.answer_len = 5;
            item.leading = b'(';
            item.from = 1;
            item.to = 3;
        }
        if item.var == "test.battery.start" {
            item.command = "T%s\r";
            item.pre = Pre::Family(F::MecerTest);
        }
        items.push(item);
    }
    items
}

/// bestups's settable number of battery packs.
const R_BATT_PACKS: &[Rw] = &[rw("0"), rw("5")];
/// bestups's settable pins shutdown mode (Best Power's EPS-0059).
const R_PINS_SHUTDOWN_MODE: &[Rw] = &[rw("0"), rw("6")];
/// bestups's delays.
const R_ONDELAY: &[Rw] = &[rw("60"), rw("599940")];
/// See [`R_ONDELAY`].
const R_OFFDELAY: &[Rw] = &[rw("12"), rw("5940")];

/// bestups's table: `Q1` without the beeper bit and with the bypass/boost/buck bit
/// last (it needs the status read before it), `ID` ratings and model, `RT` runtime,
/// `BP?` battery packs, `SS?` pins shutdown mode, `M` voltage settings, and megatec's
/// commands without `beeper.toggle`.
#[rustfmt::skip]
pub(super) fn bestups_table() -> Vec<Item> {
    use F::*;
    let family = Pre::Family;
    let mut items: Vec<Item> = Q1_ITEMS
        .iter()
        .filter(|i| i.pre == Pre::None || !matches!(i.from, 40 | 45))
        .copied()
        .collect();
    let mut bbb = bits("ups.status", 40, "", flag::QUICK_POLL);
    bbb.pre = family(BestupsBbb);
    items.push(bbb);
    for (var, cols, dfl, flags, pre) in [
        ("device.mfr", (0, 2), "%s", flag::STATIC, family(BestupsMfr)),
        ("device.model", (0, 2), "%s", flag::STATIC, family(BestupsModel)),
        ("ups.power.nominal", (4, 7), "%.0f", flag::STATIC, Pre::None),
        ("input.voltage.nominal", (9, 11), "%.0f", flag::STATIC, Pre::None),
        ("output.voltage.nominal", (13, 15), "%.0f", flag::STATIC, Pre::None),
        ("battery.voltage.low", (17, 20), "%.1f", flag::SEMI_STATIC, Pre::None),
        ("battery.voltage.high", (22, 26), "%.1f", flag::SEMI_STATIC, Pre::None),
    ] {
        let mut item = it(var, false, InfoRw::None, "ID\r", 28, 0, cols, dfl, flags, pre);
        item.answer = Answer::BestupsId;
        items.push(item);
    }
    let packs = InfoRw::List(R_BATT_PACKS);
    let pins = InfoRw::List(R_PINS_SHUTDOWN_MODE);
    items.extend([
        it("battery.runtime", false, InfoRw::None, "RT\r", 4, 0, (0, 2), "%.0f", flag::SKIP, family(BestupsRuntime)),
        it("battery.packs", true, packs, "BP?\r", 3, 0, (0, 1), "%d", flag::SEMI_STATIC | flag::RANGE | flag::SKIP, family(BestupsPacks)),
        it("battery.packs", false, packs, "BP%.0f\r", 0, 0, (0, 0), "", flag::SETVAR | flag::RANGE | flag::SKIP, family(BestupsSetvar)),
        it("pins_shutdown_mode", true, pins, "SS?\r", 2, 0, (0, 0), "%.0f", flag::SEMI_STATIC | flag::RANGE | flag::NONUT, family(BestupsPins)),
        it("pins_shutdown_mode", false, pins, "SS%.0f\r", 0, 0, (0, 0), "", flag::SETVAR | flag::RANGE | flag::NONUT | flag::SKIP, family(BestupsSetvar)),
    ]);
    for var in [
        "input.transfer.low",
        "input.transfer.boost.low",
        "input.transfer.boost.high",
        "input.voltage.nominal",
        "output.voltage.nominal",
        "input.transfer.trim.low",
        "input.transfer.trim.high",
        "input.transfer.high",
    ] {
        items.push(it(var, false, InfoRw::None, "M\r", 2, 0, (0, 0), "%d", 0, family(BestupsVoltage)));
    }
    let command = |var: &str| COMMAND_ITEMS.iter().find(|i| i.var == var).copied();
    for var in [
        "shutdown.return",
        "shutdown.stayoff",
        "shutdown.stop",
        "load.on",
        "load.off",
        "test.battery.start",
        "test.battery.start.deep",
        "test.battery.start.quick",
        "test.battery.stop",
    ] {
        if let Some(mut item) = command(var) {
            if var == "shutdown.stayoff" {
                item.command = "S%s\r";
            }
            items.push(item);
        }
    }
    items.push(delay("ups.delay.start", R_ONDELAY, DEFAULT_ONDELAY));
    items.push(delay("ups.delay.shutdown", R_OFFDELAY, DEFAULT_OFFDELAY));
    items
}

/// `bestups_preprocess_id_answer`: `FOR,750,120,120,20.0,27.6\r` (25 to 27 bytes)
/// padded to fixed columns, `FOR, 750,120,120,20.0, 27.6\r` (28 bytes); `None` for any
/// other shape.
pub(super) fn bestups_id_answer(answer: &[u8]) -> Option<Vec<u8>> {
    if !(25..=27).contains(&answer.len()) {
        return None;
    }
    // A C string: the answer ends at the first NUL; strtok skips empty fields.
    let text = answer.split(|&b| b == 0).next().unwrap_or_default();
    let mut refined: Vec<u8> = Vec::new();
    let mut count = 0;
    for token in text.split(|&b| b == b',').filter(|t| !t.is_empty()) {
        count += 1;
        let width: usize = match count {
            1 => {
                refined.extend_from_slice(token);
                continue;
            }
            2 => 4,
            6 => 6,
            _ => 0,
        };
        refined.push(b',');
        refined.extend(std::iter::repeat_n(b' ', width.saturating_sub(token.len())));
        refined.extend_from_slice(token);
    }
    (count == 6 && refined.len() == 28).then_some(refined)
}

/// `strspn(value, set) == strlen(value)`.
fn only(value: &str, set: &str) -> bool {
    value.chars().all(|c| set.contains(c))
}

/// `bestups_voltage_settings`' table: low (input.transfer.low and .boost.low), boost
/// (.boost.high), nominal, buck (.trim.low) and high (.high and .trim.high) voltages
/// for each `M` index, U models then E models.
const VOLTAGE_SETTINGS: [[i64; 5]; 20] = [
    [96, 109, 120, 130, 146],
    [96, 109, 120, 138, 156],
    [90, 104, 120, 130, 146],
    [90, 104, 120, 138, 156],
    [90, 104, 110, 120, 130],
    [90, 104, 110, 130, 146],
    [90, 96, 110, 120, 130],
    [90, 96, 110, 130, 146],
    [96, 109, 128, 146, 156],
    [90, 104, 128, 146, 156],
    [200, 222, 240, 250, 284],
    [200, 222, 240, 264, 290],
    [188, 210, 240, 250, 284],
    [188, 210, 240, 264, 290],
    [188, 210, 230, 244, 270],
    [188, 210, 230, 250, 284],
    [180, 200, 230, 244, 270],
    [180, 200, 230, 250, 284],
    [165, 188, 208, 222, 244],
    [165, 188, 208, 244, 270],
];

impl Ctx<'_> {
    /// Clears SKIP on the first item named `var` with `flags` and without `noflags`;
    /// `false` when there is none (NUT's "Don't know what happened").
    pub(super) fn unskip(&mut self, var: &str, flags: u32, noflags: u32) -> bool {
        let Some(i) = self.find(var, flags, noflags) else {
            return false;
        };
        std::sync::Arc::make_mut(&mut self.drv.items)[i].flags &= !flag::SKIP;
        true
    }

    /// The preprocess functions of these protocols: the value to publish, or `None`
    /// (NUT's -1).
    pub(super) fn family_pre(&mut self, i: usize, pre: F, raw: &str) -> Option<String> {
        let item = self.drv.items[i];
        match pre {
            F::P98Protocol => {
                if !raw.eq_ignore_ascii_case("PI98") {
                    self.log(
                        Level::Err,
                        format!("Protocol [{raw}] is not supported by this driver"),
                    );
                    return None;
                }
                Some("Voltronic Power P98".to_string())
            }
            F::BestupsBbb => {
                // Not reliable during a battery test, a shutdown or on battery.
                let status = self.drv.ups_status;
                let mut bit = raw.to_string();
                if status & OL == 0 || status & (CAL | FSD) != 0 {
                    if bit.starts_with('1') {
                        bit.replace_range(..1, "0");
                    }
                } else if self.drv.best.inverted_bbb {
                    if bit.starts_with('1') {
                        bit.replace_range(..1, "0");
                    } else if bit.starts_with('0') {
                        bit.replace_range(..1, "1");
                    }
                }
                self.status_bits(&item, &bit).map(str::to_string)
            }
            F::BestupsMfr => Some(
                match raw {
                    "AX1" | "FOR" | "FTC" | "PR2" | "PRO" => "Best Power",
                    "325" | "520" | "620" => "Sola Australia",
                    _ => "Unknown",
                }
                .to_string(),
            ),
            F::BestupsModel => {
                let model = match raw {
                    "AX1" => "Axxium Rackmount".to_string(),
                    "FOR" => "Fortress".to_string(),
                    "FTC" => "Fortress Telecom".to_string(),
                    "PR2" | "PRO" => {
                        self.drv.best.inverted_bbb = true;
                        if raw == "PR2" {
                            "Patriot Pro II"
                        } else {
                            "Patriot Pro"
                        }
                        .to_string()
                    }
                    "320" | "325" | "520" | "525" | "620" => format!("Sola {raw}"),
                    _ => {
                        self.log(
                            Level::Info,
                            format!("Unknown model detected - please report this ID: '{raw}'"),
                        );
                        format!("Unknown ({raw})")
                    }
                };
                // No runtime on the Patriot Pro and Sola 320 series; battery packs only
                // on the Axxium and Sola 620 series.
                if raw != "PRO" && raw != "320" && !self.unskip("battery.runtime", 0, 0) {
                    return None;
                }
                if (raw == "AX1" || raw == "620") && !self.unskip("battery.packs", 0, flag::SETVAR)
                {
                    return None;
                }
                Some(model)
            }
            F::BestupsRuntime => {
                if !only(raw, "0123456789 .") {
                    return None;
                }
                Some(format_number(item.dfl, strtod(raw) * 60.0))
            }
            F::BestupsPacks => {
                if !only(raw, "0123456789 ") {
                    return None;
                }
                let packs = strtol(raw).to_string();
                self.unskip("battery.packs", flag::SETVAR, 0)
                    .then_some(packs)
            }
            F::BestupsPins => {
                if !only(raw, "0123456789") {
                    return None;
                }
                let mode = strtol(raw);
                if mode > i64::from(i32::MAX) {
                    return None;
                }
                self.drv.best.pins_shutdown_mode = mode;
                // Only when ups.conf asks for a value is the setting applied.
                if item.flags & flag::NONUT != 0 && self.drv.options.getval(item.var).is_none() {
                    return Some(mode.to_string());
                }
                self.unskip(item.var, flag::SETVAR, 0)
                    .then(|| mode.to_string())
            }
            F::BestupsVoltage => {
                if !only(raw, "0123456789") {
                    return None;
                }
                let index = strtol(raw);
                if !(0..=9).contains(&index) {
                    return None;
                }
                let nominal = self
                    .get("input.voltage.nominal")
                    .or_else(|| self.get("output.voltage.nominal"))?;
                // E models.
                let row = if strtol(&nominal) > 160 {
                    index + 10
                } else {
                    index
                };
                let [low, boost, nominal, buck, high] = VOLTAGE_SETTINGS[row as usize];
                let value = match item.var {
                    "input.transfer.low" | "input.transfer.boost.low" => low,
                    "input.transfer.boost.high" => boost,
                    "input.voltage.nominal" | "output.voltage.nominal" => nominal,
                    "input.transfer.trim.low" => buck,
                    "input.transfer.trim.high" | "input.transfer.high" => high,
                    _ => return None,
                };
                Some(value.to_string())
            }
            F::AblerexQ5 => {
                let a = &self.drv.raw_answer;
                let (fout, err, current) = (word(a, 1), word(a, 13), word(a, 15));
                self.drv.ablerex.q5_vb = word(a, 7);
                self.drv.ablerex.q5_vbc = word(a, 9);
                let frequency = format!("{:.1}", 0.1 * fout as f64);
                self.set("output.frequency", &frequency);
                // Replaced (or removed) with the alarms at the end of the update.
                self.set("ups.alarm", &err.to_string());
                self.set("output.current", &format!("{:.1}", 0.1 * current as f64));
                Some(frequency)
            }
            F::AblerexBattery => {
                let volts = strtod(raw);
                let Some(nominal) = self.get("battery.voltage.nominal") else {
                    return Some(format!("{volts:.2}"));
                };
                let nominal = strtod(&nominal);
                let actual = if self.drv.ablerex.q5_vb > 0 {
                    self.drv.ablerex.q5_vb as f64 * nominal / 1200.0
                } else if volts > 3.0 {
                    volts
                } else {
                    volts * 6.0 * nominal / 12.0
                };
                Some(format!("{actual:.2}"))
            }
            F::AblerexCharge => {
                let mut volts = strtod(raw);
                let Some(nominal) = self.get("battery.voltage.nominal") else {
                    return Some("100".to_string());
                };
                if volts > 3.0 {
                    volts /= strtod(&nominal) / 12.0;
                }
                Some(ablerex_charge(volts).to_string())
            }
            F::AblerexInitBattery => {
                let nominal = strtod(&self.get("battery.voltage.nominal")?);
                let vbc = self.drv.ablerex.q5_vbc;
                let low = (if vbc > 0 { vbc as f64 } else { 960.0 }) * nominal / 1200.0;
                let high = 1365.0 * nominal / 1200.0;
                match item.from {
                    1 => Some(format!("{low:.2}")),
                    2 => Some(format!("{high:.2}")),
                    _ => None,
                }
            }
            F::AblerexAt => {
                // NUT's int arithmetic: the top byte wraps into the sign.
                let a = &self.drv.raw_answer;
                let byte = |i: usize| u32::from(a.get(i).copied().unwrap_or(0));
                let runtime = (byte(1) << 24 | byte(2) << 16 | byte(3) << 8 | byte(4)) as i32;
                Some(runtime.to_string())
            }
            F::AblerexTr => {
                // Four characters, as a C string.
                let a = &self.drv.raw_answer;
                let text: Vec<u8> = a
                    .iter()
                    .skip(1)
                    .take(4)
                    .take_while(|b| **b != 0)
                    .copied()
                    .collect();
                Some(String::from_utf8_lossy(&text).into_owned())
            }
            F::AblerexStatus => {
                let bits = raw.as_bytes();
                match item.from {
                    40 => {
                        if bits.first() == Some(&b'1') {
                            // A standby unit (bit 42): the output against the input,
                            // as blazer's bit reads it (refused without either).
                            let word = if bits.get(2) == Some(&b'1') {
                                self.voltage_mode()?.word()
                            } else {
                                "BYPASS"
                            };
                            self.drv.status_words.push(word);
                        }
                    }
                    41 => {
                        if bits.first() == Some(&b'1') {
                            self.drv.status_words.push("RB");
                        }
                        if strtod(&self.get("output.voltage")?) < 50.0 {
                            self.drv.status_words.push("OFF");
                        }
                    }
                    _ => return None,
                }
                Some(String::new())
            }
            F::MecerTest | F::BestupsSetvar => None,
        }
    }

    /// `mecer_process_test_battery`: the `T` command for a test of `value` seconds.
    pub(super) fn mecer_test(&mut self, item: &Item, value: &str) -> Option<String> {
        let p98 = self
            .get("ups.firmware.aux")
            .is_some_and(|p| p.eq_ignore_ascii_case("Voltronic Power P98"));
        let min = if p98 { 12 } else { 60 };
        if !only(value, "0123456789") {
            self.log(
                Level::Err,
                format!("{}: non numerical value [{value}]", item.var),
            );
            return None;
        }
        let test_time = if value.is_empty() { 600 } else { strtol(value) };
        if test_time < min || test_time > 5940 {
            self.log(
                Level::Err,
                format!(
                    "{}: battery test time '{test_time}' out of range [{min}..5940] seconds",
                    item.var
                ),
            );
            return None;
        }
        let time = if test_time < 60 {
            format!(".{}", test_time / 6)
        } else {
            format!("{:02}", test_time / 60)
        };
        Some(item.command.replace("%s", &time))
    }

    /// `bestups_process_setvar`: the command setting `value`.
    pub(super) fn bestups_setvar(&mut self, item: &Item, value: &str) -> Option<String> {
        if value.is_empty() {
            return None;
        }
        let wanted = strtod(value);
        // NUT's d_equal: within DBL_EPSILON.
        if item.var.eq_ignore_ascii_case("pins_shutdown_mode")
            && (wanted - self.drv.best.pins_shutdown_mode as f64).abs() <= f64::EPSILON
        {
            self.log(
                Level::Info,
                format!("{} is already set to {wanted:.0}", item.var),
            );
            return None;
        }
        Some(item.command.replace("%.0f", &format!("{wanted:.0}")))
    }

    /// mecer's claim (`mecer_claim`): the status, then the protocol: a P98 unit, or any
    /// unit refusing `QPI` with `(NAK\r` (the protocol query is then skipped).
    pub(super) fn mecer_claim(&mut self) -> Step<bool> {
        let Some(i) = self.find("input.voltage", 0, 0) else {
            return Ok(false);
        };
        let (ok, _, value) = self.qx_process(i, None)?;
        if !ok || self.infoval_set(i, &value) != 1 {
            return Ok(false);
        }
        let Some(i) = self.find("ups.firmware.aux", 0, 0) else {
            self.delete("input.voltage");
            return Ok(false);
        };
        let (ok, answer, value) = self.qx_process(i, None)?;
        if !ok {
            if answer.is_empty() || !answer.eq_ignore_ascii_case(b"(NAK\r") {
                self.delete("input.voltage");
                return Ok(false);
            }
            std::sync::Arc::make_mut(&mut self.drv.items)[i].flags |= flag::SKIP;
        } else if self.infoval_set(i, &value) != 1 {
            self.delete("input.voltage");
            return Ok(false);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dummy::DriverState;

    /// Starts nutdrv_qx with `protocol` (autodetection when `None`) against `table`
    /// (unknown queries echoed, as Megatec units do); the state and the queries sent.
    fn start(table: &[(&str, &str)], protocol: Option<&str>) -> (DriverState, Vec<String>) {
        let opts: Vec<(String, Option<String>)> = protocol
            .map(|p| ("protocol".to_string(), Some(p.to_string())))
            .into_iter()
            .collect();
        let mut drv = QxDriver::new(QxOptions::from_options(&opts).unwrap());
        let mut state = DriverState::new();
        let mut sent = Vec::new();
        let mut replies = Vec::new();
        loop {
            match drv.run(&mut state, &Job::Start, 0, &replies) {
                Progress::Send(bytes) => {
                    let query = String::from_utf8(bytes).unwrap();
                    let answer = table
                        .iter()
                        .find(|(q, _)| *q == query)
                        .map_or(query.clone(), |(_, a)| a.to_string());
                    replies.push(Reply::Bytes(answer.into_bytes()));
                    sent.push(query);
                }
                Progress::Done { outcome, .. } => {
                    assert_eq!(outcome, Outcome::Started, "{sent:?}");
                    return (state, sent);
                }
            }
        }
    }

    const Q1: (&str, &str) = ("Q1\r", "(215.0 195.0 230.0 014 49.0 22.7 30.0 00000000\r");

    #[test]
    fn an_unknown_bestups_model_is_named_with_its_id() {
        // NUT 2.8.0 publishes "Unknown (%s)": its format has no room for the ID.
        let (state, _) = start(&[Q1, ("ID\r", "XYZ,750,120,120,20.0,27.6\r")], None);
        let tree = state.tree();
        assert_eq!(tree.value("driver.version.data"), Some("BestUPS 0.06"));
        assert_eq!(tree.value("device.model"), Some("Unknown (XYZ)"));
        assert_eq!(tree.value("device.mfr"), Some("Unknown"));
    }

    #[test]
    fn mecer_claims_p98_units_and_units_refusing_qpi() {
        let f = ("F\r", "#230.0 000 024.0 50.0\r");
        let i = ("I\r", "#NOT_A_LIVE_UPS  TESTING    TESTING   \r");
        let (state, _) = start(&[Q1, f, i, ("QPI\r", "(PI98\r")], None);
        assert_eq!(
            state.tree().value("driver.version.data"),
            Some("Mecer 0.07")
        );
        assert_eq!(
            state.tree().value("ups.firmware.aux"),
            Some("Voltronic Power P98")
        );
        // Refused: mecer's, and the protocol query is not asked again.
        let (state, sent) = start(&[Q1, f, i, ("QPI\r", "(NAK\r")], None);
        assert_eq!(
            state.tree().value("driver.version.data"),
            Some("Mecer 0.07")
        );
        assert_eq!(state.tree().value("ups.firmware.aux"), None);
        assert_eq!(sent.iter().filter(|q| *q == "QPI\r").count(), 1, "{sent:?}");
        // Another protocol, or the query echoed: megatec's.
        for qpi in ["(PI30\r", "QPI\r"] {
            let (state, _) = start(&[Q1, f, i, ("QPI\r", qpi)], None);
            assert_eq!(
                state.tree().value("driver.version.data"),
                Some("Megatec 0.06"),
                "{qpi:?}"
            );
        }
    }

    #[test]
    fn zinto_reads_its_vendor_from_fw_and_hunnox_polls_every_value() {
        let fw = ("FW?\r", "#NOT_A_LIVE_UPS  TESTING    TESTING   \r");
        let (state, sent) = start(&[Q1, fw], None);
        assert_eq!(
            state.tree().value("driver.version.data"),
            Some("Zinto 0.06")
        );
        assert_eq!(state.tree().value("device.mfr"), Some("NOT_A_LIVE_UPS"));
        assert!(
            sent.contains(&"I\r".to_string()),
            "megatec tried first: {sent:?}"
        );
        let (state, _) = start(&[Q1, fw], Some("hunnox"));
        assert_eq!(
            state.tree().value("driver.version.data"),
            Some("Hunnox 0.01")
        );
        assert_eq!(state.tree().value("ups.delay.shutdown"), Some("60"));
        assert_eq!(state.tree().value("ups.delay.start"), Some("0"));
        assert!(family_table_is_quick(true));
        assert!(!family_table_is_quick(false));
    }

    /// Whether zinto's (or hunnox's) `Q1` values (not the status bits, quick in both)
    /// are all read in quick updates.
    fn family_table_is_quick(hunnox: bool) -> bool {
        zinto_table(hunnox)
            .iter()
            .filter(|i| i.command == "Q1\r" && i.pre == Pre::None)
            .all(|i| i.flags & flag::QUICK_POLL != 0)
    }

    #[test]
    fn id_answers_are_padded_to_fixed_columns() {
        for (raw, refined) in [
            (
                "FOR,750,120,120,20.0,27.6\r",
                "FOR, 750,120,120,20.0, 27.6\r",
            ),
            (
                "FOR,1500,120,120,20.0,27.6\r",
                "FOR,1500,120,120,20.0, 27.6\r",
            ),
            (
                "PR2,400,120,120,10.8,13.6\r",
                "PR2, 400,120,120,10.8, 13.6\r",
            ),
            // strtok skips an empty field.
            (
                "FOR,750,120,,120,20.0,27.6\r",
                "FOR, 750,120,120,20.0, 27.6\r",
            ),
        ] {
            let got = bestups_id_answer(raw.as_bytes()).map(|r| String::from_utf8(r).unwrap());
            assert_eq!(got.as_deref(), Some(refined), "{raw:?}");
        }
        for raw in [
            // Too short, too long (NUT's length check refuses 28 bytes too).
            "FOR,750,120,120,20.0\r",
            "FOR,3000,120,120,20.0,100.6\r",
            // Five fields; a field too wide for the columns.
            "FOR,75000,12000,1200,20.00\r",
            "FOR,75000,120,120,20.0,2.6\r",
        ] {
            assert_eq!(bestups_id_answer(raw.as_bytes()), None, "{raw:?}");
        }
    }
}
