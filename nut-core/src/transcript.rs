//! Recorded serial device traffic (`hw-fixtures/<family>/*.txt`): what a UPS answers to
//! each query, the driver options the recording needs, and the variables NUT printed.
//!
//! ```text
//! # comment
//! option novendor            driver option (flag, or key=value)
//! > Q1\r                     a query, C escapes (\r \n \t \\ \xNN)
//! < (226.0 195.0 ...)\r      its reply; "<" alone: the device stays silent
//! = input.voltage: 226.0     a variable NUT printed for this device
//! ```
//!
//! A query the transcript does not list is echoed back, as Megatec units do with
//! commands they do not know.

/// Longest transcript accepted, in bytes.
pub const MAX_TRANSCRIPT_BYTES: usize = 1 << 20;

/// A parsed transcript.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// Query and reply (`None`: silent) pairs, in file order.
    pub exchanges: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Driver options (`key`, `Some(value)` or `None` for a flag).
    pub options: Vec<(String, Option<String>)>,
    /// Variables NUT printed for the device.
    pub expect: Vec<(String, String)>,
}

/// What the recorded device does with a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Writes these bytes.
    Bytes(Vec<u8>),
    /// Says nothing.
    Silent,
}

impl Transcript {
    /// Parses a transcript; errors name the line.
    pub fn parse(text: &str) -> Result<Transcript, String> {
        if text.len() > MAX_TRANSCRIPT_BYTES {
            return Err(format!(
                "transcript longer than {MAX_TRANSCRIPT_BYTES} bytes"
            ));
        }
        let mut out = Transcript::default();
        let mut pending: Option<Vec<u8>> = None;
        for (n, line) in text.lines().enumerate() {
            let n = n + 1;
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('>') {
                if pending.is_some() {
                    return Err(format!("line {n}: query without a reply line before it"));
                }
                pending = Some(unescape(rest.trim_start()).map_err(|e| format!("line {n}: {e}"))?);
            } else if let Some(rest) = line.strip_prefix('<') {
                let Some(query) = pending.take() else {
                    return Err(format!("line {n}: reply without a query"));
                };
                let rest = rest.strip_prefix(' ').unwrap_or(rest);
                let reply = if rest.is_empty() {
                    None
                } else {
                    Some(unescape(rest).map_err(|e| format!("line {n}: {e}"))?)
                };
                out.exchanges.push((query, reply));
            } else if let Some(rest) = line.strip_prefix("option ") {
                let rest = rest.trim();
                out.options.push(match rest.split_once('=') {
                    Some((k, v)) => (k.trim().to_string(), Some(v.trim().to_string())),
                    None => (rest.to_string(), None),
                });
            } else if let Some(rest) = line.strip_prefix('=') {
                let Some((name, value)) = rest.trim_start().split_once(':') else {
                    return Err(format!("line {n}: expected '= name: value'"));
                };
                let value = value.strip_prefix(' ').unwrap_or(value);
                out.expect
                    .push((name.trim().to_string(), value.to_string()));
            } else {
                return Err(format!("line {n}: unknown line '{line}'"));
            }
        }
        if pending.is_some() {
            return Err("the last query has no reply line".to_string());
        }
        Ok(out)
    }

    /// The recorded device's answer to `query` (the first exchange listing it); an
    /// unknown query is echoed back.
    pub fn answer(&self, query: &[u8]) -> Answer {
        match self.exchanges.iter().find(|(q, _)| q == query) {
            Some((_, Some(reply))) => Answer::Bytes(reply.clone()),
            Some((_, None)) => Answer::Silent,
            None => Answer::Bytes(query.to_vec()),
        }
    }
}

