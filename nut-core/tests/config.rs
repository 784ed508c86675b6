//! Tests of the config file parsers (nut_core::config).

use nut_core::config::*;
use nut_core::notify::{NotifyFlags, NotifyType};

/// An expected diagnostic: line, 'E'rror or 'W'arning, and a piece of its message.
type Expect = (usize, char, &'static str);

/// Asserts that the diagnostics are exactly `expected` (in order) and returns the value.
fn check<T>(parsed: Parsed<T>, file: &str, expected: &[Expect]) -> T {
    let got: Vec<String> = parsed.diagnostics.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        parsed.diagnostics.len(),
        expected.len(),
        "diagnostics differ; got:\n{}",
        got.join("\n")
    );
    for (d, (line, severity, text)) in parsed.diagnostics.iter().zip(expected) {
        assert_eq!(d.file, file);
        assert_eq!(d.line, *line, "line of {d}");
        let want = if *severity == 'E' {
            Severity::Error
        } else {
            Severity::Warning
        };
        assert_eq!(d.severity, want, "severity of {d}");
        assert!(
            d.to_string().contains(text),
            "{d:?} should mention {text:?}"
        );
    }
    parsed.value
}

fn check_ups(text: &str, expected: &[Expect]) -> UpsConf {
    check(
        parse_ups_conf("ups.conf", text.as_bytes()),
        "ups.conf",
        expected,
    )
}
fn check_upsd(text: &str, expected: &[Expect]) -> UpsdConf {
    check(
        parse_upsd_conf("upsd.conf", text.as_bytes()),
        "upsd.conf",
        expected,
    )
}
fn check_users(text: &str, expected: &[Expect]) -> UpsdUsers {
    check(
        parse_upsd_users("upsd.users", text.as_bytes()),
        "upsd.users",
        expected,
    )
}
/// upsmon.conf tests get a valid MONITOR (line 1) and POWERDOWNFLAG (line 2) first,
/// so the start-up checks stay quiet; the test text starts on line 3.
const UPSMON_BASE: &str =
    "MONITOR base@localhost 1 mon pass primary\nPOWERDOWNFLAG /etc/killpower\n";
/// Parsing plus upsmon's start-up checks, as the upsmon binary runs them.
fn parse_and_check_upsmon(text: &[u8]) -> Parsed<UpsmonConf> {
    parse_upsmon_conf_for_startup("upsmon.conf", text)
}
fn check_upsmon(text: &str, expected: &[Expect]) -> UpsmonConf {
    let full = format!("{UPSMON_BASE}{text}");
    check(
        parse_and_check_upsmon(full.as_bytes()),
        "upsmon.conf",
        expected,
    )
}
fn check_upsmon_raw(text: &str, expected: &[Expect]) -> UpsmonConf {
    check(
        parse_and_check_upsmon(text.as_bytes()),
        "upsmon.conf",
        expected,
    )
}
fn check_sched(text: &str, expected: &[Expect]) -> UpsschedConf {
    check(
        parse_upssched_conf("upssched.conf", text.as_bytes()),
        "upssched.conf",
        expected,
    )
}
fn check_nut(text: &str, expected: &[Expect]) -> NutConf {
    check(
        parse_nut_conf("nut.conf", text.as_bytes()),
        "nut.conf",
        expected,
    )
}

// ---------------------------------------------------------------- the Debian samples

const SAMPLE_NUT: &str = include_str!("fixtures/etc-nut/nut.conf");
const SAMPLE_UPS: &str = include_str!("fixtures/etc-nut/ups.conf");
const SAMPLE_UPSD: &str = include_str!("fixtures/etc-nut/upsd.conf");
const SAMPLE_USERS: &str = include_str!("fixtures/etc-nut/upsd.users");
const SAMPLE_UPSMON: &str = include_str!("fixtures/etc-nut/upsmon.conf");
const SAMPLE_SCHED: &str = include_str!("fixtures/etc-nut/upssched.conf");

/// The embedded copy, plus the installed file when /etc/nut exists and is readable.
fn samples(name: &str, embedded: &'static str) -> Vec<String> {
    let mut out = vec![embedded.to_string()];
    if let Ok(text) = std::fs::read_to_string(format!("/etc/nut/{name}")) {
        out.push(text);
    }
    out
}

#[test]
fn sample_nut_conf() {
    for text in samples("nut.conf", SAMPLE_NUT) {
        let conf = check_nut(&text, &[]);
        assert_eq!(conf.mode, NutMode::None);
        assert_eq!(conf.vars, vec![("MODE".to_string(), "none".to_string())]);
    }
}

#[test]
fn sample_ups_conf() {
    for text in samples("ups.conf", SAMPLE_UPS) {
        let conf = check_ups(&text, &[]);
        assert_eq!(conf.maxretry, 3);
        assert_eq!(conf.maxstartdelay_s, 75);
        assert_eq!(conf.retrydelay_s, 5);
        assert_eq!(conf.pollinterval_s, 2);
        assert_eq!(
            conf.globals,
            vec![("maxretry".to_string(), Some("3".to_string()))]
        );
        assert!(conf.upses.is_empty());
    }
}

#[test]
fn sample_upsd_conf() {
    for text in samples("upsd.conf", SAMPLE_UPSD) {
        let conf = check_upsd(&text, &[]);
        assert_eq!(conf, UpsdConf::default());
        assert_eq!(conf.maxage_s, 15);
        assert_eq!(conf.trackingdelay_s, 3600);
    }
}

#[test]
fn sample_upsd_users() {
    for text in samples("upsd.users", SAMPLE_USERS) {
        let users = check_users(&text, &[]);
        assert!(users.users.is_empty());
    }
}

