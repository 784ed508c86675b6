//! nut-notify's pure parts: its config file, the event as JSON, the MQTT topics and
//! Home Assistant discovery payloads, and MQTT 3.1.1 packets (encode, and decode the
//! acknowledgements nut-notify waits for). No IO.
//!
//! nut-notify goes behind upsmon's NOTIFYCMD, so upsmon.conf stays NUT's: upsmon runs
//! it with the message as its argument and `UPSNAME`/`NOTIFYTYPE` in the environment.

use crate::config::{Diagnostic, Severity};
use crate::notify::NotifyType;
use crate::tokenizer::tokenize;

/// Events kept in each sink's queue; the oldest are dropped beyond this.
pub const DEFAULT_QUEUE_MAX: usize = 100;
/// The config file's name (in NUT_CONFPATH).
pub const RELAY_CONF: &str = "nut-notify.conf";
/// How long one run keeps retrying a sink by default, in seconds.
pub const DEFAULT_DEADLINE_S: u64 = 15;
/// Longest `DEADLINE`, in seconds (NOTIFYCMD runs must end).
pub const MAX_DEADLINE_S: u64 = 300;
/// Default MQTT topic prefix.
pub const DEFAULT_MQTT_PREFIX: &str = "nut";
/// Home Assistant's discovery prefix.
pub const HA_DISCOVERY_PREFIX: &str = "homeassistant";

/// An MQTT broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttTarget {
    /// Host name or address.
    pub host: String,
    /// Port (1883).
    pub port: u16,
    /// Optional user name and password.
    pub login: Option<(String, String)>,
}

/// nut-notify.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConf {
    /// `WEBHOOK <url>`: JSON POSTs (several allowed).
    pub webhooks: Vec<String>,
    /// `NTFY <url>`: ntfy topics (`https://ntfy.sh/mytopic`).
    pub ntfy: Vec<String>,
    /// `MQTT <host> [<port> [<user> <password>]]`.
    pub mqtt: Option<MqttTarget>,
    /// `MQTT_PREFIX <prefix>`.
    pub mqtt_prefix: String,
    /// `HA_DISCOVERY on|off` (default on).
    pub ha_discovery: bool,
    /// `SPOOL <dir>`: where undelivered events wait (default: the state path's
    /// `nut-notify` directory).
    pub spool: Option<String>,
    /// `QUEUE_MAX <n>`.
    pub queue_max: usize,
    /// `DEADLINE <seconds>`: how long one run keeps retrying a sink.
    pub deadline_s: u64,
}

impl Default for RelayConf {
    fn default() -> Self {
        RelayConf {
            webhooks: Vec::new(),
            ntfy: Vec::new(),
            mqtt: None,
            mqtt_prefix: DEFAULT_MQTT_PREFIX.into(),
            ha_discovery: true,
            spool: None,
            queue_max: DEFAULT_QUEUE_MAX,
            deadline_s: DEFAULT_DEADLINE_S,
        }
    }
}

