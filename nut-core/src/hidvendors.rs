//! usbhid-ups's smaller subdrivers' tables (NUT 2.8.0 `drivers/arduino-hid.c`,
//! `delta_ups-hid.c`, `idowell-hid.c`, `legrand-hid.c`, `openups-hid.c`,
//! `powervar-hid.c`, `salicru-hid.c`), rows in NUT's order (without the iDowell and Salicru rows NUT
//! keeps under `#ifdef DEBUG`, which its builds leave out); [`crate::hidups`] holds
//! their device lists and claims.

use crate::usbhid::{
    boolean, cmd, conv, flag, num, Conv, HidInfo, AWAITINGPOWER, BEEPER, BOOST, CHARGING,
    COMMFAULT, DEFAULT_OFFDELAY, DEFAULT_ONDELAY, DEPLETED, DISCHARGING, FULLYCHARGED, LOWBATT,
    NOBATTERY, OFF, ONLINE, OVERHEAT, OVERLOAD, REPLACEBATT, SHUTDOWNIMM, TEST_RESULT,
    TIMELIMITEXP, TRIM, VRANGE_INFO, YES_NO,
};

const S: u32 = flag::STATIC;
const SEMI: u32 = flag::SEMI_STATIC;
const Q: u32 = flag::QUICK;

/// delta_ups-hid.c `delta_ups_sensitivity_info`.
const DELTA_SENSITIVITY: &[(i64, &str)] = &[(0, "normal"), (1, "reduced"), (2, "low")];
/// delta_ups-hid.c `delta_ups_output_source_info`.
const DELTA_OUTPUT_SOURCE: &[(i64, &str)] = &[
    (0, "normal"),
    (1, "battery"),
    (2, "bypass/reserve"),
    (3, "reducing"),
    (4, "boosting"),
    (5, "manual bypass"),
    (6, "other"),
    (7, "no output"),
    (8, "on eco"),
];

/// delta_ups-hid.c `delta_ups_type_fun`: the low nibble names the type.
pub fn delta_ups_type(value: f64) -> Option<&'static str> {
    const TYPES: [&str; 5] = [
        "online",
        "offline",
        "line-interactive",
        "3-phase",
        "split-phase",
    ];
    let mut kind = (value as i32) & 0xf;
    if kind == 6 {
        kind = 4;
    } else if 2 < kind && kind <= 5 {
        kind -= 2;
    }
    usize::try_from(kind)
        .ok()
        .and_then(|k| TYPES.get(k).copied())
}

/// The model name's item on Delta units (`delta_ups_format_model`).
pub const DELTA_MODEL_PATH: &str = "UPS.DeltaCustom.[1].DeltaModelName";

/// Delta's vendor usages (`delta_ups_usage_lkp`).
pub const DELTA_USAGES: &[(&str, u32)] = &[
    ("DELTA1", 0x00000000),
    ("DELTA2", 0xff000055),
    ("DeltaCustom", 0xffff0010),
    ("DELTA4", 0xffff0056),
    ("DeltaConfigTransferLowMax", 0xffff0057),
    ("DeltaConfigTransferLowMin", 0xffff0058),
    ("DeltaConfigTransferHighMax", 0xffff0059),
    ("DeltaConfigTransferHighMin", 0xffff005a),
    ("DELTA9", 0xffff0060),
    ("DeltaConfigExternalBatteryPack", 0xffff0061),
    ("DELTA11", 0xffff0062),
    ("DELTA12", 0xffff0063),
    ("DELTA13", 0xffff0064),
    ("DELTA14", 0xffff0065),
    ("DELTA15", 0xffff0066),
    ("DELTA16", 0xffff0067),
    ("DELTA17", 0xffff0068),
    ("DeltaModelName", 0xffff0075),
    ("DELTA19", 0xffff0076),
    ("DeltaUPSType", 0xffff007c),
    ("DELTA21", 0xffff007d),
    ("DeltaConfigStartPowerRestoreDelay", 0xffff0081),
    ("DeltaOutputSource", 0xffff0091),
    ("DELTA24", 0xffff0092),
    ("DELTA25", 0xffff0093),
    ("DELTA26", 0xffff0094),
    ("DELTA27", 0xffff0095),
    ("DELTA28", 0xffff0096),
    ("DELTA29", 0xffff0097),
    ("DELTA30", 0xffff0098),
    ("DELTA31", 0xffff0099),
    ("DELTA32", 0xffff009a),
    ("DeltaConfigSensitivity", 0xffff009b),
    ("DeltaConfigStartPowerRestore", 0xffff009c),
];

/// Powervar's vendor usages (`powervar_usage_lkp`).
pub const POWERVAR_USAGES: &[(&str, u32)] = &[("POWERVAR1", 0xff000001)];

