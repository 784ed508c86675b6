//! Eaton / MGE's usbhid-ups subdriver (NUT 2.8.0 `drivers/mge-hid.c`, "MGE HID 1.46"):
//! its vendor usages, its table, its model-name rules and its conversion functions.
//! The state those functions keep in C globals (the model type found from the model
//! name, the country, whether Advanced Battery Monitoring is on, the first nominal
//! output voltage seen) lives in [`MgeState`], one per driver.
//!
//! Differences from NUT, on purpose:
//! - `ups.date` and `ups.time` are UTC (NUT's `localtime_r`), as upslog's times here.
//! - Writing `ups.date` or `ups.time` with a text that does not parse is refused; NUT
//!   writes 0 (1970-01-01) to the unit's clock then.
//! - The computed `ups.realpower` takes `output.powerfactor` as a number; NUT's `atoi`
//!   reads "0.80" as 0, so a unit that publishes a power factor got 0 W.

use crate::clients::CivilTime;
use crate::state::VarTree;
use crate::usbhid::{
    boolean, cmd, conv, flag, num, Conv, HidInfo, BEEPER, BOOST, COMMFAULT, DEFAULT_OFFDELAY,
    DEFAULT_ONDELAY, LOWBATT, NOBATTERY, OFF, ONLINE, ON_OFF, OVERHEAT, OVERLOAD, REPLACEBATT,
    SHUTDOWNIMM, TEST_RESULT, TRIM, VRANGE_INFO, YES_NO,
};

/// Eaton's USB vendor ID (MGE Office Protection Systems, earlier MGE UPS SYSTEMS).
pub const MGE_VENDORID: u16 = 0x0463;
/// Dell's vendor ID: Dell units name themselves fully in their product string.
pub const DELL_VENDORID: u16 = 0x047c;
/// Powerware's vendor ID.
pub const POWERWARE_VENDORID: u16 = 0x0592;
/// AEG's vendor ID.
pub const AEG_VENDORID: u16 = 0x2b2d;
/// Phoenixtec's vendor ID: liebert-hid.c's, except for AEG PROTECT NAS units.
pub const PHOENIXTEC_VENDORID: u16 = 0x06da;
/// IBM's vendor ID.
pub const IBM_VENDORID: u16 = 0x04b3;

/// Eaton / MGE vendor usages (`mge_usage_lkp`), page 0xffff.
pub const MGE_USAGES: &[(&str, u32)] = &[
    ("Undefined", 0xffff0000),
    ("STS", 0xffff0001),
    ("Environment", 0xffff0002),
    ("Statistic", 0xffff0003),
    ("StatisticSystem", 0xffff0004),
    ("Phase", 0xffff0010),
    ("PhaseID", 0xffff0011),
    ("Chopper", 0xffff0012),
    ("ChopperID", 0xffff0013),
    ("Inverter", 0xffff0014),
    ("InverterID", 0xffff0015),
    ("Rectifier", 0xffff0016),
    ("RectifierID", 0xffff0017),
    ("LCMSystem", 0xffff0018),
    ("LCMSystemID", 0xffff0019),
    ("LCMAlarm", 0xffff001a),
    ("LCMAlarmID", 0xffff001b),
    ("HistorySystem", 0xffff001c),
    ("HistorySystemID", 0xffff001d),
    ("Event", 0xffff001e),
    ("EventID", 0xffff001f),
    ("CircuitBreaker", 0xffff0020),
    ("TransferForbidden", 0xffff0021),
    ("OverallAlarm", 0xffff0022),
    ("Dephasing", 0xffff0023),
    ("BypassBreaker", 0xffff0024),
    ("PowerModule", 0xffff0025),
    ("PowerRate", 0xffff0026),
    ("PowerSource", 0xffff0027),
    ("CurrentPowerSource", 0xffff0028),
    ("RedundancyLevel", 0xffff0029),
    ("RedundancyLost", 0xffff002a),
    ("NotificationStatus", 0xffff002b),
    ("ProtectionLost", 0xffff002c),
    ("ConfigurationFailure", 0xffff002d),
    ("CompatibilityFailure", 0xffff002e),
    ("SwitchType", 0xffff0040),
    ("ConverterType", 0xffff0041),
    ("FrequencyConverterMode", 0xffff0042),
    ("AutomaticRestart", 0xffff0043),
    ("ForcedReboot", 0xffff0044),
    ("TestPeriod", 0xffff0045),
    ("EnergySaving", 0xffff0046),
    ("StartOnBattery", 0xffff0047),
    ("Schedule", 0xffff0048),
    ("DeepDischargeProtection", 0xffff0049),
    ("ShortCircuit", 0xffff004a),
    ("ExtendedVoltageMode", 0xffff004b),
    ("SensitivityMode", 0xffff004c),
    ("RemainingCapacityLimitSetting", 0xffff004d),
    ("ExtendedFrequencyMode", 0xffff004e),
    ("FrequencyConverterModeSetting", 0xffff004f),
    ("LowVoltageBoostTransfer", 0xffff0050),
    ("HighVoltageBoostTransfer", 0xffff0051),
    ("LowVoltageBuckTransfer", 0xffff0052),
    ("HighVoltageBuckTransfer", 0xffff0053),
    ("OverloadTransferEnable", 0xffff0054),
    ("OutOfToleranceTransferEnable", 0xffff0055),
    ("ForcedTransferEnable", 0xffff0056),
    ("LowVoltageBypassTransfer", 0xffff0057),
    ("HighVoltageBypassTransfer", 0xffff0058),
    ("FrequencyRangeBypassTransfer", 0xffff0059),
    ("LowVoltageEcoTransfer", 0xffff005a),
    ("HighVoltageEcoTransfer", 0xffff005b),
    ("FrequencyRangeEcoTransfer", 0xffff005c),
    ("ShutdownTimer", 0xffff005d),
    ("StartupTimer", 0xffff005e),
    ("RestartLevel", 0xffff005f),
    ("PhaseOutOfRange", 0xffff0060),
    ("CurrentLimitation", 0xffff0061),
    ("ThermalOverload", 0xffff0062),
    ("SynchroSource", 0xffff0063),
    ("FuseFault", 0xffff0064),
    ("ExternalProtectedTransfert", 0xffff0065),
    ("ExternalForcedTransfert", 0xffff0066),
    ("Compensation", 0xffff0067),
    ("EmergencyStop", 0xffff0068),
    ("PowerFactor", 0xffff0069),
    ("PeakFactor", 0xffff006a),
    ("ChargerType", 0xffff006b),
    ("HighPositiveDCBusVoltage", 0xffff006c),
    ("LowPositiveDCBusVoltage", 0xffff006d),
    ("HighNegativeDCBusVoltage", 0xffff006e),
    ("LowNegativeDCBusVoltage", 0xffff006f),
    ("FrequencyRangeTransfer", 0xffff0070),
    ("WiringFaultDetection", 0xffff0071),
    ("ControlStandby", 0xffff0072),
    ("ShortCircuitTolerance", 0xffff0073),
    ("VoltageTooHigh", 0xffff0074),
    ("VoltageTooLow", 0xffff0075),
    ("DCBusUnbalanced", 0xffff0076),
    ("FanFailure", 0xffff0077),
    ("WiringFault", 0xffff0078),
    ("Floating", 0xffff0079),
    ("OverCurrent", 0xffff007a),
    ("RemainingActivePower", 0xffff007b),
    ("Energy", 0xffff007c),
    ("Threshold", 0xffff007d),
    ("OverThreshold", 0xffff007e),
    ("Sensor", 0xffff0080),
    ("LowHumidity", 0xffff0081),
    ("HighHumidity", 0xffff0082),
    ("LowTemperature", 0xffff0083),
    ("HighTemperature", 0xffff0084),
    ("ECOControl", 0xffff0085),
    ("Efficiency", 0xffff0086),
    ("ABMEnable", 0xffff0087),
    ("NegativeCurrent", 0xffff0088),
    ("AutomaticStart", 0xffff0089),
    ("Count", 0xffff0090),
    ("Timer", 0xffff0091),
    ("Interval", 0xffff0092),
    ("TimerExpired", 0xffff0093),
    ("Mode", 0xffff0094),
    ("Country", 0xffff0095),
    ("State", 0xffff0096),
    ("Time", 0xffff0097),
    ("Code", 0xffff0098),
    ("DataValid", 0xffff0099),
    ("ToggleTimer", 0xffff009a),
    ("BypassTransferDelay", 0xffff009b),
    ("HysteresysVoltageTransfer", 0xffff009c),
    ("SlewRate", 0xffff009d),
    ("PDU", 0xffff00a0),
    ("Breaker", 0xffff00a1),
    ("BreakerID", 0xffff00a2),
    ("OverVoltage", 0xffff00a3),
    ("Tripped", 0xffff00a4),
    ("OverEnergy", 0xffff00a5),
    ("OverHumidity", 0xffff00a6),
    ("ConfigurationReset", 0xffff00a7),
    ("Level", 0xffff00a8),
    ("PDUType", 0xffff00a9),
    ("ReactivePower", 0xffff00aa),
    ("Pole", 0xffff00ab),
    ("PoleID", 0xffff00ac),
    ("Reset", 0xffff00ad),
    ("WatchdogReset", 0xffff00ae),
    ("COPIBridge", 0xffff00e0),
    ("iModel", 0xffff00f0),
    ("iVersion", 0xffff00f1),
    ("iTechnicalLevel", 0xffff00f2),
    ("iPartNumber", 0xffff00f3),
    ("iReferenceNumber", 0xffff00f4),
    ("iGang", 0xffff00f5),
];

