//! Line charts and scatter plots with axes, ticks, labels and a legend.

use crate::{Canvas, Rgb};

/// One named line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// `(x, y)` points in drawing order; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A named series.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
        }
    }
}

/// Matplotlib's "tab10" colours: series and clusters take them in turn.
pub const PALETTE: [Rgb; 10] = [
    Rgb(31, 119, 180),
    Rgb(255, 127, 14),
    Rgb(44, 160, 44),
    Rgb(214, 39, 40),
    Rgb(148, 103, 189),
    Rgb(140, 86, 75),
    Rgb(227, 119, 194),
    Rgb(127, 127, 127),
    Rgb(188, 189, 34),
    Rgb(23, 190, 207),
];

const WIDTH: usize = 720;
const HEIGHT: usize = 450;
const LEFT: i64 = 72;
const RIGHT: i64 = WIDTH as i64 - 20;
const TOP: i64 = 40;
const BOTTOM: i64 = HEIGHT as i64 - 46;

/// Data coordinates → pixels of the plotting area.
struct Frame {
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn px(&self, x: f64) -> i64 {
        LEFT + ((x - self.x.0) / (self.x.1 - self.x.0) * (RIGHT - LEFT) as f64).round() as i64
    }

    fn py(&self, y: f64) -> i64 {
        BOTTOM - ((y - self.y.0) / (self.y.1 - self.y.0) * (BOTTOM - TOP) as f64).round() as i64
    }
}

/// About five round tick values (1, 2 or 5 × 10ⁿ apart) covering `lo..=hi`, and the step.
fn ticks(lo: f64, hi: f64) -> (Vec<f64>, f64) {
    let span = (hi - lo).max(f64::EPSILON);
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).floor() as i64;
    let last = (hi / step).ceil() as i64;
    ((first..=last).map(|i| i as f64 * step).collect(), step)
}

/// A tick label with as many decimals as the step needs, thousands as "k".
fn label(v: f64, step: f64) -> String {
    if step >= 1000.0 && v.abs() >= 1000.0 {
        return format!("{}K", v / 1000.0);
    }
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    let text = format!("{v:.decimals$}");
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        "0".to_string()
    } else {
        text
    }
}

/// Range of finite values, widened when empty or flat.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    (lo, hi)
}

/// The range raised by a fifth at the top, where the legend goes, so it hides no data.
fn headroom((lo, hi): (f64, f64)) -> (f64, f64) {
    (lo, hi + 0.2 * (hi - lo))
}

/// Draws title, axes, grid and tick labels; returns the data → pixel mapping.
fn frame(
    canvas: &mut Canvas,
    title: &str,
    x_label: &str,
    y_label: &str,
    x: (f64, f64),
    y: (f64, f64),
) -> Frame {
    let (x_ticks, x_step) = ticks(x.0, x.1);
    let (y_ticks, y_step) = ticks(y.0, y.1);
    let frame = Frame {
        x: (x_ticks[0], x_ticks[x_ticks.len() - 1]),
        y: (y_ticks[0], y_ticks[y_ticks.len() - 1]),
    };
    let title_x = (WIDTH as i64 - Canvas::text_width(title, 2) as i64) / 2;
    canvas.text(title_x.max(4), 8, title, 2, Rgb::BLACK);
    for &t in &x_ticks {
        let px = frame.px(t);
        canvas.line((px, TOP), (px, BOTTOM), 1, Rgb(228, 228, 228));
        let text = label(t, x_step);
        let w = Canvas::text_width(&text, 1) as i64;
        canvas.text(px - w / 2, BOTTOM + 6, &text, 1, Rgb::BLACK);
    }
    for &t in &y_ticks {
        let py = frame.py(t);
        canvas.line((LEFT, py), (RIGHT, py), 1, Rgb(228, 228, 228));
        let text = label(t, y_step);
        let w = Canvas::text_width(&text, 1) as i64;
        canvas.text(LEFT - 6 - w, py - 3, &text, 1, Rgb::BLACK);
    }
    canvas.line((LEFT, BOTTOM), (RIGHT, BOTTOM), 1, Rgb::BLACK);
    canvas.line((LEFT, TOP), (LEFT, BOTTOM), 1, Rgb::BLACK);
    let w = Canvas::text_width(x_label, 1) as i64;
    canvas.text((LEFT + RIGHT - w) / 2, BOTTOM + 22, x_label, 1, Rgb::BLACK);
    canvas.text(8, TOP - 14, y_label, 1, Rgb::BLACK);
    frame
}

/// Legend entries in the top-right corner of the plotting area.
fn legend(canvas: &mut Canvas, entries: &[(String, Rgb)]) {
    let widest = entries
        .iter()
        .map(|(name, _)| Canvas::text_width(name, 1))
        .max()
        .unwrap_or(0) as i64;
    let left = RIGHT - widest - 26;
    canvas.fill_rect(
        left - 4,
        TOP + 4,
        (widest + 28) as usize,
        12 * entries.len() + 6,
        Rgb::WHITE,
    );
    for (i, (name, colour)) in entries.iter().enumerate() {
        let y = TOP + 8 + 12 * i as i64;
        canvas.fill_rect(left, y + 1, 12, 5, *colour);
        canvas.text(left + 18, y, name, 1, Rgb::BLACK);
    }
}

