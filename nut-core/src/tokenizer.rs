//! NUT's word tokenizer (common/parseconf.c), as a push-style state machine.
//!
//! One implementation serves the network protocol, the driver socket protocol and every
//! config file except nut.conf (nut-reference.md §1.2, §5.1). Bytes go in, complete
//! logical lines come out. Memory is bounded whatever the input: a line holds at most
//! [`MAX_WORDS_PER_LINE`] words of at most [`MAX_WORD_BYTES`] bytes each, and excess is
//! dropped silently, exactly as NUT does. This module must not do IO.

/// Words kept per logical line; NUT silently discards the rest (PCONF_DEFAULT_ARG_LIMIT).
pub const MAX_WORDS_PER_LINE: usize = 32;
/// Bytes kept per word; NUT silently discards the rest (PCONF_DEFAULT_WORD_LEN).
pub const MAX_WORD_BYTES: usize = 512;

/// A logical line as produced by the tokenizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The words of the line, unescaped and unquoted.
    pub words: Vec<String>,
    /// Physical line number (1-based) where this logical line started.
    pub line_no: usize,
    /// Column (1-based) of the first word, or of the error; 1 for an empty line.
    pub column: usize,
    /// Set when NUT would reject the line (its words are then not meant to be used).
    pub error: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FindWordStart,
    Collect,
    CollectLiteral,
    QuoteCollect,
    QuoteLiteral,
    FindEol,
}

/// Error text NUT prints for an unescaped `#` inside a quoted word.
pub const ERR_HASH_IN_QUOTES: &str = "Unbalanced word due to unescaped # in quotes";

/// Push-style tokenizer; see the module documentation.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    state: State,
    /// The word being collected: only bytes 0x20..=0x7f, so always ASCII.
    word: String,
    word_started: bool,
    words: Vec<String>,
    // Positions are u32 (saturating): they keep each connection's tokenizer small in
    // upsd, and only label lines in messages.
    first_word_line: Option<u32>,
    physical_line: u32,
    column: u32,
    first_word_column: u32,
    word_column: u32,
}

impl Default for Tokenizer {
    fn default() -> Self {
        Self::new()
    }
}

/// A byte that `collect` only appends to the word: printable, not a space, not one of
/// the tokenizer's special characters.
fn is_plain(byte: u8) -> bool {
    PLAIN[usize::from(byte)]
}

/// [`is_plain`] as a table (the check runs for every byte of every request).
const PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0x21;
    while byte < 0x7f {
        table[byte] = !matches!(byte as u8, b'"' | b'\\' | b'#' | b'=');
        byte += 1;
    }
    table
};

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

impl Tokenizer {
    /// A tokenizer at the start of input.
    pub fn new() -> Self {
        Tokenizer {
            state: State::FindWordStart,
            word: String::new(),
            word_started: false,
            words: Vec::new(),
            first_word_line: None,
            physical_line: 1,
            column: 0,
            first_word_column: 0,
            word_column: 0,
        }
    }

