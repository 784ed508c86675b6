//! The command line of every binary (clap), in the library so that `cargo xtask deb`
//! renders man pages and shell completions from the very definitions the binaries parse.
//! Each module holds one binary's `Args`; [`programs`] lists them all.

/// `dummy-ups`.
pub mod dummy_ups {
    use crate::drivercli::DriverCli;
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(
        name = "dummy-ups",
        about = "Network UPS Tools dummy-ups driver (Rust)",
        version
    )]
    pub struct Args {
        #[command(flatten)]
        pub cli: DriverCli,
    }
}

/// `nut-exporter`.
pub mod nut_exporter {
    use clap::Parser;
    /// nut_exporter's default variable list (`--nut.vars_enable`).
    pub const DEFAULT_VARIABLES: &str =
        "battery.charge,battery.voltage,battery.voltage.nominal,input.voltage,input.voltage.nominal,ups.load,ups.status";

    #[derive(Parser, Debug, Clone)]
    #[command(
        name = "nut-exporter",
        about = "Prometheus exporter for NUT servers (nut_exporter compatible)",
        version
    )]
    pub struct Args {
        /// upsd host.
        #[arg(
            long = "nut.server",
            env = "NUT_EXPORTER_SERVER",
            default_value = "127.0.0.1"
        )]
        pub server: String,
        /// upsd port.
        #[arg(
            long = "nut.serverport",
            env = "NUT_EXPORTER_SERVERPORT",
            default_value_t = 3493
        )]
        pub port: u16,
        /// Log in as this user (password in NUT_EXPORTER_PASSWORD).
        #[arg(long = "nut.username", env = "NUT_EXPORTER_USERNAME")]
        pub username: Option<String>,
        /// Variables to export, comma-separated; empty: every numeric variable.
        #[arg(long = "nut.vars_enable", env = "NUT_EXPORTER_VARIABLES", default_value = DEFAULT_VARIABLES)]
        pub variables: String,
        /// Status flags always reported (0 when absent), comma-separated.
        #[arg(
            long = "nut.statuses",
            env = "NUT_EXPORTER_STATUSES",
            default_value = "OL,OB,LB,HB,RB,CHRG,DISCHRG,BYPASS,CAL,OFF,OVER,TRIM,BOOST,FSD,SD"
        )]
        pub statuses: String,
        /// Address to listen on.
        #[arg(
            long = "web.listen-address",
            env = "NUT_EXPORTER_WEB_LISTEN_ADDRESS",
            default_value = ":9199"
        )]
        pub listen: String,
        /// Path of the UPS metrics.
        #[arg(
            long = "web.telemetry-path",
            env = "NUT_EXPORTER_WEB_TELEMETRY_PATH",
            default_value = "/ups_metrics"
        )]
        pub path: String,
    }
}

/// `nut-fake-ups`.
pub mod nut_fake_ups {
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(
        name = "nut-fake-ups",
        about = "A fake serial UPS answering from a transcript",
        version
    )]
    pub struct Args {
        /// Transcript file (`> query` / `< reply` lines, see hw-fixtures/README.md).
        pub transcript: std::path::PathBuf,
        /// Print each query received on stderr.
        #[arg(short = 'v')]
        pub verbose: bool,
        /// Play an APC Smart-UPS (one-character commands, hw-fixtures/apcsmart) instead
        /// of a Megatec/Q1 unit.
        #[arg(long = "apcsmart")]
        pub apcsmart: bool,
    }
}

/// `nut-notify`.
pub mod nut_notify {
    use clap::Parser;
    use std::path::PathBuf;

    #[derive(Parser, Debug)]
    #[command(
        name = "nut-notify",
        about = "Relays upsmon notifications to webhooks, ntfy and MQTT",
        version
    )]
    pub struct Args {
        /// The notification message (NOTIFYCMD's argument).
        pub message: Option<String>,
        /// Config file (default: nut-notify.conf in NUT_CONFPATH).
        #[arg(long = "config")]
        pub config: Option<PathBuf>,
        /// Deliver what is queued, without a new event.
        #[arg(long = "flush")]
        pub flush: bool,
        /// Check the config file, print every problem, exit 1 on errors.
        #[arg(long = "check-config")]
        pub check_config: bool,
    }
}

