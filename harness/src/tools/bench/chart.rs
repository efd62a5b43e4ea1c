//! A chart per figure, drawn with plotters as SVG (text is left to the
//! viewer's sans-serif font, so nothing here needs a font library). The
//! curves: x = connections open (log scale), a line per server, the value
//! of each point the median of its runs. The connection rate: x = clients.
//! The counted figures: a bar per server.

use super::lifecycle::Measured;
use super::results::{Axis, FIGURES, Figure, Results, Side};
use crate::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

const WIDTH: u32 = 1100;
const HEIGHT: u32 = 640;
const LEGEND: u32 = 260;
const FONT: &str = "sans-serif";
/// How many times the smallest value the largest must be for a log scale.
const LOG_FROM: f64 = 20.0;

/// The colours of the table's models, in its order: matplotlib's tab10
/// without its grey, then darker and stronger hues, none grey or black
/// (the reference servers' colour), so that every model has its own.
const PALETTE: [RGBColor; 18] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
    RGBColor(188, 189, 34),
    RGBColor(0, 0, 128),
    RGBColor(128, 0, 0),
    RGBColor(0, 128, 128),
    RGBColor(240, 50, 230),
    RGBColor(218, 165, 32),
    RGBColor(106, 90, 205),
    RGBColor(0, 100, 0),
    RGBColor(255, 99, 71),
    RGBColor(85, 107, 47),
];

/// The kernel's floor: grey, below every server's line.
const FLOOR: RGBColor = RGBColor(150, 150, 150);

/// How one server is drawn.
#[derive(Clone, Copy)]
struct Look {
    color: RGBColor,
    dashed: bool,
    marker: Marker,
}

#[derive(Clone, Copy)]
enum Marker {
    Circle,
    Triangle,
    Square,
    Cross,
}

/// Rust: the model's colour, solid, circles; C: dashed, triangles; the
/// references in black, each with a marker and line of its own, the floor
/// in grey. Past the
/// palette's length, models share a colour with a model far before them,
/// and are told apart by their markers (squares and crosses).
fn look(s: &Measured, models: &[&str]) -> Look {
    let i = models.iter().position(|m| *m == s.short).unwrap_or(0);
    let model = PALETTE[i % PALETTE.len()];
    let second_round = i / PALETTE.len() % 2 == 1;
    let (color, dashed, marker) = match s.side {
        Side::Rust if second_round => (model, false, Marker::Square),
        Side::C if second_round => (model, true, Marker::Cross),
        Side::Rust => (model, false, Marker::Circle),
        Side::C => (model, true, Marker::Triangle),
        Side::Std => (BLACK, false, Marker::Square),
        Side::TokioSt => (BLACK, false, Marker::Circle),
        Side::TokioMt => (BLACK, true, Marker::Cross),
        Side::Monoio => (BLACK, true, Marker::Triangle),
        Side::Floor => (FLOOR, false, Marker::Cross),
    };
    Look {
        color,
        dashed,
        marker,
    }
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("chart: {e:?}")
}

/// `$draw` run on the marker of look `$l` at `$p`, an element in pixels
/// around the point, as `$e` (a macro: each marker is a type of its own).
macro_rules! with_marker {
    ($l:expr, $p:expr, |$e:ident| $draw:expr) => {{
        let filled = ShapeStyle::from(&$l.color).filled();
        let line = ShapeStyle::from(&$l.color).stroke_width(2);
        match $l.marker {
            Marker::Circle => {
                let $e = EmptyElement::at($p) + Circle::new((0, 0), 4, filled);
                $draw
            }
            Marker::Triangle => {
                let $e = EmptyElement::at($p) + TriangleMarker::new((0, 0), 5, filled);
                $draw
            }
            Marker::Square => {
                let $e = EmptyElement::at($p) + Rectangle::new([(-4, -4), (4, 4)], filled);
                $draw
            }
            Marker::Cross => {
                let $e = EmptyElement::at($p) + Cross::new((0, 0), 5, line);
                $draw
            }
        }
    }};
}

/// Draws every figure that has data into `dir`/FIGURE.svg; returns the files.
pub fn draw_all(r: &Results, servers: &[Measured], dir: &Path) -> Result<Vec<PathBuf>> {
    let models: Vec<&str> = servers
        .iter()
        .filter(|s| s.side == Side::Rust)
        .map(|s| s.short)
        .collect();
    let mut written = Vec::new();
    for figure in FIGURES {
        if r.xs(figure).is_empty() {
            continue;
        }
        let path = dir.join(format!("{}.svg", figure.id));
        match figure.axis {
            Axis::Conns | Axis::Clients => lines(r, figure, servers, &models, &path)?,
            Axis::None => bars(r, figure, servers, &models, &path)?,
        }
        written.push(path);
    }
    Ok(written)
}

