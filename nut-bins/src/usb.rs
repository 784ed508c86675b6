//! USB through rusb (libusb built from source): enumeration for nut-scanner and the HID
//! transport of usbhid-ups. Every call uses a [`rusb::Context`] of its own (never
//! libusb's global context, which panics where USB is unavailable) and returns errors.
//! Blocking transfers run on tokio's blocking pool, so the driver socket keeps serving.

use crate::usbhid::{HidPort, INTERRUPT_WAIT_MS};
use nut_core::hid::MAX_DESCRIPTOR_BYTES;
use nut_core::hidups::{Matcher, ReadError, UsbDevice, MAX_REPORT_BYTES};
use rusb::{Context, Device, DeviceHandle, Direction, TransferType, UsbContext};
use std::sync::Arc;
use std::time::Duration;

/// Timeout of a control transfer, in milliseconds (NUT's `USB_TIMEOUT`).
pub const CONTROL_TIMEOUT_MS: u64 = 5000;
/// HID class requests (HID 1.11, 7.2).
const GET_REPORT: u8 = 0x01;
const SET_REPORT: u8 = 0x09;
/// Report type "feature" in wValue's high byte.
const FEATURE: u16 = 3;
/// Descriptor type of a HID report descriptor.
const REPORT_DESCRIPTOR: u16 = 0x22;
/// Descriptor type of a HID class descriptor.
const HID_DESCRIPTOR: u16 = 0x21;

/// GET_DESCRIPTOR of `kind` from the interface (libusb1.c's control transfers).
fn get_descriptor(
    handle: &DeviceHandle<Context>,
    kind: u16,
    interface: u8,
    buf: &mut [u8],
) -> rusb::Result<usize> {
    handle.read_control(
        rusb::request_type(
            Direction::In,
            rusb::RequestType::Standard,
            rusb::Recipient::Interface,
        ),
        0x06,
        kind << 8,
        u16::from(interface),
        buf,
        timeout(),
    )
}

fn timeout() -> Duration {
    Duration::from_millis(CONTROL_TIMEOUT_MS)
}

/// A transfer error in NUT's terms: the ones after which usbhid-ups reconnects.
fn classify(e: rusb::Error) -> ReadError {
    match e {
        rusb::Error::NoDevice
        | rusb::Error::Io
        | rusb::Error::Access
        | rusb::Error::NotFound
        | rusb::Error::Busy => ReadError::Gone,
        _ => ReadError::Failed,
    }
}

/// Times a string descriptor is asked for before giving up (NUT's libusb1.c retries).
pub const STRING_TRIES: usize = 3;

/// A string as NUT keeps it: trailing spaces trimmed, empty as absent.
fn clean(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim_end_matches(' ').to_string())
        .filter(|s| !s.is_empty())
}

/// The device's IDs and place; its strings when it can be opened (the error if not).
fn describe<T: UsbContext>(device: &Device<T>) -> Option<(UsbDevice, Option<String>)> {
    let desc = device.device_descriptor().ok()?;
    let mut out = UsbDevice {
        vendor_id: desc.vendor_id(),
        product_id: desc.product_id(),
        bus: format!("{:03}", device.bus_number()),
        device: format!("{:03}", device.address()),
        ..UsbDevice::default()
    };
    let handle = match device.open() {
        Ok(handle) => handle,
        Err(e) => return Some((out, Some(e.to_string()))),
    };
    let read = |f: &dyn Fn() -> rusb::Result<String>| (0..STRING_TRIES).find_map(|_| f().ok());
    if desc.manufacturer_string_index().is_some() {
        out.vendor = clean(read(&|| handle.read_manufacturer_string_ascii(&desc)));
    }
    if desc.product_string_index().is_some() {
        out.product = clean(read(&|| handle.read_product_string_ascii(&desc)));
    }
    if desc.serial_number_string_index().is_some() {
        out.serial = clean(read(&|| handle.read_serial_number_string_ascii(&desc)));
    }
    Some((out, None))
}