/// `nutdrv_qx`.
pub mod nutdrv_qx {
    use crate::drivercli::DriverCli;
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(
        name = "nutdrv_qx",
        about = "Network UPS Tools driver for Megatec/Q1 UPSes (Rust)",
        version
    )]
    pub struct Args {
        #[command(flatten)]
        pub cli: DriverCli,
        /// Print the variables after this many update loops and exit (NUT's -d).
        #[arg(short = 'd')]
        pub dump: Option<u32>,
    }
}

/// `apcsmart`.
pub mod apcsmart {
    use crate::drivercli::DriverCli;
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(
        name = "apcsmart",
        about = "Network UPS Tools driver for APC Smart protocol UPSes (Rust)",
        version
    )]
    pub struct Args {
        #[command(flatten)]
        pub cli: DriverCli,
        /// Print the variables after this many update loops and exit (NUT's -d).
        #[arg(short = 'd')]
        pub dump: Option<u32>,
    }
}

/// `usbhid-ups`.
pub mod usbhid_ups {
    use crate::drivercli::DriverCli;
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(
        name = "usbhid-ups",
        about = "Network UPS Tools driver for USB HID Power Device Class UPSes (Rust)",
        version
    )]
    pub struct Args {
        #[command(flatten)]
        pub cli: DriverCli,
        /// Print the variables after this many update loops and exit (NUT's -d).
        #[arg(short = 'd')]
        pub dump: Option<u32>,
    }
}

/// `snmp-ups`.
pub mod snmp_ups {
    use crate::drivercli::DriverCli;
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(
        name = "snmp-ups",
        about = "Network UPS Tools driver for SNMP-managed UPSes and PDUs (Rust)",
        version
    )]
    pub struct Args {
        #[command(flatten)]
        pub cli: DriverCli,
        /// Print the variables after this many update loops and exit (NUT's -d).
        #[arg(short = 'd')]
        pub dump: Option<u32>,
    }
}

/// `nut-scanner`.
pub mod nut_scanner {
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(
        name = "nut-scanner",
        about = "Network UPS Tools nut-scanner (Rust): finds UPSes and prints ups.conf sections",
        version
    )]
    pub struct Args {
        /// Scan every bus this build supports except serial ports (USB).
        #[arg(short = 'C', long = "complete_scan")]
        pub complete: bool,
        /// Scan USB devices.
        #[arg(short = 'U', long = "usb_scan")]
        pub usb: bool,
        /// Probe these serial ports for Megatec/Q1 and APC Smart units (`auto`, a port
        /// number or range such as `0-1`, a path, or a comma-separated list of paths).
        /// Only on request: probing writes to the ports.
        #[arg(short = 'E', long = "eaton_serial", value_name = "serial ports list")]
        pub serial: Option<String>,
        /// Display the result in ups.conf format (the default).
        #[arg(short = 'N', long = "disp_nut_conf")]
        pub nut_conf: bool,
        /// Display the result in a parsable format.
        #[arg(short = 'P', long = "disp_parsable")]
        pub parsable: bool,
        /// Display only the result, not the bus being scanned.
        #[arg(short = 'q', long = "quiet")]
        pub quiet: bool,
        /// Debug level (repeat for more).
        #[arg(short = 'D', action = clap::ArgAction::Count)]
        pub debug: u8,
    }
}

/// `upsc`.
pub mod upsc {
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(name = "upsc", about = "Network UPS Tools upsc (Rust)", version)]
    pub struct Args {
        /// List UPS names on host[:port].
        #[arg(short = 'l')]
        pub list: bool,
        /// List UPS names and descriptions on host[:port].
        #[arg(short = 'L')]
        pub list_desc: bool,
        /// List the clients logged into a UPS.
        #[arg(short = 'c')]
        pub clients: bool,
        /// JSON output (as NUT 2.8.5).
        #[arg(short = 'j')]
        pub json: bool,
        /// `ups[@host[:port]]`, or `host[:port]` with -l/-L.
        pub target: Option<String>,
        /// One variable to print.
        pub var: Option<String>,
    }
}

