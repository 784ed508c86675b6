//! usbhid-ups's device logic (NUT 2.8.0 `drivers/usbhid-ups.c`, `drivers/libhid.c`),
//! sans-IO: a report descriptor and the reports the shell read in, variables, status
//! and the feature reports to write out. The shell owns the USB device (or a replay).
//!
//! One poll, as NUT's `upsdrv_updateinfo`: interrupt-in reports first
//! ([`HidUps::interrupt`]), then a quick walk (status items) or, every `pollfreq`
//! seconds and after any SET or command, a full walk; each walk names the feature
//! reports it needs ([`HidUps::reports`]), the shell reads each once and hands the
//! results to [`HidUps::walk`]. A device that is gone (unplugged, I/O error, access
//! lost) makes the walk fail; the shell reconnects no more often than `pollinterval`
//! and the data is stale until it is back, as NUT.
//!
//! Writes (instant commands, SET VAR, `-k`) modify the last read of the report and
//! send it whole (`set_item_buffered`), with NUT's 125 ms pause between the steps of a
//! composite command.
//!
//! String items (`battery.type`...) name the USB string descriptors they need in
//! [`Walked::strings`]; the shell reads them and hands them to [`HidUps::strings`] in
//! the same poll, as NUT reads them while walking.
//!
//! Eaton / MGE units name themselves from a string the walk's reports index: the shell
//! reads it between the reports and the first walk ([`HidUps::identity_strings`],
//! [`HidUps::identity_read`]), as NUT reads it before its first walk.
//!
//! Every subdriver of NUT 2.8.0's usbhid-ups is here.

use crate::dummy::{tracking, DriverState};
use crate::event::Level;
use crate::hid::{logical, parse, physical, Descriptor, Item, Kind};
use crate::hidvendors;
use crate::mgehid::{self, MgeState, MgeValue};
use crate::qx::Note;
use crate::sock::DriverLine;
use crate::usbhid::{
    cut_at_boundary, flag, path_code, status_word, Conv, HidInfo, Scales, APC_HID2NUT, APC_USAGES,
    BELKIN_HID2NUT, BELKIN_USAGES, CPS_HID2NUT, LIEBERT_HID2NUT, POWERCOM_HID2NUT, POWERCOM_USAGES,
    TRIPPLITE_HID2NUT, TRIPPLITE_USAGES,
};
use std::collections::BTreeMap;

/// The driver's name.
pub const DRIVER_NAME: &str = "usbhid-ups";
/// usbhid-ups.c's `DRIVER_VERSION` in NUT 2.8.0 (`driver.version.internal`).
pub const DRIVER_VERSION_INTERNAL: &str = "0.47";
/// Seconds between full walks unless `pollfreq` says otherwise (usbhid-ups.h).
pub const DEFAULT_POLLFREQ_S: u64 = 30;
/// Largest `pollfreq` accepted, in seconds (one day).
pub const MAX_POLLFREQ_S: u64 = 86_400;
/// Pause between the steps of `shutdown.return` / `shutdown.stayoff`, in milliseconds
/// (usbhid-ups.c: some units drop commands that come too fast).
pub const COMPOSITE_PAUSE_MS: u64 = 125;
/// Interrupt reports handled per poll (usbhid-ups.c `MAX_EVENT_NUM`).
pub const MAX_EVENTS: usize = 32;
/// Largest report kept, in bytes (a USB control transfer's report buffer).
pub const MAX_REPORT_BYTES: usize = 256;

/// A USB device as found on the bus (NUT's `USBDevice_t`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsbDevice {
    /// idVendor.
    pub vendor_id: u16,
    /// idProduct.
    pub product_id: u16,
    /// iManufacturer string.
    pub vendor: Option<String>,
    /// iProduct string.
    pub product: Option<String>,
    /// iSerialNumber string.
    pub serial: Option<String>,
    /// Bus number, three digits (`001`).
    pub bus: String,
    /// Device address on the bus, three digits.
    pub device: String,
}

/// libusb1.c's choice of the report descriptor's length from the two places the HID
/// class descriptor gives it: asked for directly (method 1) or found after the
/// interface descriptor (method 2, "more reliable", used when there). Eaton units of
/// device release 2.02 (5P, 5PX, 9PX...) declare a shorter one there than their full
/// descriptor: method 1 for them ("Eaton device v2.02. Using full report descriptor").
/// `None`: neither gave one.
pub fn report_descriptor_length(
    vendor_id: u16,
    bcd_device: u16,
    method1: Option<usize>,
    method2: Option<usize>,
) -> Option<usize> {
    if vendor_id == mgehid::MGE_VENDORID && bcd_device == 0x0202 {
        method1
    } else {
        method2.or(method1)
    }
}

/// The device-selection options of ups.conf (`vendorid`, `productid`, `vendor`,
/// `product`, `serial`, `bus`, `device`): POSIX extended regular expressions, ignoring
/// case, each matching the whole field (its leading and trailing blanks left out; the
/// IDs as four lower-case hex digits; a string the device lacks as ""), as NUT's
/// usb-common.c regex matcher. [`Matcher::exact`] compares values instead (NUT's
/// exact matcher, for reopening the same unit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matcher {
    /// (option, value) pairs given.
    pub wanted: Vec<(&'static str, String)>,
    /// The values compiled, one per `wanted` pair (empty for an exact matcher).
    patterns: Vec<crate::regex::Regex>,
    /// `explore` was given: the explore subdriver takes any unit selected.
    pub explore: bool,
}

/// Options a matcher takes.
pub const MATCH_OPTIONS: [&str; 7] = [
    "vendorid",
    "productid",
    "vendor",
    "product",
    "serial",
    "bus",
    "device",
];

impl Matcher {
    /// From the driver's options.
    pub fn from_options(options: &[(String, Option<String>)]) -> Result<Matcher, String> {
        let mut wanted = Vec::new();
        let mut patterns = Vec::new();
        for name in MATCH_OPTIONS {
            if let Some((_, Some(value))) = options.iter().find(|(k, _)| k == name) {
                // usbhid-ups.c: fatalx("invalid regular expression: %s").
                let pattern = crate::regex::Regex::new(value)?;
                wanted.push((name, value.clone()));
                patterns.push(pattern);
            }
        }
        let explore = options.iter().any(|(k, v)| k == "explore" && v.is_none());
        Ok(Matcher {
            wanted,
            patterns,
            explore,
        })
    }

    /// Whether `dev` is the one the options ask for.
    pub fn matches(&self, dev: &UsbDevice) -> bool {
        if !self.patterns.is_empty() {
            return self
                .wanted
                .iter()
                .zip(&self.patterns)
                .all(|((name, _), pattern)| {
                    let field = match *name {
                        "vendorid" => format!("{:04x}", dev.vendor_id),
                        "productid" => format!("{:04x}", dev.product_id),
                        "vendor" => dev.vendor.clone().unwrap_or_default(),
                        "product" => dev.product.clone().unwrap_or_default(),
                        "serial" => dev.serial.clone().unwrap_or_default(),
                        "bus" => dev.bus.clone(),
                        _ => dev.device.clone(),
                    };
                    pattern.is_full_match(field.trim_matches([' ', '\t', '\n']))
                });
        }
        self.wanted.iter().all(|(name, value)| {
            let field = match *name {
                "vendorid" => return u16::from_str_radix(value, 16).ok() == Some(dev.vendor_id),
                "productid" => return u16::from_str_radix(value, 16).ok() == Some(dev.product_id),
                "vendor" => dev.vendor.as_deref(),
                "product" => dev.product.as_deref(),
                "serial" => dev.serial.as_deref(),
                "bus" => Some(dev.bus.as_str()),
                _ => Some(dev.device.as_str()),
            };
            field.is_some_and(|f| f.trim().eq_ignore_ascii_case(value.trim()))
        })
    }

    /// Exactly `dev` again (NUT's `USBNewExactMatcher`, for reopening the same unit):
    /// its IDs, strings and bus.
    pub fn exact(dev: &UsbDevice) -> Matcher {
        let mut wanted = vec![
            ("vendorid", format!("{:04x}", dev.vendor_id)),
            ("productid", format!("{:04x}", dev.product_id)),
        ];
        for (name, value) in [
            ("vendor", &dev.vendor),
            ("product", &dev.product),
            ("serial", &dev.serial),
        ] {
            if let Some(v) = value {
                wanted.push((name, v.clone()));
            }
        }
        wanted.push(("bus", dev.bus.clone()));
        Matcher {
            wanted,
            patterns: Vec::new(),
            explore: false,
        }
    }

    /// Whether `productid` was given (NUT claims "possibly supported" devices then).
    pub fn has_productid(&self) -> bool {
        self.wanted.iter().any(|(n, _)| *n == "productid")
    }

    /// The subdriver for `dev` under these options: explore's when `explore` was given
    /// (first in NUT's list, it takes any unit), else [`claim`].
    pub fn claim(&self, dev: &UsbDevice) -> Option<&'static Subdriver> {
        if self.explore {
            return Some(&EXPLORE);
        }
        claim(dev, self.has_productid())
    }
}

/// A vendor's subdriver (NUT's `subdriver_t`).
#[derive(Debug)]
pub struct Subdriver {
    /// `driver.version.data`.
    pub name: &'static str,
    /// The maker, as NUT's messages name it.
    pub maker: &'static str,
    /// Units known to work (NUT's `usb_device_id_t` table), with their factors.
    pub devices: &'static [KnownDevice],
    /// Vendors whose other products are claimed when `productid` is given (NUT's
    /// `POSSIBLY_SUPPORTED` branch).
    pub vendors: &'static [u16],
    /// Units of those vendors refused whatever the options, and what to do instead.
    pub refused: &'static [(u16, u16, &'static str)],
    /// Product IDs whose interrupt pipe carries another protocol (NUT's
    /// `disable_interrupt_pipe`).
    pub poll_only_products: &'static [u16],
    /// The variable table.
    pub table: &'static [HidInfo],
    /// Vendor usages, looked up before the global table.
    pub usages: &'static [(&'static str, u32)],
    /// Variables the table lets upsd SET (NUT's `ST_FLAG_RW | ST_FLAG_STRING`), with
    /// their length.
    pub writable: &'static [(&'static str, i64)],
    /// Rows of those variables NUT's table does not flag writable: a variable they
    /// give stays read-only.
    pub read_only_paths: &'static [&'static str],
    /// `ups.mfr` when the device names none (`None`: no `ups.mfr` then).
    pub default_mfr: Option<&'static str>,
    /// `ups.model` when the device names none (`None`: no `ups.model` then).
    pub default_model: Option<&'static str>,
    /// A blank name counts as none, and the maker's leading spaces go (belkin-hid.c's
    /// `belkin_format_mfr`/`_model`).
    pub blank_names_default: bool,
    /// The product string carries the firmware (`... FW:x USB FW:y`, APC's form).
    pub firmware_in_product: bool,
    /// Products whose battery voltage may read 1.5 times too high (cps-hid.c).
    pub battery_scale_products: &'static [u16],
    /// The subdriver's descriptor fix (NUT's `fix_report_desc`).
    pub fix_descriptor: Option<fn(&UsbDevice, &mut Descriptor) -> bool>,
    /// Where the model name comes from.
    pub model_from: ModelSource,
    /// The interface holding the HID report descriptor (NUT's `hid_rep_index`: 1 on
    /// Powervar units, 2 on Arduino boards, whose first ones are a serial port).
    pub hid_interface: u8,
    /// The subdriver's own say on a unit, before its device lists: `Some(true)` takes
    /// it, `Some(false)` leaves it (mge-hid.c takes any Phoenixtec unit that names AEG,
    /// and no other).
    pub claim_filter: Option<fn(&UsbDevice) -> Option<bool>>,
}

/// Where a subdriver's model name comes from (its `format_model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSource {
    /// The USB product string (or the subdriver's default).
    Product,
    /// mge-hid.c `mge_format_model`: the `iModel` string (or the apparent power)
    /// through NUT's model list, which also tells the model type.
    Mge,
    /// delta_ups-hid.c: this item's string, the product string when it is empty.
    Item(&'static str),
}

impl ModelSource {
    /// The item whose string is read before the first walk.
    pub fn item(self) -> Option<&'static str> {
        match self {
            ModelSource::Product => None,
            ModelSource::Mge => Some(IMODEL_PATH),
            ModelSource::Item(path) => Some(path),
        }
    }
}

