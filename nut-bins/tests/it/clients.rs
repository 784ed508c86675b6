//! upscmd, upsrw and upslog: ours against our upsd + dummy-ups with exact output, and
//! interop with Debian's NUT 2.8.0 (their clients against our upsd, ours against their
//! upsd, both against a scripted upsd for ENUM/RANGE variables). Interop tests skip
//! outside CI when Debian's packages are missing (see `peer`).

use crate::interop::peer;
use crate::lab::{bin, exchange, is_root, run, start_server, start_server_with, wait_for, Lab};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DEV: &str = "battery.charge: 100\nups.status: OL CHRG\nups.mfr: ACME\n";

/// (exit code, stdout, stderr without 2.8.0's "Init SSL" noise line).
fn run_clean(program: &Path, args: &[&str]) -> (i32, String, String) {
    let (code, out, err) = run(program, args, &[]);
    let err: String = err
        .split_inclusive('\n')
        .map(|l| l.replace("Init SSL without certificate database", ""))
        .filter(|l| !l.is_empty())
        .collect();
    (code, out, err)
}

#[test]
fn upscmd_lists_runs_and_reports_errors_like_nut() {
    let mut lab = Lab::new("upscmd");
    let port = start_server(&mut lab, DEV);
    let ups = format!("dummy@127.0.0.1:{port}");
    let upscmd = bin("upscmd");
    assert_eq!(
        run_clean(&upscmd, &["-l", &ups]),
        (
            0,
            "Instant commands supported on UPS [dummy]:\n\nload.off - Turn off the load immediately\n"
                .to_string(),
            String::new()
        )
    );
    let admin = ["-u", "admin", "-p", "adminpass"];
    let with = |extra: &[&str]| -> Vec<String> {
        admin
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    let call = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_clean(&upscmd, &args)
    };
    assert_eq!(
        call(with(&[&ups, "load.off"])),
        (0, String::new(), "OK\n".to_string())
    );
    // dummy-ups answers every command "unknown"; NUT 2.8.0 prints it and exits 0.
    assert_eq!(
        call(with(&["-w", &ups, "load.off"])),
        (0, String::new(), "ERR UNKNOWN\n".to_string())
    );
    assert_eq!(
        call(with(&[&ups, "no.such"])),
        (
            1,
            String::new(),
            "Unexpected response from upsd: ERR CMD-NOT-SUPPORTED\n".to_string()
        )
    );
    assert_eq!(
        run_clean(&upscmd, &["-u", "admin", "-p", "wrong", &ups, "load.off"]),
        (
            1,
            String::new(),
            "Unexpected response from upsd: ERR ACCESS-DENIED\n".to_string()
        )
    );
    assert_eq!(
        call(with(&[&ups, "nodot"])),
        (
            1,
            String::new(),
            "Error: old command names are not supported\n".to_string()
        )
    );
    let (code, out, _) = run_clean(&upscmd, &[&ups, "load.off"]);
    assert_eq!((code, out.as_str()), (1, ""), "missing -u/-p is an error");
    let (code, out, err) = run_clean(&upscmd, &["-l", &format!("nosuch@127.0.0.1:{port}")]);
    assert_eq!(
        (code, out, err),
        (1, String::new(), "Error: Unknown UPS\n".to_string())
    );
    let (code, out, _) = run_clean(&upscmd, &[]);
    assert_eq!(code, 0);
    assert!(out.starts_with("Network UPS Tools upscmd 2.8.0\n\nusage: upscmd [-h]\n"));
}

