//! Driver-socket lines in both directions, and their effect on the variable tree and
//! on upsd, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nut_core::sock::{DriverLine, ServerLine};
use nut_core::state::VarTree;
use nut_core::tokenizer::tokenize;

fuzz_target!(|data: &[u8]| {
    let mut tree = VarTree::new();
    for line in tokenize(data) {
        if let Some(parsed) = DriverLine::parse(&line.words) {
            tree.apply(&parsed);
            let again = tokenize(parsed.format().as_bytes());
            assert_eq!(again.len(), 1);
        }
        if let Some(parsed) = ServerLine::parse(&line.words) {
            let _ = parsed.format();
        }
    }
    let _ = tree.dump_lines();
});