/// Parses nut-notify.conf (NUT's tokenizer: quotes and `#` comments as in NUT's files).
/// Every problem is reported with its line; the result is usable only without errors.
pub fn parse_relay_conf(text: &[u8]) -> (RelayConf, Vec<Diagnostic>) {
    let mut conf = RelayConf::default();
    let mut problems = Vec::new();
    for line in tokenize(text) {
        let Some(directive) = line.words.first() else {
            continue;
        };
        if let Some(error) = line.error {
            problems.push(Diagnostic {
                file: RELAY_CONF.into(),
                line: line.line_no,
                column: line.column,
                directive: String::new(),
                severity: Severity::Error,
                message: error.into(),
            });
            continue;
        }
        let args = &line.words[1..];
        let mut error = |message: String| {
            problems.push(Diagnostic {
                file: RELAY_CONF.into(),
                line: line.line_no,
                column: line.column,
                directive: directive.clone(),
                severity: Severity::Error,
                message,
            });
        };
        let url_ok = |u: &str| u.starts_with("http://") || u.starts_with("https://");
        match directive.to_ascii_uppercase().as_str() {
            "WEBHOOK" | "NTFY" => match args {
                [url] if url_ok(url) => {
                    if directive.eq_ignore_ascii_case("WEBHOOK") {
                        conf.webhooks.push(url.clone());
                    } else {
                        conf.ntfy.push(url.clone());
                    }
                }
                _ => error("expects one http:// or https:// URL".into()),
            },
            "MQTT" => {
                let port = match args.get(1) {
                    None => Some(1883),
                    Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0),
                };
                match (args.len(), port) {
                    (1 | 2 | 4, Some(port)) => {
                        conf.mqtt = Some(MqttTarget {
                            host: args[0].clone(),
                            port,
                            login: (args.len() == 4).then(|| (args[2].clone(), args[3].clone())),
                        })
                    }
                    _ => error("expects <host> [<port> [<user> <password>]]".into()),
                }
            }
            "MQTT_PREFIX" => match args {
                [p] if !p.is_empty() && !p.contains(['#', '+']) => conf.mqtt_prefix = p.clone(),
                _ => error("expects one topic prefix without wildcards".into()),
            },
            "HA_DISCOVERY" => match args.first().map(|a| a.to_ascii_lowercase()) {
                Some(v) if args.len() == 1 && (v == "on" || v == "off") => {
                    conf.ha_discovery = v == "on"
                }
                _ => error("expects on or off".into()),
            },
            "SPOOL" => match args {
                [dir] if dir.starts_with('/') => conf.spool = Some(dir.clone()),
                _ => error("expects one absolute directory".into()),
            },
            "QUEUE_MAX" => match args.first().and_then(|a| a.parse::<usize>().ok()) {
                Some(n) if args.len() == 1 && n > 0 && n <= 100_000 => conf.queue_max = n,
                _ => error("expects a number of events from 1 to 100000".into()),
            },
            "DEADLINE" => match args.first().and_then(|a| a.parse::<u64>().ok()) {
                Some(n) if args.len() == 1 && n > 0 && n <= MAX_DEADLINE_S => conf.deadline_s = n,
                _ => error(format!(
                    "expects a number of seconds from 1 to {MAX_DEADLINE_S}"
                )),
            },
            _ => error("unknown directive".into()),
        }
    }
    (conf, problems)
}

/// One notification as nut-notify relays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayEvent {
    /// `UPSNAME` (the MONITOR system name, `ups@host`), empty for host-wide events.
    pub ups: String,
    /// `NOTIFYTYPE`.
    pub kind: String,
    /// The message (NOTIFYCMD's argument).
    pub message: String,
    /// When, as RFC 3339 UTC text.
    pub time: String,
    /// The host that sent it.
    pub host: String,
}

pub use crate::upsc::json_string;

impl RelayEvent {
    /// The JSON object webhooks receive and the MQTT event topic carries.
    pub fn json(&self) -> String {
        format!(
            "{{\"ups\":{},\"type\":{},\"message\":{},\"time\":{},\"host\":{}}}",
            json_string(&self.ups),
            json_string(&self.kind),
            json_string(&self.message),
            json_string(&self.time),
            json_string(&self.host)
        )
    }

    /// Parses [`RelayEvent::json`]'s output back (the spool files).
    pub fn from_json(text: &str) -> Option<RelayEvent> {
        let field = |name: &str| -> Option<String> {
            let key = format!("\"{name}\":\"");
            let start = text.find(&key)? + key.len();
            let mut out = String::new();
            let mut chars = text[start..].chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => return Some(out),
                    '\\' => match chars.next()? {
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => {
                            let hex: String = chars.by_ref().take(4).collect();
                            out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                        }
                        other => out.push(other),
                    },
                    c => out.push(c),
                }
            }
            None
        };
        Some(RelayEvent {
            ups: field("ups")?,
            kind: field("type")?,
            message: field("message")?,
            time: field("time")?,
            host: field("host")?,
        })
    }

    /// The UPS part of the system name, made safe for a topic level
    /// (`ups1@nas:3493` -> `ups1_nas`).
    pub fn topic_id(&self) -> String {
        let name = if self.ups.is_empty() {
            &self.host
        } else {
            &self.ups
        };
        let base = name.split(':').next().unwrap_or(name);
        base.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// ntfy's title and priority for this event.
    pub fn ntfy_headers(&self) -> (String, &'static str) {
        let priority = match NotifyType::parse(&self.kind) {
            Some(NotifyType::LowBatt | NotifyType::Fsd | NotifyType::Shutdown) => "urgent",
            Some(NotifyType::OnBatt | NotifyType::CommBad | NotifyType::NoComm) => "high",
            _ => "default",
        };
        (
            format!("{} {}", self.kind, self.ups).trim().to_string(),
            priority,
        )
    }
}