/// Arduino's table (arduino-hid.c `arduino_hid2nut`), in NUT's order.
pub const ARDUINO_HID2NUT: &[HidInfo] = &[
    num(
        "ups.delay.start",
        "UPS.PowerSummary.DelayBeforeStartup",
        DEFAULT_ONDELAY,
        flag::ABSENT,
    ),
    num(
        "ups.delay.shutdown",
        "UPS.PowerSummary.DelayBeforeShutdown",
        DEFAULT_OFFDELAY,
        flag::ABSENT,
    ),
    num(
        "ups.timer.start",
        "UPS.PowerSummary.DelayBeforeStartup",
        "%.0f",
        Q,
    ),
    num(
        "ups.timer.shutdown",
        "UPS.PowerSummary.DelayBeforeShutdown",
        "%.0f",
        Q,
    ),
    num(
        "ups.timer.reboot",
        "UPS.PowerSummary.DelayBeforeReboot",
        "%.0f",
        Q,
    ),
    cmd(
        "load.off.delay",
        "UPS.PowerSummary.DelayBeforeShutdown",
        DEFAULT_OFFDELAY,
    ),
    cmd(
        "load.on.delay",
        "UPS.PowerSummary.DelayBeforeStartup",
        DEFAULT_ONDELAY,
    ),
    cmd(
        "shutdown.stop",
        "UPS.PowerSummary.DelayBeforeShutdown",
        "-1",
    ),
    cmd(
        "shutdown.reboot",
        "UPS.PowerSummary.DelayBeforeReboot",
        "10",
    ),
];
/// The variables `arduino_hid2nut` flags writable (`ST_FLAG_RW`), with their length (0: not a string).
pub const ARDUINO_WRITABLE: &[(&str, i64)] = &[("ups.delay.start", 10), ("ups.delay.shutdown", 10)];

