//! The tokenizer never panics and keeps its memory bound, whatever the bytes and however
//! they are split into reads.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::tokenizer::{Tokenizer, MAX_WORDS_PER_LINE, MAX_WORD_BYTES};

fuzz_target!(|data: &[u8]| {
    let split = data.first().copied().unwrap_or(1).max(1) as usize;
    let mut tokenizer = Tokenizer::new();
    let mut lines = Vec::new();
    for chunk in data.chunks(split) {
        tokenizer.feed(chunk, &mut lines);
        assert!(tokenizer.buffered_bytes() <= MAX_WORDS_PER_LINE * MAX_WORD_BYTES + MAX_WORD_BYTES);
    }
    lines.extend(tokenizer.finish());
    for line in lines {
        assert!(line.words.len() <= MAX_WORDS_PER_LINE);
        assert!(line.words.iter().all(|w| w.len() <= MAX_WORD_BYTES));
    }
});
