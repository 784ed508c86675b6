//! Manual pages for NUT's config files (section 5, as NUT's), rendered from the directive
//! tables below; the programs' pages (section 8, and 1) come from their clap definitions
//! (`cli::programs`, rendered by `cargo xtask deb`). Section 5 pages for NUT's config files rendered from the
//! directive tables below, with NUT's section numbers. `cargo xtask deb` installs them;
//! a test checks that every directive of Debian's sample files is documented.

/// One directive (or option) of a config file.
pub struct Directive {
    /// Name as written in the file.
    pub name: &'static str,
    /// Its arguments, for the synopsis.
    pub args: &'static str,
    /// What it does.
    pub text: &'static str,
}

/// One config file's manual page.
pub struct ConfigPage {
    /// File name.
    pub file: &'static str,
    /// One line for NAME.
    pub summary: &'static str,
    /// DESCRIPTION paragraphs.
    pub description: &'static [&'static str],
    /// Directives, in the order NUT's page gives them.
    pub directives: &'static [Directive],
    /// Programs that read it (SEE ALSO).
    pub readers: &'static [&'static str],
}

const fn d(name: &'static str, args: &'static str, text: &'static str) -> Directive {
    Directive { name, args, text }
}

const WORDS: &str = "Lines are split into words as NUT does: words are separated by \
spaces, double quotes group words, a backslash escapes the next character, and # starts a \
comment outside quotes. Unknown directives and malformed values are reported with the \
file name, line number and directive; `--check-config` prints every problem and exits 1 \
when there are errors.";