/// Delta's table (delta_ups-hid.c `delta_ups_hid2nut`), in NUT's order.
pub const DELTA_HID2NUT: &[HidInfo] = &[
    conv(
        "input.sensitivity",
        "UPS.DeltaCustom.[1].DeltaConfigSensitivity",
        0,
        Conv::Lookup(DELTA_SENSITIVITY),
    ),
    num(
        "input.voltage.nominal",
        "UPS.PowerSummary.Input.ConfigVoltage",
        "%.1f",
        SEMI,
    ),
    num("input.voltage", "UPS.PowerSummary.Input.Voltage", "%.1f", Q),
    num(
        "input.voltage",
        "UPS.PowerConverter.Input.Voltage",
        "%.1f",
        Q,
    ),
    num(
        "input.transfer.low",
        "UPS.PowerConverter.Output.LowVoltageTransfer",
        "%.1f",
        0,
    ),
    num(
        "input.transfer.high",
        "UPS.PowerConverter.Output.HighVoltageTransfer",
        "%.1f",
        0,
    ),
    num(
        "input.transfer.low.min",
        "UPS.PowerConverter.Output.DeltaConfigTransferLowMin",
        "%.1f",
        S,
    ),
    num(
        "input.transfer.low.max",
        "UPS.PowerConverter.Output.DeltaConfigTransferLowMax",
        "%.1f",
        S,
    ),
    num(
        "input.transfer.high.min",
        "UPS.PowerConverter.Output.DeltaConfigTransferHighMin",
        "%.1f",
        S,
    ),
    num(
        "input.transfer.high.max",
        "UPS.PowerConverter.Output.DeltaConfigTransferHighMax",
        "%.1f",
        S,
    ),
    conv(
        "input.source",
        "UPS.OutletSystem.Outlet.DeltaOutputSource",
        0,
        Conv::Lookup(DELTA_OUTPUT_SOURCE),
    ),
    num(
        "input.frequency",
        "UPS.PowerConverter.Input.Frequency",
        "%.1f",
        Q,
    ),
    num(
        "battery.voltage.nominal",
        "UPS.BatterySystem.Battery.ConfigVoltage",
        "%.1f",
        S,
    ),
    num(
        "battery.voltage",
        "UPS.BatterySystem.Battery.Voltage",
        "%.1f",
        Q,
    ),
    num(
        "battery.charge",
        "UPS.PowerSummary.RemainingCapacity",
        "%.0f",
        Q,
    ),
    num(
        "battery.charge",
        "UPS.BatterySystem.Battery.RemainingCapacity",
        "%.0f",
        0,
    ),
    num(
        "battery.charge.low",
        "UPS.PowerSummary.RemainingCapacityLimit",
        "%.0f",
        SEMI,
    ),
    num(
        "battery.charge.warning",
        "UPS.PowerSummary.WarningCapacityLimit",
        "%.0f",
        SEMI,
    ),
    conv(
        "battery.temperature",
        "UPS.BatterySystem.Temperature",
        Q,
        Conv::Kelvin,
    ),
    num(
        "battery.runtime",
        "UPS.PowerSummary.RunTimeToEmpty",
        "%.0f",
        Q,
    ),
    conv(
        "battery.type",
        "UPS.PowerSummary.iDeviceChemistry",
        S,
        Conv::StringId,
    ),
    num(
        "battery.capacity",
        "UPS.PowerSummary.DesignCapacity",
        "%.0f",
        SEMI,
    ),
    num(
        "battery.capacity",
        "UPS.PowerSummary.FullChargeCapacity",
        "%.0f",
        SEMI,
    ),
    num(
        "output.voltage.nominal",
        "UPS.Flow.ConfigVoltage",
        "%.1f",
        SEMI,
    ),
    num(
        "output.frequency.nominal",
        "UPS.Flow.ConfigFrequency",
        "%.1f",
        SEMI,
    ),
    num(
        "output.voltage",
        "UPS.PowerConverter.Output.Voltage",
        "%.1f",
        Q,
    ),
    num(
        "output.frequency",
        "UPS.PowerConverter.Output.Frequency",
        "%.1f",
        Q,
    ),
    num(
        "output.current",
        "UPS.PowerConverter.Output.Current",
        "%.1f",
        Q,
    ),
    conv(
        "ups.beeper.status",
        "UPS.PowerSummary.AudibleAlarmControl",
        Q,
        Conv::Lookup(BEEPER),
    ),
    conv(
        "ups.test.result",
        "UPS.BatterySystem.Test",
        0,
        Conv::Lookup(TEST_RESULT),
    ),
    conv(
        "ups.type",
        "UPS.DeltaCustom.[1].DeltaUPSType",
        S,
        Conv::DeltaUpsType,
    ),
    conv(
        "ups.start.auto",
        "UPS.DeltaCustom.[1].DeltaConfigStartPowerRestore",
        0,
        Conv::Lookup(YES_NO),
    ),
    num(
        "ups.power.nominal",
        "UPS.Flow.ConfigApparentPower",
        "%.0f",
        S,
    ),
    num(
        "ups.realpower",
        "UPS.OutletSystem.Outlet.ActivePower",
        "%.1f",
        Q,
    ),
    num(
        "ups.realpower",
        "UPS.PowerConverter.Output.ActivePower",
        "%.1f",
        Q,
    ),
    num("ups.load", "UPS.OutletSystem.Outlet.PercentLoad", "%.1f", Q),
    num(
        "ups.delay.start",
        "UPS.OutletSystem.Outlet.DeltaConfigStartPowerRestoreDelay",
        "%.0f",
        0,
    ),
    num(
        "ups.timer.start",
        "UPS.OutletSystem.Outlet.DelayBeforeStartup",
        "%.0f",
        Q,
    ),
    num(
        "ups.timer.shutdown",
        "UPS.OutletSystem.Outlet.DelayBeforeShutdown",
        "%.0f",
        Q,
    ),
    num(
        "ups.timer.reboot",
        "UPS.OutletSystem.Outlet.DelayBeforeReboot",
        "%.0f",
        Q,
    ),
    boolean("UPS.PowerSummary.PresentStatus.Good", Q, OFF),
    boolean(
        "UPS.PowerSummary.PresentStatus.InternalFailure",
        Q,
        COMMFAULT,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.ShutdownImminent",
        Q,
        SHUTDOWNIMM,
    ),
    boolean("UPS.PowerSummary.PresentStatus.ACPresent", Q, ONLINE),
    boolean(
        "UPS.PowerSummary.PresentStatus.BelowRemainingCapacityLimit",
        Q,
        LOWBATT,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.FullyCharged",
        Q,
        FULLYCHARGED,
    ),
    boolean("UPS.PowerSummary.PresentStatus.Charging", Q, CHARGING),
    boolean("UPS.PowerSummary.PresentStatus.Discharging", Q, DISCHARGING),
    boolean(
        "UPS.PowerSummary.PresentStatus.FullyDischarged",
        Q,
        DEPLETED,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.NeedReplacement",
        Q,
        REPLACEBATT,
    ),
    boolean(
        "UPS.PowerConverter.PresentStatus.VoltageOutOfRange",
        Q,
        VRANGE_INFO,
    ),
    boolean("UPS.PowerConverter.PresentStatus.Buck", Q, TRIM),
    boolean("UPS.PowerConverter.PresentStatus.Boost", Q, BOOST),
    boolean("UPS.PowerConverter.PresentStatus.Overload", Q, OVERLOAD),
    boolean("UPS.PowerConverter.PresentStatus.Used", Q, NOBATTERY),
    boolean(
        "UPS.PowerConverter.PresentStatus.OverTemperature",
        Q,
        OVERHEAT,
    ),
    boolean(
        "UPS.PowerConverter.PresentStatus.InternalFailure",
        Q,
        COMMFAULT,
    ),
    boolean(
        "UPS.PowerConverter.PresentStatus.AwaitingPower",
        Q,
        AWAITINGPOWER,
    ),
    cmd("beeper.on", "UPS.PowerSummary.AudibleAlarmControl", "2"),
    cmd("beeper.off", "UPS.PowerSummary.AudibleAlarmControl", "3"),
    cmd("beeper.enable", "UPS.PowerSummary.AudibleAlarmControl", "2"),
    cmd(
        "beeper.disable",
        "UPS.PowerSummary.AudibleAlarmControl",
        "1",
    ),
    cmd("beeper.mute", "UPS.PowerSummary.AudibleAlarmControl", "3"),
    cmd("test.battery.start.quick", "UPS.BatterySystem.Test", "1"),
    cmd("test.battery.start.deep", "UPS.BatterySystem.Test", "2"),
    cmd("test.battery.stop", "UPS.BatterySystem.Test", "3"),
    cmd(
        "load.on.delay",
        "UPS.OutletSystem.Outlet.DelayBeforeStartup",
        DEFAULT_ONDELAY,
    ),
    cmd(
        "load.off.delay",
        "UPS.OutletSystem.Outlet.DelayBeforeShutdown",
        DEFAULT_OFFDELAY,
    ),
    cmd(
        "shutdown.stop",
        "UPS.OutletSystem.Outlet.DelayBeforeShutdown",
        "-1",
    ),
    cmd(
        "shutdown.reboot",
        "UPS.OutletSystem.Outlet.DelayBeforeReboot",
        "10",
    ),
];
/// The variables `delta_ups_hid2nut` flags writable (`ST_FLAG_RW`), with their length (0: not a string).
pub const DELTA_WRITABLE: &[(&str, i64)] = &[
    ("input.sensitivity", 0),
    ("input.transfer.low", 0),
    ("input.transfer.high", 0),
    ("battery.charge.low", 5),
    ("ups.start.auto", 0),
    ("ups.delay.start", 0),
];

