//! Service life of the real daemons (never used in the simulation): users and
//! privileges, PID files that refuse a second instance, and systemd's notification
//! protocol (`READY=1`, `STOPPING=1`, `WATCHDOG=1`) without libsystemd.

use std::path::Path;
use std::time::Duration;

/// A system user from /etc/passwd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// User ID.
    pub uid: u32,
    /// Primary group ID.
    pub gid: u32,
}

/// Looks `name` up in a passwd file's text (`name:x:uid:gid:...`).
pub fn find_user(passwd: &str, name: &str) -> Option<User> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 4 || fields[0] != name {
            return None;
        }
        Some(User {
            name: name.to_string(),
            uid: fields[2].parse().ok()?,
            gid: fields[3].parse().ok()?,
        })
    })
}

/// `name` from /etc/passwd; the error is NUT's message.
pub fn lookup_user(name: &str) -> Result<User, String> {
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|e| format!("can't read /etc/passwd: {e}"))?;
    find_user(&passwd, name).ok_or_else(|| format!("user {name} not found"))
}

/// Enters `path` as the root directory (NUT's `chroot_start`: chdir, chroot, chdir /);
/// the error is NUT's message. Every path used afterwards is looked up inside it; the
/// system logger and systemd's notification socket are connected first, so that they
/// stay reachable (NUT opens its syslog connection before it chroots).
pub fn chroot_start(path: &str) -> Result<(), String> {
    crate::real::connect_syslog();
    connect_notify();
    let c_path = std::ffi::CString::new(path).map_err(|_| format!("chroot({path}): bad path"))?;
    std::env::set_current_dir(path).map_err(|e| format!("chdir({path}): {e}"))?;
    // SAFETY: a plain system call with a valid NUL-terminated path; its result is checked.
    if unsafe { libc::chroot(c_path.as_ptr()) } != 0 {
        return Err(format!(
            "chroot({path}): {}",
            std::io::Error::last_os_error()
        ));
    }
    std::env::set_current_dir("/").map_err(|e| format!("chdir(/): {e}"))?;
    Ok(())
}

/// The effective user ID of this process.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Drops root privileges to `user` (group list, group, then user), as NUT's
/// `become_user`. Without root there is nothing to drop, and, as NUT, nothing is done.
pub fn become_user(user: &User) -> Result<(), String> {
    if euid() != 0 {
        return Ok(());
    }
    // The user's groups from /etc/group as well (NUT's initgroups): a driver reaches
    // a serial port through `dialout`, a USB device through a udev rule's group.
    let name = std::ffi::CString::new(user.name.as_str())
        .map_err(|_| format!("initgroups: bad user name {}", user.name))?;
    // SAFETY: plain system calls with valid arguments; their results are checked.
    unsafe {
        if libc::initgroups(name.as_ptr(), user.gid as libc::gid_t) != 0 {
            return Err(format!("initgroups: {}", std::io::Error::last_os_error()));
        }
        if libc::setgid(user.gid) != 0 {
            return Err(format!("setgid: {}", std::io::Error::last_os_error()));
        }
        if libc::setuid(user.uid) != 0 {
            return Err(format!("setuid: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// Whether `pid` names a running process (not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .next()?
                .to_string();
            Some(state != "Z")
        })
        .unwrap_or(false)
}

/// Open files a daemon needs beside its clients' sockets: listeners, driver sockets,
/// the pidfile, syslog, zeroconf, metrics.
pub const FD_RESERVE: u64 = 64;

/// Raises the soft open-file limit (up to the hard one) so that `clients` sockets fit:
/// systemd starts services with a soft limit of 1024, below upsd's MAXCONN, and a
/// daemon that runs out accepts no one until a client leaves. Returns the limit now in
/// force and how many clients fit in it, when they are fewer than `clients`.
pub fn raise_fd_limit(clients: usize) -> Option<(u64, u64)> {
    let want = (clients as u64).saturating_add(FD_RESERVE);
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit struct, which `limit` is.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < want {
        let raised = libc::rlimit {
            rlim_cur: want.min(limit.rlim_max),
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads one rlimit struct; the soft limit stays within the
        // hard one, which an unprivileged process may always do.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = raised.rlim_cur;
        }
    }
    (limit.rlim_cur < want).then(|| (limit.rlim_cur, limit.rlim_cur.saturating_sub(FD_RESERVE)))
}

/// Refuses to start when `pidfile` names another live process (a second instance);
/// a stale file (dead PID, garbage) is fine and will be overwritten.
pub fn check_not_running(pidfile: &Path, program: &str) -> Result<(), String> {
    let Ok(text) = std::fs::read_to_string(pidfile) else {
        return Ok(());
    };
    match text.trim().parse::<u32>() {
        Ok(pid) if pid != std::process::id() && alive(pid) => Err(format!(
            "Fatal error: A previous {program} instance is already running! (PID {pid} in {})",
            pidfile.display()
        )),
        _ => Ok(()),
    }
}

/// Removes `pidfile` at exit if it still names this process (another instance may
/// have taken it over).
pub fn remove_pidfile(pidfile: &Path) {
    let ours = std::fs::read_to_string(pidfile)
        .ok()
        .is_some_and(|text| text.trim() == std::process::id().to_string());
    if ours {
        let _ = std::fs::remove_file(pidfile);
    }
}

/// Sends a state line to systemd (`NOTIFY_SOCKET`), if we run under it.
pub fn sd_notify(state: &str) {
    if let Some(Some(socket)) = NOTIFY.get() {
        if socket.send(state.as_bytes()).is_ok() {
            return;
        }
    }
    let Some(addr) = notify_addr() else {
        return;
    };
    if let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() {
        let _ = socket.send_to_addr(state.as_bytes(), &addr);
    }
}

/// systemd's notification socket (`NOTIFY_SOCKET`: a path, or `@name` for an abstract
/// address), if this process has one.
fn notify_addr() -> Option<std::os::unix::net::SocketAddr> {
    let path = std::env::var_os("NOTIFY_SOCKET")?;
    let bytes = path.as_encoded_bytes();
    match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name).ok()
        }
        None => std::os::unix::net::SocketAddr::from_pathname(Path::new(&path)).ok(),
    }
}

