//! A throw-away NUT installation for tests: its own config, state and PID directories,
//! daemons on 127.0.0.1 with free ports, started by path and stopped by PID.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A lab directory tree; every process started through it is killed on drop.
pub struct Lab {
    pub root: PathBuf,
    children: Vec<(String, Child)>,
    /// PID files of daemons the test started in the background (through upsdrvctl);
    /// on drop, the PIDs they name are killed if still alive.
    adopted: Vec<PathBuf>,
    /// PIDs of processes the test's own processes started (upsmon's monitoring child).
    adopted_pids: Vec<u32>,
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Path of one of our binaries.
pub fn bin(name: &str) -> PathBuf {
    let exe = match name {
        "dummy-ups" => env!("CARGO_BIN_EXE_dummy-ups"),
        "upsd" => env!("CARGO_BIN_EXE_upsd"),
        "upsmon" => env!("CARGO_BIN_EXE_upsmon"),
        "upsc" => env!("CARGO_BIN_EXE_upsc"),
        "upscmd" => env!("CARGO_BIN_EXE_upscmd"),
        "upsrw" => env!("CARGO_BIN_EXE_upsrw"),
        "upslog" => env!("CARGO_BIN_EXE_upslog"),
        "upssched" => env!("CARGO_BIN_EXE_upssched"),
        "upsdrvctl" => env!("CARGO_BIN_EXE_upsdrvctl"),
        "nutdrv_qx" => env!("CARGO_BIN_EXE_nutdrv_qx"),
        "apcsmart" => env!("CARGO_BIN_EXE_apcsmart"),
        "usbhid-ups" => env!("CARGO_BIN_EXE_usbhid-ups"),
        "snmp-ups" => env!("CARGO_BIN_EXE_snmp-ups"),
        "nut-scanner" => env!("CARGO_BIN_EXE_nut-scanner"),
        other => panic!("unknown binary {other}"),
    };
    PathBuf::from(exe)
}

impl Lab {
    pub fn new(tag: &str) -> Lab {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let root = std::env::temp_dir().join(format!("nut-rs-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("state")).unwrap();
        Lab {
            root,
            children: Vec::new(),
            adopted: Vec::new(),
            adopted_pids: Vec::new(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A daemon started in the background by a test (through upsdrvctl): killed on
    /// drop by the PID in `pidfile`, if it is still running.
    pub fn adopt_pidfile(&mut self, pidfile: PathBuf) {
        self.adopted.push(pidfile);
    }

    /// A process one of ours started (killed on drop if still alive).
    pub fn adopt_pid(&mut self, pid: u32) {
        self.adopted_pids.push(pid);
    }

    /// Starts `program` with NUT_CONFPATH=`root/confdir`, shared state dir, own PID dir.
    /// Our daemons go to the background by default, like NUT's; here they get `-F` so
    /// the test keeps the process it started.
    pub fn spawn(&mut self, label: &str, program: &Path, confdir: &str, args: &[&str]) -> u32 {
        self.spawn_env(label, program, confdir, args, &[])
    }

    /// [`Lab::spawn`] with extra environment variables.
    pub fn spawn_env(
        &mut self,
        label: &str,
        program: &Path,
        confdir: &str,
        args: &[&str],
        envs: &[(&str, String)],
    ) -> u32 {
        let piddir = self.path(&format!("pid-{label}"));
        std::fs::create_dir_all(&piddir).unwrap();
        let log = std::fs::File::create(self.path(&format!("{label}.log"))).unwrap();
        let mut args: Vec<&str> = args.to_vec();
        let daemon =
            [bin("dummy-ups"), bin("upsd"), bin("upsmon")].contains(&program.to_path_buf());
        let asks = |flag: &str| {
            args.iter()
                .any(|a| a.starts_with('-') && !a.starts_with("--") && a.contains(flag))
        };
        let foreground = daemon && !asks("F") && !asks("c") && !asks("K") && !asks("k");
        // Tests do not announce upsd on the network unless they test that (zeroconf.rs).
        let quiet =
            program == bin("upsd") && !args.iter().any(|a| a.contains("zeroconf")) && !asks("c");
        if foreground {
            args.insert(0, "-F");
        }
        if quiet {
            args.insert(0, "--no-zeroconf");
        }
        let child = Command::new(program)
            .args(&args)
            .env("NUT_CONFPATH", self.path(confdir))
            .env("NUT_STATEPATH", self.path("state"))
            .env("NUT_ALTPIDPATH", piddir)
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let pid = child.id();
        self.children.push((label.to_string(), child));
        pid
    }

    pub fn log(&self, label: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{label}.log"))).unwrap_or_default()
    }

    /// Stops one process we started, by label.
    pub fn stop(&mut self, label: &str) {
        if let Some(pos) = self.children.iter().position(|(l, _)| l == label) {
            let (_, mut child) = self.children.remove(pos);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// True if the labelled process is still running.
    pub fn running(&mut self, label: &str) -> bool {
        self.children
            .iter_mut()
            .find(|(l, _)| l == label)
            .is_some_and(|(_, c)| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for pid in &self.adopted_pids {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        for pidfile in &self.adopted {
            let pid = std::fs::read_to_string(pidfile)
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok());
            if let Some(pid) = pid {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// Polls `probe` every 100 ms until it returns `Some`, at most `limit`.
pub fn wait_for<T>(limit: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends raw request bytes to upsd and reads replies until `expect_lines` lines arrived
/// or 5 s passed.
pub fn exchange(port: u16, request: &[u8], expect_lines: usize) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    if stream.write_all(request).is_err() {
        return String::new();
    }
    let mut out = Vec::new();
    let start = Instant::now();
    while out.iter().filter(|&&b| b == b'\n').count() < expect_lines
        && start.elapsed() < Duration::from_secs(5)
    {
        let mut buf = [0u8; 4096];
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs a command and returns (exit code, stdout, stderr).
pub fn run(program: &Path, args: &[&str], envs: &[(&str, &Path)]) -> (i32, String, String) {
    let out = Command::new(program)
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, *v)))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether we run as root (Debian's daemons then need `-u root` to keep our lab's
/// directories writable).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|uid| uid == "0"))
        .unwrap_or(false)
}

/// Config for a upsd of its own (no driver running, no users) on a free port of
/// 127.0.0.1; returns the port.
pub fn configure_lone_upsd(lab: &Lab) -> u16 {
    let port = free_port();
    lab.write(
        "etc/ups.conf",
        "[u]\n\tdriver = dummy-ups\n\tport = u.dev\n",
    );
    lab.write("etc/upsd.conf", &format!("LISTEN 127.0.0.1 {port}\n"));
    lab.write("etc/upsd.users", "");
    port
}

/// A lab with dummy-ups and upsd serving UPS `dummy` from `test.dev`; returns the port.
pub fn start_server(lab: &mut Lab, dev: &str) -> u16 {
    start_server_with(lab, dev, &bin("dummy-ups"), &bin("upsd"), &[])
}

/// Like [`start_server`], with other dummy-ups and upsd programs (e.g. Debian's) and
/// extra arguments for both (e.g. `-F`).
pub fn start_server_with(
    lab: &mut Lab,
    dev: &str,
    dummy: &Path,
    upsd: &Path,
    extra: &[&str],
) -> u16 {
    let port = free_port();
    lab.write(
        "etc/ups.conf",
        "[dummy]\n\tdriver = dummy-ups\n\tport = test.dev\n\tdesc = \"Test UPS\"\n",
    );
    lab.write("etc/test.dev", dev);
    lab.write(
        "etc/upsd.conf",
        &format!("LISTEN 127.0.0.1 {port}\nMAXAGE 15\n"),
    );
    lab.write(
        "etc/upsd.users",
        "[admin]\n\tpassword = adminpass\n\tactions = SET FSD\n\tinstcmds = ALL\n\
         [monprimary]\n\tpassword = pp\n\tupsmon primary\n\
         [monsecondary]\n\tpassword = sp\n\tupsmon secondary\n",
    );
    let mut dummy_args = vec!["-a", "dummy"];
    dummy_args.extend_from_slice(extra);
    lab.spawn("dummy-ups", dummy, "etc", &dummy_args);
    lab.spawn("upsd", upsd, "etc", extra);
    wait_for(
        Duration::from_secs(15),
        "upsd to serve the dummy UPS",
        || {
            // Right after upsd connects to the driver, ups.status is "WAIT" until the
            // driver's dump arrives: wait for the real status.
            let reply = exchange(port, b"GET VAR dummy ups.status\n", 1);
            (reply.starts_with("VAR dummy ups.status") && !reply.contains("WAIT")).then_some(())
        },
    );
    port
}

/// Runs `cmd` to completion with its output captured; kills it (by the PID it started)
/// and fails the test if it runs longer than `limit`.
pub fn output_within(mut cmd: Command, limit: Duration) -> std::process::Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: kill(2) on the PID of the child this function started.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("{cmd:?} ran longer than {limit:?}")
        }
    }
}