/// Bytes of apc-hid.c's model buffer (`static char model[64]`).
pub const APC_MODEL_BUF_BYTES: usize = 64;

/// A unit a subdriver knows (one row of NUT's `usb_device_id_t` tables).
#[derive(Debug, Clone, Copy)]
pub struct KnownDevice {
    /// USB vendor ID.
    pub vendor: u16,
    /// USB product ID.
    pub product: u16,
    /// The factors its readings take (Tripp Lite's match functions).
    pub scales: Scales,
    /// Read through the interrupt pipe only, this many bytes at a time (the claim's
    /// `interrupt_only`/`interrupt_size` tweak).
    pub interrupt_only: Option<usize>,
    /// A report its firmware answers wrongly, never read (usbhid-ups.c's walk).
    pub bad_report: Option<u8>,
}

const fn known(vendor: u16, product: u16) -> KnownDevice {
    KnownDevice {
        vendor,
        product,
        scales: Scales::ONE,
        interrupt_only: None,
        bad_report: None,
    }
}

const fn scaled(vendor: u16, product: u16, scales: Scales) -> KnownDevice {
    KnownDevice {
        scales,
        ..known(vendor, product)
    }
}

impl Subdriver {
    /// The row for `dev` in the known units.
    pub fn known(&self, dev: &UsbDevice) -> Option<&'static KnownDevice> {
        self.devices
            .iter()
            .find(|d| d.vendor == dev.vendor_id && d.product == dev.product_id)
    }

    /// Why `dev` is refused whatever the options (NUT logs it at level 0).
    pub fn refusal(&self, dev: &UsbDevice) -> Option<String> {
        self.refused
            .iter()
            .find(|(v, p, _)| *v == dev.vendor_id && *p == dev.product_id)
            .map(|(v, p, advice)| {
                format!(
                    "This {} device ({v:04x}/{p:04x}) is not supported by usbhid-ups. {advice}",
                    self.maker
                )
            })
    }
}

/// The USB device a recording (hw-fixtures/hid) came from. The dumps carry no string
/// descriptors: the identity comes from the upsc listing NUT printed (vendor and
/// product IDs, `ups.mfr`, `ups.serial`), the product string rebuilt from `ups.model`
/// and the firmware, as APC units name themselves (`Back-UPS 500 FW: 6.5.I USB FW: c1 `).
pub fn recorded_device(rec: &crate::transcript::HidRecording) -> Result<UsbDevice, String> {
    let id = |var: &str| -> Result<u16, String> {
        let v = rec
            .expected(var)
            .ok_or_else(|| format!("the recording lists no {var}"))?;
        u16::from_str_radix(v, 16).map_err(|_| format!("{var} \"{v}\" is not hex"))
    };
    let mut product = rec.expected("ups.model").unwrap_or("unknown").to_string();
    if let Some(fw) = rec.expected("ups.firmware") {
        product = format!("{product} FW:{fw}");
        if let Some(aux) = rec.expected("ups.firmware.aux") {
            product = format!("{product} USB FW:{aux}");
        }
    }
    Ok(UsbDevice {
        vendor_id: id("ups.vendorid")?,
        product_id: id("ups.productid")?,
        vendor: rec.expected("ups.mfr").map(str::to_string),
        product: Some(product),
        serial: rec.expected("ups.serial").map(str::to_string),
        bus: "001".to_string(),
        device: "001".to_string(),
    })
}

/// The fields a subdriver leaves as they are unless it says otherwise.
const BASE: Subdriver = Subdriver {
    name: "",
    maker: "",
    devices: &[],
    vendors: &[],
    table: &[],
    refused: &[],
    poll_only_products: &[],
    usages: &[],
    writable: &[],
    read_only_paths: &[],
    default_mfr: None,
    default_model: None,
    blank_names_default: false,
    firmware_in_product: false,
    battery_scale_products: &[],
    fix_descriptor: None,
    model_from: ModelSource::Product,
    hid_interface: 0,
    claim_filter: None,
};

/// APC (apc-hid.c, "APC HID 0.98").
pub const APC: Subdriver = Subdriver {
    name: "APC HID 0.98",
    maker: "APC",
    devices: &[
        known(0x051d, 0x0000),
        known(0x051d, 0x0002),
        known(0x051d, 0x0003),
    ],
    vendors: &[0x051d],
    poll_only_products: &[0x0003],
    table: APC_HID2NUT,
    usages: APC_USAGES,
    writable: &[
        ("battery.charge.low", 10),
        ("battery.runtime.low", 10),
        ("battery.mfr.date", 10),
        ("ups.delay.start", 10),
        ("ups.delay.shutdown", 10),
        ("input.transfer.low", 10),
        ("input.transfer.high", 10),
        ("input.sensitivity", 10),
    ],
    read_only_paths: &["UPS.PowerSummary.APCBattReplaceDate"],
    default_mfr: Some("APC"),
    default_model: Some("unknown"),
    firmware_in_product: true,
    ..BASE
};

/// CyberPower (cps-hid.c, "CyberPower HID 0.6").
pub const CPS: Subdriver = Subdriver {
    name: "CyberPower HID 0.6",
    maker: "CyberPower",
    devices: &[
        known(0x0764, 0x0005),
        known(0x0764, 0x0501),
        known(0x0764, 0x0601),
    ],
    vendors: &[0x0764],
    table: CPS_HID2NUT,
    writable: &[
        ("battery.charge.low", 10),
        ("battery.runtime.low", 10),
        ("ups.delay.start", 10),
        ("ups.delay.shutdown", 10),
        ("input.transfer.low", 10),
        ("input.transfer.high", 10),
    ],
    default_mfr: Some("CPS"),
    battery_scale_products: &[0x0501],
    fix_descriptor: Some(cps_fix_descriptor),
    ..BASE
};

/// Output voltage limits CyberPower's fix sets (cps-hid.c `CPS_VOLTAGE_LOGMIN/MAX`).
pub const CPS_VOLTAGE_LOGICAL: (i64, i64) = (0, 511);
/// Battery voltage over nominal above which CyberPower readings are scaled by 2/3.
pub const CPS_BATTERY_VOLTAGE_SANITY: f64 = 1.4;

/// cps-hid.c `cps_fix_report_desc`: on 0764:0501 units whose output voltage (report
/// 18) carries the high transfer's logical range (report 16), the output voltage gets
/// 0..511. (NUT 2.8.0 logs the same fix for the input voltage, report 15, without
/// applying it; so does this one.)
pub fn cps_fix_descriptor(dev: &UsbDevice, desc: &mut Descriptor) -> bool {
    if dev.vendor_id != 0x0764 || dev.product_id != 0x0501 {
        return false;
    }
    let usage = |name: &str| path_code(name, &[]).and_then(|p| p.first().copied());
    let (Some(hvt), Some(volt)) = (usage("HighVoltageTransfer"), usage("Voltage")) else {
        return false;
    };
    let find = |desc: &Descriptor, id: u8, node: u32| {
        desc.items
            .iter()
            .position(|i| i.report_id == id && i.path.last() == Some(&node))
    };
    let (Some(h), Some(o)) = (find(desc, 16, hvt), find(desc, 18, volt)) else {
        return false;
    };
    let (hmin, hmax) = (desc.items[h].log_min, desc.items[h].log_max);
    if (desc.items[o].log_min, desc.items[o].log_max) != (hmin, hmax) {
        return false;
    }
    desc.items[o].log_min = CPS_VOLTAGE_LOGICAL.0;
    desc.items[o].log_max = CPS_VOLTAGE_LOGICAL.1;
    true
}

/// Phoenixtec's units sold as Liebert (liebert-hid.c, "Phoenixtec/Liebert HID 0.41";
/// Liebert's own units with vendor 10af are belkin-hid.c's).
pub const LIEBERT: Subdriver = Subdriver {
    name: "Phoenixtec/Liebert HID 0.41",
    maker: "Liebert",
    devices: &[known(0x06da, 0xffff)],
    vendors: &[0x06da],
    table: LIEBERT_HID2NUT,
    default_mfr: Some("Liebert"),
    ..BASE
};

const TRIPPLITE_VENDORID: u16 = 0x09ae;
const HP_VENDORID: u16 = 0x03f0;
const DELTA_VENDORID: u16 = 0x05dd;

/// Tripp Lite, and HP's and Minuteman's units built by Tripp Lite (tripplite-hid.c,
/// "TrippLite HID 0.84").
pub const TRIPPLITE: Subdriver = Subdriver {
    name: "TrippLite HID 0.84",
    maker: "Tripp Lite",
    devices: &[
        scaled(TRIPPLITE_VENDORID, 0x1003, Scales::BATTERY_TENTH),
        scaled(TRIPPLITE_VENDORID, 0x1007, Scales::BATTERY_TENTH),
        scaled(TRIPPLITE_VENDORID, 0x1008, Scales::BATTERY_TENTH),
        scaled(TRIPPLITE_VENDORID, 0x1009, Scales::BATTERY_TENTH),
        scaled(TRIPPLITE_VENDORID, 0x1010, Scales::BATTERY_TENTH),
        // The SU3000LCD2UHV: its firmware answers report 0x54 wrongly.
        KnownDevice {
            bad_report: Some(0x54),
            ..known(TRIPPLITE_VENDORID, 0x1330)
        },
        scaled(TRIPPLITE_VENDORID, 0x2005, Scales::BATTERY_TENTH),
        scaled(TRIPPLITE_VENDORID, 0x2007, Scales::BATTERY_TENTH),
        scaled(TRIPPLITE_VENDORID, 0x2008, Scales::BATTERY_TENTH),
        scaled(TRIPPLITE_VENDORID, 0x2009, Scales::BATTERY_TENTH),
        scaled(TRIPPLITE_VENDORID, 0x2010, Scales::BATTERY_TENTH),
        scaled(TRIPPLITE_VENDORID, 0x2011, Scales::BATTERY_TENTH),
        scaled(TRIPPLITE_VENDORID, 0x2012, Scales::BATTERY_TENTH),
        scaled(TRIPPLITE_VENDORID, 0x2013, Scales::BATTERY_TENTH),
        scaled(TRIPPLITE_VENDORID, 0x2014, Scales::BATTERY_TENTH),
        known(TRIPPLITE_VENDORID, 0x3008),
        known(TRIPPLITE_VENDORID, 0x3009),
        known(TRIPPLITE_VENDORID, 0x3010),
        known(TRIPPLITE_VENDORID, 0x3011),
        known(TRIPPLITE_VENDORID, 0x3012),
        known(TRIPPLITE_VENDORID, 0x3013),
        known(TRIPPLITE_VENDORID, 0x3014),
        known(TRIPPLITE_VENDORID, 0x3015),
        scaled(TRIPPLITE_VENDORID, 0x3016, Scales::SMART1500LCDT),
        scaled(TRIPPLITE_VENDORID, 0x3024, Scales::SMART1500LCDT),
        known(TRIPPLITE_VENDORID, 0x4001),
        known(TRIPPLITE_VENDORID, 0x4002),
        known(TRIPPLITE_VENDORID, 0x4003),
        known(TRIPPLITE_VENDORID, 0x4004),
        known(TRIPPLITE_VENDORID, 0x4005),
        known(TRIPPLITE_VENDORID, 0x4006),
        known(TRIPPLITE_VENDORID, 0x4007),
        known(TRIPPLITE_VENDORID, 0x4008),
        known(HP_VENDORID, 0x0001),
        known(HP_VENDORID, 0x1fe0),
        known(HP_VENDORID, 0x1fe1),
        known(HP_VENDORID, 0x1fe2),
        known(HP_VENDORID, 0x1fe3),
        known(HP_VENDORID, 0x1f06),
        known(HP_VENDORID, 0x1f08),
        known(HP_VENDORID, 0x1f09),
        known(HP_VENDORID, 0x1f0a),
        known(DELTA_VENDORID, 0xa011),
    ],
    // Delta's other products are never claimed (tripplite_claim's default branch).
    vendors: &[TRIPPLITE_VENDORID, HP_VENDORID],
    // Serial-over-USB units (SMART550USB, SMART3000RM2U).
    refused: &[(
        TRIPPLITE_VENDORID,
        0x0001,
        "Please use the tripplite_usb driver instead.",
    )],
    table: TRIPPLITE_HID2NUT,
    usages: TRIPPLITE_USAGES,
    writable: &[
        ("battery.charge.low", 5),
        ("ups.delay.start", 10),
        ("ups.delay.shutdown", 10),
        ("input.transfer.low", 5),
        ("input.transfer.high", 5),
    ],
    ..BASE
};

