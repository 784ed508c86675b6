//! SNMP messages (RFC 3416 PDUs in RFC 1157/1901 v1 and v2c envelopes), encoded and
//! decoded with the subset of BER (X.690) that SNMP uses: definite lengths, INTEGER,
//! OCTET STRING, NULL, OBJECT IDENTIFIER, SEQUENCE and the SMIv2 application types.
//!
//! Sans-IO: bytes in, typed messages out. Decoding never panics and never allocates
//! more than the message's own size (every length is checked against what is left);
//! anything malformed is a [`DecodeError`] naming what was wrong.

use std::fmt;

/// Largest SNMP message accepted or produced, in bytes: the largest UDP payload over
/// IPv4 (RFC 3417 section 3 lets agents send up to that).
pub const MAX_MESSAGE_BYTES: usize = 65_507;
/// Most sub-identifiers in one OBJECT IDENTIFIER (RFC 2578 section 3.5).
pub const MAX_OID_SUBIDS: usize = 128;
/// Most variable bindings decoded from one response.
pub const MAX_VARBINDS: usize = 2_048;

/// An OBJECT IDENTIFIER as its sub-identifiers.
pub type Oid = Vec<u32>;

/// The protocol version in a message's envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// SNMPv1 (RFC 1157), version field 0.
    V1,
    /// Community-based SNMPv2 (RFC 1901), version field 1.
    V2c,
}

impl Version {
    fn wire(self) -> i64 {
        match self {
            Version::V1 => 0,
            Version::V2c => 1,
        }
    }
}

/// A value in a variable binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// INTEGER (Integer32 and enumerations).
    Integer(i64),
    /// OCTET STRING (DisplayString, PhysAddress, ...).
    OctetString(Vec<u8>),
    /// NULL: the value of every binding in a request.
    Null,
    /// OBJECT IDENTIFIER.
    ObjectId(Oid),
    /// IpAddress.
    IpAddress([u8; 4]),
    /// Counter32.
    Counter32(u32),
    /// Gauge32 (Unsigned32).
    Gauge32(u32),
    /// TimeTicks, in hundredths of a second.
    TimeTicks(u32),
    /// Opaque.
    Opaque(Vec<u8>),
    /// Counter64.
    Counter64(u64),
    /// v2c exception: the agent has no such object.
    NoSuchObject,
    /// v2c exception: the object has no such instance.
    NoSuchInstance,
    /// v2c exception: a GETNEXT walked past the end of the agent's view.
    EndOfMibView,
}

impl Value {
    /// The value as a number, for the numeric types.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Integer(n) => Some(n),
            Value::Counter32(n) | Value::Gauge32(n) | Value::TimeTicks(n) => Some(n.into()),
            Value::Counter64(n) => i64::try_from(n).ok(),
            _ => None,
        }
    }

    /// True for the v2c exceptions (and NULL in a response), which mean "no value".
    pub fn is_exception(&self) -> bool {
        matches!(
            self,
            Value::Null | Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView
        )
    }
}

/// The PDU types this implementation sends or expects (RFC 3416 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduType {
    /// GetRequest-PDU.
    Get,
    /// GetNextRequest-PDU.
    GetNext,
    /// Response-PDU (GetResponse in v1).
    Response,
    /// SetRequest-PDU.
    Set,
    /// GetBulkRequest-PDU (v2c only).
    GetBulk,
    /// Report-PDU.
    Report,
}

impl PduType {
    fn tag(self) -> u8 {
        match self {
            PduType::Get => 0xa0,
            PduType::GetNext => 0xa1,
            PduType::Response => 0xa2,
            PduType::Set => 0xa3,
            PduType::GetBulk => 0xa5,
            PduType::Report => 0xa8,
        }
    }

    fn from_tag(tag: u8) -> Option<PduType> {
        Some(match tag {
            0xa0 => PduType::Get,
            0xa1 => PduType::GetNext,
            0xa2 => PduType::Response,
            0xa3 => PduType::Set,
            0xa5 => PduType::GetBulk,
            0xa8 => PduType::Report,
            _ => return None,
        })
    }
}