/// A line per server: (x, median) at each x it was measured at.
fn lines(
    r: &Results,
    figure: &Figure,
    servers: &[Measured],
    models: &[&str],
    path: &Path,
) -> Result<()> {
    let xs = r.xs(figure);
    let series: Vec<(&Measured, Vec<(f64, f64)>)> = servers
        .iter()
        .map(|s| {
            let pts = xs
                .iter()
                .filter_map(|&x| {
                    r.median(figure, x, s.short, s.side)
                        .filter(|&v| v > 0.0)
                        .map(|v| (x as f64, v))
                })
                .collect();
            (s, pts)
        })
        .filter(|(_, pts): &(_, Vec<_>)| !pts.is_empty())
        .collect();
    let values = series.iter().flat_map(|(_, p)| p.iter().map(|&(_, v)| v));
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return Ok(());
    }
    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (plot, legend) = root.split_horizontally(WIDTH - LEGEND);
    let (xmin, xmax) = (xs[0] as f64, *xs.last().unwrap() as f64);
    let mut builder = ChartBuilder::on(&plot);
    builder
        .caption(figure.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80);
    let x_desc = match figure.axis {
        Axis::Conns => "connections open (N, log scale)",
        _ => "clients connecting at once",
    };
    // A logarithmic axis only where the values span more than its labels
    // (powers of ten) can show.
    let log_y = figure.log_y && hi / lo > LOG_FROM;
    let y_range = if log_y {
        (lo / 1.3)..(hi * 1.3)
    } else {
        0.0..(hi * 1.1)
    };
    // Four combinations of axes, one drawing: a macro instead of four copies.
    macro_rules! draw {
        ($x:expr, $y:expr) => {{
            let mut chart = builder.build_cartesian_2d($x, $y).map_err(err)?;
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(figure.title)
                .x_label_formatter(&|x| x_label(*x, figure.axis))
                .y_label_formatter(&|y| short(*y))
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 14))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(err)?;
            for (s, pts) in &series {
                let l = look(s, models);
                let style = ShapeStyle::from(&l.color).stroke_width(2);
                if l.dashed {
                    chart
                        .draw_series(DashedLineSeries::new(pts.iter().copied(), 8, 5, style))
                        .map_err(err)?;
                } else {
                    chart
                        .draw_series(LineSeries::new(pts.iter().copied(), style))
                        .map_err(err)?;
                }
                for &p in pts {
                    with_marker!(l, p, |e| chart.draw_series(std::iter::once(e))).map_err(err)?;
                }
            }
        }};
    }
    match (figure.axis, log_y) {
        (Axis::Conns, true) => draw!(
            ((xmin * 0.8)..(xmax * 1.25)).log_scale(),
            y_range.log_scale()
        ),
        (Axis::Conns, false) => draw!(((xmin * 0.8)..(xmax * 1.25)).log_scale(), y_range),
        (_, true) => draw!((xmin - 0.5)..(xmax + 0.5), y_range.log_scale()),
        (_, false) => draw!((xmin - 0.5)..(xmax + 0.5), y_range),
    }
    let shown: Vec<(&Measured, String)> = series
        .iter()
        .map(|(s, _)| {
            let mut name = s.name();
            if let Some(l) = r.limit(s.short, s.side) {
                name.push_str(&format!(", ≤ {}", l.holds));
            }
            (*s, name)
        })
        .collect();
    draw_legend(&legend, &shown, models)?;
    root.present().map_err(err)
}

