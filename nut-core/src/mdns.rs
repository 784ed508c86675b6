//! Multicast DNS service announcement (RFC 6762) with DNS-SD records (RFC 6763): how
//! upsd makes itself known on the local network.
//!
//! Two service types are announced under one instance name (the host name by default):
//! - `_nut._tcp`, the type of NUT's Avahi service file (scripts/avahi/nut.service.in)
//!   and the one Home Assistant's NUT integration discovers;
//! - `_upsd._tcp` with a `device_list` TXT entry naming the UPSes, the type and entry
//!   NUT's `nut-scanner -A` reads (tools/nut-scanner/scan_avahi.c).
//!
//! The responder probes its instance name (RFC 6762 §8.1), breaks simultaneous-probe
//! ties (§8.2), announces (§8.3), answers queries (multicast, and legacy unicast for
//! queries from a port other than 5353, §6.7), applies known-answer suppression
//! (§7.1), renames itself "name (2)", "name (3)"... when another responder holds the
//! name (§9), and says goodbye with TTL 0 (§10.1). The host name's address records are
//! answered but not defended: the system's own mDNS responder, when there is one, owns
//! the host name. IPv4 only.
//!
//! Sans-IO: received packets and `now` in, packets to send out. Parsing never panics.

use crate::Millis;

/// The mDNS port (RFC 6762 §3).
pub const MDNS_PORT: u16 = 5353;
/// The IPv4 mDNS group.
pub const MDNS_GROUP_V4: [u8; 4] = [224, 0, 0, 251];
/// Largest packet handled or sent, in bytes (RFC 6762 §17: 9000 including headers).
pub const MAX_PACKET_BYTES: usize = 9000;
/// TTL of records naming the host (A, SRV), in seconds (RFC 6762 §10).
pub const HOST_TTL_S: u32 = 120;
/// TTL of the other records (PTR, TXT), in seconds (RFC 6762 §10: 75 minutes).
pub const OTHER_TTL_S: u32 = 4500;
/// TTL cap for legacy unicast answers, in seconds (RFC 6762 §6.7).
pub const LEGACY_TTL_S: u32 = 10;
/// Interval between probes, in milliseconds (RFC 6762 §8.1).
pub const PROBE_INTERVAL_MS: Millis = 250;
/// Probes sent before a name is taken as ours.
pub const PROBES: u8 = 3;
/// Announcements sent once the name is ours; the interval starts at one second and
/// doubles (RFC 6762 §8.3).
pub const ANNOUNCEMENTS: u8 = 3;
/// Wait after losing a simultaneous probe, in milliseconds (RFC 6762 §8.2).
pub const LOST_TIEBREAK_WAIT_MS: Millis = 1000;
/// Renames tried before giving up on announcing.
pub const MAX_RENAMES: u32 = 99;
/// Longest DNS label, in bytes.
pub const MAX_LABEL_BYTES: usize = 63;
/// Compression pointers followed in one name before it is refused.
const MAX_POINTER_HOPS: usize = 64;

/// The service types announced, without the `.local` domain.
pub const SERVICE_TYPES: [&str; 2] = ["_nut._tcp", "_upsd._tcp"];

const TYPE_A: u16 = 1;
const TYPE_PTR: u16 = 12;
const TYPE_TXT: u16 = 16;
const TYPE_SRV: u16 = 33;
const TYPE_ANY: u16 = 255;
const CLASS_IN: u16 = 1;
/// Top bit of a record's class: cache-flush in answers, unicast-response in questions.
const CLASS_TOP_BIT: u16 = 0x8000;
const FLAG_RESPONSE: u16 = 0x8000;
const FLAG_AUTHORITATIVE: u16 = 0x0400;
const OPCODE_MASK: u16 = 0x7800;

/// A domain name as its labels, compared without regard to ASCII case.
#[derive(Debug, Clone, Eq)]
pub struct Name(pub Vec<Vec<u8>>);

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    }
}