/// An error-status of a Response-PDU (RFC 3416 section 3), by number.
pub type ErrorStatus = i64;
/// noSuchName: v1's "this OID does not exist" (RFC 1157 section 4.1.2).
pub const NO_SUCH_NAME: ErrorStatus = 2;

/// One message: envelope and PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// v1 or v2c.
    pub version: Version,
    /// The community string.
    pub community: Vec<u8>,
    /// The PDU's type.
    pub pdu_type: PduType,
    /// request-id, matching a response to its request.
    pub request_id: i32,
    /// error-status (non-repeaters in a GetBulk).
    pub error_status: ErrorStatus,
    /// error-index (max-repetitions in a GetBulk).
    pub error_index: i64,
    /// The variable bindings.
    pub varbinds: Vec<(Oid, Value)>,
}

impl Message {
    /// A request of `pdu_type` for `oids`, every value NULL.
    pub fn request(
        version: Version,
        community: &[u8],
        pdu_type: PduType,
        request_id: i32,
        oids: &[Oid],
    ) -> Message {
        Message {
            version,
            community: community.to_vec(),
            pdu_type,
            request_id,
            error_status: 0,
            error_index: 0,
            varbinds: oids.iter().map(|o| (o.clone(), Value::Null)).collect(),
        }
    }

    /// The message in BER.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        put_int(&mut body, 0x02, self.version.wire());
        put_tlv(&mut body, 0x04, &self.community);
        body.extend_from_slice(&self.encode_pdu());
        let mut out = Vec::new();
        put_tlv(&mut out, 0x30, &body);
        out
    }

    /// The PDU alone (its TLV), as a v3 scoped PDU carries it.
    pub fn encode_pdu(&self) -> Vec<u8> {
        let mut pdu = Vec::new();
        put_int(&mut pdu, 0x02, i64::from(self.request_id));
        put_int(&mut pdu, 0x02, self.error_status);
        put_int(&mut pdu, 0x02, self.error_index);
        let mut list = Vec::new();
        for (oid, value) in &self.varbinds {
            let mut vb = Vec::new();
            put_oid(&mut vb, oid);
            put_value(&mut vb, value);
            put_tlv(&mut list, 0x30, &vb);
        }
        put_tlv(&mut pdu, 0x30, &list);
        let mut out = Vec::new();
        put_tlv(&mut out, self.pdu_type.tag(), &pdu);
        out
    }

    /// Decodes one message (v1 or v2c; a v3 message is [`DecodeError::Version`]).
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(DecodeError::TooLong(bytes.len()));
        }
        let mut outer = Reader::new(bytes);
        let body = outer.expect(0x30, "message")?;
        let mut r = Reader::new(body);
        let version = match r.int("version")? {
            0 => Version::V1,
            1 => Version::V2c,
            n => return Err(DecodeError::Version(n)),
        };
        let community = r.expect(0x04, "community")?.to_vec();
        let (tag, pdu) = r.any("PDU")?;
        Message::decode_pdu_content(version, community, tag, pdu)
    }

    /// A PDU (its TLV, from a v3 scoped PDU) as a message with v2c semantics.
    pub fn decode_pdu(bytes: &[u8]) -> Result<Message, DecodeError> {
        let (tag, pdu) = Reader::new(bytes).any("PDU")?;
        Message::decode_pdu_content(Version::V2c, Vec::new(), tag, pdu)
    }

    fn decode_pdu_content(
        version: Version,
        community: Vec<u8>,
        tag: u8,
        pdu: &[u8],
    ) -> Result<Message, DecodeError> {
        let pdu_type = PduType::from_tag(tag).ok_or(DecodeError::Tag { what: "PDU", tag })?;
        let mut p = Reader::new(pdu);
        let request_id = i32::try_from(p.int("request-id")?)
            .map_err(|_| DecodeError::Invalid("request-id out of range"))?;
        let error_status = p.int("error-status")?;
        let error_index = p.int("error-index")?;
        let mut list = Reader::new(p.expect(0x30, "variable bindings")?);
        let mut varbinds = Vec::new();
        while !list.done() {
            if varbinds.len() == MAX_VARBINDS {
                return Err(DecodeError::Invalid("too many variable bindings"));
            }
            let mut vb = Reader::new(list.expect(0x30, "variable binding")?);
            let oid = decode_oid(vb.expect(0x06, "name")?)?;
            let (tag, content) = vb.any("value")?;
            varbinds.push((oid, decode_value(tag, content)?));
        }
        Ok(Message {
            version,
            community,
            pdu_type,
            request_id,
            error_status,
            error_index,
            varbinds,
        })
    }
}

