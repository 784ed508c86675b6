//! Replays of what clients that are not packaged here send, from their source
//! (ecosystem.md §1b, §3.7): nut_exporter's go.nut (VER and NETVER on connect, then per
//! scrape LIST UPS and per UPS LIST CLIENT, LIST CMD + GET CMDDESC each, GET UPSDESC,
//! GET NUMLOGINS, LIST VAR + GET DESC and GET TYPE for every variable, LOGOUT) and
//! PeaNUT (USERNAME/PASSWORD, LIST UPS, LIST VAR + GET TYPE per variable, GET UPSDESC,
//! LIST CMD, LIST CLIENT, LIST RW, GET CMDDESC/VAR/DESC/TYPE, LIST ENUM/RANGE, SET VAR
//! with the value unquoted, LOGOUT). Each request goes on raw TCP to our upsd; every
//! reply line is checked against the protocol grammar, no ERR may appear, key values
//! are exact, and, when Debian's upsd is installed, the whole transcript must equal the
//! one Debian's upsd + dummy-ups give for the same data.

use crate::interop::peer;
use crate::lab::{exchange, is_root, start_server, start_server_with, wait_for, Lab};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

const DEV: &str = "battery.charge: 100\nbattery.runtime: 1800\ninput.voltage: 230.0\n\
                   ups.load: 25\nups.mfr: ACME\nups.model: Smart 1500\nups.status: OL CHRG\n";

/// One client connection that records `C:`/`S:` lines.
struct Conn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    transcript: String,
}

impl Conn {
    fn connect(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Conn {
            stream,
            reader,
            transcript: String::new(),
        }
    }

    fn read_line(&mut self, request: &str) -> String {
        let mut raw = Vec::new();
        self.reader
            .read_until(b'\n', &mut raw)
            .unwrap_or_else(|e| panic!("reply to {request:?}: {e}"));
        assert!(
            raw.ends_with(b"\n"),
            "reply to {request:?} without LF: {raw:?}"
        );
        assert!(
            raw[..raw.len() - 1]
                .iter()
                .all(|&b| (0x20..0x7f).contains(&b)),
            "reply to {request:?} is not printable ASCII: {raw:?}"
        );
        let line = String::from_utf8(raw[..raw.len() - 1].to_vec()).unwrap();
        self.transcript.push_str(&format!("S: {line}\n"));
        line
    }

    /// Sends one request line; returns the reply (all lines of a LIST block).
    fn request(&mut self, request: &str) -> Vec<String> {
        self.transcript.push_str(&format!("C: {request}\n"));
        self.stream
            .write_all(format!("{request}\n").as_bytes())
            .unwrap();
        let first = self.read_line(request);
        let mut reply = vec![first.clone()];
        if let Some(query) = first.strip_prefix("BEGIN ") {
            let end = format!("END {query}");
            loop {
                let line = self.read_line(request);
                reply.push(line.clone());
                if line == end {
                    break;
                }
            }
        }
        check_reply(request, &reply);
        reply
    }
}

/// Splits a reply line into words with NUT's quoting (`"..."` with `\` escapes);
/// panics on an unterminated quote.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c == ' ' {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => word.push(chars.next().expect("escape at end")),
                    Some('"') => break,
                    Some(other) => word.push(other),
                    None => panic!("unterminated quote in {line:?}"),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        out.push(word);
    }
    out
}