/// The config files' pages.
pub const CONFIG_PAGES: &[ConfigPage] = &[
    ConfigPage {
        file: "nut.conf",
        summary: "which parts of NUT run on this host",
        description: &[
            "Read by the service units and the late-shutdown hook (shell variable \
             assignments, NAME=value).",
        ],
        directives: &[
            d("MODE", "none|standalone|netserver|netclient", "none: nothing runs; standalone: driver, upsd and upsmon for a local UPS; netserver: the same, serving other hosts; netclient: only upsmon, watching a remote upsd."),
            d("ALLOW_NO_DEVICE", "true|false", "Lets the server units start with no UPS configured."),
            d("UPSD_OPTIONS", "options", "Extra command-line options for upsd (for example --metrics 127.0.0.1:9199 or --no-zeroconf)."),
            d("UPSMON_OPTIONS", "options", "Extra command-line options for upsmon."),
            d("POWEROFF_WAIT", "time", "How long the late-shutdown hook waits after telling the UPS to power off before rebooting the host anyway (sleep(1) syntax). Covers mains returning during the shutdown."),
        ],
        readers: &["upsd", "upsmon", "upsdrvctl"],
    },
    ConfigPage {
        file: "ups.conf",
        summary: "UPS definitions for the drivers and upsd",
        description: &[
            "Global options come first, then one [name] section per UPS. Each section \
             names the driver and its port; every other key=value (or a bare flag) is \
             passed to the driver. upsd serves each section as UPS name.",
            WORDS,
        ],
        directives: &[
            d("chroot", "directory", "Chroot for the drivers (-r overrides): they enter it once configured, before dropping root and opening the device, which they then look up inside it with their data files and state path."),
            d("driverpath", "directory", "Where upsdrvctl finds the driver programs."),
            d("maxstartdelay", "seconds", "How long upsdrvctl waits for a driver to start (default 75)."),
            d("maxretry", "count", "How many times upsdrvctl tries to start a driver (default 1)."),
            d("retrydelay", "seconds", "Wait between attempts (default 5)."),
            d("nowait", "", "upsdrvctl does not wait for the drivers to answer."),
            d("pollinterval", "seconds", "How often drivers poll the UPS (default 2); also per section."),
            d("statepath", "directory", "Where the driver sockets and PID files live."),
            d("user", "name", "The account drivers drop root for, before they open the device (also per section; -u overrides). The device and the state path must be open to it."),
            d("driver", "name", "Per section: the driver program (dummy-ups, nutdrv_qx, usbhid-ups)."),
            d("port", "path", "Per section: the device (serial port, or dummy-ups's data file)."),
            d("desc", "text", "Per section: description shown by upsc -L."),
            d("sdorder", "number", "Per section: order for upsdrvctl shutdown (lower first; -1 never)."),
            d("ignorelb", "", "Per section: ignore the UPS's LB flag and raise LB from battery.charge.low or battery.runtime.low instead."),
            d("override.VAR", "value", "Per section: publish VAR with this value whatever the UPS says (for example override.battery.charge.low = 30)."),
            d("default.VAR", "value", "Per section: publish VAR with this value when the UPS does not report it."),
        ],
        readers: &["upsd", "upsdrvctl", "dummy-ups", "nutdrv_qx", "usbhid-ups"],
    },
    ConfigPage {
        file: "upsd.conf",
        summary: "upsd's configuration",
        description: &[WORDS],
        directives: &[
            d("LISTEN", "address [port]", "Listen on this address (port 3493 unless given); repeatable. Default: 127.0.0.1 and ::1. Loopback addresses are announced over zeroconf on the loopback interface only, wildcard addresses on every multicast interface."),
            d("MAXAGE", "seconds", "Driver data older than this is stale (ERR DATA-STALE); default 15."),
            d("MAXCONN", "count", "Most client connections at once (default 1024); further connections are closed at once."),
            d("TRACKINGDELAY", "seconds", "How long the results of tracked SET VAR and INSTCMD are kept (default 3600)."),
            d("ALLOW_NO_DEVICE", "true|false", "Start even when ups.conf defines no UPS."),
            d("ALLOW_NOT_ALL_LISTENERS", "true|false", "Start when some LISTEN addresses cannot be bound."),
            d("STATEPATH", "directory", "Where the driver sockets are."),
            d("DATAPATH", "directory", "Where cmdvartab is read from."),
            d("CERTFILE", "file", "PEM file with the server certificate and key: enables STARTTLS."),
            d("CERTPATH", "directory", "NSS database path of NUT's NSS build (accepted, not used: CERTFILE holds the certificate)."),
            d("CERTIDENT", "name password", "NSS certificate name (accepted, not used)."),
            d("CERTREQUEST", "0|1|2", "Client certificate request level (accepted, not used)."),
            d("DISABLE_WEAK_SSL", "true|false", "Only TLS 1.2 and later are offered in any case."),
            d("DEBUG_MIN", "level", "Minimum debug level."),
            d("ACL, ACCEPT, REJECT", "", "Obsolete (NUT 2.4); ignored with a warning: use LISTEN and a firewall."),
        ],
        readers: &["upsd"],
    },
    ConfigPage {
        file: "upsd.users",
        summary: "upsd's users and their rights",
        description: &[
            "One [name] section per user, with password, actions, instcmds and upsmon \
             lines.",
            WORDS,
        ],
        directives: &[
            d("password", "secret", "The user's password."),
            d("actions", "SET|FSD ...", "SET: may change variables (upsrw); FSD: may set forced shutdown."),
            d("instcmds", "command|ALL ...", "Instant commands the user may run (upscmd); repeatable."),
            d("upsmon", "primary|secondary", "An upsmon login; master and slave are accepted as the old spellings."),
        ],
        readers: &["upsd"],
    },
    ConfigPage {
        file: "upsmon.conf",
        summary: "upsmon's configuration",
        description: &[
            "upsmon polls every MONITORed UPS every POLLFREQ seconds (POLLFREQALERT on \
             battery). A UPS is critical when it is on battery and low (OB LB), or \
             forced (FSD), or unreachable past DEADTIME while last seen on battery. When \
             the power value of the UPSes still good falls below MINSUPPLIES, the \
             primary sets FSD, waits up to HOSTSYNC for the secondaries to log out, \
             waits FINALDELAY, writes POWERDOWNFLAG and runs SHUTDOWNCMD; secondaries \
             shut down on FSD.",
            "Notification types: ONLINE ONBATT LOWBATT FSD COMMOK COMMBAD SHUTDOWN \
             REPLBATT NOCOMM NOPARENT CAL NOTCAL OFF NOTOFF BYPASS NOTBYPASS and \
             OVER NOTOVER (alias NOTIFY_REPLBATT for REPLBATT in old files). Flags: \
             SYSLOG WALL EXEC IGNORE.",
            WORDS,
        ],
        directives: &[
            d("MONITOR", "ups@host[:port] powervalue user password primary|secondary", "A UPS to watch, its power value (how many supplies of this host it feeds; 0 to watch only), the upsd.users login, and the role (master and slave are accepted)."),
            d("MINSUPPLIES", "count", "Power supplies that must be fed for the host to keep running (default 1)."),
            d("SHUTDOWNCMD", "command", "Runs once, when this host must shut down."),
            d("NOTIFYCMD", "command", "Runs for notifications flagged EXEC, with the message as $1 and NOTIFYTYPE and UPSNAME in the environment (nut-notify relays them to webhooks, ntfy and MQTT)."),
            d("POLLFREQ", "seconds", "Poll interval on line power (default 5)."),
            d("POLLFREQALERT", "seconds", "Poll interval on battery (default 5)."),
            d("HOSTSYNC", "seconds", "How long the primary waits for secondaries to log out (default 15)."),
            d("DEADTIME", "seconds", "A UPS not heard from for this long is dead (default 15)."),
            d("FINALDELAY", "seconds", "Wait between the SHUTDOWN notification and SHUTDOWNCMD (default 5)."),
            d("POWERDOWNFLAG", "file", "Written by the primary before SHUTDOWNCMD; upsmon -K checks it and the late-shutdown hook powers the UPS off when it is there."),
            d("NOTIFYMSG", "type message", "Message text for a notification type (%s is the UPS name)."),
            d("NOTIFYFLAG", "type flag[+flag...]", "What a notification does: SYSLOG, WALL, EXEC, IGNORE."),
            d("RBWARNTIME", "seconds", "Repeat REPLBATT at most this often (default 43200)."),
            d("NOCOMMWARNTIME", "seconds", "Repeat NOCOMM at most this often (default 300)."),
            d("RUN_AS_USER", "name", "The user the monitoring process runs as; a root parent keeps SHUTDOWNCMD and POWERDOWNFLAG."),
            d("OFFDURATION", "seconds", "An OFF status lasting this long counts as critical (default 30; negative: never)."),
            d("OVERDURATION", "seconds", "An OVER status lasting this long on battery counts as critical (negative: never)."),
            d("OBLBDURATION", "seconds", "OB LB must last this long before it counts as critical (default 0)."),
            d("ALARMCRITICAL", "0|1", "Whether ALARM on battery is critical."),
            d("SHUTDOWNEXIT", "yes|no|seconds", "Whether upsmon exits after running SHUTDOWNCMD (and after how long)."),
            d("POLLFAIL_LOG_THROTTLE_MAX", "count", "Log repeated poll failures only every count polls."),
            d("CERTPATH", "file|directory", "CA certificates for verifying upsd (PEM)."),
            d("CERTHOST", "host name verify forcessl", "Per upsd host: the name in its certificate, whether to verify it, whether TLS is required."),
            d("CERTVERIFY", "0|1", "Verify upsd certificates."),
            d("FORCESSL", "0|1", "Require TLS for every upsd."),
            d("CERTFILE", "file", "Client certificate (accepted, not used: upsd never asks for one)."),
            d("CERTIDENT", "name password", "NSS certificate name (accepted, not used)."),
            d("DEBUG_MIN", "level", "Minimum debug level."),
        ],
        readers: &["upsmon"],
    },
    ConfigPage {
        file: "upssched.conf",
        summary: "upssched's timers",
        description: &[
            "upsmon runs upssched as its NOTIFYCMD; upssched matches the notification \
             against the AT lines and starts or cancels timers in its daemon, which runs \
             CMDSCRIPT with the timer name when a timer expires.",
            WORDS,
        ],
        directives: &[
            d("CMDSCRIPT", "program", "Run with the timer name (or EXECUTE's argument) as its only argument."),
            d("PIPEFN", "file", "The socket between upssched and its timer daemon."),
            d("LOCKFN", "file", "Lock file taken while the daemon starts."),
            d("AT", "notifytype ups START-TIMER name seconds", "Start a timer when upsmon notifies notifytype for ups (* for any)."),
            d("AT", "notifytype ups CANCEL-TIMER name [command]", "Cancel the timer; run command when no such timer was running."),
            d("AT", "notifytype ups EXECUTE command", "Run CMDSCRIPT with command at once."),
            d("DEBUG_MIN", "level", "Minimum debug level."),
        ],
        readers: &["upssched", "upsmon"],
    },
];

