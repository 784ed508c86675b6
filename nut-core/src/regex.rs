//! POSIX extended regular expressions, as NUT's USB drivers match their device
//! selection options with them (drivers/usb-common.c `USBNewRegexMatcher`: `regcomp`
//! with `REG_ICASE | REG_EXTENDED`, and `match_regex`, which accepts a match only when
//! it covers the whole string).
//!
//! Alternation, grouping, `.`, bracket expressions (ranges, negation, `[:class:]`),
//! `*`, `+`, `?`, intervals `{m}`, `{m,}`, `{m,n}`, anchors `^` and `$`, and `\` escapes.
//! Matching computes the set of positions each part can end at (no backtracking), so a
//! pattern costs at most polynomial time in the length of the text, whatever its
//! nesting. Back-references, equivalence classes and collating elements are refused as
//! invalid, as a pattern `regcomp` rejects is.

use std::collections::BTreeSet;

/// The largest count an interval may give (glibc's `RE_DUP_MAX`).
pub const RE_DUP_MAX: u32 = 0x7fff;

/// Bytes of pattern accepted (a ups.conf value is far shorter).
pub const MAX_PATTERN_BYTES: usize = 4096;

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regex {
    root: Node,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    /// One character (already folded to lower case).
    Char(char),
    Any,
    Set {
        negated: bool,
        items: Vec<SetItem>,
    },
    Start,
    End,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SetItem {
    Char(char),
    Range(char, char),
    Class(Class),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Alnum,
    Alpha,
    Blank,
    Cntrl,
    Digit,
    Graph,
    Lower,
    Print,
    Punct,
    Space,
    Upper,
    Xdigit,
}

impl Class {
    fn named(name: &str) -> Option<Class> {
        Some(match name {
            "alnum" => Class::Alnum,
            "alpha" => Class::Alpha,
            "blank" => Class::Blank,
            "cntrl" => Class::Cntrl,
            "digit" => Class::Digit,
            "graph" => Class::Graph,
            "lower" => Class::Lower,
            "print" => Class::Print,
            "punct" => Class::Punct,
            "space" => Class::Space,
            "upper" => Class::Upper,
            "xdigit" => Class::Xdigit,
            _ => return None,
        })
    }

    fn has(self, c: char) -> bool {
        match self {
            Class::Alnum => c.is_alphanumeric(),
            Class::Alpha => c.is_alphabetic(),
            Class::Blank => c == ' ' || c == '\t',
            Class::Cntrl => c.is_control(),
            Class::Digit => c.is_ascii_digit(),
            Class::Graph => !c.is_control() && !c.is_whitespace(),
            // Case is ignored: lower and upper both take any letter (glibc does so
            // under REG_ICASE).
            Class::Lower | Class::Upper => c.is_alphabetic(),
            Class::Print => !c.is_control(),
            Class::Punct => c.is_ascii_punctuation(),
            Class::Space => c.is_whitespace(),
            Class::Xdigit => c.is_ascii_hexdigit(),
        }
    }
}

/// Case folded as `REG_ICASE` compares.
fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

impl SetItem {
    fn has(&self, c: char) -> bool {
        match *self {
            SetItem::Char(x) => x == c,
            SetItem::Range(lo, hi) => {
                let upper = c.to_uppercase().next().unwrap_or(c);
                (lo..=hi).contains(&c) || (lo..=hi).contains(&upper)
            }
            SetItem::Class(class) => class.has(c),
        }
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    at: usize,
    pattern: &'a str,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        format!("invalid regular expression: {} ({what})", self.pattern)
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn alt(&mut self, depth: usize) -> Result<Node, String> {
        let mut branches = vec![self.concat(depth)?];
        while self.peek() == Some('|') {
            self.at += 1;
            branches.push(self.concat(depth)?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Concat(Vec::new()))
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self, depth: usize) -> Result<Node, String> {
        let mut parts = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || (c == ')' && depth > 0) {
                break;
            }
            let atom = self.atom(depth)?;
            parts.push(self.repeats(atom)?);
        }
        Ok(Node::Concat(parts))
    }

    fn repeats(&mut self, mut node: Node) -> Result<Node, String> {
        // glibc refuses a repetition of an anchor (REG_BADRPT).
        if matches!(node, Node::Start | Node::End)
            && matches!(self.peek(), Some('*' | '+' | '?' | '{'))
        {
            return Err(self.err("nothing to repeat"));
        }
        loop {
            let (min, max) = match self.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') => {
                    self.at += 1;
                    let interval = self.interval()?;
                    node = Node::Repeat {
                        node: Box::new(node),
                        min: interval.0,
                        max: interval.1,
                    };
                    continue;
                }
                _ => return Ok(node),
            };
            self.at += 1;
            node = Node::Repeat {
                node: Box::new(node),
                min,
                max,
            };
        }
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        if text.is_empty() {
            None
        } else {
            Some(text.parse().unwrap_or(u32::MAX))
        }
    }

    fn interval(&mut self) -> Result<(u32, Option<u32>), String> {
        let min = self.number().ok_or_else(|| self.err("bad interval"))?;
        let max = if self.peek() == Some(',') {
            self.at += 1;
            self.number()
        } else {
            Some(min)
        };
        if self.peek() != Some('}') {
            return Err(self.err("unterminated interval"));
        }
        self.at += 1;
        if min > RE_DUP_MAX || max.is_some_and(|m| m > RE_DUP_MAX || m < min) {
            return Err(self.err("bad interval"));
        }
        Ok((min, max))
    }

    fn atom(&mut self, depth: usize) -> Result<Node, String> {
        let Some(c) = self.peek() else {
            return Err(self.err("unexpected end"));
        };
        self.at += 1;
        Ok(match c {
            '(' => {
                if depth >= 64 {
                    return Err(self.err("groups nested too deep"));
                }
                let inner = self.alt(depth + 1)?;
                if self.peek() != Some(')') {
                    return Err(self.err("unmatched ("));
                }
                self.at += 1;
                inner
            }
            // glibc's POSIX extended syntax takes an unmatched ')' as itself
            // (RE_UNMATCHED_RIGHT_PAREN_ORD).
            ')' => Node::Char(')'),
            '*' | '+' | '?' | '{' => return Err(self.err("nothing to repeat")),
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '[' => self.bracket()?,
            '\\' => {
                let Some(e) = self.peek() else {
                    return Err(self.err("trailing backslash"));
                };
                self.at += 1;
                if e.is_ascii_digit() {
                    return Err(self.err("back-references are not supported"));
                }
                Node::Char(fold(e))
            }
            c => Node::Char(fold(c)),
        })
    }

    fn bracket(&mut self) -> Result<Node, String> {
        let negated = self.peek() == Some('^');
        if negated {
            self.at += 1;
        }
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unmatched ["));
            };
            self.at += 1;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = if c == '[' && matches!(self.peek(), Some(':' | '=' | '.')) {
                let kind = self.peek().unwrap_or(':');
                self.at += 1;
                let start = self.at;
                while self.at + 1 < self.chars.len()
                    && !(self.chars[self.at] == kind && self.chars[self.at + 1] == ']')
                {
                    self.at += 1;
                }
                if self.at + 1 >= self.chars.len() {
                    return Err(self.err("unmatched ["));
                }
                let name: String = self.chars[start..self.at].iter().collect();
                self.at += 2;
                if kind != ':' {
                    return Err(self.err("collating elements are not supported"));
                }
                let class = Class::named(&name).ok_or_else(|| self.err("unknown class"))?;
                items.push(SetItem::Class(class));
                continue;
            } else {
                c
            };
            // A range, unless the '-' is last (then it is itself).
            if self.peek() == Some('-') && self.chars.get(self.at + 1).is_some_and(|&n| n != ']') {
                self.at += 1;
                let hi = self.peek().ok_or_else(|| self.err("unmatched ["))?;
                self.at += 1;
                if hi < lo {
                    return Err(self.err("invalid range end"));
                }
                items.push(SetItem::Range(fold(lo), fold(hi)));
                if lo.is_alphabetic() || hi.is_alphabetic() {
                    items.push(SetItem::Range(lo, hi));
                }
            } else {
                items.push(SetItem::Char(fold(lo)));
            }
        }
        Ok(Node::Set { negated, items })
    }
}

