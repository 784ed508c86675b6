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

/// ever-hid.c's conversion functions. Most read whole reports NUT buffered (by
/// report ID) rather than the item's value. Where NUT reads a report it never got (a
/// NULL buffer it would dereference), an empty one is used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EverConv {
    /// `ever_format_hardware_fun`: `rev.<letter>v<nn>`.
    Hardware,
    /// `ever_format_version_fun`: `v<X>.<X>b<nn>`.
    Version,
    /// `ever_mac_address_fun`: report 210's bytes as a MAC address.
    Mac,
    /// `ever_ip_address_fun`: reports 211, 230, 231 and 232 in turn (a counter NUT
    /// keeps across calls), as dotted quads.
    Ip,
    /// `ever_packets_fun`: reports 215 to 218 in turn, as 32-bit counts.
    Packets,
    /// `ever_workmode_fun`: report 74's mode.
    Workmode,
    /// `ever_messages_fun`: report 75's message bits.
    Messages,
    /// `ever_alarms_fun`: report 76's alarm bits.
    Alarms,
    /// `ever_on_off_fun`: off unless report 74's mode is online or on battery.
    OnOff,
}

/// The reports ever-hid.c's functions read.
pub mod ever_report {
    /// MAC address.
    pub const MAC: u8 = 210;
    /// Notification destination, IP address, network mask, default gateway.
    pub const IP: [u8; 4] = [211, 230, 231, 232];
    /// Sent, received, send errors, receive errors.
    pub const PACKETS: [u8; 4] = [215, 216, 217, 218];
    /// Work mode.
    pub const WORKMODE: u8 = 74;
    /// Messages.
    pub const MESSAGES: u8 = 75;
    /// Alarms.
    pub const ALARMS: u8 = 76;
}

/// Bytes of the lines ever-hid.c prints reports into (`static char line[100]`);
/// common.c's `snprintfcat` keeps at most 98 characters of it.
const EVER_LINE_BYTES: usize = 100;

/// C's `(unsigned int)value` on the usual targets (wraps; saturating past i64).
fn c_uint(value: f64) -> u32 {
    value as i64 as u32
}

/// `ever_format_hardware_fun`. NUT indexes a 27-letter table with the high byte, past
/// its end for bytes above 26; "?" here then.
pub fn ever_hardware(value: f64) -> String {
    const REV: [&str; 27] = [
        "0", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q",
        "R", "S", "T", "U", "V", "W", "X", "Y", "Z",
    ];
    let v = c_uint(value);
    let letter = REV
        .get(((v & 0xff00) >> 8) as usize)
        .copied()
        .unwrap_or("?");
    let mut text = format!("rev.{letter}v{:02}", v & 0xff);
    text.truncate(9);
    text
}

/// `ever_format_version_fun`.
pub fn ever_version(value: f64) -> String {
    let v = c_uint(value);
    let mut text = format!(
        "v{:X}.{:X}b{:02}",
        (v & 0xf000) >> 12,
        (v & 0xf00) >> 8,
        (value as i64 as i32) & 0xff
    );
    text.truncate(9);
    text
}

/// A report's bytes after its ID, in hex or decimal, joined by `separator`, cut where
/// NUT's line buffer cuts them.
fn ever_bytes(report: &[u8], hex: bool, separator: char) -> String {
    let mut line = String::new();
    for (i, b) in report.iter().skip(1).enumerate() {
        if i > 0 {
            line.push(separator);
        }
        if hex {
            line.push_str(&format!("{b:02x}"));
        } else {
            line.push_str(&b.to_string());
        }
    }
    line.truncate(EVER_LINE_BYTES - 2);
    line
}

/// `ever_mac_address_fun` on report 210.
pub fn ever_mac(report: &[u8]) -> String {
    ever_bytes(report, true, ':')
}

/// `ever_ip_address_fun` on one of its reports.
pub fn ever_ip(report: &[u8]) -> String {
    ever_bytes(report, false, '.')
}

