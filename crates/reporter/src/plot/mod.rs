//! Figures of a sweep, drawn with plotters to PNG and SVG.
//!
//! Each figure is a type implementing [`Figure`]: it holds the numbers it shows and draws
//! itself on any plotters backend, so the same code writes the PNG and the SVG. Text is
//! rasterised with the bundled DejaVu Sans through `ab_glyph`, so figures look the same
//! on a machine without any system font.

pub mod facets;
pub mod field;
pub mod loss;
pub mod metric;
pub mod reverse;
pub mod samples;
pub mod schedules;

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{Error, Result};

/// The font family every figure uses; [`ensure_font`] binds it to the bundled font.
pub const FONT: &str = "sans-serif";

static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Registers the bundled DejaVu Sans as [`FONT`]. Idempotent.
pub fn ensure_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .map_err(|_| ())
            .expect("the bundled DejaVu Sans is a valid TrueType font");
    });
}

/// Colour-blind-safe categorical colours (Okabe and Ito 2008), darkest first.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

/// The colour of the `i`-th series.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The palette index of a series: a line whose label starts with a schedule's name gets
/// that schedule's colour in every figure of every report (linear, polynomial, ddpm,
/// cosine, sigmoid in palette order); any other line the colour of its position.
pub fn series_colour(label: &str, index: usize) -> usize {
    let first = label.split(" / ").next().unwrap_or(label);
    ddpm::ScheduleKind::ALL
        .iter()
        .position(|kind| serde_plain_name(kind) == first)
        .unwrap_or(index)
}

/// A schedule kind as written in files (`polynomial`).
fn serde_plain_name(kind: &ddpm::ScheduleKind) -> String {
    format!("{kind:?}").to_lowercase()
}

/// The grey of training data drawn under samples.
pub const DATA_GREY: RGBColor = RGBColor(170, 170, 170);

/// Maps a plotters error into the reporter's.
pub fn plot_err(error: impl std::fmt::Display) -> Error {
    Error::Plot(error.to_string())
}

/// A figure that can draw itself on any backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);

    /// Draws the figure on `root`, which is blank and of [`Figure::size`].
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Writes `figure` as `<dir>/<stem>.png` and `<dir>/<stem>.svg`; returns both paths.
pub fn save(figure: &impl Figure, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
    ensure_font();
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));
    {
        let root = BitMapBackend::new(&png, figure.size()).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        figure.draw(&root)?;
        root.present().map_err(plot_err)?;
    }
    {
        let root = SVGBackend::new(&svg, figure.size()).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        figure.draw(&root)?;
        root.present().map_err(plot_err)?;
    }
    Ok(vec![png, svg])
}

/// Writes `figure` as `<dir>/<stem>.png` only; returns its path.
pub fn save_png(figure: &impl Figure, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
    ensure_font();
    let png = dir.join(format!("{stem}.png"));
    {
        let root = BitMapBackend::new(&png, figure.size()).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        figure.draw(&root)?;
        root.present().map_err(plot_err)?;
    }
    Ok(vec![png])
}

/// The width in pixels of a legend strip for `labels` (13 px text, a 26 px swatch).
pub fn legend_strip_width<'a>(labels: impl IntoIterator<Item = &'a str>) -> u32 {
    let longest = labels
        .into_iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    (longest as u32 * 8 + 60).min(600)
}

/// Draws a legend of lines (`(label, palette index)`) down a strip of its own beside the
/// panels, so it never covers data; returns the y of the next free row.
pub fn draw_line_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, usize)],
) -> Result<i32> {
    let mut y = 40;
    for (label, colour) in entries {
        let colour = color(*colour);
        area.draw(&PathElement::new(
            vec![(6, y), (32, y)],
            colour.stroke_width(3),
        ))
        .map_err(plot_err)?;
        area.draw(&Text::new(label.clone(), (40, y - 7), font(13)))
            .map_err(plot_err)?;
        y += LEGEND_ROW;
    }
    Ok(y)
}

/// The height of one legend row in pixels.
pub const LEGEND_ROW: i32 = 20;

/// A figure title above the panels.
pub fn title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: &str,
) -> Result<DrawingArea<DB, Shift>> {
    root.titled(text, (FONT, 22).into_font()).map_err(plot_err)
}

/// A font of `size` pixels in the figure family.
pub fn font(size: u32) -> FontDesc<'static> {
    (FONT, size).into_font()
}

/// Draws the series legend of `chart` at `position`, boxed on a translucent background.
pub fn draw_legend<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
    font_size: u32,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(font(font_size))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(plot_err)
}

/// Draws the axes, labels and faint grid every cartesian figure shares.
pub fn draw_mesh<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x_desc: &str,
    y_desc: &str,
) -> Result<()>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(font(13))
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .axis_desc_style(font(15))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.08))
        .draw()
        .map_err(plot_err)
}