    /// Feeds bytes; every logical line completed by them is appended to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Line>) {
        let mut i = 0;
        while let Some(&byte) = bytes.get(i) {
            if self.state == State::Collect && is_plain(byte) {
                // A run of ordinary word bytes is appended at once: what `push` would do
                // byte by byte (requests are mostly such runs; this is upsd's hot path).
                let rest = &bytes[i..];
                let run = rest
                    .iter()
                    .position(|&b| !is_plain(b))
                    .unwrap_or(rest.len());
                let room = MAX_WORD_BYTES.saturating_sub(self.word.len());
                self.word
                    .extend(rest[..run.min(room)].iter().map(|&b| char::from(b)));
                self.column = self.column.saturating_add(run as u32);
                i += run;
                continue;
            }
            if let Some(line) = self.push(byte) {
                out.push(line);
            }
            i += 1;
        }
    }

    /// Bytes currently buffered for an incomplete line (bounded by the limits).
    pub fn buffered_bytes(&self) -> usize {
        self.word.len() + self.words.iter().map(|w| w.len()).sum::<usize>()
    }

    /// True when no partial line is buffered.
    pub fn is_idle(&self) -> bool {
        self.state == State::FindWordStart && self.words.is_empty() && !self.word_started
    }

    /// End of input: delivers the last line even without a trailing LF (as NUT does).
    pub fn finish(&mut self) -> Option<Line> {
        if self.is_idle() {
            return None;
        }
        self.end_word();
        Some(self.end_line(None))
    }

    /// Feeds one byte; returns a line when this byte completed one.
    pub fn push(&mut self, byte: u8) -> Option<Line> {
        self.column = self.column.saturating_add(1);
        let result = match self.state {
            State::FindWordStart => self.find_word_start(byte),
            State::Collect => self.collect(byte),
            State::CollectLiteral => {
                if byte != b'\n' {
                    self.add_char(byte);
                }
                self.state = State::Collect;
                None
            }
            State::QuoteCollect => self.quote_collect(byte),
            State::QuoteLiteral => {
                if byte != b'\n' {
                    self.add_char(byte);
                }
                self.state = State::QuoteCollect;
                None
            }
            State::FindEol => {
                if byte == b'\n' {
                    Some(self.end_line(None))
                } else {
                    None
                }
            }
        };
        if byte == b'\n' {
            self.physical_line = self.physical_line.saturating_add(1);
            self.column = 0;
        }
        result
    }

    fn find_word_start(&mut self, byte: u8) -> Option<Line> {
        match byte {
            b'\n' => return Some(self.end_line(None)),
            b'#' => self.state = State::FindEol,
            b'"' => {
                self.start_word();
                self.state = State::QuoteCollect;
            }
            b'\\' => {
                self.start_word();
                self.state = State::CollectLiteral;
            }
            b'=' => {
                self.start_word();
                self.add_char(b'=');
                self.end_word();
            }
            _ if is_space(byte) => {}
            _ if !(0x20..=0x7f).contains(&byte) => {}
            _ => {
                self.start_word();
                self.add_char(byte);
                self.state = State::Collect;
            }
        }
        None
    }

    fn collect(&mut self, byte: u8) -> Option<Line> {
        match byte {
            b'\n' => {
                self.end_word();
                return Some(self.end_line(None));
            }
            b'#' => {
                self.end_word();
                self.state = State::FindEol;
            }
            b'\\' => self.state = State::CollectLiteral,
            b'=' => {
                self.end_word();
                self.start_word();
                self.add_char(b'=');
                self.end_word();
            }
            _ if is_space(byte) => self.end_word(),
            _ => self.add_char(byte),
        }
        None
    }

    fn quote_collect(&mut self, byte: u8) -> Option<Line> {
        match byte {
            b'\\' => self.state = State::QuoteLiteral,
            b'"' => self.end_word(),
            b'#' => {
                // NUT reports the line as broken and parses the rest of the physical
                // line as a new logical line (nut-reference.md §1.2).
                self.word.clear();
                self.word_started = false;
                self.state = State::FindWordStart;
                return Some(self.end_line(Some(ERR_HASH_IN_QUOTES)));
            }
            _ => self.add_char(byte),
        }
        None
    }

    fn start_word(&mut self) {
        self.word.clear();
        self.word_started = true;
        self.word_column = self.column;
        if self.words.is_empty() && self.first_word_line.is_none() {
            self.first_word_line = Some(self.physical_line);
        }
    }

    fn add_char(&mut self, byte: u8) {
        // CVE-2012-2944: only 0x20..=0x7f are kept; longer words are cut silently.
        if !(0x20..=0x7f).contains(&byte) || self.word.len() >= MAX_WORD_BYTES {
            return;
        }
        self.word.push(char::from(byte));
    }

    fn end_word(&mut self) {
        self.state = State::FindWordStart;
        if !self.word_started {
            return;
        }
        self.word_started = false;
        if self.words.len() >= MAX_WORDS_PER_LINE {
            self.word.clear();
            return;
        }
        if self.words.is_empty() {
            self.first_word_column = self.word_column;
        }
        let word = self.word.clone();
        self.word.clear();
        self.words.push(word);
    }

    fn end_line(&mut self, error: Option<&'static str>) -> Line {
        let column = match (error, self.words.is_empty()) {
            (Some(_), _) => self.column as usize,
            (None, true) => 1,
            (None, false) => self.first_word_column as usize,
        };
        let line = Line {
            words: std::mem::take(&mut self.words),
            line_no: self.first_word_line.take().unwrap_or(self.physical_line) as usize,
            column,
            error,
        };
        self.state = State::FindWordStart;
        line
    }
}

/// Splits a whole text into logical lines (used for config files and tests).
pub fn tokenize(text: &[u8]) -> Vec<Line> {
    let mut tokenizer = Tokenizer::new();
    let mut lines = Vec::new();
    tokenizer.feed(text, &mut lines);
    lines.extend(tokenizer.finish());
    lines
}

/// Escapes a value the way NUT's `pconf_encode` does: backslash before `\`, `"` and `#`.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    encode_into(&mut out, value);
    out
}

/// [`encode`], appending to `out`.
pub fn encode_into(out: &mut String, value: &str) {
    if !value.contains(['\\', '"', '#']) {
        out.push_str(value);
        return;
    }
    for ch in value.chars() {
        if matches!(ch, '\\' | '"' | '#') {
            out.push('\\');
        }
        out.push(ch);
    }
}

/// Escapes and wraps a value in double quotes, as upsd and drivers send values.
pub fn quote(value: &str) -> String {
    format!("\"{}\"", encode(value))
}

/// Quotes a word for a client request only when needed (clients/upsclient.c rule:
/// escape always, wrap in quotes when it contains a space or is empty).
pub fn quote_if_needed(word: &str) -> String {
    if word.is_empty() || word.contains([' ', '\t']) || word.contains('=') {
        quote(word)
    } else {
        encode(word)
    }
}