impl Name {
    /// `instance` (one label, dots allowed inside) followed by the labels of `rest`.
    pub fn new(instance: Option<&str>, rest: &str) -> Name {
        let mut labels = Vec::new();
        if let Some(label) = instance {
            labels.push(label.as_bytes().to_vec());
        }
        labels.extend(
            rest.split('.')
                .filter(|l| !l.is_empty())
                .map(|l| l.as_bytes().to_vec()),
        );
        Name(labels)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        for label in &self.0 {
            let label = &label[..label.len().min(MAX_LABEL_BYTES)];
            out.push(label.len() as u8);
            out.extend_from_slice(label);
        }
        out.push(0);
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for label in &self.0 {
            write!(f, "{}.", String::from_utf8_lossy(label))?;
        }
        Ok(())
    }
}

/// A resource record. Names inside PTR and SRV data are kept uncompressed, so records
/// from the network compare with ours byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub name: Name,
    /// Record type (A = 1, PTR = 12, TXT = 16, SRV = 33).
    pub rtype: u16,
    /// Class without the top bit (IN = 1).
    pub class: u16,
    /// Cache-flush bit (answers) or unicast-response bit (questions).
    pub top_bit: bool,
    /// Time to live in seconds (0: goodbye).
    pub ttl: u32,
    /// Record data, names uncompressed.
    pub rdata: Vec<u8>,
}

impl Record {
    fn same_data(&self, other: &Record) -> bool {
        self.name == other.name
            && self.rtype == other.rtype
            && self.class == other.class
            && self.rdata == other.rdata
    }

    fn encode(&self, out: &mut Vec<u8>) {
        self.name.encode(out);
        out.extend_from_slice(&self.rtype.to_be_bytes());
        let class = self.class | if self.top_bit { CLASS_TOP_BIT } else { 0 };
        out.extend_from_slice(&class.to_be_bytes());
        out.extend_from_slice(&self.ttl.to_be_bytes());
        out.extend_from_slice(&(self.rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.rdata);
    }
}

/// A question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Name asked about.
    pub name: Name,
    /// Type asked for (255: any).
    pub qtype: u16,
    /// Unicast response requested (QU).
    pub unicast: bool,
}

/// A parsed DNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Message ID (0 in mDNS except legacy queries).
    pub id: u16,
    /// Header flags.
    pub flags: u16,
    /// Question section.
    pub questions: Vec<Question>,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section (the proposed records of a probe).
    pub authority: Vec<Record>,
    /// Additional section.
    pub additional: Vec<Record>,
}

impl Message {
    /// Whether this is a response (QR set).
    pub fn is_response(&self) -> bool {
        self.flags & FLAG_RESPONSE != 0
    }

    /// Encodes the message (no name compression).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        for count in [
            self.questions.len(),
            self.answers.len(),
            self.authority.len(),
            self.additional.len(),
        ] {
            out.extend_from_slice(&(count as u16).to_be_bytes());
        }
        for q in &self.questions {
            q.name.encode(&mut out);
            out.extend_from_slice(&q.qtype.to_be_bytes());
            let class = CLASS_IN | if q.unicast { CLASS_TOP_BIT } else { 0 };
            out.extend_from_slice(&class.to_be_bytes());
        }
        for r in self
            .answers
            .iter()
            .chain(&self.authority)
            .chain(&self.additional)
        {
            r.encode(&mut out);
        }
        out
    }

    /// Parses a packet; `None` when it is malformed or longer than [`MAX_PACKET_BYTES`].
    pub fn parse(packet: &[u8]) -> Option<Message> {
        if packet.len() > MAX_PACKET_BYTES {
            return None;
        }
        let mut r = Reader { packet, pos: 0 };
        let id = r.u16()?;
        let flags = r.u16()?;
        let counts = [r.u16()?, r.u16()?, r.u16()?, r.u16()?];
        let mut questions = Vec::new();
        for _ in 0..counts[0] {
            let name = r.name()?;
            let qtype = r.u16()?;
            let class = r.u16()?;
            questions.push(Question {
                name,
                qtype,
                unicast: class & CLASS_TOP_BIT != 0,
            });
        }
        let mut sections: [Vec<Record>; 3] = Default::default();
        for (section, count) in sections.iter_mut().zip(&counts[1..]) {
            for _ in 0..*count {
                section.push(r.record()?);
            }
        }
        let [answers, authority, additional] = sections;
        Some(Message {
            id,
            flags,
            questions,
            answers,
            authority,
            additional,
        })
    }
}