/// `ever_packets_fun` on one of its reports: bytes 1-4 as a little-endian `int`, ""
/// when shorter.
pub fn ever_packets(report: &[u8]) -> String {
    match report.get(1..5) {
        Some(b) if report.len() >= 5 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]).to_string(),
        _ => String::new(),
    }
}

/// `ever_workmode_fun` on report 74.
pub fn ever_workmode(report: &[u8]) -> &'static str {
    match report.get(1).copied().unwrap_or(0) {
        2 => "STOP",
        4 => "ONLINE",
        8 => "ONBATTERY",
        16 => "WATCH",
        32 => "WAITING",
        64 => "EMERGENCY",
        _ => "UNKNOWN",
    }
}

/// Bytes 1 and 2 of a report (after its ID) as a little-endian word.
fn ever_word(report: &[u8]) -> u16 {
    u16::from(report.get(1).copied().unwrap_or(0))
        | (u16::from(report.get(2).copied().unwrap_or(0)) << 8)
}

/// `ever_messages_fun` on report 75.
pub fn ever_messages(report: &[u8]) -> String {
    let m = ever_word(report);
    let names: Vec<&str> = [
        (0x04, "BOOST"),
        (0x08, "BUCK"),
        (0x10, "BOOST_BLOCKED"),
        (0x20, "BUCK_BLOCKED"),
        (0x40, "CHARGING"),
        (0x80, "FAN_ON"),
        (0x100, "EPO_BLOCKED"),
        (0x200, "NEED_REPLACMENT"),
        (0xc00, "OVERHEAT"),
        (0x1000, "WAITING_FOR_MIN_CHARGE"),
        (0x2000, "MAINS_OUT_OF_RANGE"),
    ]
    .iter()
    .filter(|(bits, _)| m & bits != 0)
    .map(|(_, name)| *name)
    .collect();
    names.join(" ")
}

/// `ever_alarms_fun` on report 76 (NUT's spellings kept: they are what it publishes).
pub fn ever_alarms(report: &[u8]) -> String {
    let a = ever_word(report);
    let names: Vec<&str> = [
        (0x01, "OVERLOAD"),
        (0x02, "SHORT-CIRCUIT"),
        (0x0c, "OVERHEAT"),
        (0x10, "EPO"),
        (0x20, "INERNAL_ERROR"),
        (0x40, "REVERSE_POWER_SUPPLY"),
        (0x80, "NO_INETERNAL_COMM"),
        (0x100, "CRITICAL_BATT_VOLTAGE"),
    ]
    .iter()
    .filter(|(bits, _)| a & bits != 0)
    .map(|(_, name)| *name)
    .collect();
    names.join(" ")
}

/// `ever_on_off_fun` on report 74: the unit is off unless online or on battery.
pub fn ever_off(report: &[u8]) -> bool {
    !matches!(report.get(1).copied().unwrap_or(0), 4 | 8)
}