/// iDowell's table (idowell-hid.c `idowell_hid2nut`), in NUT's order.
pub const IDOWELL_HID2NUT: &[HidInfo] = &[
    boolean("UPS.PowerSummary.PresentStatus.ACPresent", Q, ONLINE),
    boolean(
        "UPS.PowerSummary.PresentStatus.BelowRemainingCapacityLimit",
        Q,
        LOWBATT,
    ),
    boolean("UPS.PowerSummary.PresentStatus.Charging", Q, CHARGING),
    boolean(
        "UPS.PowerSummary.PresentStatus.CommunicationLost",
        0,
        COMMFAULT,
    ),
    boolean("UPS.PowerSummary.PresentStatus.Discharging", Q, DISCHARGING),
    boolean("UPS.PowerSummary.PresentStatus.Good", 0, OFF),
    boolean(
        "UPS.PowerSummary.PresentStatus.InternalFailure",
        0,
        COMMFAULT,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.NeedReplacement",
        0,
        REPLACEBATT,
    ),
    boolean("UPS.PowerSummary.PresentStatus.Overload", 0, OVERLOAD),
    boolean(
        "UPS.PowerSummary.PresentStatus.ShutdownImminent",
        0,
        SHUTDOWNIMM,
    ),
    num(
        "battery.charge",
        "UPS.PowerSummary.RemainingCapacity",
        "%.0f",
        0,
    ),
    num(
        "battery.charge.low",
        "UPS.PowerSummary.RemainingCapacityLimit",
        "%.0f",
        S,
    ),
    num(
        "battery.runtime",
        "UPS.PowerSummary.RunTimeToEmpty",
        "%.0f",
        0,
    ),
    conv(
        "battery.type",
        "UPS.PowerSummary.iDeviceChemistry",
        S,
        Conv::StringId,
    ),
    num(
        "ups.delay.start",
        "UPS.PowerSummary.DelayBeforeStartup",
        DEFAULT_ONDELAY,
        flag::ABSENT,
    ),
    num(
        "ups.delay.shutdown",
        "UPS.PowerSummary.DelayBeforeShutdown",
        DEFAULT_OFFDELAY,
        flag::ABSENT,
    ),
    num(
        "ups.timer.start",
        "UPS.PowerSummary.DelayBeforeStartup",
        "%.0f",
        Q,
    ),
    num(
        "ups.timer.shutdown",
        "UPS.PowerSummary.DelayBeforeShutdown",
        "%.0f",
        Q,
    ),
    num("ups.load", "UPS.PowerSummary.PercentLoad", "%.0f", 0),
    num(
        "ups.power.nominal",
        "UPS.Flow.[4].ConfigApparentPower",
        "%.0f",
        S,
    ),
    num(
        "input.transfer.high",
        "UPS.PowerConverter.Output.HighVoltageTransfer",
        "%.0f",
        S,
    ),
    num(
        "input.transfer.low",
        "UPS.PowerConverter.Output.LowVoltageTransfer",
        "%.0f",
        S,
    ),
    num(
        "output.voltage",
        "UPS.PowerConverter.Output.Voltage",
        "%.1f",
        0,
    ),
    num(
        "output.voltage.nominal",
        "UPS.Flow.[4].ConfigVoltage",
        "%.0f",
        S,
    ),
    num(
        "output.frequency.nominal",
        "UPS.Flow.[4].ConfigFrequency",
        "%.0f",
        S,
    ),
    cmd(
        "load.off.delay",
        "UPS.PowerSummary.DelayBeforeShutdown",
        DEFAULT_OFFDELAY,
    ),
    cmd(
        "load.on.delay",
        "UPS.PowerSummary.DelayBeforeStartup",
        DEFAULT_ONDELAY,
    ),
    cmd(
        "shutdown.stop",
        "UPS.PowerSummary.DelayBeforeShutdown",
        "-1",
    ),
];
/// The variables `idowell_hid2nut` flags writable (`ST_FLAG_RW`), with their length (0: not a string).
pub const IDOWELL_WRITABLE: &[(&str, i64)] = &[("ups.delay.start", 10), ("ups.delay.shutdown", 10)];