/// Model types (mge-hid.c `models_type_t`): the high byte is the series.
pub mod model {
    /// Offline units (Ellipse, Protection Center...): every type below 0x200.
    pub const DEFAULT_OFFLINE: u16 = 0;
    /// Protection Station and Ellipse ECO (Eco control).
    pub const PEGASUS: u16 = 0x100;
    /// 3S (Eco control on the AUS 700 and US 750).
    pub const THREE_S: u16 = 0x110;
    /// Line-interactive and online units: the type until the model name says more.
    pub const DEFAULT: u16 = 0x200;
    /// Evolution series.
    pub const EVOLUTION: u16 = 0x300;
    /// Evolution 650 (battery.voltage.nominal is 12 V whatever the unit says).
    pub const EVOLUTION_650: u16 = 0x301;
    /// Evolution 850.
    pub const EVOLUTION_850: u16 = 0x302;
    /// Evolution 1150.
    pub const EVOLUTION_1150: u16 = 0x303;
    /// Evolution S 1250.
    pub const EVOLUTION_S_1250: u16 = 0x304;
    /// Evolution 1550.
    pub const EVOLUTION_1550: u16 = 0x305;
    /// Evolution S 1750.
    pub const EVOLUTION_S_1750: u16 = 0x306;
    /// Evolution 2000.
    pub const EVOLUTION_2000: u16 = 0x307;
    /// Evolution S 2500.
    pub const EVOLUTION_S_2500: u16 = 0x308;
    /// Evolution S 3000.
    pub const EVOLUTION_S_3000: u16 = 0x309;
    /// Pulsar M series.
    pub const PULSAR_M: u16 = 0x400;
    /// Pulsar M 2200.
    pub const PULSAR_M_2200: u16 = 0x401;
    /// Pulsar M 3000.
    pub const PULSAR_M_3000: u16 = 0x402;
    /// Pulsar M 3000 XL.
    pub const PULSAR_M_3000_XL: u16 = 0x403;
    /// Eaton 5P / 5PX.
    pub const EATON_5P: u16 = 0x500;
}

/// Countries (mge-hid.c `country_code_t`), from `UPS.PowerSummary.Country`.
pub mod country {
    /// Not read (yet).
    pub const UNKNOWN: i64 = -1;
    /// Europe.
    pub const EUROPE: i64 = 0;
    /// European models that also support 200 / 208 V.
    pub const EUROPE_208: i64 = 2;
}

/// One row of `mge_model_names`: the product string, the `iModel` string, the type
/// and the name to publish (`None`: "<product> <model>").
#[derive(Debug, Clone, Copy)]
pub struct ModelName {
    /// The USB product string (`iProduct`).
    pub product: &'static str,
    /// The `UPS.PowerSummary.iModel` string (or the apparent power).
    pub model: &'static str,
    /// [`model`] type.
    pub kind: u16,
    /// The published name.
    pub name: Option<&'static str>,
}

const fn m(
    product: &'static str,
    model: &'static str,
    kind: u16,
    name: Option<&'static str>,
) -> ModelName {
    ModelName {
        product,
        model,
        kind,
        name,
    }
}

use model::*;

/// `mge_model_names`, in NUT's order.
pub const MODEL_NAMES: &[ModelName] = &[
    m("ELLIPSE", "300", DEFAULT_OFFLINE, Some("ellipse 300")),
    m("ELLIPSE", "500", DEFAULT_OFFLINE, Some("ellipse 500")),
    m("ELLIPSE", "650", DEFAULT_OFFLINE, Some("ellipse 650")),
    m("ELLIPSE", "800", DEFAULT_OFFLINE, Some("ellipse 800")),
    m("ELLIPSE", "1200", DEFAULT_OFFLINE, Some("ellipse 1200")),
    m(
        "ellipse",
        "PR500",
        DEFAULT_OFFLINE,
        Some("ellipse premium 500"),
    ),
    m(
        "ellipse",
        "PR650",
        DEFAULT_OFFLINE,
        Some("ellipse premium 650"),
    ),
    m(
        "ellipse",
        "PR800",
        DEFAULT_OFFLINE,
        Some("ellipse premium 800"),
    ),
    m(
        "ellipse",
        "PR1200",
        DEFAULT_OFFLINE,
        Some("ellipse premium 1200"),
    ),
    m("ELLIPSE", "600", DEFAULT_OFFLINE, Some("Ellipse 600")),
    m("ELLIPSE", "750", DEFAULT_OFFLINE, Some("Ellipse 750")),
    m("ELLIPSE", "1000", DEFAULT_OFFLINE, Some("Ellipse 1000")),
    m("ELLIPSE", "1500", DEFAULT_OFFLINE, Some("Ellipse 1500")),
    m("Ellipse MAX", "600", DEFAULT_OFFLINE, None),
    m("Ellipse MAX", "850", DEFAULT_OFFLINE, None),
    m("Ellipse MAX", "1100", DEFAULT_OFFLINE, None),
    m("Ellipse MAX", "1500", DEFAULT_OFFLINE, None),
    m(
        "PROTECTIONCENTER",
        "420",
        DEFAULT_OFFLINE,
        Some("Protection Center 420"),
    ),
    m(
        "PROTECTIONCENTER",
        "500",
        DEFAULT_OFFLINE,
        Some("Protection Center 500"),
    ),
    m(
        "PROTECTIONCENTER",
        "675",
        DEFAULT_OFFLINE,
        Some("Protection Center 675"),
    ),
    m("Protection Station", "500", PEGASUS, None),
    m("Protection Station", "650", PEGASUS, None),
    m("Protection Station", "800", PEGASUS, None),
    m("Ellipse ECO", "650", PEGASUS, None),
    m("Ellipse ECO", "800", PEGASUS, None),
    m("Ellipse ECO", "1200", PEGASUS, None),
    m("Ellipse ECO", "1600", PEGASUS, None),
    m("3S", "450", DEFAULT_OFFLINE, None),
    m("3S", "550", DEFAULT_OFFLINE, None),
    m("3S", "700", THREE_S, None),
    m("3S", "750", THREE_S, None),
    m("Evolution", "500", DEFAULT, Some("Pulsar Evolution 500")),
    m("Evolution", "800", DEFAULT, Some("Pulsar Evolution 800")),
    m("Evolution", "1100", DEFAULT, Some("Pulsar Evolution 1100")),
    m("Evolution", "1500", DEFAULT, Some("Pulsar Evolution 1500")),
    m("Evolution", "2200", DEFAULT, Some("Pulsar Evolution 2200")),
    m("Evolution", "3000", DEFAULT, Some("Pulsar Evolution 3000")),
    m(
        "Evolution",
        "3000XL",
        DEFAULT,
        Some("Pulsar Evolution 3000 XL"),
    ),
    m("Evolution", "650", EVOLUTION_650, None),
    m("Evolution", "850", EVOLUTION_850, None),
    m("Evolution", "1150", EVOLUTION_1150, None),
    m("Evolution", "S 1250", EVOLUTION_S_1250, None),
    m("Evolution", "1550", EVOLUTION_1550, None),
    m("Evolution", "S 1750", EVOLUTION_S_1750, None),
    m("Evolution", "2000", EVOLUTION_2000, None),
    m("Evolution", "S 2500", EVOLUTION_S_2500, None),
    m("Evolution", "S 3000", EVOLUTION_S_3000, None),
    m("Eaton 5P", "650", EATON_5P, Some("5P 650")),
    m("Eaton 5P", "850", EATON_5P, Some("5P 850")),
    m("Eaton 5P", "1150", EATON_5P, Some("5P 1150")),
    m("Eaton 5P", "1550", EATON_5P, Some("5P 1550")),
    m("PULSAR M", "2200", PULSAR_M_2200, None),
    m("PULSAR M", "3000", PULSAR_M_3000, None),
    m("PULSAR M", "3000 XL", PULSAR_M_3000_XL, None),
    m("EX", "2200", PULSAR_M_2200, None),
    m("EX", "3000", PULSAR_M_3000, None),
    m("EX", "3000 XL", PULSAR_M_3000, None),
    m("PULSAR", "MX4000", DEFAULT, Some("Pulsar MX 4000 RT")),
    m("PULSAR", "MX5000", DEFAULT, Some("Pulsar MX 5000 RT")),
    m("NOVA AVR", "500", DEFAULT, Some("Nova 500 AVR")),
    m("NOVA AVR", "600", DEFAULT, Some("Nova 600 AVR")),
    m("NOVA AVR", "625", DEFAULT, Some("Nova 625 AVR")),
    m("NOVA AVR", "1100", DEFAULT, Some("Nova 1100 AVR")),
    m("NOVA AVR", "1250", DEFAULT, Some("Nova 1250 AVR")),
    m("EXtreme", "700C", DEFAULT, Some("Pulsar EXtreme 700C")),
    m("EXtreme", "1000C", DEFAULT, Some("Pulsar EXtreme 1000C")),
    m("EXtreme", "1500C", DEFAULT, Some("Pulsar EXtreme 1500C")),
    m(
        "EXtreme",
        "1500CCLA",
        DEFAULT,
        Some("Pulsar EXtreme 1500C CLA"),
    ),
    m("EXtreme", "2200C", DEFAULT, Some("Pulsar EXtreme 2200C")),
    m("EXtreme", "3200C", DEFAULT, Some("Pulsar EXtreme 3200C")),
    m("EX", "700RT", DEFAULT, Some("Pulsar EX 700 RT")),
    m("EX", "1000RT", DEFAULT, Some("Pulsar EX 1000 RT")),
    m("EX", "1500RT", DEFAULT, Some("Pulsar EX 1500 RT")),
    m("EX", "2200RT", DEFAULT, Some("Pulsar EX 2200 RT")),
    m("EX", "3200RT", DEFAULT, Some("Pulsar EX 3200 RT")),
    m("EX", "5RT31", DEFAULT, Some("EX 5 RT 3:1")),
    m("EX", "7RT31", DEFAULT, Some("EX 7 RT 3:1")),
    m("EX", "11RT31", DEFAULT, Some("EX 11 RT 3:1")),
    m("EX", "5RT", DEFAULT, Some("EX 5 RT")),
    m("EX", "7RT", DEFAULT, Some("EX 7 RT")),
    m("EX", "11RT", DEFAULT, Some("EX 11 RT")),
    m("GALAXY", "3000_10", DEFAULT, Some("Galaxy 3000 10 kVA")),
    m("GALAXY", "3000_15", DEFAULT, Some("Galaxy 3000 15 kVA")),
    m("GALAXY", "3000_20", DEFAULT, Some("Galaxy 3000 20 kVA")),
    m("GALAXY", "3000_30", DEFAULT, Some("Galaxy 3000 30 kVA")),
];