/// A tick label: at most three significant digits without trailing zeros (`10`, `0.25`),
/// powers of ten in scientific notation outside `[1e-3, 1e5)` (`1e-12`).
/// "T = t" for figure text. The bundled font kerns "T" against a plain space until they
/// touch ("T= 10"); an en space after the T keeps the gap.
pub fn steps_label(t: impl std::fmt::Display) -> String {
    format!("T\u{2002}= {t}")
}

pub fn tick(value: &f64) -> String {
    let v = *value;
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { v.to_string() };
    }
    let magnitude = v.abs().log10().floor() as i32;
    if (-3..5).contains(&magnitude) {
        let decimals = (2 - magnitude).max(0) as usize;
        let text = format!("{v:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        }
    } else {
        format!("{v:.0e}")
    }
}

/// Tick positions for a log axis over `[lo, hi]`: 1-2-3-5-7 within a decade, 1-2-5 over a
/// few decades, powers of ten beyond (every other one past eight decades). Plotters' own
/// log ticks start at the first power of ten, which leaves ranges such as 0.3-0.9 bare.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Vec::new();
    }
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let span = (hi / lo).log10();
    let mantissas: &[f64] = if span <= 1.2 {
        &[1.0, 2.0, 3.0, 5.0, 7.0]
    } else if span <= 3.5 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let every = if span > 8.0 { 2 } else { 1 };
    let mut ticks = Vec::new();
    for exponent in (first..=last).filter(|e| e.rem_euclid(every) == 0) {
        for m in mantissas {
            // Dividing by a positive power keeps 0.3 exactly 0.3, not 0.30000000000000004.
            let value = if exponent >= 0 {
                m * 10f64.powi(exponent)
            } else {
                m / 10f64.powi(-exponent)
            };
            if (lo..=hi).contains(&value) {
                ticks.push(value);
            }
        }
    }
    ticks
}

/// The corner of a panel where a legend covers the fewest data points. `points` are in
/// the unit square of the panel (0 at the left and bottom); the legend is taken to span
/// `width` x `height` of it.
pub fn emptiest_corner(points: &[(f64, f64)], width: f64, height: f64) -> SeriesLabelPosition {
    let corners = [
        (SeriesLabelPosition::UpperRight, 1.0 - width, 1.0 - height),
        (SeriesLabelPosition::UpperLeft, 0.0, 1.0 - height),
        (SeriesLabelPosition::LowerRight, 1.0 - width, 0.0),
        (SeriesLabelPosition::LowerLeft, 0.0, 0.0),
    ];
    let covered = |x0: f64, y0: f64| {
        points
            .iter()
            .filter(|(x, y)| (x0..=x0 + width).contains(x) && (y0..=y0 + height).contains(y))
            .count()
    };
    corners
        .into_iter()
        .min_by_key(|(_, x0, y0)| covered(*x0, *y0))
        .map(|(position, _, _)| position)
        .expect("four corners")
}

/// The share of a plotting area of `(width, height)` pixels that a legend with `labels`
/// needs (14 px text, a 22 px swatch).
pub fn legend_share(labels: &[String], (width, height): (u32, u32)) -> (f64, f64) {
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let w = (longest as f64 * 7.5 + 50.0) / width.max(1) as f64;
    let h = (labels.len() as f64 * 19.0 + 12.0) / height.max(1) as f64;
    (w.min(1.0), h.min(1.0))
}

/// Maps `value` of an axis `[lo, hi]` into `[0, 1]`, logarithmically if `log`.
pub fn unit(value: f64, lo: f64, hi: f64, log: bool) -> f64 {
    if log {
        (value.max(f64::MIN_POSITIVE).ln() - lo.ln()) / (hi.ln() - lo.ln())
    } else {
        (value - lo) / (hi - lo)
    }
}

/// Points along a polyline, densified so that long straight segments still count when a
/// legend position is chosen.
pub fn densify(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 8);
    for pair in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        for k in 0..8 {
            let f = k as f64 / 8.0;
            out.push((x0 + f * (x1 - x0), y0 + f * (y1 - y0)));
        }
    }
    out.extend(points.last());
    out
}

/// An axis-aligned box of data space, `[x_min, x_max] x [y_min, y_max]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// Left edge.
    pub x_min: f64,
    /// Right edge.
    pub x_max: f64,
    /// Bottom edge.
    pub y_min: f64,
    /// Top edge.
    pub y_max: f64,
}