/// Legrand's table (legrand-hid.c `legrand_hid2nut`), in NUT's order.
pub const LEGRAND_HID2NUT: &[HidInfo] = &[
    num("input.voltage", "UPS.Input.Voltage", "%.0f", 0),
    conv(
        "input.voltage",
        "UPS.PowerConverter.Input.Voltage",
        0,
        Conv::Times(1_000_000.0),
    ),
    num(
        "input.transfer.high",
        "UPS.Input.HighVoltageTransfer",
        "%.0f",
        S,
    ),
    conv(
        "input.transfer.high",
        "UPS.PowerConverter.Output.HighVoltageTransfer",
        S,
        Conv::Times(10.0),
    ),
    num(
        "input.transfer.low",
        "UPS.Input.LowVoltageTransfer",
        "%.0f",
        S,
    ),
    num(
        "input.transfer.low",
        "UPS.PowerConverter.Output.LowVoltageTransfer",
        "%.0f",
        S,
    ),
    num(
        "input.voltage.nominal",
        "UPS.Input.ConfigVoltage",
        "%.0f",
        S,
    ),
    num("input.voltage.nominal", "UPS.Flow.ConfigVoltage", "%.0f", S),
    conv(
        "battery.voltage.nominal",
        "UPS.PowerSummary.ConfigVoltage",
        S,
        Conv::Tenths,
    ),
    num(
        "battery.voltage.nominal",
        "UPS.BatterySystem.Battery.ConfigVoltage",
        "%.0f",
        S,
    ),
    conv(
        "battery.voltage",
        "UPS.PowerSummary.Voltage",
        0,
        Conv::Tenths,
    ),
    conv(
        "battery.voltage",
        "UPS.BatterySystem.Battery.Voltage",
        0,
        Conv::Times(100_000.0),
    ),
    num(
        "battery.charge",
        "UPS.PowerSummary.RemainingCapacity",
        "%.0f",
        0,
    ),
    num(
        "battery.runtime",
        "UPS.PowerSummary.RuntimeToEmpty",
        "%.0f",
        0,
    ),
    num(
        "battery.charge.warning",
        "UPS.PowerSummary.WarningCapacityLimit",
        "%.0f",
        S,
    ),
    num(
        "battery.charge.low",
        "UPS.PowerSummary.RemainingCapacityLimit",
        "%.0f",
        S,
    ),
    num("output.voltage", "UPS.Output.Voltage", "%.0f", 0),
    conv(
        "output.voltage",
        "UPS.PowerConverter.Output.Voltage",
        0,
        Conv::Times(10_000_000.0),
    ),
    num("output.frequency", "UPS.Output.Frequency", "%.0f", 0),
    num("ups.load", "UPS.Output.PercentLoad", "%.0f", 0),
    num("ups.load", "UPS.OutletSystem.Outlet.PercentLoad", "%.0f", 0),
    num(
        "ups.realpower.nominal",
        "UPS.Output.ConfigActivePower",
        "%.0f",
        S,
    ),
    num(
        "ups.realpower.nominal",
        "UPS.Flow.ConfigApparentPower",
        "%.0f",
        S,
    ),
    boolean("UPS.PowerSummary.PresentStatus.ACPresent", Q, ONLINE),
    boolean(
        "UPS.PowerSummary.PresentStatus.BelowRemainingCapacityLimit",
        Q,
        LOWBATT,
    ),
    boolean("UPS.PowerSummary.PresentStatus.Charging", Q, CHARGING),
    boolean("UPS.PowerSummary.PresentStatus.Discharging", Q, DISCHARGING),
    boolean("UPS.Output.Overload", Q, OVERLOAD),
    num(
        "ups.delay.shutdown",
        "UPS.OutletSystem.Outlet.DelayBeforeShutdown",
        DEFAULT_OFFDELAY,
        flag::ABSENT,
    ),
    num(
        "ups.delay.start",
        "UPS.OutletSystem.Outlet.DelayBeforeStartup",
        DEFAULT_ONDELAY,
        flag::ABSENT,
    ),
    num(
        "ups.delay.shutdown",
        "UPS.Output.DelayBeforeShutdown",
        DEFAULT_OFFDELAY,
        flag::ABSENT,
    ),
    num(
        "ups.delay.start",
        "UPS.Output.DelayBeforeStartup",
        DEFAULT_ONDELAY,
        flag::ABSENT,
    ),
    cmd(
        "load.off.delay",
        "UPS.OutletSystem.Outlet.DelayBeforeShutdown",
        DEFAULT_OFFDELAY,
    ),
    cmd(
        "load.on.delay",
        "UPS.OutletSystem.Outlet.DelayBeforeStartup",
        DEFAULT_ONDELAY,
    ),
    cmd(
        "load.off.delay",
        "UPS.Output.DelayBeforeShutdown",
        DEFAULT_OFFDELAY,
    ),
    cmd(
        "load.on.delay",
        "UPS.Output.DelayBeforeStartup",
        DEFAULT_ONDELAY,
    ),
    cmd(
        "test.battery.start.quick",
        "UPS.BatterySystem.Battery.Test",
        "1",
    ),
    cmd(
        "test.battery.start.deep",
        "UPS.BatterySystem.Battery.Test",
        "2",
    ),
    cmd("test.battery.stop", "UPS.BatterySystem.Battery.Test", "3"),
    cmd("test.battery.start.quick", "UPS.Output.Test", "1"),
    cmd("test.battery.start.deep", "UPS.Output.Test", "2"),
    cmd("test.battery.stop", "UPS.Output.Test", "3"),
    cmd("beeper.enable", "UPS.PowerSummary.AudibleAlarmControl", "2"),
    cmd(
        "beeper.disable",
        "UPS.PowerSummary.AudibleAlarmControl",
        "3",
    ),
];
/// The variables `legrand_hid2nut` flags writable (`ST_FLAG_RW`), with their length (0: not a string).
pub const LEGRAND_WRITABLE: &[(&str, i64)] = &[("ups.delay.shutdown", 10), ("ups.delay.start", 10)];

