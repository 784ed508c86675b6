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
    if SUBDRIVERS.iter().any(|s| s.known(dev).is_some()) {
        return Some(crate::hidups::DRIVER_NAME);
    }
    match crate::qxusb::usb_bridge(
        dev.vendor_id,
        dev.product_id,
        dev.vendor.as_deref(),
        dev.product.as_deref(),
    ) {
        Some(_) => Some("nutdrv_qx"),
        None => None,
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

/// `-E` ports NUT's `nutscan_get_serial_ports_list` expands `auto` and digit ranges to
/// (Linux): `/dev/ttyS<c>` then `/dev/ttyUSB<c>`.
const SERIAL_PORT_PATTERNS: [&str; 2] = ["/dev/ttyS", "/dev/ttyUSB"];

/// NUT's `nutscan_get_serial_ports_list`: `auto` (ports 0-9 of each kind), a port
/// character or a range of them (`0`, `0-3`), a port path, or a comma-separated list of
/// paths (NUT takes a list only of `/dev/tty*` paths; any path here).
pub fn serial_ports(range: &str) -> Result<Vec<String>, String> {
    const OUT_OF_BOUND: &str =
        "Serial port range out of bound (must be 0 to 9 or a to z depending on your system)";
    let expand = |start: u8, stop: u8| -> Vec<String> {
        SERIAL_PORT_PATTERNS
            .iter()
            .flat_map(|p| (start..=stop).map(move |c| format!("{p}{}", c as char)))
            .collect()
    };
    if range.starts_with("auto") {
        return Ok(expand(b'0', b'9'));
    }
    if let Some((a, b)) = range.split_once('-').filter(|_| !range.starts_with('/')) {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let start = match a {
            [c] => *c,
            _ => return Err(OUT_OF_BOUND.to_string()),
        };
        let stop = match b {
            [] => start,
            [c] => *c,
            _ => return Err(OUT_OF_BOUND.to_string()),
        };
        return Ok(expand(start, stop));
    }
    if range.contains(',') {
        return Ok(range
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect());
    }
    match range.as_bytes() {
        [] => Ok(Vec::new()),
        [c] => Ok(expand(*c, *c)),
        _ => Ok(vec![range.to_string()]),
    }
}

/// A serial probe's verdict on a reply to `Q1\r` (NUT's `scan_eaton_serial.c`: at
/// least 46 characters, starting with `(`): a Megatec/Q1 unit, for nutdrv_qx.
pub fn q1_reply_matches(reply: &[u8]) -> bool {
    reply.len() >= 46 && reply.first() == Some(&b'(')
}

/// A reply to `Y` that an APC Smart unit gives: `SM` (carriage return, line feed, and
/// any alert characters around it aside).
pub fn smart_reply_matches(reply: &[u8]) -> bool {
    let kept: Vec<u8> = reply
        .iter()
        .copied()
        .filter(|b| !b"\r\n!$%+#?=|&".contains(b))
        .collect();
    kept == b"SM"
}

/// A unit found on a serial port by `-E`.
pub fn serial(port: &str, driver: &'static str) -> Found {
    Found {
        kind: "serial",
        driver,
        port: port.to_string(),
        options: Vec::new(),
    }
}

/// Every USB VID:PID a driver of this project can drive, with that driver, in order (a
/// unit told apart from others by its strings counts once).
pub fn driven_usb_ids() -> std::collections::BTreeSet<(u16, u16, &'static str)> {
    let mut ids = std::collections::BTreeSet::new();
    for sub in SUBDRIVERS {
        for d in sub.devices {
            ids.insert((d.vendor, d.product, crate::hidups::DRIVER_NAME));
        }
    }
    for (vendor, product, _, _, _) in crate::qxusb::QX_USB_IDS {
        ids.insert((vendor, product, "nutdrv_qx"));
    }
    ids
}

/// The AppStream modaliases of those units (`usb:v051Dp0002d*`), which software
/// centres match against plugged-in hardware to suggest the package.
pub fn usb_modaliases() -> Vec<String> {
    driven_usb_ids()
        .into_iter()
        .map(|(vendor, product, _)| format!("usb:v{vendor:04X}p{product:04X}d*"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// udev rules that open every USB unit a driver of this project drives to `group`
/// (NUT's `62-nut-usbups.rules`, in its layout, each rule also naming its subsystem as
/// lintian asks), made from the same tables as
/// [`usb_driver`] (and nutdrv_qx's `subdriver=` units, as NUT's rules), so a driver
/// that dropped root for the nut account can still open its unit.
pub fn udev_rules(group: &str) -> String {
    let mut text = String::from(
        "# This file is generated and installed by nut-rs (nut-core's scan::udev_rules).\n\n\
         ACTION==\"remove\", GOTO=\"nut-usbups_rules_end\"\n\
         SUBSYSTEM==\"usb_device\", GOTO=\"nut-usbups_rules_real\"\n\
         SUBSYSTEM==\"usb\", GOTO=\"nut-usbups_rules_real\"\n\
         GOTO=\"nut-usbups_rules_end\"\n\n\
         LABEL=\"nut-usbups_rules_real\"\n",
    );
    for (vendor, product, driver) in driven_usb_ids() {
        text.push_str(&format!(
            "#  - {driver}\nSUBSYSTEM==\"usb\", ATTR{{idVendor}}==\"{vendor:04x}\", ATTR{{idProduct}}==\"{product:04x}\", MODE=\"664\", GROUP=\"{group}\"\n"
        ));
    }
    text.push_str("\nLABEL=\"nut-usbups_rules_end\"\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_port_ranges_expand_as_nut_expands_them() {
        assert_eq!(
            serial_ports("0-1").unwrap(),
            ["/dev/ttyS0", "/dev/ttyS1", "/dev/ttyUSB0", "/dev/ttyUSB1"]
        );
        assert_eq!(serial_ports("2").unwrap(), ["/dev/ttyS2", "/dev/ttyUSB2"]);
        assert_eq!(serial_ports("auto").unwrap().len(), 20);
        assert_eq!(serial_ports("/dev/ttyS3").unwrap(), ["/dev/ttyS3"]);
        assert_eq!(
            serial_ports("/dev/pts/3,/dev/ttyUSB0").unwrap(),
            ["/dev/pts/3", "/dev/ttyUSB0"]
        );
        assert!(serial_ports("10-12").unwrap_err().contains("out of bound"));
    }

    #[test]
    fn probes_tell_q1_and_apc_smart_units_apart() {
        assert!(q1_reply_matches(
            b"(226.0 195.0 226.0 014 49.0 27.5 30.0 00001000\r"
        ));
        assert!(!q1_reply_matches(b"Q1\r"));
        assert!(!q1_reply_matches(b"08\r\nNA\r\n"));
        assert!(smart_reply_matches(b"SM\r\n"));
        assert!(smart_reply_matches(b"!SM\r\n"));
        assert!(!smart_reply_matches(b"Y\r"));
        assert!(!smart_reply_matches(b""));
    }

    #[test]
    fn udev_rules_open_every_driven_unit_and_only_those() {
        let rules = udev_rules("nut");
        let line = |v: u16, p: u16| {
            format!("SUBSYSTEM==\"usb\", ATTR{{idVendor}}==\"{v:04x}\", ATTR{{idProduct}}==\"{p:04x}\", MODE=\"664\", GROUP=\"nut\"")
        };
        let mut claimed = 0;
        for sub in SUBDRIVERS {
            for d in sub.devices {
                assert!(
                    rules.contains(&line(d.vendor, d.product)),
                    "{:04x}:{:04x}",
                    d.vendor,
                    d.product
                );
                claimed += 1;
            }
        }
        // Also nutdrv_qx's bridges.
        for (v, p, _, _, _) in crate::qxusb::QX_USB_IDS {
            assert!(rules.contains(&line(v, p)), "{v:04x}:{p:04x}");
            claimed += 1;
        }
        assert!(!rules.contains(&line(0x1234, 0x5678)));
        let rule_lines = rules
            .lines()
            .filter(|l| l.starts_with("SUBSYSTEM==\"usb\", ATTR{"))
            .count();
        assert!(
            rule_lines > 10 && rule_lines <= claimed,
            "{rule_lines} rules for {claimed} ids"
        );
        assert!(rules.contains("LABEL=\"nut-usbups_rules_real\"\n"));
        assert!(rules.ends_with("LABEL=\"nut-usbups_rules_end\"\n"));
    }
}
