//! nutdrv_qx's USB-to-serial bridges fed any transfer results (short, long, garbled,
//! counts past the report, timeouts, stalls, a device gone): never a panic, and every
//! query ends (a unit cannot keep a bridge reading for ever).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::qxusb::{command, BridgeIo, BridgeState, UsbError, BRIDGES, REPLY_BYTES};

/// Transfers a bridge may make for one query at most, with room to spare (armac's and
/// sgs's reads until the buffer is full, krauler's and snr's ten tries).
const MAX_TRANSFERS_PER_QUERY: usize = 4_096;

/// Queries and commands the driver sends through a bridge.
const QUERIES: [&[u8]; 8] = [
    b"Q1\r", b"F\r", b"I\r", b"Q5\r", b"S01R0001\r", b"S.5R0000\r", b"TL\r", b"QGS\r",
];

/// A unit whose every transfer result comes from the fuzzer's bytes: a 0xff-separated
/// chunk per read (an empty chunk: a timeout), the chunk's first byte picking an error.
struct Unit<'a> {
    chunks: std::slice::Split<'a, u8, fn(&u8) -> bool>,
    transfers: usize,
}

impl Unit<'_> {
    fn next(&mut self) -> Result<&[u8], UsbError> {
        self.transfers += 1;
        assert!(
            self.transfers < MAX_TRANSFERS_PER_QUERY,
            "a query that never ends"
        );
        match self.chunks.next() {
            None | Some([]) => Err(UsbError::Timeout),
            Some([0xfe, ..]) => Err(UsbError::Pipe),
            Some([0xfd, ..]) => Err(UsbError::Gone),
            Some(chunk) => Ok(chunk),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, UsbError> {
        let chunk = self.next()?;
        let n = chunk.len().min(buf.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        Ok(n)
    }

    fn write(&mut self, data: &[u8]) -> Result<usize, UsbError> {
        // A write takes all, part or none of the data.
        let chunk = self.next()?;
        Ok(usize::from(chunk[0]).min(data.len()))
    }
}

impl BridgeIo for Unit<'_> {
    fn control_out(&mut self, _: u8, _: u16, data: &[u8], _: u64) -> Result<usize, UsbError> {
        self.write(data)
    }
    fn control_in(&mut self, _: u8, _: u16, buf: &mut [u8], _: u64) -> Result<usize, UsbError> {
        self.read(buf)
    }
    fn vendor_out(&mut self, _: u8, data: &[u8], _: u64) -> Result<usize, UsbError> {
        self.write(data)
    }
    fn interrupt_out(&mut self, _: u8, data: &[u8], _: u64) -> Result<usize, UsbError> {
        self.write(data)
    }
    fn interrupt_in(&mut self, _: u8, buf: &mut [u8], _: u64) -> Result<usize, UsbError> {
        self.read(buf)
    }
    fn get_string(
        &mut self,
        _: u8,
        _: Option<u16>,
        buf: &mut [u8],
    ) -> Result<usize, UsbError> {
        self.read(buf)
    }
    fn clear_halt(&mut self, _: u8) {}
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let (_, bridge) = BRIDGES[usize::from(first) % BRIDGES.len()];
    let langid = (first & 0x80 != 0).then_some(0x0409);
    let is_separator: fn(&u8) -> bool = |b| *b == 0xff;
    let mut unit = Unit {
        chunks: rest.split(is_separator),
        transfers: 0,
    };
    let mut state = BridgeState::default();
    for query in QUERIES {
        unit.transfers = 0;
        if let Ok(reply) = command(bridge, &mut unit, query, langid, &mut state) {
            assert!(reply.bytes.len() <= REPLY_BYTES, "{} bytes", reply.bytes.len());
            assert!(reply.len <= REPLY_BYTES, "length {}", reply.len);
        }
    }
});
