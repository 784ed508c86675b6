//! upsmon's notification types, their stock messages and default flags (nut-reference.md §3.7).

use std::fmt;

macro_rules! notify_types {
    ($($variant:ident => $name:literal, $message:literal;)*) => {
        /// A notification event of upsmon (NOTIFYTYPE in NOTIFYCMD's environment).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum NotifyType { $(
            #[doc = $message]
            $variant,
        )* }

        impl NotifyType {
            /// Every type, in NUT's table order.
            pub const ALL: &'static [NotifyType] = &[$(NotifyType::$variant,)*];

            /// The name as used in upsmon.conf and in NOTIFYTYPE.
            pub fn as_str(self) -> &'static str {
                match self { $(NotifyType::$variant => $name,)* }
            }

            /// Parses a name (case-sensitive, as upsmon does).
            pub fn parse(name: &str) -> Option<NotifyType> {
                match name { $($name => Some(NotifyType::$variant),)* _ => None }
            }

            /// The stock message; `%s` stands for the UPS system name.
            pub fn default_message(self) -> &'static str {
                match self { $(NotifyType::$variant => $message,)* }
            }
        }
    };
}

notify_types! {
    Online => "ONLINE", "UPS %s on line power";
    OnBatt => "ONBATT", "UPS %s on battery";
    LowBatt => "LOWBATT", "UPS %s battery is low";
    Fsd => "FSD", "UPS %s: forced shutdown in progress";
    CommOk => "COMMOK", "Communications with UPS %s established";
    CommBad => "COMMBAD", "Communications with UPS %s lost";
    Shutdown => "SHUTDOWN", "Auto logout and shutdown proceeding";
    ReplBatt => "REPLBATT", "UPS %s battery needs to be replaced";
    NoComm => "NOCOMM", "UPS %s is unavailable";
    NoParent => "NOPARENT", "upsmon parent process died - shutdown impossible";
    Cal => "CAL", "UPS %s: calibration in progress";
    NotCal => "NOTCAL", "UPS %s: calibration finished";
    Off => "OFF", "UPS %s: administratively OFF or asleep";
    NotOff => "NOTOFF", "UPS %s: no longer administratively OFF or asleep";
    Bypass => "BYPASS", "UPS %s: on bypass (powered, not protecting)";
    NotBypass => "NOTBYPASS", "UPS %s: no longer on bypass";
    Eco => "ECO", "UPS %s: in ECO mode (as defined by vendor)";
    NotEco => "NOTECO", "UPS %s: no longer in ECO mode";
    Alarm => "ALARM", "UPS %s: one or more active alarms: [%s]";
    NotAlarm => "NOTALARM", "UPS %s is no longer in an alarm state (no active alarms)";
    Over => "OVER", "UPS %s: overloaded";
    NotOver => "NOTOVER", "UPS %s: no longer overloaded";
    Trim => "TRIM", "UPS %s: trimming incoming voltage";
    NotTrim => "NOTTRIM", "UPS %s: no longer trimming incoming voltage";
    Boost => "BOOST", "UPS %s: boosting incoming voltage";
    NotBoost => "NOTBOOST", "UPS %s: no longer boosting incoming voltage";
    Other => "OTHER", "UPS %s: has at least one unclassified status token: [%s]";
    NotOther => "NOTOTHER", "UPS %s has no unclassified status tokens anymore";
    SuspendStarting => "SUSPEND_STARTING", "OS is entering sleep/suspend/hibernate mode";
    SuspendFinished => "SUSPEND_FINISHED", "OS just finished sleep/suspend/hibernate mode, de-activating obsolete UPS readings to avoid an unfortunate shutdown";
    ShutdownHostsync => "SHUTDOWN_HOSTSYNC", "Shutdown initiated; primary system is waiting for secondaries to log out or time out";
}

impl fmt::Display for NotifyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What upsmon does with a notification (NOTIFYFLAG).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NotifyFlags {
    /// Log it.
    pub syslog: bool,
    /// Broadcast it to logged-in users.
    pub wall: bool,
    /// Run NOTIFYCMD.
    pub exec: bool,
    /// Do nothing (overrides the others).
    pub ignore: bool,
}

impl NotifyFlags {
    /// NUT's default for a type: SYSLOG+WALL (CAL: SYSLOG only, as in 2.8.0).
    pub fn default_for(notify_type: NotifyType) -> NotifyFlags {
        NotifyFlags {
            syslog: true,
            wall: notify_type != NotifyType::Cal,
            exec: false,
            ignore: false,
        }
    }

    /// Parses `SYSLOG+WALL+EXEC` or `IGNORE`; returns the unknown flag word on error.
    pub fn parse(text: &str) -> Result<NotifyFlags, String> {
        let mut flags = NotifyFlags::default();
        for word in text.split('+') {
            match word {
                "SYSLOG" => flags.syslog = true,
                "WALL" => flags.wall = true,
                "EXEC" => flags.exec = true,
                "IGNORE" => flags.ignore = true,
                other => return Err(other.to_string()),
            }
        }
        Ok(flags)
    }
}

/// Fills a NOTIFYMSG template: the first `%s` is the UPS system name, a second one the
/// detail text (ALARM, OTHER).
pub fn format_message(template: &str, system: &str, detail: &str) -> String {
    let mut out = String::with_capacity(template.len() + system.len());
    let mut rest = template;
    let mut filled = 0;
    while let Some(pos) = rest.find("%s") {
        out.push_str(&rest[..pos]);
        out.push_str(if filled == 0 { system } else { detail });
        filled += 1;
        rest = &rest[pos + 2..];
    }
    out.push_str(rest);
    out
}