struct Reader<'a> {
    packet: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.pos.checked_add(n)?;
        let slice = self.packet.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A name at the current position, following compression pointers.
    fn name(&mut self) -> Option<Name> {
        let (name, end) = name_at(self.packet, self.pos)?;
        self.pos = end;
        Some(name)
    }

    fn record(&mut self) -> Option<Record> {
        let name = self.name()?;
        let rtype = self.u16()?;
        let class = self.u16()?;
        let ttl = self.u32()?;
        let length = usize::from(self.u16()?);
        let start = self.pos;
        let raw = self.bytes(length)?.to_vec();
        // Names inside PTR and SRV data may point anywhere in the packet.
        let rdata = match rtype {
            TYPE_PTR => {
                let (target, _) = name_at(self.packet, start)?;
                let mut out = Vec::new();
                target.encode(&mut out);
                out
            }
            TYPE_SRV if raw.len() >= 7 => {
                let (target, _) = name_at(self.packet, start + 6)?;
                let mut out = raw[..6].to_vec();
                target.encode(&mut out);
                out
            }
            _ => raw,
        };
        Some(Record {
            name,
            rtype,
            class: class & !CLASS_TOP_BIT,
            top_bit: class & CLASS_TOP_BIT != 0,
            ttl,
            rdata,
        })
    }
}

/// The name starting at `pos`, and where the bytes after it start.
fn name_at(packet: &[u8], mut pos: usize) -> Option<(Name, usize)> {
    let mut labels = Vec::new();
    let mut end = None;
    let mut hops = 0;
    let mut total = 0usize;
    loop {
        let len = *packet.get(pos)?;
        match len {
            0 => {
                return Some((Name(labels), end.unwrap_or(pos + 1)));
            }
            1..=63 => {
                let label = packet.get(pos + 1..pos + 1 + usize::from(len))?;
                total += label.len() + 1;
                if total > 255 {
                    return None;
                }
                labels.push(label.to_vec());
                pos += 1 + usize::from(len);
            }
            0xC0..=0xFF => {
                let low = *packet.get(pos + 1)?;
                if end.is_none() {
                    end = Some(pos + 2);
                }
                hops += 1;
                if hops > MAX_POINTER_HOPS {
                    return None;
                }
                pos = (usize::from(len & 0x3F) << 8) | usize::from(low);
            }
            _ => return None,
        }
    }
}

/// What the responder announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Instance name wanted (one label; the host name by default, as NUT's Avahi file).
    pub instance: String,
    /// Host name, without `.local`.
    pub host: String,
    /// upsd's TCP port.
    pub port: u16,
    /// UPS names for the `device_list` TXT entry.
    pub devices: Vec<String>,
    /// One IPv4 address per link the service is announced on.
    pub links: Vec<[u8; 4]>,
}

/// Where a packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    /// The mDNS group, port 5353.
    Multicast,
    /// A legacy resolver's address and port.
    Unicast([u8; 4], u16),
}

/// A packet to send on link `link` (an index into [`Service::links`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Link index.
    pub link: usize,
    /// Destination.
    pub to: Dest,
    /// Encoded message.
    pub bytes: Vec<u8>,
}

/// Something worth a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The name is ours and announced.
    Announced {
        /// Instance name.
        instance: String,
    },
    /// Another responder holds the name; trying the next one.
    Renamed {
        /// The name given up.
        from: String,
        /// The name now probed.
        to: String,
    },
    /// [`MAX_RENAMES`] names were taken; no longer announcing.
    GaveUp {
        /// The last name tried.
        instance: String,
    },
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::Announced { instance } => write!(
                f,
                "zeroconf: announcing '{instance}' as {} and {}",
                SERVICE_TYPES[0], SERVICE_TYPES[1]
            ),
            Note::Renamed { from, to } => write!(
                f,
                "zeroconf: service name '{from}' is taken on the network, using '{to}'"
            ),
            Note::GaveUp { instance } => write!(
                f,
                "zeroconf: service name '{instance}' is taken on the network and {MAX_RENAMES} others too, no longer announcing"
            ),
        }
    }
}

