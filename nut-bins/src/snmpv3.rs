//! SNMPv3's User-based Security Model for snmp-ups (RFC 3414; AES: RFC 3826; SHA-2:
//! RFC 7860; AES-192/256 keys: draft-blumenthal-aes-usm-04, as net-snmp and NUT use):
//! key localisation, HMAC authentication, DES-CBC and AES-CFB privacy, engine
//! discovery and time synchronisation. The message framing is nut_core::snmp's; this
//! module adds the cryptography (nut-core has no dependencies).

use aes::cipher::{BlockEncrypt, KeyInit};
use hmac::{Hmac, Mac};
use nut_core::snmp::{
    decode_scoped, encode_scoped, v3flags, DecodeError, Message, PduType, UsmParams, V3Message,
    MAX_MESSAGE_BYTES,
};
use nut_core::snmpups::{AuthProtocol, PrivProtocol, SecLevel, V3Options};
use sha2::Digest;

/// The password is hashed over this many bytes of itself repeated (RFC 3414 A.2.1).
pub const PASSWORD_EXPANSION_BYTES: usize = 1_048_576;
/// A response this much older than our notion of the engine's clock is refused,
/// seconds (RFC 3414 section 2.2.3).
pub const TIME_WINDOW_S: i64 = 150;

fn hash(proto: AuthProtocol, data: &[&[u8]]) -> Vec<u8> {
    fn run<D: Digest>(data: &[&[u8]]) -> Vec<u8> {
        let mut d = D::new();
        for part in data {
            d.update(part);
        }
        d.finalize().to_vec()
    }
    match proto {
        AuthProtocol::Md5 => run::<md5::Md5>(data),
        AuthProtocol::Sha => run::<sha1::Sha1>(data),
        AuthProtocol::Sha256 => run::<sha2::Sha256>(data),
        AuthProtocol::Sha384 => run::<sha2::Sha384>(data),
        AuthProtocol::Sha512 => run::<sha2::Sha512>(data),
    }
}

/// Password to key (RFC 3414 A.2): the hash of 1 MB of the password repeated.
pub fn password_to_key(proto: AuthProtocol, password: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return hash(proto, &[]);
    }
    let mut buf = Vec::with_capacity(PASSWORD_EXPANSION_BYTES);
    while buf.len() < PASSWORD_EXPANSION_BYTES {
        let take = (PASSWORD_EXPANSION_BYTES - buf.len()).min(password.len());
        buf.extend_from_slice(&password[..take]);
    }
    hash(proto, &[&buf])
}

/// Key localisation (RFC 3414 A.2): H(Ku || engineID || Ku).
pub fn localize(proto: AuthProtocol, ku: &[u8], engine_id: &[u8]) -> Vec<u8> {
    hash(proto, &[ku, engine_id, ku])
}

/// The MAC's length on the wire (RFC 3414: 12; RFC 7860: 24, 32, 48).
fn mac_len(proto: AuthProtocol) -> usize {
    match proto {
        AuthProtocol::Md5 | AuthProtocol::Sha => 12,
        AuthProtocol::Sha256 => 24,
        AuthProtocol::Sha384 => 32,
        AuthProtocol::Sha512 => 48,
    }
}

fn hmac(proto: AuthProtocol, key: &[u8], data: &[u8]) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut m = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }
    match proto {
        AuthProtocol::Md5 => run::<Hmac<md5::Md5>>(key, data),
        AuthProtocol::Sha => run::<Hmac<sha1::Sha1>>(key, data),
        AuthProtocol::Sha256 => run::<Hmac<sha2::Sha256>>(key, data),
        AuthProtocol::Sha384 => run::<Hmac<sha2::Sha384>>(key, data),
        AuthProtocol::Sha512 => run::<Hmac<sha2::Sha512>>(key, data),
    }
}

fn priv_key_len(proto: PrivProtocol) -> usize {
    match proto {
        PrivProtocol::Des => 16,
        PrivProtocol::Aes => 16,
        PrivProtocol::Aes192 => 24,
        PrivProtocol::Aes256 => 32,
    }
}