/// Every USB device on the system that could be opened, with its strings; the ones
/// that could not, as NUT's nut-scanner reports them (`Failed to open device bus
/// '001', skipping: ...`).
pub fn enumerate() -> Result<(Vec<UsbDevice>, Vec<String>), String> {
    let context = Context::new().map_err(|e| format!("Failed to init libusb: {e}"))?;
    let devices = context
        .devices()
        .map_err(|e| format!("Failed to list USB devices: {e}"))?;
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for (dev, error) in devices.iter().filter_map(|d| describe(&d)) {
        match error {
            None => found.push(dev),
            // Only units a driver would claim are worth a word (NUT checks its table
            // before opening).
            Some(e) if nut_core::scan::usb_driver(&dev).is_some() => skipped.push(format!(
                "Failed to open device bus '{}', skipping: {e}",
                dev.bus
            )),
            Some(_) => {}
        }
    }
    Ok((found, skipped))
}

/// An open HID UPS.
pub struct UsbHid {
    context: Context,
    /// `None` between closing a failed handle and reopening the unit.
    handle: Option<Arc<DeviceHandle<Context>>>,
    /// The descriptor declares no report IDs: transfers carry none, reports get a 0.
    no_report_ids: bool,
    interface: u8,
    endpoint: Option<u8>,
    device: UsbDevice,
    descriptor: Vec<u8>,
    /// The subdriver that claimed the unit (a reconnection keeps it).
    sub: &'static nut_core::hidups::Subdriver,
}

struct Opened {
    sub: &'static nut_core::hidups::Subdriver,
    handle: DeviceHandle<Context>,
    interface: u8,
    endpoint: Option<u8>,
    device: UsbDevice,
    descriptor: Vec<u8>,
}

/// The first unit `matcher` selects that a subdriver claims (`kept`: the one that
/// claimed it before, on a reconnection), opened, with its report descriptor.
fn open_matching(
    context: &Context,
    matcher: &Matcher,
    kept: Option<&'static nut_core::hidups::Subdriver>,
) -> Result<Opened, String> {
    let devices = context
        .devices()
        .map_err(|e| format!("Failed to list USB devices: {e}"))?;
    let mut last_error = None;
    for device in devices.iter() {
        let Some((info, error)) = describe(&device) else {
            continue;
        };
        if !matcher.matches(&info) {
            continue;
        }
        let Some(sub) = kept.or_else(|| matcher.claim(&info)) else {
            if let Some(why) = nut_core::hidups::refusal(&info)
                .or_else(|| nut_core::hidups::possibly_supported(&info))
            {
                last_error = Some(why);
            }
            continue;
        };
        // A unit that cannot be opened is skipped, as NUT's matcher loop skips it.
        if let Some(e) = error {
            last_error = Some(format!(
                "Can't open USB device {:04x}:{:04x}: {e}",
                info.vendor_id, info.product_id
            ));
            continue;
        }
        let handle = match device.open() {
            Ok(handle) => handle,
            Err(e) => {
                last_error = Some(format!(
                    "Can't open USB device {:04x}:{:04x}: {e}",
                    info.vendor_id, info.product_id
                ));
                continue;
            }
        };
        // The kernel's usbhid driver holds the interface; libusb gives it back on close.
        let _ = handle.set_auto_detach_kernel_driver(true);
        let config = device
            .active_config_descriptor()
            .map_err(|e| format!("Can't read the configuration: {e}"))?;
        // The subdriver's interface (NUT's hid_rep_index), its first setting.
        let Some(alt) = config
            .interfaces()
            .nth(usize::from(sub.hid_interface))
            .and_then(|i| i.descriptors().next())
        else {
            continue;
        };
        let interface = alt.interface_number();
        handle
            .claim_interface(interface)
            .map_err(|e| format!("Can't claim USB interface {interface}: {e}"))?;
        let endpoint = alt
            .endpoint_descriptors()
            .find(|e| {
                e.direction() == Direction::In && e.transfer_type() == TransferType::Interrupt
            })
            .map(|e| e.address());
        // The HID class descriptor (bDescriptorType 0x21) gives the report descriptor's
        // length: asked for (libusb1.c's method 1) and after the interface descriptor
        // (method 2); NUT's rule picks one (Eaton's v2.02 units need the first).
        let extra = alt.extra();
        let method2 = extra
            .windows(9)
            .find(|w| w[0] >= 9 && w[1] == 0x21 && w[6] == 0x22)
            .map(|w| u16::from_le_bytes([w[7], w[8]]) as usize);
        let mut hid = [0u8; 9];
        let method1 = get_descriptor(&handle, HID_DESCRIPTOR, interface, &mut hid)
            .ok()
            .filter(|&n| n >= 9)
            .map(|_| u16::from_le_bytes([hid[7], hid[8]]) as usize);
        let bcd = device.device_descriptor().map_or(0, |d| {
            let v = d.device_version();
            (u16::from(v.major()) << 8) | (u16::from(v.minor()) << 4) | u16::from(v.sub_minor())
        });
        let length =
            nut_core::hidups::report_descriptor_length(info.vendor_id, bcd, method1, method2)
                .unwrap_or(MAX_DESCRIPTOR_BYTES)
                .min(MAX_DESCRIPTOR_BYTES);
        let mut descriptor = vec![0u8; length];
        let n = get_descriptor(&handle, REPORT_DESCRIPTOR, interface, &mut descriptor)
            .map_err(|e| format!("Unable to get Report descriptor: {e}"))?;
        descriptor.truncate(n);
        return Ok(Opened {
            sub,
            handle,
            interface,
            endpoint,
            device: info,
            descriptor,
        });
    }
    Err(last_error.unwrap_or_else(|| "No matching HID UPS found".to_string()))
}