/// Bytes of the buffers mge-hid.c builds the model name in (`SMALLBUF`).
pub const MODEL_BUF_BYTES: usize = 512;

/// mge-hid.c `get_model_name`: the name to publish for `product` (the USB product
/// string) and `model` (the `iModel` string or the apparent power), and the type of a
/// listed model (exact, case-sensitive match, as `strcmp`).
pub fn model_name(product: &str, model: &str) -> (String, Option<u16>) {
    match MODEL_NAMES
        .iter()
        .find(|n| n.product == product && n.model == model)
    {
        Some(found) => (
            found
                .name
                .map_or_else(|| joined(product, model), str::to_string),
            Some(found.kind),
        ),
        None => (joined(product, model), None),
    }
}

/// "<product> <model>" in NUT's `SMALLBUF` buffer.
fn joined(product: &str, model: &str) -> String {
    let mut text = format!("{product} {model}");
    crate::usbhid::cut_at_boundary(&mut text, MODEL_BUF_BYTES - 1);
    text
}

/// mge-hid.c's conversion functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MgeConv {
    /// `eaton_abm_enabled_fun`: remembers whether ABM is on; publishes nothing.
    AbmEnabled,
    /// `eaton_abm_status_fun`: `battery.charger.status` (deleted while ABM is off).
    AbmStatus,
    /// `eaton_abm_chrg_dischrg_fun`: CHRG/DISCHRG from the charger mode under ABM.
    AbmChrgDischrg,
    /// `eaton_abm_check_dischrg_fun`: DISCHRG from the status bit, only without ABM.
    CheckDischrg,
    /// `eaton_abm_check_chrg_fun`: CHRG from the status bit, only without ABM.
    CheckChrg,
    /// `mge_date_conversion_fun`: Unix time as `YYYY/MM/DD`.
    Date,
    /// `mge_time_conversion_fun`: Unix time as `HH:MM:SS`.
    Time,
    /// `mge_battery_voltage_nominal_fun`: only on Evolution, Pulsar M and 5P units.
    BattVoltNominal,
    /// `mge_battery_voltage_fun`: only on Evolution, Pulsar M and 5P units.
    BattVolt,
    /// `mge_powerfactor_conversion_fun`: hundredths.
    PowerFactor,
    /// `mge_battery_capacity_fun`: ampere-seconds to ampere-hours.
    BattCapacity,
    /// `eaton_check_pegasus_fun` (`pegasus_threshold_info`: 10, 25 or 60 VA).
    PegasusThreshold,
    /// `pegasus_yes_no_info_fun`.
    PegasusYesNo,
    /// `eaton_check_country_fun`: remembers the country; publishes nothing.
    Country,
    /// `eaton_compute_realpower_fun`: load x nominal power x power factor.
    RealPower,
    /// `nominal_output_voltage_fun`: the settable nominal voltages of a HV or LV unit.
    NominalOutputVoltage,
    /// `eaton_converter_online_fun`: online or not, unless the unit is off.
    ConverterOnline,
}

/// A converted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MgeValue {
    /// The variable's text.
    Text(String),
    /// A status flag, on or off.
    Flag(&'static str, bool),
    /// The variable goes (`dstate_delinfo`); nothing is published.
    Delete,
    /// Nothing published (the C function returned NULL).
    Nothing,
}

/// The hid values `pegasus_threshold_info` lists.
const PEGASUS_THRESHOLDS: &[i64] = &[10, 25, 60];
/// The hid values `nominal_output_voltage_info` lists, in its order.
const NOMINAL_VOLTAGES: &[i64] = &[200, 208, 220, 230, 240, 100, 110, 120, 127];

/// What mge-hid.c keeps in globals, for one driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MgeState {
    /// The model type ([`model`]), from the model name.
    pub model_type: u16,
    /// `advanced_battery_monitoring`: -1 unknown, 0 disabled, 1 enabled (the unit's
    /// value as it came).
    abm: i64,
    /// `country_code`.
    country: i64,
    /// `nominal_output_voltage_fun`'s static `nominal`: the first value it saw.
    nominal: Option<i64>,
}

impl Default for MgeState {
    fn default() -> Self {
        MgeState {
            model_type: DEFAULT,
            abm: -1,
            country: country::UNKNOWN,
            nominal: None,
        }
    }
}

/// C's `(long)value` for a double: truncation, saturating where C is undefined.
fn long(value: f64) -> i64 {
    value as i64
}

impl MgeState {
    fn series(&self) -> u16 {
        self.model_type & 0xff00
    }

    /// `eaton_check_pegasus_fun`'s test: Protection Station, Ellipse ECO and 3S. The
    /// 3S's own case (non-European units only) is never reached in NUT: 0x110 masked
    /// with 0xff00 is Pegasus's 0x100, so every 3S 700/750 counts, as here.
    fn pegasus(&self) -> bool {
        match self.series() {
            PEGASUS => true,
            THREE_S => self.country != country::EUROPE,
            _ => false,
        }
    }

