//! The variable tree shared by drivers and upsd (common/state.c, nut-reference.md §2.4).
//!
//! Variables are kept sorted case-insensitively (LIST VAR order); commands likewise, with
//! case-insensitive de-duplication. Applying a [`DriverLine`] here is the one place where
//! both the driver side and the server side change state, so they cannot disagree.

use crate::sock::DriverLine;
use std::collections::BTreeMap;

/// Most variables one UPS may publish; more are dropped (bounds memory against a
/// flooding driver).
pub const MAX_VARS_PER_UPS: usize = 4096;
/// Most enum values or ranges per variable.
pub const MAX_ENUMS_PER_VAR: usize = 256;
/// Most instant commands per UPS.
pub const MAX_CMDS_PER_UPS: usize = 1024;

/// Variable flags (SETFLAGS words).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VarFlags {
    /// Writable through SET VAR.
    pub rw: bool,
    /// A string; aux is its maximum length.
    pub string: bool,
    /// A number.
    pub number: bool,
    /// Set from `override.*`: device readings never replace it (driver side only).
    pub immutable: bool,
}

impl VarFlags {
    /// The SETFLAGS words, in NUT's order (RW STRING NUMBER).
    pub fn words(&self) -> Vec<String> {
        let mut words = Vec::new();
        if self.rw {
            words.push("RW".to_string());
        }
        if self.string {
            words.push("STRING".to_string());
        }
        if self.number {
            words.push("NUMBER".to_string());
        }
        words
    }

    fn any(&self) -> bool {
        self.rw || self.string || self.number
    }
}

/// One variable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Var {
    /// The name as first published.
    pub name: String,
    /// The raw (unescaped) value.
    pub value: String,
    /// Flags.
    pub flags: VarFlags,
    /// Aux number (maximum length for STRING variables).
    pub aux: i64,
    /// Allowed values, in insertion order.
    pub enums: Vec<String>,
    /// Allowed integer ranges, in insertion order.
    pub ranges: Vec<(i64, i64)>,
}

/// Variables and instant commands of one UPS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VarTree {
    /// Sorted by lowercased name (the key), for binary search: a GET VAR looks up one
    /// variable per request, and this costs half of a BTreeMap's in-node linear search.
    vars: Vec<(String, Var)>,
    cmds: BTreeMap<String, String>,
}

/// The part of `raw` a NUT driver's DUMPALL carries: the state tree keeps values
/// escaped (`#`, `\`, `"` get a backslash) in a buffer of `ST_MAX_VALUE_LEN` bytes
/// (common/state.c `val_escape`, common/parseconf.c `pconf_encode`), so a long value
/// with escaped characters loses its end in a dump (a live SETINFO carries it whole).
pub fn dump_value(raw: &str) -> &str {
    const MAXLEN: usize = crate::dummy::ST_MAX_VALUE_LEN - 1;
    let mut destlen = 0;
    for (i, c) in raw.char_indices() {
        let escaped = matches!(c, '#' | '\\' | '"');
        if escaped {
            if destlen + 1 >= MAXLEN {
                return &raw[..i];
            }
            destlen += 1;
        }
        if destlen + c.len_utf8() > MAXLEN {
            return &raw[..i];
        }
        destlen += c.len_utf8();
    }
    raw
}

/// The case-insensitive key of a name: the name itself when it has no capitals (names
/// are nearly always lowercase; this runs at every variable update and lookup).
fn key(name: &str) -> std::borrow::Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        name.to_ascii_lowercase().into()
    } else {
        name.into()
    }
}