/// A line chart of one or more series (colours from kiln-plot's palette in turn), 720 × 450.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> Canvas {
    let mut canvas = Canvas::new(WIDTH, HEIGHT, Rgb::WHITE);
    let all = || series.iter().flat_map(|s| s.points.iter());
    let x = range(all().map(|p| p.0));
    let y = headroom(range(all().map(|p| p.1)));
    let f = frame(&mut canvas, title, x_label, y_label, x, y);
    for (i, s) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let points: Vec<(i64, i64)> = s
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|&(x, y)| (f.px(x), f.py(y)))
            .collect();
        for pair in points.windows(2) {
            canvas.line(pair[0], pair[1], 2, colour);
        }
        if let [only] = points.as_slice() {
            canvas.fill_rect(only.0 - 2, only.1 - 2, 5, 5, colour);
        }
    }
    if series.len() > 1 || series.iter().any(|s| !s.name.is_empty()) {
        let entries: Vec<(String, Rgb)> = series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), PALETTE[i % PALETTE.len()]))
            .collect();
        legend(&mut canvas, &entries);
    }
    canvas
}

/// A scatter plot of 2-D points coloured by cluster (kiln-plot's palette in turn), noise (`None`)
/// in grey and drawn first, 720 × 450.
///
/// # Panics
/// If `points` and `labels` differ in length.
pub fn scatter_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[[f32; 2]],
    labels: &[Option<usize>],
) -> Canvas {
    assert_eq!(points.len(), labels.len(), "one label per point");
    let mut canvas = Canvas::new(WIDTH, HEIGHT, Rgb::WHITE);
    let x = range(points.iter().map(|p| f64::from(p[0])));
    let y = headroom(range(points.iter().map(|p| f64::from(p[1]))));
    let f = frame(&mut canvas, title, x_label, y_label, x, y);
    let colour = |l: Option<usize>| l.map_or(Rgb::GREY, |c| PALETTE[c % PALETTE.len()]);
    let noise_first = labels.iter().enumerate().filter(|(_, l)| l.is_none());
    let clustered = labels.iter().enumerate().filter(|(_, l)| l.is_some());
    for (i, &l) in noise_first.chain(clustered) {
        let (px, py) = (f.px(f64::from(points[i][0])), f.py(f64::from(points[i][1])));
        canvas.fill_rect(px - 1, py - 1, 3, 3, colour(l));
    }
    let clusters = labels.iter().flatten().max().map_or(0, |m| m + 1);
    let mut entries: Vec<(String, Rgb)> = (0..clusters.min(10))
        .map(|c| (format!("cluster {c}"), colour(Some(c))))
        .collect();
    if labels.contains(&None) {
        entries.push(("noise".into(), Rgb::GREY));
    }
    legend(&mut canvas, &entries);
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let (t, step) = ticks(0.13, 9.7);
        assert_eq!(step, 2.0);
        assert_eq!(t, vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let (t, step) = ticks(-0.3, 0.25);
        assert!((step - 0.2).abs() < 1e-12);
        assert!(t[0] <= -0.3 && *t.last().unwrap() >= 0.25);
    }

    #[test]
    fn labels_use_the_decimals_the_step_needs() {
        assert_eq!(label(0.4, 0.2), "0.4");
        assert_eq!(label(-0.0, 0.5), "0");
        assert_eq!(label(20_000.0, 10_000.0), "20K");
        assert_eq!(label(250.0, 50.0), "250");
    }

    #[test]
    fn a_line_is_drawn_in_its_series_colour() {
        let s = Series::new("up", vec![(0.0, 0.0), (1.0, 1.0)]);
        let canvas = line_chart("t", "x", "y", &[s]);
        let blue = PALETTE[0];
        let drawn = (0..canvas.height())
            .flat_map(|y| (0..canvas.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| canvas.get(x, y) == blue)
            .count();
        assert!(drawn > 500, "{drawn} pixels of the line");
    }

    #[test]
    fn noise_is_grey_and_clusters_coloured() {
        let canvas = scatter_chart("t", "x", "y", &[[0.0, 0.0], [10.0, 10.0]], &[None, Some(0)]);
        // y gets a fifth of headroom for the legend (0..12), rounded out to ticks (0..15).
        let (y_ticks, _) = ticks(0.0, 12.0);
        assert_eq!(y_ticks, vec![0.0, 5.0, 10.0, 15.0]);
        let f = Frame {
            x: (0.0, 10.0),
            y: (0.0, 15.0),
        };
        assert_eq!(
            canvas.get(f.px(0.0) as usize, f.py(0.0) as usize),
            Rgb::GREY
        );
        assert_eq!(
            canvas.get(f.px(10.0) as usize, f.py(10.0) as usize),
            PALETTE[0]
        );
    }
}