/// Ever's vendor usages (`ever_usage_lkp`).
pub const EVER_USAGES: &[(&str, u32)] = &[
    ("EVER1", 0x00000000),
    ("EVER2", 0xff000000),
    ("EVER3", 0xff000001),
    ("EVER4", 0xff000002),
    ("EVER5", 0xff000003),
    ("EVER6", 0xff000004),
    ("EVER7", 0xff000005),
    ("EVER8", 0xff000006),
    ("EVER9", 0xff000007),
    ("EVER10", 0xff000008),
    ("EVER11", 0xff000009),
    ("EVER12", 0xff000010),
    ("EVER13", 0xff000011),
    ("EVER14", 0xff000012),
    ("EVER15", 0xff000013),
    ("EVER16", 0xff000014),
    ("EVER17", 0xff000015),
    ("EVER18", 0xff000016),
    ("EVER19", 0xff000017),
    ("EVER20", 0xff000018),
    ("EVER21", 0xff000019),
    ("EVER22", 0xff00001a),
    ("EVER23", 0xff00001b),
    ("EVER24", 0xff00001c),
    ("EVER25", 0xff00001d),
    ("EVER26", 0xff00001e),
    ("EVER27", 0xff00001f),
    ("EVER28", 0xff000020),
    ("EVER29", 0xff000021),
    ("EVER30", 0xff000022),
    ("EVER31", 0xff000023),
    ("EVER32", 0xff000030),
    ("EVER33", 0xff000031),
    ("EVER34", 0xff000032),
    ("EVER35", 0xff000033),
    ("EVER36", 0xff000034),
    ("EVER37", 0xff000035),
    ("EVER38", 0xff000036),
    ("EVER39", 0xff000037),
    ("EVER40", 0xff000038),
    ("EVER41", 0xff000039),
    ("EVER42", 0xff000040),
    ("EVER43", 0xff000041),
    ("EVER44", 0xff000042),
    ("EVER45", 0xff000043),
    ("EVER46", 0xff000044),
    ("EVER47", 0xff000045),
    ("EVER48", 0xff000046),
    ("EVER49", 0xff000050),
    ("EVER50", 0xff000051),
    ("EVER51", 0xff000052),
    ("EVER52", 0xff000053),
    ("EVER53", 0xff000054),
    ("EVER54", 0xff000060),
    ("EVER55", 0xff000061),
    ("EVER56", 0xff000062),
    ("EVER57", 0xff000063),
    ("EVER58", 0xff000064),
    ("EVER59", 0xff000066),
    ("EVER60", 0xff000067),
    ("EVER61", 0xff000068),
    ("EVER62", 0xff000069),
    ("EVER63", 0xff00006a),
    ("EVER64", 0xff00006b),
    ("EVER65", 0xff00006c),
    ("EVER66", 0xff00006d),
    ("EVER67", 0xff00006e),
    ("EVER68", 0xff00006f),
    ("EVER69", 0xff000070),
    ("EVER70", 0xff000071),
    ("EVER71", 0xff000072),
    ("EVER72", 0xff000073),
    ("EVER73", 0xff000074),
    ("EVER74", 0xff000075),
    ("EVER75", 0xff000076),
    ("EVER76", 0xff000077),
    ("EVER77", 0xff000078),
    ("EVER78", 0xff000079),
    ("EVER79", 0xff00007a),
    ("EVER80", 0xff00007b),
    ("EVER81", 0xff00007c),
    ("EVER82", 0xff00007d),
    ("EVER83", 0xff00007e),
    ("EVER84", 0xff00007f),
    ("EVER85", 0xff000080),
    ("EVER86", 0xff000081),
    ("EVER87", 0xff000082),
    ("EVER88", 0xff000083),
    ("EVER89", 0xff000084),
    ("EVER90", 0xff000085),
    ("EVER91", 0xff000086),
    ("EVER92", 0xff000087),
    ("EVER93", 0xff000088),
    ("EVER94", 0xff000089),
    ("EVER95", 0xff00008a),
    ("EVER96", 0xff00008b),
    ("EVER97", 0xff000090),
    ("EVER98", 0xff000091),
    ("EVER99", 0xff000092),
    ("EVER100", 0xff000093),
    ("EVER101", 0xff000094),
    ("EVER102", 0xff000095),
    ("EVER103", 0xff000096),
    ("EVER104", 0xff000097),
];