/// Powervar's table (powervar-hid.c `powervar_hid2nut`), in NUT's order.
pub const POWERVAR_HID2NUT: &[HidInfo] = &[
    conv(
        "battery.type",
        "UPS.PowerSummary.iDeviceChemistry",
        0,
        Conv::StringId,
    ),
    num(
        "battery.charge",
        "UPS.PowerSummary.RemainingCapacity",
        "%.0f",
        0,
    ),
    num(
        "battery.capacity",
        "UPS.PowerSummary.FullChargeCapacity",
        "%.0f",
        0,
    ),
    num(
        "battery.runtime",
        "UPS.PowerSummary.RuntimeToEmpty",
        "%.0f",
        0,
    ),
    boolean("UPS.PowerSummary.PresentStatus.ACPresent", Q, ONLINE),
    boolean("UPS.PowerSummary.PresentStatus.Discharging", Q, DISCHARGING),
    boolean("UPS.PowerSummary.PresentStatus.Charging", Q, CHARGING),
    boolean(
        "UPS.PowerSummary.PresentStatus.ShutdownImminent",
        0,
        SHUTDOWNIMM,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.BelowRemainingCapacityLimit",
        0,
        LOWBATT,
    ),
    boolean("UPS.PowerSummary.PresentStatus.Overload", 0, OVERLOAD),
    boolean(
        "UPS.PowerSummary.PresentStatus.NeedReplacement",
        0,
        REPLACEBATT,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.RemainingTimeLimitExpired",
        0,
        TIMELIMITEXP,
    ),
    boolean("UPS.PowerSummary.PresentStatus.InternalFailure", 0, YES_NO),
    boolean("UPS.PowerSummary.PresentStatus.Good", 0, YES_NO),
    boolean(
        "UPS.PowerSummary.PresentStatus.OverTemperature",
        0,
        OVERHEAT,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.FullyCharged",
        0,
        FULLYCHARGED,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.FullyDischarged",
        0,
        DEPLETED,
    ),
];
/// The variables `powervar_hid2nut` flags writable (`ST_FLAG_RW`), with their length (0: not a string).
pub const POWERVAR_WRITABLE: &[(&str, i64)] = &[];