#[test]
fn sample_upsmon_conf() {
    // The stock file has no MONITOR line. It parses with zero errors; only upsmon's
    // start-up checks fail, as the real upsmon 2.8.0 does on it
    // ("Fatal error: insufficient power configured!").
    for text in samples("upsmon.conf", SAMPLE_UPSMON) {
        let parsed = parse_upsmon_conf("upsmon.conf", text.as_bytes());
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let minsupplies_line = text
            .lines()
            .position(|l| l.starts_with("MINSUPPLIES"))
            .map_or(0, |i| i + 1);
        let conf = check_upsmon_raw(
            &text,
            &[
                (0, 'E', "no MONITOR line"),
                (minsupplies_line, 'E', "insufficient power configured"),
            ],
        );
        assert_eq!(conf.minsupplies, 1);
        assert_eq!(conf.shutdowncmd.as_deref(), Some("/sbin/shutdown -h +0"));
        assert_eq!(conf.powerdownflag.as_deref(), Some("/etc/killpower"));
        assert_eq!(conf.pollfreq_s, 5);
        assert_eq!(conf.hostsync_s, 15);
        assert_eq!(conf.rbwarntime_s, 43200);
        assert_eq!(conf.nocommwarntime_s, 300);
        assert_eq!(conf.finaldelay_s, 5);
        assert!(conf.notify_messages.is_empty());
        assert!(conf.notify_flags.is_empty());
        assert_eq!(conf.message_for(NotifyType::OnBatt), "UPS %s on battery");
        assert_eq!(
            conf.flags_for(NotifyType::OnBatt),
            NotifyFlags::default_for(NotifyType::OnBatt)
        );
    }
}

#[test]
fn sample_upsmon_conf_with_a_monitor_line_is_clean() {
    let text = format!("{SAMPLE_UPSMON}\nMONITOR myups@localhost 1 upsmon secret primary\n");
    let conf = check_upsmon_raw(&text, &[]);
    assert_eq!(conf.monitors.len(), 1);
}

#[test]
fn sample_upssched_conf() {
    for text in samples("upssched.conf", SAMPLE_SCHED) {
        let conf = check_sched(&text, &[]);
        assert_eq!(conf.cmdscript.as_deref(), Some("/bin/upssched-cmd"));
        assert!(conf.rules.is_empty());
        assert!(conf.pipefn.is_none());
    }
}

// ---------------------------------------------------------------- diagnostics

#[test]
fn diagnostic_display_format() {
    let parsed = parse_upsmon_conf(
        "upsmon.conf",
        format!("{UPSMON_BASE}POLLFREQ abc\n").as_bytes(),
    );
    assert!(parsed.has_errors());
    let errors: Vec<String> = parsed.errors().map(|d| d.to_string()).collect();
    assert_eq!(
        errors,
        vec!["upsmon.conf:3:1: error: POLLFREQ: expected a whole number of seconds, got \"abc\""]
    );
    let d = Diagnostic {
        file: "f".into(),
        line: 2,
        column: 5,
        directive: String::new(),
        severity: Severity::Warning,
        message: "m".into(),
    };
    assert_eq!(d.to_string(), "f:2:5: warning: m");
}

#[test]
fn tokenizer_errors_become_diagnostics_and_parsing_continues() {
    let conf = check_ups(
        "[a]\n driver = dummy-ups\n desc = \"bad # hash\"\n port = a.dev\n",
        &[(3, 'E', "#")],
    );
    let a = conf.find("a").unwrap();
    assert_eq!(a.port.as_deref(), Some("a.dev"));
    assert_eq!(a.desc, None);
}

// ---------------------------------------------------------------- ups.conf

#[test]
fn ups_conf_section_values() {
    let conf = check_ups(
        r#"
statepath = /run/nut
driverpath=/lib/nut
user =nut
maxstartdelay= 120
pollinterval = 4
retrydelay = 9
nowait
[MyUPS]
    driver = usbhid-ups
    port = auto
    desc = "Rack \"A\" UPS"
    sdorder = -1
    maxstartdelay = 30
    pollinterval = 10
    ignorelb
    override.battery.charge.low = 30
    default.battery.runtime.low = 120
    vendorid = 051d
    nolock
"#,
        &[],
    );
    assert_eq!(conf.statepath.as_deref(), Some("/run/nut"));
    assert_eq!(conf.driverpath.as_deref(), Some("/lib/nut"));
    assert_eq!(conf.user.as_deref(), Some("nut"));
    assert_eq!(
        (conf.maxstartdelay_s, conf.pollinterval_s, conf.retrydelay_s),
        (120, 4, 9)
    );
    assert_eq!(conf.maxretry, 1);
    assert!(conf.nowait);
    assert_eq!(conf.globals.len(), 7);
    assert_eq!(conf.globals[6], ("nowait".to_string(), None));
    let ups = conf.find("myups").expect("case-insensitive find");
    assert_eq!(ups.name, "MyUPS");
    assert_eq!(ups.line, 9);
    assert_eq!(ups.driver.as_deref(), Some("usbhid-ups"));
    assert_eq!(ups.port.as_deref(), Some("auto"));
    assert_eq!(ups.desc.as_deref(), Some("Rack \"A\" UPS"));
    assert_eq!(ups.sdorder, -1);
    assert_eq!(ups.maxstartdelay_s, Some(30));
    assert_eq!(ups.pollinterval_s, Some(10));
    assert!(ups.ignorelb);
    assert_eq!(
        ups.overrides,
        vec![("battery.charge.low".to_string(), "30".to_string())]
    );
    assert_eq!(
        ups.defaults,
        vec![("battery.runtime.low".to_string(), "120".to_string())]
    );
    assert_eq!(ups.option("vendorid"), Some("051d"));
    assert_eq!(ups.option("driver"), Some("usbhid-ups"));
    assert_eq!(ups.option("nolock"), None);
    assert!(ups.has_flag("nolock"));
    assert!(!ups.has_flag("vendorid"));
    assert_eq!(ups.options.len(), 11);
    assert_eq!(
        ups.options[0],
        ("driver".to_string(), Some("usbhid-ups".to_string()))
    );
}