/// The USM security parameters of an SNMPv3 message (RFC 3414 section 2.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsmParams {
    /// msgAuthoritativeEngineID.
    pub engine_id: Vec<u8>,
    /// msgAuthoritativeEngineBoots.
    pub boots: i64,
    /// msgAuthoritativeEngineTime.
    pub time: i64,
    /// msgUserName.
    pub user: Vec<u8>,
    /// msgAuthenticationParameters (the MAC; zeros while computing it).
    pub auth: Vec<u8>,
    /// msgPrivacyParameters (the salt).
    pub privacy: Vec<u8>,
}

/// msgFlags bits (RFC 3412 section 6.4).
pub mod v3flags {
    /// authFlag.
    pub const AUTH: u8 = 1;
    /// privFlag.
    pub const PRIV: u8 = 2;
    /// reportableFlag.
    pub const REPORTABLE: u8 = 4;
}

/// An SNMPv3 message (RFC 3412 section 6), USM only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V3Message {
    /// msgID.
    pub msg_id: i32,
    /// msgMaxSize.
    pub max_size: i64,
    /// msgFlags.
    pub flags: u8,
    /// The security parameters.
    pub usm: UsmParams,
    /// msgData: the scoped PDU's BER (plain), or its ciphertext when `flags` has PRIV.
    pub data: Vec<u8>,
}

impl V3Message {
    /// The message in BER, and where its authentication parameters lie (an offset into
    /// the result and their length), for the MAC to be written in place.
    pub fn encode(&self) -> (Vec<u8>, usize) {
        let mut global = Vec::new();
        put_int(&mut global, 0x02, i64::from(self.msg_id));
        put_int(&mut global, 0x02, self.max_size);
        put_tlv(&mut global, 0x04, &[self.flags]);
        put_int(&mut global, 0x02, 3);
        let mut sec = Vec::new();
        put_tlv(&mut sec, 0x04, &self.usm.engine_id);
        put_int(&mut sec, 0x02, self.usm.boots);
        put_int(&mut sec, 0x02, self.usm.time);
        put_tlv(&mut sec, 0x04, &self.usm.user);
        put_tlv(&mut sec, 0x04, &self.usm.auth);
        let auth_end_in_sec = sec.len();
        put_tlv(&mut sec, 0x04, &self.usm.privacy);
        let mut sec_seq = Vec::new();
        put_tlv(&mut sec_seq, 0x30, &sec);
        let mut body = Vec::new();
        put_int(&mut body, 0x02, 3);
        put_tlv(&mut body, 0x30, &global);
        put_tlv(&mut body, 0x04, &sec_seq);
        let sec_end_in_body = body.len();
        if self.flags & v3flags::PRIV != 0 {
            put_tlv(&mut body, 0x04, &self.data);
        } else {
            body.extend_from_slice(&self.data);
        }
        let mut out = Vec::new();
        put_tlv(&mut out, 0x30, &body);
        let header = out.len() - body.len();
        // The auth parameters end `sec.len() - auth_end_in_sec` bytes before the end of
        // the security parameters.
        let sec_end = header + sec_end_in_body;
        let auth_end = sec_end - (sec.len() - auth_end_in_sec);
        (out, auth_end - self.usm.auth.len())
    }

