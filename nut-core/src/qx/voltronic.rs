//! nutdrv_qx's `voltronic` protocol (NUT 2.8.0 `drivers/nutdrv_qx_voltronic.c`,
//! "Voltronic 0.06"): the `Q*` queries of Voltronic Power units and the many brands
//! built on them (FSP, PowerWalker, Digitus, Mecer, INELT...).
//!
//! The unit answers `(...\r` lines: `QGS` status, `QPI` protocol (`PI01`), `QRI`/`QMD`
//! ratings, `QBV` battery, `QMOD` working mode, `QWS` warnings, `QFLAG` capabilities
//! (`(E<enabled letters>D<disabled letters>`), and settings acknowledged `(ACK\r` or
//! refused `(NAK\r`. NUT's table and its preprocess functions are kept item for item, so
//! the variables, their order of discovery, their flags, enumerations and ranges match
//! NUT's; [`voltronic_text`](super::voltronic_text) holds the fault and warning texts and
//! the settable-value checks.
//!
//! ## Differences from NUT, on purpose
//! - NUT's `UPS Fault` status bit (`QGS` column 68) is compared with the number 1
//!   instead of the character `'1'`, so NUT never reports it nor asks `QFS` for the
//!   fault: here the bit raises `UPS Fault!` and the fault is read, as the code intends.
//! - NUT splits a `QFLAG` reply with `strtok`, which skips a leading `D`: a unit with no
//!   capability enabled (`(EDabc`) is read as having them all enabled. Here the letters
//!   after `D` are the disabled ones.
//! - NUT sends `output_phase_angle` as the index of the angle in its list (`PPD001` for
//!   120°); here the angle itself is sent (`PPD120`), as the protocol defines.

use super::voltronic_text as text;
use super::*;

/// NUT's `d_equal` (nut_float.h): equal within `DBL_EPSILON`.
fn d_equal(a: f64, b: f64) -> bool {
    (a - b).abs() <= f64::EPSILON
}

/// The voltronic preprocess functions (`voltronic_*` in nutdrv_qx_voltronic.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum V {
    Protocol,
    Fault,
    Warning,
    Mode,
    Status,
    PowerFactor,
    Serial,
    Outlet,
    OutletDelay,
    OutletDelaySet,
    Capability,
    CapabilitySet,
    CapabilitySetNonut,
    CapabilityReset,
    EcoVolt,
    EcoVoltRange,
    EcoFreq,
    Bypass,
    BattNumb,
    BattRuntime,
    P31b,
    P31bSet,
    P31g,
    P31gSet,
    Phase,
    PhaseSet,
    Parallel,
    ProcessSetvar,
    ProcessCommand,
}

/// The capability options without a NUT variable, in `QFLAG` order: name and letter.
const CAPS_NONUT: [(&str, char); 12] = [
    ("bypass_alarm", 'p'),
    ("battery_alarm", 'b'),
    ("bypass_when_off", 'o'),
    ("alarm_control", 'a'),
    ("converter_mode", 'v'),
    ("eco_mode", 'e'),
    ("battery_open_status_check", 'd'),
    ("bypass_forbidding", 'f'),
    ("site_fault_detection", 'l'),
    ("advanced_eco_mode", 'n'),
    ("constant_phase_angle", 'q'),
    ("limited_runtime_on_battery", 'w'),
];

/// The capability options with a NUT variable: name, letter and setting command.
const CAPS_NUT: [(&str, char, &str); 5] = [
    ("ups.start.auto", 'r', "P%sR\r"),
    ("battery.protection", 's', "P%sS\r"),
    ("battery.energysave", 'g', "P%sG\r"),
    ("ups.start.battery", 'c', "P%sC\r"),
    ("outlet.0.switchable", 'j', "P%sJ\r"),
];

/// Setting commands of [`CAPS_NONUT`], same order.
const CAPS_NONUT_SET: [&str; 12] = [
    "P%sP\r", "P%sB\r", "P%sO\r", "P%sA\r", "P%sV\r", "P%sE\r", "P%sD\r", "P%sF\r", "P%sL\r",
    "P%sN\r", "P%sQ\r", "P%sW\r",
];

/// What the driver keeps between reads (NUT's file-scope variables).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct VoltState {
    /// [`CAPS_NONUT`]'s values as last read (`enabled`/`disabled`), same order.
    caps: [Option<&'static str>; 12],
    max_bypass_volt: i64,
    min_bypass_volt: i64,
    max_bypass_freq: f64,
    min_bypass_freq: f64,
    battery_number: i64,
    output_phase_angle: i64,
    work_range_type: i64,
    /// `voltronic_r_eco_volt_max`, filled when `QHE` is read.
    eco_max: [String; 2],
    /// `voltronic_r_eco_volt_min`.
    eco_min: [String; 2],
}

impl VoltState {
    /// The ECO mode voltage limits (high: `input.transfer.high`'s).
    pub(super) fn eco_range(&self, high: bool) -> &[String; 2] {
        if high {
            &self.eco_max
        } else {
            &self.eco_min
        }
    }

    fn cap(&self, name: &str) -> Option<&'static str> {
        CAPS_NONUT
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|i| self.caps[i])
    }

    fn alarm_control(&self) -> Option<&'static str> {
        self.cap("alarm_control")
    }
}

/// A query item without settable values.
#[allow(clippy::too_many_arguments)]
const fn q(
    var: &'static str,
    command: &'static str,
    answer_len: usize,
    leading: u8,
    cols: (usize, usize),
    dfl: &'static str,
    flags: u32,
    pre: Pre,
) -> Item {
    it(
        var,
        false,
        InfoRw::None,
        command,
        answer_len,
        leading,
        cols,
        dfl,
        flags,
        pre,
    )
}

/// A command or setting answered `(ACK\r` / `(NAK\r`.
const fn ack(
    var: &'static str,
    info_rw: InfoRw,
    command: &'static str,
    flags: u32,
    pre: Pre,
) -> Item {
    it(
        var,
        false,
        info_rw,
        command,
        5,
        b'(',
        (1, 3),
        "",
        flags,
        pre,
    )
}

const fn pv(v: V) -> Pre {
    Pre::Volt(v)
}