#[test]
fn ups_conf_defaults() {
    let conf = check_ups("[u]\ndriver = dummy-ups\nport = u.dev\n", &[]);
    let u = &conf.upses[0];
    assert_eq!(u.sdorder, 0);
    assert_eq!(u.maxstartdelay_s, None);
    assert!(!u.ignorelb);
    assert!(!conf.nowait);
    assert_eq!(conf.maxstartdelay_s, 75);
}

#[test]
fn ups_conf_mistakes() {
    let conf = check_ups(
        "maxretry = many\n\
         [one]\n\
         driver = dummy-ups\n\
         [ONE]\n\
         driver = other\n\
         port = x\n\
         [default]\n\
         driver = x\n\
         [two]\n\
         driver = dummy-ups\n\
         port two.dev\n\
         port : two.dev\n\
         port = two.dev\n\
         sdorder = first\n\
         pollinterval = -3\n\
         desc = two words\n",
        &[
            (
                1,
                'E',
                "maxretry: expected a whole number of attempts, got \"many\"",
            ),
            (2, 'E', "UPS [one] has no port setting"),
            (4, 'E', "UPS name [ONE] is already in use!"),
            (7, 'E', "\"default\" is reserved"),
            (11, 'W', "two words ignored"),
            (12, 'W', "expected \"=\""),
            (14, 'E', "sdorder: expected a whole number"),
            (
                15,
                'E',
                "pollinterval: expected a whole number of seconds, got \"-3\"",
            ),
            (16, 'W', "extra word"),
        ],
    );
    assert_eq!(conf.maxretry, 1);
    let names: Vec<&str> = conf.upses.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, vec!["one", "two"]);
    assert_eq!(conf.upses[0].driver.as_deref(), Some("dummy-ups"));
    assert_eq!(conf.upses[0].port, None);
    let two = conf.find("two").unwrap();
    assert_eq!(two.port.as_deref(), Some("two.dev"));
    assert_eq!(two.desc.as_deref(), Some("two"));
    assert_eq!(two.sdorder, 0);
}

#[test]
fn ups_conf_missing_driver_and_port() {
    let conf = check_ups(
        "[lonely]\ndesc = x\n",
        &[(1, 'E', "no driver setting and no port setting")],
    );
    assert_eq!(conf.upses.len(), 1);
}

#[test]
fn ups_conf_quoted_section_name_and_values() {
    let conf = check_ups(
        "[\"odd ups\"]\n\"[with space]\"\ndriver = \"dummy-ups\"\nport = 'x'\n",
        &[(1, 'E', "closing ']'")],
    );
    // "[with space]" is a proper (quoted) header; the first line was not.
    let u = conf.find("with space").unwrap();
    assert_eq!(u.driver.as_deref(), Some("dummy-ups"));
    assert_eq!(u.port.as_deref(), Some("'x'"));
}

// ---------------------------------------------------------------- upsd.conf

#[test]
fn upsd_conf_all_directives() {
    let conf = check_upsd(
        "LISTEN 0.0.0.0\nLISTEN ::1 3494\nLISTEN * 10000\nMAXAGE 30\nMAXCONN 64\nTRACKINGDELAY 60\n\
         STATEPATH /run/nut\nDATAPATH /usr/share/nut\nCERTFILE /etc/nut/cert.pem\nCERTPATH /etc/nut/certs\n\
         CERTIDENT \"my server\" secret\nCERTREQUEST REQUIRE\nDISABLE_WEAK_SSL yes\nALLOW_NO_DEVICE true\n\
         ALLOW_NOT_ALL_LISTENERS On\ndebug_min 2\n",
        &[],
    );
    assert_eq!(
        conf.listen,
        vec![
            Listen {
                addr: "0.0.0.0".into(),
                port: 3493
            },
            Listen {
                addr: "::1".into(),
                port: 3494
            },
            Listen {
                addr: "*".into(),
                port: 10000
            },
        ]
    );
    assert_eq!(conf.listen_or_default(), conf.listen);
    assert_eq!(conf.maxage_s, 30);
    assert_eq!(conf.maxconn, Some(64));
    assert_eq!(conf.trackingdelay_s, 60);
    assert_eq!(conf.statepath.as_deref(), Some("/run/nut"));
    assert_eq!(conf.datapath.as_deref(), Some("/usr/share/nut"));
    assert_eq!(conf.certfile.as_deref(), Some("/etc/nut/cert.pem"));
    assert_eq!(conf.certpath.as_deref(), Some("/etc/nut/certs"));
    assert_eq!(conf.certident, Some(("my server".into(), "secret".into())));
    assert_eq!(conf.certrequest, 2);
    assert!(conf.disable_weak_ssl && conf.allow_no_device && conf.allow_not_all_listeners);
    assert_eq!(conf.debug_min, Some(2));
}

#[test]
fn upsd_conf_default_listeners() {
    let conf = check_upsd("", &[]);
    assert_eq!(
        conf.listen_or_default(),
        vec![
            Listen {
                addr: "127.0.0.1".into(),
                port: 3493
            },
            Listen {
                addr: "::1".into(),
                port: 3493
            },
        ]
    );
}