    /// Decodes a v3 message; also returns the offset of its authentication parameters.
    pub fn decode(bytes: &[u8]) -> Result<(V3Message, usize), DecodeError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(DecodeError::TooLong(bytes.len()));
        }
        let body = Reader::new(bytes).expect(0x30, "message")?;
        let mut r = Reader::new(body);
        let version = r.int("version")?;
        if version != 3 {
            return Err(DecodeError::Version(version));
        }
        let mut g = Reader::new(r.expect(0x30, "msgGlobalData")?);
        let msg_id = i32::try_from(g.int("msgID")?)
            .map_err(|_| DecodeError::Invalid("msgID out of range"))?;
        let max_size = g.int("msgMaxSize")?;
        let flags = *g
            .expect(0x04, "msgFlags")?
            .first()
            .ok_or(DecodeError::Invalid("empty msgFlags"))?;
        if g.int("msgSecurityModel")? != 3 {
            return Err(DecodeError::Invalid("security model is not USM"));
        }
        let sec_bytes = r.expect(0x04, "msgSecurityParameters")?;
        let mut s = Reader::new(Reader::new(sec_bytes).expect(0x30, "UsmSecurityParameters")?);
        let engine_id = s.expect(0x04, "msgAuthoritativeEngineID")?.to_vec();
        let boots = s.int("msgAuthoritativeEngineBoots")?;
        let time = s.int("msgAuthoritativeEngineTime")?;
        let user = s.expect(0x04, "msgUserName")?.to_vec();
        let auth_slice = s.expect(0x04, "msgAuthenticationParameters")?;
        let auth = auth_slice.to_vec();
        let privacy = s.expect(0x04, "msgPrivacyParameters")?.to_vec();
        let data = if flags & v3flags::PRIV != 0 {
            r.expect(0x04, "encryptedPDU")?.to_vec()
        } else {
            let start = r.rest;
            let (_, _) = r.any("scopedPDU")?;
            start[..start.len() - r.rest.len()].to_vec()
        };
        // auth_slice points into `bytes`.
        let offset = auth_slice.as_ptr() as usize - bytes.as_ptr() as usize;
        Ok((
            V3Message {
                msg_id,
                max_size,
                flags,
                usm: UsmParams {
                    engine_id,
                    boots,
                    time,
                    user,
                    auth,
                    privacy,
                },
                data,
            },
            offset,
        ))
    }
}

/// A scoped PDU (RFC 3412 section 6.8): context engine ID, context name, the PDU.
pub fn encode_scoped(context_engine_id: &[u8], context_name: &[u8], msg: &Message) -> Vec<u8> {
    let mut body = Vec::new();
    put_tlv(&mut body, 0x04, context_engine_id);
    put_tlv(&mut body, 0x04, context_name);
    body.extend_from_slice(&msg.encode_pdu());
    let mut out = Vec::new();
    put_tlv(&mut out, 0x30, &body);
    out
}

/// The PDU of a scoped PDU (trailing bytes, such as DES padding, are ignored).
pub fn decode_scoped(bytes: &[u8]) -> Result<Message, DecodeError> {
    let body = Reader::new(bytes).expect(0x30, "scopedPDU")?;
    let mut r = Reader::new(body);
    r.expect(0x04, "contextEngineID")?;
    r.expect(0x04, "contextName")?;
    let (tag, pdu) = r.any("PDU")?;
    Message::decode_pdu_content(Version::V2c, Vec::new(), tag, pdu)
}