    /// The hid values an enumerated variable may take (NUT's `HU_FLAG_ENUM` loop), for
    /// conversions that have a list.
    pub fn enum_keys(conv: MgeConv) -> &'static [i64] {
        match conv {
            MgeConv::PegasusThreshold => PEGASUS_THRESHOLDS,
            MgeConv::NominalOutputVoltage => NOMINAL_VOLTAGES,
            _ => &[],
        }
    }

    /// A reading through `conv`. `tree` holds the published variables (for the
    /// computed real power), `off` whether the unit said it is off in this walk.
    pub fn convert(&mut self, conv: MgeConv, value: f64, tree: &VarTree, off: bool) -> MgeValue {
        let text = |t: &str| MgeValue::Text(t.to_string());
        match conv {
            MgeConv::AbmEnabled => {
                self.abm = long(value);
                MgeValue::Nothing
            }
            MgeConv::AbmStatus => {
                if self.abm == 0 {
                    return MgeValue::Delete;
                }
                match long(value) {
                    1 => text("charging"),
                    2 => text("discharging"),
                    3 => text("floating"),
                    4 => text("resting"),
                    6 => text("off"),
                    _ => MgeValue::Nothing,
                }
            }
            MgeConv::AbmChrgDischrg => {
                if self.abm == 0 {
                    return MgeValue::Nothing;
                }
                match long(value) {
                    1 | 3 => MgeValue::Flag("chrg", true),
                    2 => MgeValue::Flag("dischrg", true),
                    _ => MgeValue::Nothing,
                }
            }
            // With ABM on (or not known) the flag is cleared, so that one set while
            // ABM was off does not stay.
            MgeConv::CheckDischrg => MgeValue::Flag("dischrg", self.abm == 0 && value == 1.0),
            MgeConv::CheckChrg => MgeValue::Flag("chrg", self.abm == 0 && value == 1.0),
            MgeConv::Date | MgeConv::Time => {
                // time_t sec = value; strftime into 20 bytes, kept only at the
                // expected length (10 or 8).
                let t = CivilTime::from_epoch(value as i64);
                let (out, len) = if conv == MgeConv::Date {
                    (format!("{:04}/{:02}/{:02}", t.year, t.month, t.day), 10)
                } else {
                    (format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second), 8)
                };
                if out.len() == len {
                    MgeValue::Text(out)
                } else {
                    MgeValue::Nothing
                }
            }
            MgeConv::BattVoltNominal => match self.series() {
                EVOLUTION => {
                    let v = if self.model_type == EVOLUTION_650 {
                        12.0
                    } else {
                        value
                    };
                    MgeValue::Text(format!("{v:.0}"))
                }
                PULSAR_M | EATON_5P => MgeValue::Text(format!("{value:.0}")),
                _ => MgeValue::Nothing,
            },
            MgeConv::BattVolt => match self.series() {
                EVOLUTION | PULSAR_M | EATON_5P => MgeValue::Text(format!("{value:.1}")),
                _ => MgeValue::Nothing,
            },
            MgeConv::PowerFactor => MgeValue::Text(format!("{:.2}", value / 100.0)),
            MgeConv::BattCapacity => MgeValue::Text(format!("{:.2}", value / 3600.0)),
            MgeConv::PegasusThreshold => {
                // hu_find_infoval calls the first entry's function whatever the value.
                if self.pegasus() {
                    MgeValue::Text(format!("{value:.0}"))
                } else {
                    MgeValue::Nothing
                }
            }
            MgeConv::PegasusYesNo => {
                if !self.pegasus() {
                    MgeValue::Nothing
                } else if value == 0.0 {
                    text("no")
                } else {
                    text("yes")
                }
            }
            MgeConv::Country => {
                self.country = long(value);
                MgeValue::Nothing
            }
            MgeConv::RealPower => {
                let (Some(load), Some(nominal)) =
                    (tree.value("ups.load"), tree.value("ups.power.nominal"))
                else {
                    return MgeValue::Nothing;
                };
                let load = crate::clients::c_atol(load) as f64;
                let nominal = crate::clients::c_atol(nominal) as f64;
                let factor = match tree.value("output.powerfactor") {
                    Some(pf) => c_atof(pf),
                    None => 0.80,
                };
                let realpower = (load * 0.01 * nominal * factor).round();
                MgeValue::Text(format!("{realpower:.0}"))
            }
            MgeConv::NominalOutputVoltage => {
                // The C static starts at -1 and takes a value while it is negative.
                let nominal = match self.nominal {
                    Some(n) if n >= 0 => n,
                    _ => {
                        self.nominal = Some(long(value));
                        long(value)
                    }
                };
                let v = long(value);
                let interactive = self.series() >= DEFAULT;
                let ok = match nominal {
                    100 | 110 | 120 | 127 => matches!(v, 100 | 110 | 120 | 127),
                    200 | 208 => match v {
                        200 | 208 => true,
                        220 | 230 | 240 => interactive,
                        _ => false,
                    },
                    220 | 230 | 240 => match v {
                        // Line-interactive and online units also take 200 / 208 V.
                        200 | 208 => interactive,
                        220 | 230 | 240 => true,
                        _ => false,
                    },
                    // NUT cannot tell the settable voltages: any value is published.
                    _ => true,
                };
                if ok {
                    MgeValue::Text(format!("{value:.0}"))
                } else {
                    MgeValue::Nothing
                }
            }
            MgeConv::ConverterOnline => {
                if off {
                    MgeValue::Nothing
                } else {
                    MgeValue::Flag("online", value != 0.0)
                }
            }
        }
    }

    /// The hid value to write for `text` (the conversion's `nuf`, or the reverse
    /// lookup of its list); `None` when there is none.
    pub fn reverse(&self, conv: MgeConv, text: &str, tree: &VarTree) -> Option<f64> {
        match conv {
            MgeConv::Date => {
                let time = tree.value("ups.time")?;
                parse_datetime(&format!("{text} {time}")).map(|t| t as f64)
            }
            MgeConv::Time => {
                let date = tree.value("ups.date")?;
                parse_datetime(&format!("{date} {text}")).map(|t| t as f64)
            }
            MgeConv::PegasusYesNo => Some(if self.pegasus() && text.starts_with("yes") {
                1.0
            } else {
                0.0
            }),
            MgeConv::PegasusThreshold | MgeConv::NominalOutputVoltage => Self::enum_keys(conv)
                .iter()
                .find(|k| k.to_string() == text)
                .map(|k| *k as f64),
            _ => None,
        }
    }
}