/// The UPS state a notification implies, for the retained state topic (`None`: the
/// event says nothing about power, e.g. REPLBATT).
pub fn state_of(kind: &str) -> Option<&'static str> {
    Some(match NotifyType::parse(kind)? {
        NotifyType::Online => "online",
        NotifyType::OnBatt => "on_battery",
        NotifyType::LowBatt => "low_battery",
        NotifyType::Fsd | NotifyType::Shutdown => "shutting_down",
        NotifyType::CommBad | NotifyType::NoComm => "unreachable",
        _ => return None,
    })
}

/// One MQTT message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttMessage {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: String,
    /// Retained by the broker (state and discovery).
    pub retain: bool,
}

/// What an event publishes: HA discovery (retained), the state (retained, when the
/// event implies one) and the event itself.
pub fn mqtt_messages(event: &RelayEvent, prefix: &str, discovery: bool) -> Vec<MqttMessage> {
    let id = event.topic_id();
    let base = format!("{prefix}/{id}");
    let mut out = Vec::new();
    if discovery {
        let device = format!(
            "{{\"identifiers\":[{}],\"name\":{},\"manufacturer\":\"Network UPS Tools\"}}",
            json_string(&format!("nut_{id}")),
            json_string(&event.ups)
        );
        out.push(MqttMessage {
            topic: format!("{HA_DISCOVERY_PREFIX}/sensor/nut_{id}/state/config"),
            payload: format!(
                "{{\"name\":\"Power state\",\"unique_id\":{},\"state_topic\":{},\"icon\":\"mdi:power-plug-battery\",\"device\":{device}}}",
                json_string(&format!("nut_{id}_state")),
                json_string(&format!("{base}/state"))
            ),
            retain: true,
        });
        out.push(MqttMessage {
            topic: format!("{HA_DISCOVERY_PREFIX}/sensor/nut_{id}/event/config"),
            payload: format!(
                "{{\"name\":\"Last event\",\"unique_id\":{},\"state_topic\":{},\"value_template\":\"{{{{ value_json.type }}}}\",\"json_attributes_topic\":{},\"device\":{device}}}",
                json_string(&format!("nut_{id}_event")),
                json_string(&format!("{base}/event")),
                json_string(&format!("{base}/event"))
            ),
            retain: true,
        });
    }
    if let Some(state) = state_of(&event.kind) {
        out.push(MqttMessage {
            topic: format!("{base}/state"),
            payload: state.to_string(),
            retain: true,
        });
    }
    out.push(MqttMessage {
        topic: format!("{base}/event"),
        payload: event.json(),
        retain: false,
    });
    out
}