impl Regex {
    /// Compiles `pattern` (an error names it, as NUT's "invalid regular expression").
    pub fn new(pattern: &str) -> Result<Regex, String> {
        if pattern.len() > MAX_PATTERN_BYTES {
            return Err(format!(
                "invalid regular expression: longer than {MAX_PATTERN_BYTES} bytes"
            ));
        }
        let mut parser = Parser {
            chars: pattern.chars().collect(),
            at: 0,
            pattern,
        };
        let root = parser.alt(0)?;
        Ok(Regex { root })
    }

    /// Whether the pattern matches all of `text`, ignoring case.
    pub fn is_full_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().map(fold).collect();
        ends(&self.root, &chars, &BTreeSet::from([0])).contains(&chars.len())
    }
}

/// The positions `node` can end at, started at any of `from`.
fn ends(node: &Node, text: &[char], from: &BTreeSet<usize>) -> BTreeSet<usize> {
    let one = |ok: &dyn Fn(char) -> bool| -> BTreeSet<usize> {
        from.iter()
            .filter(|&&p| text.get(p).is_some_and(|&c| ok(c)))
            .map(|p| p + 1)
            .collect()
    };
    match node {
        Node::Char(c) => one(&|t| t == *c),
        Node::Any => one(&|_| true),
        Node::Set { negated, items } => one(&|t| items.iter().any(|i| i.has(t)) != *negated),
        Node::Start => from.iter().copied().filter(|&p| p == 0).collect(),
        Node::End => from.iter().copied().filter(|&p| p == text.len()).collect(),
        Node::Concat(parts) => {
            let mut at = from.clone();
            for part in parts {
                if at.is_empty() {
                    break;
                }
                at = ends(part, text, &at);
            }
            at
        }
        Node::Alt(branches) => branches.iter().flat_map(|b| ends(b, text, from)).collect(),
        Node::Repeat { node, min, max } => {
            let mut reached = BTreeSet::new();
            let mut current = from.clone();
            let mut count = 0u32;
            if *min == 0 {
                reached.extend(current.iter().copied());
            }
            while max.is_none_or(|m| count < m) && !current.is_empty() {
                let next = ends(node, text, &current);
                count += 1;
                if count >= *min {
                    // Past the minimum, only new positions can lead further.
                    let fresh: BTreeSet<usize> = next.difference(&reached).copied().collect();
                    reached.extend(fresh.iter().copied());
                    current = fresh;
                } else if next == current {
                    // The same positions again (an inner part matching empty): the
                    // minimum is reached with them.
                    count = *min - 1;
                } else {
                    current = next;
                }
            }
            reached
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(pattern: &str, text: &str) -> bool {
        Regex::new(pattern).unwrap().is_full_match(text)
    }

    #[test]
    fn plain_values_match_whole_and_ignore_case() {
        assert!(full("0463", "0463"));
        assert!(full("FFFF", "ffff"));
        assert!(full("EATON", "Eaton"));
        assert!(!full("046", "0463"), "a match must cover the whole string");
        assert!(!full("463", "0463"));
        // '.' is any character: a plain product string with dots still matches.
        assert!(full(
            "Back-UPS RS 1500G FW:865.L6 .D",
            "Back-UPS RS 1500G FW:865.L6 .D"
        ));
    }

    #[test]
    fn operators() {
        assert!(full("04[56]3", "0463"));
        assert!(full("04[56]3", "0453"));
        assert!(!full("04[^56]3", "0463"));
        assert!(full("(0463|051d)", "051D"));
        assert!(full("Back-UPS.*", "Back-UPS ES 700"));
        assert!(full("a+b?c*", "aaa"));
        assert!(!full("a+", ""));
        assert!(full("x{2,3}", "xxx"));
        assert!(!full("x{2,3}", "xxxx"));
        assert!(full("x{2,}", "xxxxx"));
        assert!(full("[[:digit:]]{4}", "1234"));
        assert!(full("[a-f0-9]{4}", "FFFF"), "ranges ignore case too");
        assert!(full("^abc$", "abc"));
        assert!(!full("a^b", "ab"));
        assert!(full("\\(x\\)", "(x)"));
        assert!(full("[]a]+", "]a]"));
        assert!(full("[a-]+", "a-a"));
        assert!(full("(a*)*b", "aaab"));
        assert!(full("(|a)b", "b"));
        assert!(full("()*x", "x"));
        assert!(full("(a?){3}b", "ab"));
    }

    #[test]
    fn what_regcomp_rejects_is_an_error() {
        assert!(full("ab)", "AB)"), "an unmatched ) is itself");
        for bad in [
            "(ab",
            "[ab",
            "*a",
            "a{2",
            "a{3,2}",
            "a\\",
            "\\1",
            "[[:nope:]]",
            "a{99999}",
        ] {
            let err = Regex::new(bad).unwrap_err();
            assert!(
                err.starts_with("invalid regular expression"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn nested_repetition_stays_polynomial() {
        let text = "a".repeat(250) + "b";
        assert!(!full("((a*)*)*c", &text));
        assert!(full("((a|aa)*)*b", &text));
    }
}