/// The output of one step.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Output {
    /// Packets to send.
    pub packets: Vec<Packet>,
    /// Log lines.
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Probing { sent: u8 },
    Announcing { sent: u8 },
    Running,
    Stopped,
}

/// The responder's state.
#[derive(Debug, Clone)]
pub struct Responder {
    service: Service,
    instance: String,
    renames: u32,
    phase: Phase,
    next_at: Millis,
}

impl Responder {
    /// Starts probing at `now + delay_ms` (RFC 6762 §8.1 asks for a random delay of up
    /// to 250 ms; the shell draws it).
    pub fn new(service: Service, now: Millis, delay_ms: Millis) -> Responder {
        let instance = truncate_label(&service.instance, "");
        Responder {
            service,
            instance,
            renames: 0,
            phase: Phase::Probing { sent: 0 },
            next_at: now.saturating_add(delay_ms),
        }
    }

    /// The instance name currently probed or announced.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Whether the name is ours (announcing or announced).
    pub fn announced(&self) -> bool {
        matches!(self.phase, Phase::Announcing { .. } | Phase::Running)
    }

    /// When [`Responder::on_timer`] must run next; `None` when nothing is scheduled.
    pub fn next_timer(&self) -> Option<Millis> {
        match self.phase {
            Phase::Probing { .. } | Phase::Announcing { .. } => Some(self.next_at),
            Phase::Running | Phase::Stopped => None,
        }
    }

    fn instance_name(&self, service_type: &str) -> Name {
        Name::new(Some(&self.instance), &format!("{service_type}.local"))
    }

    fn host_name(&self) -> Name {
        Name::new(Some(&self.service.host), "local")
    }

    fn txt(&self, service_type: &str) -> Vec<u8> {
        let mut entries = vec!["txtvers=1".to_string(), "protovers=1.3".to_string()];
        if service_type == SERVICE_TYPES[1] {
            entries.push(format!("device_list={}", self.service.devices.join(";")));
        }
        let mut out = Vec::new();
        for entry in entries {
            let bytes = &entry.as_bytes()[..entry.len().min(255)];
            out.push(bytes.len() as u8);
            out.extend_from_slice(bytes);
        }
        out
    }

    /// Our unique records (SRV and TXT per service type), as probed and defended.
    fn unique_records(&self, ttl_scale: bool) -> Vec<Record> {
        let mut out = Vec::new();
        for service_type in SERVICE_TYPES {
            let mut srv = vec![0, 0, 0, 0];
            srv.extend_from_slice(&self.service.port.to_be_bytes());
            self.host_name().encode(&mut srv);
            out.push(Record {
                name: self.instance_name(service_type),
                rtype: TYPE_SRV,
                class: CLASS_IN,
                top_bit: ttl_scale,
                ttl: HOST_TTL_S,
                rdata: srv,
            });
            out.push(Record {
                name: self.instance_name(service_type),
                rtype: TYPE_TXT,
                class: CLASS_IN,
                top_bit: ttl_scale,
                ttl: OTHER_TTL_S,
                rdata: self.txt(service_type),
            });
        }
        out
    }

    /// Every record we answer for on `link`.
    fn records(&self, link: usize) -> Vec<Record> {
        let mut out = Vec::new();
        let meta = Name::new(None, "_services._dns-sd._udp.local");
        for service_type in SERVICE_TYPES {
            let type_name = Name::new(None, &format!("{service_type}.local"));
            let mut target = Vec::new();
            self.instance_name(service_type).encode(&mut target);
            out.push(Record {
                name: type_name.clone(),
                rtype: TYPE_PTR,
                class: CLASS_IN,
                top_bit: false,
                ttl: OTHER_TTL_S,
                rdata: target,
            });
            let mut type_target = Vec::new();
            type_name.encode(&mut type_target);
            out.push(Record {
                name: meta.clone(),
                rtype: TYPE_PTR,
                class: CLASS_IN,
                top_bit: false,
                ttl: OTHER_TTL_S,
                rdata: type_target,
            });
        }
        out.extend(self.unique_records(true));
        if let Some(addr) = self.service.links.get(link) {
            out.push(Record {
                name: self.host_name(),
                rtype: TYPE_A,
                class: CLASS_IN,
                top_bit: true,
                ttl: HOST_TTL_S,
                rdata: addr.to_vec(),
            });
        }
        out
    }