#[test]
fn upsd_conf_booleans() {
    for (word, expected) in [
        ("true", true),
        ("ON", true),
        ("Yes", true),
        ("1", true),
        ("7", true),
        ("10x", true),
        ("false", false),
        ("off", false),
        ("NO", false),
        ("0", false),
        ("00", false),
    ] {
        let conf = check_upsd(&format!("ALLOW_NO_DEVICE {word}\n"), &[]);
        assert_eq!(conf.allow_no_device, expected, "{word}");
    }
    check_upsd("ALLOW_NO_DEVICE maybe\n", &[(1, 'E', "expected a boolean")]);
}

#[test]
fn upsd_conf_certrequest_forms() {
    for (word, level) in [
        ("0", 0),
        ("no", 0),
        ("1", 1),
        ("REQUEST", 1),
        ("2", 2),
        ("require", 2),
    ] {
        assert_eq!(
            check_upsd(&format!("CERTREQUEST {word}\n"), &[]).certrequest,
            level
        );
    }
}

#[test]
fn upsd_conf_mistakes() {
    let conf = check_upsd(
        "MAXAGE abc\nmaxage 20\nACL all 0.0.0.0/0\nACCEPT all\nLISTEN 127.0.0.1 http\nMAXCONN\n\
         CERTREQUEST maybe\nMAXAGE 25s\nTRACKINGDELAY -5\nLISTEN 127.0.0.1 4000\n",
        &[
            (1, 'E', "MAXAGE has non numeric value (abc)"),
            (2, 'E', "maxage: unknown directive"),
            (3, 'W', "obsolete"),
            (4, 'W', "obsolete"),
            (5, 'E', "expected a TCP port number"),
            (6, 'E', "missing value"),
            (7, 'E', "CERTREQUEST"),
            (8, 'W', "trailing text"),
            (9, 'E', "TRACKINGDELAY"),
        ],
    );
    assert_eq!(conf.maxage_s, 25);
    assert_eq!(conf.trackingdelay_s, 3600);
    assert_eq!(
        conf.listen,
        vec![Listen {
            addr: "127.0.0.1".into(),
            port: 4000
        }]
    );
}

// ---------------------------------------------------------------- upsd.users

const USERS: &str = r#"
[admin]
    password = "pass word"
    actions = SET
    actions = fsd
    instcmds = ALL

[monmaster]
    password = pm
    upsmon master

[monslave]
    password = ps
    upsmon slave

[ops]
    password = o
    actions = set login
    instcmds = test.battery.start beeper.toggle
    instcmds = load.off

[modern]
    password = m
    upsmon = primary

[sec]
    password = s
    upsmon secondary
"#;

#[test]
fn upsd_users_permissions() {
    let users = check_users(USERS, &[]);
    assert_eq!(users.users.len(), 6);
    let admin = users.find("admin").unwrap();
    assert_eq!(admin.password.as_deref(), Some("pass word"));
    assert_eq!(admin.actions, vec!["SET", "FSD"]);
    assert!(admin.may_instcmd("anything.at.all"));

    // (user, action, granted)
    let table: &[(&str, &str, bool)] = &[
        ("admin", "SET", true),
        ("admin", "fsd", true),
        ("admin", "LOGIN", false),
        ("admin", "PRIMARY", false),
        ("monmaster", "LOGIN", true),
        ("monmaster", "PRIMARY", true),
        ("monmaster", "master", true),
        ("monmaster", "FSD", true),
        ("monmaster", "SET", false),
        ("monslave", "LOGIN", true),
        ("monslave", "FSD", false),
        ("monslave", "PRIMARY", false),
        ("monslave", "SET", false),
        ("ops", "set", true),
        ("ops", "LOGIN", true),
        ("ops", "FSD", false),
        ("modern", "MASTER", true),
        ("modern", "FSD", true),
        ("sec", "LOGIN", true),
        ("sec", "FSD", false),
        ("sec", "MASTER", false),
    ];
    for (user, action, granted) in table {
        assert_eq!(
            users.find(user).unwrap().has_action(action),
            *granted,
            "{user} {action}"
        );
    }
    assert_eq!(
        users.find("monmaster").unwrap().upsmon,
        Some(UpsmonRole::Primary)
    );
    assert_eq!(
        users.find("monslave").unwrap().upsmon,
        Some(UpsmonRole::Secondary)
    );
    assert_eq!(
        users.find("modern").unwrap().upsmon,
        Some(UpsmonRole::Primary)
    );

    let ops = users.find("ops").unwrap();
    assert_eq!(
        ops.instcmds,
        vec!["test.battery.start", "beeper.toggle", "load.off"]
    );
    assert!(ops.may_instcmd("TEST.BATTERY.START"));
    assert!(ops.may_instcmd("load.off"));
    assert!(!ops.may_instcmd("load.on"));
    assert!(!users.find("sec").unwrap().may_instcmd("load.off"));
}

#[test]
fn upsd_users_authenticate() {
    let users = check_users(USERS, &[]);
    assert_eq!(
        users
            .authenticate("admin", "pass word")
            .map(|u| u.name.as_str()),
        Some("admin")
    );
    assert!(users.authenticate("admin", "pass").is_none());
    assert!(users.authenticate("admin", "PASS WORD").is_none());
    assert!(
        users.authenticate("Admin", "pass word").is_none(),
        "names are case-sensitive"
    );
    assert!(users.authenticate("nobody", "").is_none());
    let nopass = check_users("[x]\nupsmon primary\n", &[]);
    assert!(nopass.authenticate("x", "").is_none());
}