/// `voltronic_qx2nut`, in NUT's order (one item per line, as NUT's table).
#[rustfmt::skip]
pub(super) fn table() -> Vec<Item> {
    use flag::*;
    const P: u8 = b'(';
    const H: u8 = b'#';
    let n = Pre::None;
    let mut t = vec![
        q("ups.firmware.aux", "QPI\r", 6, P, (1, 4), "%s", STATIC, pv(V::Protocol)),
        q("output.voltage.nominal", "QRI\r", 22, P, (1, 5), "%.1f", STATIC, n),
        q("output.current.nominal", "QRI\r", 22, P, (7, 9), "%.0f", STATIC, n),
        q("battery.voltage.nominal", "QRI\r", 22, P, (11, 15), "%.1f", SEMI_STATIC, n),
        q("output.frequency.nominal", "QRI\r", 22, P, (17, 20), "%.1f", STATIC, n),
        q("device.model", "QMD\r", 48, P, (1, 15), "%s", STATIC | TRIM, n),
        q("ups.power.nominal", "QMD\r", 48, P, (17, 23), "%s", STATIC | TRIM, n),
        q("output.powerfactor", "QMD\r", 48, P, (25, 26), "%.1f", STATIC, pv(V::PowerFactor)),
        q("input.phases", "QMD\r", 48, P, (28, 28), "%.0f", STATIC, n),
        q("output.phases", "QMD\r", 48, P, (30, 30), "%.0f", STATIC, n),
        q("input.voltage.nominal", "QMD\r", 48, P, (32, 34), "%.1f", STATIC, n),
        q("output.voltage.nominal", "QMD\r", 48, P, (36, 38), "%.1f", STATIC, n),
        q("input.voltage.nominal", "F\r", 22, H, (1, 5), "%.1f", STATIC, n),
        q("input.current.nominal", "F\r", 22, H, (7, 9), "%.1f", STATIC, n),
        q("battery.voltage.nominal", "F\r", 22, H, (11, 15), "%.1f", STATIC, n),
        q("input.frequency.nominal", "F\r", 22, H, (17, 20), "%.1f", STATIC, n),
        q("device.mfr", "QMF\r", 2, P, (1, 0), "%s", STATIC | TRIM, n),
        q("ups.firmware", "QVFW\r", 16, P, (7, 14), "%s", STATIC, n),
        q("device.serial", "QID\r", 2, P, (1, 0), "%s", STATIC, pv(V::Serial)),
        q("device.mfr", "I\r", 39, H, (1, 15), "%s", STATIC | TRIM, n),
        q("device.model", "I\r", 39, H, (17, 26), "%s", STATIC | TRIM, n),
        q("ups.firmware", "I\r", 39, H, (28, 37), "%s", STATIC | TRIM, n),
        q("input.voltage", "QGS\r", 76, P, (1, 5), "%.1f", 0, n),
        q("input.frequency", "QGS\r", 76, P, (7, 10), "%.1f", 0, n),
        q("output.voltage", "QGS\r", 76, P, (12, 16), "%.1f", 0, n),
        q("output.frequency", "QGS\r", 76, P, (18, 21), "%.1f", 0, n),
        q("output.current", "QGS\r", 76, P, (23, 27), "%.1f", 0, n),
        q("ups.load", "QGS\r", 76, P, (29, 31), "%.0f", 0, n),
        q("battery.voltage", "QGS\r", 76, P, (45, 49), "%.2f", 0, n),
        q("ups.temperature", "QGS\r", 76, P, (57, 61), "%.1f", 0, n),
    ];
    let s = pv(V::Status);
    for (var, col, flags) in [
        ("ups.type", (63, 64), SEMI_STATIC),
        ("ups.status", (65, 65), QUICK_POLL),
        ("ups.status", (66, 66), QUICK_POLL),
        ("ups.status", (67, 67), QUICK_POLL),
        ("ups.alarm", (67, 67), 0),
        ("ups.alarm", (68, 68), 0),
        ("ups.status", (70, 70), QUICK_POLL),
        ("ups.status", (71, 71), QUICK_POLL),
        ("ups.beeper.status", (72, 72), 0),
    ] {
        t.push(q(var, "QGS\r", 76, P, col, "%s", flags, s));
    }
    t.extend([
        q("ups.alarm", "QMOD\r", 3, P, (1, 1), "%s", 0, pv(V::Mode)),
        q("ups.status", "QMOD\r", 3, P, (1, 1), "%s", 0, pv(V::Mode)),
        q("ups.alarm", "QFS\r", 4, P, (1, 2), "%s", SKIP, pv(V::Fault)),
        q("ups.alarm", "QWS\r", 66, P, (1, 64), "%s", 0, pv(V::Warning)),
        q("battery.voltage", "QBV\r", 21, P, (1, 5), "%.2f", 0, n),
        it("battery_number", true, InfoRw::List(text::R_BATT_NUMB), "QBV\r", 21, P, (7, 9), "%d", SEMI_STATIC | RANGE | NONUT, pv(V::BattNumb)),
        it("battery.packs", true, InfoRw::List(text::R_BATT_PACKS), "QBV\r", 21, P, (10, 11), "%.0f", SEMI_STATIC | RANGE, n),
        q("battery.charge", "QBV\r", 21, P, (13, 15), "%.0f", 0, n),
        q("battery.runtime", "QBV\r", 21, P, (17, 19), "%.0f", 0, pv(V::BattRuntime)),
        q("output.power.minimum.percent", "QLDL\r", 9, P, (1, 3), "%.0f", 0, n),
        q("output.power.maximum.percent", "QLDL\r", 9, P, (5, 7), "%.0f", 0, n),
    ]);
    // Multi-phase units (unskipped by protocol in `massive_unskip`); Q3YV's 19-byte
    // answer is P09's.
    t.extend([
        q("input.L1-N.voltage", "Q3PV\r", 37, P, (1, 5), "%.1f", SKIP, n),
        q("input.L2-N.voltage", "Q3PV\r", 37, P, (7, 11), "%.1f", SKIP, n),
        q("input.L3-N.voltage", "Q3PV\r", 37, P, (13, 17), "%.1f", SKIP, n),
        q("input.L1-L2.voltage", "Q3PV\r", 37, P, (19, 23), "%.1f", SKIP, n),
        q("input.L2-L3.voltage", "Q3PV\r", 37, P, (25, 29), "%.1f", SKIP, n),
        q("input.L1-L3.voltage", "Q3PV\r", 37, P, (31, 35), "%.1f", SKIP, n),
        q("input.L1.current", "Q3PC\r", 13, P, (1, 3), "%.0f", SKIP, n),
        q("input.L2.current", "Q3PC\r", 13, P, (5, 7), "%.0f", SKIP, n),
        q("input.L3.current", "Q3PC\r", 13, P, (9, 11), "%.0f", SKIP, n),
        q("output.L1-N.voltage", "Q3OV\r", 37, P, (1, 5), "%.1f", SKIP, n),
        q("output.L2-N.voltage", "Q3OV\r", 37, P, (7, 11), "%.1f", SKIP, n),
        q("output.L3-N.voltage", "Q3OV\r", 37, P, (13, 17), "%.1f", SKIP, n),
        q("output.L1-L2.voltage", "Q3OV\r", 37, P, (19, 23), "%.1f", SKIP, n),
        q("output.L2-L3.voltage", "Q3OV\r", 37, P, (25, 29), "%.1f", SKIP, n),
        q("output.L1-L3.voltage", "Q3OV\r", 37, P, (31, 35), "%.1f", SKIP, n),
        q("output.L1.current", "Q3OC\r", 13, P, (1, 3), "%.0f", SKIP, n),
        q("output.L2.current", "Q3OC\r", 13, P, (5, 7), "%.0f", SKIP, n),
        q("output.L3.current", "Q3OC\r", 13, P, (9, 11), "%.0f", SKIP, n),
        q("output.L1.power.percent", "Q3LD\r", 13, P, (1, 3), "%.0f", SKIP, n),
        q("output.L2.power.percent", "Q3LD\r", 13, P, (5, 7), "%.0f", SKIP, n),
        q("output.L3.power.percent", "Q3LD\r", 13, P, (9, 11), "%.0f", SKIP, n),
        q("output.bypass.L1-N.voltage", "Q3YV\r", 37, P, (1, 5), "%.1f", SKIP, n),
        q("output.bypass.L2-N.voltage", "Q3YV\r", 37, P, (7, 11), "%.1f", SKIP, n),
        q("output.bypass.L3-N.voltage", "Q3YV\r", 37, P, (13, 17), "%.1f", SKIP, n),
        q("output.bypass.L1-N.voltage", "Q3YV\r", 19, P, (1, 5), "%.1f", SKIP, n),
        q("output.bypass.L2-N.voltage", "Q3YV\r", 19, P, (7, 11), "%.1f", SKIP, n),
        q("output.bypass.L1-L2.voltage", "Q3YV\r", 37, P, (19, 23), "%.1f", SKIP, n),
        q("output.bypass.L2-L3.voltage", "Q3YV\r", 37, P, (25, 29), "%.1f", SKIP, n),
        q("output.bypass.L1-L3.voltage", "Q3YV\r", 37, P, (31, 35), "%.1f", SKIP, n),
    ]);
    // Capabilities.
    let cap = pv(V::Capability);
    for (var, _, _) in CAPS_NUT {
        t.push(it(var, true, InfoRw::List(text::E_CAP), "QFLAG\r", 4, P, (1, 0), "%s", SEMI_STATIC | ENUM, cap));
    }
    for (var, _) in CAPS_NONUT {
        t.push(q(var, "QFLAG\r", 4, P, (1, 0), "%s", SEMI_STATIC | NONUT, cap));
    }
    for (var, _, command) in CAPS_NUT {
        let flags = SETVAR | ENUM | SKIP;
        t.push(ack(var, InfoRw::List(text::E_CAP), command, flags, pv(V::CapabilitySet)));
    }
    t.push(ack("reset_to_default", InfoRw::None, "PF\r", SETVAR | NONUT | SKIP, pv(V::CapabilityReset)));
    for ((var, _), command) in CAPS_NONUT.into_iter().zip(CAPS_NONUT_SET) {
        let flags = SETVAR | ENUM | NONUT | SKIP;
        let rw = InfoRw::List(text::E_CAP_NONUT);
        t.push(ack(var, rw, command, flags, pv(V::CapabilitySetNonut)));
    }
    // Programmable outlets.
    for (n_, command) in [(1, "QSK1\r"), (2, "QSK2\r"), (3, "QSK3\r"), (4, "QSK4\r")] {
        for var in outlet_vars(n_) {
            t.push(q(var, command, 3, P, (1, 1), "%s", SEMI_STATIC | SKIP, pv(V::Outlet)));
        }
    }
    for (var, command) in [
        ("outlet.1.delay.shutdown", "QSKT1\r"),
        ("outlet.2.delay.shutdown", "QSKT2\r"),
        ("outlet.3.delay.shutdown", "QSKT3\r"),
        ("outlet.4.delay.shutdown", "QSKT4\r"),
    ] {
        t.push(it(var, true, InfoRw::List(text::R_OUTLET_DELAY), command, 5, P, (1, 3), "%.0f", SEMI_STATIC | RANGE | SKIP, pv(V::OutletDelay)));
    }
    for (var, command) in [
        ("outlet.1.delay.shutdown", "PSK1%03d\r"),
        ("outlet.2.delay.shutdown", "PSK2%03d\r"),
        ("outlet.3.delay.shutdown", "PSK3%03d\r"),
        ("outlet.4.delay.shutdown", "PSK4%03d\r"),
    ] {
        let rw = InfoRw::List(text::R_OUTLET_DELAY);
        t.push(ack(var, rw, command, SETVAR | RANGE | SKIP, pv(V::OutletDelaySet)));
    }
    // ECO mode limits.
    let semi_range = SEMI_STATIC | RANGE | SKIP;
    let eco = pv(V::EcoVolt);
    let eco_range = pv(V::EcoVoltRange);
    let set = pv(V::ProcessSetvar);
    t.extend([
        it("input.transfer.high", true, InfoRw::EcoVolt(true), "QHE\r", 9, P, (1, 3), "%.0f", semi_range, eco),
        it("input.transfer.low", true, InfoRw::EcoVolt(false), "QHE\r", 9, P, (5, 7), "%.0f", semi_range, eco),
        q("input.transfer.low.min", "QHE\r", 9, P, (5, 7), "%.0f", SEMI_STATIC | SKIP, eco_range),
        q("input.transfer.low.max", "QHE\r", 9, P, (5, 7), "%.0f", SEMI_STATIC | SKIP, eco_range),
        q("input.transfer.high.min", "QHE\r", 9, P, (1, 3), "%.0f", SEMI_STATIC | SKIP, eco_range),
        q("input.transfer.high.max", "QHE\r", 9, P, (1, 3), "%.0f", SEMI_STATIC | SKIP, eco_range),
        ack("input.transfer.high", InfoRw::EcoVolt(true), "HEH%03.0f\r", SETVAR | RANGE | SKIP, set),
        ack("input.transfer.low", InfoRw::EcoVolt(false), "HEL%03.0f\r", SETVAR | RANGE | SKIP, set),
        it("input.frequency.high", true, InfoRw::List(text::R_ECO_FREQ_MAX), "QFRE\r", 11, P, (1, 4), "%.1f", semi_range, pv(V::EcoFreq)),
        it("input.frequency.low", true, InfoRw::List(text::R_ECO_FREQ_MIN), "QFRE\r", 11, P, (6, 9), "%.1f", semi_range, pv(V::EcoFreq)),
        ack("input.frequency.high", InfoRw::List(text::R_ECO_FREQ_MAX), "FREH%04.1f\r", SETVAR | RANGE | SKIP, set),
        ack("input.frequency.low", InfoRw::List(text::R_ECO_FREQ_MIN), "FREL%04.1f\r", SETVAR | RANGE | SKIP, set),
    ]);
    // Bypass limits (no NUT variables).
    let nonut_range = SEMI_STATIC | RANGE | NONUT | SKIP;
    let set_nonut = SETVAR | RANGE | NONUT | SKIP;
    let by = pv(V::Bypass);
    t.extend([
        it("max_bypass_volt", true, InfoRw::List(text::R_BYPASS_VOLT_MAX), "QBYV\r", 9, P, (1, 3), "%.0f", nonut_range, by),
        it("min_bypass_volt", true, InfoRw::List(text::R_BYPASS_VOLT_MIN), "QBYV\r", 9, P, (5, 7), "%.0f", nonut_range, by),
        ack("max_bypass_volt", InfoRw::List(text::R_BYPASS_VOLT_MAX), "PHV%03.0f\r", set_nonut, set),
        ack("min_bypass_volt", InfoRw::List(text::R_BYPASS_VOLT_MIN), "PLV%03.0f\r", set_nonut, set),
        it("max_bypass_freq", true, InfoRw::List(text::R_BYPASS_FREQ_MAX), "QBYF\r", 11, P, (1, 4), "%.1f", nonut_range, by),
        it("min_bypass_freq", true, InfoRw::List(text::R_BYPASS_FREQ_MIN), "QBYF\r", 11, P, (6, 9), "%.1f", nonut_range, by),
        ack("max_bypass_freq", InfoRw::List(text::R_BYPASS_FREQ_MAX), "PGF%04.1f\r", set_nonut, set),
        ack("min_bypass_freq", InfoRw::List(text::R_BYPASS_FREQ_MIN), "PSF%04.1f\r", set_nonut, set),
        ack("battery_number", InfoRw::List(text::R_BATT_NUMB), "BATN%1.0f\r", SETVAR | RANGE | NONUT, set),
        ack("battery.packs", InfoRw::List(text::R_BATT_PACKS), "BATGN%02.0f\r", SETVAR | RANGE, set),
        it("battery.type", true, InfoRw::List(text::E_BATT_TYPE), "QBT\r", 4, P, (1, 2), "%s", SEMI_STATIC | ENUM | SKIP, pv(V::P31b)),
        ack("battery.type", InfoRw::List(text::E_BATT_TYPE), "PBT%02.0f\r", SETVAR | ENUM | SKIP, pv(V::P31bSet)),
        it("work_range_type", true, InfoRw::List(text::E_WORK_RANGE), "QGR\r", 4, P, (1, 2), "%s", SEMI_STATIC | ENUM | NONUT | SKIP, pv(V::P31g)),
        ack("work_range_type", InfoRw::List(text::E_WORK_RANGE), "PGR%02.0f\r", SETVAR | ENUM | NONUT | SKIP, pv(V::P31gSet)),
        it("battery.voltage.low", true, InfoRw::List(text::R_BATT_LOW), "RE0\r", 3, H, (1, 2), "%.1f", SEMI_STATIC | RANGE, n),
        ack("battery.voltage.low", InfoRw::List(text::R_BATT_LOW), "W0E%02.0f\r", SETVAR | RANGE, set),
        q("input_phase_angle", "QPD\r", 9, P, (1, 3), "%03d", SEMI_STATIC | NONUT, pv(V::Phase)),
        it("output_phase_angle", true, InfoRw::List(text::E_PHASE), "QPD\r", 9, P, (5, 7), "%03d", SEMI_STATIC | ENUM | NONUT, pv(V::Phase)),
        ack("output_phase_angle", InfoRw::List(text::E_PHASE), "PPD%03.0f\r", SETVAR | ENUM | NONUT | SKIP, pv(V::PhaseSet)),
        q("voltronic_parallel", "QPAR\r", 5, P, (1, 3), "%s", STATIC | NONUT, pv(V::Parallel)),
        q("unknown.7", "QBDR\r", 5, P, (1, 0), "%s", STATIC | NONUT | SKIP, n),
    ]);
    // Instant commands.
    let cmd = pv(V::ProcessCommand);
    for (var, command, flags, pre) in [
        ("load.off", "SOFF\r", CMD, n),
        ("load.on", "SON\r", CMD, n),
        ("shutdown.return", "S%s\r", CMD, cmd),
        ("shutdown.stayoff", "S%sR0000\r", CMD, cmd),
        ("shutdown.stop", "CS\r", CMD, n),
        ("test.battery.start", "T%s\r", CMD, cmd),
        ("test.battery.start.deep", "TL\r", CMD, n),
        ("test.battery.start.quick", "T\r", CMD, n),
        ("test.battery.stop", "CT\r", CMD, n),
        ("beeper.toggle", "BZ%s\r", CMD, cmd),
        ("beeper.enable", "PEA\r", CMD | SKIP, n),
        ("beeper.disable", "PDA\r", CMD | SKIP, n),
        ("outlet.1.load.off", "SKOFF1\r", CMD | SKIP, n),
        ("outlet.1.load.on", "SKON1\r", CMD | SKIP, n),
        ("outlet.2.load.off", "SKOFF2\r", CMD | SKIP, n),
        ("outlet.2.load.on", "SKON2\r", CMD | SKIP, n),
        ("outlet.3.load.off", "SKOFF3\r", CMD | SKIP, n),
        ("outlet.3.load.on", "SKON3\r", CMD | SKIP, n),
        ("outlet.4.load.off", "SKOFF4\r", CMD | SKIP, n),
        ("outlet.4.load.on", "SKON4\r", CMD | SKIP, n),
        ("bypass.start", "PEE\r", CMD | SKIP, n),
        ("bypass.stop", "PDE\r", CMD | SKIP, n),
    ] {
        t.push(ack(var, InfoRw::None, command, flags, pre));
    }
    // Server-side settings.
    for (var, list, dfl) in [
        ("ups.delay.start", text::R_ONDELAY, DEFAULT_ONDELAY),
        ("ups.delay.shutdown", text::R_OFFDELAY, DEFAULT_OFFDELAY),
    ] {
        t.push(it(var, true, InfoRw::List(list), "", 0, 0, (0, 0), dfl, ABSENT | SETVAR | RANGE, set));
    }
    t
}

