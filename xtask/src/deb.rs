//! `cargo xtask deb [--check]`: the Debian package `nut-rs`.
//!
//! It installs every binary where Debian's NUT packages install the same program
//! (`/lib/nut`, `/sbin`, `/bin`; `/sbin/upsd` links to `/lib/nut/upsd` as there), the
//! systemd units and the late-shutdown hook, man pages (programs from their clap
//! definitions, config files from `nut_bins::manual`, NUT's section numbers), bash, zsh
//! and fish completions, sample `/etc/nut` files as conffiles, and the `nut` system user
//! and `/run/nut` on installation, and udev rules opening every USB unit a driver drives
//! to the nut group. It Conflicts with and Replaces NUT's packages.
//! Built with `dpkg-deb` from a staged tree (no cargo-deb: nothing to install).
//!
//! `--check` then verifies the package's control fields, conffiles and file list, and
//! runs lintian, failing on any error or warning not overridden (with a reason) below.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The package name.
pub const PACKAGE: &str = "nut-rs";
/// Debian revision of the package.
const REVISION: &str = "1";
/// NUT's packages this one replaces.
const REPLACES: &str = "nut, nut-client, nut-server, nut-snmp";
/// Config files installed in /etc/nut (from nut-bins/dist/etc), with their modes:
/// the two that hold passwords are not world-readable, as in NUT's packages.
const CONFFILES: &[(&str, u32)] = &[
    ("nut.conf", 0o644),
    ("ups.conf", 0o644),
    ("upsd.conf", 0o644),
    ("upsd.users", 0o640),
    ("upsmon.conf", 0o640),
    ("upssched.conf", 0o644),
];
/// Lintian tags accepted, each with the reason.
const LINTIAN_OVERRIDES: &[(&str, &str)] = &[
    (
        "non-standard-file-perm 0640 != 0644 [etc/nut/upsd.users]",
        "holds passwords; group nut reads it (set in postinst), as NUT's package does",
    ),
    (
        "non-standard-file-perm 0640 != 0644 [etc/nut/upsmon.conf]",
        "holds the upsmon password; as NUT's package does",
    ),
    (
        "initial-upload-closes-no-bugs",
        "built by cargo xtask deb, not uploaded to the Debian archive",
    ),
    (
        "systemd-service-file-refers-to-unusual-wantedby-target nut-driver.target [lib/systemd/system/nut-driver@.service]",
        "NUT's own units group drivers under nut-driver.target",
    ),
    (
        "systemd-service-file-refers-to-unusual-wantedby-target nut.target [lib/systemd/system/nut-monitor.service]",
        "NUT's own units group the daemons under nut.target",
    ),
    (
        "systemd-service-file-refers-to-unusual-wantedby-target nut.target [lib/systemd/system/nut-server.service]",
        "NUT's own units group the daemons under nut.target",
    ),
];

fn version() -> String {
    format!("{}-{REVISION}", env!("CARGO_PKG_VERSION"))
}