const POWERCOM_VENDORID: u16 = 0x0d9f;

/// Powercom (powercom-hid.c, "PowerCOM HID 0.6").
pub const POWERCOM: Subdriver = Subdriver {
    name: "PowerCOM HID 0.6",
    maker: "Powercom",
    devices: &[
        known(POWERCOM_VENDORID, 0x00a2),
        known(POWERCOM_VENDORID, 0x00a3),
        known(POWERCOM_VENDORID, 0x00a4),
        known(POWERCOM_VENDORID, 0x00a5),
        known(POWERCOM_VENDORID, 0x00a6),
        known(POWERCOM_VENDORID, 0x0004),
        // Vanguard and the first BNT-xxxAP units: 8-byte interrupt reports only.
        KnownDevice {
            interrupt_only: Some(8),
            ..known(POWERCOM_VENDORID, 0x0001)
        },
    ],
    vendors: &[POWERCOM_VENDORID],
    refused: &[(
        POWERCOM_VENDORID,
        0x0002,
        "Please use the 'powercom' driver instead.",
    )],
    table: POWERCOM_HID2NUT,
    usages: POWERCOM_USAGES,
    writable: &[("ups.delay.start", 8), ("ups.delay.shutdown", 8)],
    read_only_paths: &[
        "PowercomUPS.PowercomPowerConverter.PowercomDelayBeforeShutdown",
        "PowercomUPS.PowercomPowerConverter.PowercomDelayBeforeStartup",
    ],
    default_mfr: Some("PowerCOM"),
    ..BASE
};

const BELKIN_VENDORID: u16 = 0x050d;
const LIEBERT_10AF_VENDORID: u16 = 0x10af;

/// Belkin, and Liebert's own units (vendor 10af: GXT3, GXT4, PowerSure PSA and PSI)
/// (belkin-hid.c, "Belkin/Liebert HID 0.18").
pub const BELKIN: Subdriver = Subdriver {
    name: "Belkin/Liebert HID 0.18",
    maker: "Belkin",
    devices: &[
        known(BELKIN_VENDORID, 0x0980),
        known(BELKIN_VENDORID, 0x0900),
        known(BELKIN_VENDORID, 0x0910),
        known(BELKIN_VENDORID, 0x0912),
        known(BELKIN_VENDORID, 0x0551),
        known(BELKIN_VENDORID, 0x0750),
        known(BELKIN_VENDORID, 0x0751),
        known(BELKIN_VENDORID, 0x0375),
        known(BELKIN_VENDORID, 0x0f51),
        known(BELKIN_VENDORID, 0x1100),
        known(LIEBERT_10AF_VENDORID, 0x0004),
        known(LIEBERT_10AF_VENDORID, 0x0001),
        known(LIEBERT_10AF_VENDORID, 0x0008),
    ],
    vendors: &[BELKIN_VENDORID, LIEBERT_10AF_VENDORID],
    // belkin_claim rejects this one silently.
    refused: &[(
        BELKIN_VENDORID,
        0x0218,
        "It is a USB hub (F5U218-MOB), not a UPS.",
    )],
    table: BELKIN_HID2NUT,
    usages: BELKIN_USAGES,
    writable: &[
        ("input.sensitivity", 10),
        ("input.transfer.high", 10),
        ("input.transfer.low", 10),
        ("ups.delay.start", 10),
        ("ups.delay.shutdown", 10),
    ],
    default_mfr: Some("Belkin"),
    default_model: Some("unknown"),
    blank_names_default: true,
    ..BASE
};

/// mge-hid.c `mge_claim`: a Phoenixtec unit (any product, `productid` or not) is AEG's
/// PROTECT NAS when its maker or product string names AEG; liebert-hid.c takes the
/// others.
fn mge_claim_filter(dev: &UsbDevice) -> Option<bool> {
    (dev.vendor_id == mgehid::PHOENIXTEC_VENDORID).then(|| {
        [&dev.vendor, &dev.product]
            .iter()
            .any(|s| s.as_deref().is_some_and(|s| s.contains("AEG")))
    })
}

/// Eaton / MGE (mge-hid.c, "MGE HID 1.46"), with Dell, Powerware, HP, AEG and IBM
/// units.
pub const MGE: Subdriver = Subdriver {
    name: "MGE HID 1.46",
    maker: "Eaton / MGE",
    devices: &[
        known(mgehid::MGE_VENDORID, 0x0001),
        known(mgehid::MGE_VENDORID, 0xffff),
        known(mgehid::DELL_VENDORID, 0xffff),
        known(mgehid::POWERWARE_VENDORID, 0x0004),
        known(HP_VENDORID, 0x1fe5),
        known(HP_VENDORID, 0x1fe6),
        known(HP_VENDORID, 0x1fe7),
        known(HP_VENDORID, 0x1fe8),
        known(mgehid::AEG_VENDORID, 0xffff),
        known(mgehid::PHOENIXTEC_VENDORID, 0xffff),
        known(mgehid::IBM_VENDORID, 0x0001),
    ],
    // Phoenixtec's other products are never taken (mge_claim lets liebert-hid.c have
    // them), so it is not listed here.
    vendors: &[
        mgehid::MGE_VENDORID,
        mgehid::DELL_VENDORID,
        mgehid::POWERWARE_VENDORID,
        HP_VENDORID,
        mgehid::AEG_VENDORID,
        mgehid::IBM_VENDORID,
    ],
    table: mgehid::MGE_HID2NUT,
    usages: mgehid::MGE_USAGES,
    writable: mgehid::MGE_WRITABLE,
    // mge_format_mfr: the maker string, else "Eaton".
    default_mfr: Some("Eaton"),
    model_from: ModelSource::Mge,
    claim_filter: Some(mge_claim_filter),
    ..BASE
};

/// A subdriver of the smaller vendors: its devices, table, usages, writable variables
/// and the maker to name when the unit does not.
const fn plain(
    name: &'static str,
    maker: &'static str,
    devices: &'static [KnownDevice],
    vendors: &'static [u16],
    table: &'static [HidInfo],
    writable: &'static [(&'static str, i64)],
) -> Subdriver {
    Subdriver {
        name,
        maker,
        devices,
        vendors,
        table,
        writable,
        default_mfr: Some(maker),
        ..BASE
    }
}

/// Arduino boards with NUT's HID power-device sketch (arduino-hid.c, "Arduino HID 0.2"):
/// the HID interface is the third. (NUT 2.8.0's libusb-1.0 build also took that index
/// as the configuration's and skipped such boards; 2.8.2 fixed it, as here.)
pub const ARDUINO: Subdriver = Subdriver {
    hid_interface: 2,
    ..plain(
        "Arduino HID 0.2",
        "Arduino",
        &[
            known(0x2341, 0x0036),
            known(0x2341, 0x8036),
            known(0x2a03, 0x0036),
            known(0x2a03, 0x8036),
            known(0x2a03, 0x0040),
            known(0x2a03, 0x8040),
        ],
        &[0x2341, 0x2a03],
        hidvendors::ARDUINO_HID2NUT,
        hidvendors::ARDUINO_WRITABLE,
    )
};

/// Delta (delta_ups-hid.c, "Delta UPS HID 0.6"): RT and Amplon R series; the model
/// named by its own item.
pub const DELTA: Subdriver = Subdriver {
    usages: hidvendors::DELTA_USAGES,
    model_from: ModelSource::Item(hidvendors::DELTA_MODEL_PATH),
    ..plain(
        "Delta UPS HID 0.6",
        "Delta",
        &[known(0x05dd, 0x041b)],
        &[0x05dd],
        hidvendors::DELTA_HID2NUT,
        hidvendors::DELTA_WRITABLE,
    )
};

/// iDowell (idowell-hid.c, "iDowell HID 0.2").
pub const IDOWELL: Subdriver = plain(
    "iDowell HID 0.2",
    "iDowell",
    &[known(0x075d, 0x0300)],
    &[0x075d],
    hidvendors::IDOWELL_HID2NUT,
    hidvendors::IDOWELL_WRITABLE,
);

/// Legrand Keor (legrand-hid.c, "Legrand HID 0.2"): the interrupt pipe is not read.
pub const LEGRAND: Subdriver = Subdriver {
    poll_only_products: &[0x0038, 0x0032],
    ..plain(
        "Legrand HID 0.2",
        "Legrand",
        &[known(0x1cb0, 0x0038), known(0x1cb0, 0x0032)],
        &[0x1cb0],
        hidvendors::LEGRAND_HID2NUT,
        hidvendors::LEGRAND_WRITABLE,
    )
};

/// openUPS (openups-hid.c, "openUPS HID 0.5"): Mini-Box's DC UPSes, with per-product
/// factors for their line readings.
pub const OPENUPS: Subdriver = Subdriver {
    usages: hidvendors::OPENUPS_USAGES,
    ..plain(
        "openUPS HID 0.5",
        "openUPS",
        &[known(0x04d8, 0xd004), known(0x04d8, 0xd005)],
        &[0x04d8],
        hidvendors::OPENUPS_HID2NUT,
        &[],
    )
};

/// Ever (ever-hid.c, "Ever HID 0.1"): its many readings mostly under experimental
/// names, as NUT's.
pub const EVER: Subdriver = Subdriver {
    usages: hidvendors::EVER_USAGES,
    ..plain(
        "Ever HID 0.1",
        "Ever",
        &[
            known(0x0483, 0xa113),
            known(0x2e51, 0xffff),
            known(0x2e51, 0x0000),
        ],
        &[0x0483, 0x2e51],
        hidvendors::EVER_HID2NUT,
        hidvendors::EVER_WRITABLE,
    )
};

/// Powervar (powervar-hid.c, "Powervar HID 0.20"): the HID interface is the second.
pub const POWERVAR: Subdriver = Subdriver {
    usages: hidvendors::POWERVAR_USAGES,
    hid_interface: 1,
    ..plain(
        "Powervar HID 0.20",
        "Powervar",
        &[known(0x4234, 0x0002)],
        &[0x4234],
        hidvendors::POWERVAR_HID2NUT,
        hidvendors::POWERVAR_WRITABLE,
    )
};

/// Salicru (salicru-hid.c, "Salicru HID 0.3").
pub const SALICRU: Subdriver = plain(
    "Salicru HID 0.3",
    "Salicru",
    &[
        known(0x2e66, 0x0201),
        known(0x2e66, 0x0202),
        known(0x2e66, 0x0203),
        known(0x2e66, 0x0300),
    ],
    &[0x2e66],
    hidvendors::SALICRU_HID2NUT,
    hidvendors::SALICRU_WRITABLE,
);

/// explore-hid.c ("EXPLORE HID 0.2"): no table; the unit's own strings name it. Taken
/// only with `explore` ([`Matcher::claim`]).
pub const EXPLORE: Subdriver = Subdriver {
    name: "EXPLORE HID 0.2",
    maker: "unknown",
    devices: &[],
    vendors: &[],
    table: &[],
    ..BASE
};

/// Every subdriver, in NUT's claim order (usbhid-ups.c `subdriver_list`: MGE first,
/// then alphabetical).
pub const SUBDRIVERS: &[&Subdriver] = &[
    &MGE, &APC, &ARDUINO, &BELKIN, &CPS, &DELTA, &EVER, &IDOWELL, &LEGRAND, &LIEBERT, &OPENUPS,
    &POWERCOM, &POWERVAR, &SALICRU, &TRIPPLITE,
];

/// The subdriver that claims `dev` (NUT's `claim`): a known product, or another
/// product of one of its vendors when `productid` was given (and the unit is not one
/// the subdriver refuses).
pub fn claim(dev: &UsbDevice, productid_given: bool) -> Option<&'static Subdriver> {
    SUBDRIVERS.iter().copied().find(|s| {
        s.claim_filter.and_then(|say| say(dev)).unwrap_or_else(|| {
            s.known(dev).is_some()
                || (productid_given
                    && s.vendors.contains(&dev.vendor_id)
                    && s.refusal(dev).is_none())
        })
    })
}

