//! A modelled APC Smart-UPS on a serial line for the real apcsmart: the unit of
//! hw-fixtures/apcsmart/apc-smart-ups-420inet.txt (a real capture), whose readings
//! carry the model's state: mains, charge, runtime, load, low battery, output. The site
//! writes the unit's replies into the world as transcript text; `SimApcPort` (world.rs)
//! plays them through nut-core's `SmartUps`, which also models the protocol's stateful
//! parts (enumerated settings, `@nnn`, `K K`, `Z Z`, `S` refused on mains), and the
//! shutdown commands the unit carried out come back here.

/// What the model shows through the unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmartState {
    /// Mains present.
    pub mains: bool,
    /// The load is powered.
    pub output_on: bool,
    /// Battery charge, percent.
    pub charge: f64,
    /// Runtime left, seconds.
    pub runtime_s: f64,
    /// Low battery.
    pub low: bool,
    /// Load, percent.
    pub load_pct: f64,
    /// Grace delay before the load is cut (`p`), seconds.
    pub delay_shutdown_s: u64,
    /// Delay before the load comes back (`r`), seconds.
    pub delay_start_s: u64,
}

/// The unit's replies (transcript text, replies without their `\r\n`).
pub fn text(state: &SmartState) -> Vec<u8> {
    // Q: OL 0x08, OB 0x10, LB 0x40; a unit whose load is off reports neither.
    let mut status = 0u32;
    if state.output_on {
        status |= if state.mains { 0x08 } else { 0x10 };
    }
    if state.low {
        status |= 0x40;
    }
    let input = if state.mains { 231.8 } else { 0.0 };
    let output = if state.output_on { 231.8 } else { 0.0 };
    let volts = 11.0 + state.charge.clamp(0.0, 100.0) / 100.0 * 2.7;
    let minutes = (state.runtime_s / 60.0).floor().clamp(0.0, 9999.0);
    let replies: Vec<(&str, String)> = vec![
        ("Y", "SM".into()),
        ("V", "DWI".into()),
        (
            "a",
            "3.!$%+?=#|.\\x01\\x0e\\x1a')+-89@ABDEFGKLMNOPQRSUVWXYZabcefgjklmnopqrsuxyz~".into(),
        ),
        ("b", "21.3.I".into()),
        ("\\x01", "SMART-UPS 420".into()),
        ("n", "SIM0420".into()),
        ("m", "11/17/98".into()),
        ("x", "11/17/98".into()),
        ("c", "UPS_IDEN".into()),
        ("Q", format!("{status:02X}")),
        ("f", format!("{:05.1}", state.charge.clamp(0.0, 100.0).floor())),
        ("j", format!("{minutes:04.0}:")),
        ("B", format!("{volts:05.2}")),
        ("L", format!("{input:05.1}")),
        ("M", format!("{input:05.1}")),
        ("N", format!("{input:05.1}")),
        ("O", format!("{output:05.1}")),
        ("P", format!("{:05.1}", state.load_pct.clamp(0.0, 999.0))),
        ("F", if state.mains { "50.00" } else { "00.00" }.into()),
        ("G", if state.mains { "O" } else { "L" }.into()),
        ("9", "FF".into()),
        ("E", "336".into()),
        ("X", "NO".into()),
        ("e", "00".into()),
        ("g", "012".into()),
        ("k", "0".into()),
        ("l", "208".into()),
        ("u", "253".into()),
        ("o", "230".into()),
        ("q", "02".into()),
        ("s", "H".into()),
        ("p", format!("{:03}", state.delay_shutdown_s.min(999))),
        ("r", format!("{:03}", state.delay_start_s.min(999))),
        (
            "\\x1a",
            "#uI43253257261265lI43208204200196e44200155090oI13230s441HMLLq44202050710p443020180300600k4410TLNr443000060180300E443336168ON OFF".into(),
        ),
    ];
    let mut out = String::new();
    for (query, reply) in replies {
        out.push_str(&format!("> {query}\n< {reply}\n"));
    }
    out.into_bytes()
}

/// What a command the unit carried out asks of the UPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmartCommand {
    /// Cut the load after the grace delay, back `wake_s` after mains returns (`S`:
    /// only on battery, the unit refuses it on mains; `@nnn`: also on mains, back
    /// nnn tenths of an hour later).
    Off {
        /// Seconds after mains returns before the load comes back (None: stays off).
        wake_s: Option<u64>,
        /// At once (`Z Z`), not after the grace delay.
        now: bool,
    },
}

/// The command behind one of `SmartUps::done`'s entries (`S`, `@012`, `K`, `Z`).
pub fn command(done: &[u8]) -> Option<SmartCommand> {
    match done {
        b"S" => Some(SmartCommand::Off {
            wake_s: Some(0),
            now: false,
        }),
        [b'@', digits @ ..] => {
            let tenths: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
            Some(SmartCommand::Off {
                wake_s: Some(tenths.saturating_mul(360)),
                now: false,
            })
        }
        b"K" => Some(SmartCommand::Off {
            wake_s: None,
            now: false,
        }),
        b"Z" => Some(SmartCommand::Off {
            wake_s: None,
            now: true,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nut_core::transcript::Transcript;

    #[test]
    fn the_unit_shows_the_model_and_parses_as_a_fixture() {
        let state = SmartState {
            mains: false,
            output_on: true,
            charge: 42.5,
            runtime_s: 600.0,
            low: true,
            load_pct: 30.0,
            delay_shutdown_s: 20,
            delay_start_s: 0,
        };
        let t = Transcript::parse(&String::from_utf8(text(&state)).unwrap()).unwrap();
        let mut ups = nut_core::apcsmart::SmartUps::new(&t);
        assert_eq!(ups.value(b'Q'), Some(&b"50"[..]));
        assert_eq!(ups.value(b'j'), Some(&b"0010:"[..]));
        assert_eq!(ups.value(b'f'), Some(&b"042.0"[..]));
        // On battery, S is taken.
        assert_eq!(ups.input(b'S', 0), b"OK\r\n");
        assert_eq!(
            command(b"S"),
            Some(SmartCommand::Off {
                wake_s: Some(0),
                now: false
            })
        );
        assert_eq!(
            command(b"@002"),
            Some(SmartCommand::Off {
                wake_s: Some(720),
                now: false
            })
        );
        assert_eq!(command(b"W"), None);
    }
}