/// The reply grammar of protocol 1.3 (nut-reference.md §1.3-1.5) for each request the
/// replayed clients send. No reply may be an ERR.
fn check_reply(request: &str, reply: &[String]) {
    let req: Vec<&str> = request.split(' ').collect();
    let first = &reply[0];
    assert!(!first.starts_with("ERR"), "{request:?} -> {first:?}");
    let w = words(first);
    let upper: Vec<String> = req.iter().map(|s| s.to_ascii_uppercase()).collect();
    let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
    match upper.as_slice() {
        ["VER"] => assert!(first.starts_with("Network UPS Tools upsd "), "{first}"),
        ["NETVER"] => assert_eq!(first, "1.3"),
        ["USERNAME", _] | ["PASSWORD", _] | ["SET", "VAR", ..] => assert_eq!(first, "OK"),
        ["LOGOUT"] => assert_eq!(first, "OK Goodbye"),
        ["GET", "UPSDESC", _] => {
            assert_eq!(
                (w.len(), w[0].as_str(), w[1].as_str()),
                (3, "UPSDESC", req[2])
            )
        }
        ["GET", "NUMLOGINS", _] => {
            assert_eq!(
                (w.len(), w[0].as_str(), w[1].as_str()),
                (3, "NUMLOGINS", req[2])
            );
            assert!(w[2].parse::<u32>().is_ok(), "{first}");
        }
        ["GET", kind @ ("VAR" | "DESC" | "CMDDESC"), _, _] => {
            assert_eq!(
                (w.len(), w[0].as_str(), w[1].as_str(), w[2].as_str()),
                (4, *kind, req[2], req[3]),
                "{first}"
            );
            assert!(first.ends_with('"'), "{first}");
        }
        ["GET", "TYPE", _, _] => {
            assert_eq!(
                (w[0].as_str(), w[1].as_str(), w[2].as_str()),
                ("TYPE", req[2], req[3])
            );
            let types = &w[3..];
            let last = types.last().expect("a type");
            assert!(
                last == "NUMBER"
                    || last
                        .strip_prefix("STRING:")
                        .is_some_and(|n| n.parse::<u32>().is_ok()),
                "{first}"
            );
            for t in &types[..types.len() - 1] {
                assert!(["RW", "ENUM", "RANGE"].contains(&t.as_str()), "{first}");
            }
        }
        ["LIST", sub, ..] => {
            let query = req[1..].join(" ");
            assert_eq!(first, &format!("BEGIN LIST {query}"));
            assert_eq!(reply.last().unwrap(), &format!("END LIST {query}"));
            let (keyword, value_words) = match *sub {
                "UPS" => ("UPS", 1),
                "VAR" => ("VAR", 1),
                "RW" => ("RW", 1),
                "CMD" => ("CMD", 0),
                "CLIENT" => ("CLIENT", 1),
                "ENUM" => ("ENUM", 1),
                "RANGE" => ("RANGE", 2),
                other => panic!("unexpected LIST {other}"),
            };
            for item in &reply[1..reply.len() - 1] {
                let iw = words(item);
                assert_eq!(iw[0], keyword, "{item}");
                // Items echo the query's arguments (the UPS, and the variable).
                let args = &req[2..];
                assert_eq!(&iw[1..1 + args.len()], args, "{item}");
                let name_words = match *sub {
                    "UPS" | "VAR" | "RW" | "CMD" => 1,
                    _ => 0,
                };
                assert_eq!(
                    iw.len(),
                    1 + args.len() + name_words + value_words,
                    "{item}"
                );
                if value_words > 0 && *sub != "CLIENT" {
                    assert!(item.ends_with('"'), "{item}");
                }
            }
        }
        other => panic!("no grammar for {other:?}"),
    }
    if !first.starts_with("BEGIN ") {
        assert_eq!(reply.len(), 1);
    }
}

/// Items of a LIST reply, as words.
fn items(reply: &[String]) -> Vec<Vec<String>> {
    reply[1..reply.len() - 1].iter().map(|l| words(l)).collect()
}

/// One nut_exporter scrape through go.nut; returns the transcript.
fn go_nut_scrape(port: u16) -> String {
    let mut c = Conn::connect(port);
    // nut.NewClient: VER, NETVER right after connecting (indexed without an ERR check).
    c.request("VER");
    c.request("NETVER");
    // GetUPSList, then NewUPS for each UPS.
    let list = c.request("LIST UPS");
    for ups in items(&list) {
        let name = &ups[1];
        c.request(&format!("LIST CLIENT {name}"));
        let cmds = c.request(&format!("LIST CMD {name}"));
        for cmd in items(&cmds) {
            c.request(&format!("GET CMDDESC {name} {}", cmd[2]));
        }
        c.request(&format!("GET UPSDESC {name}"));
        c.request(&format!("GET NUMLOGINS {name}"));
        let vars = c.request(&format!("LIST VAR {name}"));
        for var in items(&vars) {
            c.request(&format!("GET DESC {name} {}", var[2]));
            c.request(&format!("GET TYPE {name} {}", var[2]));
        }
    }
    c.request("LOGOUT");
    c.transcript
}

/// PeaNUT's dashboard load and a settings change, with credentials.
fn peanut_session(port: u16) -> String {
    let mut c = Conn::connect(port);
    c.request("USERNAME admin");
    c.request("PASSWORD adminpass");
    let list = c.request("LIST UPS");
    for ups in items(&list) {
        let name = &ups[1];
        let vars = c.request(&format!("LIST VAR {name}"));
        for var in items(&vars) {
            c.request(&format!("GET TYPE {name} {}", var[2]));
        }
        c.request(&format!("GET UPSDESC {name}"));
        let cmds = c.request(&format!("LIST CMD {name}"));
        c.request(&format!("LIST CLIENT {name}"));
        c.request(&format!("LIST RW {name}"));
        for cmd in items(&cmds) {
            c.request(&format!("GET CMDDESC {name} {}", cmd[2]));
        }
        c.request(&format!("GET VAR {name} ups.status"));
        c.request(&format!("GET DESC {name} ups.status"));
        c.request(&format!("GET TYPE {name} ups.mfr"));
        c.request(&format!("LIST ENUM {name} ups.mfr"));
        c.request(&format!("LIST RANGE {name} battery.charge"));
        // setVar: the value goes unquoted.
        c.request(&format!("SET VAR {name} ups.mfr Zeta"));
    }
    c.request("LOGOUT");
    c.transcript
}