#[test]
fn upsd_users_mistakes() {
    let users = check_users(
        "password = early\n\
         [u]\n\
         password = first\n\
         password = second\n\
         actions = set reboot\n\
         upsmon boss\n\
         allowfrom = localhost\n\
         colour = blue\n\
         [u]\n\
         password = dup\n\
         [v]\n\
         password = v\n\
         upsmon = slave\n\
         strange line here\n",
        &[
            (1, 'W', "before the first [user] section"),
            (4, 'W', "duplicate password"),
            (5, 'E', "unknown action \"reboot\""),
            (6, 'E', "unknown upsmon type \"boss\""),
            (7, 'W', "allowfrom"),
            (8, 'E', "colour: unknown user setting"),
            (9, 'W', "duplicate user [u]"),
            (14, 'E', "line ignored"),
        ],
    );
    let u = users.find("u").unwrap();
    assert_eq!(u.password.as_deref(), Some("first"));
    assert_eq!(u.actions, vec!["SET"]);
    assert_eq!(u.upsmon, None);
    assert_eq!(users.users.len(), 2);
    assert_eq!(users.find("v").unwrap().upsmon, Some(UpsmonRole::Secondary));
}

// ---------------------------------------------------------------- upsmon.conf

#[test]
fn upsmon_monitor_lines() {
    // (MONITOR arguments, ups, host, port, power value, primary)
    let table: &[(&str, &str, &str, u16, u32, bool)] = &[
        (
            "myups@localhost 1 mon pw primary",
            "myups",
            "localhost",
            3493,
            1,
            true,
        ),
        (
            "myups@localhost 1 mon pw master",
            "myups",
            "localhost",
            3493,
            1,
            true,
        ),
        (
            "a@server.lan:3494 2 mon pw MASTER",
            "a",
            "server.lan",
            3494,
            2,
            true,
        ),
        (
            "b@10.0.0.5 0 mon pw secondary",
            "b",
            "10.0.0.5",
            3493,
            0,
            false,
        ),
        ("c@[::1]:4000 1 mon pw slave", "c", "::1", 4000, 1, false),
        (
            "d@[fe80::1] 1 mon pw Secondary",
            "d",
            "fe80::1",
            3493,
            1,
            false,
        ),
        ("e 1 mon pw primary", "e", "localhost", 3493, 1, true),
    ];
    for (args, ups, host, port, power, primary) in table {
        let conf = check_upsmon(&format!("MONITOR {args}\n"), &[]);
        let m = &conf.monitors[1];
        assert_eq!(m.system, args.split(' ').next().unwrap());
        assert_eq!(
            (m.ups.as_str(), m.host.as_str(), m.port),
            (*ups, *host, *port),
            "{args}"
        );
        assert_eq!((m.power_value, m.primary), (*power, *primary), "{args}");
        assert_eq!(
            (m.username.as_str(), m.password.as_str(), m.line),
            ("mon", "pw", 3)
        );
    }
    // Any other role word means secondary (with a warning).
    let conf = check_upsmon(
        "MONITOR f@h 1 u p observer\n",
        &[(3, 'W', "treated as secondary")],
    );
    assert!(!conf.monitors[1].primary);
}

#[test]
fn upsmon_system_names() {
    assert_eq!(
        parse_system_name("ups"),
        Ok(("ups".into(), "localhost".into(), 3493))
    );
    assert_eq!(
        parse_system_name("ups@h:1"),
        Ok(("ups".into(), "h".into(), 1))
    );
    assert_eq!(
        parse_system_name("ups@[::1]:3493"),
        Ok(("ups".into(), "::1".into(), 3493))
    );
    for bad in [
        "ups:3493",
        "@host",
        "@",
        "ups@",
        "ups@h:port",
        "ups@h:70000",
        "ups@h:0",
        "ups@[::1",
        "ups@[::1]x",
    ] {
        assert!(parse_system_name(bad).is_err(), "{bad} should be rejected");
    }
}

#[test]
fn upsmon_monitor_mistakes() {
    let conf = check_upsmon(
        "MONITOR old@localhost 1 pw master\n\
         MONITOR base@localhost 1 other pw secondary\n\
         MONITOR x@h -1 u p primary\n\
         MONITOR y:3493 1 u p primary\n\
         MONITOR z@h 1 u\n\
         MONITOR ok@h 1 u p primary\n",
        &[
            (3, 'E', "old-style MONITOR line without a user name"),
            (4, 'W', "duplicate UPS [base@localhost] ignored"),
            (5, 'E', "power value"),
            (6, 'E', "has a port but no host"),
            (7, 'E', "missing value"),
        ],
    );
    let systems: Vec<&str> = conf.monitors.iter().map(|m| m.system.as_str()).collect();
    assert_eq!(systems, vec!["base@localhost", "ok@h"]);
    assert_eq!(conf.monitors[0].username, "mon");
}