fn outlet_vars(n: u8) -> [&'static str; 2] {
    match n {
        1 => ["outlet.1.switchable", "outlet.1.status"],
        2 => ["outlet.2.switchable", "outlet.2.status"],
        3 => ["outlet.3.switchable", "outlet.3.status"],
        _ => ["outlet.4.switchable", "outlet.4.status"],
    }
}

/// A capability setting's command: `P%sX` with `E` when `value` is `on`, `D` when it
/// is `off`; `None` for anything else.
fn capability_command(item: &Item, value: &str, on: &str, off: &str) -> Option<String> {
    let letter = if value.eq_ignore_ascii_case(on) {
        "E"
    } else if value.eq_ignore_ascii_case(off) {
        "D"
    } else {
        return None;
    };
    Some(item.command.replace("%s", letter))
}

/// C's `strspn(s, set) == strlen(s)`.
fn only(s: &str, set: &str) -> bool {
    s.chars().all(|c| set.contains(c))
}

/// C's `snprintf(buf, fmt, value)` for the one `%` conversion of a setting command
/// (`%03.0f`, `%04.1f`, `%1.0f`, `%02.0f`, `%03d`, `%d`, `%s`).
pub(super) fn c_format(fmt: &str, value: f64) -> String {
    let Some(start) = fmt.find('%') else {
        return fmt.to_string();
    };
    let spec = &fmt[start + 1..];
    let Some(end) = spec.find(|c: char| c.is_ascii_alphabetic()) else {
        return fmt.to_string();
    };
    let (flags, conv) = (&spec[..end], &spec[end..end + 1]);
    let zero = flags.starts_with('0');
    let (width, precision) = match flags.split_once('.') {
        Some((w, p)) => (w, p.parse::<usize>().unwrap_or(6)),
        None => (flags, 6),
    };
    let width = width.trim_start_matches('0').parse::<usize>().unwrap_or(0);
    let body = match conv {
        "f" => super::format_c(&format!("%.{precision}f"), value),
        "d" => (value as i64).to_string(),
        _ => return fmt.to_string(),
    };
    let padded = if body.len() >= width {
        body
    } else if zero {
        let (sign, digits) = match body.strip_prefix('-') {
            Some(d) => ("-", d.to_string()),
            None => ("", body.clone()),
        };
        format!("{sign}{}{digits}", "0".repeat(width - body.len()))
    } else {
        format!("{}{body}", " ".repeat(width - body.len()))
    };
    format!("{}{padded}{}", &fmt[..start], &spec[end + 1..])
}

