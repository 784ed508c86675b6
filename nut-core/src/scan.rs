//! nut-scanner's USB scan (NUT 2.8.0 `tools/nut-scanner/scan_usb.c` and
//! `nutscan-display.c`), sans-IO: the devices found on the bus in, the ups.conf
//! sections (or NUT's parsable lines) out. The VID:PID table is this project's drivers'
//! own ([`crate::hidups::SUBDRIVERS`], [`crate::qxusb::QX_USB_IDS`]), so every section
//! printed names a driver that claims the unit.

use crate::hidups::{UsbDevice, SUBDRIVERS};

/// A device worth a ups.conf section (NUT's `nutscan_device_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Bus type (`USB`).
    pub kind: &'static str,
    /// Driver.
    pub driver: &'static str,
    /// Port.
    pub port: String,
    /// Options in NUT's order.
    pub options: Vec<(String, String)>,
}

/// The driver this project has for a USB unit (the table `nut-scanner -U` uses):
/// usbhid-ups for the HID subdrivers' units, nutdrv_qx for the Megatec bridges'.
pub fn usb_driver(dev: &UsbDevice) -> Option<&'static str> {
    if SUBDRIVERS
        .iter()
        .any(|s| s.vendor_id == dev.vendor_id && s.products.contains(&dev.product_id))
    {
        return Some(crate::hidups::DRIVER_NAME);
    }
    match crate::qxusb::usb_bridge(
        dev.vendor_id,
        dev.product_id,
        dev.vendor.as_deref(),
        dev.product.as_deref(),
    ) {
        Some(Some(_)) => Some("nutdrv_qx"),
        _ => None,
    }
}

/// The devices a driver supports, with the options NUT's scan_usb.c writes.
pub fn usb(devices: &[UsbDevice]) -> Vec<Found> {
    devices
        .iter()
        .filter_map(|d| {
            let driver = usb_driver(d)?;
            let mut options = vec![
                ("vendorid".to_string(), format!("{:04X}", d.vendor_id)),
                ("productid".to_string(), format!("{:04X}", d.product_id)),
            ];
            for (name, value) in [
                ("product", &d.product),
                ("serial", &d.serial),
                ("vendor", &d.vendor),
            ] {
                if let Some(v) = value {
                    options.push((name.to_string(), v.clone()));
                }
            }
            options.push(("bus".to_string(), d.bus.clone()));
            Some(Found {
                kind: "USB",
                driver,
                port: "auto".to_string(),
                options,
            })
        })
        .collect()
}

/// NUT's `nutscan_display_ups_conf`: `[nutdevN]` sections, numbered from `first`.
pub fn ups_conf(found: &[Found], first: usize) -> String {
    let mut out = String::new();
    for (n, f) in found.iter().enumerate() {
        out.push_str(&format!(
            "[nutdev{}]\n\tdriver = \"{}\"\n\tport = \"{}\"\n",
            first + n,
            f.driver,
            f.port
        ));
        for (k, v) in &f.options {
            out.push_str(&format!("\t{k} = \"{v}\"\n"));
        }
    }
    out
}

/// NUT's `nutscan_display_parsable`: one line per device.
pub fn parsable(found: &[Found]) -> String {
    let mut out = String::new();
    for f in found {
        out.push_str(&format!(
            "{}:driver=\"{}\",port=\"{}\"",
            f.kind, f.driver, f.port
        ));
        for (k, v) in &f.options {
            out.push_str(&format!(",{k}=\"{v}\""));
        }
        out.push('\n');
    }
    out
}
