//! Prometheus metrics for UPS variables, named as DRuggeri/nut_exporter names them
//! (`network_ups_tools_*`) so existing Grafana dashboards and alerts work unchanged,
//! with a `ups` label on every series (the label nut_exporter's dashboard filters on).
//!
//! - each numeric variable becomes a gauge named after it (`.` and `-` -> `_`), help
//!   text `"<description> (<variable>)"`;
//! - `ups.status` becomes `network_ups_tools_ups_status{flag="OL"} 1` for every token
//!   present and `0` for every other token of [`DEFAULT_STATUSES`];
//! - `device.*` becomes `network_ups_tools_device_info{model,mfr,serial,type,
//!   description,contact,location,part,macaddr} 1`;
//! - strings nut_exporter's default expressions call on/off (`enabled`, `off`...)
//!   become 1/0 (nut_exporter 3.x intends this but skips them; here they are kept);
//! - the server adds its own health: `network_ups_tools_ups_stale`,
//!   `network_ups_tools_ups_driver_connected` and `network_ups_tools_upsd_clients`.
//!
//! Text exposition format 0.0.4; label values escaped as Prometheus requires.

use crate::desc::Descriptions;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The metric name prefix (nut_exporter's default namespace).
pub const NAMESPACE: &str = "network_ups_tools";
/// Status tokens always reported, 0 when absent (nut_exporter's default `--nut.statuses`).
pub const DEFAULT_STATUSES: [&str; 15] = [
    "OL", "OB", "LB", "HB", "RB", "CHRG", "DISCHRG", "BYPASS", "CAL", "OFF", "OVER", "TRIM",
    "BOOST", "FSD", "SD",
];
/// `device.*` suffixes that become `device_info` labels (nut_exporter's, in its order).
pub const DEVICE_LABELS: [&str; 9] = [
    "model",
    "mfr",
    "serial",
    "type",
    "description",
    "contact",
    "location",
    "part",
    "macaddr",
];
/// `Content-Type` of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What one UPS contributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpsSample {
    /// UPS name (the `ups` label).
    pub name: String,
    /// Variables and values as served (`ups.status` with the FSD latch applied).
    pub vars: Vec<(String, String)>,
    /// Data is stale (`None`: unknown, e.g. read from another upsd).
    pub stale: Option<bool>,
    /// The driver is connected (`None`: unknown).
    pub driver_connected: Option<bool>,
}

/// Server-wide samples (upsd's own health), when the metrics come from upsd itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerSample {
    /// Connected clients.
    pub clients: usize,
}

/// Which variables to export: `None` every numeric one, else these names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Variable names (empty: all).
    pub variables: Vec<String>,
    /// Status tokens always reported.
    pub statuses: Vec<String>,
}

