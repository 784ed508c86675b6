//! Tests of NUT's word tokenizer (nut-reference.md §1.2, §9 item 5), table-driven, plus
//! property tests on random input driven by a tiny xorshift PRNG (no extra dependencies).

use nut_core::tokenizer::{
    encode, quote, quote_if_needed, tokenize, Line, Tokenizer, MAX_WORDS_PER_LINE, MAX_WORD_BYTES,
};

/// Renders lines compactly: each word as `<word>`, words separated by a space, each line
/// ended by `;`, lines separated by a space; a line the tokenizer rejected starts with `!`.
fn render(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|line| {
            let words: Vec<String> = line.words.iter().map(|w| format!("<{w}>")).collect();
            let bang = if line.error.is_some() { "!" } else { "" };
            format!("{bang}{};", words.join(" "))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Tokenizes `input` whole and byte by byte; both must give `expected`.
fn check(input: &[u8], expected: &str) {
    let whole = tokenize(input);
    assert_eq!(
        render(&whole),
        expected,
        "input {:?}",
        String::from_utf8_lossy(input)
    );
    let mut tokenizer = Tokenizer::new();
    let mut lines = Vec::new();
    for &byte in input {
        lines.extend(tokenizer.push(byte));
    }
    lines.extend(tokenizer.finish());
    assert_eq!(lines, whole, "byte-by-byte feeding differs");
}

#[test]
fn tokenizer_table() {
    let rows: &[(&[u8], &str)] = &[
        // Plain words, line ends, EOF without LF.
        (b"LIST UPS\n", "<LIST> <UPS>;"),
        (
            b"GET VAR ups ups.status\r\n",
            "<GET> <VAR> <ups> <ups.status>;",
        ),
        (b"a\nb\nc", "<a>; <b>; <c>;"),
        (b"", ""),
        (b"\n", ";"),
        (b"\n\n", "; ;"),
        (b"  \t \r\n", ";"),
        (b"a\x0bb\x0cc\rd\te\n", "<a> <b> <c> <d> <e>;"),
        // `=` is always a word of its own.
        (b"a=b\n", "<a> <=> <b>;"),
        (b"a = b", "<a> <=> <b>;"),
        (b"a==b\n", "<a> <=> <=> <b>;"),
        (b"=a\n", "<=> <a>;"),
        (b"key= value\n", "<key> <=> <value>;"),
        (b"key =value\n", "<key> <=> <value>;"),
        (b"a\\=b\n", "<a=b>;"),
        (b"\"a=b\"\n", "<a=b>;"),
        // Comments.
        (b"# comment\n", ";"),
        (b"# only \"comment\nx\n", "; <x>;"),
        (b"a # comment\nb", "<a>; <b>;"),
        (b"a#b c\n", "<a>;"),
        (b"a\\#b\n", "<a#b>;"),
        (b"a \\# b\n", "<a> <#> <b>;"),
        // Quotes.
        (b"\"a b\" c\n", "<a b> <c>;"),
        (b"\"ab\"cd\n", "<ab> <cd>;"),
        (b"ab\"cd\"\n", "<ab\"cd\">;"),
        (b"\"\"\n", "<>;"),
        (b"\"\" \"\"\n", "<> <>;"),
        (b"x \"\"\n", "<x> <>;"),
        (b"\"a \\\" b\"\n", "<a \" b>;"),
        (b"\"a\\\\b\"\n", "<a\\b>;"),
        (b"\"a\\#b\"\n", "<a#b>;"),
        (b"\"  two  spaces  \"\n", "<  two  spaces  >;"),
        // A TAB is a control byte: dropped inside quotes (so it cannot be quoted).
        (b"\"a\tb\"\n", "<ab>;"),
        (b"\"back\\\\slash q\\\"uote\"\n", "<back\\slash q\"uote>;"),
        (b"\"with\\#hash\"\n", "<with#hash>;"),
        // Backslash outside quotes.
        (b"a\\ b\n", "<a b>;"),
        (b"a\\\"b\n", "<a\"b>;"),
        (b"\\\\x\n", "<\\x>;"),
        (b"\\\"x\n", "<\"x>;"),
        // Continuations: `\` + LF, inside and outside quotes.
        (b"ab\\\ncd\n", "<abcd>;"),
        (b"a \\\nb\n", "<a> <b>;"),
        (b"\"a\\\nb\"\n", "<ab>;"),
        // LF inside quotes is dropped; the quoted word continues on the next line.
        (b"\"a\nb\"\n", "<ab>;"),
        (
            b"\"unterminated\nnext line\"\nafter\n",
            "<unterminatednext line>; <after>;",
        ),
        // Unescaped `#` in quotes: error, then the rest of the physical line is a new line.
        (b"desc = \"a # b\"\n", "!<desc> <=>; <b\">;"),
        (b"a \"b#c\" d\n", "!<a>; <c\"> <d>;"),
        (b"\"#\"\nok\n", "!; <ok>;"),
        // Bytes < 0x20 or > 0x7F are dropped inside words; 0x7F is kept.
        (b"ups.\x01status\n", "<ups.status>;"),
        (b"a\x00b\n", "<ab>;"),
        (b"a\x7fb\n", "<a\x7fb>;"),
        (b"a\xffb\xc3\xa9c\n", "<abc>;"),
        (b"\"q\x02\x80uoted\"\n", "<quoted>;"),
        (b"x \x80\x81 y\n", "<x> <y>;"),
    ];
    for (input, expected) in rows {
        check(input, expected);
    }
}

#[test]
fn tokenizer_limits() {
    // 33 words: the 33rd is dropped silently.
    let words: Vec<String> = (1..=33).map(|i| format!("w{i}")).collect();
    let expected: Vec<String> = words[..32].iter().map(|w| format!("<{w}>")).collect();
    check(
        format!("{}\n", words.join(" ")).as_bytes(),
        &format!("{};", expected.join(" ")),
    );
    // Quoted and `=` words count as words too.
    let line = format!("{}\n", ["=", "\"\""].repeat(20).join(" "));
    let expected: Vec<&str> = ["<=>", "<>"].repeat(16);
    check(line.as_bytes(), &format!("{};", expected.join(" ")));
    // A 600-byte word keeps its first 512 bytes, bare or quoted; the line goes on.
    let long = "x".repeat(600);
    let cut = "x".repeat(512);
    check(format!("{long} y\n").as_bytes(), &format!("<{cut}> <y>;"));
    check(
        format!("\"{long}\" y\n").as_bytes(),
        &format!("<{cut}> <y>;"),
    );
    check(format!("{long}\n").as_bytes(), &format!("<{cut}>;"));
    // A very long physical line of words is fine: only the limits apply.
    let many = "ab ".repeat(10_000);
    let expected: Vec<&str> = vec!["<ab>"; 32];
    check(
        format!("{many}\n").as_bytes(),
        &format!("{};", expected.join(" ")),
    );
}

/// Checks where each logical line starts: `line:column` per line.
fn check_pos(input: &[u8], expected: &[&str]) {
    let got: Vec<String> = tokenize(input)
        .iter()
        .map(|l| format!("{}:{}", l.line_no, l.column))
        .collect();
    assert_eq!(got, expected, "input {:?}", String::from_utf8_lossy(input));
}

#[test]
fn tokenizer_positions() {
    check_pos(b"a\n  b c\n", &["1:1", "2:3"]);
    check_pos(b"x \\\ny\nz", &["1:1", "3:1"]);
    check_pos(b"\n\"a\nb\" c\nd", &["1:1", "2:1", "4:1"]);
    // The error line reports the column of the `#`; the rest starts a new line.
    check_pos(b"desc = \"a # b\"\n", &["1:11", "1:13"]);
}

#[test]
fn encoding_table() {
    let rows: &[(&str, &str, &str, &str)] = &[
        // raw, encode, quote, quote_if_needed
        ("abc", "abc", "\"abc\"", "abc"),
        ("", "", "\"\"", "\"\""),
        ("a b", "a b", "\"a b\"", "\"a b\""),
        ("a=b", "a=b", "\"a=b\"", "\"a=b\""),
        ("x#y", "x\\#y", "\"x\\#y\"", "x\\#y"),
        (
            "back\\slash q\"uote",
            "back\\\\slash q\\\"uote",
            "\"back\\\\slash q\\\"uote\"",
            "\"back\\\\slash q\\\"uote\"",
        ),
        ("with#hash", "with\\#hash", "\"with\\#hash\"", "with\\#hash"),
        ("\"", "\\\"", "\"\\\"\"", "\\\""),
        (
            "Zeta \"quoted\" # hash",
            "Zeta \\\"quoted\\\" \\# hash",
            "\"Zeta \\\"quoted\\\" \\# hash\"",
            "\"Zeta \\\"quoted\\\" \\# hash\"",
        ),
    ];
    for (raw, encoded, quoted, if_needed) in rows {
        assert_eq!(encode(raw), *encoded, "encode {raw:?}");
        assert_eq!(quote(raw), *quoted, "quote {raw:?}");
        assert_eq!(quote_if_needed(raw), *if_needed, "quote_if_needed {raw:?}");
        // Every form reads back as the raw value.
        let back = tokenize(format!("{quoted}\n").as_bytes());
        assert_eq!(
            back[0].words,
            vec![raw.to_string()],
            "quote round trip {raw:?}"
        );
        let back = tokenize(format!("{if_needed}\n").as_bytes());
        assert_eq!(
            back[0].words,
            vec![raw.to_string()],
            "bare round trip {raw:?}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Property tests.

/// xorshift64: deterministic, dependency-free randomness for property tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Random bytes biased towards the characters the tokenizer treats specially.
    fn nasty_bytes(&mut self, len: usize) -> Vec<u8> {
        const SPECIAL: &[u8] = b"\"\\#= \t\r\n\x00\x01\x0b\x0c\x7f\x80\xff";
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            match self.below(10) {
                0..=3 => out.push(SPECIAL[self.below(SPECIAL.len())]),
                4 => {
                    // A long run without separators: a word beyond the 512-byte limit.
                    let run = 1 + self.below(1500);
                    let byte = b'a' + self.below(26) as u8;
                    out.extend(std::iter::repeat_n(byte, run));
                }
                5 => out.push(self.next() as u8),
                _ => out.push(b'a' + self.below(26) as u8),
            }
        }
        out.truncate(len);
        out
    }
    fn printable(&mut self, max_len: usize) -> String {
        let len = self.below(max_len + 1);
        (0..len)
            .map(|_| (0x20 + self.below(0x7f - 0x20)) as u8 as char)
            .collect()
    }
}

fn assert_bounded(line: &Line) {
    assert!(
        line.words.len() <= MAX_WORDS_PER_LINE,
        "{} words",
        line.words.len()
    );
    for word in &line.words {
        assert!(word.len() <= MAX_WORD_BYTES, "word of {} bytes", word.len());
        assert!(
            word.bytes().all(|b| (0x20..=0x7f).contains(&b)),
            "bad byte in {word:?}"
        );
    }
}

#[test]
fn random_bytes_never_panic_and_stay_bounded() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Buffered words plus the word being built.
    let bound = (MAX_WORDS_PER_LINE + 1) * MAX_WORD_BYTES;
    for _ in 0..400 {
        let len = rng.below(20_000);
        let input = rng.nasty_bytes(len);
        let mut tokenizer = Tokenizer::new();
        let mut lines = Vec::new();
        let mut pos = 0;
        while pos < input.len() {
            let chunk = 1 + rng.below(700);
            let end = (pos + chunk).min(input.len());
            tokenizer.feed(&input[pos..end], &mut lines);
            assert!(
                tokenizer.buffered_bytes() <= bound,
                "{} buffered",
                tokenizer.buffered_bytes()
            );
            pos = end;
        }
        lines.extend(tokenizer.finish());
        assert!(tokenizer.is_idle());
        for line in &lines {
            assert_bounded(line);
        }
        // Chunking never changes the result.
        assert_eq!(lines, tokenize(&input));
    }
}

#[test]
fn random_printable_strings_round_trip() {
    let mut rng = Rng(0xDEAD_BEEF_1234_5678);
    for _ in 0..2000 {
        let raw = rng.printable(200);
        let quoted = tokenize(format!("{}\n", quote(&raw)).as_bytes());
        assert_eq!(quoted.len(), 1, "{raw:?}");
        assert_eq!(quoted[0].words, vec![raw.clone()], "quote {raw:?}");
        assert!(quoted[0].error.is_none());
        // Several words on one line, each quoted only when needed.
        let words: Vec<String> = (0..1 + rng.below(8)).map(|_| rng.printable(40)).collect();
        let line: Vec<String> = words.iter().map(|w| quote_if_needed(w)).collect();
        let back = tokenize(format!("{}\n", line.join(" ")).as_bytes());
        assert_eq!(back.len(), 1, "{line:?}");
        assert_eq!(back[0].words, words, "line {line:?}");
    }
}

/// `feed` appends runs of ordinary word bytes at once; it must give exactly the lines
/// (words, line numbers, columns, errors) that pushing byte by byte gives.
#[test]
fn feeding_runs_at_once_equals_pushing_byte_by_byte() {
    let mut state = 7u32;
    let alphabet = b"ab =#\"\\\n\r\t.\x01\x7fZ";
    for len in [1, 5, 40, 700, 2000] {
        for round in 0..60 {
            // Every sixth input has no special bytes at all: words longer than the limit.
            let special_every = if round % 6 == 0 { usize::MAX } else { 7 };
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let r = (state >> 16) as usize;
                    if r.is_multiple_of(special_every) {
                        alphabet[r % alphabet.len()]
                    } else {
                        b'a' + (r % 26) as u8
                    }
                })
                .collect();
            let mut fed = Tokenizer::new();
            let mut fed_lines = Vec::new();
            // In two pieces, so a run can also start in the middle of a word.
            let (a, b) = bytes.split_at(len / 3);
            fed.feed(a, &mut fed_lines);
            fed.feed(b, &mut fed_lines);
            let mut pushed = Tokenizer::new();
            let pushed_lines: Vec<Line> = bytes.iter().filter_map(|&b| pushed.push(b)).collect();
            assert_eq!(fed_lines, pushed_lines);
            assert_eq!(fed.finish(), pushed.finish());
        }
    }
}