/// C's `atof`: the leading decimal number of `text`, 0 when there is none.
fn c_atof(text: &str) -> f64 {
    let text = text.trim_start();
    let mut end = 0;
    let bytes = text.as_bytes();
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        end = 1;
    }
    let mut seen_dot = false;
    while let Some(&b) = bytes.get(end) {
        if b.is_ascii_digit() || (b == b'.' && !seen_dot) {
            seen_dot |= b == b'.';
            end += 1;
        } else {
            break;
        }
    }
    text[..end].parse().unwrap_or(0.0)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (the inverse of
/// [`CivilTime::from_epoch`]'s day count).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Bytes of mge-hid.c's scratch buffer the date and time are joined in (19 kept).
pub const SCRATCH_BUF_BYTES: usize = 20;

/// NUT's `mge_*_conversion_nuf`: "date time" joined in [`SCRATCH_BUF_BYTES`], then
/// glibc's strptime `%Y/%m/%d %H:%M:%S` (numbers of up to 4 digits for the year and 2
/// for the others, in their ranges, blanks allowed before each; anything after the
/// seconds ignored), as seconds since the epoch (UTC; NUT's mktime takes local time).
fn parse_datetime(text: &str) -> Option<i64> {
    let mut joined = text.to_string();
    crate::usbhid::cut_at_boundary(&mut joined, SCRATCH_BUF_BYTES - 1);
    let bytes = joined.as_bytes();
    let blanks = |pos: &mut usize| {
        while bytes.get(*pos).is_some_and(u8::is_ascii_whitespace) {
            *pos += 1;
        }
    };
    // glibc's get_number: blanks, then up to `digits` digits, in range.
    let number = |pos: &mut usize, digits: usize, lo: i64, hi: i64| -> Option<i64> {
        blanks(pos);
        let start = *pos;
        while *pos - start < digits && bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
            *pos += 1;
        }
        let v: i64 = joined.get(start..*pos)?.parse().ok()?;
        (lo..=hi).contains(&v).then_some(v)
    };
    let mut pos = 0;
    let year = number(&mut pos, 4, 0, 9999)?;
    let mut fields = [year, 0, 0, 0, 0, 0];
    let layout: [(u8, i64, i64); 5] = [
        (b'/', 1, 12),
        (b'/', 1, 31),
        (b' ', 0, 23),
        (b':', 0, 59),
        (b':', 0, 61),
    ];
    for (i, (separator, lo, hi)) in layout.into_iter().enumerate() {
        if separator == b' ' {
            // A blank in the format matches any run of blanks, none included.
            blanks(&mut pos);
        } else if bytes.get(pos) == Some(&separator) {
            pos += 1;
        } else {
            return None;
        }
        fields[i + 1] = number(&mut pos, 2, lo, hi)?;
    }
    let [year, month, day, hour, minute, second] = fields;
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

const fn mge(var: &'static str, path: &'static str, flags: u32, c: MgeConv) -> HidInfo {
    conv(var, path, flags, Conv::Mge(c))
}

const fn bool_mge(path: &'static str, flags: u32, c: MgeConv) -> HidInfo {
    conv("BOOL", path, flags, Conv::Mge(c))
}

const fn alarm(path: &'static str, table: &'static [(i64, &'static str)]) -> HidInfo {
    conv("ups.alarm", path, 0, Conv::Lookup(table))
}

const fn lookup(
    var: &'static str,
    path: &'static str,
    flags: u32,
    table: &'static [(i64, &'static str)],
) -> HidInfo {
    conv(var, path, flags, Conv::Lookup(table))
}

const ENABLE_DISABLE: &[(i64, &str)] = &[(0, "disabled"), (1, "enabled")];
const UPSTYPE: &[(i64, &str)] = &[
    (1, "offline / line interactive"),
    (2, "online"),
    (3, "online - unitary/parallel"),
    (4, "online - parallel with hot standy"),
    (5, "online - hot standby redundancy"),
];
const SENSITIVITY: &[(i64, &str)] = &[(0, "normal"), (1, "high"), (2, "low")];
const ONBATT: &[(i64, &str)] = &[(1, "!online"), (0, "online")];
const BYPASS_AUTO: &[(i64, &str)] = &[(1, "bypassauto"), (0, "!bypassauto")];
const BYPASS_MANUAL: &[(i64, &str)] = &[(1, "bypassman"), (0, "!bypassman")];
const FANFAIL: &[(i64, &str)] = &[(1, "fanfail"), (0, "!fanfail")];
const CHARGERFAIL: &[(i64, &str)] = &[(1, "chargerfail"), (0, "!chargerfail")];
const BATTVOLTHI: &[(i64, &str)] = &[(1, "battvolthi"), (0, "!battvolthi")];
const BATTVOLTLO: &[(i64, &str)] = &[(1, "battvoltlo"), (0, "!battvoltlo")];
const FRANGE_INFO: &[(i64, &str)] = &[(0, "!frange"), (1, "frange")];

const S: u32 = flag::STATIC;
const SEMI: u32 = flag::SEMI_STATIC;
const Q: u32 = flag::QUICK;
const RO: u32 = flag::READ_ONLY;

/// Eaton / MGE's table (`mge_hid2nut`), in NUT's order (with strptime, as Debian
/// builds it: `ups.date` and `ups.time` writable).
pub const MGE_HID2NUT: &[HidInfo] = &[
    mge(
        "device.country",
        "UPS.PowerSummary.Country",
        S,
        MgeConv::Country,
    ),
    // Battery page
    num(
        "battery.charge",
        "UPS.PowerSummary.RemainingCapacity",
        "%.0f",
        0,
    ),
    num(
        "battery.charge.low",
        "UPS.PowerSummary.RemainingCapacityLimitSetting",
        "%.0f",
        SEMI,
    ),
    num(
        "battery.charge.low",
        "UPS.PowerSummary.RemainingCapacityLimit",
        "%.0f",
        S | RO,
    ),
    num(
        "battery.charge.restart",
        "UPS.PowerSummary.RestartLevel",
        "%.0f",
        SEMI,
    ),
    mge(
        "battery.capacity",
        "UPS.BatterySystem.Battery.DesignCapacity",
        S,
        MgeConv::BattCapacity,
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
        0,
    ),
    num(
        "battery.runtime.elapsed",
        "UPS.StatisticSystem.Input.[1].Statistic.[1].Time",
        "%.0f",
        Q,
    ),
    num(
        "battery.runtime.low",
        "UPS.PowerSummary.RemainingTimeLimit",
        "%.0f",
        0,
    ),
    conv(
        "battery.temperature",
        "UPS.BatterySystem.Battery.Temperature",
        0,
        Conv::Kelvin,
    ),
    conv(
        "battery.type",
        "UPS.PowerSummary.iDeviceChemistry",
        S,
        Conv::StringId,
    ),
    num("battery.voltage", "UPS.BatterySystem.Voltage", "%.1f", 0),
    mge(
        "battery.voltage",
        "UPS.PowerSummary.Voltage",
        0,
        MgeConv::BattVolt,
    ),
    num(
        "battery.voltage.nominal",
        "UPS.BatterySystem.ConfigVoltage",
        "%.0f",
        S,
    ),
    mge(
        "battery.voltage.nominal",
        "UPS.PowerSummary.ConfigVoltage",
        S,
        MgeConv::BattVoltNominal,
    ),
    lookup(
        "battery.protection",
        "UPS.BatterySystem.Battery.DeepDischargeProtection",
        SEMI,
        YES_NO,
    ),
    lookup(
        "battery.energysave",
        "UPS.PowerConverter.Input.[3].EnergySaving",
        SEMI,
        YES_NO,
    ),
    num(
        "battery.energysave.load",
        "UPS.PowerConverter.Input.[3].ConfigPercentLoad",
        "%.0f",
        SEMI,
    ),
    num(
        "battery.energysave.delay",
        "UPS.PowerConverter.Input.[3].EnergySaving.ShutdownTimer",
        "%.0f",
        SEMI,
    ),
    num(
        "battery.energysave.delay",
        "UPS.PowerConverter.Input.[3].ShutdownTimer",
        "%.0f",
        SEMI,
    ),
    num(
        "battery.energysave.realpower",
        "UPS.PowerConverter.Input.[3].ConfigActivePower",
        "%.0f",
        SEMI,
    ),
    // ABM: the first row only remembers whether it is on; before the status flags.
    mge(
        "battery.charger.status",
        "UPS.BatterySystem.Charger.ABMEnable",
        Q,
        MgeConv::AbmEnabled,
    ),
    mge(
        "battery.charger.status",
        "UPS.BatterySystem.Charger.Mode",
        Q,
        MgeConv::AbmStatus,
    ),
    // UPS page
    num(
        "ups.efficiency",
        "UPS.PowerConverter.Output.Efficiency",
        "%.0f",
        0,
    ),
    conv(
        "ups.firmware",
        "UPS.PowerSummary.iVersion",
        S,
        Conv::StringId,
    ),
    num("ups.load", "UPS.PowerSummary.PercentLoad", "%.0f", 0),
    num(
        "ups.load.high",
        "UPS.Flow.[4].ConfigPercentLoad",
        "%.0f",
        SEMI,
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
    num(
        "ups.timer.reboot",
        "UPS.PowerSummary.DelayBeforeReboot",
        "%.0f",
        Q,
    ),
    lookup(
        "ups.test.result",
        "UPS.BatterySystem.Battery.Test",
        0,
        TEST_RESULT,
    ),
    num(
        "ups.test.interval",
        "UPS.BatterySystem.Battery.TestPeriod",
        "%.0f",
        SEMI,
    ),
    lookup(
        "ups.beeper.status",
        "UPS.BatterySystem.Battery.AudibleAlarmControl",
        SEMI,
        BEEPER,
    ),
    lookup(
        "ups.beeper.status",
        "UPS.PowerSummary.AudibleAlarmControl",
        SEMI,
        BEEPER,
    ),
    conv(
        "ups.temperature",
        "UPS.PowerSummary.Temperature",
        0,
        Conv::Kelvin,
    ),
    num(
        "ups.power",
        "UPS.PowerConverter.Output.ApparentPower",
        "%.0f",
        0,
    ),
    num(
        "ups.L1.power",
        "UPS.PowerConverter.Output.Phase.[1].ApparentPower",
        "%.0f",
        0,
    ),
    num(
        "ups.L2.power",
        "UPS.PowerConverter.Output.Phase.[2].ApparentPower",
        "%.0f",
        0,
    ),
    num(
        "ups.L3.power",
        "UPS.PowerConverter.Output.Phase.[3].ApparentPower",
        "%.0f",
        0,
    ),
    num(
        "ups.power.nominal",
        "UPS.Flow.[4].ConfigApparentPower",
        "%.0f",
        S,
    ),
    num(
        "ups.realpower",
        "UPS.PowerConverter.Output.ActivePower",
        "%.0f",
        0,
    ),
    // Computed when the unit does not give it, through the apparent power's item.
    mge(
        "ups.realpower",
        "UPS.Flow.[4].ConfigApparentPower",
        0,
        MgeConv::RealPower,
    ),
    num(
        "ups.L1.realpower",
        "UPS.PowerConverter.Output.Phase.[1].ActivePower",
        "%.0f",
        0,
    ),
    num(
        "ups.L2.realpower",
        "UPS.PowerConverter.Output.Phase.[2].ActivePower",
        "%.0f",
        0,
    ),
    num(
        "ups.L3.realpower",
        "UPS.PowerConverter.Output.Phase.[3].ActivePower",
        "%.0f",
        0,
    ),
    num(
        "ups.realpower.nominal",
        "UPS.Flow.[4].ConfigActivePower",
        "%.0f",
        S,
    ),
    lookup(
        "ups.start.auto",
        "UPS.PowerConverter.Input.[1].AutomaticRestart",
        SEMI,
        YES_NO,
    ),
    lookup(
        "ups.start.battery",
        "UPS.PowerConverter.Input.[3].StartOnBattery",
        SEMI,
        YES_NO,
    ),
    lookup(
        "ups.start.reboot",
        "UPS.PowerConverter.Output.ForcedReboot",
        SEMI,
        YES_NO,
    ),
    lookup(
        "ups.shutdown",
        "UPS.PowerSummary.PresentStatus.Switchable",
        SEMI | flag::ENUM,
        ENABLE_DISABLE,
    ),
    mge("ups.date", "UPS.PowerSummary.Time", 0, MgeConv::Date),
    mge("ups.time", "UPS.PowerSummary.Time", 0, MgeConv::Time),
    lookup("ups.type", "UPS.PowerConverter.ConverterType", S, UPSTYPE),
    // Status flags
    boolean("UPS.PowerSummary.PresentStatus.ACPresent", Q, ONLINE),
    boolean("UPS.PowerConverter.Input.[3].PresentStatus.Used", 0, ONBATT),
    bool_mge(
        "UPS.PowerSummary.PresentStatus.Discharging",
        Q,
        MgeConv::CheckDischrg,
    ),
    bool_mge(
        "UPS.PowerSummary.PresentStatus.Charging",
        Q,
        MgeConv::CheckChrg,
    ),
    bool_mge("UPS.BatterySystem.Charger.Mode", Q, MgeConv::AbmChrgDischrg),
    boolean(
        "UPS.PowerSummary.PresentStatus.BelowRemainingCapacityLimit",
        Q,
        LOWBATT,
    ),
    boolean(
        "UPS.PowerConverter.Output.Overload.[1].PresentStatus.OverThreshold",
        0,
        OVERLOAD,
    ),
    boolean(
        "UPS.PowerConverter.Output.Overload.[2].PresentStatus.OverThreshold",
        0,
        OVERLOAD,
    ),
    boolean("UPS.PowerSummary.PresentStatus.Overload", 0, OVERLOAD),
    boolean(
        "UPS.PowerSummary.PresentStatus.NeedReplacement",
        0,
        REPLACEBATT,
    ),
    boolean(
        "UPS.LCMSystem.LCMAlarm.[2].PresentStatus.TimerExpired",
        0,
        REPLACEBATT,
    ),
    boolean("UPS.PowerConverter.Input.[1].PresentStatus.Buck", 0, TRIM),
    boolean("UPS.PowerConverter.Input.[1].PresentStatus.Boost", 0, BOOST),
    boolean(
        "UPS.PowerConverter.Input.[1].PresentStatus.VoltageOutOfRange",
        0,
        VRANGE_INFO,
    ),
    boolean(
        "UPS.PowerConverter.Input.[1].PresentStatus.FrequencyOutOfRange",
        0,
        FRANGE_INFO,
    ),
    boolean("UPS.PowerSummary.PresentStatus.Good", 0, OFF),
    // After "Good": only considered when the unit is not off.
    bool_mge(
        "UPS.PowerConverter.Input.[1].PresentStatus.Used",
        0,
        MgeConv::ConverterOnline,
    ),
    boolean(
        "UPS.PowerConverter.Input.[2].PresentStatus.Used",
        0,
        BYPASS_AUTO,
    ),
    boolean(
        "UPS.PowerConverter.Input.[4].PresentStatus.Used",
        0,
        BYPASS_MANUAL,
    ),
    boolean("UPS.PowerSummary.PresentStatus.FanFailure", 0, FANFAIL),
    boolean(
        "UPS.BatterySystem.Battery.PresentStatus.Present",
        0,
        NOBATTERY,
    ),
    boolean(
        "UPS.BatterySystem.Charger.PresentStatus.InternalFailure",
        0,
        CHARGERFAIL,
    ),
    boolean(
        "UPS.BatterySystem.Charger.PresentStatus.VoltageTooHigh",
        0,
        BATTVOLTHI,
    ),
    boolean(
        "UPS.PowerConverter.Input.[1].PresentStatus.VoltageTooHigh",
        0,
        BATTVOLTHI,
    ),
    boolean(
        "UPS.BatterySystem.Battery.PresentStatus.VoltageTooHigh",
        0,
        BATTVOLTHI,
    ),
    boolean(
        "UPS.BatterySystem.Charger.PresentStatus.VoltageTooLow",
        0,
        BATTVOLTLO,
    ),
    boolean(
        "UPS.PowerConverter.Input.[1].PresentStatus.VoltageTooLow",
        0,
        ONBATT,
    ),
    boolean(
        "UPS.PowerSummary.PresentStatus.InternalFailure",
        0,
        COMMFAULT,
    ),
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
    // Vendor alarms
    alarm(
        "UPS.PowerSummary.PresentStatus.EmergencyStop",
        &[(1, "Emergency stop!")],
    ),
    alarm(
        "UPS.PowerConverter.Input.[1].PresentStatus.WiringFault",
        &[(1, "Wiring fault!")],
    ),
    alarm(
        "UPS.PowerSummary.PresentStatus.ConfigurationFailure",
        &[(1, "Fatal EEPROM fault!")],
    ),
    alarm(
        "UPS.PowerConverter.Inverter.PresentStatus.VoltageTooHigh",
        &[(1, "Inverter AC voltage too high!")],
    ),
    alarm(
        "UPS.PowerConverter.Inverter.PresentStatus.VoltageTooLow",
        &[(1, "Inverter AC voltage too low!")],
    ),
    alarm(
        "UPS.PowerConverter.Output.PresentStatus.ShortCircuit",
        &[(1, "Output short circuit!")],
    ),
    // Input page
    num(
        "input.voltage",
        "UPS.PowerConverter.Input.[1].Voltage",
        "%.1f",
        0,
    ),
    num(
        "input.L1-N.voltage",
        "UPS.PowerConverter.Input.[1].Phase.[1].Voltage",
        "%.1f",
        0,
    ),
    num(
        "input.L2-N.voltage",
        "UPS.PowerConverter.Input.[1].Phase.[2].Voltage",
        "%.1f",
        0,
    ),
    num(
        "input.L3-N.voltage",
        "UPS.PowerConverter.Input.[1].Phase.[3].Voltage",
        "%.1f",
        0,
    ),
    num(
        "input.L1-L2.voltage",
        "UPS.PowerConverter.Input.[1].Phase.[12].Voltage",
        "%.1f",
        0,
    ),
    num(
        "input.L2-L3.voltage",
        "UPS.PowerConverter.Input.[1].Phase.[23].Voltage",
        "%.1f",
        0,
    ),
    num(
        "input.L3-L1.voltage",
        "UPS.PowerConverter.Input.[1].Phase.[31].Voltage",
        "%.1f",
        0,
    ),
    num(
        "input.voltage.nominal",
        "UPS.Flow.[1].ConfigVoltage",
        "%.0f",
        S,
    ),
    num(
        "input.current",
        "UPS.PowerConverter.Input.[1].Current",
        "%.2f",
        0,
    ),
    num(
        "input.L1.current",
        "UPS.PowerConverter.Input.[1].Phase.[1].Current",
        "%.1f",
        0,
    ),
    num(
        "input.L2.current",
        "UPS.PowerConverter.Input.[1].Phase.[2].Current",
        "%.1f",
        0,
    ),
    num(
        "input.L3.current",
        "UPS.PowerConverter.Input.[1].Phase.[3].Current",
        "%.1f",
        0,
    ),
    num(
        "input.current.nominal",
        "UPS.Flow.[1].ConfigCurrent",
        "%.2f",
        S,
    ),
    num(
        "input.frequency",
        "UPS.PowerConverter.Input.[1].Frequency",
        "%.1f",
        0,
    ),
    num(
        "input.frequency.nominal",
        "UPS.Flow.[1].ConfigFrequency",
        "%.0f",
        S,
    ),
    num(
        "input.transfer.low",
        "UPS.PowerConverter.Output.LowVoltageTransfer",
        "%.0f",
        SEMI,
    ),
    num(
        "input.transfer.boost.low",
        "UPS.PowerConverter.Output.LowVoltageBoostTransfer",
        "%.0f",
        SEMI,
    ),
    num(
        "input.transfer.boost.high",
        "UPS.PowerConverter.Output.HighVoltageBoostTransfer",
        "%.0f",
        SEMI,
    ),
    num(
        "input.transfer.trim.low",
        "UPS.PowerConverter.Output.LowVoltageBuckTransfer",
        "%.0f",
        SEMI,
    ),
    num(
        "input.transfer.high",
        "UPS.PowerConverter.Output.HighVoltageTransfer",
        "%.0f",
        SEMI,
    ),
    num(
        "input.transfer.trim.high",
        "UPS.PowerConverter.Output.HighVoltageBuckTransfer",
        "%.0f",
        SEMI,
    ),
    lookup(
        "input.sensitivity",
        "UPS.PowerConverter.Output.SensitivityMode",
        SEMI,
        SENSITIVITY,
    ),
    lookup(
        "input.voltage.extended",
        "UPS.PowerConverter.Output.ExtendedVoltageMode",
        SEMI,
        YES_NO,
    ),
    lookup(
        "input.frequency.extended",
        "UPS.PowerConverter.Output.ExtendedFrequencyMode",
        SEMI,
        YES_NO,
    ),
    // Bypass page
    num(
        "input.bypass.voltage",
        "UPS.PowerConverter.Input.[2].Voltage",
        "%.1f",
        0,
    ),
    num(
        "input.bypass.L1-N.voltage",
        "UPS.PowerConverter.Input.[2].Phase.[1].Voltage",
        "%.1f",
        0,
    ),
    num(
        "input.bypass.L2-N.voltage",
        "UPS.PowerConverter.Input.[2].Phase.[2].Voltage",
        "%.1f",
        0,
    ),
    num(
        "input.bypass.L3-N.voltage",
        "UPS.PowerConverter.Input.[2].Phase.[3].Voltage",
        "%.1f",
        0,
    ),
    num(
        "input.bypass.L1-L2.voltage",
        "UPS.PowerConverter.Input.[2].Phase.[12].Voltage",
        "%.1f",
        0,
    ),
    num(
        "input.bypass.L2-L3.voltage",
        "UPS.PowerConverter.Input.[2].Phase.[23].Voltage",
        "%.1f",
        0,
    ),
    num(
        "input.bypass.L3-L1.voltage",
        "UPS.PowerConverter.Input.[2].Phase.[31].Voltage",
        "%.1f",
        0,
    ),
    num(
        "input.bypass.voltage.nominal",
        "UPS.Flow.[2].ConfigVoltage",
        "%.0f",
        S,
    ),
    num(
        "input.bypass.current",
        "UPS.PowerConverter.Input.[2].Current",
        "%.2f",
        0,
    ),
    num(
        "input.bypass.L1.current",
        "UPS.PowerConverter.Input.[2].Phase.[1].Current",
        "%.1f",
        0,
    ),
    num(
        "input.bypass.L2.current",
        "UPS.PowerConverter.Input.[2].Phase.[2].Current",
        "%.1f",
        0,
    ),
    num(
        "input.bypass.L3.current",
        "UPS.PowerConverter.Input.[2].Phase.[3].Current",
        "%.1f",
        0,
    ),
    num(
        "input.bypass.current.nominal",
        "UPS.Flow.[2].ConfigCurrent",
        "%.2f",
        S,
    ),
    num(
        "input.bypass.frequency",
        "UPS.PowerConverter.Input.[2].Frequency",
        "%.1f",
        0,
    ),
    num(
        "input.bypass.frequency.nominal",
        "UPS.Flow.[2].ConfigFrequency",
        "%.0f",
        S,
    ),
    // Output page
    num(
        "output.voltage",
        "UPS.PowerConverter.Output.Voltage",
        "%.1f",
        0,
    ),
    num(
        "output.L1-N.voltage",
        "UPS.PowerConverter.Output.Phase.[1].Voltage",
        "%.1f",
        0,
    ),
    num(
        "output.L2-N.voltage",
        "UPS.PowerConverter.Output.Phase.[2].Voltage",
        "%.1f",
        0,
    ),
    num(
        "output.L3-N.voltage",
        "UPS.PowerConverter.Output.Phase.[3].Voltage",
        "%.1f",
        0,
    ),
    num(
        "output.L1-L2.voltage",
        "UPS.PowerConverter.Output.Phase.[12].Voltage",
        "%.1f",
        0,
    ),
    num(
        "output.L2-L3.voltage",
        "UPS.PowerConverter.Output.Phase.[23].Voltage",
        "%.1f",
        0,
    ),
    num(
        "output.L3-L1.voltage",
        "UPS.PowerConverter.Output.Phase.[31].Voltage",
        "%.1f",
        0,
    ),
    mge(
        "output.voltage.nominal",
        "UPS.Flow.[4].ConfigVoltage",
        SEMI | flag::ENUM,
        MgeConv::NominalOutputVoltage,
    ),
    num(
        "output.current",
        "UPS.PowerConverter.Output.Current",
        "%.2f",
        0,
    ),
    num(
        "output.L1.current",
        "UPS.PowerConverter.Output.Phase.[1].Current",
        "%.1f",
        0,
    ),
    num(
        "output.L2.current",
        "UPS.PowerConverter.Output.Phase.[2].Current",
        "%.1f",
        0,
    ),
    num(
        "output.L3.current",
        "UPS.PowerConverter.Output.Phase.[3].Current",
        "%.1f",
        0,
    ),
    num(
        "output.current.nominal",
        "UPS.Flow.[4].ConfigCurrent",
        "%.2f",
        0,
    ),
    num(
        "output.frequency",
        "UPS.PowerConverter.Output.Frequency",
        "%.1f",
        0,
    ),
    num(
        "output.frequency.nominal",
        "UPS.Flow.[4].ConfigFrequency",
        "%.0f",
        S,
    ),
    mge(
        "output.powerfactor",
        "UPS.PowerConverter.Output.PowerFactor",
        0,
        MgeConv::PowerFactor,
    ),
    // Outlet page (PowerShare)
    num(
        "outlet.id",
        "UPS.OutletSystem.Outlet.[1].OutletID",
        "%.0f",
        S,
    ),
    num(
        "outlet.desc",
        "UPS.OutletSystem.Outlet.[1].OutletID",
        "Main Outlet",
        flag::ABSENT,
    ),
    lookup(
        "outlet.switchable",
        "UPS.OutletSystem.Outlet.[1].PresentStatus.Switchable",
        S,
        YES_NO,
    ),
    // Protection Station: the master outlet's threshold for switching the others off.
    mge(
        "outlet.power",
        "UPS.OutletSystem.Outlet.[1].ConfigApparentPower",
        SEMI | flag::ENUM,
        MgeConv::PegasusThreshold,
    ),
    num(
        "outlet.power",
        "UPS.OutletSystem.Outlet.[1].ApparentPower",
        "%.0f",
        RO,
    ),
    num(
        "outlet.realpower",
        "UPS.OutletSystem.Outlet.[1].ActivePower",
        "%.0f",
        0,
    ),
    num(
        "outlet.current",
        "UPS.OutletSystem.Outlet.[1].Current",
        "%.2f",
        0,
    ),
    num(
        "outlet.powerfactor",
        "UPS.OutletSystem.Outlet.[1].PowerFactor",
        "%.2f",
        0,
    ),
    num(
        "outlet.1.id",
        "UPS.OutletSystem.Outlet.[2].OutletID",
        "%.0f",
        S,
    ),
    num(
        "outlet.1.desc",
        "UPS.OutletSystem.Outlet.[2].OutletID",
        "PowerShare Outlet 1",
        flag::ABSENT,
    ),
    lookup(
        "outlet.1.switchable",
        "UPS.OutletSystem.Outlet.[2].PresentStatus.Switchable",
        S,
        YES_NO,
    ),
    lookup(
        "outlet.1.status",
        "UPS.OutletSystem.Outlet.[2].PresentStatus.SwitchOn/Off",
        0,
        ON_OFF,
    ),
    // Low-end units, with one outlet without battery backup.
    lookup(
        "outlet.1.status",
        "UPS.PowerSummary.PresentStatus.ACPresent",
        0,
        ON_OFF,
    ),
    num(
        "outlet.1.autoswitch.charge.low",
        "UPS.OutletSystem.Outlet.[2].RemainingCapacityLimit",
        "%.0f",
        SEMI,
    ),
    num(
        "outlet.1.delay.shutdown",
        "UPS.OutletSystem.Outlet.[2].ShutdownTimer",
        "%.0f",
        SEMI,
    ),
    num(
        "outlet.1.delay.start",
        "UPS.OutletSystem.Outlet.[2].StartupTimer",
        "%.0f",
        SEMI,
    ),
    num(
        "outlet.1.power",
        "UPS.OutletSystem.Outlet.[2].ApparentPower",
        "%.0f",
        0,
    ),
    num(
        "outlet.1.realpower",
        "UPS.OutletSystem.Outlet.[2].ActivePower",
        "%.0f",
        0,
    ),
    num(
        "outlet.1.current",
        "UPS.OutletSystem.Outlet.[2].Current",
        "%.2f",
        0,
    ),
    num(
        "outlet.1.powerfactor",
        "UPS.OutletSystem.Outlet.[2].PowerFactor",
        "%.2f",
        0,
    ),
    num(
        "outlet.2.id",
        "UPS.OutletSystem.Outlet.[3].OutletID",
        "%.0f",
        S,
    ),
    num(
        "outlet.2.desc",
        "UPS.OutletSystem.Outlet.[3].OutletID",
        "PowerShare Outlet 2",
        flag::ABSENT,
    ),
    // Pegasus's master/slave mode (writable), then the read-only form for the others.
    mge(
        "outlet.2.switchable",
        "UPS.OutletSystem.Outlet.[3].PresentStatus.Switchable",
        SEMI,
        MgeConv::PegasusYesNo,
    ),
    lookup(
        "outlet.2.switchable",
        "UPS.OutletSystem.Outlet.[3].PresentStatus.Switchable",
        RO,
        YES_NO,
    ),
    lookup(
        "outlet.2.status",
        "UPS.OutletSystem.Outlet.[3].PresentStatus.SwitchOn/Off",
        0,
        ON_OFF,
    ),
    num(
        "outlet.2.autoswitch.charge.low",
        "UPS.OutletSystem.Outlet.[3].RemainingCapacityLimit",
        "%.0f",
        SEMI,
    ),
    num(
        "outlet.2.delay.shutdown",
        "UPS.OutletSystem.Outlet.[3].ShutdownTimer",
        "%.0f",
        SEMI,
    ),
    num(
        "outlet.2.delay.start",
        "UPS.OutletSystem.Outlet.[3].StartupTimer",
        "%.0f",
        SEMI,
    ),
    num(
        "outlet.2.power",
        "UPS.OutletSystem.Outlet.[3].ApparentPower",
        "%.0f",
        0,
    ),
    num(
        "outlet.2.realpower",
        "UPS.OutletSystem.Outlet.[3].ActivePower",
        "%.0f",
        0,
    ),
    num(
        "outlet.2.current",
        "UPS.OutletSystem.Outlet.[3].Current",
        "%.2f",
        0,
    ),
    num(
        "outlet.2.powerfactor",
        "UPS.OutletSystem.Outlet.[3].PowerFactor",
        "%.2f",
        0,
    ),
    // Instant commands
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
    cmd("beeper.off", "UPS.PowerSummary.AudibleAlarmControl", "1"),
    cmd("beeper.on", "UPS.PowerSummary.AudibleAlarmControl", "2"),
    cmd(
        "beeper.mute",
        "UPS.BatterySystem.Battery.AudibleAlarmControl",
        "3",
    ),
    cmd("beeper.mute", "UPS.PowerSummary.AudibleAlarmControl", "3"),
    cmd(
        "beeper.disable",
        "UPS.BatterySystem.Battery.AudibleAlarmControl",
        "1",
    ),
    cmd(
        "beeper.disable",
        "UPS.PowerSummary.AudibleAlarmControl",
        "1",
    ),
    cmd(
        "beeper.enable",
        "UPS.BatterySystem.Battery.AudibleAlarmControl",
        "2",
    ),
    cmd("beeper.enable", "UPS.PowerSummary.AudibleAlarmControl", "2"),
    cmd(
        "outlet.1.load.off",
        "UPS.OutletSystem.Outlet.[2].DelayBeforeShutdown",
        "0",
    ),
    cmd(
        "outlet.1.load.on",
        "UPS.OutletSystem.Outlet.[2].DelayBeforeStartup",
        "0",
    ),
    cmd(
        "outlet.2.load.off",
        "UPS.OutletSystem.Outlet.[3].DelayBeforeShutdown",
        "0",
    ),
    cmd(
        "outlet.2.load.on",
        "UPS.OutletSystem.Outlet.[3].DelayBeforeStartup",
        "0",
    ),
];

/// The variables `mge_hid2nut` flags `ST_FLAG_RW | ST_FLAG_STRING`, with their length.
pub const MGE_WRITABLE: &[(&str, i64)] = &[
    ("battery.charge.low", 5),
    ("battery.charge.restart", 3),
    ("battery.runtime.low", 10),
    ("battery.protection", 5),
    ("battery.energysave", 5),
    ("battery.energysave.load", 5),
    ("battery.energysave.delay", 5),
    ("battery.energysave.realpower", 5),
    ("ups.load.high", 5),
    ("ups.delay.start", 10),
    ("ups.delay.shutdown", 10),
    ("ups.test.interval", 8),
    ("ups.start.auto", 5),
    ("ups.start.battery", 5),
    ("ups.start.reboot", 5),
    ("ups.shutdown", 10),
    ("ups.date", 10),
    ("ups.time", 10),
    ("input.transfer.low", 5),
    ("input.transfer.boost.low", 5),
    ("input.transfer.boost.high", 5),
    ("input.transfer.trim.low", 5),
    ("input.transfer.high", 5),
    ("input.transfer.trim.high", 5),
    ("input.sensitivity", 10),
    ("input.voltage.extended", 5),
    ("input.frequency.extended", 5),
    ("output.voltage.nominal", 3),
    ("outlet.desc", 20),
    ("outlet.power", 6),
    ("outlet.1.desc", 20),
    ("outlet.1.autoswitch.charge.low", 3),
    ("outlet.1.delay.shutdown", 5),
    ("outlet.1.delay.start", 5),
    ("outlet.2.desc", 20),
    ("outlet.2.switchable", 3),
    ("outlet.2.autoswitch.charge.low", 3),
    ("outlet.2.delay.shutdown", 5),
    ("outlet.2.delay.start", 5),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_resolves() {
        for row in MGE_HID2NUT {
            assert!(
                crate::usbhid::path_code(row.path, MGE_USAGES).is_some(),
                "{} does not resolve",
                row.path
            );
        }
    }

    #[test]
    fn model_names_follow_nut() {
        assert_eq!(
            model_name("Evolution", "500"),
            ("Pulsar Evolution 500".to_string(), Some(DEFAULT))
        );
        assert_eq!(
            model_name("Evolution", "650"),
            ("Evolution 650".to_string(), Some(EVOLUTION_650))
        );
        assert_eq!(
            model_name("Eaton 5P", "1550"),
            ("5P 1550".to_string(), Some(EATON_5P))
        );
        // Unlisted: the two strings joined, the type left as it was.
        assert_eq!(model_name("5E", "650i"), ("5E 650i".to_string(), None));
        // strcmp: case matters.
        assert_eq!(model_name("ellipse", "300").1, None);
    }

    #[test]
    fn dates_round_trip_in_utc() {
        let tree = VarTree::new();
        let mut st = MgeState::default();
        // 2026-12-02 04:08:00 UTC
        let t = 1_796_184_480.0;
        assert_eq!(
            st.convert(MgeConv::Date, t, &tree, false),
            MgeValue::Text("2026/12/02".into())
        );
        assert_eq!(
            st.convert(MgeConv::Time, t, &tree, false),
            MgeValue::Text("04:08:00".into())
        );
        let mut tree = VarTree::new();
        tree.set("ups.time", "04:08:00");
        tree.set("ups.date", "2026/12/02");
        assert_eq!(st.reverse(MgeConv::Date, "2026/12/02", &tree), Some(t));
        assert_eq!(
            st.reverse(MgeConv::Time, "05:00:01", &tree),
            Some(t + 3121.0)
        );
        // NUT writes 0 for a text strptime rejects; refused here.
        assert_eq!(st.reverse(MgeConv::Date, "tomorrow", &tree), None);
        assert_eq!(st.reverse(MgeConv::Time, "25:00:00", &tree), None);
        assert_eq!(st.reverse(MgeConv::Time, "100:00:00", &tree), None);
        // strptime ignores what follows the seconds, and the 20-byte buffer cuts it.
        assert_eq!(
            st.reverse(MgeConv::Time, "05:00:01 UTC", &tree),
            Some(t + 3121.0)
        );
        assert_eq!(st.reverse(MgeConv::Time, "5:0:1Z", &tree), Some(t + 3121.0));
        // Year 10000 does not fit strftime's expected length: no value.
        assert_eq!(
            st.convert(MgeConv::Date, 253_402_300_800.0, &tree, false),
            MgeValue::Nothing
        );
    }

    #[test]
    fn abm_decides_where_charging_shows() {
        let tree = VarTree::new();
        let mut st = MgeState::default();
        // ABM unknown: the status bits are cleared, the charger mode decides.
        assert_eq!(
            st.convert(MgeConv::CheckChrg, 1.0, &tree, false),
            MgeValue::Flag("chrg", false)
        );
        assert_eq!(
            st.convert(MgeConv::AbmChrgDischrg, 3.0, &tree, false),
            MgeValue::Flag("chrg", true)
        );
        assert_eq!(
            st.convert(MgeConv::AbmStatus, 4.0, &tree, false),
            MgeValue::Text("resting".into())
        );
        // ABM off: the bits count, the charger status goes.
        st.convert(MgeConv::AbmEnabled, 0.0, &tree, false);
        assert_eq!(
            st.convert(MgeConv::CheckChrg, 1.0, &tree, false),
            MgeValue::Flag("chrg", true)
        );
        assert_eq!(
            st.convert(MgeConv::CheckDischrg, 0.0, &tree, false),
            MgeValue::Flag("dischrg", false)
        );
        assert_eq!(
            st.convert(MgeConv::AbmChrgDischrg, 2.0, &tree, false),
            MgeValue::Nothing
        );
        assert_eq!(
            st.convert(MgeConv::AbmStatus, 2.0, &tree, false),
            MgeValue::Delete
        );
        st.convert(MgeConv::AbmEnabled, 1.0, &tree, false);
        assert_eq!(
            st.convert(MgeConv::AbmStatus, 6.0, &tree, false),
            MgeValue::Text("off".into())
        );
        assert_eq!(
            st.convert(MgeConv::AbmStatus, 5.0, &tree, false),
            MgeValue::Nothing
        );
    }

    #[test]
    fn series_dependent_values() {
        let tree = VarTree::new();
        let mut st = MgeState::default();
        assert_eq!(
            st.convert(MgeConv::BattVolt, 27.3, &tree, false),
            MgeValue::Nothing
        );
        st.model_type = EVOLUTION_650;
        assert_eq!(
            st.convert(MgeConv::BattVolt, 27.3, &tree, false),
            MgeValue::Text("27.3".into())
        );
        assert_eq!(
            st.convert(MgeConv::BattVoltNominal, 24.0, &tree, false),
            MgeValue::Text("12".into())
        );
        st.model_type = EATON_5P;
        assert_eq!(
            st.convert(MgeConv::BattVoltNominal, 24.0, &tree, false),
            MgeValue::Text("24".into())
        );
        assert_eq!(
            st.convert(MgeConv::PegasusYesNo, 1.0, &tree, false),
            MgeValue::Nothing
        );
        st.model_type = THREE_S;
        st.convert(MgeConv::Country, 0.0, &tree, false);
        // NUT's mask makes every 3S a Pegasus, European or not.
        assert_eq!(
            st.convert(MgeConv::PegasusYesNo, 1.0, &tree, false),
            MgeValue::Text("yes".into())
        );
        assert_eq!(
            st.convert(MgeConv::PegasusThreshold, 25.0, &tree, false),
            MgeValue::Text("25".into())
        );
        assert_eq!(st.reverse(MgeConv::PegasusYesNo, "yes", &tree), Some(1.0));
        assert_eq!(
            st.reverse(MgeConv::PegasusThreshold, "60", &tree),
            Some(60.0)
        );
        assert_eq!(st.reverse(MgeConv::PegasusThreshold, "61", &tree), None);
    }

    #[test]
    fn nominal_output_voltage_keeps_the_first_value() {
        let tree = VarTree::new();
        let mut st = MgeState::default();
        let text =
            |st: &mut MgeState, v: f64| st.convert(MgeConv::NominalOutputVoltage, v, &tree, false);
        assert_eq!(text(&mut st, 230.0), MgeValue::Text("230".into()));
        // A line-interactive or online HV unit also takes 200 / 208 V (NUT's goto
        // reaches the same break whatever the country).
        assert_eq!(text(&mut st, 208.0), MgeValue::Text("208".into()));
        assert_eq!(text(&mut st, 120.0), MgeValue::Nothing);
        let mut lv = MgeState::default();
        assert_eq!(text(&mut lv, 120.0), MgeValue::Text("120".into()));
        assert_eq!(text(&mut lv, 230.0), MgeValue::Nothing);
        let mut hv208 = MgeState::default();
        assert_eq!(text(&mut hv208, 208.0), MgeValue::Text("208".into()));
        assert_eq!(text(&mut hv208, 230.0), MgeValue::Text("230".into()));
        hv208.model_type = DEFAULT_OFFLINE;
        assert_eq!(text(&mut hv208, 230.0), MgeValue::Nothing);
    }

    #[test]
    fn realpower_from_load_and_nominal() {
        let mut st = MgeState::default();
        let mut tree = VarTree::new();
        assert_eq!(
            st.convert(MgeConv::RealPower, 650.0, &tree, false),
            MgeValue::Nothing
        );
        tree.set("ups.load", "21");
        tree.set("ups.power.nominal", "650");
        // 21% of 650 VA at 0.8.
        assert_eq!(
            st.convert(MgeConv::RealPower, 650.0, &tree, false),
            MgeValue::Text("109".into())
        );
        // NUT's atoi reads "0.90" as 0; taken as the number here.
        tree.set("output.powerfactor", "0.90");
        assert_eq!(
            st.convert(MgeConv::RealPower, 650.0, &tree, false),
            MgeValue::Text("123".into())
        );
    }

    #[test]
    fn converter_online_is_silent_when_off() {
        let tree = VarTree::new();
        let mut st = MgeState::default();
        assert_eq!(
            st.convert(MgeConv::ConverterOnline, 0.0, &tree, true),
            MgeValue::Nothing
        );
        assert_eq!(
            st.convert(MgeConv::ConverterOnline, 0.0, &tree, false),
            MgeValue::Flag("online", false)
        );
        assert_eq!(
            st.convert(MgeConv::PowerFactor, 80.0, &tree, false),
            MgeValue::Text("0.80".into())
        );
        assert_eq!(
            st.convert(MgeConv::BattCapacity, 25_200.0, &tree, false),
            MgeValue::Text("7.00".into())
        );
    }
}