fn arch() -> Result<String, String> {
    let out = Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .map_err(|e| format!("dpkg --print-architecture: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn write(path: &Path, data: &[u8], mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, data).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn gzip(data: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("gzip: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("gzip stdin")?
        .write_all(data)
        .map_err(|e| format!("gzip: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("gzip: {e}"))?;
    if !out.status.success() {
        return Err("gzip failed".into());
    }
    Ok(out.stdout)
}

fn program_page(program: &nut_bins::cli::Program) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    clap_mangen::Man::new(program.command.clone())
        .section(program.section)
        .manual("NUT Manual")
        .source(format!("nut-rs {}", env!("CARGO_PKG_VERSION")))
        .render(&mut out)
        .map_err(|e| format!("man page of {}: {e}", program.name))?;
    Ok(out)
}

const CONTROL_DESCRIPTION: &str = "Network UPS Tools in Rust: drivers, upsd, upsmon, clients
 A drop-in implementation of Network UPS Tools (NUT) 2.8.0: the drivers
 dummy-ups, nutdrv_qx, apcsmart, usbhid-ups (APC and CyberPower units)
 and snmp-ups (SNMP v1/v2c/v3 cards), the data server upsd, the shutdown
 controller upsmon, upssched, upsdrvctl, nut-scanner (-U, -E) and the
 clients upsc, upscmd, upsrw and upslog.
 It reads NUT's configuration files unchanged and speaks NUT's network
 protocol, so NUT's clients and Home Assistant work with it.
 .
 Also included: Prometheus metrics (upsd --metrics, nut-exporter),
 zeroconf announcements, and nut-notify (webhooks, ntfy, MQTT).";

/// The AppStream metadata file: the USB units the drivers claim, as modaliases.
const METAINFO: &str = "org.networkupstools.nut-rs.metainfo.xml";

/// AppStream metadata naming every USB unit a driver claims (what lintian asks of a
/// package with udev rules for hardware).
fn metainfo() -> String {
    let mut provides = String::new();
    for alias in nut_core::scan::usb_modaliases() {
        provides.push_str(&format!("    <modalias>{alias}</modalias>\n"));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <component type=\"generic\">\n\
         \x20 <id>org.networkupstools.nut-rs</id>\n\
         \x20 <metadata_license>FSFAP</metadata_license>\n\
         \x20 <project_license>GPL-2.0-or-later</project_license>\n\
         \x20 <name>{PACKAGE}</name>\n\
         \x20 <summary>UPS drivers, data server and shutdown monitor (Network UPS Tools)</summary>\n\
         \x20 <provides>\n{provides}  </provides>\n\
         </component>\n"
    )
}

/// The udev rules file (NUT's name: this package replaces NUT's).
const UDEV_RULES: &str = "62-nut-usbups.rules";

const POSTINST: &str = r#"#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if ! getent passwd nut >/dev/null; then
        adduser --system --group --home /var/lib/nut --no-create-home \
            --gecos "Network UPS Tools" nut >/dev/null
    fi
    for f in /etc/nut/upsd.users /etc/nut/upsmon.conf; do
        if [ -f "$f" ] && ! dpkg-statoverride --list "$f" >/dev/null; then
            chgrp nut "$f"
        fi
    done
    if [ -d /run/systemd/system ] && command -v systemd-tmpfiles >/dev/null; then
        systemd-tmpfiles --create nut-rs.conf || true
    fi
    # Apply the USB rules to units already plugged in (as Debian's nut-server).
    if command -v udevadm >/dev/null && pidof systemd-udevd >/dev/null; then
        udevadm trigger --subsystem-match=usb --action=change || true
    fi
fi
#DEBHELPER#
"#;

fn copyright() -> String {
    format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
         Upstream-Name: {PACKAGE}\n\
         Source: https://github.com/nut-rs/nut-rs\n\n\
         Files: *\n\
         Copyright: 2026 The nut-rs developers\n\
         License: GPL-2+\n\n\
         License: GPL-2+\n \
         This program is free software; you can redistribute it and/or modify\n \
         it under the terms of the GNU General Public License as published by\n \
         the Free Software Foundation; either version 2 of the License, or\n \
         (at your option) any later version.\n \
         .\n \
         On Debian systems, the complete text of the GNU General Public License\n \
         version 2 can be found in \"/usr/share/common-licenses/GPL-2\".\n"
    )
}

fn changelog() -> String {
    format!(
        "{PACKAGE} ({}) unstable; urgency=medium\n\n  * Package built by cargo xtask deb.\n\n -- nut-rs developers <nut-rs@users.noreply.github.com>  Mon, 30 Nov 2026 00:00:00 +0000\n",
        version()
    )
}

/// Builds the package; returns its path.
pub fn build(root: &Path) -> Result<PathBuf, String> {
    crate::bench::release_build(root)?;
    let arch = arch()?;
    let name = format!("{PACKAGE}_{}_{arch}", version());
    let out_dir = root.join("target/deb");
    let stage = out_dir.join(&name);
    let _ = std::fs::remove_dir_all(&stage);
    let release = root.join("target/release");
    let programs = nut_bins::cli::programs();
    for program in &programs {
        let dest = stage
            .join(program.dir.trim_start_matches('/'))
            .join(program.name);
        let data = std::fs::read(release.join(program.name))
            .map_err(|e| format!("target/release/{}: {e}", program.name))?;
        write(&dest, &data, 0o755)?;
        crate::run(
            Command::new("strip")
                .args([
                    "--strip-unneeded",
                    "--remove-section=.comment",
                    "--remove-section=.note",
                ])
                .arg(&dest),
        )?;
        let page = gzip(&program_page(program)?)?;
        write(
            &stage.join(format!(
                "usr/share/man/man{0}/{1}.{0}.gz",
                program.section, program.name
            )),
            &page,
            0o644,
        )?;
        for (shell, path) in [
            (
                clap_complete::Shell::Bash,
                format!("usr/share/bash-completion/completions/{}", program.name),
            ),
            (
                clap_complete::Shell::Zsh,
                format!("usr/share/zsh/vendor-completions/_{}", program.name),
            ),
            (
                clap_complete::Shell::Fish,
                format!("usr/share/fish/vendor_completions.d/{}.fish", program.name),
            ),
        ] {
            let mut command = program.command.clone();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, program.name, &mut script);
            write(&stage.join(path), &script, 0o644)?;
        }
    }
    std::os::unix::fs::symlink("/lib/nut/upsd", stage.join("sbin/upsd"))
        .map_err(|e| format!("sbin/upsd: {e}"))?;
    for page in nut_bins::manual::CONFIG_PAGES {
        let text = nut_bins::manual::config_page(page, env!("CARGO_PKG_VERSION"));
        write(
            &stage.join(format!("usr/share/man/man5/{}.5.gz", page.file)),
            &gzip(text.as_bytes())?,
            0o644,
        )?;
    }
    let dist = root.join("nut-bins/dist");
    for unit in std::fs::read_dir(dist.join("systemd")).map_err(|e| e.to_string())? {
        let unit = unit.map_err(|e| e.to_string())?.path();
        let data = std::fs::read(&unit).map_err(|e| e.to_string())?;
        let file = unit.file_name().ok_or("unit name")?.to_string_lossy();
        write(&stage.join("lib/systemd/system").join(&*file), &data, 0o644)?;
    }
    let hook = std::fs::read(dist.join("nutshutdown")).map_err(|e| e.to_string())?;
    write(
        &stage.join("lib/systemd/system-shutdown/nutshutdown"),
        &hook,
        0o755,
    )?;
    // NUT's rules file name: the package replaces NUT's, and the drivers, dropping root
    // for the nut account (the sample ups.conf's `user`), still open their units.
    write(
        &stage.join(format!("lib/udev/rules.d/{UDEV_RULES}")),
        nut_core::scan::udev_rules("nut").as_bytes(),
        0o644,
    )?;
    write(
        &stage.join(format!("usr/share/metainfo/{METAINFO}")),
        metainfo().as_bytes(),
        0o644,
    )?;
    write(
        &stage.join("usr/lib/tmpfiles.d/nut-rs.conf"),
        b"# State path of the NUT daemons (driver sockets, PID files).\nd /run/nut 0770 root nut - -\n",
        0o644,
    )?;
    let mut conffiles = String::new();
    for (file, mode) in CONFFILES {
        let data = std::fs::read(dist.join("etc").join(file)).map_err(|e| e.to_string())?;
        write(&stage.join("etc/nut").join(file), &data, *mode)?;
        conffiles.push_str(&format!("/etc/nut/{file}\n"));
    }
    let doc = stage.join(format!("usr/share/doc/{PACKAGE}"));
    write(&doc.join("copyright"), copyright().as_bytes(), 0o644)?;
    write(
        &doc.join("changelog.Debian.gz"),
        &gzip(changelog().as_bytes())?,
        0o644,
    )?;
    let overrides: String = LINTIAN_OVERRIDES
        .iter()
        .map(|(tag, why)| format!("# {why}\n{PACKAGE}: {tag}\n"))
        .collect();
    write(
        &stage.join(format!("usr/share/lintian/overrides/{PACKAGE}")),
        overrides.as_bytes(),
        0o644,
    )?;
    let size_kb = du_kb(&stage)?;
    let control = format!(
        "Package: {PACKAGE}\nVersion: {}\nArchitecture: {arch}\nMaintainer: nut-rs developers <nut-rs@users.noreply.github.com>\n\
         Installed-Size: {size_kb}\nDepends: libc6 (>= 2.34), libgcc-s1 (>= 4.2), adduser\n\
         Conflicts: {REPLACES}\nReplaces: {REPLACES}\nProvides: nut-client, nut-server\n\
         Section: admin\nPriority: optional\nHomepage: https://networkupstools.org/\n\
         Description: {CONTROL_DESCRIPTION}\n",
        version()
    );
    let debian = stage.join("DEBIAN");
    write(&debian.join("control"), control.as_bytes(), 0o644)?;
    write(&debian.join("conffiles"), conffiles.as_bytes(), 0o644)?;
    write(
        &debian.join("postinst"),
        POSTINST.replace("#DEBHELPER#\n", "").as_bytes(),
        0o755,
    )?;
    write(&debian.join("md5sums"), md5sums(&stage)?.as_bytes(), 0o644)?;
    let deb = out_dir.join(format!("{name}.deb"));
    crate::run(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(&stage)
            .arg(&deb),
    )?;
    Ok(deb)
}

fn du_kb(dir: &Path) -> Result<u64, String> {
    let out = Command::new("du")
        .args(["-sk", "--apparent-size"])
        .arg(dir)
        .output()
        .map_err(|e| format!("du: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| "du gave no size".to_string())
}

fn md5sums(stage: &Path) -> Result<String, String> {
    let out = Command::new("sh")
        .current_dir(stage)
        .args([
            "-c",
            "find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\\./||' | LC_ALL=C sort | xargs md5sum",
        ])
        .output()
        .map_err(|e| format!("md5sum: {e}"))?;
    if !out.status.success() {
        return Err("md5sum failed".into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Checks the built package: control fields, conffiles, the file list, lintian.
pub fn check(root: &Path, deb: &Path) -> Result<(), String> {
    let field = |name: &str| -> Result<String, String> {
        let out = Command::new("dpkg-deb")
            .args(["--field"])
            .arg(deb)
            .arg(name)
            .output()
            .map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let mut problems = Vec::new();
    for (name, want) in [("Conflicts", REPLACES), ("Replaces", REPLACES)] {
        let got = field(name)?;
        if got != want {
            problems.push(format!("{name}: {got:?}, expected {want:?}"));
        }
    }
    let listing = Command::new("dpkg-deb")
        .arg("--contents")
        .arg(deb)
        .output()
        .map_err(|e| e.to_string())?;
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    let has = |path: &str| {
        listing
            .lines()
            .any(|l| l.split_whitespace().nth(5) == Some(&format!(".{path}")))
    };
    let mut wanted: Vec<String> = Vec::new();
    for program in nut_bins::cli::programs() {
        wanted.push(format!("{}/{}", program.dir, program.name));
        wanted.push(format!(
            "/usr/share/man/man{0}/{1}.{0}.gz",
            program.section, program.name
        ));
        wanted.push(format!(
            "/usr/share/bash-completion/completions/{}",
            program.name
        ));
    }
    for page in nut_bins::manual::CONFIG_PAGES {
        wanted.push(format!("/usr/share/man/man5/{}.5.gz", page.file));
    }
    for unit in [
        "nut-server.service",
        "nut-monitor.service",
        "nut-driver@.service",
        "nut.target",
    ] {
        wanted.push(format!("/lib/systemd/system/{unit}"));
    }
    wanted.push("/lib/systemd/system-shutdown/nutshutdown".into());
    wanted.push(format!("/lib/udev/rules.d/{UDEV_RULES}"));
    wanted.push(format!("/usr/share/metainfo/{METAINFO}"));
    wanted.push("/sbin/upsd".into());
    for path in &wanted {
        if !has(path) {
            problems.push(format!("{path} is not in the package"));
        }
    }
    let conffiles = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "dpkg-deb --ctrl-tarfile {} | tar -xO ./conffiles",
            deb.display()
        ))
        .output()
        .map_err(|e| e.to_string())?;
    let conffiles = String::from_utf8_lossy(&conffiles.stdout).into_owned();
    for (file, _) in CONFFILES {
        if !conffiles.lines().any(|l| l == format!("/etc/nut/{file}")) {
            problems.push(format!("/etc/nut/{file} is not a conffile"));
        }
    }
    // The sample files must be what our own parsers accept without errors.
    let etc = root.join("nut-bins/dist/etc");
    for (file, _) in CONFFILES {
        let text = std::fs::read(etc.join(file)).map_err(|e| e.to_string())?;
        let errors = nut_bins::confload::errors_in(file, &text);
        problems.extend(errors.into_iter().map(|e| format!("sample {file}: {e}")));
    }
    if !Path::new("/usr/bin/lintian").exists() {
        problems.push(
            "lintian is not installed (apt-get install lintian; ci/install-peers.sh does)".into(),
        );
    } else {
        let out = Command::new("lintian")
            .args(["--fail-on", "error,warning", "--tag-display-limit", "0"])
            .arg(deb)
            .output()
            .map_err(|e| format!("lintian: {e}"))?;
        let report = String::from_utf8_lossy(&out.stdout);
        print!("{report}");
        if !out.status.success() {
            problems.push(format!(
                "lintian failed:\n{report}{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    if problems.is_empty() {
        println!(
            "deb: {} checked ({} files, lintian clean)",
            deb.display(),
            listing.lines().count()
        );
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