#[test]
fn upsrw_lists_blocks_and_sets_like_nut() {
    let mut lab = Lab::new("upsrw");
    let port = start_server(&mut lab, DEV);
    let ups = format!("dummy@127.0.0.1:{port}");
    let upsrw = bin("upsrw");
    let listing = |mfr: &str| {
        format!(
            "[battery.charge]\nBattery charge (percent of full)\nType: NUMBER\nValue: 100\n\n\
             [ups.mfr]\nUPS manufacturer\nType: STRING\nMaximum length: 32\nValue: {mfr}\n\n\
             [ups.model]\nUPS model\nType: STRING\nMaximum length: 32\nValue: Dummy UPS\n\n\
             [ups.status]\nUPS status\nType: STRING\nMaximum length: 32\nValue: OL CHRG\n\n"
        )
    };
    assert_eq!(
        run_clean(&upsrw, &[&ups]),
        (0, listing("ACME"), String::new())
    );
    let set = |spec: &str, extra: &[&str]| {
        let mut args = vec!["-s", spec, "-u", "admin", "-p", "adminpass"];
        args.extend_from_slice(extra);
        args.push(&ups);
        run_clean(&upsrw, &args)
    };
    assert_eq!(
        set("ups.mfr=New Corp", &["-w"]),
        (0, String::new(), "SUCCESS\n".to_string())
    );
    wait_for(Duration::from_secs(10), "the new ups.mfr", || {
        (run_clean(&upsrw, &[&ups]).1 == listing("New Corp")).then_some(())
    });
    assert_eq!(
        set("ups.mfr=ACME", &[]),
        (0, String::new(), "OK\n".to_string())
    );
    assert_eq!(
        set("no.such=1", &[]),
        (
            1,
            String::new(),
            "Unexpected response from upsd: ERR VAR-NOT-SUPPORTED\n".to_string()
        )
    );
    assert_eq!(
        set("nodot=1", &[]),
        (
            1,
            String::new(),
            "Error: old variable names are not supported\n".to_string()
        )
    );
    assert_eq!(
        run_clean(&upsrw, &[&format!("nosuch@127.0.0.1:{port}")]),
        (1, String::new(), "Error: Unknown UPS\n".to_string())
    );
}

#[test]
fn upslog_writes_nut_lines_and_stops_after_count() {
    let mut lab = Lab::new("upslog");
    let port = start_server(&mut lab, DEV);
    let ups = format!("dummy@127.0.0.1:{port}");
    let upslog = bin("upslog");
    let format = "%VAR battery.charge% [%VAR ups.status%] %VAR no.such% %VAR nodot% %UPSHOST% %% %FOO%|%PIDx%";
    let (code, out, _) = run_clean(
        &upslog,
        &["-s", &ups, "-l", "-", "-i", "1", "-d", "2", "-f", format],
    );
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0], "Network UPS Tools upslog 2.8.0");
    assert_eq!(
        lines[1],
        format!("logging status of {ups} to - (1s intervals)")
    );
    let pid = lines[2].rsplit('|').next().unwrap();
    assert!(pid.parse::<u32>().is_ok(), "{out}");
    let expected = format!("100 [OL CHRG] NA INVALID {ups} % INVALID|{pid}");
    assert_eq!(lines[2], expected);
    assert_eq!(lines[3], expected);

    // Default format: time stamp then the values; -m tuples write into files.
    let file_a = lab.path("a.log");
    let file_b = lab.path("b.log");
    let tuple_a = format!("{ups},{}", file_a.display());
    let tuple_b = format!("nosuch@127.0.0.1:{port},{}", file_b.display());
    let (code, out, _) = run_clean(
        &upslog,
        &["-m", &tuple_a, "-m", &tuple_b, "-i", "1", "-d", "1"],
    );
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3, "{out}");
    let a = std::fs::read_to_string(&file_a).unwrap();
    let (stamp, rest) = a.split_at(15);
    assert!(
        stamp.len() == 15
            && stamp.as_bytes()[8] == b' '
            && stamp
                .bytes()
                .enumerate()
                .all(|(i, b)| i == 8 || b.is_ascii_digit()),
        "{a}"
    );
    assert_eq!(rest, " 100 NA NA [OL CHRG] NA NA\n");
    let b = std::fs::read_to_string(&file_b).unwrap();
    assert_eq!(&b[15..], " NA NA NA [NA] NA NA\n");
}