#[test]
fn upsmon_all_directives() {
    let conf = check_upsmon(
        r#"MINSUPPLIES 1
SHUTDOWNCMD "/sbin/shutdown -h +0"
NOTIFYCMD /usr/sbin/upssched
POLLFREQ 10
POLLFREQALERT 2
DEADTIME 25
HOSTSYNC 30
FINALDELAY 0
RBWARNTIME 3600
NOCOMMWARNTIME 60
RUN_AS_USER nut
OFFDURATION -1
OVERDURATION 120
ALARMCRITICAL 0
OBLBDURATION 5
SHUTDOWNEXIT 30
POLLFAIL_LOG_THROTTLE_MAX 10
CERTPATH /etc/ssl/certs
CERTFILE /etc/nut/client.pem
CERTIDENT "my client" pw
CERTHOST localhost "my server" 1 0
CERTVERIFY 1
FORCESSL 1
Debug_Min 3
"#,
        &[],
    );
    assert_eq!(conf.shutdowncmd.as_deref(), Some("/sbin/shutdown -h +0"));
    assert_eq!(conf.notifycmd.as_deref(), Some("/usr/sbin/upssched"));
    assert_eq!(
        (
            conf.pollfreq_s,
            conf.pollfreqalert_s,
            conf.deadtime_s,
            conf.hostsync_s,
            conf.finaldelay_s
        ),
        (10, 2, 25, 30, 0)
    );
    assert_eq!((conf.rbwarntime_s, conf.nocommwarntime_s), (3600, 60));
    assert_eq!(conf.powerdownflag.as_deref(), Some("/etc/killpower"));
    assert_eq!(conf.run_as_user.as_deref(), Some("nut"));
    assert_eq!(
        (conf.offduration_s, conf.overduration_s, conf.oblbduration_s),
        (-1, 120, 5)
    );
    assert!(!conf.alarmcritical);
    assert_eq!(conf.shutdownexit, ShutdownExit::AfterSeconds(30));
    assert_eq!(conf.pollfail_log_throttle_max, 10);
    assert_eq!(conf.certpath.as_deref(), Some("/etc/ssl/certs"));
    assert_eq!(conf.certident, Some(("my client".into(), "pw".into())));
    assert_eq!(
        conf.certhosts,
        vec![("localhost".into(), "my server".into(), true, false)]
    );
    assert!(conf.certverify && conf.forcessl);
    assert_eq!(conf.debug_min, Some(3));
}

#[test]
fn upsmon_defaults() {
    let conf = check_upsmon("", &[]);
    let d = UpsmonConf::default();
    assert_eq!(
        (d.minsupplies, d.pollfreq_s, d.pollfreqalert_s, d.deadtime_s),
        (1, 5, 5, 15)
    );
    assert_eq!(
        (
            d.hostsync_s,
            d.finaldelay_s,
            d.rbwarntime_s,
            d.nocommwarntime_s
        ),
        (15, 5, 43200, 300)
    );
    assert_eq!(
        (d.offduration_s, d.overduration_s, d.oblbduration_s),
        (30, -1, 0)
    );
    assert!(d.alarmcritical);
    assert_eq!(d.shutdownexit, ShutdownExit::Yes);
    assert_eq!(d.pollfail_log_throttle_max, -1);
    assert_eq!(conf.monitors.len(), 1);
    assert_eq!(conf.pollfreq_s, 5);
}

#[test]
fn upsmon_shutdown_commands() {
    let conf = check_upsmon(
        "SHUTDOWNCMD /sbin/shutdown -h now\nNOTIFYCMD \"/usr/bin/logger -t ups\"\n",
        &[],
    );
    assert_eq!(conf.shutdowncmd.as_deref(), Some("/sbin/shutdown -h now"));
    assert_eq!(conf.notifycmd.as_deref(), Some("/usr/bin/logger -t ups"));
    for (word, expected) in [
        ("yes", ShutdownExit::Yes),
        ("true", ShutdownExit::Yes),
        ("no", ShutdownExit::No),
        ("OFF", ShutdownExit::No),
        ("0", ShutdownExit::Yes),
        ("45", ShutdownExit::AfterSeconds(45)),
    ] {
        assert_eq!(
            check_upsmon(&format!("SHUTDOWNEXIT {word}\n"), &[]).shutdownexit,
            expected
        );
    }
    check_upsmon(
        "SHUTDOWNEXIT later\n",
        &[(3, 'E', "expected yes, no or a number of seconds")],
    );
}

#[test]
fn upsmon_notify_settings() {
    let conf = check_upsmon(
        "NOTIFYMSG ONBATT \"UPS %s is on battery, \\\"act\\\" now\"\n\
         NOTIFYFLAG ONBATT SYSLOG+WALL+EXEC\n\
         NOTIFYFLAG LOWBATT IGNORE\n\
         NOTIFYFLAG SHUTDOWN_HOSTSYNC EXEC\n\
         NOTIFYMSG onbatt \"x\"\n\
         NOTIFYFLAG ONLINE SYSLOG+BEEP\n\
         NOTIFYMSG BOGUS \"x\"\n\
         NOTIFYFLAG ONLINE\n",
        &[
            (7, 'E', "unknown notification type \"onbatt\""),
            (8, 'E', "unknown flag \"BEEP\""),
            (9, 'E', "unknown notification type \"BOGUS\""),
            (10, 'E', "missing value"),
        ],
    );
    assert_eq!(
        conf.message_for(NotifyType::OnBatt),
        "UPS %s is on battery, \"act\" now"
    );
    assert_eq!(conf.message_for(NotifyType::Online), "UPS %s on line power");
    let onbatt = conf.flags_for(NotifyType::OnBatt);
    assert!(onbatt.syslog && onbatt.wall && onbatt.exec && !onbatt.ignore);
    assert!(conf.flags_for(NotifyType::LowBatt).ignore);
    assert!(
        !conf.flags_for(NotifyType::LowBatt).syslog,
        "NOTIFYFLAG replaces the defaults"
    );
    assert!(conf.flags_for(NotifyType::ShutdownHostsync).exec);
    assert_eq!(
        conf.flags_for(NotifyType::Online),
        NotifyFlags::default_for(NotifyType::Online)
    );
    assert_eq!(conf.notify_flags.len(), 3);
}