    fn links(&self) -> std::ops::Range<usize> {
        0..self.service.links.len()
    }

    fn probe(&self, link: usize, first: bool) -> Packet {
        let mut questions: Vec<Question> = SERVICE_TYPES
            .iter()
            .map(|t| Question {
                name: self.instance_name(t),
                qtype: TYPE_ANY,
                unicast: first,
            })
            .collect();
        questions.dedup();
        let message = Message {
            id: 0,
            flags: 0,
            questions,
            answers: Vec::new(),
            authority: self.unique_records(false),
            additional: Vec::new(),
        };
        Packet {
            link,
            to: Dest::Multicast,
            bytes: message.encode(),
        }
    }

    fn announcement(&self, link: usize, goodbye: bool) -> Packet {
        let mut answers = self.records(link);
        if goodbye {
            for r in &mut answers {
                r.ttl = 0;
            }
        }
        let message = Message {
            id: 0,
            flags: FLAG_RESPONSE | FLAG_AUTHORITATIVE,
            questions: Vec::new(),
            answers,
            authority: Vec::new(),
            additional: Vec::new(),
        };
        Packet {
            link,
            to: Dest::Multicast,
            bytes: message.encode(),
        }
    }

    /// Runs the probe and announcement schedule.
    pub fn on_timer(&mut self, now: Millis) -> Output {
        let mut out = Output::default();
        if now < self.next_at {
            return out;
        }
        match self.phase {
            Phase::Probing { sent } if sent < PROBES => {
                for link in self.links() {
                    out.packets.push(self.probe(link, sent == 0));
                }
                self.phase = Phase::Probing { sent: sent + 1 };
                self.next_at = now.saturating_add(PROBE_INTERVAL_MS);
            }
            Phase::Probing { .. } => {
                self.phase = Phase::Announcing { sent: 0 };
                self.next_at = now;
                out.notes.push(Note::Announced {
                    instance: self.instance.clone(),
                });
                let more = self.on_timer(now);
                out.packets.extend(more.packets);
            }
            Phase::Announcing { sent } => {
                for link in self.links() {
                    out.packets.push(self.announcement(link, false));
                }
                let sent = sent + 1;
                if sent >= ANNOUNCEMENTS {
                    self.phase = Phase::Running;
                } else {
                    self.phase = Phase::Announcing { sent };
                    self.next_at = now.saturating_add(1000 << (sent - 1));
                }
            }
            Phase::Running | Phase::Stopped => {}
        }
        out
    }

