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

/// A completed line whose words are still in the tokenizer's buffer.
#[derive(Debug, Clone, Copy)]
struct Ended {
    error: Option<&'static str>,
    line_no: usize,
    column: usize,
}

/// A logical line borrowed from the tokenizer ([`Tokenizer::feed_with`]): no string is
/// allocated for it.
#[derive(Debug, Clone, Copy)]
pub struct LineRef<'a> {
    /// The words, unescaped and unquoted.
    pub words: &'a [&'a str],
    /// Physical line number (1-based) where this logical line started.
    pub line_no: usize,
    /// Column (1-based) of the first word, or of the error; 1 for an empty line.
    pub column: usize,
    /// Set when NUT would reject the line.
    pub error: Option<&'static str>,
}

impl From<LineRef<'_>> for Line {
    fn from(line: LineRef<'_>) -> Line {
        Line {
            words: line.words.iter().map(|w| w.to_string()).collect(),
            line_no: line.line_no,
            column: line.column,
            error: line.error,
        }
    }
}

/// Push-style tokenizer; see the module documentation.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    state: State,
    /// The words of the line so far, one after the other (only bytes 0x20..=0x7f, so
    /// always ASCII); `ends` marks where each complete word ends. One buffer per line
    /// instead of one string per word: upsd answers a request without allocating.
    text: String,
    ends: Vec<u32>,
    /// Where the word being collected starts in `text`.
    word_start: u32,
    word_started: bool,
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

/// Words a typical protocol line has (`VAR <ups> <var> "<value>"`), for sizing.
const WORDS_PER_LINE_HINT: usize = 8;

impl Tokenizer {
    /// A tokenizer at the start of input.
    pub fn new() -> Self {
        Tokenizer {
            state: State::FindWordStart,
            text: String::new(),
            ends: Vec::new(),
            word_start: 0,
            word_started: false,
            first_word_line: None,
            physical_line: 1,
            column: 0,
            first_word_column: 0,
            word_column: 0,
        }
    }

    /// A tokenizer for one line of about `bytes` bytes, its buffers sized for it (a
    /// client parsing one reply; upsd keeps one tokenizer per connection instead).
    pub fn for_line(bytes: usize) -> Self {
        let mut t = Tokenizer::new();
        t.text.reserve(bytes.min(MAX_WORD_BYTES));
        t.ends.reserve(WORDS_PER_LINE_HINT);
        t
    }