/// Lines of `transcript` that follow the request `c`.
fn replies_to<'a>(transcript: &'a str, c: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in transcript.lines() {
        if let Some(req) = line.strip_prefix("C: ") {
            inside = req == c;
        } else if inside {
            out.push(line.strip_prefix("S: ").unwrap());
        }
    }
    out
}

/// Debian's upsd + dummy-ups on [`DEV`], if installed (peer semantics).
fn debian_server(lab: &mut Lab) -> Option<u16> {
    let (upsd, dummy) = (peer("/lib/nut/upsd")?, peer("/lib/nut/dummy-ups")?);
    let extra: &[&str] = if is_root() {
        &["-F", "-u", "root"]
    } else {
        &["-F"]
    };
    let port = start_server_with(lab, DEV, dummy, upsd, extra);
    wait_for(Duration::from_secs(15), "Debian's dummy-ups data", || {
        exchange(port, b"GET VAR dummy ups.status\n", 1)
            .contains("OL CHRG")
            .then_some(())
    });
    Some(port)
}

#[test]
fn nut_exporter_scrape_gets_clean_answers() {
    let mut lab = Lab::new("transcript-go-nut");
    let port = start_server(&mut lab, DEV);
    let ours = go_nut_scrape(port);
    let one = |c: &str| replies_to(&ours, c).join("\n");
    assert_eq!(
        one("VER"),
        "Network UPS Tools upsd 2.8.0 - http://www.networkupstools.org/"
    );
    assert_eq!(one("NETVER"), "1.3");
    assert_eq!(
        one("LIST UPS"),
        "BEGIN LIST UPS\nUPS dummy \"Test UPS\"\nEND LIST UPS"
    );
    assert_eq!(
        one("LIST CLIENT dummy"),
        "BEGIN LIST CLIENT dummy\nEND LIST CLIENT dummy"
    );
    assert_eq!(
        one("GET CMDDESC dummy load.off"),
        "CMDDESC dummy load.off \"Turn off the load immediately\""
    );
    assert_eq!(one("GET UPSDESC dummy"), "UPSDESC dummy \"Test UPS\"");
    assert_eq!(one("GET NUMLOGINS dummy"), "NUMLOGINS dummy 0");
    assert_eq!(
        one("GET DESC dummy battery.charge"),
        "DESC dummy battery.charge \"Battery charge (percent of full)\""
    );
    assert_eq!(
        one("GET TYPE dummy battery.charge"),
        "TYPE dummy battery.charge RW NUMBER"
    );
    assert_eq!(
        one("GET TYPE dummy ups.mfr"),
        "TYPE dummy ups.mfr RW STRING:32"
    );
    assert_eq!(
        one("GET TYPE dummy driver.name"),
        "TYPE dummy driver.name NUMBER"
    );
    assert_eq!(one("LOGOUT"), "OK Goodbye");
    // 17 variables, each with its GET DESC and GET TYPE, all answered.
    assert_eq!(ours.matches("C: GET DESC dummy ").count(), 17, "{ours}");
    let mut their_lab = Lab::new("transcript-go-nut-debian");
    if let Some(their_port) = debian_server(&mut their_lab) {
        let theirs = go_nut_scrape(their_port);
        assert_eq!(ours, theirs, "go.nut transcript: ours vs Debian's upsd");
    }
}

#[test]
fn peanut_session_gets_clean_answers() {
    let mut lab = Lab::new("transcript-peanut");
    let port = start_server(&mut lab, DEV);
    let ours = peanut_session(port);
    let one = |c: &str| replies_to(&ours, c).join("\n");
    assert_eq!(one("USERNAME admin"), "OK");
    assert_eq!(
        one("LIST RW dummy").lines().nth(5).unwrap(),
        "RW dummy ups.mfr \"ACME\""
    );
    assert_eq!(
        one("GET VAR dummy ups.status"),
        "VAR dummy ups.status \"OL CHRG\""
    );
    assert_eq!(
        one("GET DESC dummy ups.status"),
        "DESC dummy ups.status \"UPS status\""
    );
    assert_eq!(
        one("LIST ENUM dummy ups.mfr"),
        "BEGIN LIST ENUM dummy ups.mfr\nEND LIST ENUM dummy ups.mfr"
    );
    assert_eq!(
        one("LIST RANGE dummy battery.charge"),
        "BEGIN LIST RANGE dummy battery.charge\nEND LIST RANGE dummy battery.charge"
    );
    assert_eq!(one("SET VAR dummy ups.mfr Zeta"), "OK");
    assert_eq!(one("LOGOUT"), "OK Goodbye");
    wait_for(Duration::from_secs(10), "the new ups.mfr", || {
        (exchange(port, b"GET VAR dummy ups.mfr\n", 1) == "VAR dummy ups.mfr \"Zeta\"\n")
            .then_some(())
    });
    let mut their_lab = Lab::new("transcript-peanut-debian");
    if let Some(their_port) = debian_server(&mut their_lab) {
        let theirs = peanut_session(their_port);
        assert_eq!(ours, theirs, "PeaNUT transcript: ours vs Debian's upsd");
    }
}