    /// Handles a received packet from `src` (address, port), received on `link` (the
    /// link whose subnet holds the sender) or `None` (answer on every link).
    pub fn on_packet(
        &mut self,
        link: Option<usize>,
        src: ([u8; 4], u16),
        packet: &[u8],
        now: Millis,
    ) -> Output {
        let mut out = Output::default();
        let Some(message) = Message::parse(packet) else {
            return out;
        };
        if message.flags & OPCODE_MASK != 0 || self.phase == Phase::Stopped {
            return out;
        }
        let ours = self.unique_records(false);
        if message.is_response() {
            // §9: a record for one of our unique names with other data is a conflict.
            let conflict = message
                .answers
                .iter()
                .chain(&message.additional)
                .filter(|r| r.ttl > 0)
                .any(|theirs| {
                    ours.iter().any(|mine| {
                        mine.name == theirs.name
                            && mine.rtype == theirs.rtype
                            && mine.class == theirs.class
                            && mine.rdata != theirs.rdata
                    })
                });
            if conflict {
                self.rename(now, 0, &mut out);
            }
            return out;
        }
        if let Phase::Probing { .. } = self.phase {
            // §8.2: another host probing the same name at the same time; the
            // lexicographically later set of proposed records wins.
            let probed: Vec<&Name> = ours.iter().map(|r| &r.name).collect();
            let theirs: Vec<&Record> = message
                .authority
                .iter()
                .filter(|r| probed.contains(&&r.name))
                .collect();
            if !theirs.is_empty() {
                let key = |records: Vec<&Record>| {
                    let mut keys: Vec<(u16, u16, Vec<u8>)> = records
                        .into_iter()
                        .map(|r| (r.class, r.rtype, r.rdata.clone()))
                        .collect();
                    keys.sort();
                    keys
                };
                let mine = key(ours.iter().filter(|r| r.name == theirs[0].name).collect());
                let other = key(theirs
                    .iter()
                    .copied()
                    .filter(|r| r.name == theirs[0].name)
                    .collect());
                if other > mine {
                    self.phase = Phase::Probing { sent: 0 };
                    self.next_at = now.saturating_add(LOST_TIEBREAK_WAIT_MS);
                }
            }
            return out;
        }
        let legacy = src.1 != MDNS_PORT;
        let links: Vec<usize> = match link {
            Some(link) if link < self.service.links.len() => vec![link],
            _ => self.links().collect(),
        };
        for link in links {
            let records = self.records(link);
            let mut answers: Vec<Record> = Vec::new();
            for q in &message.questions {
                for r in &records {
                    let wanted = r.name == q.name && (q.qtype == TYPE_ANY || q.qtype == r.rtype);
                    // §7.1: known-answer suppression.
                    let known = message
                        .answers
                        .iter()
                        .any(|k| k.same_data(r) && k.ttl >= r.ttl / 2);
                    if wanted && !known && !answers.iter().any(|a| a.same_data(r)) {
                        answers.push(r.clone());
                    }
                }
            }
            if answers.is_empty() {
                continue;
            }
            // RFC 6763 §12: what the asker will want next.
            let mut additional: Vec<Record> = Vec::new();
            for a in &answers {
                let follow: Vec<&Record> = match a.rtype {
                    TYPE_PTR => records
                        .iter()
                        .filter(|r| {
                            let mut target = Vec::new();
                            r.name.encode(&mut target);
                            target == a.rdata || r.rtype == TYPE_A
                        })
                        .filter(|r| r.rtype != TYPE_PTR)
                        .collect(),
                    TYPE_SRV => records.iter().filter(|r| r.rtype == TYPE_A).collect(),
                    _ => Vec::new(),
                };
                for r in follow {
                    if !answers.iter().chain(&additional).any(|x| x.same_data(r)) {
                        additional.push(r.clone());
                    }
                }
            }
            let (id, questions, to) = if legacy {
                for r in answers.iter_mut().chain(additional.iter_mut()) {
                    r.ttl = r.ttl.min(LEGACY_TTL_S);
                    r.top_bit = false;
                }
                (
                    message.id,
                    message.questions.clone(),
                    Dest::Unicast(src.0, src.1),
                )
            } else {
                (0, Vec::new(), Dest::Multicast)
            };
            let reply = Message {
                id,
                flags: FLAG_RESPONSE | FLAG_AUTHORITATIVE,
                questions,
                answers,
                authority: Vec::new(),
                additional,
            };
            out.packets.push(Packet {
                link,
                to,
                bytes: reply.encode(),
            });
        }
        out
    }

    fn rename(&mut self, now: Millis, delay: Millis, out: &mut Output) {
        self.renames += 1;
        let from = self.instance.clone();
        if self.renames > MAX_RENAMES {
            self.phase = Phase::Stopped;
            out.notes.push(Note::GaveUp { instance: from });
            return;
        }
        self.instance = truncate_label(&self.service.instance, &format!(" ({})", self.renames + 1));
        self.phase = Phase::Probing { sent: 0 };
        self.next_at = now.saturating_add(delay);
        out.notes.push(Note::Renamed {
            from,
            to: self.instance.clone(),
        });
    }

