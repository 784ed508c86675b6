//! The command line every driver binary shares (NUT's `drivers/main.c`): parsed by
//! clap, turned into the wiring's [`DriverArgs`]. Binary-side only (it exits
//! processes), so it stays out of the daemon code the simulation runs.

use crate::driver::DriverArgs;

/// The command line every driver shares (NUT's `drivers/main.c`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DriverCli {
    /// UPS section of ups.conf to drive.
    #[arg(short = 'a')]
    pub ups: Option<String>,
    /// Standalone: run without ups.conf under this name (give -x port=...).
    #[arg(short = 's')]
    pub standalone: Option<String>,
    /// Extra driver option key=value or flag (repeatable).
    #[arg(short = 'x')]
    pub extra: Vec<String>,
    /// Kill power: tell the UPS to cut the load (shutdown.return) and exit.
    #[arg(short = 'k')]
    pub kill: bool,
    /// Send a command to the running driver: exit or reload.
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
    /// Run as this user once configured, before the device is opened (overrides
    /// `user` in ups.conf); started as root, the driver drops root.
    #[arg(short = 'u')]
    pub user: Option<String>,
    /// Chroot to this directory once configured, before dropping root and opening the
    /// device (overrides `chroot` in ups.conf).
    #[arg(short = 'r')]
    pub chroot: Option<String>,
    /// Read ups.conf and this UPS's section, print every problem, exit 1 on errors.
    #[arg(long = "check-config")]
    pub check_config: bool,
}

impl DriverCli {
    /// What the wiring needs from the command line.
    pub fn driver_args(&self) -> DriverArgs {
        DriverArgs {
            ups: self.ups.clone(),
            standalone: self.standalone.clone(),
            extra: self.extra.clone(),
        }
    }

    /// `-F` or `-D` given: stay in the foreground.
    pub fn foreground(&self) -> bool {
        self.foreground > 0 || self.debug > 0
    }

    /// `-c exit|reload`: signals the running instance named in `pidfile` (or `-P`).
    pub fn signal_running(
        &self,
        command: &str,
        pidfile: &std::path::Path,
        program: &str,
    ) -> std::process::ExitCode {
        let signal = match command {
            "exit" | "stop" => "TERM",
            "reload" | "reload-or-error" => "HUP",
            other => {
                eprintln!("Error: unknown command '{other}' (use exit or reload)");
                return std::process::ExitCode::FAILURE;
            }
        };
        crate::confload::signal_exit(self.pid, pidfile, signal, program)
    }
}

/// The driver's PID file (`<driver>-<ups>.pid` in the PID directory).
pub fn pidfile(
    env: &crate::wiring::NutEnv,
    statepath: &str,
    driver: &str,
    ups: &str,
) -> std::path::PathBuf {
    std::path::PathBuf::from(env.pidfile(statepath, &format!("{driver}-{ups}.pid")))
}

/// The account a driver runs as, in NUT's order (`drivers/main.c`): `-u`, then `user`
/// in its ups.conf section, then the global `user`. `None`: it keeps the account it
/// was started with (NUT falls back to its compiled-in user; the package's units
/// pass `-u nut`).
pub fn run_as(cli: &DriverCli, env: &crate::wiring::NutEnv) -> Option<String> {
    if let Some(user) = &cli.user {
        return Some(user.clone());
    }
    let conf = ups_conf(cli, env)?;
    let name = cli.ups.as_deref()?;
    conf.upses
        .iter()
        .find(|section| section.name == name)
        .and_then(|section| section.option("user").map(str::to_string))
        .or(conf.user)
}

/// The directory a driver chroots to: `-r`, then the global `chroot` of ups.conf.
pub fn chroot_dir(cli: &DriverCli, env: &crate::wiring::NutEnv) -> Option<String> {
    if let Some(dir) = &cli.chroot {
        return Some(dir.clone());
    }
    ups_conf(cli, env)?
        .globals
        .into_iter()
        .rev()
        .find(|(key, _)| key == "chroot")
        .and_then(|(_, value)| value)
}

/// ups.conf, for the settings main.c reads itself. Standalone (-s) drivers have none;
/// the wiring has read and checked the file already and reported its problems.
fn ups_conf(cli: &DriverCli, env: &crate::wiring::NutEnv) -> Option<nut_core::config::UpsConf> {
    cli.ups.as_ref()?;
    let text = std::fs::read(env.conf("ups.conf")).ok()?;
    Some(nut_core::config::parse_ups_conf(&env.conf("ups.conf"), &text).value)
}

/// What NUT's drivers do once configured, before they open the device
/// (`drivers/main.c`): look up the account [`run_as`] names, chroot to [`chroot_dir`],
/// then drop root for that account. The device, the data files and the state path are
/// then looked up inside the chroot and must be open to the account, as for NUT. Not
/// root: only checks that the account is ours already.
pub fn confine(cli: &DriverCli, env: &crate::wiring::NutEnv) -> Result<(), String> {
    let user = run_as(cli, env)
        .map(|name| crate::service::lookup_user(&name))
        .transpose()?;
    if let Some(dir) = chroot_dir(cli, env) {
        crate::service::chroot_start(&dir)?;
    }
    match user {
        Some(user) => crate::service::become_user(&user),
        None => Ok(()),
    }
}

/// A driver's start-up: goes to the background unless `-F`/`-D` (the parent exits once
/// the child serves), runs `daemon` on the one-thread runtime with the ready actions
/// (PID file), removes the PID file when it ends, and exits as NUT's drivers do.
pub fn serve_daemon<F, Fut>(
    cli: &DriverCli,
    pidfile: std::path::PathBuf,
    daemon: F,
) -> std::process::ExitCode
where
    F: FnOnce(crate::driver::Ready) -> Fut,
    Fut: std::future::Future<Output = std::io::Result<()>>,
{
    use crate::real::{background, is_background_child, ready_actions, runtime};
    if !cli.foreground() && !is_background_child() {
        return background();
    }
    if let Err(e) = confine(cli, &crate::real::nut_env()) {
        return exit(Err(e));
    }
    let ready = ready_actions(Some(pidfile.clone()));
    let result = runtime().and_then(|rt| rt.block_on(daemon(ready)));
    crate::service::remove_pidfile(&pidfile);
    exit(result.map_err(|e| e.to_string()))
}

/// `Ok` exits 0; an error prints NUT's `Fatal error: ...` and exits 1.
pub fn exit(result: Result<(), String>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            crate::real::fatal(&format!("Fatal error: {e}"));
            std::process::ExitCode::FAILURE
        }
    }
}