/// Why no subdriver takes `dev` when one refuses it by name (NUT's level-0 message).
pub fn refusal(dev: &UsbDevice) -> Option<String> {
    SUBDRIVERS.iter().find_map(|s| s.refusal(dev))
}

/// usbhid-ups.c `possibly_supported`: a unit of a maker a subdriver knows, with a
/// product it does not list, is taken only with `productid`; NUT says so (its mailing
/// list address left out).
pub fn possibly_supported(dev: &UsbDevice) -> Option<String> {
    // tripplite_claim and mge_claim: HP and Dell "make lots of USB devices that are
    // not a UPS", no hint.
    if dev.vendor_id == HP_VENDORID || dev.vendor_id == mgehid::DELL_VENDORID {
        return None;
    }
    let sub = SUBDRIVERS.iter().find(|s| {
        s.vendors.contains(&dev.vendor_id) && s.known(dev).is_none() && s.refusal(dev).is_none()
    })?;
    Some(format!(
        "This {} device ({:04x}:{:04x}) is not (or perhaps not yet) supported by usbhid-ups. \
         Please make sure you have an up-to-date version of NUT. If this does not fix the \
         problem, try running the driver with the '-x productid={:04x}' option.",
        sub.maker, dev.vendor_id, dev.product_id, dev.product_id
    ))
}

/// usbhid-ups's own options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HidOptions {
    /// Seconds between full walks.
    pub pollfreq_s: u64,
    /// `lowbatt`: battery.charge.low to publish.
    pub lowbatt: Option<String>,
    /// `ondelay`.
    pub ondelay: Option<String>,
    /// `offdelay`.
    pub offdelay: Option<String>,
    /// `pollonly`: ignore the interrupt pipe.
    pub pollonly: bool,
    /// `onlinedischarge`: OL+DISCHRG means on battery.
    pub onlinedischarge: bool,
    /// The UPS section's name (for log lines).
    pub upsname: String,
    /// `ignorelb`: LB from battery.charge.low / battery.runtime.low (main.c), not the
    /// unit's own flag.
    pub ignorelb: bool,
    /// `interruptonly`: values come only from interrupt reports (NUT's Powercom tweak).
    pub interruptonly: bool,
    /// `interruptsize`: bytes of an interrupt read.
    pub interruptsize: Option<usize>,
    /// `explore`: any unit the matching options select is taken, with no table (NUT's
    /// explore subdriver), and its HID tree printed.
    pub explore: bool,
    /// Print the HID tree at start-up (NUT's `HIDDumpTree`, at debug level 1 and up).
    pub dump_tree: bool,
}

impl Default for HidOptions {
    fn default() -> Self {
        HidOptions {
            pollfreq_s: DEFAULT_POLLFREQ_S,
            lowbatt: None,
            ondelay: None,
            offdelay: None,
            pollonly: false,
            onlinedischarge: false,
            upsname: String::new(),
            ignorelb: false,
            interruptonly: false,
            interruptsize: None,
            explore: false,
            dump_tree: false,
        }
    }
}

/// Options usbhid-ups accepts besides main.c's (usbhid-ups.c `upsdrv_makevartable`,
/// `nut_usb_addvars`): (name, takes a value).
pub const OPTIONS: [(&str, bool); 21] = [
    ("lowbatt", true),
    ("offdelay", true),
    ("ondelay", true),
    ("pollfreq", true),
    ("pollonly", false),
    ("onlinedischarge", false),
    ("vendorid", true),
    ("productid", true),
    ("vendor", true),
    ("product", true),
    ("serial", true),
    ("bus", true),
    ("device", true),
    ("usb_set_altinterface", true),
    ("explore", false),
    ("maxreport", false),
    ("interruptonly", false),
    ("interruptsize", true),
    ("langid_fix", true),
    ("ignorelb", false),
    ("nolock", false),
];

impl HidOptions {
    /// From the section's options (values checked as NUT does).
    pub fn from_options(options: &[(String, Option<String>)]) -> Result<HidOptions, String> {
        let mut out = HidOptions::default();
        for (key, value) in options {
            match (key.as_str(), value) {
                // NUT reads it with atoi ("30s" is 30, 0 a full walk every poll).
                ("pollfreq", Some(v)) => {
                    out.pollfreq_s = strtol(v)
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n <= MAX_POLLFREQ_S)
                        .ok_or_else(|| {
                            format!("invalid pollfreq \"{v}\" (0 to {MAX_POLLFREQ_S} seconds)")
                        })?
                }
                ("lowbatt", Some(v)) => out.lowbatt = Some(strtol(v)),
                ("ondelay", Some(v)) => out.ondelay = Some(strtol(v)),
                ("offdelay", Some(v)) => out.offdelay = Some(strtol(v)),
                ("pollonly", None) => out.pollonly = true,
                ("onlinedischarge", None) => out.onlinedischarge = true,
                ("ignorelb", None) => out.ignorelb = true,
                ("interruptonly", None) => out.interruptonly = true,
                ("explore", None) => {
                    // usbhid-ups.c upsdrv_initups.
                    if !options.iter().any(|(k, v)| k == "vendorid" && v.is_some()) {
                        return Err("must specify \"vendorid\" when using \"explore\"".to_string());
                    }
                    out.explore = true;
                }
                // NUT reads it with atoi and refuses what is not above 0.
                ("interruptsize", Some(v)) => {
                    let n = crate::clients::c_atol(v);
                    if n <= 0 {
                        return Err(format!("Error: invalid interruptsize: {n}"));
                    }
                    // No report is longer than our buffer.
                    out.interruptsize = Some(
                        usize::try_from(n)
                            .unwrap_or(usize::MAX)
                            .min(MAX_REPORT_BYTES),
                    );
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// C's `strtol(v, NULL, 10)` printed with `%ld`: leading digits (and sign), else 0.
fn strtol(v: &str) -> String {
    let t = v.trim_start();
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", t.strip_prefix('+').unwrap_or(t)),
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    match digits.trim_start_matches('0') {
        "" => "0".to_string(),
        d => format!("{sign}{d}"),
    }
}

/// Which walk (NUT's `walkmode_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// At start-up and after a reconnection: maps the table onto the descriptor.
    Init,
    /// Status items only.
    Quick,
    /// Everything that changes.
    Full,
}

/// Why a report could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// The device is gone (no device, I/O error, access lost, busy): reconnect.
    Gone,
    /// This read failed (timeout, stall, overflow): skip its items this time.
    Failed,
}

/// A feature report to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Milliseconds to wait before sending it.
    pub pause_ms: u64,
    /// The report, first byte its ID.
    pub report: Vec<u8>,
    /// What it does, for the log (`load.off.delay 20`).
    pub what: String,
}

/// What a walk did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walked {
    /// False when the device is gone: reconnect before the next walk.
    pub ok: bool,
    /// Lines to broadcast.
    pub lines: Vec<DriverLine>,
    /// Things to log.
    pub notes: Vec<Note>,
    /// USB string descriptors to read for this walk's string items (each index once):
    /// give the results to [`HidUps::strings`].
    pub strings: Vec<u8>,
}

/// A value turned into NUT's terms (`ups_infoval_set`).
enum Infoval {
    Text(String),
    Flag(&'static str, bool),
    /// The USB string descriptor with this index.
    String(u8),
    /// The variable goes (`dstate_delinfo`).
    Delete,
    Nothing,
}

fn infoval(entry: &HidInfo, value: f64) -> Infoval {
    let text = match entry.conv {
        Conv::Bits {
            mask,
            equals,
            flag,
            inverted,
        } => {
            let on = ((value as i64) & mask == equals) != inverted;
            return Infoval::Flag(flag, on);
        }
        Conv::PcmStartup | Conv::PcmShutdown => {
            match crate::usbhid::pcm_delay_text(entry.conv, value) {
                Some(text) => text,
                None => return Infoval::Nothing,
            }
        }
        // Only written (its lookup has no reading function: NUT's lookup fails).
        Conv::PcmStayoff => return Infoval::Nothing,
        Conv::NonZero(flag) => return Infoval::Flag(flag, value != 0.0),
        Conv::Tenths | Conv::BelkinFirmware | Conv::BelkinUpsType | Conv::BelkinSensitivity => {
            match crate::usbhid::belkin_text(entry.conv, value) {
                Some(text) => text,
                None => return Infoval::Nothing,
            }
        }
        // Stateful: the driver converts them (`HidUps::liebert`, `HidUps::mge`, the
        // unit's openUPS factors).
        Conv::LiebertLineVolts
        | Conv::LiebertConfigVolts
        | Conv::Mge(_)
        | Conv::OpenUps(_)
        | Conv::Ever(_) => return Infoval::Nothing,
        Conv::PcmVolts => crate::qx::format_number("%.0f", value * 4.0),
        Conv::DeltaUpsType => match crate::hidvendors::delta_ups_type(value) {
            Some(kind) => kind.to_string(),
            None => return Infoval::Nothing,
        },
        Conv::Times(factor) => format!("{:.1}", value * factor),
        // HIDGetIndexString: the value cast to int, out of a string index's range: no
        // value (the lookup fails).
        Conv::StringId | Conv::TlChemistry => {
            let index = value as i64;
            return match u8::try_from(index) {
                Ok(index) => Infoval::String(index),
                Err(_) => Infoval::Nothing,
            };
        }
        Conv::Num => crate::qx::format_number(entry.dfl, value),
        Conv::Lookup(table) => match table.iter().find(|(k, _)| *k == value as i64) {
            Some((_, t)) => t.to_string(),
            None => return Infoval::Nothing,
        },
        Conv::Bool(table) => {
            return match table.iter().find(|(k, _)| *k == value as i64) {
                Some((_, word)) => match word.strip_prefix('!') {
                    Some(name) => Infoval::Flag(name, false),
                    None => Infoval::Flag(word, true),
                },
                None => Infoval::Nothing,
            }
        }
        Conv::Date => crate::usbhid::date(value as i64),
        Conv::ApcDate => crate::usbhid::apc_date(value as i64),
        Conv::CpsCharge => format!("{:.0}", value.min(100.0)),
        Conv::CpsBattVolt => format!("{value:.1}"),
        Conv::TlScaled(_) => crate::usbhid::tl_scaled_text(value),
        Conv::Kelvin => {
            if (273.0..=373.0).contains(&value) {
                format!("{:.1}", value - 273.15)
            } else {
                format!("{value:.1}")
            }
        }
    };
    Infoval::Text(text)
}

/// The inverse of a lookup (NUT's `hu_find_valinfo`): the HID value for a NUT text.
fn valinfo(entry: &HidInfo, text: &str) -> Option<f64> {
    match entry.conv {
        // NUT's lookup has no reverse for it and writes -1 whatever is asked (a NUT
        // flaw); the names map back to the unit's values here.
        Conv::BelkinSensitivity => ["normal", "reduced", "low"]
            .iter()
            .position(|n| n.eq_ignore_ascii_case(text))
            .map(|i| i as f64),
        Conv::Lookup(table) => table
            .iter()
            .find(|(_, t)| t.eq_ignore_ascii_case(text))
            .map(|(k, _)| *k as f64),
        Conv::ApcDate => {
            let mut parts = text.split('/').map(|p| p.trim().parse::<i64>().ok());
            let (Some(Some(year)), Some(Some(month)), Some(Some(day))) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Some(0.0);
            };
            let year = year.rem_euclid(100);
            let (month, day) = (month.clamp(0, 99), day.clamp(0, 99));
            let bcd = |n: i64| (((n / 10) & 0x0f) << 4) + (n % 10);
            Some(((bcd(month) << 16) + (bcd(day) << 8) + bcd(year)) as f64)
        }
        Conv::Date => {
            let mut parts = text.split('/').map(|p| p.trim().parse::<i64>().ok());
            let (Some(Some(year)), Some(Some(month)), Some(Some(day))) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Some(0.0);
            };
            // NUT's date_conversion_reverse: out of range is 0.
            if !(1980..=1980 + 127).contains(&year)
                || !(0..=12).contains(&month)
                || !(0..=31).contains(&day)
            {
                return Some(0.0);
            }
            Some((((year - 1980) << 9) + (month << 5) + day) as f64)
        }
        // C's atol: leading digits.
        _ => strtol(text).parse::<i64>().ok().map(|v| v as f64),
    }
}