/// `upscmd`.
pub mod upscmd {
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(
        name = "upscmd",
        about = "Network UPS Tools upscmd: list and run instant commands (Rust)",
        disable_help_flag = true,
        disable_version_flag = true
    )]
    pub struct Args {
        /// Display the help text.
        #[arg(short = 'h')]
        pub help: bool,
        /// Display the version.
        #[arg(short = 'V')]
        pub version: bool,
        /// List the instant commands of <ups>.
        #[arg(short = 'l')]
        pub list: bool,
        /// User name for authentication.
        #[arg(short = 'u')]
        pub user: Option<String>,
        /// Password for authentication.
        #[arg(short = 'p')]
        pub pass: Option<String>,
        /// Wait for the driver's result (TRACKING).
        #[arg(short = 'w')]
        pub wait: bool,
        /// Timeout for -w, in seconds (default 10).
        #[arg(short = 't')]
        pub timeout: Option<String>,
        /// `<ups> [<command> [<value>]]`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        pub rest: Vec<String>,
    }
}

/// `upsd`.
pub mod upsd {
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(name = "upsd", about = "Network UPS Tools upsd (Rust)", version)]
    pub struct Args {
        /// Send a command to the running upsd: reload or stop.
        #[arg(short = 'c')]
        pub command: Option<String>,
        /// PID to signal with -c instead of the PID file.
        #[arg(short = 'P')]
        pub pid: Option<u32>,
        /// Debug (repeatable); implies foreground.
        #[arg(short = 'D', action = clap::ArgAction::Count)]
        pub debug: u8,
        /// Stay in the foreground.
        #[arg(short = 'F', action = clap::ArgAction::Count)]
        pub foreground: u8,
        /// Go to the background (the default without -F and -D).
        #[arg(short = 'B')]
        pub background: bool,
        /// Drop root privileges to this user after binding the ports.
        #[arg(short = 'u')]
        pub user: Option<String>,
        /// Chroot to this directory before reading the configuration (which, with the
        /// state path, is then looked up inside it).
        #[arg(short = 'r')]
        pub chroot: Option<String>,
        /// IPv4 only: leave out IPv6 LISTEN addresses.
        #[arg(short = '4')]
        pub ipv4: bool,
        /// IPv6 only: leave out IPv4 LISTEN addresses.
        #[arg(short = '6')]
        pub ipv6: bool,
        /// Parse the configuration, print every problem as file:line, exit 1 on errors.
        #[arg(long = "check-config")]
        pub check_config: bool,
        /// Serve Prometheus metrics (nut_exporter's names, `/metrics` and `/ups_metrics`)
        /// on this host:port, e.g. 127.0.0.1:9199. Off by default.
        #[arg(long = "metrics", value_name = "HOST:PORT")]
        pub metrics: Option<String>,
        /// Do not announce upsd on the local network (mDNS/DNS-SD `_nut._tcp`, the way Home
        /// Assistant discovers NUT servers, and `_upsd._tcp` for `nut-scanner -A`).
        #[arg(long = "no-zeroconf")]
        pub no_zeroconf: bool,
        /// The name upsd is announced under (default: the host name).
        #[arg(long = "zeroconf-name", value_name = "NAME")]
        pub zeroconf_name: Option<String>,
    }
}