#[test]
fn debian_upscmd_and_upsrw_print_what_ours_print() {
    let (Some(their_upscmd), Some(their_upsrw)) = (peer("/usr/bin/upscmd"), peer("/usr/bin/upsrw"))
    else {
        return;
    };
    let mut lab = Lab::new("clients-interop");
    let port = start_server(&mut lab, DEV);
    let ups = format!("dummy@127.0.0.1:{port}");
    let nosuch = format!("nosuch@127.0.0.1:{port}");
    compare_clients(their_upscmd, their_upsrw, &ups, &nosuch);
}

/// Runs the same upscmd/upsrw invocations with Debian's and our binaries; every pair
/// must agree on exit code, stdout and stderr.
fn compare_clients(their_upscmd: &Path, their_upsrw: &Path, ups: &str, nosuch: &str) {
    let admin = ["-u", "admin", "-p", "adminpass"];
    let cases: Vec<(&Path, PathBuf, Vec<&str>)> = vec![
        (their_upscmd, bin("upscmd"), vec!["-l", ups]),
        (their_upscmd, bin("upscmd"), vec!["-l", nosuch]),
        (
            their_upscmd,
            bin("upscmd"),
            [&admin[..], &[ups, "load.off"]].concat(),
        ),
        (
            their_upscmd,
            bin("upscmd"),
            [&admin[..], &["-w", ups, "load.off"]].concat(),
        ),
        (
            their_upscmd,
            bin("upscmd"),
            [&admin[..], &[ups, "no.such"]].concat(),
        ),
        (
            their_upscmd,
            bin("upscmd"),
            vec!["-u", "admin", "-p", "bad", ups, "load.off"],
        ),
        (their_upscmd, bin("upscmd"), [&admin[..], &[ups]].concat()),
        (their_upscmd, bin("upscmd"), vec!["-h"]),
        (their_upsrw, bin("upsrw"), vec![ups]),
        (their_upsrw, bin("upsrw"), vec![nosuch]),
        (
            their_upsrw,
            bin("upsrw"),
            [&["-s", "ups.mfr=ACME"][..], &admin[..], &[ups]].concat(),
        ),
        (
            their_upsrw,
            bin("upsrw"),
            [&["-s", "ups.mfr=ACME", "-w"][..], &admin[..], &[ups]].concat(),
        ),
        (
            their_upsrw,
            bin("upsrw"),
            [&["-s", "no.such=1"][..], &admin[..], &[ups]].concat(),
        ),
        (
            their_upsrw,
            bin("upsrw"),
            [&["-s", "nodot=1"][..], &admin[..], &[ups]].concat(),
        ),
        (their_upsrw, bin("upsrw"), vec![]),
    ];
    for (theirs, ours, args) in cases {
        let expected = run_clean(theirs, &args);
        let actual = run_clean(&ours, &args);
        assert_eq!(actual, expected, "{} {args:?}", ours.display());
    }
}

