//! Output formats of the command-line clients (upsc), exactly as NUT prints them
//! (ecosystem.md §3.5). Pure formatting: the shell does the network part.

/// `upsc <ups>`: one `name: value` line per variable, in the order received.
pub fn format_var_listing(vars: &[(String, String)]) -> String {
    let mut out = String::new();
    for (name, value) in vars {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push('\n');
    }
    out
}

/// `upsc -L`: `name: description` per UPS.
pub fn format_ups_listing(upses: &[(String, String)], with_desc: bool) -> String {
    let mut out = String::new();
    for (name, desc) in upses {
        out.push_str(name);
        if with_desc {
            out.push_str(": ");
            out.push_str(desc);
        }
        out.push('\n');
    }
    out
}

/// Escapes a string for JSON output (`upsc -j`).
pub fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for ch in value.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `upsc -j <ups>`: an object of variable name to string value.
pub fn format_json_object(pairs: &[(String, String)]) -> String {
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("  {}: {}", json_string(k), json_string(v)))
        .collect();
    if body.is_empty() {
        return "{}\n".to_string();
    }
    format!("{{\n{}\n}}\n", body.join(",\n"))
}

/// `upsc -j -l` / `-c`: an array of strings.
pub fn format_json_array(items: &[String]) -> String {
    let body: Vec<String> = items
        .iter()
        .map(|i| format!("  {}", json_string(i)))
        .collect();
    if body.is_empty() {
        return "[]\n".to_string();
    }
    format!("[\n{}\n]\n", body.join(",\n"))
}