/// `upsdrvctl`.
pub mod upsdrvctl {
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(
        name = "upsdrvctl",
        about = "Network UPS Tools - UPS driver controller (Rust)",
        version
    )]
    pub struct Args {
        /// Testing mode: print what would be done, do nothing.
        #[arg(short = 't')]
        pub test: bool,
        /// Drivers run as this user (passed as -u).
        #[arg(short = 'u')]
        pub user: Option<String>,
        /// Drivers chroot here (passed as -r).
        #[arg(short = 'r')]
        pub chroot: Option<String>,
        /// Debug for upsdrvctl (repeatable).
        #[arg(short = 'D', action = clap::ArgAction::Count)]
        pub debug: u8,
        /// Pass the debug level on to drivers.
        #[arg(short = 'd')]
        pub pass_debug: bool,
        /// Drivers stay in the foreground (-F).
        #[arg(short = 'F')]
        pub foreground: bool,
        /// Drivers go to the background (-B).
        #[arg(short = 'B')]
        pub background: bool,
        /// start, stop or shutdown.
        pub command: String,
        /// One UPS (all when left out).
        pub ups: Option<String>,
    }
}

/// `upslog`.
pub mod upslog {
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(
        name = "upslog",
        about = "Network UPS Tools upslog: log UPS variables to a file (Rust)",
        disable_help_flag = true,
        disable_version_flag = true
    )]
    pub struct Args {
        /// Display the help text.
        #[arg(short = 'h')]
        pub help: bool,
        /// Display the version.
        #[arg(short = 'V')]
        pub version: bool,
        /// UPS to monitor, `ups[@host[:port]]`.
        #[arg(short = 's')]
        pub system: Option<String>,
        /// Log file, or `-` for stdout.
        #[arg(short = 'l')]
        pub logfile: Option<String>,
        /// Seconds between rounds (C `atoi`; default 30).
        #[arg(short = 'i')]
        pub interval: Option<String>,
        /// Log format.
        #[arg(short = 'f')]
        pub format: Option<String>,
        /// Exit after this many rounds.
        #[arg(short = 'd')]
        pub count: Option<u64>,
        /// `ups,logfile` tuple (repeatable).
        #[arg(short = 'm')]
        pub tuples: Vec<String>,
        /// Accepted for compatibility (no privilege drop).
        #[arg(short = 'u')]
        pub user: Option<String>,
        /// Accepted for compatibility (no PID file is written).
        #[arg(short = 'p')]
        pub pidbase: Option<String>,
        /// Accepted for compatibility (always foreground).
        #[arg(short = 'F')]
        pub foreground: bool,
        /// Accepted for compatibility (always foreground).
        #[arg(short = 'B')]
        pub background: bool,
        /// Old style: `<system> <logfile> <interval> [<format>...]`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        pub rest: Vec<String>,
    }
}

/// `upsmon`.
pub mod upsmon {
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(name = "upsmon", about = "Network UPS Tools upsmon (Rust)", version)]
    pub struct Args {
        /// Send a command to the running upsmon: fsd, stop or reload (prefix accepted).
        #[arg(short = 'c')]
        pub command: Option<String>,
        /// PID to signal with -c instead of the PID file.
        #[arg(short = 'P')]
        pub pid: Option<u32>,
        /// Exit 0 if POWERDOWNFLAG exists and holds the magic text, else 1.
        #[arg(short = 'K')]
        pub killpower_check: bool,
        /// One privileged process (no RUN_AS_USER split).
        #[arg(short = 'p')]
        pub privileged: bool,
        /// Debug (repeatable); implies foreground.
        #[arg(short = 'D', action = clap::ArgAction::Count)]
        pub debug: u8,
        /// Stay in the foreground.
        #[arg(short = 'F', action = clap::ArgAction::Count)]
        pub foreground: u8,
        /// Go to the background (the default without -F and -D).
        #[arg(short = 'B')]
        pub background: bool,
        /// The unprivileged user of the monitoring process (overrides RUN_AS_USER).
        #[arg(short = 'u')]
        pub user: Option<String>,
        /// Connect to upsd over IPv4 only.
        #[arg(short = '4')]
        pub ipv4: bool,
        /// Connect to upsd over IPv6 only.
        #[arg(short = '6')]
        pub ipv6: bool,
        /// Parse upsmon.conf, print every problem as file:line, exit 1 on errors.
        #[arg(long = "check-config")]
        pub check_config: bool,
    }
}