/// Salicru's table (salicru-hid.c `salicru_hid2nut`), in NUT's order.
pub const SALICRU_HID2NUT: &[HidInfo] = &[
    conv(
        "battery.type",
        "UPS.PowerSummary.iDeviceChemistry",
        0,
        Conv::StringId,
    ),
    num(
        "battery.charge",
        "UPS.PowerSummary.RemainingCapacity",
        "%.0f",
        0,
    ),
    num(
        "battery.charge.warning",
        "UPS.PowerSummary.WarningCapacityLimit",
        "%.0f",
        0,
    ),
    num(
        "battery.charge.low",
        "UPS.PowerSummary.RemainingCapacityLimit",
        "%.0f",
        SEMI,
    ),
    num(
        "battery.runtime",
        "UPS.PowerSummary.RunTimeToEmpty",
        "%.0f",
        0,
    ),
    num(
        "battery.runtime.low",
        "UPS.PowerSummary.RemainingTimeLimit",
        "%.0f",
        SEMI,
    ),
    num(
        "battery.voltage.nominal",
        "UPS.PowerSummary.ConfigVoltage",
        "%.0f",
        0,
    ),
    num("battery.voltage", "UPS.PowerSummary.Voltage", "%.2f", 0),
    num("ups.load", "UPS.Output.PercentLoad", "%.0f", 0),
    conv(
        "ups.beeper.status",
        "UPS.PowerSummary.AudibleAlarmControl",
        0,
        Conv::Lookup(BEEPER),
    ),
    conv(
        "ups.test.result",
        "UPS.Output.Test",
        0,
        Conv::Lookup(TEST_RESULT),
    ),
    num(
        "ups.realpower.nominal",
        "UPS.Output.ConfigActivePower",
        "%.0f",
        0,
    ),
    boolean("UPS.PowerSummary.PresentStatus.ACPresent", Q, ONLINE),
    boolean("UPS.PowerSummary.PresentStatus.Charging", Q, CHARGING),
    boolean("UPS.PowerSummary.PresentStatus.Discharging", Q, DISCHARGING),
    boolean(
        "UPS.PowerSummary.PresentStatus.BelowRemainingCapacityLimit",
        Q,
        LOWBATT,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.FullyCharged",
        0,
        FULLYCHARGED,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.RemainingTimeLimitExpired",
        0,
        TIMELIMITEXP,
    ),
    boolean("UPS.Output.CommunicationLost", 0, COMMFAULT),
    boolean("UPS.Output.Boost", 0, BOOST),
    boolean("UPS.Output.Overload", 0, OVERLOAD),
    num("input.frequency", "UPS.Input.Frequency", "%.1f", 0),
    num(
        "input.voltage.nominal",
        "UPS.Input.ConfigVoltage",
        "%.0f",
        0,
    ),
    num("input.voltage", "UPS.Input.Voltage", "%.1f", 0),
    num(
        "input.transfer.high",
        "UPS.PowerConverter.Output.HighVoltageTransfer",
        "%.0f",
        S,
    ),
    num(
        "input.transfer.low",
        "UPS.PowerConverter.Output.LowVoltageTransfer",
        "%.0f",
        S,
    ),
    num("output.frequency", "UPS.Output.Frequency", "%.1f", 0),
    num("output.voltage", "UPS.Output.Voltage", "%.1f", 0),
    num(
        "output.voltage.nominal",
        "UPS.Output.ConfigVoltage",
        "%.0f",
        0,
    ),
    num("ups.load", "UPS.PowerSummary.PercentLoad", "%.0f", 0),
    conv(
        "ups.test.result",
        "UPS.BatterySystem.Battery.Test",
        0,
        Conv::Lookup(TEST_RESULT),
    ),
    num(
        "ups.realpower.nominal",
        "UPS.Flow.[4].ConfigActivePower",
        "%.0f",
        0,
    ),
    num(
        "ups.realpower",
        "UPS.PowerConverter.Output.ActivePower",
        "%.0f",
        0,
    ),
    boolean("UPS.PowerSummary.PresentStatus.Overload", 0, OVERLOAD),
    boolean(
        "UPS.PowerSummary.PresentStatus.OverTemperature",
        0,
        OVERHEAT,
    ),
    num(
        "input.frequency",
        "UPS.PowerConverter.Input.[1].Frequency",
        "%.1f",
        0,
    ),
    num(
        "input.voltage",
        "UPS.PowerConverter.Input.[1].Voltage",
        "%.1f",
        0,
    ),
    num(
        "output.frequency",
        "UPS.PowerConverter.Output.Frequency",
        "%.1f",
        0,
    ),
    num(
        "output.voltage",
        "UPS.PowerConverter.Output.Voltage",
        "%.1f",
        0,
    ),
    num(
        "output.voltage.nominal",
        "UPS.PowerSummary.ConfigVoltage",
        "%.0f",
        0,
    ),
    conv(
        "ups.test.result",
        "UPS.BatterySystem.Battery.Test",
        0,
        Conv::Lookup(TEST_RESULT),
    ),
    cmd(
        "test.battery.start.quick",
        "UPS.BatterySystem.Battery.Test",
        "1",
    ),
    cmd(
        "test.battery.start.deep",
        "UPS.BatterySystem.Battery.Test",
        "2",
    ),
    cmd("test.battery.stop", "UPS.BatterySystem.Battery.Test", "3"),
];
/// The variables `salicru_hid2nut` flags writable (`ST_FLAG_RW`), with their length (0: not a string).
pub const SALICRU_WRITABLE: &[(&str, i64)] =
    &[("battery.charge.low", 10), ("battery.runtime.low", 10)];

/// openups-hid.c's conversion functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenUps {
    /// `openups_scale_vin_fun`: input voltage, `%.2f`.
    Vin,
    /// `openups_scale_vout_fun`: output voltage, `%.2f`.
    Vout,
    /// `openups_scale_ccharge_fun`: input (charge) current, `%.3f`.
    CCharge,
    /// `openups_scale_cdischarge_fun`: output (discharge) current, `%.3f`.
    CDischarge,
    /// `openups_temperature_fun`: the thermistor reading through its table.
    Temperature,
    /// `openups_*_fun` status flags: the word for any non-zero value, its opposite for
    /// 0 (`Good` gives `!off`). As NUT, a present battery (`BatteryPresent` 1) gives
    /// `nobattery`.
    Flag(&'static str),
}

/// openups-hid.c `get_voltage_multiplier`: the factors of (input voltage, output
/// voltage, charge current, discharge current) for the product; 1 for a product the
/// claim took through `productid` (NUT sets them only for its listed units).
pub fn openups_scales(product_id: u16) -> [f64; 4] {
    match product_id {
        0xd004 => [
            0.03545 * 100.0,
            0.02571 * 100.0,
            0.8274 / 10.0,
            16.113 / 10.0,
        ],
        0xd005 => [0.1; 4],
        _ => [1.0; 4],
    }
}

/// openups-hid.c `therm_tbl`: thermistor readings at -40 °C and every 5 °C above.
const THERM_TBL: [u32; 34] = [
    0x31, 0x40, 0x53, 0x68, 0x82, 0xa0, 0xc3, 0xe9, 0x113, 0x13f, 0x16e, 0x19f, 0x1cf, 0x200,
    0x22f, 0x25c, 0x286, 0x2ae, 0x2d3, 0x2f4, 0x312, 0x32d, 0x345, 0x35a, 0x36d, 0x37e, 0x38c,
    0x399, 0x3a5, 0x3af, 0x3b7, 0x3bf, 0x3c6, 0x3cc,
];