#[test]
fn ours_print_what_debian_prints_against_debian_upsd() {
    let (Some(upsd), Some(dummy)) = (peer("/lib/nut/upsd"), peer("/lib/nut/dummy-ups")) else {
        return;
    };
    let (Some(their_upscmd), Some(their_upsrw), Some(their_upsc), Some(their_upslog)) = (
        peer("/usr/bin/upscmd"),
        peer("/usr/bin/upsrw"),
        peer("/usr/bin/upsc"),
        peer("/usr/bin/upslog"),
    ) else {
        return;
    };
    let mut lab = Lab::new("debian-server");
    let extra: &[&str] = if is_root() {
        &["-F", "-u", "root"]
    } else {
        &["-F"]
    };
    let port = start_server_with(&mut lab, DEV, dummy, upsd, extra);
    // Debian's dummy-ups publishes `WAIT` until it has read the file (a few seconds).
    wait_for(Duration::from_secs(15), "Debian's dummy-ups data", || {
        exchange(port, b"GET VAR dummy ups.status\n", 1)
            .contains("OL CHRG")
            .then_some(())
    });
    let ups = format!("dummy@127.0.0.1:{port}");
    let nosuch = format!("nosuch@127.0.0.1:{port}");
    let host = format!("127.0.0.1:{port}");
    for args in [
        vec![ups.as_str()],
        vec![ups.as_str(), "ups.status"],
        vec![ups.as_str(), "no.such"],
        vec!["-l", host.as_str()],
        vec!["-L", host.as_str()],
        vec!["-c", ups.as_str()],
    ] {
        let (their_code, theirs, _) = run(their_upsc, &args, &[]);
        let (our_code, ours, _) = run(&bin("upsc"), &args, &[]);
        assert_eq!((our_code, ours), (their_code, theirs), "upsc {args:?}");
    }
    compare_clients(their_upscmd, their_upsrw, &ups, &nosuch);

    // upslog: Debian's 2.8.0 has no -d, so it is stopped after its second line.
    let format = "%VAR battery.charge% [%VAR ups.status%] %VAR no.such% %UPSHOST% %% %FOO%";
    let out_path = lab.path("their-upslog.out");
    let pidbase = lab.path("upslog").display().to_string();
    let mut child = Command::new(their_upslog)
        .args([
            "-s", &ups, "-l", "-", "-i", "1", "-p", &pidbase, "-f", format,
        ])
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let theirs = wait_for(Duration::from_secs(10), "Debian upslog's lines", || {
        let text = std::fs::read_to_string(&out_path).unwrap_or_default();
        (text.lines().count() >= 4).then_some(text)
    });
    let _ = child.kill();
    let _ = child.wait();
    let theirs: String = theirs.split_inclusive('\n').take(4).collect();
    let (code, ours, _) = run_clean(
        &bin("upslog"),
        &["-s", &ups, "-l", "-", "-i", "1", "-d", "2", "-f", format],
    );
    assert_eq!(code, 0);
    assert_eq!(ours, theirs);
}