/// DES-CBC (RFC 3414 section 8): key = first 8 bytes, IV = last 8 XOR salt.
fn des_cbc(key: &[u8], salt: &[u8; 8], data: &[u8], encrypt: bool) -> Vec<u8> {
    use des::cipher::BlockDecrypt;
    let cipher = des::Des::new_from_slice(&key[..8]).expect("8-byte DES key");
    let mut iv = [0u8; 8];
    for i in 0..8 {
        iv[i] = key[8 + i] ^ salt[i];
    }
    let mut out = Vec::with_capacity(data.len() + 8);
    let mut prev = iv;
    for chunk in data.chunks(8) {
        let mut block = [0u8; 8];
        block[..chunk.len()].copy_from_slice(chunk);
        if encrypt {
            for i in 0..8 {
                block[i] ^= prev[i];
            }
            let mut b = des::cipher::generic_array::GenericArray::clone_from_slice(&block);
            cipher.encrypt_block(&mut b);
            prev.copy_from_slice(&b);
            out.extend_from_slice(&b);
        } else {
            let mut b = des::cipher::generic_array::GenericArray::clone_from_slice(&block);
            cipher.decrypt_block(&mut b);
            for i in 0..8 {
                b[i] ^= prev[i];
            }
            prev = block;
            out.extend_from_slice(&b);
        }
    }
    out
}

/// AES-CFB128 (RFC 3826): IV = boots || time || salt.
fn aes_cfb(key: &[u8], iv: [u8; 16], data: &[u8], encrypt: bool) -> Vec<u8> {
    fn run<C: BlockEncrypt + KeyInit>(
        key: &[u8],
        iv: [u8; 16],
        data: &[u8],
        encrypt: bool,
    ) -> Vec<u8> {
        let cipher = C::new_from_slice(key).expect("AES key of the protocol's length");
        let mut out = Vec::with_capacity(data.len());
        let mut feedback = iv;
        for chunk in data.chunks(16) {
            let mut ks = aes::cipher::generic_array::GenericArray::clone_from_slice(&feedback);
            cipher.encrypt_block(&mut ks);
            let start = out.len();
            for (i, b) in chunk.iter().enumerate() {
                out.push(b ^ ks[i]);
            }
            // The feedback is the ciphertext block.
            let ct: &[u8] = if encrypt { &out[start..] } else { chunk };
            feedback[..ct.len()].copy_from_slice(ct);
        }
        out
    }
    match key.len() {
        16 => run::<aes::Aes128>(key, iv, data, encrypt),
        24 => run::<aes::Aes192>(key, iv, data, encrypt),
        _ => run::<aes::Aes256>(key, iv, data, encrypt),
    }
}

