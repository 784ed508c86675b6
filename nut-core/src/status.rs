//! The `ups.status` token list (nut-reference.md §1.9): parse, format, and upsd's FSD rule.
//!
//! Unknown tokens are kept verbatim, in order, so nothing a driver says is lost.

use std::fmt;

/// One `ups.status` token.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusToken {
    /// On line power.
    Ol,
    /// On battery.
    Ob,
    /// Low battery.
    Lb,
    /// High battery.
    Hb,
    /// Replace battery.
    Rb,
    /// Charging.
    Chrg,
    /// Discharging.
    Dischrg,
    /// On bypass.
    Bypass,
    /// Calibration.
    Cal,
    /// Administratively off.
    Off,
    /// Overloaded.
    Over,
    /// Trimming voltage.
    Trim,
    /// Boosting voltage.
    Boost,
    /// Forced shutdown.
    Fsd,
    /// Alarms active (details in `ups.alarm`).
    Alarm,
    /// ECO mode.
    Eco,
    /// upsd's placeholder before the first dump.
    Wait,
    /// Any other token, kept as spelled.
    Other(String),
}

impl StatusToken {
    /// Parses one token (case-insensitive, as upsmon compares them).
    pub fn parse(word: &str) -> StatusToken {
        match word.to_ascii_uppercase().as_str() {
            "OL" => StatusToken::Ol,
            "OB" => StatusToken::Ob,
            "LB" => StatusToken::Lb,
            "HB" => StatusToken::Hb,
            "RB" => StatusToken::Rb,
            "CHRG" => StatusToken::Chrg,
            "DISCHRG" => StatusToken::Dischrg,
            "BYPASS" => StatusToken::Bypass,
            "CAL" => StatusToken::Cal,
            "OFF" => StatusToken::Off,
            "OVER" => StatusToken::Over,
            "TRIM" => StatusToken::Trim,
            "BOOST" => StatusToken::Boost,
            "FSD" => StatusToken::Fsd,
            "ALARM" => StatusToken::Alarm,
            "ECO" => StatusToken::Eco,
            "WAIT" => StatusToken::Wait,
            _ => StatusToken::Other(word.to_string()),
        }
    }

    /// The token as NUT spells it.
    pub fn as_str(&self) -> &str {
        match self {
            StatusToken::Ol => "OL",
            StatusToken::Ob => "OB",
            StatusToken::Lb => "LB",
            StatusToken::Hb => "HB",
            StatusToken::Rb => "RB",
            StatusToken::Chrg => "CHRG",
            StatusToken::Dischrg => "DISCHRG",
            StatusToken::Bypass => "BYPASS",
            StatusToken::Cal => "CAL",
            StatusToken::Off => "OFF",
            StatusToken::Over => "OVER",
            StatusToken::Trim => "TRIM",
            StatusToken::Boost => "BOOST",
            StatusToken::Fsd => "FSD",
            StatusToken::Alarm => "ALARM",
            StatusToken::Eco => "ECO",
            StatusToken::Wait => "WAIT",
            StatusToken::Other(word) => word,
        }
    }
}

/// A parsed `ups.status` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Tokens in the order the driver sent them.
    pub tokens: Vec<StatusToken>,
}

impl Status {
    /// Parses a space-separated status string; empty input gives an empty status.
    pub fn parse(text: &str) -> Status {
        Status {
            tokens: text
                .split_ascii_whitespace()
                .map(StatusToken::parse)
                .collect(),
        }
    }

    /// True if the token is present.
    pub fn has(&self, token: &StatusToken) -> bool {
        self.tokens.contains(token)
    }

    /// True when the UPS is on battery and its battery is low.
    pub fn is_on_battery_low(&self) -> bool {
        self.has(&StatusToken::Ob) && self.has(&StatusToken::Lb)
    }

    /// Tokens that are not part of NUT's standard vocabulary.
    pub fn unknown_tokens(&self) -> Vec<&str> {
        self.tokens
            .iter()
            .filter_map(|t| match t {
                StatusToken::Other(word) => Some(word.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, token) in self.tokens.iter().enumerate() {
            if index > 0 {
                f.write_str(" ")?;
            }
            f.write_str(token.as_str())?;
        }
        Ok(())
    }
}

/// upsd's rule for the FSD latch: while it is set, `ups.status` is sent as
/// `"FSD <driver value>"` (nut-reference.md §1.9). The driver value is not parsed.
pub fn with_fsd_prefix(driver_value: &str, fsd_latched: bool) -> String {
    if fsd_latched {
        format!("FSD {driver_value}")
    } else {
        driver_value.to_string()
    }
}

/// A driver's status word under `ignorelb` (NUT's dstate.c `status_set` and
/// `status_commit`): the device's own LB is dropped, and LB is added when
/// battery.charge is below battery.charge.low or battery.runtime below
/// battery.runtime.low (values as C's `strtol` reads them).
pub fn ignorelb_word(word: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut tokens: Vec<&str> = word
        .split(' ')
        .filter(|t| *t != "LB" && !t.is_empty())
        .collect();
    let num = |name: &str| value(name).map(|v| crate::sock::atoi(&v));
    let below = |v: &str, low: &str| matches!((num(v), num(low)), (Some(v), Some(l)) if v < l);
    if below("battery.charge", "battery.charge.low")
        || below("battery.runtime", "battery.runtime.low")
    {
        tokens.push("LB");
    }
    tokens.join(" ")
}

/// NUT's main.c start-up check for `ignorelb`: the variables it can take LB from
/// (`battery.charge` and/or `battery.runtime` with their `.low`), or NUT's fatal
/// message when there are none.
pub fn ignorelb_methods(present: impl Fn(&str) -> bool) -> Result<Vec<&'static str>, &'static str> {
    let methods: Vec<&'static str> = [
        ("battery.charge", "battery.charge.low"),
        ("battery.runtime", "battery.runtime.low"),
    ]
    .into_iter()
    .filter(|(value, low)| present(value) && present(low))
    .map(|(value, _)| value)
    .collect();
    if methods.is_empty() {
        return Err("The 'ignorelb' flag is set, but there is no way to determine the battery state of charge. Only set this flag if both 'battery.charge' and 'battery.charge.low' and/or 'battery.runtime' and 'battery.runtime.low' are available.");
    }
    Ok(methods)
}