/// `upsrw`.
pub mod upsrw {
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(
        name = "upsrw",
        about = "Network UPS Tools upsrw: list and set writable variables (Rust)",
        disable_help_flag = true,
        disable_version_flag = true
    )]
    pub struct Args {
        /// Display the help text.
        #[arg(short = 'h')]
        pub help: bool,
        /// Display the version.
        #[arg(short = 'V')]
        pub version: bool,
        /// Accepted and ignored, as in NUT 2.8.0 (listing is what happens without -s).
        #[arg(short = 'l')]
        pub list: bool,
        /// `VAR=VALUE` to set.
        #[arg(short = 's')]
        pub set: Option<String>,
        /// User name for authentication.
        #[arg(short = 'u')]
        pub user: Option<String>,
        /// Password for authentication.
        #[arg(short = 'p')]
        pub pass: Option<String>,
        /// Wait for the driver's result (TRACKING).
        #[arg(short = 'w')]
        pub wait: bool,
        /// Timeout for -w, in seconds (default 10).
        #[arg(short = 't')]
        pub timeout: Option<String>,
        /// `<ups>` (further words are ignored, as in NUT).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        pub rest: Vec<String>,
    }
}

/// `upssched`.
pub mod upssched {
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(
        name = "upssched",
        about = "Network UPS Tools upssched (Rust)",
        version
    )]
    pub struct Args {
        /// Debug (repeatable).
        #[arg(short = 'D', action = clap::ArgAction::Count)]
        pub debug: u8,
        /// Parse upssched.conf, print every problem as file:line, exit 1 on errors.
        #[arg(long = "check-config")]
        pub check_config: bool,
        /// Run as the timer daemon (started by upssched itself).
        #[arg(long = "timer-daemon", hide = true)]
        pub timer_daemon: bool,
        /// The notification message (upsmon passes it).
        pub message: Option<String>,
    }
}
/// One installed program: its name, man page section, install directory and command
/// line definition.
pub struct Program {
    /// Program name.
    pub name: &'static str,
    /// Man page section (NUT's: 8 for daemons, drivers and clients).
    pub section: &'static str,
    /// Install directory, as Debian's NUT packages install the same program.
    pub dir: &'static str,
    /// The clap definition the binary parses.
    pub command: clap::Command,
}

/// Every binary of the project, in install order.
pub fn programs() -> Vec<Program> {
    use clap::CommandFactory;
    let program = |name, section, dir, command| Program {
        name,
        section,
        dir,
        command,
    };
    vec![
        program("dummy-ups", "8", "/lib/nut", dummy_ups::Args::command()),
        program("nutdrv_qx", "8", "/lib/nut", nutdrv_qx::Args::command()),
        program("apcsmart", "8", "/lib/nut", apcsmart::Args::command()),
        program("usbhid-ups", "8", "/lib/nut", usbhid_ups::Args::command()),
        program("snmp-ups", "8", "/lib/nut", snmp_ups::Args::command()),
        program("nut-scanner", "8", "/bin", nut_scanner::Args::command()),
        program("upsd", "8", "/lib/nut", upsd::Args::command()),
        program("upsdrvctl", "8", "/sbin", upsdrvctl::Args::command()),
        program("upsmon", "8", "/sbin", upsmon::Args::command()),
        program("upssched", "8", "/sbin", upssched::Args::command()),
        program("upsc", "8", "/bin", upsc::Args::command()),
        program("upscmd", "8", "/bin", upscmd::Args::command()),
        program("upslog", "8", "/bin", upslog::Args::command()),
        program("upsrw", "8", "/bin", upsrw::Args::command()),
        program(
            "nut-exporter",
            "8",
            "/usr/bin",
            nut_exporter::Args::command(),
        ),
        program("nut-notify", "8", "/usr/bin", nut_notify::Args::command()),
        program(
            "nut-fake-ups",
            "1",
            "/usr/bin",
            nut_fake_ups::Args::command(),
        ),
    ]
}
