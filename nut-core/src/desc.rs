//! Variable and command descriptions for GET DESC / GET CMDDESC (NUT's `cmdvartab`).
//!
//! upsd reads `cmdvartab` (lines `VARDESC <name> "<text>"` and `CMDDESC <name> "<text>"`)
//! from its data path; the shell passes the file's text to [`Descriptions::parse`]. A short
//! built-in table covers the most used names when no file is installed.

use crate::tokenizer::tokenize;
use std::collections::BTreeMap;

/// What upsd answers for a name without a description.
pub const DESCRIPTION_UNAVAILABLE: &str = "Description unavailable";

/// Built-in descriptions used when no cmdvartab file is available.
const BUILTIN: &str = r#"
VARDESC ups.status "UPS status"
VARDESC ups.alarm "UPS alarms"
VARDESC ups.mfr "UPS manufacturer"
VARDESC ups.model "UPS model"
VARDESC ups.serial "UPS serial number"
VARDESC ups.id "UPS system identifier"
VARDESC ups.load "Load on UPS (percent)"
VARDESC ups.temperature "UPS temperature (degrees C)"
VARDESC ups.delay.shutdown "Interval to wait after shutdown with delay command (seconds)"
VARDESC ups.delay.start "Interval to wait before (re)starting the load (seconds)"
VARDESC ups.timer.shutdown "Time before the load will be shutdown (seconds)"
VARDESC ups.timer.start "Time before the load will be started (seconds)"
VARDESC ups.test.result "Results of last self test"
VARDESC ups.beeper.status "UPS beeper status"
VARDESC battery.charge "Battery charge (percent of full)"
VARDESC battery.charge.low "Remaining battery level when UPS switches to LB (percent)"
VARDESC battery.charge.warning "Battery level when UPS switches to Warning state (percent)"
VARDESC battery.runtime "Battery runtime (seconds)"
VARDESC battery.runtime.low "Remaining battery runtime when UPS switches to LB (seconds)"
VARDESC battery.voltage "Battery voltage (V)"
VARDESC battery.voltage.nominal "Nominal battery voltage (V)"
VARDESC battery.type "Battery chemistry"
VARDESC input.voltage "Input voltage (V)"
VARDESC input.voltage.nominal "Nominal input voltage (V)"
VARDESC input.frequency "Input line frequency (Hz)"
VARDESC input.transfer.low "Low voltage transfer point (V)"
VARDESC input.transfer.high "High voltage transfer point (V)"
VARDESC output.voltage "Output voltage (V)"
VARDESC output.frequency "Output frequency (Hz)"
VARDESC device.mfr "Device manufacturer"
VARDESC device.model "Device model"
VARDESC device.serial "Device serial number"
VARDESC device.type "Device type"
VARDESC driver.name "Driver name"
VARDESC driver.version "Driver version (NUT release)"
VARDESC driver.version.internal "Internal driver version"
CMDDESC load.off "Turn off the load immediately"
CMDDESC load.on "Turn on the load immediately"
CMDDESC shutdown.return "Turn off the load and return when power is back"
CMDDESC shutdown.stayoff "Turn off the load and remain off"
CMDDESC shutdown.stop "Stop a shutdown in progress"
CMDDESC shutdown.reboot "Shut down the load briefly while rebooting the UPS"
CMDDESC test.battery.start "Start a battery test"
CMDDESC test.battery.start.quick "Start a quick battery test"
CMDDESC test.battery.start.deep "Start a deep battery test"
CMDDESC test.battery.stop "Stop the battery test"
CMDDESC beeper.enable "Enable the UPS beeper"
CMDDESC beeper.disable "Disable the UPS beeper"
CMDDESC beeper.mute "Temporarily mute the UPS beeper"
CMDDESC beeper.toggle "Toggle the UPS beeper"
"#;

/// Description table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Descriptions {
    vars: BTreeMap<String, String>,
    cmds: BTreeMap<String, String>,
}

impl Descriptions {
    /// The built-in table.
    pub fn builtin() -> Descriptions {
        Descriptions::parse(BUILTIN.as_bytes())
    }

    /// Reads a cmdvartab text; malformed lines are skipped.
    pub fn parse(text: &[u8]) -> Descriptions {
        let mut table = Descriptions::default();
        for line in tokenize(text) {
            if line.error.is_some() || line.words.len() < 3 {
                continue;
            }
            let name = line.words[1].to_ascii_lowercase();
            let text = line.words[2].clone();
            match line.words[0].as_str() {
                "VARDESC" => table.vars.insert(name, text),
                "CMDDESC" => table.cmds.insert(name, text),
                _ => None,
            };
        }
        table
    }

    /// Description of a variable; a leading `upstream.` is ignored for the lookup.
    pub fn var(&self, name: &str) -> &str {
        let lower = name.to_ascii_lowercase();
        let lookup = lower.strip_prefix("upstream.").unwrap_or(&lower);
        self.vars
            .get(lookup)
            .map(String::as_str)
            .unwrap_or(DESCRIPTION_UNAVAILABLE)
    }

    /// Description of an instant command.
    pub fn cmd(&self, name: &str) -> &str {
        self.cmds
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
            .unwrap_or(DESCRIPTION_UNAVAILABLE)
    }
}