/// Why bytes are not an SNMP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The datagram is larger than [`MAX_MESSAGE_BYTES`].
    TooLong(usize),
    /// A length runs past the end of its enclosing element.
    Truncated(&'static str),
    /// An element has another type than the one expected there.
    Tag {
        /// What was expected.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// A version other than v1 or v2c.
    Version(i64),
    /// Some other violation, named.
    Invalid(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooLong(n) => write!(f, "message of {n} bytes is too long"),
            DecodeError::Truncated(what) => write!(f, "truncated {what}"),
            DecodeError::Tag { what, tag } => write!(f, "unexpected tag 0x{tag:02x} for {what}"),
            DecodeError::Version(n) => write!(f, "unsupported SNMP version field {n}"),
            DecodeError::Invalid(what) => f.write_str(what),
        }
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(rest: &'a [u8]) -> Self {
        Reader { rest }
    }

    fn done(&self) -> bool {
        self.rest.is_empty()
    }

    /// One TLV: its tag and content.
    fn any(&mut self, what: &'static str) -> Result<(u8, &'a [u8]), DecodeError> {
        let (&tag, rest) = self
            .rest
            .split_first()
            .ok_or(DecodeError::Truncated(what))?;
        if tag & 0x1f == 0x1f {
            return Err(DecodeError::Invalid("multi-byte tags are not used by SNMP"));
        }
        let (&first, mut rest) = rest.split_first().ok_or(DecodeError::Truncated(what))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 {
                return Err(DecodeError::Invalid("indefinite lengths are not allowed"));
            }
            if n > 4 || rest.len() < n {
                return Err(DecodeError::Truncated(what));
            }
            let mut len = 0usize;
            for &b in &rest[..n] {
                len = (len << 8) | usize::from(b);
            }
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return Err(DecodeError::Truncated(what));
        }
        let (content, rest) = rest.split_at(len);
        self.rest = rest;
        Ok((tag, content))
    }

    fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let (found, content) = self.any(what)?;
        if found != tag {
            return Err(DecodeError::Tag { what, tag: found });
        }
        Ok(content)
    }

    fn int(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        decode_int(self.expect(0x02, what)?)
    }
}

fn decode_int(content: &[u8]) -> Result<i64, DecodeError> {
    if content.is_empty() || content.len() > 8 {
        return Err(DecodeError::Invalid("INTEGER of bad length"));
    }
    let mut n: i64 = if content[0] & 0x80 != 0 { -1 } else { 0 };
    for &b in content {
        n = (n << 8) | i64::from(b);
    }
    Ok(n)
}

/// Unsigned application types: up to 9 bytes for Counter64 (a leading zero).
fn decode_uint(content: &[u8], max_bytes: usize) -> Result<u64, DecodeError> {
    if content.is_empty() || content.len() > max_bytes {
        return Err(DecodeError::Invalid("unsigned integer of bad length"));
    }
    let mut n: u64 = 0;
    for &b in content {
        n = n.checked_shl(8).unwrap_or(0) | u64::from(b);
    }
    Ok(n)
}

fn decode_u32(content: &[u8]) -> Result<u32, DecodeError> {
    // Agents send values up to 2^32-1 in 5 bytes (a sign byte); some send a
    // negative-looking 4-byte value for a large counter: both are taken modulo 2^32.
    Ok(decode_uint(content, 5)? as u32)
}

fn decode_oid(content: &[u8]) -> Result<Oid, DecodeError> {
    if content.is_empty() {
        return Err(DecodeError::Invalid("empty OBJECT IDENTIFIER"));
    }
    let mut subids = Vec::new();
    let mut acc: u64 = 0;
    for (i, &b) in content.iter().enumerate() {
        acc = (acc << 7) | u64::from(b & 0x7f);
        if acc > u64::from(u32::MAX) {
            return Err(DecodeError::Invalid("OID sub-identifier too large"));
        }
        if b & 0x80 == 0 {
            if subids.is_empty() {
                let first = acc.min(80) / 40;
                subids.push(first as u32);
                subids.push((acc - first * 40) as u32);
            } else {
                subids.push(acc as u32);
            }
            if subids.len() > MAX_OID_SUBIDS {
                return Err(DecodeError::Invalid("OID has too many sub-identifiers"));
            }
            acc = 0;
        } else if i + 1 == content.len() {
            return Err(DecodeError::Truncated("OID sub-identifier"));
        }
    }
    Ok(subids)
}