/// Why a v3 exchange failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsmError {
    /// Not a message for us (garbage, another msgID): ignore it, keep waiting.
    NotOurs,
    /// The agent reported a USM error (usmStats*), named.
    Report(&'static str),
    /// The response's MAC or encryption is wrong.
    Integrity(&'static str),
}

/// usmStats counters the agent reports (RFC 3414 section 5), by OID.
const REPORTS: [(&str, &str); 6] = [
    ("1.3.6.1.6.3.15.1.1.1.0", "unsupported security level"),
    ("1.3.6.1.6.3.15.1.1.2.0", "not in time window"),
    ("1.3.6.1.6.3.15.1.1.3.0", "unknown user name"),
    ("1.3.6.1.6.3.15.1.1.4.0", "unknown engine ID"),
    (
        "1.3.6.1.6.3.15.1.1.5.0",
        "wrong digest (authPassword or authProtocol)",
    ),
    (
        "1.3.6.1.6.3.15.1.1.6.0",
        "decryption error (privPassword or privProtocol)",
    ),
];

/// The USM state of one agent link.
#[derive(Debug, Clone)]
pub struct Usm {
    opts: V3Options,
    /// Password keys (not localised yet).
    auth_ku: Vec<u8>,
    priv_ku: Vec<u8>,
    /// Localised keys, once the engine is known.
    auth_key: Vec<u8>,
    priv_key: Vec<u8>,
    engine_id: Vec<u8>,
    boots: i64,
    /// Engine time at `synced_s` (seconds of the shell's monotonic clock).
    time: i64,
    synced_s: u64,
    next_msg_id: i32,
    salt: u64,
}

impl Usm {
    /// The user's keys hashed from the passwords (slow: 1 MB per key, once).
    pub fn new(opts: V3Options, salt_seed: u64) -> Usm {
        let auth_ku = match opts.level {
            SecLevel::NoAuthNoPriv => Vec::new(),
            _ => password_to_key(opts.auth_protocol, opts.auth_password.as_bytes()),
        };
        let priv_ku = match opts.level {
            SecLevel::AuthPriv => {
                password_to_key(opts.auth_protocol, opts.priv_password.as_bytes())
            }
            _ => Vec::new(),
        };
        Usm {
            opts,
            auth_ku,
            priv_ku,
            auth_key: Vec::new(),
            priv_key: Vec::new(),
            engine_id: Vec::new(),
            boots: 0,
            time: 0,
            synced_s: 0,
            // Not 1 on every start: a reply captured earlier must not match.
            next_msg_id: ((salt_seed >> 33) as i32).max(1),
            salt: salt_seed,
        }
    }

    /// True once the agent's engine ID is known.
    pub fn discovered(&self) -> bool {
        !self.engine_id.is_empty()
    }

    /// Forgets the engine (the agent restarted or changed): discovery again.
    pub fn reset(&mut self) {
        self.engine_id.clear();
    }

    fn learn(&mut self, usm: &UsmParams, now_s: u64) {
        if usm.engine_id.is_empty() {
            return;
        }
        if usm.engine_id != self.engine_id {
            self.engine_id = usm.engine_id.clone();
            if !self.auth_ku.is_empty() {
                self.auth_key = localize(self.opts.auth_protocol, &self.auth_ku, &self.engine_id);
            }
            if !self.priv_ku.is_empty() {
                let mut key = localize(self.opts.auth_protocol, &self.priv_ku, &self.engine_id);
                // Blumenthal: extend a short key with the hash of what is there.
                let need = priv_key_len(self.opts.priv_protocol);
                while key.len() < need {
                    let more = hash(self.opts.auth_protocol, &[&key]);
                    key.extend_from_slice(&more);
                }
                key.truncate(need);
                self.priv_key = key;
            }
        }
        self.boots = usm.boots;
        self.time = usm.time;
        self.synced_s = now_s;
    }

    /// The discovery request (RFC 3414 section 4): noAuthNoPriv, empty engine, an
    /// empty GET, reportable. Returns its bytes and msgID.
    pub fn discovery(&mut self, request_id: i32) -> (Vec<u8>, i32) {
        let msg_id = self.msg_id();
        let msg = Message::request(
            nut_core::snmp::Version::V2c,
            b"",
            PduType::Get,
            request_id,
            &[],
        );
        let v3 = V3Message {
            msg_id,
            max_size: MAX_MESSAGE_BYTES as i64,
            flags: v3flags::REPORTABLE,
            usm: UsmParams::default(),
            data: encode_scoped(b"", b"", &msg),
        };
        (v3.encode().0, msg_id)
    }

    fn msg_id(&mut self) -> i32 {
        let id = self.next_msg_id;
        self.next_msg_id = self.next_msg_id.wrapping_add(1).max(1);
        id
    }

    /// `msg` as a v3 message at the configured security level. Returns its bytes and
    /// msgID.
    pub fn wrap(&mut self, msg: &Message, now_s: u64) -> (Vec<u8>, i32) {
        let msg_id = self.msg_id();
        let time = self
            .time
            .saturating_add(now_s.saturating_sub(self.synced_s) as i64);
        let scoped = encode_scoped(&self.engine_id, b"", msg);
        let mut flags = v3flags::REPORTABLE;
        let mut usm = UsmParams {
            engine_id: self.engine_id.clone(),
            boots: self.boots,
            time,
            user: self.opts.sec_name.as_bytes().to_vec(),
            auth: Vec::new(),
            privacy: Vec::new(),
        };
        let mut data = scoped;
        if self.opts.level != SecLevel::NoAuthNoPriv {
            flags |= v3flags::AUTH;
            usm.auth = vec![0; mac_len(self.opts.auth_protocol)];
        }
        if self.opts.level == SecLevel::AuthPriv {
            flags |= v3flags::PRIV;
            self.salt = self.salt.wrapping_add(1);
            match self.opts.priv_protocol {
                PrivProtocol::Des => {
                    let mut salt = [0u8; 8];
                    salt[..4].copy_from_slice(&(self.boots as u32).to_be_bytes());
                    salt[4..].copy_from_slice(&(self.salt as u32).to_be_bytes());
                    data = des_cbc(&self.priv_key, &salt, &data, true);
                    usm.privacy = salt.to_vec();
                }
                _ => {
                    let salt = self.salt.to_be_bytes();
                    let mut iv = [0u8; 16];
                    iv[..4].copy_from_slice(&(self.boots as u32).to_be_bytes());
                    iv[4..8].copy_from_slice(&(time as u32).to_be_bytes());
                    iv[8..].copy_from_slice(&salt);
                    data = aes_cfb(&self.priv_key, iv, &data, true);
                    usm.privacy = salt.to_vec();
                }
            }
        }
        let v3 = V3Message {
            msg_id,
            max_size: MAX_MESSAGE_BYTES as i64,
            flags,
            usm,
            data,
        };
        let (mut bytes, offset) = v3.encode();
        if flags & v3flags::AUTH != 0 {
            let n = mac_len(self.opts.auth_protocol);
            let mac = hmac(self.opts.auth_protocol, &self.auth_key, &bytes);
            bytes[offset..offset + n].copy_from_slice(&mac[..n]);
        }
        (bytes, msg_id)
    }

    /// A response to the request with `msg_id`: the PDU inside, checked and decrypted.
    /// A Report (usmStats*) teaches the engine's ID and time and is returned as an
    /// error naming it.
    pub fn unwrap(
        &mut self,
        datagram: &[u8],
        msg_id: i32,
        now_s: u64,
    ) -> Result<Message, UsmError> {
        let (v3, offset) =
            V3Message::decode(datagram).map_err(|_: DecodeError| UsmError::NotOurs)?;
        if v3.msg_id != msg_id {
            return Err(UsmError::NotOurs);
        }
        let authed = v3.flags & v3flags::AUTH != 0;
        let private = v3.flags & v3flags::PRIV != 0;
        let want_auth = self.opts.level != SecLevel::NoAuthNoPriv;
        let want_priv = self.opts.level == SecLevel::AuthPriv;
        // Privacy only where configured (and never without authentication).
        if private && (!want_priv || !authed) {
            return Err(UsmError::Integrity("response at another security level"));
        }
        if authed {
            if self.auth_key.is_empty() || v3.usm.engine_id != self.engine_id {
                return Err(UsmError::Integrity(
                    "authenticated response from another engine",
                ));
            }
            let n = mac_len(self.opts.auth_protocol);
            if v3.usm.auth.len() != n {
                return Err(UsmError::Integrity("bad authentication parameters"));
            }
            let mut zeroed = datagram.to_vec();
            zeroed[offset..offset + n].fill(0);
            let mac = hmac(self.opts.auth_protocol, &self.auth_key, &zeroed);
            if mac[..n] != v3.usm.auth[..] {
                return Err(UsmError::Integrity("response fails authentication"));
            }
        }
        let scoped = if private {
            if v3.usm.privacy.len() != 8 {
                return Err(UsmError::Integrity("bad privacy parameters"));
            }
            let salt: [u8; 8] = v3.usm.privacy[..].try_into().unwrap_or([0; 8]);
            match self.opts.priv_protocol {
                PrivProtocol::Des => {
                    if v3.data.len() % 8 != 0 {
                        return Err(UsmError::Integrity("ciphertext is not whole DES blocks"));
                    }
                    des_cbc(&self.priv_key, &salt, &v3.data, false)
                }
                _ => {
                    let mut iv = [0u8; 16];
                    iv[..4].copy_from_slice(&(v3.usm.boots as u32).to_be_bytes());
                    iv[4..8].copy_from_slice(&(v3.usm.time as u32).to_be_bytes());
                    iv[8..].copy_from_slice(&salt);
                    aes_cfb(&self.priv_key, iv, &v3.data, false)
                }
            }
        } else {
            v3.data.clone()
        };
        let msg =
            decode_scoped(&scoped).map_err(|_| UsmError::Integrity("undecodable scoped PDU"))?;
        // Reports may come at a lower level (RFC 3414 3.1.1, unknownEngineID has none):
        // an unauthenticated one teaches the engine only before it is known (discovery);
        // an authenticated one (a time-window report) re-synchronises.
        if msg.pdu_type == PduType::Report {
            if authed || !self.discovered() {
                self.learn(&v3.usm, now_s);
            }
            let oid = msg
                .varbinds
                .first()
                .map(|(o, _)| nut_core::snmp::format_oid(o))
                .unwrap_or_default();
            let name = REPORTS
                .iter()
                .find(|(o, _)| oid.trim_start_matches('.') == *o)
                .map_or("report", |(_, n)| *n);
            return Err(UsmError::Report(name));
        }
        // Anything else must come at the level asked (RFC 3412 7.2 step 13).
        if authed != want_auth || private != want_priv {
            return Err(UsmError::Integrity("response at another security level"));
        }
        if authed {
            // Timeliness (RFC 3414 3.2 step 7b): not older than our notion of the
            // engine's clock by more than the window, boots never going back.
            let local = self
                .time
                .saturating_add(now_s.saturating_sub(self.synced_s) as i64);
            let stale = v3.usm.boots == i64::from(i32::MAX)
                || v3.usm.boots < self.boots
                || (v3.usm.boots == self.boots && v3.usm.time < local - TIME_WINDOW_S);
            if stale {
                return Err(UsmError::Integrity("response outside the time window"));
            }
            if v3.usm.boots > self.boots || v3.usm.time > local {
                self.boots = v3.usm.boots;
                self.time = v3.usm.time;
                self.synced_s = now_s;
            }
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn keys_match_rfc_3414_appendix_a3() {
        // A.3.1 (MD5) and A.3.2 (SHA): password "maplesyrup", engine 00..02.
        let engine = hex("000000000000000000000002");
        let ku = password_to_key(AuthProtocol::Md5, b"maplesyrup");
        assert_eq!(ku, hex("9faf3283884e92834ebc9847d8edd963"));
        assert_eq!(
            localize(AuthProtocol::Md5, &ku, &engine),
            hex("526f5eed9fcce26f8964c2930787d82b")
        );
        let ku = password_to_key(AuthProtocol::Sha, b"maplesyrup");
        assert_eq!(ku, hex("9fb5cc0381497b3793528939ff788d5d79145211"));
        assert_eq!(
            localize(AuthProtocol::Sha, &ku, &engine),
            hex("6695febc9288e36282235fc7151f128497b38f3f")
        );
    }

    #[test]
    fn ciphers_round_trip() {
        let key = hex("0102030405060708090a0b0c0d0e0f10");
        let data = b"a scoped PDU that is not a multiple of eight bytes".to_vec();
        let salt = [9u8; 8];
        let ct = des_cbc(&key, &salt, &data, true);
        assert_eq!(ct.len() % 8, 0);
        assert_eq!(&des_cbc(&key, &salt, &ct, false)[..data.len()], &data[..]);
        for len in [16, 24, 32] {
            let key = vec![7u8; len];
            let ct = aes_cfb(&key, [3; 16], &data, true);
            assert_ne!(ct, data);
            assert_eq!(aes_cfb(&key, [3; 16], &ct, false), data);
        }
    }
}
#[cfg(test)]
mod cross_checks {
    use super::*;

    #[test]
    fn the_privacy_key_and_des_agree_with_pysnmp_and_openssl() {
        // snmpsim's engine 80004fb805766d31a91380, privPassword "privatus" (MD5): what
        // pysnmp's localize_key_md5 gives.
        let eng = [
            0x80u8, 0x00, 0x4f, 0xb8, 0x05, 0x76, 0x6d, 0x31, 0xa9, 0x13, 0x80,
        ];
        let k = localize(
            AuthProtocol::Md5,
            &password_to_key(AuthProtocol::Md5, b"privatus"),
            &eng,
        );
        let h: String = k.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(h, "67d6821ec6b5b94d266e1e9a801a42f8");
        // DES-CBC as Python's cryptography (OpenSSL) computes it for the same key, IV.
        let key: Vec<u8> = (1..=16).collect();
        let ct = des_cbc(&key, &[9u8; 8], b"abcdefgh12345678", true);
        let h: String = ct.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(h, "a58125c00241e8ff1f6243b50f782549");
    }
}

#[cfg(test)]
mod security {
    use super::*;
    use nut_core::snmp::Version;

    fn opts(level: SecLevel) -> V3Options {
        V3Options {
            level,
            sec_name: "u".into(),
            auth_password: "auctoritas".into(),
            priv_password: "privatus".into(),
            auth_protocol: AuthProtocol::Sha,
            priv_protocol: PrivProtocol::Aes,
        }
    }

    /// An agent's response to `msg_id` at `flags`, its MAC made with `key` (or none).
    fn response(usm: &UsmParams, msg_id: i32, flags: u8, key: Option<&[u8]>) -> Vec<u8> {
        let mut msg =
            Message::request(Version::V2c, b"", PduType::Response, 7, &[vec![1, 3, 6, 1]]);
        msg.varbinds[0].1 = nut_core::snmp::Value::Integer(3);
        let mut usm = usm.clone();
        if key.is_some() {
            usm.auth = vec![0; 12];
        }
        let v3 = V3Message {
            msg_id,
            max_size: 65507,
            flags,
            usm,
            data: encode_scoped(b"e", b"", &msg),
        };
        let (mut bytes, offset) = v3.encode();
        if let Some(key) = key {
            let mac = hmac(AuthProtocol::Sha, key, &bytes);
            bytes[offset..offset + 12].copy_from_slice(&mac[..12]);
        }
        bytes
    }

    #[test]
    fn responses_below_the_configured_level_or_out_of_time_are_refused() {
        let engine = UsmParams {
            engine_id: b"engine-1".to_vec(),
            boots: 5,
            time: 1000,
            ..UsmParams::default()
        };
        let mut usm = Usm::new(opts(SecLevel::AuthNoPriv), 0);
        usm.learn(&engine, 0);
        let key = usm.auth_key.clone();
        // A forged unauthenticated answer: refused, not published.
        let (_, id) = usm.wrap(
            &Message::request(Version::V2c, b"", PduType::Get, 7, &[]),
            0,
        );
        let forged = response(&engine, id, 0, None);
        assert!(matches!(
            usm.unwrap(&forged, id, 0),
            Err(UsmError::Integrity(_))
        ));
        // Privacy where none was configured: refused, no panic on the empty key.
        let private = response(&engine, id, v3flags::AUTH | v3flags::PRIV, Some(&key));
        assert!(matches!(
            usm.unwrap(&private, id, 0),
            Err(UsmError::Integrity(_))
        ));
        // The genuine answer passes.
        let good = response(&engine, id, v3flags::AUTH, Some(&key));
        assert!(usm.unwrap(&good, id, 0).is_ok());
        // A replay from long ago (older than the 150 s window) is refused.
        let old = UsmParams {
            time: 1000,
            ..engine.clone()
        };
        let replayed = response(&old, id, v3flags::AUTH, Some(&key));
        assert!(matches!(
            usm.unwrap(&replayed, id, 400),
            Err(UsmError::Integrity(_))
        ));
        // An unauthenticated report does not move a known engine.
        let (_, id) = usm.wrap(
            &Message::request(Version::V2c, b"", PduType::Get, 8, &[]),
            400,
        );
        let mut report = Message::request(Version::V2c, b"", PduType::Report, 8, &[]);
        report.varbinds = vec![(
            vec![1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0],
            nut_core::snmp::Value::Counter32(1),
        )];
        let evil = UsmParams {
            engine_id: b"evil".to_vec(),
            ..engine
        };
        let v3 = V3Message {
            msg_id: id,
            max_size: 65507,
            flags: 0,
            usm: evil,
            data: encode_scoped(b"", b"", &report),
        };
        assert!(matches!(
            usm.unwrap(&v3.encode().0, id, 400),
            Err(UsmError::Report(_))
        ));
        assert_eq!(usm.engine_id, b"engine-1");
    }
}