impl Selection {
    /// Every numeric variable, NUT's status tokens.
    pub fn all() -> Selection {
        Selection {
            variables: Vec::new(),
            statuses: DEFAULT_STATUSES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

struct Family {
    help: String,
    samples: Vec<(String, String)>,
}

/// The Prometheus name of a variable (`battery.charge` -> `network_ups_tools_battery_charge`).
pub fn metric_name(var: &str) -> String {
    let mut name = format!("{NAMESPACE}_");
    for c in var.chars() {
        name.push(if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        });
    }
    name
}

fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// A variable's value as a sample: a number, or 1/0 for on/off words.
pub fn numeric(value: &str) -> Option<f64> {
    let t = value.trim();
    if let Ok(v) = t.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    match t.to_ascii_lowercase().as_str() {
        "enable" | "enabled" | "on" | "true" | "active" | "activated" => Some(1.0),
        "disable" | "disabled" | "off" | "false" | "inactive" | "deactivated" => Some(0.0),
        _ => None,
    }
}

fn format_value(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The exposition text for `upses` (and upsd's own health when `server` is given).
pub fn render(
    upses: &[UpsSample],
    server: Option<&ServerSample>,
    selection: &Selection,
    descriptions: &Descriptions,
) -> String {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut add = |name: String, help: String, labels: String, value: String| {
        families
            .entry(name)
            .or_insert_with(|| Family {
                help,
                samples: Vec::new(),
            })
            .samples
            .push((labels, value));
    };
    for ups in upses {
        let mut device: BTreeMap<&str, &str> = BTreeMap::new();
        for (var, value) in &ups.vars {
            if let Some(suffix) = var.strip_prefix("device.") {
                device.insert(suffix, value);
            }
            if !selection.variables.is_empty() && !selection.variables.iter().any(|v| v == var) {
                continue;
            }
            let help = format!("{} ({var})", descriptions.var(var));
            if var == "ups.status" {
                let tokens: Vec<&str> = value.split_whitespace().collect();
                for token in &tokens {
                    add(
                        metric_name(var),
                        help.clone(),
                        labels(&[("ups", &ups.name), ("flag", token)]),
                        "1".into(),
                    );
                }
                for status in &selection.statuses {
                    if !tokens.contains(&status.as_str()) {
                        add(
                            metric_name(var),
                            help.clone(),
                            labels(&[("ups", &ups.name), ("flag", status)]),
                            "0".into(),
                        );
                    }
                }
                continue;
            }
            if let Some(v) = numeric(value) {
                add(
                    metric_name(var),
                    help,
                    labels(&[("ups", &ups.name)]),
                    format_value(v),
                );
            }
        }
        let mut pairs: Vec<(&str, &str)> = vec![("ups", &ups.name)];
        for label in DEVICE_LABELS {
            pairs.push((label, device.get(label).copied().unwrap_or("")));
        }
        add(
            format!("{NAMESPACE}_device_info"),
            "UPS Device information".into(),
            labels(&pairs),
            "1".into(),
        );
        if let Some(stale) = ups.stale {
            add(
                format!("{NAMESPACE}_ups_stale"),
                "1 while upsd considers the UPS's data stale (clients get ERR DATA-STALE)".into(),
                labels(&[("ups", &ups.name)]),
                if stale { "1" } else { "0" }.into(),
            );
        }
        if let Some(connected) = ups.driver_connected {
            add(
                format!("{NAMESPACE}_ups_driver_connected"),
                "1 while upsd is connected to the UPS's driver".into(),
                labels(&[("ups", &ups.name)]),
                if connected { "1" } else { "0" }.into(),
            );
        }
    }
    if let Some(server) = server {
        add(
            format!("{NAMESPACE}_upsd_clients"),
            "Client connections to upsd".into(),
            String::new(),
            server.clients.to_string(),
        );
    }
    let mut out = String::new();
    for (name, family) in families {
        let _ = writeln!(out, "# HELP {name} {}", escape_help(&family.help));
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (labels, value) in family.samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nut_exporter_names_labels_and_status_flags() {
        let ups = UpsSample {
            name: "ups1".into(),
            vars: vec![
                ("battery.charge".into(), "97".into()),
                ("battery.runtime".into(), "1800".into()),
                ("device.mfr".into(), "ACME \"Power\"".into()),
                ("device.model".into(), "X-1".into()),
                ("ups.beeper.status".into(), "enabled".into()),
                ("ups.mfr.date".into(), "2024/01/01".into()),
                ("ups.status".into(), "OL CHRG".into()),
                ("input.voltage".into(), "229.5".into()),
            ],
            stale: Some(false),
            driver_connected: Some(true),
        };
        let text = render(
            &[ups],
            Some(&ServerSample { clients: 3 }),
            &Selection::all(),
            &Descriptions::builtin(),
        );
        assert!(
            text.contains("network_ups_tools_battery_charge{ups=\"ups1\"} 97\n"),
            "{text}"
        );
        assert!(text.contains("network_ups_tools_input_voltage{ups=\"ups1\"} 229.5\n"));
        assert!(text.contains("network_ups_tools_ups_status{ups=\"ups1\",flag=\"OL\"} 1\n"));
        assert!(text.contains("network_ups_tools_ups_status{ups=\"ups1\",flag=\"OB\"} 0\n"));
        assert!(text.contains("network_ups_tools_ups_beeper_status{ups=\"ups1\"} 1\n"));
        assert!(!text.contains("mfr_date"), "not a number: skipped");
        assert!(text.contains(
            "network_ups_tools_device_info{ups=\"ups1\",model=\"X-1\",mfr=\"ACME \\\"Power\\\"\",serial=\"\","
        ));
        assert!(text.contains("network_ups_tools_upsd_clients 3\n"));
        assert!(text.contains("# TYPE network_ups_tools_battery_charge gauge\n"));
        // One HELP/TYPE per family, samples of a family together.
        assert_eq!(
            text.matches("# HELP network_ups_tools_ups_status ").count(),
            1
        );
    }

    #[test]
    fn several_upses_share_families_and_selection_filters() {
        let sample = |name: &str, charge: &str| UpsSample {
            name: name.into(),
            vars: vec![
                ("battery.charge".into(), charge.into()),
                ("ups.load".into(), "10".into()),
            ],
            ..UpsSample::default()
        };
        let selection = Selection {
            variables: vec!["battery.charge".into()],
            statuses: vec![],
        };
        let text = render(
            &[sample("a", "1"), sample("b", "2")],
            None,
            &selection,
            &Descriptions::builtin(),
        );
        assert_eq!(
            text.matches("# TYPE network_ups_tools_battery_charge")
                .count(),
            1
        );
        assert!(text.contains("{ups=\"a\"} 1\n") && text.contains("{ups=\"b\"} 2\n"));
        assert!(!text.contains("ups_load"));
        assert!(!text.contains("upsd_clients"));
        assert_eq!(
            metric_name("ambient.1.temperature-x"),
            "network_ups_tools_ambient_1_temperature_x"
        );
    }
}