impl UsbHid {
    /// Finds the first device the matcher accepts and a subdriver claims, opens it and
    /// reads its report descriptor.
    pub fn open(matcher: &Matcher) -> Result<UsbHid, String> {
        let context = Context::new().map_err(|e| format!("Failed to init libusb: {e}"))?;
        let o = open_matching(&context, matcher, None)?;
        let no_report_ids = nut_core::hid::parse(&o.descriptor)
            .items
            .iter()
            .all(|i| i.report_id == 0);
        Ok(UsbHid {
            context,
            handle: Some(Arc::new(o.handle)),
            no_report_ids,
            interface: o.interface,
            endpoint: o.endpoint,
            device: o.device,
            descriptor: o.descriptor,
            sub: o.sub,
        })
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, rusb::Error> + Send + 'static,
) -> Result<T, ReadError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(classify),
        Err(_) => Err(ReadError::Gone),
    }
}

impl HidPort for UsbHid {
    fn device(&self) -> &UsbDevice {
        &self.device
    }

    fn descriptor(&self) -> &[u8] {
        &self.descriptor
    }

    async fn get_feature(&mut self, id: u8) -> Result<Vec<u8>, ReadError> {
        let handle = self.handle.clone().ok_or(ReadError::Gone)?;
        let interface = u16::from(self.interface);
        blocking(move || {
            let mut buf = vec![0u8; MAX_REPORT_BYTES];
            let n = handle.read_control(
                0xa1,
                GET_REPORT,
                (FEATURE << 8) | u16::from(id),
                interface,
                &mut buf,
                timeout(),
            )?;
            buf.truncate(n);
            // Devices without report IDs send none: keep the first byte the ID.
            if id == 0 {
                buf.insert(0, 0);
            }
            Ok(buf)
        })
        .await
    }

    async fn get_string(&mut self, index: u8) -> Result<String, ReadError> {
        let handle = self.handle.clone().ok_or(ReadError::Gone)?;
        blocking(move || handle.read_string_descriptor_ascii(index)).await
    }

    async fn set_feature(&mut self, report: Vec<u8>) -> Result<(), ReadError> {
        let handle = self.handle.clone().ok_or(ReadError::Gone)?;
        let interface = u16::from(self.interface);
        blocking(move || {
            let id = report.first().copied().unwrap_or(0);
            let data = if id == 0 { &report[1..] } else { &report[..] };
            handle
                .write_control(
                    0x21,
                    SET_REPORT,
                    (FEATURE << 8) | u16::from(id),
                    interface,
                    data,
                    timeout(),
                )
                .map(|_| ())
        })
        .await
    }