#[test]
fn upsmon_startup_checks() {
    check_upsmon_raw(
        "MINSUPPLIES 1\nPOWERDOWNFLAG /etc/killpower\n",
        &[
            (0, 'E', "no MONITOR line"),
            (1, 'E', "insufficient power configured"),
        ],
    );
    check_upsmon_raw(
        "MONITOR a@h 1 u p primary\nMONITOR b@h 0 u p primary\nMINSUPPLIES 2\nPOWERDOWNFLAG /f\n",
        &[(3, 'E', "sum of power values is 1 but MINSUPPLIES is 2")],
    );
    check_upsmon_raw(
        "MONITOR a@h 0 u p secondary\nMINSUPPLIES 0\nPOWERDOWNFLAG /f\n",
        &[],
    );
    check_upsmon_raw(
        "MONITOR a@h 1 u p primary\n",
        &[(0, 'W', "POWERDOWNFLAG: no POWERDOWNFLAG configured")],
    );
    // A secondary's upsmon needs no flag: only the primary's late shutdown uses it.
    check_upsmon_raw("MONITOR a@h 1 u p secondary\n", &[]);
}

#[test]
fn upsmon_mistakes_keep_good_lines() {
    let conf = check_upsmon(
        "POLLFREQ abc\n\
         pollfreq 3\n\
         FROBNICATE 1\n\
         DEADTIME\n\
         HOSTSYNC 20\n\
         FINALDELAY 1 2\n\
         OFFDURATION soon\n\
         ALARMCRITICAL maybe\n\
         MINSUPPLIES -1\n\
         CERTHOST h n yes perhaps\n\
         RBWARNTIME 100\n",
        &[
            (
                3,
                'E',
                "POLLFREQ: expected a whole number of seconds, got \"abc\"",
            ),
            (4, 'E', "keywords are case-sensitive"),
            (5, 'E', "FROBNICATE: unknown directive"),
            (6, 'E', "DEADTIME: missing value"),
            (8, 'W', "extra word"),
            (9, 'E', "OFFDURATION"),
            (10, 'E', "ALARMCRITICAL"),
            (11, 'E', "MINSUPPLIES"),
            (12, 'E', "CERTHOST"),
        ],
    );
    assert_eq!(conf.pollfreq_s, 5);
    assert_eq!(conf.hostsync_s, 20);
    assert_eq!(conf.finaldelay_s, 1);
    assert_eq!(conf.rbwarntime_s, 100);
    assert!(conf.alarmcritical);
    assert!(conf.certhosts.is_empty());
}

// ---------------------------------------------------------------- upssched.conf

const SCHED: &str = r#"CMDSCRIPT /usr/bin/upssched-cmd
PIPEFN /run/nut/upssched.pipe
LOCKFN /run/nut/upssched.lock
AT ONBATT * START-TIMER onbattwarn 30
AT ONLINE * CANCEL-TIMER onbattwarn
AT online ups@host CANCEL-TIMER onbattwarn "power back"
AT LOWBATT ups@host EXECUTE lowbatt
AT COMMBAD * START-TIMER-SHARED commbad 60
AT COMMOK * CANCEL-TIMER-MATCHED commbad
AT COMMOK * cancel-timer-matched commbad2 restored
"#;

#[test]
fn upssched_rules() {
    let conf = check_sched(SCHED, &[]);
    assert_eq!(conf.cmdscript.as_deref(), Some("/usr/bin/upssched-cmd"));
    assert!(conf.cmdscript_args.is_empty());
    assert_eq!(conf.pipefn.as_deref(), Some("/run/nut/upssched.pipe"));
    assert_eq!(conf.lockfn.as_deref(), Some("/run/nut/upssched.lock"));
    let actions: Vec<&AtAction> = conf.rules.iter().map(|r| &r.action).collect();
    assert_eq!(
        actions,
        vec![
            &AtAction::StartTimer {
                name: "onbattwarn".into(),
                seconds: 30
            },
            &AtAction::CancelTimer {
                name: "onbattwarn".into(),
                cmd: None
            },
            &AtAction::CancelTimer {
                name: "onbattwarn".into(),
                cmd: Some("power back".into())
            },
            &AtAction::Execute {
                cmd: "lowbatt".into()
            },
            &AtAction::StartTimerShared {
                name: "commbad".into(),
                seconds: 60
            },
            &AtAction::CancelTimerMatched {
                name: "commbad".into(),
                cmd: None
            },
            &AtAction::CancelTimerMatched {
                name: "commbad2".into(),
                cmd: Some("restored".into())
            },
        ]
    );
    assert_eq!(conf.rules[2].notify_type, "ONLINE");
    assert_eq!(conf.rules[2].ups, "ups@host");
    assert_eq!(conf.rules[0].line, 4);
}

#[test]
fn upssched_matching() {
    let conf = check_sched(SCHED, &[]);
    // (type, ups) -> lines of the rules that fire
    let table: &[(&str, &str, &[usize])] = &[
        ("ONBATT", "ups@host", &[4]),
        ("onbatt", "other@host", &[4]),
        ("ONLINE", "ups@host", &[5, 6]),
        ("ONLINE", "ups", &[5]),
        ("LOWBATT", "UPS@host", &[]),
        ("LOWBATT", "ups@host", &[7]),
        ("COMMOK", "x@y", &[9, 10]),
        ("FSD", "ups@host", &[]),
    ];
    for (t, ups, lines) in table {
        let fired: Vec<usize> = conf
            .rules
            .iter()
            .filter(|r| r.matches(t, ups))
            .map(|r| r.line)
            .collect();
        assert_eq!(&fired, lines, "{t} {ups}");
    }
}