/// MQTT 3.1.1 packets (OASIS mqtt-v3.1.1, section 3).
pub mod mqtt {
    fn remaining_length(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let mut byte = (n % 128) as u8;
            n /= 128;
            if n > 0 {
                byte |= 0x80;
            }
            out.push(byte);
            if n == 0 {
                break;
            }
        }
    }

    fn string(s: &str, out: &mut Vec<u8>) {
        let bytes = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
        out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        out.extend_from_slice(bytes);
    }

    fn packet(kind: u8, body: Vec<u8>) -> Vec<u8> {
        let mut out = vec![kind];
        remaining_length(body.len(), &mut out);
        out.extend(body);
        out
    }

    /// CONNECT with a clean session and `keepalive_s`.
    pub fn connect(client_id: &str, login: Option<(&str, &str)>, keepalive_s: u16) -> Vec<u8> {
        let mut body = Vec::new();
        string("MQTT", &mut body);
        body.push(4);
        let mut flags = 0x02;
        if login.is_some() {
            flags |= 0xc0;
        }
        body.push(flags);
        body.extend_from_slice(&keepalive_s.to_be_bytes());
        string(client_id, &mut body);
        if let Some((user, password)) = login {
            string(user, &mut body);
            string(password, &mut body);
        }
        packet(0x10, body)
    }

    /// PUBLISH at QoS 1.
    pub fn publish(topic: &str, payload: &[u8], retain: bool, packet_id: u16) -> Vec<u8> {
        let mut body = Vec::new();
        string(topic, &mut body);
        body.extend_from_slice(&packet_id.to_be_bytes());
        body.extend_from_slice(payload);
        packet(0x32 | u8::from(retain), body)
    }

    /// DISCONNECT.
    pub fn disconnect() -> Vec<u8> {
        vec![0xe0, 0x00]
    }

    /// A packet the broker sent, as far as nut-notify cares.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Incoming {
        /// CONNACK with its return code (0 = accepted).
        ConnAck(u8),
        /// PUBACK for a packet id.
        PubAck(u16),
        /// Anything else.
        Other,
    }

    /// A remaining-length field longer than MQTT's four bytes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Malformed;

    /// Splits one packet off the front of `buf`: the packet and its length, or `None`
    /// when more bytes are needed; `Err` for a malformed length.
    pub fn decode(buf: &[u8]) -> Result<Option<(Incoming, usize)>, Malformed> {
        let Some(&kind) = buf.first() else {
            return Ok(None);
        };
        let mut len = 0usize;
        let mut shift = 0;
        let mut i = 1;
        loop {
            let Some(&b) = buf.get(i) else {
                return Ok(None);
            };
            len |= ((b & 0x7f) as usize) << shift;
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 21 {
                return Err(Malformed);
            }
        }
        if buf.len() < i + len {
            return Ok(None);
        }
        let body = &buf[i..i + len];
        let incoming = match (kind >> 4, body) {
            (2, [_, rc]) => Incoming::ConnAck(*rc),
            (4, [hi, lo]) => Incoming::PubAck(u16::from_be_bytes([*hi, *lo])),
            _ => Incoming::Other,
        };
        Ok(Some((incoming, i + len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> RelayEvent {
        RelayEvent {
            ups: "ups1@nas:3493".into(),
            kind: "ONBATT".into(),
            message: "UPS \"ups1\" on battery\n".into(),
            time: "2026-11-30T09:00:00Z".into(),
            host: "db1".into(),
        }
    }

    #[test]
    fn config_is_checked_line_by_line() {
        let (conf, problems) = parse_relay_conf(
            b"WEBHOOK http://127.0.0.1:8080/hook\nNTFY https://ntfy.sh/x\nMQTT broker 1884 u \"p w\"\nHA_DISCOVERY off\nQUEUE_MAX 5\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(conf.webhooks, vec!["http://127.0.0.1:8080/hook"]);
        let mqtt = conf.mqtt.unwrap();
        assert_eq!(
            (mqtt.port, mqtt.login),
            (1884, Some(("u".into(), "p w".into())))
        );
        assert!(!conf.ha_discovery);
        assert_eq!(conf.queue_max, 5);
        let (_, problems) = parse_relay_conf(b"WEBHOOK ftp://x\n\nMQTT b notaport\nBOGUS 1\n");
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![1, 3, 4]);
    }

    #[test]
    fn json_round_trips_and_topics_are_safe() {
        let e = event();
        assert_eq!(RelayEvent::from_json(&e.json()), Some(e.clone()));
        assert_eq!(e.topic_id(), "ups1_nas");
        let messages = mqtt_messages(&e, "nut", true);
        let topics: Vec<&str> = messages.iter().map(|m| m.topic.as_str()).collect();
        assert_eq!(
            topics,
            vec![
                "homeassistant/sensor/nut_ups1_nas/state/config",
                "homeassistant/sensor/nut_ups1_nas/event/config",
                "nut/ups1_nas/state",
                "nut/ups1_nas/event"
            ]
        );
        assert_eq!(messages[2].payload, "on_battery");
        assert!(messages[1]
            .payload
            .contains("\"value_template\":\"{{ value_json.type }}\""));
        assert!(mqtt_messages(
            &RelayEvent {
                kind: "REPLBATT".into(),
                ..e
            },
            "nut",
            false
        )
        .iter()
        .all(|m| !m.retain));
    }

    #[test]
    fn mqtt_packets() {
        let c = mqtt::connect("nut-notify", Some(("u", "p")), 30);
        assert_eq!(&c[..2], &[0x10, 28]);
        assert_eq!(c[9], 0xc2);
        let long = "x".repeat(200);
        let p = mqtt::publish("t", long.as_bytes(), true, 7);
        assert_eq!(&p[..3], &[0x33, 205, 1]);
        assert_eq!(
            mqtt::decode(&[0x20, 2, 0, 0]),
            Ok(Some((mqtt::Incoming::ConnAck(0), 4)))
        );
        assert_eq!(
            mqtt::decode(&[0x40, 2, 0, 7, 9]),
            Ok(Some((mqtt::Incoming::PubAck(7), 4)))
        );
        assert_eq!(mqtt::decode(&[0x40, 2, 0]), Ok(None));
        assert_eq!(
            mqtt::decode(&[0x40, 0xff, 0xff, 0xff, 0xff, 1]),
            Err(mqtt::Malformed)
        );
    }
}