impl Bounds {
    /// The smallest box holding every finite point; `None` if there is none.
    pub fn of<'a>(points: impl IntoIterator<Item = &'a ddpm::Point>) -> Option<Bounds> {
        let mut bounds: Option<Bounds> = None;
        for p in points
            .into_iter()
            .filter(|p| p[0].is_finite() && p[1].is_finite())
        {
            let b = bounds.get_or_insert(Bounds {
                x_min: p[0],
                x_max: p[0],
                y_min: p[1],
                y_max: p[1],
            });
            b.x_min = b.x_min.min(p[0]);
            b.x_max = b.x_max.max(p[0]);
            b.y_min = b.y_min.min(p[1]);
            b.y_max = b.y_max.max(p[1]);
        }
        bounds
    }

    /// The box grown by `fraction` of its size on every side, and made square in data
    /// units so that shapes are not distorted.
    pub fn padded_square(&self, fraction: f64) -> Bounds {
        let (cx, cy) = (
            (self.x_min + self.x_max) / 2.0,
            (self.y_min + self.y_max) / 2.0,
        );
        let half = (self.x_max - self.x_min)
            .max(self.y_max - self.y_min)
            .max(1e-9)
            / 2.0;
        let half = half * (1.0 + 2.0 * fraction);
        Bounds {
            x_min: cx - half,
            x_max: cx + half,
            y_min: cy - half,
            y_max: cy + half,
        }
    }

    /// Whether `p` lies inside.
    pub fn contains(&self, p: &ddpm::Point) -> bool {
        (self.x_min..=self.x_max).contains(&p[0]) && (self.y_min..=self.y_max).contains(&p[1])
    }
}

/// Draws points of a 2D data set as small dots on a square panel with a thin frame and no
/// ticks: layers are drawn in order, each `(points, colour, radius)`. Points outside
/// `bounds` are not drawn; the panel notes how many of the last layer's were left out.
pub fn scatter_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    bounds: &Bounds,
    caption: Option<&str>,
    layers: &[(&[ddpm::Point], RGBAColor, u32)],
) -> Result<()> {
    let mut builder = ChartBuilder::on(area);
    builder.margin(4);
    if let Some(caption) = caption {
        builder.caption(caption, font(15));
    }
    let mut chart = builder
        .build_cartesian_2d(bounds.x_min..bounds.x_max, bounds.y_min..bounds.y_max)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .disable_y_axis()
        .draw()
        .map_err(plot_err)?;
    chart
        .plotting_area()
        .draw(&Rectangle::new(
            [(bounds.x_min, bounds.y_min), (bounds.x_max, bounds.y_max)],
            BLACK.mix(0.4).stroke_width(1),
        ))
        .map_err(plot_err)?;
    let mut outside = 0;
    for (points, colour, radius) in layers {
        outside = points.iter().filter(|p| !bounds.contains(p)).count();
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| bounds.contains(p))
                    .map(|p| Circle::new((p[0], p[1]), *radius, colour.filled())),
            )
            .map_err(plot_err)?;
    }
    if outside > 0 {
        let (_, h) = area.dim_in_pixel();
        area.draw(&Text::new(
            format!("{outside} off-panel"),
            (8, h as i32 - 20),
            font(12).color(&BLACK.mix(0.7)),
        ))
        .map_err(plot_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_cover_short_and_long_ranges() {
        assert_eq!(log_ticks(0.28, 1.3), vec![0.3, 0.5, 0.7, 1.0]);
        assert_eq!(log_ticks(0.03, 2.0), vec![0.05, 0.1, 0.2, 0.5, 1.0, 2.0]);
        assert_eq!(log_ticks(5e-13, 1.5).len(), 7);
        assert!(log_ticks(0.0, 1.0).is_empty());
    }

    #[test]
    fn legends_go_where_the_data_is_not() {
        let rising: Vec<(f64, f64)> = (0..=10)
            .map(|i| (i as f64 / 10.0, i as f64 / 10.0))
            .collect();
        let corner = emptiest_corner(&densify(&rising), 0.3, 0.2);
        assert!(matches!(
            corner,
            SeriesLabelPosition::UpperLeft | SeriesLabelPosition::LowerRight
        ));
        let falling: Vec<(f64, f64)> = rising.iter().map(|(x, y)| (*x, 1.0 - y)).collect();
        let corner = emptiest_corner(&densify(&falling), 0.3, 0.2);
        assert!(matches!(
            corner,
            SeriesLabelPosition::UpperRight | SeriesLabelPosition::LowerLeft
        ));
    }

    #[test]
    fn tick_labels_are_short() {
        let cases = [
            (10.0, "10"),
            (1000.0, "1000"),
            (0.7000000000000001, "0.7"),
            (0.009999999999999998, "0.01"),
            (9.999999999999999e-5, "1e-4"),
            (1e-12, "1e-12"),
            (0.25, "0.25"),
            (0.0, "0"),
            (-0.5, "-0.5"),
        ];
        for (value, expected) in cases {
            assert_eq!(tick(&value), expected, "{value}");
        }
    }
}
