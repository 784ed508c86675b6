//! `nut_core::regex` against glibc's regcomp/regexec, the engine NUT's usb-common.c
//! uses for the USB matching options on Debian: `REG_ICASE | REG_EXTENDED`, and a match
//! counts only when it covers the whole string (`match_regex`: rm_so 0, rm_eo the
//! length). Every pattern of the corpus against every text must give the same answer,
//! and a pattern glibc refuses must be refused.

use nut_core::regex::Regex;
use std::ffi::CString;

/// glibc's verdict: `None` when regcomp refuses the pattern.
fn glibc_full_match(pattern: &str, text: &str) -> Option<bool> {
    let pattern = CString::new(pattern).unwrap();
    let text = CString::new(text).unwrap();
    // SAFETY: regex_t is plain data regcomp fills; it is freed once, after use.
    unsafe {
        let mut re: libc::regex_t = std::mem::zeroed();
        if libc::regcomp(
            &mut re,
            pattern.as_ptr(),
            libc::REG_EXTENDED | libc::REG_ICASE,
        ) != 0
        {
            return None;
        }
        let mut m: libc::regmatch_t = std::mem::zeroed();
        let r = libc::regexec(&re, text.as_ptr(), 1, &mut m, 0);
        libc::regfree(&mut re);
        Some(r == 0 && m.rm_so == 0 && m.rm_eo as usize == text.as_bytes().len())
    }
}

/// Ours and glibc's verdicts agree on `pattern` (compiled as `ours`) over `text`;
/// true when both compiled it (a comparison made).
fn same_verdict(pattern: &str, ours: &Result<Regex, String>, text: &str) -> bool {
    match (ours, glibc_full_match(pattern, text)) {
        (Ok(re), Some(want)) => {
            assert_eq!(
                re.is_full_match(text),
                want,
                "pattern {pattern:?} on {text:?}: glibc says {want}"
            );
            true
        }
        (Err(_), None) => false,
        (Ok(_), None) => panic!("glibc refuses {pattern:?}, we compile it"),
        (Err(e), Some(_)) => panic!("glibc compiles {pattern:?}, we refuse it: {e}"),
    }
}

const PATTERNS: &[&str] = &[
    "0463",
    "ffff",
    "FFFF",
    "04[56]3",
    "0[0-9a-f]{3}",
    "[[:xdigit:]]{4}",
    "(0463|051d)",
    "051d|0463",
    "Back-UPS.*",
    "back-ups",
    "Back-UPS (ES|CS) [0-9]+",
    ".*",
    ".+",
    "",
    "a*",
    "(a|ab)(c|bcd)",
    "(a*)*",
    "(a*)+b",
    "x?y?z?",
    "^0463$",
    "^$",
    "[^0-9]+",
    "[]a-]+",
    "[a-]+",
    "EATON|MGE.*",
    "Ellipse (ECO|PRO) [0-9]{3,4}",
    "[0-9]{2,}",
    "[0-9]{1,2}",
    "(ab){2}",
    "(ab){0}c",
    "a{0,1}b",
    "\\.",
    "AB0427",
    ".*0427",
    "[[:alpha:]]+ [[:digit:]]+",
    "[[:space:]]*x",
    "[[:upper:]]+",
    "[[:lower:]]+",
    "[A-F]+",
    "[a-f]+",
    "a|",
    "|a",
    "(|x)y",
    "()",
    "(ab)",
    "ab)",
    "a.c",
    "a[.]c",
    "[.]",
    "\\(",
    "x+?",
    "x*+",
    "(a+)+$",
    // refused by regcomp
    "(ab",
    "[ab",
    "*a",
    "+",
    "a{3,2}",
    "a\\",
    "[[:nope:]]",
    "a{99999}",
];

const TEXTS: &[&str] = &[
    "0463",
    "0453",
    "ffff",
    "051d",
    "Back-UPS CS 500",
    "Back-UPS ES 700",
    "BACK-UPS",
    "",
    "a",
    "aaa",
    "aaab",
    "abcd",
    "abc",
    "xyz",
    "xz",
    "EATON",
    "MGE UPS SYSTEMS",
    "Ellipse ECO 650",
    "Ellipse PRO 1200",
    "12",
    "123",
    "abab",
    "c",
    "b",
    "AB0427",
    "ab)",
    "a.c",
    "abc",
    "Smart 1500",
    "  x",
    "]a-",
    "(",
    "ABCDEF",
    "abcdef",
];

#[test]
fn patterns_match_as_glibcs_regex_does() {
    let mut compared = 0;
    for pattern in PATTERNS {
        let ours = Regex::new(pattern);
        for text in TEXTS {
            compared += usize::from(same_verdict(pattern, &ours, text));
        }
    }
    assert!(compared > 1500, "{compared} comparisons");
}

/// Random patterns from the operators' alphabet against random texts (a fixed seed:
/// the same cases every run), compared with glibc as above.
#[test]
fn random_patterns_match_as_glibcs_regex_does() {
    const TOKENS: &[&str] = &[
        "a",
        "b",
        "A",
        ".",
        "*",
        "+",
        "?",
        "|",
        "(",
        ")",
        "[ab]",
        "[^a]",
        "[a-b]",
        "{2}",
        "{1,2}",
        "{0,}",
        "^",
        "$",
        "\\.",
        "[[:alpha:]]",
        "()",
        "x",
        "{0}",
        "[]a]",
        "\\(",
        "[[:upper:]]",
        "[^[:alpha:]]",
        "[.a]",
        "(x*)*",
        "-",
        "[a-]",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut compared = 0;
    for _ in 0..4000 {
        let len = (next() % 7) as usize + 1;
        let pattern: String = (0..len)
            .map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize])
            .collect();
        let ours = Regex::new(&pattern);
        for _ in 0..4 {
            let tlen = (next() % 8) as usize;
            let text: String = (0..tlen)
                .map(|_| ['a', 'b', 'B', 'x', '.', '-', ']', '('][(next() % 8) as usize])
                .collect();
            compared += usize::from(same_verdict(&pattern, &ours, &text));
        }
    }
    assert!(compared > 5000, "{compared} comparisons");
}