/// Escapes text for roff.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    match escaped.chars().next() {
        Some('.') | Some('\'') => format!("\\&{escaped}"),
        _ => escaped,
    }
}

/// The section 5 page of one config file.
pub fn config_page(page: &ConfigPage, version: &str) -> String {
    let mut out = format!(
        ".TH \"{}\" 5 \"\" \"nut-rs {version}\" \"NUT Manual\"\n.SH NAME\n{} \\- {}\n.SH DESCRIPTION\n",
        page.file.to_uppercase(),
        roff(page.file),
        roff(page.summary)
    );
    for (i, paragraph) in page.description.iter().enumerate() {
        if i > 0 {
            out.push_str(".PP\n");
        }
        out.push_str(&roff(paragraph));
        out.push('\n');
    }
    out.push_str(".SH DIRECTIVES\n");
    for directive in page.directives {
        out.push_str(".TP\n");
        if directive.args.is_empty() {
            out.push_str(&format!(".B {}\n", roff(directive.name)));
        } else {
            out.push_str(&format!(
                ".BI \"{} \" \"{}\"\n",
                roff(directive.name),
                roff(directive.args)
            ));
        }
        out.push_str(&roff(directive.text));
        out.push('\n');
    }
    out.push_str(".SH SEE ALSO\n");
    let refs: Vec<String> = page
        .readers
        .iter()
        .map(|r| format!(".BR {} (8)", roff(r)))
        .collect();
    out.push_str(&refs.join(",\n"));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_pages_escape_roff() {
        let page = config_page(&CONFIG_PAGES[0], "0.1.0");
        assert!(page.starts_with(".TH \"NUT.CONF\" 5"));
        assert!(page.contains("nut.conf \\- which parts"));
        assert!(page.contains(".BI \"POWEROFF_WAIT \" \"time\""));
        assert_eq!(roff(".x-y\\"), "\\&.x\\-y\\e");
    }
}
