//! The planner's SVG heatmap (plotters' SVG backend): the first knob across, the
//! second down (one row with one knob); each square is coloured by p(safe) (red 0 to
//! green 1) and labelled with the worst margin in seconds. With more than two knobs a
//! square shows the worst over the other knobs' values.

use crate::plan::{Loaded, Row};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Pixels per square side.
const SQUARE_PX: u32 = 56;
/// Room for the title, axis labels and legend, in pixels.
const MARGIN_PX: u32 = 120;
/// Most squares along one axis (a larger sweep is drawn, but not labelled per square).
const LABELLED_MAX: usize = 40;

/// One square: the worst p(safe) and margin (ms) of the rows drawn there.
type Square = Option<(f64, Option<i64>)>;

/// The heatmap of `rows` as SVG text.
pub fn svg(loaded: &Loaded, rows: &[Row]) -> Result<String, String> {
    let xs = &loaded.values[0];
    let (ys, y_name): (Vec<f64>, String) = match loaded.values.get(1) {
        Some(v) => (v.clone(), loaded.columns[1].clone()),
        None => (vec![0.0], String::new()),
    };
    // Worst p(safe) and margin per square over the other knobs.
    let mut cells: Vec<Vec<Square>> = vec![vec![None; ys.len()]; xs.len()];
    let hosts: Vec<String> = loaded.base.hosts.iter().map(|h| h.name.clone()).collect();
    // A cell's square from its index (the last knob varies fastest), not from its
    // values, which may repeat.
    let stride = |k: usize| {
        loaded.values[k + 1..]
            .iter()
            .map(Vec::len)
            .product::<usize>()
    };
    for row in rows {
        let xi = (row.cell / stride(0)) % xs.len();
        let yi = if loaded.values.len() > 1 {
            (row.cell / stride(1)) % ys.len()
        } else {
            0
        };
        let p = row.p_safe().clamp(0.0, 1.0);
        let m = row.worst(&hosts).map(|(m, _)| m);
        let slot = &mut cells[xi][yi];
        *slot = Some(match *slot {
            None => (p, m),
            Some((p0, m0)) => (
                p0.min(p),
                match (m0, m) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
            ),
        });
    }
    let width = SQUARE_PX * xs.len().min(LABELLED_MAX * 4) as u32 + MARGIN_PX * 2;
    let height = SQUARE_PX * ys.len().min(LABELLED_MAX * 4) as u32 + MARGIN_PX * 2;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (width, height)).into_drawing_area();
        let e = |e: DrawingAreaErrorKind<_>| format!("heatmap: {e}");
        root.fill(&WHITE).map_err(e)?;
        let title = format!(
            "{}: p(safe) (green = safe in every run), worst margin in s",
            loaded.base.name
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(
                (0..xs.len()).into_segmented(),
                (0..ys.len()).into_segmented(),
            )
            .map_err(e)?;
        // Each square's value at its centre.
        let label = |list: &[f64], at: &SegmentValue<usize>| match at {
            SegmentValue::CenterOf(i) => list.get(*i).map_or(String::new(), |v| format!("{v}")),
            _ => String::new(),
        };
        let x_label = |at: &SegmentValue<usize>| label(xs, at);
        let y_label = |at: &SegmentValue<usize>| {
            if y_name.is_empty() {
                String::new()
            } else {
                label(&ys, at)
            }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(loaded.columns[0].as_str())
            .y_desc(y_name.as_str())
            .x_labels(xs.len().min(LABELLED_MAX) + 1)
            .y_labels(ys.len().min(LABELLED_MAX) + 1)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .draw()
            .map_err(e)?;
        let squares = cells.iter().enumerate().flat_map(|(xi, col)| {
            col.iter().enumerate().filter_map(move |(yi, c)| {
                let (p, _) = (*c)?;
                let p = p.clamp(0.0, 1.0);
                let colour = RGBColor((220.0 * (1.0 - p)) as u8 + 20, (180.0 * p) as u8 + 40, 60);
                Some(Rectangle::new(
                    [
                        (SegmentValue::Exact(xi), SegmentValue::Exact(yi)),
                        (SegmentValue::Exact(xi + 1), SegmentValue::Exact(yi + 1)),
                    ],
                    colour.filled(),
                ))
            })
        });
        chart.draw_series(squares).map_err(e)?;
        if xs.len() <= LABELLED_MAX && ys.len() <= LABELLED_MAX {
            let labels = cells.iter().enumerate().flat_map(|(xi, col)| {
                col.iter().enumerate().filter_map(move |(yi, c)| {
                    let (_, m) = (*c)?;
                    let label = match m {
                        Some(crate::plan::LOST_RUNNING) => "lost".to_string(),
                        Some(crate::analytic::NEVER_HALTS) => "hung".to_string(),
                        Some(m) => format!("{:.0}", m as f64 / 1000.0),
                        None => "-".to_string(),
                    };
                    Some(Text::new(
                        label,
                        (SegmentValue::CenterOf(xi), SegmentValue::CenterOf(yi)),
                        ("sans-serif", 12)
                            .into_font()
                            .color(&BLACK)
                            .pos(Pos::new(HPos::Center, VPos::Center)),
                    ))
                })
            });
            chart.draw_series(labels).map_err(e)?;
        }
        root.present().map_err(e)?;
    }
    Ok(text)
}