/// The legend: a sample of each server's line and marker, and its name.
fn draw_legend(
    area: &DrawingArea<SVGBackend, Shift>,
    shown: &[(&Measured, String)],
    models: &[&str],
) -> Result<()> {
    let row = 22;
    let top = 50;
    for (i, (s, name)) in shown.iter().enumerate() {
        let l = look(s, models);
        let y = top + row * i as i32;
        let style = ShapeStyle::from(&l.color).stroke_width(2);
        if l.dashed {
            for x in [4, 22] {
                area.draw(&PathElement::new(vec![(x, y), (x + 12, y)], style))
                    .map_err(err)?;
            }
        } else {
            area.draw(&PathElement::new(vec![(4, y), (38, y)], style))
                .map_err(err)?;
        }
        with_marker!(l, (21, y), |e| area.draw(&e)).map_err(err)?;
        area.draw(&Text::new(
            name.clone(),
            (46, y - 7),
            (FONT, 14).into_font().color(&BLACK),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// A bar per server, its value at the end.
fn bars(
    r: &Results,
    figure: &Figure,
    servers: &[Measured],
    models: &[&str],
    path: &Path,
) -> Result<()> {
    let shown: Vec<(&Measured, f64)> = servers
        .iter()
        .filter_map(|s| {
            r.median(figure, 0, s.short, s.side)
                .filter(|&v| v > 0.0)
                .map(|v| (s, v))
        })
        .collect();
    if shown.is_empty() {
        return Ok(());
    }
    let k = shown.len();
    let (lo, hi) = shown
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &(_, v)| {
            (lo.min(v), hi.max(v))
        });
    let height = (120 + 26 * k as u32).max(300);
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let names: Vec<String> = shown.iter().map(|(s, _)| s.name()).collect();
    // The first server at the top.
    let row = |i: usize| k - 1 - i;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(figure.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(150);
    macro_rules! draw {
        ($x:expr, $x0:expr) => {{
            let mut chart = builder
                .build_cartesian_2d($x, (0..k).into_segmented())
                .map_err(err)?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(k)
                .y_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) if *i < k => names[row(*i)].clone(),
                    _ => String::new(),
                })
                .x_label_formatter(&|x| short(*x))
                .x_desc(figure.title)
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 14))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(err)?;
            for (i, &(s, v)) in shown.iter().enumerate() {
                let l = look(s, models);
                let fill = if l.dashed {
                    l.color.mix(0.45).filled()
                } else {
                    l.color.filled()
                };
                let y = row(i);
                let mut bar = Rectangle::new(
                    [
                        ($x0, SegmentValue::Exact(y)),
                        (v, SegmentValue::Exact(y + 1)),
                    ],
                    fill,
                );
                bar.set_margin(3, 3, 0, 0);
                chart.draw_series(std::iter::once(bar)).map_err(err)?;
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at((v, SegmentValue::CenterOf(y)))
                            + Text::new(
                                format!(" {}", exact(v)),
                                (0, 0),
                                TextStyle::from((FONT, 12)).pos(Pos::new(HPos::Left, VPos::Center)),
                            ),
                    ))
                    .map_err(err)?;
            }
        }};
    }
    if figure.log_y && hi / lo > LOG_FROM {
        let x0 = lo / 2.0;
        draw!((x0..(hi * 3.0)).log_scale(), x0);
    } else {
        draw!(0.0..(hi * 1.2), 0.0);
    }
    root.present().map_err(err)
}

/// The label of connections (powers of ten only, where a log axis puts
/// its minor ticks too) or of clients.
fn x_label(x: f64, axis: Axis) -> String {
    let power = x.log10();
    match axis {
        Axis::Conns if (power - power.round()).abs() > 1e-6 => String::new(),
        _ => format!("{}", x.round() as u64),
    }
}

/// 12, 3.4k, 1.2M, 0.0012: an axis label, two significant digits at least.
fn short(v: f64) -> String {
    let a = v.abs();
    if a > 0.0 && a < 1.0 {
        let digits = (-a.log10()).ceil() as usize + 1;
        return format!("{v:.digits$}");
    }
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The value at a bar's end.
fn exact(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every server of a run drawn its own way: no two share colour, line
    /// and marker together.
    #[test]
    fn every_server_has_a_look_of_its_own() {
        let models: Vec<&str> = crate::servers().map(|p| p.short).collect();
        let mut servers = Vec::new();
        for m in &models {
            for side in [Side::Rust, Side::C] {
                servers.push((*m, side));
            }
        }
        for side in Side::REFERENCES {
            servers.push((side.reference().unwrap(), side));
        }
        let key = |&(short, side): &(&'static str, Side)| {
            let m = Measured {
                short,
                side,
                model: None,
                exe: std::path::PathBuf::new(),
                args: &[],
            };
            let l = look(&m, &models);
            let marker = match l.marker {
                Marker::Circle => 0,
                Marker::Triangle => 1,
                Marker::Square => 2,
                Marker::Cross => 3,
            };
            (l.color.0, l.color.1, l.color.2, l.dashed, marker)
        };
        let mut looks: Vec<_> = servers.iter().map(key).collect();
        looks.sort_unstable();
        looks.dedup();
        assert_eq!(looks.len(), servers.len(), "{servers:?}");
        assert!(PALETTE.iter().all(|c| *c != BLACK && *c != FLOOR));
    }
}