/// NUT's `physical_to_logical` after dividing by the unit exponent.
pub fn to_logical(item: &Item, value: f64) -> i64 {
    // physical(item, 1) is 10^expo for items without a physical range.
    let scale = physical(
        &Item {
            phy_min: None,
            phy_max: None,
            ..item.clone()
        },
        1,
    );
    let value = if scale != 0.0 { value / scale } else { value };
    match (item.phy_min, item.phy_max) {
        (Some(pmin), Some(pmax))
            if !(pmin == 0 && pmax == 0) && pmax > pmin && item.log_max > item.log_min =>
        {
            let factor = (item.log_max - item.log_min) as f64 / (pmax - pmin) as f64;
            // The cast saturates; so must the sum (a huge SET argument).
            let logical = (((value - pmin as f64) * factor) as i64).saturating_add(item.log_min);
            logical.clamp(item.log_min, item.log_max)
        }
        _ => value as i64,
    }
}

/// NUT's `SetValue`: writes `value`'s low `size` bits at the item's offset.
pub fn set_value(report: &mut [u8], item: &Item, value: i64) {
    let first = item.offset as usize + 8;
    for (bit, weight) in (first..).zip(0..u32::from(item.size).min(63)) {
        if let Some(byte) = report.get_mut(bit >> 3) {
            if value & (1i64 << weight) != 0 {
                *byte |= 1 << (bit & 7);
            } else {
                *byte &= !(1 << (bit & 7));
            }
        }
    }
}

/// The item whose string names an Eaton / MGE model.
const IMODEL_PATH: &str = "UPS.PowerSummary.iModel";

/// The driver's state for one device.
#[derive(Debug, Clone)]
pub struct HidUps {
    sub: &'static Subdriver,
    options: HidOptions,
    desc: Descriptor,
    /// Table row -> feature item (NUT's `hiddata`), `None` where the device lacks it.
    map: Vec<Option<usize>>,
    /// Last read of each report (NUT's report buffer), zero-padded to its length.
    buffers: BTreeMap<u8, Vec<u8>>,
    /// Bytes of each feature report (ID included).
    lengths: BTreeMap<u8, usize>,
    /// Status flags set (NUT's `ups_status`).
    flags: Vec<&'static str>,
    last_full_s: Option<u64>,
    data_has_changed: bool,
    use_interrupt: bool,
    /// Values come from interrupt reports only, never a GET_REPORT (NUT's
    /// `interrupt_only`): the table maps input items.
    interrupt_only: bool,
    /// Bytes of an interrupt report kept (NUT reads `interrupt_size` bytes).
    interrupt_size: Option<usize>,
    device: UsbDevice,
    /// Data went stale after the device was lost: say so when it answers again.
    lost: bool,
    /// CyberPower's battery voltage factor, decided once (`None`: not yet).
    battery_scale: Option<f64>,
    /// USB string descriptors read (NUT reads one at each use; a unit's strings do not
    /// change, so a read that worked is kept).
    strings: BTreeMap<u8, String>,
    /// String items of the last walk waiting for their descriptor: (variable, index).
    pending_strings: Vec<(&'static str, u8)>,
    /// The unit's fixed factors (Tripp Lite's).
    scales: Scales,
    /// The report the unit's firmware answers wrongly, never read.
    bad_report: Option<u8>,
    /// Liebert's voltage factors, found from its readings (belkin-hid.c).
    liebert: crate::usbhid::LiebertFactors,
    /// The first Init walk mapped the table (a reconnection keeps the mapping).
    initialized: bool,
    /// OL+DISCHRG without `onlinedischarge` was reported (NUT warns; once here).
    warned_online_discharge: bool,
    /// `ups.alarm` is set (decided at full walks, NUT's `alarm_active`).
    alarm_active: bool,
    /// ever-hid.c's static counters (IP address and packet reports), each cycling
    /// through its four reports call by call.
    ever_counters: [usize; 2],
    /// Alarms the table's `ups.alarm` rows raised in this full walk (NUT's
    /// `alarm_set` from `ups_infoval_set`), before the status flags' ones.
    row_alarms: Vec<String>,
    /// mge-hid.c's globals (model type, country, ABM, first nominal voltage).
    mge: MgeState,
    /// The `iModel` string read for the identity (mge-hid.c `mge_format_model`):
    /// `None` when none was read.
    model_string: Option<String>,
}

impl HidUps {
    /// A driver for `device`, whose report descriptor is `descriptor`.
    pub fn new(
        sub: &'static Subdriver,
        descriptor: &[u8],
        device: UsbDevice,
        options: HidOptions,
    ) -> HidUps {
        let mut desc = parse(descriptor);
        if let Some(fix) = sub.fix_descriptor {
            fix(&device, &mut desc);
        }
        let known = sub.known(&device);
        let claimed_interrupt_only = known.and_then(|k| k.interrupt_only);
        let interrupt_only = options.interruptonly || claimed_interrupt_only.is_some();
        let interrupt_size = options.interruptsize.or(claimed_interrupt_only);
        // A report's length over all its items, whatever their kind (hidparser.c's
        // report lengths, libhid.c's report buffer).
        let mut lengths = BTreeMap::new();
        for item in &desc.items {
            let bytes = 1 + (item.offset as usize + item.size as usize).div_ceil(8);
            let len = lengths.entry(item.report_id).or_insert(1);
            *len = (*len).max(bytes.min(MAX_REPORT_BYTES));
        }
        // NUT's report buffer starts zeroed for every report: an interrupt-only unit
        // reads 0 until its first report, Ever's whole-report readings 0s.
        let mut buffers = BTreeMap::new();
        for (&id, &len) in &lengths {
            let mut buf = vec![0u8; len];
            buf[0] = id;
            buffers.insert(id, buf);
        }
        let scales = known.map_or(Scales::ONE, |k| k.scales);
        let bad_report = known.and_then(|k| k.bad_report);
        let use_interrupt =
            !options.pollonly && !sub.poll_only_products.contains(&device.product_id);
        HidUps {
            sub,
            map: vec![None; sub.table.len()],
            options,
            desc,
            buffers,
            lengths,
            flags: Vec::new(),
            last_full_s: None,
            data_has_changed: false,
            use_interrupt,
            interrupt_only,
            interrupt_size,
            device,
            lost: false,
            battery_scale: None,
            strings: BTreeMap::new(),
            pending_strings: Vec::new(),
            scales,
            bad_report,
            liebert: Default::default(),
            initialized: false,
            warned_online_discharge: false,
            alarm_active: false,
            row_alarms: Vec::new(),
            ever_counters: [0, 0],
            mge: MgeState::default(),
            model_string: None,
        }
    }

    /// The subdriver in use.
    pub fn subdriver(&self) -> &'static Subdriver {
        self.sub
    }

    /// The items the table maps: input items on an interrupt-only unit (libhid.c
    /// `HIDGetItemData`), feature items otherwise.
    fn item_kind(&self) -> Kind {
        if self.interrupt_only {
            Kind::Input
        } else {
            Kind::Feature
        }
    }

    /// Whether values come from interrupt reports only.
    pub fn interrupt_only(&self) -> bool {
        self.interrupt_only
    }

    /// Whether the interrupt pipe is read.
    pub fn uses_interrupt(&self) -> bool {
        self.use_interrupt
    }

    /// The parsed descriptor.
    pub fn descriptor(&self) -> &Descriptor {
        &self.desc
    }

    fn find(&self, path: &str, kind: Kind) -> Option<usize> {
        let code = path_code(path, self.sub.usages)?;
        self.desc
            .items
            .iter()
            .position(|i| i.kind == kind && i.path == code)
    }

    /// The walk due at `now_s` (NUT: full when `pollfreq` has passed since the last
    /// full one, or after a SET or command).
    pub fn due(&self, now_s: u64) -> Walk {
        match self.last_full_s {
            Some(last)
                if now_s <= last.saturating_add(self.options.pollfreq_s)
                    && !self.data_has_changed =>
            {
                Walk::Quick
            }
            _ => Walk::Full,
        }
    }

    /// usbhid-ups.c's walk skips report 0x54 of Tripp Lite's SU3000LCD2UHV, whose
    /// firmware answers it wrongly: mapped, never read.
    fn skips_report(&self, id: u8) -> bool {
        self.bad_report == Some(id)
    }

    fn rows(&self, walk: Walk) -> Vec<usize> {
        (0..self.sub.table.len())
            .filter(|&row| {
                let entry = &self.sub.table[row];
                match walk {
                    // After a reconnection NUT keeps the mapping and reads it again.
                    // Its server-side rows (ups.delay.*, outlet descriptions) it sets
                    // back to their defaults then, losing what was SET; kept here, on
                    // purpose.
                    Walk::Init if self.initialized => {
                        self.map[row].is_some() && entry.flags & flag::ABSENT == 0
                    }
                    Walk::Init => true,
                    Walk::Quick => entry.flags & flag::QUICK != 0,
                    Walk::Full => {
                        entry.flags & (flag::ABSENT | flag::CMD | flag::STATIC) == 0
                            && (entry.flags & flag::SEMI_STATIC == 0 || self.data_has_changed)
                    }
                }
            })
            .collect()
    }

    fn item_for(&self, row: usize, walk: Walk) -> Option<usize> {
        if walk == Walk::Init && !self.initialized {
            self.find(self.sub.table[row].path, self.item_kind())
        } else {
            self.map[row]
        }
    }