fn decode_value(tag: u8, content: &[u8]) -> Result<Value, DecodeError> {
    Ok(match tag {
        0x02 => Value::Integer(decode_int(content)?),
        0x04 => Value::OctetString(content.to_vec()),
        0x05 => Value::Null,
        0x06 => Value::ObjectId(decode_oid(content)?),
        0x40 => Value::IpAddress(
            content
                .try_into()
                .map_err(|_| DecodeError::Invalid("IpAddress is not 4 bytes"))?,
        ),
        0x41 => Value::Counter32(decode_u32(content)?),
        0x42 => Value::Gauge32(decode_u32(content)?),
        0x43 => Value::TimeTicks(decode_u32(content)?),
        0x44 => Value::Opaque(content.to_vec()),
        0x46 => Value::Counter64(decode_uint(content, 9)?),
        0x80 => Value::NoSuchObject,
        0x81 => Value::NoSuchInstance,
        0x82 => Value::EndOfMibView,
        _ => return Err(DecodeError::Tag { what: "value", tag }),
    })
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn put_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    put_len(out, content.len());
    out.extend_from_slice(content);
}

/// Minimal two's-complement encoding.
fn put_int(out: &mut Vec<u8>, tag: u8, n: i64) {
    let bytes = n.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    put_tlv(out, tag, &bytes[start..]);
}

/// Unsigned: minimal, with a leading zero when the top bit is set.
fn put_uint(out: &mut Vec<u8>, tag: u8, n: u64) {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    let mut content = Vec::with_capacity(9);
    if bytes[skip] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(&bytes[skip..]);
    put_tlv(out, tag, &content);
}

fn put_subid(out: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 10];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = (n & 0x7f) as u8 | if i == tmp.len() - 1 { 0 } else { 0x80 };
        n >>= 7;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

fn put_oid(out: &mut Vec<u8>, oid: &[u32]) {
    let mut content = Vec::new();
    match oid {
        [] => put_subid(&mut content, 0),
        [a] => put_subid(&mut content, u64::from(*a) * 40),
        [a, b, rest @ ..] => {
            put_subid(&mut content, u64::from(*a) * 40 + u64::from(*b));
            for &s in rest {
                put_subid(&mut content, s.into());
            }
        }
    }
    put_tlv(out, 0x06, &content);
}

fn put_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Integer(n) => put_int(out, 0x02, *n),
        Value::OctetString(s) => put_tlv(out, 0x04, s),
        Value::Null => put_tlv(out, 0x05, &[]),
        Value::ObjectId(o) => put_oid(out, o),
        Value::IpAddress(a) => put_tlv(out, 0x40, a),
        Value::Counter32(n) => put_uint(out, 0x41, (*n).into()),
        Value::Gauge32(n) => put_uint(out, 0x42, (*n).into()),
        Value::TimeTicks(n) => put_uint(out, 0x43, (*n).into()),
        Value::Opaque(s) => put_tlv(out, 0x44, s),
        Value::Counter64(n) => put_uint(out, 0x46, *n),
        Value::NoSuchObject => put_tlv(out, 0x80, &[]),
        Value::NoSuchInstance => put_tlv(out, 0x81, &[]),
        Value::EndOfMibView => put_tlv(out, 0x82, &[]),
    }
}

/// Parses a dotted OID (".1.3.6.1.2.1.33.1.1.1.0" or without the leading dot).
pub fn parse_oid(text: &str) -> Option<Oid> {
    let text = text.strip_prefix('.').unwrap_or(text);
    let oid: Option<Oid> = text.split('.').map(|s| s.parse().ok()).collect();
    oid.filter(|o| !o.is_empty() && o.len() <= MAX_OID_SUBIDS)
}

/// An OID in NUT's spelling: dotted with a leading dot.
pub fn format_oid(oid: &[u32]) -> String {
    let mut s = String::with_capacity(oid.len() * 3);
    for n in oid {
        s.push('.');
        s.push_str(&n.to_string());
    }
    s
}

/// A recorded agent: snmpsim's `.snmprec` walk (`OID|TYPE|VALUE` lines, TYPE the BER
/// tag in decimal, `x` for hex values; the `numeric` and `writecache` variations give
/// their initial value), answering GET, GETNEXT and SET as an agent does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Agent {
    /// The objects, in OID order.
    pub objects: std::collections::BTreeMap<Oid, Value>,
    /// The community it answers to (`None`: any).
    pub community: Option<Vec<u8>>,
}