impl Ctx<'_> {
    fn protocol_number(&self) -> i64 {
        let aux = self.get("ups.firmware.aux").unwrap_or_default();
        strtol(aux.get(1..).unwrap_or(""))
    }

    /// `voltronic_massive_unskip`: the queries of multi-phase units, P31 units and
    /// bypass limits, by protocol.
    fn massive_unskip(&mut self, protocol: i64) {
        let testing = self.drv.options.testvar("testing");
        let reset = self.drv.options.testvar("reset_to_default");
        let work_range_given = self.drv.options.getval("work_range_type").is_some();
        for item in std::sync::Arc::make_mut(&mut self.drv.items).iter_mut() {
            if item.command.is_empty() {
                continue;
            }
            let var = item.var;
            let is = |name: &str| var.eq_ignore_ascii_case(name);
            let setvar = item.flags & flag::SETVAR != 0;
            let p09 = protocol == 9
                && item.answer_len == 19
                && (is("output.bypass.L1-N.voltage") || is("output.bypass.L2-N.voltage"));
            let p10 = protocol == 10
                && (is("output.L3-N.voltage")
                    || (is("output.L2-L3.voltage") && item.from == 25)
                    || (is("output.L1-L3.voltage") && item.from == 31)
                    || (is("output.bypass.L1-N.voltage") && item.answer_len == 37)
                    || (is("output.bypass.L2-N.voltage") && item.answer_len == 37)
                    || (is("output.bypass.L3-N.voltage") && item.answer_len == 37)
                    || is("output.bypass.L1-L2.voltage")
                    || is("output.bypass.L2-L3.voltage")
                    || is("output.bypass.L1-L3.voltage")
                    || is("output.L3.current")
                    || is("output.L3.power.percent"));
            let p09_10 = (protocol == 9 || protocol == 10)
                && (is("output.L1-N.voltage")
                    || is("output.L2-N.voltage")
                    || is("output.L1-L2.voltage")
                    || is("output.L1.current")
                    || is("output.L2.current")
                    || is("output.L1.power.percent")
                    || is("output.L2.power.percent"));
            let p03_09_10 = matches!(protocol, 3 | 9 | 10)
                && (is("input.L1-N.voltage")
                    || is("input.L2-N.voltage")
                    || is("input.L1-L2.voltage")
                    || is("input.L1.current")
                    || is("input.L2.current"));
            let p03_10 = matches!(protocol, 3 | 10)
                && (is("input.L3-N.voltage")
                    || (is("input.L2-L3.voltage") && item.from == 25)
                    || (is("input.L1-L3.voltage") && item.from == 31)
                    || is("input.L3.current"));
            let p31 = protocol == 31
                && (is("battery.type")
                    || (is("work_range_type") && !setvar)
                    || (is("work_range_type") && setvar && work_range_given));
            let bypass = !matches!(protocol, 0 | 8 | 31)
                && !setvar
                && (is("max_bypass_volt")
                    || is("min_bypass_volt")
                    || is("max_bypass_freq")
                    || is("min_bypass_freq"));
            let others = (is("reset_to_default") && reset) || (is("unknown.7") && testing);
            if p09 || p10 || p09_10 || p03_09_10 || p03_10 || p31 || bypass || others {
                item.flags &= !flag::SKIP;
            }
        }
    }

    /// The preprocess function of a read item: the value (empty: nothing to set), or
    /// `None` when the answer is refused.
    pub(super) fn volt_pre(&mut self, i: usize, pre: V, raw: &str) -> Option<String> {
        let item = self.drv.items[i];
        let numeric = only(raw, "0123456789 .");
        match pre {
            V::Protocol => {
                if !raw.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("PI")) {
                    return None;
                }
                let digits = raw.get(2..).unwrap_or("");
                if !only(digits, "0123489") {
                    self.log(
                        Level::Err,
                        format!("Protocol [{raw}] is not supported by this driver"),
                    );
                    return None;
                }
                let protocol = strtol(digits);
                if !matches!(protocol, 0 | 1 | 2 | 3 | 8 | 9 | 10 | 13 | 14 | 31 | 99) {
                    self.log(
                        Level::Err,
                        format!("Protocol [PI{protocol:02}] is not supported by this driver"),
                    );
                    return None;
                }
                self.massive_unskip(protocol);
                Some(format!("P{protocol:02}"))
            }
            V::Fault => {
                self.log(Level::Info, "Checking for faults..");
                std::sync::Arc::make_mut(&mut self.drv.items)[i].flags |= flag::SKIP;
                match text::fault(self.protocol_number(), raw) {
                    text::FaultText::NoFault => {
                        let value = text::NO_FAULT.to_string();
                        self.log(Level::Info, value.clone());
                        Some(value)
                    }
                    text::FaultText::Fault { alarm, status } => {
                        if let Some(status) = status {
                            self.update_status(status);
                        }
                        self.log(Level::Info, format!("Fault found: {alarm}"));
                        Some(alarm)
                    }
                }
            }
            V::Warning => {
                let warnings = text::warning(raw).ok()?;
                for line in warnings.logs {
                    self.log(Level::Info, line);
                }
                for status in warnings.status {
                    self.update_status(status);
                }
                Some(warnings.value.unwrap_or_default())
            }
            V::Mode => {
                let (status, alarm) = match raw.as_bytes().first() {
                    Some(b'P') => (None, Some("UPS is going ON")),
                    Some(b'S') => (Some("OFF"), None),
                    Some(b'Y') => (Some("BYPASS"), None),
                    Some(b'L') => (Some("OL"), None),
                    Some(b'B') => (Some("!OL"), None),
                    Some(b'T') => (Some("CAL"), None),
                    Some(b'F') => (None, Some("Fault reported by UPS.")),
                    Some(b'E') => (None, Some("UPS is in ECO Mode.")),
                    Some(b'C') => (None, Some("UPS is in Converter Mode.")),
                    Some(b'D') => (Some("FSD"), Some("UPS is shutting down!")),
                    _ => return None,
                };
                let value = if item.var.eq_ignore_ascii_case("ups.alarm") {
                    alarm
                } else if item.var.eq_ignore_ascii_case("ups.status") {
                    status
                } else {
                    None
                };
                Some(value.unwrap_or("").to_string())
            }
            V::Status => self.volt_status(&item, raw),
            V::PowerFactor => {
                if !numeric {
                    return None;
                }
                Some(format_c(item.dfl, strtod(raw) * 0.01))
            }
            V::Serial => {
                if only(raw, "0") {
                    self.log(
                        Level::Info,
                        format!(
                            "{}: UPS reported a non-significant serial [{raw}]",
                            item.var
                        ),
                    );
                    return None;
                }
                Some(raw.to_string())
            }
            V::Outlet => {
                let (switchable, status) = match raw.as_bytes().first() {
                    Some(b'1') => ("yes", "on"),
                    Some(b'0') => ("yes", "off"),
                    _ => return None,
                };
                let value = if item.var.contains("switchable") {
                    switchable
                } else if item.var.contains("status") {
                    status
                } else {
                    return None;
                };
                let number = item.var.get(7..8).unwrap_or("");
                let ok = self.unskip(
                    &format!("outlet.{number}.delay.shutdown"),
                    flag::SEMI_STATIC,
                    0,
                ) && self.unskip(&format!("outlet.{number}.load.on"), flag::CMD, 0)
                    && self.unskip(&format!("outlet.{number}.load.off"), flag::CMD, 0);
                ok.then(|| value.to_string())
            }
            V::OutletDelay => {
                if !numeric {
                    return None;
                }
                let value = format_c(item.dfl, strtod(raw) * 60.0);
                let number = item.var.get(7..8).unwrap_or("");
                self.unskip(&format!("outlet.{number}.delay.shutdown"), flag::SETVAR, 0)
                    .then_some(value)
            }
            V::Capability => self.volt_capability(&item, raw),
            V::EcoVolt => {
                if !numeric {
                    return None;
                }
                let value = format_c(item.dfl, strtod(raw));
                let protocol = self.protocol_number();
                let Some(ovn) = self.get("output.voltage.nominal") else {
                    return Some(value);
                };
                let ovn = strtol(&ovn);
                if !(0..=i64::from(i32::MAX)).contains(&ovn) {
                    return Some(value);
                }
                let (min, max) = if protocol == 1 || protocol == 9 {
                    if ovn >= 200 {
                        ((ovn - 24, ovn - 7), (ovn + 7, ovn + 24))
                    } else {
                        ((ovn - 12, ovn - 3), (ovn + 3, ovn + 12))
                    }
                } else if matches!(protocol, 2 | 3 | 10 | 13 | 14 | 99) {
                    if ovn >= 200 {
                        ((ovn - 24, ovn - 11), (ovn + 11, ovn + 24))
                    } else {
                        ((ovn - 12, ovn - 5), (ovn + 5, ovn + 12))
                    }
                } else {
                    return Some(value);
                };
                if item.var.eq_ignore_ascii_case("input.transfer.high") {
                    self.drv.volt.eco_max = [max.0.to_string(), max.1.to_string()];
                } else if item.var.eq_ignore_ascii_case("input.transfer.low") {
                    self.drv.volt.eco_min = [min.0.to_string(), min.1.to_string()];
                }
                let ok = self.unskip(&format!("{}.min", item.var), flag::SEMI_STATIC, 0)
                    && self.unskip(&format!("{}.max", item.var), flag::SEMI_STATIC, 0)
                    && self.unskip(item.var, flag::SETVAR, 0);
                ok.then_some(value)
            }
            V::EcoVoltRange => {
                let (high, index) = match item.var {
                    "input.transfer.low.min" => (false, 0),
                    "input.transfer.low.max" => (false, 1),
                    "input.transfer.high.min" => (true, 0),
                    "input.transfer.high.max" => (true, 1),
                    _ => return None,
                };
                let value = self.drv.volt.eco_range(high)[index].clone();
                (!value.is_empty()).then_some(value)
            }
            V::EcoFreq => {
                if !numeric {
                    return None;
                }
                let value = format_c(item.dfl, strtod(raw));
                self.unskip(item.var, flag::SETVAR, 0).then_some(value)
            }
            V::Bypass => {
                if !numeric {
                    return None;
                }
                let val = match item.var {
                    "max_bypass_volt" => {
                        self.drv.volt.max_bypass_volt = strtol(raw);
                        self.drv.volt.max_bypass_volt as f64
                    }
                    "min_bypass_volt" => {
                        self.drv.volt.min_bypass_volt = strtol(raw);
                        self.drv.volt.min_bypass_volt as f64
                    }
                    "max_bypass_freq" => {
                        self.drv.volt.max_bypass_freq = strtod(raw);
                        self.drv.volt.max_bypass_freq
                    }
                    "min_bypass_freq" => {
                        self.drv.volt.min_bypass_freq = strtod(raw);
                        self.drv.volt.min_bypass_freq
                    }
                    _ => return None,
                };
                let value = format_c(item.dfl, val);
                if self.drv.options.getval(item.var).is_none() {
                    return Some(value);
                }
                self.unskip(item.var, flag::SETVAR, 0).then_some(value)
            }
            V::BattNumb => {
                if !numeric {
                    return None;
                }
                let number = strtol(raw);
                if number > i64::from(i32::MAX) {
                    return None;
                }
                self.drv.volt.battery_number = number;
                let value = number.to_string();
                if self.drv.options.getval(item.var).is_none() {
                    return Some(value);
                }
                self.unskip("battery_number", flag::SETVAR, 0)
                    .then_some(value)
            }
            V::BattRuntime => {
                if !numeric {
                    return None;
                }
                Some(format_c(item.dfl, strtod(raw) * 60.0))
            }
            V::P31b | V::P31g => {
                let digits = if pre == V::P31b { "012" } else { "01" };
                let bytes = raw.as_bytes();
                let second_ok = raw
                    .get(1..)
                    .is_some_and(|r| r.chars().take_while(|c| digits.contains(*c)).count() == 1);
                if bytes.first() != Some(&b'0') || !second_ok {
                    return None;
                }
                let val = strtol(raw);
                let list = if pre == V::P31b {
                    text::E_BATT_TYPE
                } else {
                    text::E_WORK_RANGE
                };
                let entry = usize::try_from(val).ok().and_then(|v| list.get(v))?;
                if pre == V::P31g {
                    self.drv.volt.work_range_type = val;
                }
                Some(entry.value.to_string())
            }
            V::Phase => {
                if !numeric {
                    return None;
                }
                let angle = strtol(raw);
                if item.var.eq_ignore_ascii_case("output_phase_angle") {
                    self.drv.volt.output_phase_angle = angle;
                    if self.drv.options.getval(item.var).is_some()
                        && !self.unskip(item.var, flag::SETVAR, 0)
                    {
                        return None;
                    }
                }
                if !(0..=i64::from(i32::MAX)).contains(&angle) {
                    return None;
                }
                Some(format!("{angle:03}"))
            }
            V::Parallel => {
                if !only(raw, "0123456789") {
                    return None;
                }
                let kind = match strtol(raw) {
                    1 => "master",
                    2 | 3 => "slave",
                    _ => return None,
                };
                Some(format!(
                    "This UPS is *{kind}* in a system of UPSes in parallel"
                ))
            }
            _ => None,
        }
    }

    /// `voltronic_status`: a `QGS` status bit.
    fn volt_status(&mut self, item: &Item, raw: &str) -> Option<String> {
        if !only(raw, "01") {
            return None;
        }
        let on = raw.as_bytes().first() == Some(&b'1');
        let is_alarm = item.var.eq_ignore_ascii_case("ups.alarm");
        let value: &str = match item.from {
            63 => match strtol(raw) {
                0 => "offline",
                1 => "line-interactive",
                10 => "online",
                _ => return None,
            },
            65 => {
                if on {
                    "!OL"
                } else {
                    "OL"
                }
            }
            66 => {
                if on {
                    "LB"
                } else {
                    "!LB"
                }
            }
            67 => {
                if !on {
                    ""
                } else {
                    match self.voltage_mode()? {
                        VoltageMode::Trim => "TRIM",
                        VoltageMode::Boost => "BOOST",
                        VoltageMode::Bypass => {
                            let protocol = self.protocol_number();
                            if protocol == 0 || protocol == 8 {
                                if is_alarm {
                                    "UPS is in AVR Mode."
                                } else {
                                    ""
                                }
                            } else if item.var.eq_ignore_ascii_case("ups.status") {
                                "BYPASS"
                            } else {
                                ""
                            }
                        }
                    }
                }
            }
            68 => {
                // NUT compares the character with the number 1 and never gets here. The
                // fault is read while the bit is set (and no longer once it clears, even
                // if the unit refused to tell it).
                if let Some(q) = self.drv.items.iter().position(|i| i.command == "QFS\r") {
                    let items = std::sync::Arc::make_mut(&mut self.drv.items);
                    if on {
                        items[q].flags &= !flag::SKIP;
                    } else {
                        items[q].flags |= flag::SKIP;
                    }
                }
                if on {
                    "UPS Fault!"
                } else {
                    ""
                }
            }
            70 => {
                if on {
                    "CAL"
                } else {
                    "!CAL"
                }
            }
            71 => {
                if on {
                    "FSD"
                } else {
                    "!FSD"
                }
            }
            72 => {
                let off = raw.as_bytes().first() == Some(&b'0');
                if self.drv.volt.alarm_control().is_some() {
                    let beeper = self.get("ups.beeper.status");
                    if beeper.is_none_or(|b| !b.eq_ignore_ascii_case("disabled")) {
                        if off {
                            "enabled"
                        } else {
                            "muted"
                        }
                    } else {
                        ""
                    }
                } else if off {
                    "enabled"
                } else {
                    "disabled"
                }
            }
            _ => return None,
        };
        Some(value.to_string())
    }

    /// `voltronic_capability`: one option of the `QFLAG` reply.
    fn volt_capability(&mut self, item: &Item, raw: &str) -> Option<String> {
        // `(E<enabled>D<disabled>`: the value starts at the `E`.
        let rest = raw.get(1..).unwrap_or("");
        let (enabled, disabled) = match rest.split_once('D') {
            Some((e, d)) => (e, d),
            None => (rest, ""),
        };
        if enabled.is_empty() && disabled.is_empty() {
            return None;
        }
        let state = |letter: char, yes: &'static str, no: &'static str| {
            if enabled.contains(letter) {
                Some(yes)
            } else if disabled.contains(letter) {
                Some(no)
            } else {
                None
            }
        };
        let var = item.var;
        let mut val = None;
        if let Some(k) = CAPS_NONUT
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(var))
        {
            let letter = CAPS_NONUT[k].1;
            match var {
                "alarm_control" => {
                    if raw.contains('a') {
                        if enabled.contains('a') {
                            val = Some("enabled");
                            self.drv.volt.caps[k] = val;
                            let beeper = self.get("ups.beeper.status");
                            if beeper.is_none_or(|b| b != "muted") {
                                self.set("ups.beeper.status", "enabled");
                            }
                        } else if disabled.contains('a') {
                            val = Some("disabled");
                            self.drv.volt.caps[k] = val;
                            self.set("ups.beeper.status", "disabled");
                        }
                        if !self.unskip("beeper.enable", flag::CMD, 0)
                            || !self.unskip("beeper.disable", flag::CMD, 0)
                        {
                            return None;
                        }
                    }
                }
                "eco_mode" => {
                    if raw.contains('e') {
                        val = state('e', "enabled", "disabled");
                        if val.is_some() {
                            self.drv.volt.caps[k] = val;
                        }
                        let ok = self.unskip("bypass.start", flag::CMD, 0)
                            && self.unskip("bypass.stop", flag::CMD, 0)
                            && self.unskip("input.transfer.high", flag::SEMI_STATIC, 0)
                            && self.unskip("input.transfer.low", flag::SEMI_STATIC, 0)
                            && self.unskip("input.frequency.high", flag::SEMI_STATIC, 0)
                            && self.unskip("input.frequency.low", flag::SEMI_STATIC, 0);
                        if !ok {
                            return None;
                        }
                    }
                }
                _ => {
                    val = state(letter, "enabled", "disabled");
                    if val.is_some() {
                        self.drv.volt.caps[k] = val;
                    }
                }
            }
        } else if let Some((_, letter, _)) = CAPS_NUT
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(var))
        {
            val = state(*letter, "yes", "no");
            if var == "outlet.0.switchable" && val == Some("yes") {
                for n in 1..=4u8 {
                    for v in outlet_vars(n) {
                        if !self.unskip(v, 0, 0) {
                            return None;
                        }
                    }
                }
            }
        }
        let val = val?;
        if item.flags & flag::NONUT != 0 && self.drv.options.getval(var).is_none() {
            return Some(val.to_string());
        }
        self.unskip(var, flag::SETVAR, 0).then(|| val.to_string())
    }

    /// The preprocess function of a setting: the command to send (or, for a
    /// server-side delay, the value to keep); `None` when it fails.
    pub(super) fn volt_setvar(&mut self, i: usize, pre: V, value: &str) -> Option<String> {
        let item = self.drv.items[i];
        match pre {
            V::ProcessSetvar => self.volt_process_setvar(&item, value),
            V::CapabilitySet => {
                let command = capability_command(&item, value, "yes", "no");
                if command.is_none() {
                    self.log(
                        Level::Err,
                        format!(
                            "{}: given value [{value}] is not acceptable. Enter either 'yes' or 'no'.",
                            item.var
                        ),
                    );
                }
                command
            }
            V::CapabilitySetNonut => {
                let current = self.drv.volt.cap(item.var)?;
                if value.eq_ignore_ascii_case(current) {
                    self.log(Level::Info, format!("{} is already {current}", item.var));
                    return None;
                }
                let command = capability_command(&item, value, "enabled", "disabled");
                if command.is_none() {
                    self.log(
                        Level::Err,
                        format!(
                            "{}: [{value}] is not within acceptable values [enabled/disabled]",
                            item.var
                        ),
                    );
                }
                command
            }
            V::CapabilityReset => {
                if !self.drv.options.testvar("reset_to_default") {
                    return None;
                }
                if self.drv.ups_status & OFF == 0 {
                    self.log(
                        Level::Err,
                        format!(
                            "{}: UPS capability options can be reset only when the UPS is in Standby Mode (i.e. ups.status = 'OFF').",
                            item.var
                        ),
                    );
                    return None;
                }
                Some(item.command.to_string())
            }
            V::OutletDelaySet => {
                let delay = strtol(value) / 60;
                if delay > i64::from(i32::MAX) {
                    return None;
                }
                Some(c_format(item.command, delay as f64))
            }
            V::P31bSet | V::P31gSet | V::PhaseSet => {
                let list: &[Rw] = match pre {
                    V::P31bSet => text::E_BATT_TYPE,
                    V::P31gSet => text::E_WORK_RANGE,
                    _ => text::E_PHASE,
                };
                let Some(index) = list
                    .iter()
                    .position(|rw| rw.value.eq_ignore_ascii_case(value))
                else {
                    self.log(
                        Level::Err,
                        format!("{}: value [{value}] out of range", item.var),
                    );
                    return None;
                };
                let entry = list[index].value;
                let already = match pre {
                    V::P31gSet => index as i64 == self.drv.volt.work_range_type,
                    V::PhaseSet => strtol(entry) == self.drv.volt.output_phase_angle,
                    _ => false,
                };
                if already {
                    self.log(
                        Level::Info,
                        format!("{} is already set to {entry}", item.var),
                    );
                    return None;
                }
                // The phase angle is sent as the angle (NUT sends its index).
                let sent = if pre == V::PhaseSet {
                    entry.to_string()
                } else {
                    index.to_string()
                };
                self.volt_process_setvar(&item, &sent)
            }
            _ => None,
        }
    }

    /// `voltronic_process_setvar`.
    fn volt_process_setvar(&mut self, item: &Item, value: &str) -> Option<String> {
        if value.is_empty() {
            return None;
        }
        let mut val = strtod(value);
        let var = item.var;
        if var.eq_ignore_ascii_case("ups.delay.start") {
            val -= ((val as i64) % 60) as f64;
            return Some(format!("{val:.0}"));
        }
        if var.eq_ignore_ascii_case("ups.delay.shutdown") {
            if val < 60.0 {
                val -= ((val as i64) % 6) as f64;
            } else {
                val -= ((val as i64) % 60) as f64;
            }
            return Some(format!("{val:.0}"));
        }
        let v = &self.drv.volt;
        let already = match var {
            "max_bypass_freq" => d_equal(val, v.max_bypass_freq).then(|| format!("{val:.1}")),
            "min_bypass_freq" => d_equal(val, v.min_bypass_freq).then(|| format!("{val:.1}")),
            "max_bypass_volt" => {
                d_equal(val, v.max_bypass_volt as f64).then(|| format!("{val:.0}"))
            }
            "min_bypass_volt" => {
                d_equal(val, v.min_bypass_volt as f64).then(|| format!("{val:.0}"))
            }
            "battery_number" => d_equal(val, v.battery_number as f64).then(|| format!("{val:.0}")),
            _ => None,
        };
        if let Some(shown) = already {
            self.log(Level::Info, format!("{var} is already set to {shown}"));
            return None;
        }
        Some(c_format(item.command, val))
    }

    /// `voltronic_process_command`: the command for shutdown.*, test.battery.start and
    /// beeper.toggle.
    pub(super) fn volt_command(&mut self, item: &Item, value: &str) -> Option<String> {
        let offdelay = strtol(&self.get("ups.delay.shutdown").unwrap_or_default());
        let off = |offdelay: i64| {
            if offdelay < 60 {
                format!(".{}", offdelay / 6)
            } else {
                format!("{:02}", offdelay / 60)
            }
        };
        let arg = match item.var {
            "shutdown.return" => {
                let ondelay = strtol(&self.get("ups.delay.start").unwrap_or_default()) / 60;
                if ondelay == 0 {
                    off(offdelay)
                } else {
                    format!("{}R{ondelay:04}", off(offdelay))
                }
            }
            "shutdown.stayoff" => off(offdelay),
            "test.battery.start" => {
                if !only(value, "0123456789") {
                    self.log(
                        Level::Err,
                        format!("{}: non numerical value [{value}]", item.var),
                    );
                    return None;
                }
                let delay = if value.is_empty() { 600 } else { strtol(value) };
                if !(12..=5940).contains(&delay) {
                    self.log(
                        Level::Err,
                        format!(
                            "{}: battery test time '{delay}' out of range [12..5940] seconds",
                            item.var
                        ),
                    );
                    return None;
                }
                off(delay)
            }
            "beeper.toggle" => {
                let beeper = self.get("ups.beeper.status").unwrap_or_default();
                if self.drv.volt.alarm_control().is_some() {
                    if beeper == "enabled" {
                        "OFF".to_string()
                    } else if beeper == "muted" {
                        "ON".to_string()
                    } else {
                        self.log(Level::Info, "The beeper is already disabled");
                        return None;
                    }
                } else if beeper == "enabled" {
                    "OFF".to_string()
                } else if beeper == "disabled" {
                    "ON".to_string()
                } else {
                    String::new()
                }
            }
            _ => return None,
        };
        Some(item.command.replace("%s", &arg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NUT's test answers (nutdrv_qx_voltronic.c's TESTING table), a few changed.
    fn unit(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut table = vec![
            (
                "QGS\r",
                "(234.9 50.0 229.8 50.0 000.0 000 369.1 ---.- 026.5 ---.- 018.8 100000000001\r",
            ),
            ("QPI\r", "(PI01\r"),
            ("QRI\r", "(230.0 004 024.0 50.0\r"),
            ("QMD\r", "(#######OLHVT1K0 ###1000 80 2/2 230 230 02 12.0\r"),
            ("QMOD\r", "(L\r"),
            ("QBV\r", "(026.5 02 01 068 255\r"),
            ("QFLAG\r", "(EpashcjDbroegfl\r"),
            (
                "QWS\r",
                "(0000000000000000000000000000000000000000000000000000000000000000\r",
            ),
            ("QPD\r", "(000 240\r"),
            (
                "QFS\r",
                "(14 212.1 50.0 005.6 49.9 006 010.6 343.8 ---.- 026.2 021.8 01101100\r",
            ),
        ];
        for (query, answer) in changes {
            match table.iter_mut().find(|(q, _)| q == query) {
                Some(row) => row.1 = answer,
                None => table.push((query, answer)),
            }
        }
        table
    }

    /// Runs `job` at `now` against `table` (unknown queries answered `(NAK`); its
    /// outcome and the queries sent.
    fn run(
        drv: &mut QxDriver,
        state: &mut DriverState,
        job: &Job,
        now: crate::Millis,
        table: &[(&str, &str)],
    ) -> (Outcome, Vec<String>) {
        let mut sent = Vec::new();
        let mut replies = Vec::new();
        loop {
            match drv.run(state, job, now, &replies) {
                Progress::Send(bytes) => {
                    let query = String::from_utf8(bytes).unwrap();
                    let answer = table
                        .iter()
                        .find(|(q, _)| *q == query)
                        .map_or("(NAK\r", |(_, a)| a);
                    replies.push(Reply::Bytes(answer.as_bytes().to_vec()));
                    sent.push(query);
                }
                Progress::Done { outcome, .. } => return (outcome, sent),
            }
        }
    }

    /// Starts a voltronic driver against `table`, then runs its first full update;
    /// returns the state and every query sent.
    fn start(
        table: &[(&str, &str)],
        options: &[(&str, &str)],
    ) -> (QxDriver, DriverState, Vec<String>) {
        let mut opts: Vec<(String, Option<String>)> = options
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect();
        opts.push(("protocol".into(), Some("voltronic".into())));
        let mut drv = QxDriver::new(QxOptions::from_options(&opts).unwrap());
        let mut state = DriverState::new();
        let (outcome, mut sent) = run(&mut drv, &mut state, &Job::Start, 0, table);
        assert_eq!(outcome, Outcome::Started);
        sent.extend(run(&mut drv, &mut state, &Job::Update, 60_000, table).1);
        (drv, state, sent)
    }

    #[test]
    fn the_ups_fault_bit_raises_an_alarm_and_reads_the_fault() {
        // Column 68 of QGS set: NUT 2.8.0 never sees it (it compares '1' with 1).
        let (_, state, sent) = start(
            &unit(&[(
                "QGS\r",
                "(234.9 50.0 229.8 50.0 000.0 000 369.1 ---.- 026.5 ---.- 018.8 100001000001\r",
            )]),
            &[],
        );
        let alarm = state
            .tree()
            .value("ups.alarm")
            .unwrap_or_default()
            .to_string();
        assert!(alarm.contains("UPS Fault!"), "{alarm}");
        assert!(sent.iter().any(|q| q == "QFS\r"), "{sent:?}");
        // Fault 14 on a P01 unit.
        assert_eq!(alarm, "UPS Fault! Inverter short-circuited.");
        // Without the bit, no fault query and no alarm.
        let (_, state, sent) = start(&unit(&[]), &[]);
        assert!(!sent.iter().any(|q| q == "QFS\r"));
        assert_eq!(state.tree().value("ups.alarm"), None);
    }

    #[test]
    fn a_qflag_reply_with_nothing_enabled_reads_all_disabled() {
        // NUT's strtok skips the leading D and reads these as enabled.
        let (_, state, _) = start(&unit(&[("QFLAG\r", "(EDsrcg\r")]), &[]);
        for var in [
            "battery.protection",
            "ups.start.auto",
            "ups.start.battery",
            "battery.energysave",
        ] {
            assert_eq!(state.tree().value(var), Some("no"), "{var}");
        }
        let (_, state, _) = start(&unit(&[("QFLAG\r", "(EsrDcg\r")]), &[]);
        assert_eq!(state.tree().value("battery.protection"), Some("yes"));
        assert_eq!(state.tree().value("ups.start.battery"), Some("no"));
    }

    #[test]
    fn the_output_phase_angle_setting_sends_the_angle() {
        // NUT would send PPD001 (the index of 120 in its list).
        let (_, _, sent) = start(
            &unit(&[("PPD120\r", "(ACK\r")]),
            &[("output_phase_angle", "120")],
        );
        assert!(sent.iter().any(|q| q == "PPD120\r"), "{sent:?}");
        // Already at that angle: nothing is sent.
        let (_, _, sent) = start(&unit(&[]), &[("output_phase_angle", "240")]);
        assert!(!sent.iter().any(|q| q.starts_with("PPD")), "{sent:?}");
    }

    #[test]
    fn setting_commands_are_formatted_as_c_does() {
        assert_eq!(c_format("HEH%03.0f\r", 250.0), "HEH250\r");
        assert_eq!(c_format("FREH%04.1f\r", 54.0), "FREH54.0\r");
        assert_eq!(c_format("PSF%04.1f\r", 7.5), "PSF07.5\r");
        assert_eq!(c_format("BATN%1.0f\r", 2.0), "BATN2\r");
        assert_eq!(c_format("BATGN%02.0f\r", 4.0), "BATGN04\r");
        assert_eq!(c_format("PSK3%03d\r", 987.0), "PSK3987\r");
        assert_eq!(c_format("PPD%03.0f\r", 0.0), "PPD000\r");
    }

    #[test]
    fn the_table_keeps_nuts_items() {
        let t = table();
        // Every query item has a NUT-style answer shape; names resolve.
        assert!(t.iter().all(|i| !i.var.is_empty()));
        assert_eq!(t.iter().filter(|i| i.command == "QGS\r").count(), 17);
        assert_eq!(t.iter().filter(|i| i.command == "QFLAG\r").count(), 17);
        assert_eq!(t.iter().filter(|i| i.flags & flag::CMD != 0).count(), 22);
    }
}