    async fn interrupt(&mut self) -> Result<Option<Vec<u8>>, ReadError> {
        let Some(endpoint) = self.endpoint else {
            return Ok(None);
        };
        let handle = self.handle.clone().ok_or(ReadError::Gone)?;
        let no_report_ids = self.no_report_ids;
        let read = blocking(move || {
            let mut buf = vec![0u8; MAX_REPORT_BYTES];
            let n = handle.read_interrupt(
                endpoint,
                &mut buf,
                Duration::from_millis(INTERRUPT_WAIT_MS),
            )?;
            buf.truncate(n);
            if no_report_ids && n > 0 {
                buf.insert(0, 0);
            }
            Ok(buf)
        })
        .await;
        match read {
            Ok(buf) if !buf.is_empty() => Ok(Some(buf)),
            Ok(_) => Ok(None),
            Err(ReadError::Failed) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn reconnect(&mut self) -> Result<(), String> {
        // Close the old handle first (NUT's reconnect_ups): its claim on the interface
        // would make the new one busy. No transfer is in flight between polls.
        if let Some(old) = self.handle.take() {
            let interface = self.interface;
            let _ = tokio::task::spawn_blocking(move || {
                let _ = old.release_interface(interface);
                drop(old);
            })
            .await;
        }
        let context = self.context.clone();
        // The same unit (NUT's exact matcher).
        let matcher = Matcher::exact(&self.device);
        let kept = self.sub;
        let o = tokio::task::spawn_blocking(move || open_matching(&context, &matcher, Some(kept)))
            .await
            .map_err(|e| e.to_string())??;
        self.handle = Some(Arc::new(o.handle));
        self.interface = o.interface;
        self.endpoint = o.endpoint;
        self.device = o.device;
        self.descriptor = o.descriptor;
        Ok(())
    }
}

/// A recorded unit from a file (`replay = <file>` in ups.conf; hw-fixtures/hid format).
pub fn open_replay(path: &str) -> std::io::Result<crate::usbhid::ReplayHid> {
    use std::io;
    let text = std::fs::read_to_string(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
    nut_core::transcript::parse_hid(&text)
        .and_then(|r| crate::usbhid::ReplayHid::new(&r))
        .map_err(|e| io::Error::other(format!("{path}: {e}")))
}

// ---------------------------------------------------------------------------------
// Megatec/Q1 units behind a USB-to-serial bridge (nutdrv_qx with `port = auto`).

use nut_core::qxusb::{Bridge, BridgeIo, QxUsbSpec, UsbError};

/// Timeout of libusb's string descriptor requests, in ms.
const STRING_TIMEOUT_MS: u64 = 1000;

fn bridge_error(e: rusb::Error) -> UsbError {
    match e {
        rusb::Error::Timeout => UsbError::Timeout,
        rusb::Error::Pipe => UsbError::Pipe,
        // NUT's reconnect list; BUSY (another driver took it) too, rather than exit.
        rusb::Error::NoDevice
        | rusb::Error::Io
        | rusb::Error::Access
        | rusb::Error::NotFound
        | rusb::Error::Busy => UsbError::Gone,
        _ => UsbError::Other,
    }
}

/// A bridge's transfers on a real device.
pub struct RusbBridge {
    handle: DeviceHandle<Context>,
}

impl BridgeIo for RusbBridge {
    fn control_out(
        &mut self,
        request: u8,
        value: u16,
        data: &[u8],
        timeout_ms: u64,
    ) -> Result<usize, UsbError> {
        // USB_ENDPOINT_OUT + USB_TYPE_CLASS + USB_RECIP_INTERFACE, interface 0.
        self.handle
            .write_control(
                0x21,
                request,
                value,
                0,
                data,
                Duration::from_millis(timeout_ms),
            )
            .map_err(bridge_error)
    }

    fn control_in(
        &mut self,
        request: u8,
        value: u16,
        buf: &mut [u8],
        timeout_ms: u64,
    ) -> Result<usize, UsbError> {
        // USB_ENDPOINT_IN + USB_TYPE_CLASS + USB_RECIP_INTERFACE, interface 0.
        self.handle
            .read_control(
                0xa1,
                request,
                value,
                0,
                buf,
                Duration::from_millis(timeout_ms),
            )
            .map_err(bridge_error)
    }

    fn vendor_out(&mut self, request: u8, data: &[u8], timeout_ms: u64) -> Result<usize, UsbError> {
        // USB_ENDPOINT_OUT | USB_TYPE_VENDOR | USB_RECIP_ENDPOINT, value and index 0.
        self.handle
            .write_control(0x42, request, 0, 0, data, Duration::from_millis(timeout_ms))
            .map_err(bridge_error)
    }

    fn interrupt_out(
        &mut self,
        endpoint: u8,
        data: &[u8],
        timeout_ms: u64,
    ) -> Result<usize, UsbError> {
        self.handle
            .write_interrupt(endpoint, data, Duration::from_millis(timeout_ms))
            .map_err(bridge_error)
    }

    fn interrupt_in(
        &mut self,
        endpoint: u8,
        buf: &mut [u8],
        timeout_ms: u64,
    ) -> Result<usize, UsbError> {
        self.handle
            .read_interrupt(endpoint, buf, Duration::from_millis(timeout_ms))
            .map_err(bridge_error)
    }

    fn get_string(
        &mut self,
        index: u8,
        langid: Option<u16>,
        buf: &mut [u8],
    ) -> Result<usize, UsbError> {
        match langid {
            // The raw descriptor (GET_DESCRIPTOR, type STRING) as NUT's usb_get_string:
            // its whole buffer as wLength, libusb's fixed 1000 ms.
            Some(lang) => {
                let n = buf.len().min(usize::from(u16::MAX));
                self.handle
                    .read_control(
                        0x80,
                        0x06,
                        (0x03 << 8) | u16::from(index),
                        lang,
                        &mut buf[..n],
                        Duration::from_millis(STRING_TIMEOUT_MS),
                    )
                    .map_err(bridge_error)
            }
            // NUT's usb_get_string_simple is libusb_get_string_descriptor_ascii: the
            // first language, non-ASCII as '?', lenient about odd descriptor lengths.
            None => {
                let text = self
                    .handle
                    .read_string_descriptor_ascii(index)
                    .map_err(bridge_error)?;
                // libusb copies at most the buffer's length less one (its end NUL).
                let n = text.len().min(buf.len().saturating_sub(1));
                buf[..n].copy_from_slice(&text.as_bytes()[..n]);
                Ok(n)
            }
        }
    }

    fn clear_halt(&mut self, endpoint: u8) {
        let _ = self.handle.clear_halt(endpoint);
    }

    fn pause(&mut self, ms: u64) {
        // On the blocking pool (BridgeQx runs every transfer there).
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Opens the first unit the spec matches whose bridge is known; the unit as found.
pub fn open_bridge(spec: &QxUsbSpec) -> Result<(RusbBridge, Bridge, UsbDevice), String> {
    let context = Context::new().map_err(|e| format!("Failed to init libusb: {e}"))?;
    let devices = context
        .devices()
        .map_err(|e| format!("Failed to list USB devices: {e}"))?;
    for device in devices.iter() {
        let Some((info, error)) = describe(&device) else {
            continue;
        };
        if !spec.matcher.matches(&info) {
            continue;
        }
        let bridge = match spec.bridge {
            Some(b) => b,
            None => match nut_core::qxusb::usb_bridge(
                info.vendor_id,
                info.product_id,
                info.vendor.as_deref(),
                info.product.as_deref(),
            ) {
                Some(b) => b,
                None => continue,
            },
        };
        // The unit the options name: failing to open or claim it is an error, as NUT's
        // "Can't claim USB device" (not a reason to take another unit).
        if let Some(e) = error {
            return Err(format!(
                "Can't open USB device {:04x}:{:04x}: {e}",
                info.vendor_id, info.product_id
            ));
        }
        let handle = device.open().map_err(|e| {
            format!(
                "Can't open USB device {:04x}:{:04x}: {e}",
                info.vendor_id, info.product_id
            )
        })?;
        let _ = handle.set_auto_detach_kernel_driver(true);
        handle.claim_interface(0).map_err(|e| {
            format!(
                "Can't claim USB device [{:04x}:{:04x}]: {e}",
                info.vendor_id, info.product_id
            )
        })?;
        return Ok((RusbBridge { handle }, bridge, info));
    }
    Err("No supported devices found. Please check your device availability with 'lsusb'\nand make sure you have an up-to-date version of NUT. If this does not help,\ntry running the driver with at least 'subdriver', 'vendorid' and 'productid'\noptions specified. Please refer to the man page for details about these options\n(man 8 nutdrv_qx).".to_string())
}

/// A Megatec/Q1 unit behind a USB-to-serial bridge: each query goes through the
/// bridge's transfers (`nut_core::qxusb::command`) on tokio's blocking pool. A unit
/// gone from the bus is reopened on the next query by `reopen` (NUT's reconnect).
pub struct BridgeQx<I: nut_core::qxusb::BridgeIo + Send + 'static> {
    io: Option<I>,
    bridge: nut_core::qxusb::Bridge,
    langid_fix: Option<u16>,
    state: nut_core::qxusb::BridgeState,
    reopen: Box<dyn FnMut() -> Option<I> + Send>,
}

impl<I: nut_core::qxusb::BridgeIo + Send + 'static> BridgeQx<I> {
    /// A port on `io` through `bridge`; `reopen` finds the unit again after a failure.
    pub fn new(
        io: I,
        bridge: nut_core::qxusb::Bridge,
        langid_fix: Option<u16>,
        reopen: Box<dyn FnMut() -> Option<I> + Send>,
    ) -> Self {
        BridgeQx {
            io: Some(io),
            bridge,
            langid_fix,
            state: nut_core::qxusb::BridgeState::default(),
            reopen,
        }
    }
}

impl<I: nut_core::qxusb::BridgeIo + Send + 'static> crate::qx::QxPort for BridgeQx<I> {
    async fn transact(&mut self, query: Vec<u8>) -> nut_core::qx::Reply {
        use nut_core::qx::Reply;
        use nut_core::qxusb::UsbError;
        if self.io.is_none() {
            // Finding the unit again walks the bus: off the runtime thread.
            let mut reopen = std::mem::replace(&mut self.reopen, Box::new(|| None));
            if let Ok((back, io)) = tokio::task::spawn_blocking(move || {
                let io = reopen();
                (reopen, io)
            })
            .await
            {
                self.reopen = back;
                self.io = io;
            }
        }
        let Some(mut io) = self.io.take() else {
            return Reply::Error;
        };
        let (bridge, langid, mut state) = (self.bridge, self.langid_fix, self.state);
        let Ok((io, result, state)) = tokio::task::spawn_blocking(move || {
            let result = nut_core::qxusb::command(bridge, &mut io, &query, langid, &mut state);
            (io, result, state)
        })
        .await
        else {
            return Reply::Error;
        };
        self.state = state;
        match result {
            Ok(reply) => {
                self.io = Some(io);
                reply.into()
            }
            Err(UsbError::Timeout) => {
                self.io = Some(io);
                Reply::Timeout
            }
            Err(UsbError::Pipe) => {
                let mut io = io;
                io.clear_halt(0x81);
                self.io = Some(io);
                Reply::Error
            }
            // A failed transfer that leaves the unit there: keep it (NUT reconnects
            // only on the errors below).
            Err(UsbError::Other) => {
                self.io = Some(io);
                Reply::Error
            }
            // Gone: closed here, reopened on the next query.
            Err(UsbError::Gone) => Reply::Error,
        }
    }
}