#[test]
fn upssched_mistakes() {
    let conf = check_sched(
        "CMDSCRIPT /bin/cmd --verbose \"two words\"\n\
         AT ONBATT *\n\
         AT ONBATT * START-TIMER t\n\
         AT ONBATT * START-TIMER t -5\n\
         AT ONBATT * START-TIMER t soon\n\
         AT ONBATT * EXPLODE t\n\
         AT BOGUS * EXECUTE x\n\
         PIPEFN /run/late.pipe\n\
         CMDSCRIPT /bin/late\n\
         WHATEVER x\n\
         debug_min 4\n\
         AT ONBATT * START-TIMER good 10\n",
        &[
            (2, 'E', "incomplete AT line"),
            (3, 'E', "needs a timer name and a number of seconds"),
            (4, 'E', "negative timer length \"-5\""),
            (5, 'E', "expected a whole number of seconds, got \"soon\""),
            (6, 'E', "unknown action \"EXPLODE\""),
            (7, 'W', "unknown notification type \"BOGUS\""),
            (8, 'E', "PIPEFN must be set before the first AT line"),
            (9, 'E', "CMDSCRIPT must be set before the first AT line"),
            (10, 'E', "WHATEVER: unknown directive"),
        ],
    );
    assert_eq!(conf.cmdscript.as_deref(), Some("/bin/cmd"));
    assert_eq!(conf.cmdscript_args, vec!["--verbose", "two words"]);
    assert_eq!(conf.pipefn, None);
    assert_eq!(conf.debug_min, Some(4));
    let lines: Vec<usize> = conf.rules.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![7, 12]);
}

// ---------------------------------------------------------------- nut.conf

#[test]
fn nut_conf_modes() {
    for (text, mode) in [
        ("MODE=none", NutMode::None),
        ("MODE=standalone", NutMode::Standalone),
        ("MODE=netserver", NutMode::Netserver),
        ("MODE=netclient", NutMode::Netclient),
        ("MODE='netserver'", NutMode::Netserver),
        ("MODE=\"netclient\"  # comment", NutMode::Netclient),
        ("  MODE=standalone", NutMode::Standalone),
        ("", NutMode::None),
    ] {
        assert_eq!(check_nut(text, &[]).mode, mode, "{text}");
    }
}

#[test]
fn nut_conf_values_and_quotes() {
    let conf = check_nut(
        "# comment\nMODE=netserver\nUPSD_OPTIONS='-D -u nut'\nUPSMON_OPTIONS=\"-p \\\"x\\\"\"\n\
         POWEROFF_WAIT=15m\nexport NUT_DEBUG_LEVEL=2\nEMPTY=\n",
        &[],
    );
    assert_eq!(conf.mode, NutMode::Netserver);
    let expect: Vec<(String, String)> = [
        ("MODE", "netserver"),
        ("UPSD_OPTIONS", "-D -u nut"),
        ("UPSMON_OPTIONS", "-p \"x\""),
        ("POWEROFF_WAIT", "15m"),
        ("NUT_DEBUG_LEVEL", "2"),
        ("EMPTY", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(conf.vars, expect);
}

#[test]
fn nut_conf_mistakes() {
    let conf = check_nut(
        "MODE = standalone\nMODE=server\nJUST TEXT\nUPSD_OPTIONS=-D -u nut\nX='open\n1BAD=x\nMODE =netclient\n\
         POWEROFF_WAIT=5\n",
        &[
            (1, 'E', "no spaces around '=' in shell syntax"),
            (2, 'E', "unknown MODE \"server\""),
            (3, 'E', "expected KEY=value"),
            (4, 'E', "unexpected text"),
            (5, 'E', "unterminated single quote"),
            (6, 'E', "not a valid variable name"),
            (7, 'E', "no spaces around '='"),
        ],
    );
    assert_eq!(conf.mode, NutMode::None);
    assert_eq!(
        conf.vars,
        vec![("POWEROFF_WAIT".to_string(), "5".to_string())]
    );
}

// ---------------------------------------------------------------- robustness

#[test]
fn garbage_never_panics() {
    // A deterministic pseudo-random byte soup, biased towards the interesting bytes.
    let alphabet = b"[]=\"'\\# \t\n\r@:-.0123456789abcATMONITORLISTENMODE\x00\xff\xc3";
    let mut state: u32 = 12345;
    for round in 0..200 {
        let len = (round * 7) % 300;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                alphabet[(state >> 16) as usize % alphabet.len()]
            })
            .collect();
        let _ = parse_ups_conf("f", &bytes);
        let _ = parse_upsd_conf("f", &bytes);
        let _ = parse_upsd_users("f", &bytes);
        let _ = parse_upsmon_conf("f", &bytes);
        let _ = parse_upssched_conf("f", &bytes);
        let _ = parse_nut_conf("f", &bytes);
    }
}

#[test]
fn ups_conf_several_sections_in_order() {
    let conf = check_ups(
        "[b]\ndriver = d\nport = p\n[a] extra\ndriver = d\nport = q\n",
        &[(4, 'W', "extra word")],
    );
    let names: Vec<&str> = conf.upses.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, vec!["b", "a"]);
    assert_eq!(conf.find("A").unwrap().port.as_deref(), Some("q"));
    assert!(conf.find("c").is_none());
    assert_eq!(conf.upses[1].line, 4);
}

#[test]
fn diagnostics_carry_columns() {
    let parsed = parse_upsd_conf("upsd.conf", b"   BOGUS 1\n\tMAXAGE x\n");
    let positions: Vec<(usize, usize)> = parsed
        .diagnostics
        .iter()
        .map(|d| (d.line, d.column))
        .collect();
    assert_eq!(positions, vec![(1, 4), (2, 2)]);
    let empty = parse_upsd_conf("upsd.conf", b"MAXAGE \"\"\nLISTEN \"\" \"\"\n");
    assert!(empty.has_errors());
    let nut = parse_nut_conf("nut.conf", b"  MODE=bad\n");
    assert_eq!((nut.diagnostics[0].line, nut.diagnostics[0].column), (1, 3));
}