impl VarTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Looks a variable up case-insensitively. Names as clients send them are already
    /// lowercase, and those are looked up without a lowered copy (this runs for every GET).
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.find(&key(name)).ok().map(|i| &self.vars[i].1)
    }

    /// Where the variable with this key is, or where it would go.
    fn find(&self, key: &str) -> Result<usize, usize> {
        self.vars.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The raw value of a variable.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(|v| v.value.as_str())
    }

    /// Variables in LIST VAR order (case-insensitive name order).
    pub fn vars(&self) -> impl Iterator<Item = &Var> {
        self.vars.iter().map(|(_, v)| v)
    }

    /// Instant commands in LIST CMD order.
    pub fn cmds(&self) -> impl Iterator<Item = &str> {
        self.cmds.values().map(String::as_str)
    }

    /// True if the UPS has this command (case-insensitive).
    pub fn has_cmd(&self, cmd: &str) -> bool {
        self.cmds.contains_key(key(cmd).as_ref())
    }

    /// Number of variables.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// True when there are no variables.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// Sets a value; returns true if it changed. A change only in letter case is ignored,
    /// and immutable variables are not touched (common/state.c).
    pub fn set(&mut self, name: &str, value: &str) -> bool {
        let name_key = key(name);
        let at = match self.find(&name_key) {
            Ok(i) => {
                let var = &mut self.vars[i].1;
                if var.flags.immutable || var.value.eq_ignore_ascii_case(value) {
                    return false;
                }
                var.value.clear();
                var.value.push_str(value);
                return true;
            }
            Err(at) => at,
        };
        if self.vars.len() >= MAX_VARS_PER_UPS {
            return false;
        }
        self.vars.insert(
            at,
            (
                name_key.into_owned(),
                Var {
                    name: name.to_string(),
                    value: value.to_string(),
                    ..Var::default()
                },
            ),
        );
        true
    }

    /// Sets a value that device readings may never replace (`override.*`).
    pub fn set_immutable(&mut self, name: &str, value: &str) {
        self.set(name, value);
        if let Some(var) = self.get_mut(name) {
            var.value = value.to_string();
            var.flags.immutable = true;
        }
    }

    /// Mutable access for drivers describing their variables.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Var> {
        let index = self.find(&key(name)).ok()?;
        Some(&mut self.vars[index].1)
    }

    /// Deletes a variable; returns true if it existed (immutable ones stay).
    pub fn delete(&mut self, name: &str) -> bool {
        match self.find(&key(name)) {
            Ok(i) if !self.vars[i].1.flags.immutable => {
                self.vars.remove(i);
                true
            }
            _ => false,
        }
    }

    /// Adds an instant command; returns true if it was new.
    pub fn add_cmd(&mut self, cmd: &str) -> bool {
        if self.cmds.len() >= MAX_CMDS_PER_UPS || self.cmds.contains_key(key(cmd).as_ref()) {
            return false;
        }
        self.cmds.insert(key(cmd).into_owned(), cmd.to_string());
        true
    }

    /// Removes an instant command.
    pub fn del_cmd(&mut self, cmd: &str) -> bool {
        self.cmds.remove(key(cmd).as_ref()).is_some()
    }

    /// Removes everything (driver disconnected).
    pub fn clear(&mut self) {
        self.vars.clear();
        self.cmds.clear();
    }

    /// Applies a state-changing driver line; returns true if anything changed.
    /// Control lines (PONG, DUMPDONE, DATAOK, DATASTALE, TRACKING) change nothing here.
    pub fn apply(&mut self, line: &DriverLine) -> bool {
        match line {
            DriverLine::SetInfo { var, value } => self.set(var, value),
            DriverLine::DelInfo { var } => self.delete(var),
            DriverLine::AddEnum { var, value } => self.with_var(var, |v| {
                if v.enums.iter().any(|e| e == value) || v.enums.len() >= MAX_ENUMS_PER_VAR {
                    return false;
                }
                v.enums.push(value.clone());
                true
            }),
            DriverLine::DelEnum { var, value } => self.with_var(var, |v| {
                let before = v.enums.len();
                if let Some(pos) = v.enums.iter().position(|e| e.eq_ignore_ascii_case(value)) {
                    v.enums.remove(pos);
                }
                before != v.enums.len()
            }),
            DriverLine::AddRange { var, min, max } => self.with_var(var, |v| {
                // NUT's quirk: a range sharing either bound with an existing one is a duplicate.
                if v.ranges.iter().any(|(lo, hi)| lo == min || hi == max)
                    || v.ranges.len() >= MAX_ENUMS_PER_VAR
                {
                    return false;
                }
                v.ranges.push((*min, *max));
                true
            }),
            DriverLine::DelRange { var, min, max } => self.with_var(var, |v| {
                match v.ranges.iter().position(|(lo, hi)| lo == min || hi == max) {
                    Some(pos) => {
                        v.ranges.remove(pos);
                        true
                    }
                    None => false,
                }
            }),
            DriverLine::SetAux { var, aux } => self.with_var(var, |v| {
                let changed = v.aux != *aux;
                v.aux = *aux;
                changed
            }),
            DriverLine::SetFlags { var, flags } => self.with_var(var, |v| {
                if v.flags.immutable {
                    return false;
                }
                let mut new = VarFlags::default();
                for flag in flags {
                    match flag.to_ascii_uppercase().as_str() {
                        "RW" => new.rw = true,
                        "STRING" => new.string = true,
                        "NUMBER" => new.number = true,
                        _ => {}
                    }
                }
                let changed = v.flags != new;
                v.flags = new;
                changed
            }),
            DriverLine::AddCmd { cmd } => self.add_cmd(cmd),
            DriverLine::DelCmd { cmd } => self.del_cmd(cmd),
            DriverLine::DumpDone
            | DriverLine::Pong
            | DriverLine::DataOk
            | DriverLine::DataStale
            | DriverLine::Tracking { .. } => false,
        }
    }

    fn with_var(&mut self, name: &str, change: impl FnOnce(&mut Var) -> bool) -> bool {
        self.get_mut(name).map(change).unwrap_or(false)
    }

    /// The lines a driver sends in answer to DUMPALL (nut-reference.md §2.3), without the
    /// DATAOK/DATASTALE and DUMPDONE framing. Values are cut where NUT's escaped copy of
    /// them ends ([`dump_value`]).
    pub fn dump_lines(&self) -> Vec<DriverLine> {
        let mut lines = Vec::new();
        for var in self.vars() {
            lines.push(DriverLine::SetInfo {
                var: var.name.clone(),
                value: dump_value(&var.value).to_string(),
            });
            for value in &var.enums {
                lines.push(DriverLine::AddEnum {
                    var: var.name.clone(),
                    value: dump_value(value).to_string(),
                });
            }
            for (min, max) in &var.ranges {
                lines.push(DriverLine::AddRange {
                    var: var.name.clone(),
                    min: *min,
                    max: *max,
                });
            }
            if var.aux != 0 {
                lines.push(DriverLine::SetAux {
                    var: var.name.clone(),
                    aux: var.aux,
                });
            }
            // NUT's st_tree_dump_conn sends SETFLAGS for any flag, IMMUTABLE (which has
            // no word) included: an `override.*` variable dumps as a bare `SETFLAGS var`.
            if var.flags.any() || var.flags.immutable {
                lines.push(DriverLine::SetFlags {
                    var: var.name.clone(),
                    flags: var.flags.words(),
                });
            }
        }
        for cmd in self.cmds.values() {
            lines.push(DriverLine::AddCmd { cmd: cmd.clone() });
        }
        lines
    }
}