    /// Feeds bytes; every logical line completed by them is appended to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Line>) {
        self.feed_with(bytes, |line| out.push(line.into()));
    }

    /// Feeds bytes; `each` sees every logical line completed by them, borrowed (no
    /// allocation per line or word).
    pub fn feed_with(&mut self, bytes: &[u8], mut each: impl FnMut(LineRef<'_>)) {
        let mut i = 0;
        while let Some(&byte) = bytes.get(i) {
            let starts = self.state == State::FindWordStart;
            if is_plain(byte) && (starts || self.state == State::Collect) {
                // A run of ordinary word bytes (starting a word, or inside one) is taken
                // at once: what `push` would do byte by byte (requests are mostly such
                // runs; this is upsd's hot path).
                if starts {
                    self.start_word_at(self.column.saturating_add(1));
                    self.state = State::Collect;
                }
                let rest = &bytes[i..];
                let mut run = 1;
                while rest.get(run).is_some_and(|&b| is_plain(b)) {
                    run += 1;
                }
                let room = MAX_WORD_BYTES.saturating_sub(self.word_len());
                // Plain bytes are ASCII, so this never fails.
                if let Ok(text) = std::str::from_utf8(&rest[..run.min(room)]) {
                    self.text.push_str(text);
                }
                self.column = self.column.saturating_add(run as u32);
                i += run;
                continue;
            }
            if let Some(ended) = self.step(byte) {
                self.deliver(ended, &mut each);
            }
            i += 1;
        }
    }

    /// Bytes currently buffered for an incomplete line (bounded by the limits).
    pub fn buffered_bytes(&self) -> usize {
        self.text.len()
    }

    /// True when no partial line is buffered.
    pub fn is_idle(&self) -> bool {
        self.state == State::FindWordStart && self.ends.is_empty() && !self.word_started
    }

    /// End of input: delivers the last line even without a trailing LF (as NUT does).
    pub fn finish(&mut self) -> Option<Line> {
        if self.is_idle() {
            return None;
        }
        self.end_word();
        let ended = self.end_line(None);
        Some(self.deliver(ended, |line| Line::from(line)))
    }

    /// [`Tokenizer::finish`], lending the last line to `each` instead of allocating it.
    pub fn finish_with<R>(&mut self, each: impl FnOnce(LineRef<'_>) -> R) -> Option<R> {
        if self.is_idle() {
            return None;
        }
        self.end_word();
        let ended = self.end_line(None);
        Some(self.deliver(ended, each))
    }

    /// Feeds one byte; returns a line when this byte completed one.
    pub fn push(&mut self, byte: u8) -> Option<Line> {
        let ended = self.step(byte)?;
        Some(self.deliver(ended, |line| Line::from(line)))
    }

    /// Hands the line just ended to `each`, then empties the buffer for the next one.
    fn deliver<R>(&mut self, ended: Ended, each: impl FnOnce(LineRef<'_>) -> R) -> R {
        let mut words: [&str; MAX_WORDS_PER_LINE] = [""; MAX_WORDS_PER_LINE];
        let mut start = 0usize;
        for (slot, &end) in words.iter_mut().zip(&self.ends) {
            let end = end as usize;
            *slot = self.text.get(start..end).unwrap_or("");
            start = end;
        }
        let result = each(LineRef {
            words: &words[..self.ends.len()],
            line_no: ended.line_no,
            column: ended.column,
            error: ended.error,
        });
        self.text.clear();
        self.ends.clear();
        self.word_start = 0;
        result
    }

    /// Feeds one byte to the state machine; `Some` when it completed a line.
    fn step(&mut self, byte: u8) -> Option<Ended> {
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

    fn find_word_start(&mut self, byte: u8) -> Option<Ended> {
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

    fn collect(&mut self, byte: u8) -> Option<Ended> {
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

    fn quote_collect(&mut self, byte: u8) -> Option<Ended> {
        match byte {
            b'\\' => self.state = State::QuoteLiteral,
            b'"' => self.end_word(),
            b'#' => {
                // NUT reports the line as broken and parses the rest of the physical
                // line as a new logical line (nut-reference.md §1.2).
                self.discard_word();
                self.state = State::FindWordStart;
                return Some(self.end_line(Some(ERR_HASH_IN_QUOTES)));
            }
            _ => self.add_char(byte),
        }
        None
    }

    /// Length of the word being collected.
    fn word_len(&self) -> usize {
        self.text.len() - self.word_start as usize
    }

    /// Drops the word being collected.
    fn discard_word(&mut self) {
        self.text.truncate(self.word_start as usize);
        self.word_started = false;
    }

    fn start_word(&mut self) {
        self.start_word_at(self.column);
    }

    /// Starts a word whose first byte is at `column`.
    fn start_word_at(&mut self, column: u32) {
        self.text.truncate(self.word_start as usize);
        self.word_started = true;
        self.word_column = column;
        if self.ends.is_empty() && self.first_word_line.is_none() {
            self.first_word_line = Some(self.physical_line);
        }
    }

    fn add_char(&mut self, byte: u8) {
        // CVE-2012-2944: only 0x20..=0x7f are kept; longer words are cut silently.
        if !(0x20..=0x7f).contains(&byte) || self.word_len() >= MAX_WORD_BYTES {
            return;
        }
        self.text.push(char::from(byte));
    }

    fn end_word(&mut self) {
        self.state = State::FindWordStart;
        if !self.word_started {
            return;
        }
        self.word_started = false;
        if self.ends.len() >= MAX_WORDS_PER_LINE {
            self.text.truncate(self.word_start as usize);
            return;
        }
        if self.ends.is_empty() {
            self.first_word_column = self.word_column;
        }
        // At most 32 words of 512 bytes: the offsets fit in u32.
        let end = self.text.len() as u32;
        self.ends.push(end);
        self.word_start = end;
    }

    /// Ends the line; its words stay in the buffer until [`Tokenizer::deliver`].
    fn end_line(&mut self, error: Option<&'static str>) -> Ended {
        let column = match (error, self.ends.is_empty()) {
            (Some(_), _) => self.column as usize,
            (None, true) => 1,
            (None, false) => self.first_word_column as usize,
        };
        let line_no = self.first_word_line.take().unwrap_or(self.physical_line) as usize;
        self.state = State::FindWordStart;
        Ended {
            error,
            line_no,
            column,
        }
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
    let mut out = String::with_capacity(value.len() + 2);
    quote_into(&mut out, value);
    out
}

/// [`quote`], appending to `out`.
pub fn quote_into(out: &mut String, value: &str) {
    out.push('"');
    encode_into(out, value);
    out.push('"');
}

/// [`quote_if_needed`], appending to `out`.
pub fn quote_if_needed_into(out: &mut String, word: &str) {
    if word.is_empty() || word.contains([' ', '\t']) || word.contains('=') {
        quote_into(out, word)
    } else {
        encode_into(out, word)
    }
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