/// systemd's notification socket connected once, before a chroot ([`chroot_start`]).
static NOTIFY: std::sync::OnceLock<Option<std::os::unix::net::UnixDatagram>> =
    std::sync::OnceLock::new();

/// Connects to systemd's notification socket now, so that [`sd_notify`] (READY,
/// STOPPING, the watchdog) still reaches it from inside a chroot.
fn connect_notify() {
    NOTIFY.get_or_init(|| {
        let addr = notify_addr()?;
        let socket = std::os::unix::net::UnixDatagram::unbound().ok()?;
        socket.connect_addr(&addr).ok()?;
        Some(socket)
    });
}

/// The watchdog period systemd asks for (`WATCHDOG_USEC`), if any; pings go out at
/// half of it.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// Sends `WATCHDOG=1` every [`watchdog_interval`] from the daemon's own runtime, so a
/// stuck event loop stops the pings. Call inside the runtime.
pub fn spawn_watchdog() {
    if let Some(every) = watchdog_interval() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                sd_notify("WATCHDOG=1");
            }
        });
    }
}

/// The ready actions of a daemon that listens: PID file, privileges, readiness to the
/// background parent and to systemd. A failed privilege drop ends the process (never
/// serve as root when asked not to).
pub fn on_ready(
    program: &'static str,
    pidfile: Option<std::path::PathBuf>,
    user: Option<User>,
) -> crate::driver::Ready {
    Some(Box::new(move || {
        if let Some(pidfile) = &pidfile {
            crate::confload::write_pidfile(pidfile);
        }
        if let Some(user) = &user {
            if let Err(e) = become_user(user) {
                eprintln!("Fatal error: {program}: {e}");
                std::process::exit(1);
            }
        }
        if let Some(ready) = crate::real::ready_actions(None) {
            ready();
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_found_in_passwd_text() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nnut:x:112:118::/var/lib/nut:/usr/sbin/nologin\nbroken\n";
        assert_eq!(
            find_user(passwd, "nut"),
            Some(User {
                name: "nut".into(),
                uid: 112,
                gid: 118
            })
        );
        assert_eq!(find_user(passwd, "nobody"), None);
        assert_eq!(find_user(passwd, "broken"), None);
    }

    #[test]
    fn a_stale_pidfile_does_not_block_a_start() {
        let dir = std::env::temp_dir().join(format!("svc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("x.pid");
        assert!(check_not_running(&file, "x").is_ok(), "no file");
        std::fs::write(&file, "not a pid\n").unwrap();
        assert!(check_not_running(&file, "x").is_ok(), "garbage");
        std::fs::write(&file, format!("{}\n", std::process::id())).unwrap();
        assert!(check_not_running(&file, "x").is_ok(), "our own PID");
        // PID 1 is always alive.
        std::fs::write(&file, "1\n").unwrap();
        let err = check_not_running(&file, "x").unwrap_err();
        assert!(err.contains("already running"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