/// A scripted upsd: answers each request line from `replies` (exact text), anything
/// else with `ERR UNKNOWN-COMMAND`; records the requests. Returns the port.
fn scripted_upsd(replies: Vec<(String, String)>, seen: Arc<Mutex<Vec<String>>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let replies = Arc::new(replies);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let replies = Arc::clone(&replies);
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    seen.lock().unwrap().push(line.clone());
                    let reply = replies
                        .iter()
                        .find(|(req, _)| *req == line)
                        .map(|(_, rep)| rep.clone())
                        .unwrap_or_else(|| "ERR UNKNOWN-COMMAND\n".to_string());
                    if writer.write_all(reply.as_bytes()).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

fn enum_range_script() -> Vec<(String, String)> {
    let lines = [
        (
            "LIST RW fake",
            "BEGIN LIST RW fake\nRW fake input.transfer.low \"180\"\nRW fake ups.id \"b\"\n\
             RW fake x.range \"35\"\nRW fake odd.var \"7\"\nRW fake plain.enum \"q\"\n\
             RW fake no.type \"1\"\nEND LIST RW fake\n",
        ),
        (
            "GET DESC fake input.transfer.low",
            "DESC fake input.transfer.low \"Low voltage transfer point (V)\"\n",
        ),
        (
            "GET DESC fake ups.id",
            "DESC fake ups.id \"UPS system identifier\"\n",
        ),
        ("GET DESC fake x.range", "ERR VAR-NOT-SUPPORTED\n"),
        ("GET DESC fake odd.var", "DESC fake odd.var \"Odd\"\n"),
        (
            "GET DESC fake plain.enum",
            "DESC fake plain.enum \"Plain\"\n",
        ),
        ("GET DESC fake no.type", "DESC fake no.type \"No type\"\n"),
        (
            "GET TYPE fake input.transfer.low",
            "TYPE fake input.transfer.low RW ENUM NUMBER\n",
        ),
        (
            "GET TYPE fake ups.id",
            "TYPE fake ups.id RW ENUM STRING:8\n",
        ),
        (
            "GET TYPE fake x.range",
            "TYPE fake x.range RW RANGE NUMBER\n",
        ),
        ("GET TYPE fake odd.var", "TYPE fake odd.var RW FOO NUMBER\n"),
        ("GET TYPE fake plain.enum", "TYPE fake plain.enum RW ENUM\n"),
        ("GET TYPE fake no.type", "ERR VAR-NOT-SUPPORTED\n"),
        (
            "GET VAR fake input.transfer.low",
            "VAR fake input.transfer.low \"180\"\n",
        ),
        ("GET VAR fake ups.id", "VAR fake ups.id \"b\"\n"),
        ("GET VAR fake x.range", "VAR fake x.range \"35\"\n"),
        ("GET VAR fake odd.var", "VAR fake odd.var \"7\"\n"),
        ("GET VAR fake plain.enum", "VAR fake plain.enum \"q\"\n"),
        (
            "LIST ENUM fake input.transfer.low",
            "BEGIN LIST ENUM fake input.transfer.low\nENUM fake input.transfer.low \"170\"\n\
             ENUM fake input.transfer.low \"180\"\nEND LIST ENUM fake input.transfer.low\n",
        ),
        (
            "LIST ENUM fake ups.id",
            "BEGIN LIST ENUM fake ups.id\nENUM fake ups.id \"a\"\nENUM fake ups.id \"b\"\n\
             END LIST ENUM fake ups.id\n",
        ),
        (
            "LIST ENUM fake plain.enum",
            "BEGIN LIST ENUM fake plain.enum\nENUM fake plain.enum \"p\"\n\
             ENUM fake plain.enum \"q\"\nEND LIST ENUM fake plain.enum\n",
        ),
        (
            "LIST RANGE fake x.range",
            "BEGIN LIST RANGE fake x.range\nRANGE fake x.range \"10\" \"20\"\n\
             RANGE fake x.range \"30\" \"40\"\nEND LIST RANGE fake x.range\n",
        ),
        ("LOGOUT", "OK Goodbye\n"),
    ];
    lines
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

const ENUM_RANGE_LISTING: &str = "[input.transfer.low]
Low voltage transfer point (V)
Type: ENUM NUMBER
Option: \"170\"
Option: \"180\" SELECTED

[ups.id]
UPS system identifier
Type: ENUM STRING
Maximum length: 8
Option: \"a\"
Option: \"b\" SELECTED

[x.range]
Description unavailable
Type: RANGE NUMBER
Option: \"10-20\"
Option: \"30-40\" SELECTED

[odd.var]
Odd
Type: FOO (unrecognized)
Type: NUMBER
Value: 7

[plain.enum]
Plain
Type: ENUM
Option: \"p\"
Option: \"q\" SELECTED

[no.type]
No type
Unknown type

";

#[test]
fn upsrw_prints_enum_and_range_variables() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let port = scripted_upsd(enum_range_script(), Arc::clone(&seen));
    let ups = format!("fake@127.0.0.1:{port}");
    let ours = run_clean(&bin("upsrw"), &[&ups]);
    assert_eq!(ours, (0, ENUM_RANGE_LISTING.to_string(), String::new()));
    let requests = seen.lock().unwrap().clone();
    assert!(
        !requests
            .iter()
            .any(|r| r.starts_with("GET VAR fake no.type")),
        "{requests:?}"
    );
    if let Some(theirs) = peer("/usr/bin/upsrw") {
        assert_eq!(run_clean(theirs, &[&ups]), ours);
    }
}