    /// The feature reports `walk` reads, each once, in the order first needed.
    pub fn reports(&self, walk: Walk) -> Vec<u8> {
        let mut ids = Vec::new();
        // libhid.c `refresh_report_buffer`: the buffered report is always used.
        if self.interrupt_only {
            return ids;
        }
        for row in self.rows(walk) {
            if walk == Walk::Init && self.sub.table[row].flags & flag::ABSENT != 0 {
                continue;
            }
            if let Some(item) = self.item_for(row, walk) {
                let id = self.desc.items[item].report_id;
                if !self.skips_report(id) && !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        // mge-hid.c names the unit from its iModel string (HIDGetItemString), except
        // Dell's, named by their product string; delta_ups-hid.c from its own item.
        if let Some(path) = self.sub.model_from.item().filter(|_| {
            walk == Walk::Init
                && !self.initialized
                && self.device.vendor_id != mgehid::DELL_VENDORID
        }) {
            if let Some(item) = self.find(path, self.item_kind()) {
                let id = self.desc.items[item].report_id;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        ids
    }

    fn file_report(&mut self, bytes: &[u8]) {
        let Some(&id) = bytes.first() else { return };
        let len = self
            .lengths
            .get(&id)
            .copied()
            .unwrap_or(bytes.len())
            .min(MAX_REPORT_BYTES);
        let mut buf = vec![0u8; len.max(1)];
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        buf[0] = id;
        self.buffers.insert(id, buf);
    }

    fn set_flag(&mut self, name: &'static str, on: bool) {
        self.flags.retain(|f| *f != name);
        if on {
            self.flags.push(name);
        }
    }

    /// One walk over the reports the shell read for it (`reads` in any order; a report
    /// missing from it counts as failed). At [`Walk::Init`] it also publishes the
    /// device's identity and the driver's settings.
    pub fn walk(
        &mut self,
        state: &mut DriverState,
        walk: Walk,
        reads: &[(u8, Result<Vec<u8>, ReadError>)],
        now_s: u64,
    ) -> Walked {
        let mut out = Walked {
            ok: true,
            ..Walked::default()
        };
        // String items the caller did not resolve after the last walk wait no more.
        self.pending_strings.clear();
        // NUT walks the rows up to the failed read before it gives up (so Ever's
        // call-order counters move); none are walked here, on purpose.
        if reads.iter().any(|(_, r)| *r == Err(ReadError::Gone)) {
            out.ok = false;
            return out;
        }
        // An empty answer is no reading (the buffer keeps its last one).
        let fresh: Vec<u8> = reads
            .iter()
            .filter(|(_, r)| r.as_ref().is_ok_and(|b| !b.is_empty()))
            .map(|(id, _)| *id)
            .collect();
        for (_, read) in reads {
            if let Ok(bytes) = read {
                self.file_report(bytes);
            }
        }
        let reinit = walk == Walk::Init && self.initialized;
        let push = |out: &mut Walked, line: Option<DriverLine>| {
            if let Some(line) = line {
                out.lines.push(line);
            }
        };
        if walk == Walk::Init && !reinit {
            self.map = vec![None; self.sub.table.len()];
            self.identity(state, &mut out);
        }
        if walk == Walk::Full {
            self.row_alarms.clear();
        }
        for row in self.rows(walk) {
            let entry = self.sub.table[row];
            let Some(index) = self.item_for(row, walk) else {
                continue;
            };
            if walk == Walk::Init && !reinit {
                if entry.flags & flag::ABSENT != 0 {
                    if state.tree().get(entry.var).is_none() {
                        push(&mut out, state.set(entry.var, entry.dfl));
                        self.mark_writable(state, row, &mut out.lines);
                    }
                    self.map[row] = Some(index);
                    continue;
                }
                // usbhid-ups.c allows duplicates for ups.alarm.
                if entry.var != "BOOL"
                    && entry.var != "ups.alarm"
                    && entry.flags & flag::CMD == 0
                    && state.tree().get(entry.var).is_some()
                {
                    continue;
                }
                self.map[row] = Some(index);
            }
            let item = &self.desc.items[index];
            if self.skips_report(item.report_id)
                || !(self.interrupt_only || fresh.contains(&item.report_id))
            {
                continue;
            }
            let Some(buf) = self.buffers.get(&item.report_id) else {
                continue;
            };
            let value = physical(item, logical(buf, item));
            if entry.flags & flag::CMD != 0 {
                if state.tree_mut().add_cmd(entry.var) {
                    out.lines.push(DriverLine::AddCmd {
                        cmd: entry.var.to_string(),
                    });
                }
                continue;
            }
            let value = match self.convert(state, &entry, value, &mut out.notes) {
                Infoval::String(index) => match self.strings.get(&index) {
                    Some(text) => Infoval::Text(text.clone()),
                    None => {
                        self.pending_strings.push((entry.var, index));
                        if !out.strings.contains(&index) {
                            out.strings.push(index);
                        }
                        Infoval::Nothing
                    }
                },
                value => value,
            };
            // ups_infoval_set: a ups.alarm row's text joins the alarms (alarm_set);
            // only a full walk's reach ups.alarm (alarm_init clears them first).
            if entry.var == "ups.alarm" {
                if let (Infoval::Text(text), Walk::Full) = (value, walk) {
                    self.row_alarms.push(text);
                }
                continue;
            }
            match value {
                Infoval::Text(text) => {
                    push(&mut out, state.set(entry.var, &text));
                    if walk == Walk::Init {
                        self.mark_writable(state, row, &mut out.lines);
                        self.add_enums(state, row, &mut out.lines);
                    }
                }
                Infoval::Flag(name, on) => self.set_flag(name, on),
                Infoval::Delete => push(&mut out, state.delete(entry.var)),
                Infoval::String(_) | Infoval::Nothing => {}
            }
        }
        if walk == Walk::Init {
            // NUT's upsdrv_initinfo starts the pollfreq clock: the first poll is quick.
            self.last_full_s = Some(now_s);
            // The identity and ups.conf's settings are published once (upsdrv_initups).
            if !reinit {
                self.after_init(state, &mut out);
                self.initialized = true;
            }
            return out;
        }
        if walk == Walk::Full {
            self.last_full_s = Some(now_s);
            self.data_has_changed = false;
            self.commit_alarm(state, &mut out);
        }
        self.commit_status(state, &mut out);
        if let Some(line) = state.set_stale(false) {
            out.lines.push(line);
            if std::mem::take(&mut self.lost) {
                out.notes.push(Note::Restored);
            }
        }
        out
    }

    /// NUT's `ups_status_set`: `input.transfer.reason` from the range flags, and the
    /// status word (OL+DISCHRG is OB with `onlinedischarge`; without it NUT warns, here
    /// once per episode rather than on every poll).
    fn commit_status(&mut self, state: &mut DriverState, out: &mut Walked) {
        let has = |f: &str| self.flags.contains(&f);
        let reason = if has("vrange") {
            Some("input voltage out of range")
        } else if has("frange") {
            Some("input frequency out of range")
        } else {
            None
        };
        let line = match reason {
            Some(text) => state.set("input.transfer.reason", text),
            None => state.delete("input.transfer.reason"),
        };
        out.lines.extend(line);
        let odd = has("online") && has("dischrg") && !self.options.onlinedischarge && !has("cal");
        if odd && !self.warned_online_discharge {
            out.notes.push(Note::Log(
                Level::Warning,
                format!(
                    "ups_status_set: seems that UPS [{}] is in OL+DISCHRG state now. Is it calibrating or do you perhaps want to set 'onlinedischarge' option? Some UPS models (e.g. CyberPower UT series) emit OL+DISCHRG when offline.",
                    self.options.upsname
                ),
            ));
        }
        self.warned_online_discharge = odd;
        let flags: Vec<String> = self.flags.iter().map(|f| f.to_string()).collect();
        let mut word = status_word(&flags, self.options.onlinedischarge);
        if self.options.ignorelb {
            word =
                crate::status::ignorelb_word(&word, |v| state.tree().value(v).map(str::to_string));
        }
        if self.alarm_active {
            word = format!("ALARM {word}");
        }
        out.lines.extend(state.set("ups.status", &word));
    }

    /// NUT's `ups_alarm_set` and `alarm_commit`, at full walks: `ups.alarm` from the
    /// alarm flags (ALARM then leads the status word).
    fn commit_alarm(&mut self, state: &mut DriverState, out: &mut Walked) {
        let flag_alarms = [
            ("replacebatt", "Replace battery!"),
            ("shutdownimm", "Shutdown imminent!"),
            ("fanfail", "Fan failure!"),
            ("nobattery", "No battery installed!"),
            ("battvoltlo", "Battery voltage too low!"),
            ("battvolthi", "Battery voltage too high!"),
            ("chargerfail", "Battery charger fail!"),
            ("overheat", "Temperature too high!"),
            ("commfault", "Internal UPS fault!"),
            ("awaitingpower", "Awaiting power!"),
            ("bypassauto", "Automatic bypass mode!"),
            ("bypassman", "Manual bypass mode!"),
        ]
        .into_iter()
        .filter(|(flag, _)| self.flags.contains(flag))
        .map(|(_, text)| text.to_string());
        let alarms: Vec<String> = self.row_alarms.drain(..).chain(flag_alarms).collect();
        self.alarm_active = !alarms.is_empty();
        let line = if alarms.is_empty() {
            state.delete("ups.alarm")
        } else {
            state.set("ups.alarm", &alarms.join(" "))
        };
        out.lines.extend(line);
    }

    /// The device cannot be reached (reconnection failed): data is stale (NUT's
    /// `dstate_datastale`); the line to broadcast and the note, the first time.
    pub fn lost(&mut self, state: &mut DriverState) -> Option<(DriverLine, Note)> {
        let line = state.set_stale(true)?;
        self.lost = true;
        Some((line, Note::Lost))
    }

    /// cps-hid.c `cps_adjust_battery_scale`: on the products that need it, once the
    /// nominal voltage is known, a reading above 1.4 times it means 2/3.
    fn battery_scale(&mut self, state: &DriverState, volts: f64, notes: &mut Vec<Note>) -> f64 {
        if let Some(scale) = self.battery_scale {
            return scale;
        }
        if !self
            .sub
            .battery_scale_products
            .contains(&self.device.product_id)
        {
            self.battery_scale = Some(1.0);
            return 1.0;
        }
        let nominal = state
            .tree()
            .value("battery.voltage.nominal")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|n| *n != 0.0);
        let Some(nominal) = nominal else {
            return 1.0;
        };
        let scale = if volts / nominal > CPS_BATTERY_VOLTAGE_SANITY {
            notes.push(Note::Log(
                Level::Info,
                "cps_adjust_battery_scale: battery readings will be scaled by 2/3".to_string(),
            ));
            2.0 / 3.0
        } else {
            1.0
        };
        self.battery_scale = Some(scale);
        scale
    }

    /// The string descriptors a walk asked for ([`Walked::strings`]), as read: each
    /// waiting string item takes its text (a failed read gives "", as NUT's
    /// `HIDGetIndexString`; only a successful one is kept for later walks).
    pub fn strings(
        &mut self,
        state: &mut DriverState,
        reads: &[(u8, Result<String, ReadError>)],
    ) -> Vec<DriverLine> {
        for (index, read) in reads {
            if let Ok(raw) = read {
                self.strings
                    .insert(*index, crate::usbhid::string_value(raw));
            }
        }
        let mut lines = Vec::new();
        for (var, index) in std::mem::take(&mut self.pending_strings) {
            let Some((_, read)) = reads.iter().find(|(i, _)| *i == index) else {
                continue;
            };
            let text = match read {
                Ok(_) => self.strings.get(&index).cloned().unwrap_or_default(),
                Err(_) => String::new(),
            };
            lines.extend(state.set(var, &text));
            // The identity reaches device.* as main.c copies it after the first walk.
            if let Some(copy) = ["ups.mfr", "ups.model", "ups.serial"]
                .contains(&var)
                .then(|| var.replacen("ups.", "device.", 1))
            {
                lines.extend(state.set(&copy, &text));
            }
        }
        lines
    }

    /// usbhid-ups.c's `HU_FLAG_ENUM` at start-up: a writable variable announces each
    /// value of its lookup the conversion accepts.
    fn add_enums(&mut self, state: &mut DriverState, row: usize, lines: &mut Vec<DriverLine>) {
        let entry = self.sub.table[row];
        if entry.flags & flag::ENUM == 0 || !state.tree().get(entry.var).is_some_and(|v| v.flags.rw)
        {
            return;
        }
        let values: Vec<String> = match entry.conv {
            Conv::Lookup(table) => table.iter().map(|(_, t)| t.to_string()).collect(),
            Conv::Mge(c) => {
                let off = self.flags.contains(&"off");
                MgeState::enum_keys(c)
                    .iter()
                    .filter(|&&k| {
                        matches!(
                            self.mge.convert(c, k as f64, state.tree(), off),
                            MgeValue::Text(_)
                        )
                    })
                    .map(|k| k.to_string())
                    .collect()
            }
            _ => Vec::new(),
        };
        for value in values {
            let line = DriverLine::AddEnum {
                var: entry.var.to_string(),
                value,
            };
            if state.tree_mut().apply(&line) {
                lines.push(line);
            }
        }
    }

    fn mark_writable(&self, state: &mut DriverState, row: usize, lines: &mut Vec<DriverLine>) {
        let entry = &self.sub.table[row];
        let var = entry.var;
        if self.sub.read_only_paths.contains(&entry.path) || entry.flags & flag::READ_ONLY != 0 {
            return;
        }
        let Some(&(_, len)) = self.sub.writable.iter().find(|(w, _)| *w == var) else {
            return;
        };
        // Length 0: NUT's ST_FLAG_RW alone (Delta's settings), no string, no length;
        // -1: RW and NUMBER (Ever's).
        let string = len > 0;
        let number = len < 0;
        if let Some(v) = state.tree_mut().get_mut(var) {
            if v.flags.rw && v.flags.string == string && v.flags.number == number {
                return;
            }
            v.flags.rw = true;
            v.flags.string = string;
            v.flags.number = number;
            lines.push(DriverLine::SetFlags {
                var: var.to_string(),
                flags: v.flags.words(),
            });
            if string {
                v.aux = len;
                lines.push(DriverLine::SetAux {
                    var: var.to_string(),
                    aux: len,
                });
            }
        }
    }

    /// The device's identity, published before the Init walk as usbhid-ups.c's
    /// `callback` publishes it before `upsdrv_initinfo` (so a table row for a variable
    /// it set is not used, and one for a variable it left out is).
    fn identity(&mut self, state: &mut DriverState, out: &mut Walked) {
        let set = |out: &mut Walked, state: &mut DriverState, name: &str, value: &str| {
            if let Some(line) = state.set(name, value) {
                out.lines.push(line);
            }
        };
        // apc-hid.c's formatting splits the firmware out of the product string.
        // APC names an unnamed unit "unknown" (apc_format_model); the others leave
        // ups.model out, as usbhid-ups.c does for a NULL model.
        // belkin_format_model: an empty product is none; belkin_format_mfr: the maker
        // without its leading spaces, none when nothing is left.
        let blank = |name: &Option<String>, trimmed: bool| {
            name.as_deref().is_some_and(|n| {
                self.sub.blank_names_default
                    && if trimmed {
                        n.trim_start_matches(' ').is_empty()
                    } else {
                        n.is_empty()
                    }
            })
        };
        let mut model = match &self.device.product {
            Some(_) if blank(&self.device.product, false) => None,
            product => product.clone(),
        }
        .or_else(|| self.sub.default_model.map(str::to_string));
        if let Some(model) = model.as_mut().filter(|_| self.sub.firmware_in_product) {
            // apc_format_model copies the product into a 64-byte buffer.
            cut_at_boundary(model, APC_MODEL_BUF_BYTES - 1);
            if let Some(at) = model.find("FW:") {
                let mut firmware = model[at + 3..].to_string();
                if let Some(aux) = firmware.find("USB FW:") {
                    set(out, state, "ups.firmware.aux", &firmware[aux + 7..]);
                    // NUT ends the string on the byte before "USB FW:".
                    cut_at_boundary(&mut firmware, aux.saturating_sub(1));
                }
                set(out, state, "ups.firmware", &firmware);
                cut_at_boundary(model, at.saturating_sub(1));
            }
        }
        match self.sub.model_from {
            ModelSource::Product => {}
            ModelSource::Mge => model = self.mge_model(),
            // delta_ups_format_model: the item's string, else the product string.
            ModelSource::Item(_) => {
                if let Some(name) = self.model_string.clone().filter(|m| !m.is_empty()) {
                    model = Some(name);
                }
            }
        }
        let mfr = match &self.device.vendor {
            Some(_) if blank(&self.device.vendor, true) => None,
            Some(v) if self.sub.blank_names_default => Some(v.trim_start_matches(' ').to_string()),
            vendor => vendor.clone(),
        }
        .or_else(|| self.sub.default_mfr.map(str::to_string));
        for (name, value) in [("ups.mfr", mfr), ("ups.model", model)] {
            match value {
                Some(value) => set(out, state, name, &value),
                None => {
                    if let Some(line) = state.delete(name) {
                        out.lines.push(line);
                    }
                }
            }
        }
        match &self.device.serial {
            Some(serial) => set(out, state, "ups.serial", serial),
            None => {
                if let Some(line) = state.delete("ups.serial") {
                    out.lines.push(line);
                }
            }
        }
        set(
            out,
            state,
            "ups.vendorid",
            &format!("{:04x}", self.device.vendor_id),
        );
        set(
            out,
            state,
            "ups.productid",
            &format!("{:04x}", self.device.product_id),
        );
    }

    /// The value of the item at `path` in its last read report (libhid.c
    /// `HIDGetItemValue`, from the reports the walk was given).
    fn item_value(&self, path: &str) -> Option<f64> {
        let item = &self.desc.items[self.find(path, self.item_kind())?];
        let buf = self.buffers.get(&item.report_id)?;
        Some(physical(item, logical(buf, item)))
    }

    /// mge-hid.c `mge_format_model`: Dell's product string as it is; otherwise the
    /// product string and the `iModel` string (or the apparent power) through
    /// `get_model_name`, which also tells the model type.
    fn mge_model(&mut self) -> Option<String> {
        if self.device.vendor_id == mgehid::DELL_VENDORID {
            return self.device.product.clone();
        }
        let product = self
            .device
            .product
            .clone()
            .unwrap_or_else(|| "unknown".to_string());
        let mut model = self.model_string.clone().unwrap_or_default();
        if model.is_empty() {
            if let Some(power) = self.item_value("UPS.Flow.[4].ConfigApparentPower") {
                // snprintf("%i", (int)value)
                model = (power as i32).to_string();
            }
        }
        if model.is_empty() {
            return self.device.product.clone();
        }
        let (name, kind) = mgehid::model_name(&product, &model);
        if let Some(kind) = kind {
            self.mge.model_type = kind;
        }
        Some(name)
    }

    /// The reports NUT's `HIDDumpTree` reads: every item's (each once, in item order),
    /// but those usbhid-ups never reads on some units (Eaton's and Dell's 254 and 255,
    /// the SU3000LCD2UHV's 0x54).
    pub fn tree_reports(&self) -> Vec<u8> {
        let mut ids = Vec::new();
        for item in &self.desc.items {
            if !self.tree_skips(item.report_id) && !ids.contains(&item.report_id) {
                ids.push(item.report_id);
            }
        }
        ids
    }

    fn tree_skips(&self, id: u8) -> bool {
        let eaton = matches!(
            self.device.vendor_id,
            mgehid::MGE_VENDORID | mgehid::DELL_VENDORID
        );
        (eaton && id >= 254) || self.skips_report(id)
    }

    /// libhid.c `HIDDumpTree`'s lines, from the reports [`HidUps::tree_reports`] named,
    /// as read: the item count, then each item's path, type, report, offset, size and
    /// (when its report was read) value.
    pub fn tree_lines(&self, reads: &[(u8, Result<Vec<u8>, ReadError>)]) -> Vec<String> {
        let mut lines = vec![format!("{} HID objects found", self.desc.items.len())];
        for item in &self.desc.items {
            if self.tree_skips(item.report_id) {
                continue;
            }
            let kind = match item.kind {
                Kind::Input => "Input",
                Kind::Output => "Output",
                Kind::Feature => "Feature",
            };
            let mut line = format!(
                "Path: {}, Type: {kind}, ReportID: 0x{:02x}, Offset: {}, Size: {}",
                crate::hid::path_name_with(&item.path, self.sub.usages),
                item.report_id,
                item.offset,
                item.size
            );
            let read = reads
                .iter()
                .find(|(id, _)| *id == item.report_id)
                .and_then(|(_, r)| r.as_ref().ok())
                .filter(|b| !b.is_empty());
            // A short read's missing bytes read as 0, as NUT's zero-padded buffer.
            if let Some(bytes) = read {
                let value = physical(item, logical(bytes, item));
                line.push_str(&format!(", Value: {}", crate::hid::format_g(value)));
            }
            lines.push(line);
        }
        lines
    }

    /// The USB string descriptors the identity needs before the first Init walk, given
    /// that walk's reads (mge-hid.c reads the `iModel` string while naming the unit,
    /// before the walk): give them to [`HidUps::identity_read`], then walk.
    pub fn identity_strings(&self, reads: &[(u8, Result<Vec<u8>, ReadError>)]) -> Vec<u8> {
        let Some(path) = self.sub.model_from.item() else {
            return Vec::new();
        };
        if self.initialized || self.device.vendor_id == mgehid::DELL_VENDORID {
            return Vec::new();
        }
        let Some(index) = self.find(path, self.item_kind()) else {
            return Vec::new();
        };
        let item = &self.desc.items[index];
        let Some(Ok(bytes)) = reads
            .iter()
            .find(|(id, _)| *id == item.report_id)
            .map(|(_, r)| r)
        else {
            return Vec::new();
        };
        // Index 0 is no string (libusb refuses it, NUT's buffer stays empty).
        let value = physical(item, logical(bytes, item)) as i64;
        u8::try_from(value)
            .ok()
            .filter(|&i| i != 0)
            .into_iter()
            .collect()
    }

    /// The strings [`HidUps::identity_strings`] asked for, as read (a failed read is
    /// "", as libhid.c `HIDGetIndexString`), cut to NUT's `SMALLBUF` buffers.
    pub fn identity_read(&mut self, strings: &[(u8, Result<String, ReadError>)]) {
        for (_, read) in strings {
            let mut text = match read {
                Ok(raw) => raw.clone(),
                Err(_) => String::new(),
            };
            cut_at_boundary(&mut text, mgehid::MODEL_BUF_BYTES - 1);
            self.model_string = Some(text.trim_end_matches('\n').to_string());
        }
    }

    fn after_init(&mut self, state: &mut DriverState, out: &mut Walked) {
        let set = |out: &mut Walked, state: &mut DriverState, name: &str, value: &str| {
            if let Some(line) = state.set(name, value) {
                out.lines.push(line);
            }
        };
        for (var, option) in [
            ("battery.charge.low", self.options.lowbatt.clone()),
            ("ups.delay.start", self.options.ondelay.clone()),
            ("ups.delay.shutdown", self.options.offdelay.clone()),
        ] {
            if let (Some(value), true) = (option, state.tree().get(var).is_some()) {
                set(out, state, var, &value);
            }
        }
        let has = |cmd: &str| self.command_row(cmd).is_some();
        let mut cmds = Vec::new();
        if has("load.off.delay") {
            cmds.push("load.off");
        }
        if has("load.on.delay") {
            cmds.push("load.on");
        }
        if has("load.off.delay") && has("load.on.delay") {
            cmds.push("shutdown.return");
            cmds.push("shutdown.stayoff");
        }
        for cmd in cmds {
            if state.tree_mut().add_cmd(cmd) {
                out.lines.push(DriverLine::AddCmd {
                    cmd: cmd.to_string(),
                });
            }
        }
        // main.c copies the identity to device.* once the driver has read it.
        for (from, to) in [
            ("ups.mfr", "device.mfr"),
            ("ups.model", "device.model"),
            ("ups.serial", "device.serial"),
        ] {
            if let Some(value) = state.tree().value(from).map(str::to_string) {
                set(out, state, to, &value);
            }
        }
        // The claim's disable_interrupt_pipe (APC's 5G units, Legrand's), at LOG_INFO,
        // said even with pollonly (NUT reads that option later).
        if self
            .sub
            .poll_only_products
            .contains(&self.device.product_id)
        {
            out.notes.push(Note::Log(
                Level::Info,
                "interrupt pipe disabled (add 'pollonly' flag to 'ups.conf' to get rid of this message)"
                    .to_string(),
            ));
        }
        set(out, state, "device.type", "ups");
        set(out, state, "driver.name", DRIVER_NAME);
        set(out, state, "driver.version", crate::dummy::DRIVER_VERSION);
        set(
            out,
            state,
            "driver.version.internal",
            DRIVER_VERSION_INTERNAL,
        );
        set(out, state, "driver.version.data", self.sub.name);
        set(
            out,
            state,
            "driver.parameter.pollfreq",
            &self.options.pollfreq_s.to_string(),
        );
        out.notes.push(Note::Log(
            Level::Info,
            format!("Using subdriver: {}", self.sub.name),
        ));
    }

    /// An interrupt-in report: its input items update values and status at once (NUT's
    /// `HIDGetEvents`; the status word is committed by the walk that follows). The
    /// lines to broadcast and the things to log.
    pub fn interrupt(
        &mut self,
        state: &mut DriverState,
        report: &[u8],
    ) -> (Vec<DriverLine>, Vec<Note>) {
        let mut lines = Vec::new();
        let mut notes = Vec::new();
        let report = &report[..self
            .interrupt_size
            .map_or(report.len(), |n| n.min(report.len()))];
        let Some(&id) = report.first() else {
            return (lines, notes);
        };
        // HIDGetEvents files the report in NUT's buffer: an interrupt-only unit's walks
        // read it there, and so do Ever's whole-report readings.
        self.file_report(report);
        let kind = self.item_kind();
        let items: Vec<Item> = self
            .desc
            .items
            .iter()
            .filter(|i| i.report_id == id && i.kind == Kind::Input)
            .take(MAX_EVENTS)
            .cloned()
            .collect();
        for event in items {
            let value = physical(&event, logical(report, &event));
            // NUT finds the feature item with the event's path (`FindObject_with_Path`;
            // the input item on an interrupt-only unit), then the table row mapped to
            // it at start-up (`find_hid_info`).
            let Some(index) = self
                .desc
                .items
                .iter()
                .position(|i| i.kind == kind && i.path == event.path)
            else {
                continue;
            };
            // NUT's find_hid_info skips only server-side rows, so an event on an item
            // only a command uses publishes a variable named after the command
            // (`outlet.1.load.off: 0`); such events are dropped here, on purpose.
            let Some(row) = (0..self.sub.table.len()).find(|&r| {
                self.map[r] == Some(index)
                    && self.sub.table[r].flags & (flag::CMD | flag::ABSENT) == 0
            }) else {
                continue;
            };
            let entry = self.sub.table[row];
            // The conversions apply as in a walk (NUT's ups_infoval_set); a string is
            // not read here, only taken from what a walk read.
            // A ups.alarm row's text would go to NUT's alarm buffer, which the next full
            // walk clears before it counts.
            if entry.var == "ups.alarm" {
                continue;
            }
            match self.convert(state, &entry, value, &mut notes) {
                Infoval::Text(text) => lines.extend(state.set(entry.var, &text)),
                Infoval::Delete => lines.extend(state.delete(entry.var)),
                Infoval::Flag(name, on) => self.set_flag(name, on),
                Infoval::String(index) => {
                    if let Some(text) = self.strings.get(&index) {
                        lines.extend(state.set(entry.var, text));
                    }
                }
                Infoval::Nothing => {}
            }
        }
        (lines, notes)
    }

    /// A row's reading in NUT's terms (`ups_infoval_set` with the subdriver's
    /// conversion functions), the same in walks and interrupt reports: the unit's
    /// factors, Liebert's exponent heuristic, Tripp Lite's chemistry workaround.
    fn convert(
        &mut self,
        state: &DriverState,
        entry: &HidInfo,
        value: f64,
        notes: &mut Vec<Note>,
    ) -> Infoval {
        match entry.conv {
            Conv::CpsBattVolt => {
                let scale = self.battery_scale(state, value, notes);
                infoval(entry, value * scale)
            }
            Conv::TlScaled(kind) => infoval(entry, value * self.scales.get(kind)),
            Conv::LiebertLineVolts | Conv::LiebertConfigVolts => {
                let Some((text, wrong)) = self.liebert.text(entry.conv, value) else {
                    return Infoval::Nothing;
                };
                if wrong {
                    let what = if matches!(entry.conv, Conv::LiebertConfigVolts) {
                        "ConfigVoltage"
                    } else {
                        "LineVoltage"
                    };
                    notes.push(Note::Log(
                        Level::Notice,
                        format!("{what} exponent looks wrong, but not correcting."),
                    ));
                }
                Infoval::Text(text)
            }
            Conv::Ever(c) => {
                use crate::hidvendors::{ever_report, EverConv};
                let report = |id: u8| self.buffers.get(&id).cloned().unwrap_or_default();
                let next = |counter: &mut usize| {
                    let at = *counter;
                    *counter = (at + 1) % 4;
                    at
                };
                Infoval::Text(match c {
                    EverConv::Hardware => hidvendors::ever_hardware(value),
                    EverConv::Version => hidvendors::ever_version(value),
                    EverConv::Mac => hidvendors::ever_mac(&report(ever_report::MAC)),
                    EverConv::Ip => {
                        let id = ever_report::IP[next(&mut self.ever_counters[0])];
                        hidvendors::ever_ip(&report(id))
                    }
                    EverConv::Packets => {
                        let id = ever_report::PACKETS[next(&mut self.ever_counters[1])];
                        hidvendors::ever_packets(&report(id))
                    }
                    EverConv::Workmode => {
                        hidvendors::ever_workmode(&report(ever_report::WORKMODE)).to_string()
                    }
                    EverConv::Messages => hidvendors::ever_messages(&report(ever_report::MESSAGES)),
                    EverConv::Alarms => hidvendors::ever_alarms(&report(ever_report::ALARMS)),
                    EverConv::OnOff => {
                        return Infoval::Flag(
                            "off",
                            hidvendors::ever_off(&report(ever_report::WORKMODE)),
                        )
                    }
                })
            }
            Conv::OpenUps(c) => {
                use crate::hidvendors::OpenUps;
                let [vin, vout, ccharge, cdischarge] =
                    hidvendors::openups_scales(self.device.product_id);
                Infoval::Text(match c {
                    OpenUps::Vin => format!("{:.2}", value * vin),
                    OpenUps::Vout => format!("{:.2}", value * vout),
                    OpenUps::CCharge => format!("{:.3}", value * ccharge),
                    OpenUps::CDischarge => format!("{:.3}", value * cdischarge),
                    OpenUps::Temperature => hidvendors::openups_temperature(value),
                    OpenUps::Flag(word) => {
                        let on = value != 0.0;
                        return match word.strip_prefix('!') {
                            Some(name) => Infoval::Flag(name, !on),
                            None => Infoval::Flag(word, on),
                        };
                    }
                })
            }
            Conv::Mge(c) => {
                let off = self.flags.contains(&"off");
                match self.mge.convert(c, value, state.tree(), off) {
                    MgeValue::Text(text) => Infoval::Text(text),
                    MgeValue::Flag(name, on) => Infoval::Flag(name, on),
                    MgeValue::Delete => Infoval::Delete,
                    MgeValue::Nothing => Infoval::Nothing,
                }
            }
            // tripplite_chemistry_fun: these two units' firmware names no chemistry.
            Conv::TlChemistry if matches!(self.device.product_id, 0x1003 | 0x2005) => {
                Infoval::Text("unknown".into())
            }
            _ => infoval(entry, value),
        }
    }

    fn command_row(&self, cmd: &str) -> Option<usize> {
        (0..self.sub.table.len()).find(|&row| {
            let e = &self.sub.table[row];
            e.flags & flag::CMD != 0 && e.var == cmd && self.map[row].is_some()
        })
    }

    /// The report for `row` set to `value`: from the last one written in this command
    /// (`overlay`), else the last read, as NUT edits its one report buffer in place.
    fn write_row(
        &self,
        row: usize,
        value: f64,
        what: String,
        pause_ms: u64,
        overlay: &mut BTreeMap<u8, Vec<u8>>,
    ) -> Option<Write> {
        let index = self.map[row]?;
        let item = &self.desc.items[index];
        // NUT refuses fields whose attribute is exactly "constant" (ATTR_DATA_CST).
        if item.attribute == 1 {
            return None;
        }
        let len = self.lengths.get(&item.report_id).copied().unwrap_or(1);
        let mut report = overlay
            .get(&item.report_id)
            .or_else(|| self.buffers.get(&item.report_id))
            .cloned()
            .unwrap_or_else(|| {
                let mut b = vec![0u8; len];
                b[0] = item.report_id;
                b
            });
        set_value(&mut report, item, to_logical(item, value));
        overlay.insert(item.report_id, report.clone());
        Some(Write {
            pause_ms,
            report,
            what,
        })
    }

    /// An instant command (NUT's `instcmd`): the reports to write, or the TRACKING
    /// code when it cannot run.
    pub fn command(
        &self,
        state: &DriverState,
        cmd: &str,
        arg: Option<&str>,
    ) -> Result<Vec<Write>, i64> {
        self.command_in(state, cmd, arg, &mut BTreeMap::new())
    }

    fn command_in(
        &self,
        state: &DriverState,
        cmd: &str,
        arg: Option<&str>,
        overlay: &mut BTreeMap<u8, Vec<u8>>,
    ) -> Result<Vec<Write>, i64> {
        let cmd = match cmd.to_ascii_lowercase().as_str() {
            "beeper.off" => "beeper.disable".to_string(),
            "beeper.on" => "beeper.enable".to_string(),
            c => c.to_string(),
        };
        let Some(row) = self.command_row(&cmd) else {
            let delay = |var: &str| state.tree().value(var).map(str::to_string);
            return match cmd.as_str() {
                "load.on" => self.command_in(state, "load.on.delay", Some("0"), overlay),
                "load.off" => self.command_in(state, "load.off.delay", Some("0"), overlay),
                "shutdown.return" | "shutdown.stayoff" => {
                    let mut writes = Vec::new();
                    if state.tree().get("ups.start.auto").is_some() {
                        let yes = if cmd == "shutdown.return" {
                            "yes"
                        } else {
                            "no"
                        };
                        if let Ok(w) = self.set_writes(state, "ups.start.auto", yes, overlay) {
                            writes.extend(w);
                        }
                    }
                    let on = if cmd == "shutdown.return" {
                        delay("ups.delay.start")
                    } else {
                        Some("-1".to_string())
                    };
                    writes.extend(self.command_in(
                        state,
                        "load.on.delay",
                        on.as_deref(),
                        overlay,
                    )?);
                    let mut off = self.command_in(
                        state,
                        "load.off.delay",
                        delay("ups.delay.shutdown").as_deref(),
                        overlay,
                    )?;
                    if let Some(first) = off.first_mut() {
                        first.pause_ms = COMPOSITE_PAUSE_MS;
                    }
                    writes.extend(off);
                    Ok(writes)
                }
                _ => Err(tracking::INVALID),
            };
        };
        let entry = &self.sub.table[row];
        // NUT: the argument, else the table's value (none for Powercom's delays, whose
        // conversion then takes the delay variable).
        let text = arg.or(Some(entry.dfl).filter(|d| !d.is_empty()));
        let value = match entry.conv {
            Conv::PcmStartup | Conv::PcmShutdown | Conv::PcmStayoff => {
                let delay = if matches!(entry.conv, Conv::PcmStartup) {
                    "ups.delay.start"
                } else {
                    "ups.delay.shutdown"
                };
                crate::usbhid::pcm_command_value(entry.conv, text, state.tree().value(delay))
            }
            _ => valinfo(entry, text.unwrap_or("")),
        }
        .ok_or(tracking::INVALID)?;
        let what = match text {
            Some(text) => format!("{cmd} {text}"),
            None => cmd.clone(),
        };
        self.write_row(row, value, what, 0, overlay)
            .map(|w| vec![w])
            .ok_or(tracking::FAILED)
    }

    fn set_writes(
        &self,
        state: &DriverState,
        var: &str,
        value: &str,
        overlay: &mut BTreeMap<u8, Vec<u8>>,
    ) -> Result<Vec<Write>, i64> {
        let row = (0..self.sub.table.len())
            .find(|&row| {
                let e = &self.sub.table[row];
                e.var == var && e.flags & (flag::CMD | flag::ABSENT) == 0 && self.map[row].is_some()
            })
            .ok_or(tracking::UNKNOWN)?;
        let entry = &self.sub.table[row];
        let v = match entry.conv {
            Conv::Mge(c) => self.mge.reverse(c, value, state.tree()),
            _ => valinfo(entry, value),
        }
        .ok_or(tracking::UNKNOWN)?;
        self.write_row(row, v, format!("{var} {value}"), 0, overlay)
            .map(|w| vec![w])
            .ok_or(tracking::UNKNOWN)
    }

    /// SET VAR (NUT's `setvar`): a server-side variable changes at once (`Ok(vec![])`,
    /// with its line in `lines`); a device one gives the report to write.
    pub fn set_var(
        &self,
        state: &mut DriverState,
        var: &str,
        value: &str,
        lines: &mut Vec<DriverLine>,
    ) -> Result<Vec<Write>, i64> {
        // Writable when the row that gave it is (NUT's ST_FLAG_RW, published as RW).
        if !self.sub.writable.iter().any(|(w, _)| *w == var)
            || !state.tree().get(var).is_some_and(|v| v.flags.rw)
        {
            return Err(tracking::UNKNOWN);
        }
        let absent = (0..self.sub.table.len()).any(|row| {
            let e = &self.sub.table[row];
            e.var == var && e.flags & flag::ABSENT != 0 && self.map[row].is_some()
        });
        if absent {
            lines.extend(state.set(var, value));
            return Ok(Vec::new());
        }
        self.set_writes(state, var, value, &mut BTreeMap::new())
    }

    /// Writes went to the device: their reports are the buffer's now (NUT's
    /// `set_item_buffered` edits it in place), and the next walk is full.
    pub fn written(&mut self, writes: &[Write]) {
        for write in writes {
            if let Some(&id) = write.report.first() {
                self.buffers.insert(id, write.report.clone());
            }
        }
        self.data_has_changed = true;
    }

    /// `-k` (NUT's `upsdrv_shutdown`): `shutdown.return`, else `shutdown.reboot`, else
    /// `load.off.delay`.
    pub fn shutdown(&self, state: &DriverState) -> Result<Vec<Write>, String> {
        self.shutdown_candidates(state)
            .into_iter()
            .next()
            .ok_or_else(|| "Shutdown failed!".to_string())
    }

    /// Every way `-k` can try, in NUT's order (the shell sends the next one when the
    /// device refuses a write, as `upsdrv_shutdown` moves on when a command fails).
    pub fn shutdown_candidates(&self, state: &DriverState) -> Vec<Vec<Write>> {
        ["shutdown.return", "shutdown.reboot", "load.off.delay"]
            .into_iter()
            .filter_map(|cmd| self.command(state, cmd, None).ok())
            .collect()
    }
}