impl Agent {
    /// Parses a `.snmprec` text; a bad line is an error naming its number.
    pub fn from_snmprec(text: &str) -> Result<Agent, String> {
        let mut objects = std::collections::BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: &str| format!("line {}: {why}: {line}", n + 1);
            let mut parts = line.splitn(3, '|');
            let (Some(oid), Some(tag), Some(value)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(bad("not OID|TYPE|VALUE"));
            };
            let oid = parse_oid(oid).ok_or_else(|| bad("bad OID"))?;
            let (tag, variation) = tag.split_once(':').unwrap_or((tag, ""));
            let (tag, hex) = match tag.strip_suffix('x') {
                Some(t) => (t, true),
                None => (tag, false),
            };
            let value = match variation {
                "" => value.to_string(),
                "writecache" => value.strip_prefix("value=").unwrap_or(value).to_string(),
                "numeric" => value
                    .split(',')
                    .find_map(|kv| kv.strip_prefix("initial="))
                    .unwrap_or("0")
                    .to_string(),
                _ => return Err(bad("unknown variation")),
            };
            let bytes = || -> Result<Vec<u8>, String> {
                if hex {
                    (0..value.len() / 2)
                        .map(|i| u8::from_str_radix(&value[2 * i..2 * i + 2], 16))
                        .collect::<Result<_, _>>()
                        .map_err(|_| bad("bad hex"))
                } else {
                    Ok(value.as_bytes().to_vec())
                }
            };
            let num = |v: &str| v.trim().parse::<u64>().map_err(|_| bad("bad number"));
            let tag: u8 = tag.parse().map_err(|_| bad("bad type"))?;
            let v = match tag {
                2 => Value::Integer(value.trim().parse().map_err(|_| bad("bad integer"))?),
                4 => Value::OctetString(bytes()?),
                5 => Value::Null,
                6 => Value::ObjectId(parse_oid(&value).ok_or_else(|| bad("bad OID value"))?),
                64 => {
                    let b = if hex {
                        bytes()?
                    } else {
                        value
                            .split('.')
                            .map(|p| p.parse::<u8>())
                            .collect::<Result<_, _>>()
                            .map_err(|_| bad("bad address"))?
                    };
                    Value::IpAddress(b.try_into().map_err(|_| bad("bad address"))?)
                }
                65 => Value::Counter32(num(&value)? as u32),
                66 => Value::Gauge32(num(&value)? as u32),
                67 => Value::TimeTicks(num(&value)? as u32),
                68 => Value::Opaque(bytes()?),
                70 => Value::Counter64(num(&value)?),
                _ => return Err(bad("unknown type")),
            };
            objects.insert(oid, v);
        }
        Ok(Agent {
            objects,
            community: None,
        })
    }

    /// The response to `request`, or `None` when an agent would stay silent (wrong
    /// community, not a request).
    pub fn answer(&mut self, request: &Message) -> Option<Message> {
        if self
            .community
            .as_ref()
            .is_some_and(|c| *c != request.community)
        {
            return None;
        }
        let mut response = request.clone();
        response.pdu_type = PduType::Response;
        response.error_status = 0;
        response.error_index = 0;
        let v1 = request.version == Version::V1;
        let fail = |response: &mut Message, i: usize| {
            response.error_status = NO_SUCH_NAME;
            response.error_index = i as i64 + 1;
        };
        match request.pdu_type {
            PduType::Get => {
                for (i, (oid, value)) in response.varbinds.iter_mut().enumerate() {
                    match self.objects.get(oid) {
                        Some(v) => *value = v.clone(),
                        None if v1 => {
                            let mut r = request.clone();
                            r.pdu_type = PduType::Response;
                            fail(&mut r, i);
                            return Some(r);
                        }
                        None => *value = Value::NoSuchObject,
                    }
                }
            }
            PduType::GetNext => {
                for (i, (oid, value)) in response.varbinds.iter_mut().enumerate() {
                    use std::ops::Bound;
                    let next = self
                        .objects
                        .range::<Oid, _>((Bound::Excluded(oid.clone()), Bound::Unbounded))
                        .next();
                    match next {
                        Some((o, v)) => {
                            *oid = o.clone();
                            *value = v.clone();
                        }
                        None if v1 => {
                            let mut r = request.clone();
                            r.pdu_type = PduType::Response;
                            fail(&mut r, i);
                            return Some(r);
                        }
                        None => *value = Value::EndOfMibView,
                    }
                }
            }
            PduType::Set => {
                for (i, (oid, value)) in request.varbinds.iter().enumerate() {
                    if !self.objects.contains_key(oid) {
                        let mut r = request.clone();
                        r.pdu_type = PduType::Response;
                        // noSuchName (v1) / noCreation (v2c, 11)
                        r.error_status = if v1 { NO_SUCH_NAME } else { 11 };
                        r.error_index = i as i64 + 1;
                        return Some(r);
                    }
                    self.objects.insert(oid.clone(), value.clone());
                }
            }
            _ => return None,
        }
        Some(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_get_request_encodes_as_net_snmp_sends_it() {
        // A v2c GET of sysDescr.0 and sysObjectID.0, community "tyS0n43d" (the bytes
        // net-snmp's snmpget sends for it).
        let oids = [
            parse_oid(".1.3.6.1.2.1.1.1.0").unwrap(),
            parse_oid("1.3.6.1.2.1.1.2.0").unwrap(),
        ];
        let msg = Message::request(
            Version::V2c,
            b"tyS0n43d",
            PduType::Get,
            1_251_699_619,
            &oids,
        );
        let expected: &[u8] = &[
            48, 57, 2, 1, 1, 4, 8, 116, 121, 83, 48, 110, 52, 51, 100, 160, 42, 2, 4, 74, 155, 107,
            163, 2, 1, 0, 2, 1, 0, 48, 28, 48, 12, 6, 8, 43, 6, 1, 2, 1, 1, 1, 0, 5, 0, 48, 12, 6,
            8, 43, 6, 1, 2, 1, 1, 2, 0, 5, 0,
        ];
        assert_eq!(msg.encode(), expected);
        assert_eq!(Message::decode(expected).unwrap(), msg);
    }

    #[test]
    fn every_value_type_round_trips() {
        let values = vec![
            Value::Integer(-129),
            Value::Integer(i64::from(i32::MAX)),
            Value::OctetString(vec![0; 300]),
            Value::ObjectId(parse_oid("1.3.6.1.4.1.318.1.3.4.6").unwrap()),
            Value::IpAddress([10, 0, 0, 1]),
            Value::Counter32(u32::MAX),
            Value::Gauge32(128),
            Value::TimeTicks(0),
            Value::Opaque(vec![1, 2]),
            Value::Counter64(u64::MAX),
            Value::NoSuchObject,
            Value::NoSuchInstance,
            Value::EndOfMibView,
        ];
        let mut msg = Message::request(Version::V1, b"public", PduType::Response, -7, &[]);
        msg.varbinds = values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (vec![1, 3, 6, 1, 2, 1, 33, i as u32, 200_000], v))
            .collect();
        let bytes = msg.encode();
        assert_eq!(Message::decode(&bytes).unwrap(), msg);
        assert_eq!(format_oid(&msg.varbinds[0].0), ".1.3.6.1.2.1.33.0.200000");
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        let msg = Message::request(
            Version::V2c,
            b"public",
            PduType::Get,
            1,
            &[vec![1, 3, 6, 1]],
        );
        let bytes = msg.encode();
        for cut in 0..bytes.len() {
            assert!(Message::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut v3 = bytes.clone();
        v3[4] = 3;
        assert_eq!(Message::decode(&v3), Err(DecodeError::Version(3)));
        assert!(matches!(
            Message::decode(&[0x30, 0x80, 0, 0]),
            Err(DecodeError::Invalid(_))
        ));
        assert!(Message::decode(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert_eq!(parse_oid("1.3.x"), None);
    }
}
