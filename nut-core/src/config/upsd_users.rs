//! upsd.users: accounts and permissions of upsd (nut-reference.md §1.10, §5.4).
//!
//! Each `[username]` section holds `password = ...`, repeatable `actions = ...` and
//! `instcmds = ...` lines (each may list several words), and `upsmon primary|secondary`
//! (also `upsmon = primary`; `master`/`slave` are accepted). Duplicate sections are
//! ignored, the first password wins, and lines before the first section are ignored.

use super::{section_name, usable_lines, Diags, Parsed};
use crate::tokenizer::Line;

/// The upsmon role given by `upsmon primary|secondary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsmonRole {
    /// `upsmon primary` (or `master`): may log in, set FSD and use PRIMARY.
    Primary,
    /// `upsmon secondary` (or `slave`): may only log in.
    Secondary,
}

/// One `[username]` section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    /// The name between the brackets (case-sensitive).
    pub name: String,
    /// The first `password` given.
    pub password: Option<String>,
    /// Explicit `actions`, upper-cased.
    pub actions: Vec<String>,
    /// `instcmds` as written (`ALL` = every command).
    pub instcmds: Vec<String>,
    /// The `upsmon` role, if any (the last one given).
    pub upsmon: Option<UpsmonRole>,
}

const KNOWN_ACTIONS: &[&str] = &["SET", "FSD", "LOGIN", "PRIMARY", "MASTER"];

impl User {
    /// action is one of "LOGIN","PRIMARY","MASTER","FSD","SET" (case-insensitive).
    /// upsmon primary grants LOGIN, PRIMARY, MASTER, FSD; upsmon secondary grants
    /// LOGIN; explicit actions grant themselves ("actions = login" grants LOGIN).
    /// PRIMARY and MASTER are the same permission.
    pub fn has_action(&self, action: &str) -> bool {
        let wanted = action.to_ascii_uppercase();
        let by_role = match self.upsmon {
            Some(UpsmonRole::Primary) => {
                matches!(wanted.as_str(), "LOGIN" | "PRIMARY" | "MASTER" | "FSD")
            }
            Some(UpsmonRole::Secondary) => wanted == "LOGIN",
            None => false,
        };
        let is_primary = |a: &str| a == "PRIMARY" || a == "MASTER";
        by_role
            || self
                .actions
                .iter()
                .any(|a| *a == wanted || (is_primary(a) && is_primary(&wanted)))
    }

    /// instcmds contains cmd case-insensitively or contains "ALL" (case-insensitive).
    pub fn may_instcmd(&self, cmd: &str) -> bool {
        self.instcmds
            .iter()
            .any(|c| c.eq_ignore_ascii_case(cmd) || c.eq_ignore_ascii_case("ALL"))
    }
}

/// The whole of upsd.users.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpsdUsers {
    /// Users in file order (duplicate sections left out).
    pub users: Vec<User>,
}

impl UpsdUsers {
    /// first section whose name equals (case-sensitive)
    pub fn find(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// None unless user exists AND password matches exactly
    pub fn authenticate(&self, name: &str, password: &str) -> Option<&User> {
        self.find(name)
            .filter(|u| u.password.as_deref() == Some(password))
    }
}

fn set_role(user: &mut User, diags: &mut Diags, line: &Line, role: &str) {
    match role.to_ascii_lowercase().as_str() {
        "primary" | "master" => user.upsmon = Some(UpsmonRole::Primary),
        "secondary" | "slave" => user.upsmon = Some(UpsmonRole::Secondary),
        _ => diags.error(
            line,
            "upsmon",
            format!("unknown upsmon type {role:?}; expected primary or secondary"),
        ),
    }
}

fn set_var(user: &mut User, diags: &mut Diags, line: &Line, var: &str, values: &[String]) {
    match var {
        "password" => {
            if user.password.is_some() {
                diags.warning(
                    line,
                    var,
                    format!(
                        "duplicate password for user {} ignored (the first one wins)",
                        user.name
                    ),
                );
            } else {
                user.password = Some(values[0].clone());
                if values.len() > 1 {
                    diags.warning(
                        line,
                        var,
                        "extra words after the password ignored (quote passwords with spaces)",
                    );
                }
            }
        }
        "actions" => {
            for value in values {
                let upper = value.to_ascii_uppercase();
                if KNOWN_ACTIONS.contains(&upper.as_str()) {
                    user.actions.push(upper);
                } else {
                    diags.error(
                        line,
                        var,
                        format!("unknown action {value:?}; expected SET, FSD or LOGIN"),
                    );
                }
            }
        }
        "instcmds" => user.instcmds.extend(values.iter().cloned()),
        "upsmon" => set_role(user, diags, line, &values[0]),
        _ if var.eq_ignore_ascii_case("allowfrom") => diags.warning(
            line,
            var,
            "allowfrom is no longer used; use LISTEN in upsd.conf and a firewall",
        ),
        _ => diags.error(line, var, "unknown user setting; line ignored"),
    }
}

/// Parses upsd.users; `file` is used only in diagnostics.
pub fn parse_upsd_users(file: &str, text: &[u8]) -> Parsed<UpsdUsers> {
    let mut diags = Diags::new(file);
    let mut conf = UpsdUsers::default();
    // Index of the user being filled; None before the first section or inside an
    // ignored (duplicate or malformed) one.
    let mut current: Option<usize> = None;
    let mut seen_section = false;

    for line in usable_lines(text, &mut diags) {
        let words = &line.words;
        let first = words[0].as_str();
        if first.starts_with('[') {
            seen_section = true;
            current = None;
            match section_name(first) {
                None => diags.error(
                    &line,
                    first,
                    "section header lacks its closing ']'; section ignored",
                ),
                Some("") => diags.error(&line, first, "empty user name; section ignored"),
                Some(name) if conf.find(name).is_some() => diags.warning(
                    &line,
                    first,
                    format!("duplicate user [{name}] ignored (the first section wins)"),
                ),
                Some(name) => {
                    conf.users.push(User {
                        name: name.to_string(),
                        ..User::default()
                    });
                    current = Some(conf.users.len() - 1);
                }
            }
            if words.len() > 1 {
                diags.warning(&line, first, "words after the section header ignored");
            }
            continue;
        }
        let Some(index) = current else {
            if !seen_section {
                diags.warning(&line, first, "line before the first [user] section ignored");
            }
            continue;
        };
        let user = &mut conf.users[index];
        if words.len() == 2 && first == "upsmon" {
            set_role(user, &mut diags, &line, &words[1]);
        } else if words.len() >= 3 && words[1] == "=" {
            set_var(user, &mut diags, &line, first, &words[2..]);
        } else {
            diags.error(
                &line,
                first,
                "line ignored: expected \"name = value\" or \"upsmon primary|secondary\"",
            );
        }
    }
    diags.finish(conf)
}