/// Ever's table (ever-hid.c `ever_hid2nut`), in NUT's order.
pub const EVER_HID2NUT: &[HidInfo] = &[
    num(
        "experimental.battery.batteryid",
        "UPS.BatterySystem.Battery.BatteryID",
        "%.0f",
        0,
    ),
    num(
        "experimental.battery.systemid",
        "UPS.BatterySystem.BatterySystemID",
        "%.0f",
        0,
    ),
    num(
        "experimental.battery.chargerid",
        "UPS.BatterySystem.Charger.ChargerID",
        "%.0f",
        0,
    ),
    num(
        "experimental.battery.input_flowid",
        "UPS.BatterySystem.Input.FlowID",
        "%.0f",
        0,
    ),
    num(
        "experimental.battery.input_id",
        "UPS.BatterySystem.Input.InputID",
        "%.0f",
        0,
    ),
    num(
        "experimental.battery.output_flowid",
        "UPS.BatterySystem.Output.FlowID",
        "%.0f",
        0,
    ),
    num(
        "experimental.battery.output_id",
        "UPS.BatterySystem.Output.OutputID",
        "%.0f",
        0,
    ),
    conv(
        "experimental.id.firmware_version_inverter",
        "UPS.EVER1.EVER13",
        0,
        Conv::Ever(EverConv::Version),
    ),
    conv(
        "experimental.id.firmware_version_interfaces",
        "UPS.EVER1.EVER14",
        0,
        Conv::Ever(EverConv::Version),
    ),
    conv(
        "experimental.id.hardware_version",
        "UPS.EVER1.EVER15",
        0,
        Conv::Ever(EverConv::Hardware),
    ),
    conv(
        "experimental.id.protocol_version_inverter",
        "UPS.EVER1.EVER16",
        0,
        Conv::Ever(EverConv::Version),
    ),
    conv(
        "experimental.id.protocol_version_interfaces",
        "UPS.EVER1.EVER17",
        0,
        Conv::Ever(EverConv::Version),
    ),
    conv("ups.temperature", "UPS.EVER1.EVER42", 0, Conv::Kelvin),
    conv("battery.temperature", "UPS.EVER1.EVER43", 0, Conv::Kelvin),
    num("powerfactor", "UPS.EVER1.EVER44", "%.0f", 0),
    num(
        "experimental.control.ups_on",
        "UPS.EVER1.EVER45.EVER46",
        "%.0f",
        0,
    ),
    num(
        "experimental.control.clear_fault",
        "UPS.EVER1.EVER45.EVER47",
        "%.0f",
        0,
    ),
    num(
        "experimental.control.clear_battery_fault",
        "UPS.EVER1.EVER45.EVER48",
        "%.0f",
        0,
    ),
    num(
        "experimental.control.epo_blocked",
        "UPS.EVER1.EVER49.EVER50",
        "%.0f",
        0,
    ),
    num(
        "experimental.control.green_mode",
        "UPS.EVER1.EVER49.EVER51",
        "%.0f",
        0,
    ),
    num(
        "experimental.control.button_sound",
        "UPS.EVER1.EVER49.EVER52",
        "%.0f",
        0,
    ),
    num(
        "experimental.control.audible_alarm",
        "UPS.EVER1.EVER49.EVER53",
        "%.0f",
        0,
    ),
    num("output.voltage", "UPS.EVER1.EVER54", "%.0f", 0),
    num(
        "experimental.config.overload_clearance_threshold",
        "UPS.EVER1.EVER59",
        "%.0f",
        0,
    ),
    num(
        "experimental.config.stb_charge",
        "UPS.EVER1.EVER60",
        "%.0f",
        0,
    ),
    num("battery.packs.external", "UPS.EVER1.EVER61", "%.0f", 0),
    num(
        "experimental.statistics.mains_loss_counter",
        "UPS.EVER1.EVER62",
        "%.0f",
        0,
    ),
    num(
        "experimental.statistics.lowering_AVR_trigger_counter",
        "UPS.EVER1.EVER63",
        "%.0f",
        0,
    ),
    num(
        "experimental.statistics.rising_AVR_trigger_counter",
        "UPS.EVER1.EVER64",
        "%.0f",
        0,
    ),
    num(
        "experimental.statistics.overload_counter",
        "UPS.EVER1.EVER65",
        "%.0f",
        0,
    ),
    num(
        "experimental.statistics.short_circuit_counter",
        "UPS.EVER1.EVER66",
        "%.0f",
        0,
    ),
    num(
        "experimental.statistics.discharge_counter",
        "UPS.EVER1.EVER67",
        "%.0f",
        0,
    ),
    num(
        "experimental.statistics.overheat_counter",
        "UPS.EVER1.EVER68",
        "%.0f",
        0,
    ),
    num(
        "experimental.statistics.mains_operation_time",
        "UPS.EVER1.EVER69",
        "%.0f",
        0,
    ),
    num(
        "experimental.statistics.autonomous_operation_time",
        "UPS.EVER1.EVER70",
        "%.0f",
        0,
    ),
    num(
        "experimental.statistics.overload_operation_time",
        "UPS.EVER1.EVER71",
        "%.0f",
        0,
    ),
    conv(
        "experimental.networkcard.mac_address",
        "UPS.EVER1.EVER72",
        0,
        Conv::Ever(EverConv::Mac),
    ),
    conv(
        "experimental.networkcard.notification_destination_ip",
        "UPS.EVER1.EVER73",
        0,
        Conv::Ever(EverConv::Ip),
    ),
    conv(
        "experimental.networkcard.send_packets",
        "UPS.EVER1.EVER77",
        0,
        Conv::Ever(EverConv::Packets),
    ),
    conv(
        "experimental.networkcard.received_packets",
        "UPS.EVER1.EVER78",
        0,
        Conv::Ever(EverConv::Packets),
    ),
    conv(
        "experimental.networkcard.send_packets_err",
        "UPS.EVER1.EVER79",
        0,
        Conv::Ever(EverConv::Packets),
    ),
    conv(
        "experimental.networkcard.received_packets_err",
        "UPS.EVER1.EVER80",
        0,
        Conv::Ever(EverConv::Packets),
    ),
    num(
        "experimental.networkcard.config_dhcp_enabled",
        "UPS.EVER1.EVER85.EVER86",
        "%.0f",
        0,
    ),
    num(
        "experimental.networkcard.config_ethernet_enabled",
        "UPS.EVER1.EVER85.EVER87",
        "%.0f",
        0,
    ),
    num(
        "experimental.networkcard.config_http_enabled",
        "UPS.EVER1.EVER85.EVER88",
        "%.0f",
        0,
    ),
    num(
        "experimental.networkcard.config_snmp_enabled",
        "UPS.EVER1.EVER85.EVER89",
        "%.0f",
        0,
    ),
    num(
        "experimental.networkcard.config_snmp_trap_enabled",
        "UPS.EVER1.EVER85.EVER90",
        "%.0f",
        0,
    ),
    num(
        "experimental.networkcard.config_readonly",
        "UPS.EVER1.EVER85.EVER91",
        "%.0f",
        0,
    ),
    num(
        "experimental.networkcard.config_restart_eth",
        "UPS.EVER1.EVER85.EVER96",
        "%.0f",
        0,
    ),
    conv(
        "experimental.networkcard.ip_address",
        "UPS.EVER1.EVER93",
        0,
        Conv::Ever(EverConv::Ip),
    ),
    conv(
        "experimental.networkcard.network_mask",
        "UPS.EVER1.EVER94",
        0,
        Conv::Ever(EverConv::Ip),
    ),
    conv(
        "experimental.networkcard.default_gateway",
        "UPS.EVER1.EVER95",
        0,
        Conv::Ever(EverConv::Ip),
    ),
    num(
        "ups.realpower.nominal",
        "UPS.Flow.ConfigActivePower",
        "%.0f",
        0,
    ),
    num(
        "ups.power.nominal",
        "UPS.Flow.ConfigApparentPower",
        "%.0f",
        0,
    ),
    num(
        "output.frequency.nominal",
        "UPS.Flow.ConfigFrequency",
        "%.0f",
        0,
    ),
    num(
        "output.voltage.nominal",
        "UPS.Flow.ConfigVoltage",
        "%.0f",
        0,
    ),
    num("experimental.ups.flow_id", "UPS.Flow.FlowID", "%.0f", 0),
    num("outlet.1.id", "UPS.OutletSystem.Outlet.OutletID", "%.0f", 0),
    conv(
        "experimental.outlet.1.present",
        "UPS.OutletSystem.Outlet.PresentStatus.Present",
        0,
        Conv::Lookup(YES_NO),
    ),
    conv(
        "outlet.1.switchable",
        "UPS.OutletSystem.Outlet.PresentStatus.Switchable",
        0,
        Conv::Lookup(YES_NO),
    ),
    num(
        "outlet.1.status",
        "UPS.OutletSystem.Outlet.PresentStatus.SwitchOn/Off",
        "%.0f",
        0,
    ),
    num(
        "experimental.outlet.1.undefined",
        "UPS.OutletSystem.Outlet.PresentStatus.Undefined",
        "%.0f",
        0,
    ),
    num(
        "experimental.outlet.1.system_id",
        "UPS.OutletSystem.OutletSystemID",
        "%.0f",
        0,
    ),
    num(
        "experimental.outlet.1.switch_off_control",
        "UPS.OutletSystem.Outlet.SwitchOffControl",
        "%.0f",
        0,
    ),
    num(
        "experimental.outlet.1.switch_on_control",
        "UPS.OutletSystem.Outlet.SwitchOnControl",
        "%.0f",
        0,
    ),
    num(
        "experimental.powerconverter.input_flow_id",
        "UPS.PowerConverter.Input.FlowID",
        "%.0f",
        0,
    ),
    num(
        "input.frequency",
        "UPS.PowerConverter.Input.Frequency",
        "%.0f",
        0,
    ),
    num(
        "experimental.powerconverter.input_id",
        "UPS.PowerConverter.Input.InputID",
        "%.0f",
        0,
    ),
    num(
        "input.voltage",
        "UPS.PowerConverter.Input.Voltage",
        "%.0f",
        0,
    ),
    num(
        "ups.realpower",
        "UPS.PowerConverter.Output.ActivePower",
        "%.0f",
        0,
    ),
    num(
        "ups.power",
        "UPS.PowerConverter.Output.ApparentPower",
        "%.0f",
        0,
    ),
    num(
        "output.current",
        "UPS.PowerConverter.Output.Current",
        "%.0f",
        0,
    ),
    num(
        "experimental.powerconverter.output_flowid",
        "UPS.PowerConverter.Output.FlowID",
        "%.0f",
        0,
    ),
    num(
        "output.frequency",
        "UPS.PowerConverter.Output.Frequency",
        "%.0f",
        0,
    ),
    num(
        "experimental.powerconverter.output_id",
        "UPS.PowerConverter.Output.OutputID",
        "%.0f",
        0,
    ),
    num(
        "ups.load",
        "UPS.PowerConverter.Output.PercentLoad",
        "%.0f",
        0,
    ),
    // Read-only beside the writable row above.
    num(
        "output.voltage",
        "UPS.PowerConverter.Output.Voltage",
        "%.0f",
        flag::READ_ONLY,
    ),
    num(
        "experimental.powerconverter.powerconverterid",
        "UPS.PowerConverter.PowerConverterID",
        "%.0f",
        0,
    ),
    num(
        "experimental.powersummary.capacity_granularity_1",
        "UPS.PowerSummary.CapacityGranularity1",
        "%.0f",
        0,
    ),
    num(
        "experimental.powersummary.capacity_granularity_2",
        "UPS.PowerSummary.CapacityGranularity2",
        "%.0f",
        0,
    ),
    num(
        "experimental.powersummary.capacity_mode",
        "UPS.PowerSummary.CapacityMode",
        "%.0f",
        0,
    ),
    num(
        "ups.delay.shutdown",
        "UPS.PowerSummary.DelayBeforeShutdown",
        DEFAULT_OFFDELAY,
        flag::ABSENT,
    ),
    num(
        "battery.capacity",
        "UPS.PowerSummary.DesignCapacity",
        "%.0f",
        0,
    ),
    num(
        "experimental.powersummary.flow_id",
        "UPS.PowerSummary.FlowID",
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
        "battery.type",
        "UPS.PowerSummary.iDeviceChemistry",
        "%.0f",
        0,
    ),
    num("ups.load", "UPS.PowerSummary.PercentLoad", "%.0f", 0),
    num(
        "experimental.powersummary.rechargeable",
        "UPS.PowerSummary.Rechargeable",
        "%.0f",
        0,
    ),
    num(
        "battery.charge",
        "UPS.PowerSummary.RemainingCapacity",
        "%.0f",
        0,
    ),
    num(
        "battery.runtime.low",
        "UPS.PowerSummary.RemainingTimeLimit",
        "%.0f",
        0,
    ),
    num(
        "battery.runtime",
        "UPS.PowerSummary.RunTimeToEmpty",
        "%.0f",
        0,
    ),
    num("battery.voltage", "UPS.PowerSummary.Voltage", "%.0f", 0),
    num(
        "ups.timer.shutdown",
        "UPS.PowerSummary.DelayBeforeShutdown",
        "%.0f",
        Q,
    ),
    boolean("UPS.PowerSummary.PresentStatus.ACPresent", Q, ONLINE),
    boolean(
        "UPS.PowerSummary.PresentStatus.AwaitingPower",
        Q,
        AWAITINGPOWER,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.BatteryPresent",
        0,
        NOBATTERY,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.CommunicationLost",
        0,
        COMMFAULT,
    ),
    boolean("UPS.PowerSummary.PresentStatus.Discharging", Q, DISCHARGING),
    boolean(
        "UPS.PowerSummary.PresentStatus.NeedReplacement",
        0,
        REPLACEBATT,
    ),
    boolean("UPS.PowerSummary.PresentStatus.Overload", Q, OVERLOAD),
    boolean(
        "UPS.PowerSummary.PresentStatus.OverTemperature",
        0,
        OVERHEAT,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.ShutdownImminent",
        0,
        SHUTDOWNIMM,
    ),
    boolean("UPS.EVER1.EVER18.EVER19", 0, OVERLOAD),
    boolean("UPS.EVER1.EVER18.EVER20", 0, LOWBATT),
    boolean("UPS.EVER1.EVER18.EVER21", 0, BOOST),
    boolean("UPS.EVER1.EVER18.EVER22", 0, TRIM),
    boolean("UPS.EVER1.EVER18.EVER25", 0, CHARGING),
    boolean("UPS.EVER1.EVER18.EVER28", 0, REPLACEBATT),
    boolean("UPS.EVER1.EVER32.EVER33", 0, OVERLOAD),
    boolean("UPS.EVER1.EVER32.EVER40", 0, COMMFAULT),
    conv(
        "BOOL",
        "UPS.EVER1.EVER97.EVER102",
        0,
        Conv::Ever(EverConv::OnOff),
    ),
    conv(
        "experimental.status.workmode",
        "UPS.EVER1.EVER97.EVER98",
        0,
        Conv::Ever(EverConv::Workmode),
    ),
    conv(
        "experimental.status.messages",
        "UPS.EVER1.EVER18.EVER28",
        0,
        Conv::Ever(EverConv::Messages),
    ),
    conv(
        "experimental.status.alarms",
        "UPS.EVER1.EVER32.EVER33",
        0,
        Conv::Ever(EverConv::Alarms),
    ),
    cmd(
        "load.off.delay",
        "UPS.PowerSummary.DelayBeforeShutdown",
        DEFAULT_OFFDELAY,
    ),
    cmd(
        "shutdown.return",
        "UPS.PowerSummary.DelayBeforeShutdown",
        DEFAULT_OFFDELAY,
    ),
];

/// The variables `ever_hid2nut` flags writable, with their length (0: RW only; -1:
/// RW and NUMBER).
pub const EVER_WRITABLE: &[(&str, i64)] = &[
    ("experimental.control.ups_on", -1),
    ("experimental.control.clear_fault", -1),
    ("experimental.control.clear_battery_fault", -1),
    ("experimental.control.epo_blocked", -1),
    ("experimental.control.green_mode", -1),
    ("experimental.control.button_sound", -1),
    ("experimental.control.audible_alarm", -1),
    ("output.voltage", 3),
    ("experimental.config.overload_clearance_threshold", 2),
    ("experimental.config.stb_charge", 2),
    ("battery.packs.external", 1),
    ("experimental.outlet.1.switch_off_control", -1),
    ("experimental.outlet.1.switch_on_control", -1),
    ("ups.delay.shutdown", 10),
    ("battery.runtime.low", -1),
];