    /// Goodbye packets (every record with TTL 0) when the name was announced; the
    /// responder stops.
    pub fn goodbye(&mut self) -> Output {
        let mut out = Output::default();
        if self.announced() {
            for link in self.links() {
                out.packets.push(self.announcement(link, true));
            }
        }
        self.phase = Phase::Stopped;
        out
    }
}

/// `base` + `suffix`, `base` cut (at a character boundary) so the label fits in
/// [`MAX_LABEL_BYTES`].
fn truncate_label(base: &str, suffix: &str) -> String {
    let mut cut = MAX_LABEL_BYTES.saturating_sub(suffix.len()).min(base.len());
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", &base[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> Service {
        Service {
            instance: "nas".into(),
            host: "nas".into(),
            port: 3493,
            devices: vec!["ups1".into(), "ups2".into()],
            links: vec![[192, 0, 2, 2]],
        }
    }

    fn announce(r: &mut Responder) -> Millis {
        let mut now = 0;
        while let Some(at) = r.next_timer() {
            now = at;
            r.on_timer(now);
        }
        now
    }

    #[test]
    fn probes_three_times_then_announces_three_times() {
        let mut r = Responder::new(service(), 0, 100);
        assert_eq!(r.next_timer(), Some(100));
        let mut probes = 0;
        let mut announcements = 0;
        let mut times = Vec::new();
        while let Some(at) = r.next_timer() {
            let out = r.on_timer(at);
            for p in out.packets {
                let m = Message::parse(&p.bytes).unwrap();
                if m.is_response() {
                    announcements += 1;
                    times.push(at);
                } else {
                    probes += 1;
                    assert_eq!(m.authority.len(), 4, "SRV and TXT per type");
                }
            }
        }
        assert_eq!((probes, announcements), (3, 3));
        assert_eq!(times, vec![850, 1850, 3850]);
        assert!(r.announced());
    }

    #[test]
    fn answers_a_ptr_query_with_srv_txt_and_address() {
        let mut r = Responder::new(service(), 0, 0);
        announce(&mut r);
        let query = Message {
            id: 0,
            flags: 0,
            questions: vec![Question {
                name: Name::new(None, "_nut._tcp.local"),
                qtype: TYPE_PTR,
                unicast: false,
            }],
            answers: vec![],
            authority: vec![],
            additional: vec![],
        };
        let out = r.on_packet(None, ([192, 0, 2, 9], 5353), &query.encode(), 5000);
        assert_eq!(out.packets.len(), 1);
        let m = Message::parse(&out.packets[0].bytes).unwrap();
        assert_eq!(m.answers.len(), 1);
        assert_eq!(m.answers[0].rtype, TYPE_PTR);
        let types: Vec<u16> = m.additional.iter().map(|r| r.rtype).collect();
        assert_eq!(types, vec![TYPE_SRV, TYPE_TXT, TYPE_A]);
        assert_eq!(m.additional[2].rdata, vec![192, 0, 2, 2]);
        // The _upsd._tcp TXT names the UPSes as nut-scanner expects.
        let query = Message {
            questions: vec![Question {
                name: Name::new(Some("nas"), "_upsd._tcp.local"),
                qtype: TYPE_TXT,
                unicast: false,
            }],
            ..query
        };
        let out = r.on_packet(None, ([192, 0, 2, 9], 5353), &query.encode(), 5000);
        let m = Message::parse(&out.packets[0].bytes).unwrap();
        assert_eq!(
            m.answers[0].rdata,
            b"\x09txtvers=1\x0dprotovers=1.3\x15device_list=ups1;ups2".to_vec()
        );
    }

    #[test]
    fn known_answers_are_not_repeated_and_legacy_queries_get_unicast() {
        let mut r = Responder::new(service(), 0, 0);
        announce(&mut r);
        let ptr = r
            .records(0)
            .into_iter()
            .find(|r| r.rtype == TYPE_PTR)
            .unwrap();
        let query = Message {
            id: 77,
            flags: 0,
            questions: vec![Question {
                name: ptr.name.clone(),
                qtype: TYPE_PTR,
                unicast: false,
            }],
            answers: vec![ptr.clone()],
            authority: vec![],
            additional: vec![],
        };
        let out = r.on_packet(None, ([192, 0, 2, 9], 5353), &query.encode(), 5000);
        assert!(out.packets.is_empty());
        let query = Message {
            answers: vec![],
            ..query
        };
        let out = r.on_packet(Some(0), ([192, 0, 2, 9], 40000), &query.encode(), 5000);
        assert_eq!(out.packets[0].to, Dest::Unicast([192, 0, 2, 9], 40000));
        let m = Message::parse(&out.packets[0].bytes).unwrap();
        assert_eq!(m.id, 77);
        assert_eq!(m.questions.len(), 1);
        assert!(m
            .answers
            .iter()
            .all(|r| r.ttl <= LEGACY_TTL_S && !r.top_bit));
    }

    #[test]
    fn a_taken_name_is_renamed_and_probed_again() {
        let mut r = Responder::new(service(), 0, 0);
        r.on_timer(0);
        // Another host answers for nas._nut._tcp.local with another port.
        let mut other = Responder::new(
            Service {
                port: 4000,
                ..service()
            },
            0,
            0,
        );
        announce(&mut other);
        let theirs = other.announcement(0, false);
        let out = r.on_packet(None, ([192, 0, 2, 3], 5353), &theirs.bytes, 10);
        assert_eq!(
            out.notes,
            vec![Note::Renamed {
                from: "nas".into(),
                to: "nas (2)".into()
            }]
        );
        announce(&mut r);
        assert_eq!(r.instance(), "nas (2)");
        // Our own announcement looped back is not a conflict.
        let mine = r.announcement(0, false);
        assert!(r
            .on_packet(None, ([192, 0, 2, 2], 5353), &mine.bytes, 9000)
            .notes
            .is_empty());
    }

    #[test]
    fn the_lower_simultaneous_probe_waits_a_second() {
        let mut low = Responder::new(service(), 0, 0);
        let mut high = Responder::new(
            Service {
                port: 4000,
                ..service()
            },
            0,
            0,
        );
        let low_probe = low.on_timer(0).packets.remove(0);
        let high_probe = high.on_timer(0).packets.remove(0);
        high.on_packet(None, ([192, 0, 2, 3], 5353), &low_probe.bytes, 10);
        low.on_packet(None, ([192, 0, 2, 4], 5353), &high_probe.bytes, 10);
        assert_eq!(high.next_timer(), Some(PROBE_INTERVAL_MS));
        assert_eq!(low.next_timer(), Some(10 + LOST_TIEBREAK_WAIT_MS));
        // Its own probe looped back changes nothing.
        let again = low.probe(0, false);
        low.on_packet(None, ([192, 0, 2, 2], 5353), &again.bytes, 20);
        assert_eq!(low.next_timer(), Some(10 + LOST_TIEBREAK_WAIT_MS));
    }

    #[test]
    fn goodbye_sends_ttl_zero_only_after_announcing() {
        let mut r = Responder::new(service(), 0, 0);
        assert!(r.goodbye().packets.is_empty());
        let mut r = Responder::new(service(), 0, 0);
        announce(&mut r);
        let out = r.goodbye();
        let m = Message::parse(&out.packets[0].bytes).unwrap();
        assert!(m.answers.iter().all(|r| r.ttl == 0));
        assert_eq!(r.next_timer(), None);
    }

    #[test]
    fn long_names_are_cut_to_one_label() {
        let long = "é".repeat(40);
        let cut = truncate_label(&long, " (12)");
        assert!(cut.len() <= MAX_LABEL_BYTES && cut.ends_with(" (12)"));
    }

    #[test]
    fn garbage_and_pointer_loops_are_refused() {
        assert_eq!(Message::parse(&[]), None);
        // A question whose name points at itself.
        let mut loop_packet = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        loop_packet.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
        assert_eq!(Message::parse(&loop_packet), None);
        let mut state = 1u32;
        for len in 0..600 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (state >> 16) as u8
                })
                .collect();
            let _ = Message::parse(&bytes);
            let mut r = Responder::new(service(), 0, 0);
            let _ = r.on_packet(None, ([1, 2, 3, 4], 5353), &bytes, 0);
        }
    }
}