/// C-style escapes: `\r \n \t \\ \xNN`.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hex = text
                    .get(i + 2..i + 4)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad \\x escape at column {}", i + 1))?;
                out.push(hex);
                i += 4;
                continue;
            }
            _ => return Err(format!("bad escape at column {}", i + 1)),
        }
        i += 2;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_answers() {
        let t = Transcript::parse(
            "# x\noption novendor\noption offdelay = 60\n> Q1\\r\n< (1\\x41)\\r\n> T\\r\n<\n= ups.load: 14\n",
        )
        .unwrap();
        assert_eq!(t.answer(b"Q1\r"), Answer::Bytes(b"(1A)\r".to_vec()));
        assert_eq!(t.answer(b"T\r"), Answer::Silent);
        assert_eq!(t.answer(b"I\r"), Answer::Bytes(b"I\r".to_vec()));
        assert_eq!(t.options[1], ("offdelay".into(), Some("60".into())));
        assert_eq!(t.expect, vec![("ups.load".into(), "14".into())]);
        assert!(Transcript::parse("< x\n").unwrap_err().contains("line 1"));
        assert!(Transcript::parse("> \\q\n").unwrap_err().contains("line 1"));
        assert!(Transcript::parse("> Q1\\r\n").is_err());
    }
}

/// A recorded USB HID device (`hw-fixtures/hid/*.txt`, format in hw-fixtures/README.md):
/// its report descriptor, the feature reports NUT read from it, and what NUT printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HidRecording {
    /// The report descriptor.
    pub descriptor: Vec<u8>,
    /// Items NUT found in it (`objects`).
    pub objects: usize,
    /// Every report as read, first byte its ID, in file order.
    pub reports: Vec<Vec<u8>>,
    /// NUT's explore lines (`path|type|0xID|offset|size|value`), in order.
    pub items: Vec<String>,
    /// The dump's upsc listing.
    pub expect: Vec<(String, String)>,
    /// USB string descriptors by index (`string 4 PbAc`).
    pub strings: Vec<(u8, String)>,
}

impl HidRecording {
    /// The string descriptor with index `index`.
    pub fn string(&self, index: u8) -> Option<&str> {
        self.strings
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, text)| text.as_str())
    }

    /// The last recorded read of report `id`.
    pub fn report(&self, id: u8) -> Option<&[u8]> {
        self.reports
            .iter()
            .rev()
            .find(|r| r.first() == Some(&id))
            .map(Vec::as_slice)
    }

    /// A value of the upsc listing.
    pub fn expected(&self, var: &str) -> Option<&str> {
        self.expect
            .iter()
            .find(|(v, _)| v == var)
            .map(|(_, value)| value.as_str())
    }
}

fn hex_bytes(words: &str, line: usize) -> Result<Vec<u8>, String> {
    words
        .split_whitespace()
        .map(|h| {
            u8::from_str_radix(h, 16).map_err(|_| format!("line {line}: '{h}' is not a hex byte"))
        })
        .collect()
}

/// Parses a HID recording; errors name the line.
pub fn parse_hid(text: &str) -> Result<HidRecording, String> {
    if text.len() > MAX_TRANSCRIPT_BYTES {
        return Err(format!(
            "recording larger than {MAX_TRANSCRIPT_BYTES} bytes"
        ));
    }
    let mut rec = HidRecording::default();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        // Values may end in spaces (ups.firmware.aux " c1 "): strip the line end only.
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let (key, rest) = raw.split_once(' ').unwrap_or((raw, ""));
        match key {
            "descriptor" => rec.descriptor.extend(hex_bytes(rest, line)?),
            "objects" => {
                rec.objects = rest
                    .trim()
                    .parse()
                    .map_err(|_| format!("line {line}: objects wants a count"))?
            }
            "get" => {
                let bytes = hex_bytes(rest, line)?;
                if bytes.is_empty() {
                    return Err(format!("line {line}: empty report"));
                }
                rec.reports.push(bytes);
            }
            "item" => rec.items.push(rest.to_string()),
            "string" => {
                let (index, text) = rest.split_once(' ').unwrap_or((rest, ""));
                let index = index
                    .parse::<u8>()
                    .ok()
                    .filter(|i| *i > 0)
                    .ok_or_else(|| format!("line {line}: string wants an index 1-255"))?;
                rec.strings.push((index, text.to_string()));
            }
            "=" => {
                let (var, value) = rest
                    .split_once(": ")
                    .or_else(|| rest.strip_suffix(':').map(|v| (v, "")))
                    .ok_or_else(|| format!("line {line}: '= var: value' expected"))?;
                rec.expect.push((var.to_string(), value.to_string()));
            }
            other => return Err(format!("line {line}: unknown keyword '{other}'")),
        }
    }
    if rec.descriptor.is_empty() {
        return Err("no descriptor lines".to_string());
    }
    Ok(rec)
}