/// openups-hid.c `openups_temperature_fun`: the reading times 100, between -40 and
/// 125 °C, interpolated between the table's points.
pub fn openups_temperature(value: f64) -> String {
    // unsigned int thermistor = value * 100 (saturating where C is undefined).
    let thermistor = (value * 100.0) as u32;
    if thermistor <= THERM_TBL[0] {
        return "-40".to_string();
    }
    if thermistor >= THERM_TBL[THERM_TBL.len() - 1] {
        return "125".to_string();
    }
    let pos = THERM_TBL
        .iter()
        .rposition(|&t| thermistor >= t)
        .unwrap_or(0);
    let t1 = pos as i64 * 5 - 40;
    if thermistor == THERM_TBL[pos] {
        return t1.to_string();
    }
    let (d1, d2) = (THERM_TBL[pos], THERM_TBL[pos + 1]);
    let temp = f64::from(thermistor - d1) * 5.0 / f64::from(d2 - d1) + t1 as f64;
    format!("{temp:.2}")
}

/// openUPS's vendor usages (`openups_usage_lkp`): the battery cells.
pub const OPENUPS_USAGES: &[(&str, u32)] = &[
    ("Cell1", 0x00000001),
    ("Cell2", 0x00000002),
    ("Cell3", 0x00000003),
    ("Cell4", 0x00000004),
    ("Cell5", 0x00000005),
    ("Cell6", 0x00000006),
];

const fn openups(var: &'static str, path: &'static str, flags: u32, c: OpenUps) -> HidInfo {
    conv(var, path, flags, Conv::OpenUps(c))
}

/// openUPS's table (openups-hid.c `openups_hid2nut`), in NUT's order.
pub const OPENUPS_HID2NUT: &[HidInfo] = &[
    conv(
        "ups.serial",
        "UPS.PowerSummary.iSerialNumber",
        0,
        Conv::StringId,
    ),
    conv(
        "battery.type",
        "UPS.PowerSummary.iDeviceChemistry",
        S,
        Conv::StringId,
    ),
    conv(
        "battery.mfr.date",
        "UPS.PowerSummary.iOEMInformation",
        S,
        Conv::StringId,
    ),
    num("battery.voltage", "UPS.PowerSummary.Voltage", "%.2f", Q),
    num("battery.current", "UPS.PowerSummary.Current", "%.3f", Q),
    num(
        "battery.capacity",
        "UPS.PowerSummary.DesignCapacity",
        "%.0f",
        S,
    ),
    num(
        "battery.charge",
        "UPS.PowerSummary.RemainingCapacity",
        "%.0f",
        Q,
    ),
    num(
        "battery.charge.low",
        "UPS.PowerSummary.RemainingCapacityLimit",
        "%.0f",
        Q,
    ),
    num(
        "battery.charge.warning",
        "UPS.PowerSummary.WarningCapacityLimit",
        "%.0f",
        0,
    ),
    num(
        "battery.runtime",
        "UPS.PowerSummary.RunTimeToEmpty",
        "%.0f",
        Q,
    ),
    openups(
        "battery.temperature",
        "UPS.PowerSummary.Temperature",
        Q,
        OpenUps::Temperature,
    ),
    openups(
        "output.voltage",
        "UPS.PowerSummary.Output.Voltage",
        Q,
        OpenUps::Vout,
    ),
    openups(
        "output.current",
        "UPS.PowerSummary.Output.Current",
        Q,
        OpenUps::CDischarge,
    ),
    openups(
        "input.voltage",
        "UPS.PowerSummary.Input.Voltage",
        Q,
        OpenUps::Vin,
    ),
    openups(
        "input.current",
        "UPS.PowerSummary.Input.Current",
        Q,
        OpenUps::CCharge,
    ),
    openups(
        "BOOL",
        "UPS.PowerSummary.PresentStatus.Good",
        Q,
        OpenUps::Flag("!off"),
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.InternalFailure",
        Q,
        COMMFAULT,
    ),
    boolean("UPS.PowerSummary.PresentStatus.Overload", Q, OVERLOAD),
    boolean(
        "UPS.PowerSummary.PresentStatus.OverTemperature",
        Q,
        OVERHEAT,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.ShutdownImminent",
        Q,
        SHUTDOWNIMM,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.BelowRemainingCapacityLimit",
        Q,
        LOWBATT,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.RemainingTimeLimitExpired",
        Q,
        TIMELIMITEXP,
    ),
    openups(
        "BOOL",
        "UPS.PowerSummary.PresentStatus.Charging",
        Q,
        OpenUps::Flag("chrg"),
    ),
    openups(
        "BOOL",
        "UPS.PowerSummary.PresentStatus.Discharging",
        Q,
        OpenUps::Flag("dischrg"),
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.NeedReplacement",
        0,
        REPLACEBATT,
    ),
    openups(
        "BOOL",
        "UPS.PowerSummary.PresentStatus.ACPresent",
        Q,
        OpenUps::Flag("online"),
    ),
    openups(
        "BOOL",
        "UPS.PowerSummary.PresentStatus.BatteryPresent",
        Q,
        OpenUps::Flag("nobattery"),
    ),
];
