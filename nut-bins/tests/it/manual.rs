//! The config files' man pages against Debian's NUT 2.8.0 sample files (installed by
//! nut-client and nut-server in /etc/nut): every directive those samples show, commented
//! out or not, is documented in our page of the same file.

use crate::interop::peer;
use nut_bins::manual::{config_page, CONFIG_PAGES};

/// Capitalised words of the samples that are prose, not directives.
const PROSE: &[&str] = &["NUT", "IMPORTANT", "NOTE", "WARNING"];

/// The directive-like words at the start of the sample's lines (after `# `).
fn sample_directives(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let line = line.strip_prefix('#').unwrap_or(line);
            let line = line.strip_prefix(' ').unwrap_or(line);
            let word: String = line
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            let next = line[word.len()..].chars().next();
            (word.len() >= 3
                && matches!(next, Some(' ') | Some('='))
                && !PROSE.contains(&word.as_str()))
            .then_some(word)
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

#[test]
fn every_directive_of_debians_sample_files_is_documented() {
    for file in ["upsmon.conf", "upsd.conf", "upssched.conf", "nut.conf"] {
        let path = format!("/etc/nut/{file}");
        let Some(sample) = peer(&path) else {
            return;
        };
        let text = std::fs::read_to_string(sample).unwrap();
        let page = CONFIG_PAGES.iter().find(|p| p.file == file).unwrap();
        let rendered = config_page(page, "test");
        let directives = sample_directives(&text);
        assert!(directives.len() >= 2, "{file}: {directives:?}");
        for directive in directives {
            assert!(
                rendered.contains(&directive),
                "{file}(5) does not document {directive}, which Debian's sample shows"
            );
        }
    }
}

#[test]
fn every_documented_directive_is_one_our_parser_accepts() {
    use nut_bins::confload::errors_in;
    for (file, example) in [
        ("upsmon.conf", "1"),
        ("upsd.conf", "1"),
        ("upssched.conf", "/x"),
    ] {
        let page = CONFIG_PAGES.iter().find(|p| p.file == file).unwrap();
        for directive in page.directives {
            if directive.name.contains(',') || directive.name == "AT" {
                continue;
            }
            let args = directive.args.split_whitespace().count().max(1);
            let line = format!("{} {}\n", directive.name, vec![example; args].join(" "));
            let warnings_are_fine = errors_in(file, line.as_bytes());
            assert!(
                !warnings_are_fine
                    .iter()
                    .any(|e| e.contains("unknown directive")),
                "{file}: {line:?} -> {warnings_are_fine:?}"
            );
        }
    }
}
