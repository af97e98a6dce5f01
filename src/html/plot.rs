//! The figures, drawn by plotters' SVG backend: display data in, one `<svg>` element out.
//!
//! A figure is drawn in passes through one closure: first its frame (background, title,
//! axes, grid, reference lines), then each named layer of marks (bars, points, intervals…),
//! which lands in its own `<g class="NAME">`, so a reader of the SVG (or a test) finds every
//! bar or point of a plot without guessing from colours. Each `<svg>` gets a `<title>` and a
//! `<desc>` (the numbers in words) and `role="img"`. Plotters writes integer pixel
//! coordinates and estimates text widths without fonts, so the output depends on the data
//! alone.

use std::error::Error;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::HtmlError;
use super::text::{escape, p_value};

/// Okabe & Ito's palette, safe for the common kinds of colour blindness.
pub const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
pub const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
pub const GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
pub const PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
pub const SKY: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
pub const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
const GREY: RGBColor = RGBColor(0x60, 0x60, 0x60);
const GRID: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
const INK: RGBColor = RGBColor(0x1A, 0x1A, 0x1A);

/// The usual figure, two to a row on a wide page.
pub const WIDTH: u32 = 480;
pub const HEIGHT: u32 = 330;
/// A figure across the page (drawn narrower than the page so that its text, scaled to the
/// page's width, stays as large as the other figures' on screen and on paper).
pub const WIDE: u32 = 800;
const TITLE_HEIGHT: u32 = 34;
/// Probabilities and rates, with room for marks on 0 and 1 not to hide in the axes.
const UNIT: std::ops::Range<f64> = -0.03..1.03;
const FONT: &str = "sans-serif";
/// Plotters divides font sizes by 1.24 in SVG: 16 is about 13 px.
const LABEL_SIZE: f64 = 16.0;
const TITLE_SIZE: f64 = 19.0;

/// A colour of the palette.
pub type Colour = RGBColor;

type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;
type Drawn = Result<(), Box<dyn Error + Send + Sync>>;

/// What every figure has besides its marks.
pub struct Figure {
    /// Unique on the page; the `<title>` and `<desc>` ids derive from it.
    pub id: String,
    /// Drawn at the top, and the `<title>`; it names the n.
    pub title: String,
    /// The text alternative: what the figure shows, in words and numbers.
    pub description: String,
    pub width: u32,
    pub height: u32,
}

/// Draw `figure`: the frame with `draw(area, None)`, then each of `layers` with
/// `draw(area, Some(layer))`. The closure must build the same chart every time.
fn render<F>(figure: &Figure, layers: &[&str], draw: F) -> Result<String, HtmlError>
where
    F: for<'b> Fn(&Area<'b>, Option<&str>) -> Drawn,
{
    let failed = |err: Box<dyn Error + Send + Sync>| HtmlError::Draw {
        figure: figure.id.clone(),
        message: err.to_string(),
    };
    let frame = pass(figure, None, &draw).map_err(failed)?;
    let (open, frame_body) = split_svg(&frame);
    let mut svg = open.replacen(
        "<svg ",
        &format!(
            "<svg class=\"plot\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" ",
            id = figure.id
        ),
        1,
    );
    svg.push_str(&format!(
        "\n<title id=\"{id}-title\">{}</title>\n<desc id=\"{id}-desc\">{}</desc>\n",
        escape(&figure.title),
        escape(&figure.description),
        id = figure.id
    ));
    svg.push_str(frame_body);
    for &layer in layers {
        let marks = pass(figure, Some(layer), &draw).map_err(failed)?;
        svg.push_str(&format!("<g class=\"{layer}\">\n"));
        svg.push_str(split_svg(&marks).1);
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>");
    Ok(svg)
}

fn pass<F>(
    figure: &Figure,
    layer: Option<&str>,
    draw: &F,
) -> Result<String, Box<dyn Error + Send + Sync>>
where
    F: for<'b> Fn(&Area<'b>, Option<&str>) -> Drawn,
{
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (figure.width, figure.height)).into_drawing_area();
        let (top, body) = root.split_vertically(TITLE_HEIGHT);
        if layer.is_none() {
            root.fill(&WHITE)?;
            top.draw(&Text::new(
                figure.title.clone(),
                (14, 10),
                (FONT, TITLE_SIZE)
                    .into_font()
                    .style(FontStyle::Bold)
                    .color(&INK),
            ))?;
        }
        draw(&body, layer)?;
        root.present()?;
    }
    Ok(svg)
}

/// `<svg …>` and what lies between it and `</svg>`, as plotters writes them.
fn split_svg(svg: &str) -> (&str, &str) {
    let open_end = svg.find('\n').unwrap_or(svg.len());
    let close = svg.rfind("</svg>").unwrap_or(svg.len()).max(open_end);
    (
        &svg[..open_end],
        svg[open_end..close].trim_start_matches('\n'),
    )
}

fn label(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(&INK)
}

fn anchored(size: f64, h: HPos, v: VPos) -> TextStyle<'static> {
    label(size).pos(Pos::new(h, v))
}

/// Pixels for a left axis of labels this long (plotters' own width estimate, plus room).
fn label_width(labels: impl IntoIterator<Item = impl AsRef<str>>) -> u32 {
    let longest = labels
        .into_iter()
        .map(|l| l.as_ref().chars().count())
        .max()
        .unwrap_or(0);
    (longest as u32 * 7 + 18).clamp(40, 260)
}

/// Rows listed top to bottom on a [`rows_axis`]: the centre of row `r`.
fn row_centre(rows: usize, r: usize) -> f64 {
    (rows - 1 - r) as f64
}

/// The row whose centre is `y`, for labels: plotters puts one key point on each integer of
/// a [`rows_axis`] when asked for `rows` labels.
fn row_at(rows: usize, y: f64) -> Option<usize> {
    let from_bottom = y.round();
    if (y - from_bottom).abs() > 1e-6 || from_bottom < 0.0 || from_bottom as usize >= rows {
        return None;
    }
    Some(rows - 1 - from_bottom as usize)
}

/// An axis of `rows` categories, one unit each, centred on the integers `0..rows`.
fn rows_axis(rows: usize) -> std::ops::Range<f64> {
    -0.5..rows as f64 - 0.5
}

fn three(value: f64) -> String {
    format!("{value:.3}")
}

/// An axis tick with `decimals` decimals and a true minus sign, never `-0.00`.
fn tick(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    if value < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        format!("\u{2212}{text}")
    } else {
        text
    }
}

/// A signed tick: `+0.20`, `−0.20`, `0.00`.
fn signed_tick(value: f64, decimals: usize) -> String {
    let text = tick(value, decimals);
    if value > 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        format!("+{text}")
    } else {
        text
    }
}

// ---------------------------------------------------------------------------------------

/// Counts of true (rows) against predicted (columns) classes.
pub fn confusion(id: &str, classes: &[String], counts: &[Vec<u64>]) -> Result<String, HtmlError> {
    let k = classes.len();
    let total: u64 = counts.iter().flatten().sum();
    let rows_text: Vec<String> = classes
        .iter()
        .zip(counts)
        .map(|(class, row)| {
            let cells: Vec<String> = classes
                .iter()
                .zip(row)
                .map(|(predicted, count)| format!("{count} predicted {predicted}"))
                .collect();
            format!("true {class}: {}", cells.join(", "))
        })
        .collect();
    let figure = Figure {
        id: id.to_owned(),
        title: format!("Confusion matrix · n = {total} predictions"),
        description: format!(
            "Heat map of out-of-fold predictions, rows true class, columns predicted class, shade the share of the row. {}.",
            rows_text.join("; ")
        ),
        width: WIDTH,
        height: HEIGHT,
    };
    let left = label_width(classes) + 10;
    render(&figure, &["cells", "counts"], |area, layer| {
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .margin_right(30)
            .x_label_area_size(52)
            .y_label_area_size(left)
            .build_cartesian_2d(rows_axis(k), rows_axis(k))?;
        match layer {
            None => chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(k)
                .y_labels(k)
                .x_label_formatter(&|x| {
                    row_at(k, *x)
                        .map(|r| classes[k - 1 - r].clone())
                        .unwrap_or_default()
                })
                .y_label_formatter(&|y| {
                    row_at(k, *y)
                        .map(|r| classes[r].clone())
                        .unwrap_or_default()
                })
                .x_desc("predicted class")
                .y_desc("true class")
                .label_style(label(LABEL_SIZE))
                .axis_desc_style(label(LABEL_SIZE))
                .draw()?,
            Some("cells") => {
                chart.draw_series(counts.iter().enumerate().flat_map(|(truth, row)| {
                    let row_total: u64 = row.iter().sum();
                    row.iter().enumerate().map(move |(predicted, &count)| {
                        let share = if row_total == 0 {
                            0.0
                        } else {
                            count as f64 / row_total as f64
                        };
                        let y = row_centre(k, truth);
                        let x = predicted as f64;
                        Rectangle::new(
                            [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                            BLUE.mix(0.08 + 0.87 * share).filled(),
                        )
                    })
                }))?;
            }
            Some("counts") => {
                chart.draw_series(counts.iter().enumerate().flat_map(|(truth, row)| {
                    let row_total: u64 = row.iter().sum();
                    row.iter().enumerate().map(move |(predicted, &count)| {
                        let share = if row_total == 0 {
                            0.0
                        } else {
                            count as f64 / row_total as f64
                        };
                        let colour: &'static RGBColor = if share > 0.5 { &WHITE } else { &INK };
                        Text::new(
                            format!("{count} ({:.0}%)", share * 100.0),
                            (predicted as f64, row_centre(k, truth)),
                            anchored(18.0, HPos::Center, VPos::Center).color(colour),
                        )
                    })
                }))?;
            }
            _ => {}
        }
        Ok(())
    })
}

/// One point of a learning curve.
pub struct CurvePoint {
    pub train_size: usize,
    pub value: Option<f64>,
    pub interval: Option<(f64, f64)>,
}

/// The metric against training paragraphs, with its interval band and the majority line.
pub struct Curve<'a> {
    pub metric: &'a str,
    pub points: &'a [CurvePoint],
    pub baseline: Option<f64>,
    /// Paragraphs whose predictions each point scores.
    pub paragraphs: usize,
    pub level: f64,
}

pub fn learning_curve(id: &str, curve: &Curve<'_>) -> Result<String, HtmlError> {
    let defined: Vec<(f64, f64)> = curve
        .points
        .iter()
        .filter_map(|p| Some((p.train_size as f64, p.value?)))
        .collect();
    let band: Vec<(f64, (f64, f64))> = curve
        .points
        .iter()
        .filter_map(|p| Some((p.train_size as f64, p.interval?)))
        .collect();
    let words: Vec<String> = curve
        .points
        .iter()
        .map(|p| {
            let value = p.value.map_or("undefined".to_owned(), three);
            match p.interval {
                Some((low, high)) => format!("{}: {value} [{low:.3}, {high:.3}]", p.train_size),
                None => format!("{}: {value}", p.train_size),
            }
        })
        .collect();
    let figure = Figure {
        id: id.to_owned(),
        title: format!("Learning curve · n = {} paragraphs", curve.paragraphs),
        description: format!(
            "{} against training paragraphs per fold, each point on the pooled out-of-fold predictions of all {} paragraphs, with its {:.0}% interval as a band{}. {}.",
            curve.metric,
            curve.paragraphs,
            curve.level * 100.0,
            curve.baseline.map_or(String::new(), |b| format!(
                " and the majority baseline at {b:.3}"
            )),
            words.join("; ")
        ),
        width: WIDTH,
        height: HEIGHT,
    };
    // Metrics of [0, 1] on [0, 1]; a log loss may need more room.
    let y_max = curve
        .points
        .iter()
        .flat_map(|p| p.value.into_iter().chain(p.interval.map(|i| i.1)))
        .chain(curve.baseline)
        .filter(|v| v.is_finite())
        .fold(1.0, f64::max);
    let y_max = if y_max > 1.0 { y_max * 1.05 } else { 1.0 };
    let x_max = curve.points.iter().map(|p| p.train_size).max().unwrap_or(1) as f64 * 1.08 + 1.0;
    render(
        &figure,
        &["band", "majority", "curve", "points"],
        |area, layer| {
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .margin_right(24)
                .x_label_area_size(48)
                .y_label_area_size(56)
                .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
            match layer {
                None => chart
                    .configure_mesh()
                    .max_light_lines(0)
                    .bold_line_style(GRID)
                    .x_labels(8)
                    .y_labels(6)
                    .x_label_formatter(&|x| format!("{x:.0}"))
                    .y_label_formatter(&|y| format!("{y:.1}"))
                    .x_desc("training paragraphs per fold")
                    .y_desc(curve.metric)
                    .label_style(label(LABEL_SIZE))
                    .axis_desc_style(label(LABEL_SIZE))
                    .draw()?,
                Some("band") if band.len() >= 2 => {
                    let mut outline: Vec<(f64, f64)> =
                        band.iter().map(|&(x, (_, hi))| (x, hi)).collect();
                    outline.extend(band.iter().rev().map(|&(x, (lo, _))| (x, lo)));
                    chart.draw_series(std::iter::once(Polygon::new(
                        outline,
                        SKY.mix(0.35).filled(),
                    )))?;
                }
                Some("band") => {
                    // A single interval is a bar, not a band.
                    chart.draw_series(band.iter().map(|&(x, (lo, hi))| {
                        PathElement::new(vec![(x, lo), (x, hi)], SKY.stroke_width(6))
                    }))?;
                }
                Some("majority") => {
                    if let Some(b) = curve.baseline {
                        chart.draw_series(std::iter::once(DashedPathElement::new(
                            vec![(0.0, b), (x_max, b)],
                            8,
                            5,
                            GREY.stroke_width(2),
                        )))?;
                        // In the corner, where a curve of this metric rarely goes.
                        chart.draw_series(std::iter::once(Text::new(
                            format!("dashed: majority baseline {b:.3}"),
                            (x_max * 0.98, 0.02),
                            anchored(15.0, HPos::Right, VPos::Bottom).color(&GREY),
                        )))?;
                    }
                }
                Some("curve") => {
                    chart.draw_series(std::iter::once(PathElement::new(
                        defined.clone(),
                        BLUE.stroke_width(2),
                    )))?;
                }
                Some("points") => {
                    chart.draw_series(
                        defined
                            .iter()
                            .map(|&(x, y)| Circle::new((x, y), 4, BLUE.filled())),
                    )?;
                }
                _ => {}
            }
            Ok(())
        },
    )
}

/// The permutation test's null distribution, binned.
pub struct Null<'a> {
    pub metric: &'a str,
    /// `(start, count)` of each non-empty bin.
    pub bins: &'a [(f64, usize)],
    pub width: f64,
    pub observed: f64,
    pub null_mean: f64,
    pub p_value: f64,
    pub n_permutations: usize,
    /// Permutations allowed, when a sequential test stopped before them.
    pub planned: Option<usize>,
    pub paragraphs: usize,
}

pub fn permutation(id: &str, null: &Null<'_>) -> Result<String, HtmlError> {
    let low = null.bins.iter().map(|b| b.0).fold(null.observed, f64::min) - null.width;
    let high = null
        .bins
        .iter()
        .map(|b| b.0 + null.width)
        .fold(null.observed, f64::max)
        + null.width;
    let tallest = null.bins.iter().map(|b| b.1).max().unwrap_or(1) as f64;
    let figure = Figure {
        id: id.to_owned(),
        title: format!(
            "Test against chance · n = {} · p = {}",
            null.paragraphs,
            p_value(null.p_value)
        ),
        description: format!(
            "Histogram of {} over {} permutations of the labels of {} paragraphs (bins {} wide), each a full cross-validation; the observed value {:.3} is marked, the null mean is {:.3}, p = {}.",
            null.metric,
            match null.planned {
                Some(planned) => format!(
                    "{} (the sequential test stopped there, of {planned} allowed)",
                    null.n_permutations
                ),
                None => null.n_permutations.to_string(),
            },
            null.paragraphs,
            null.width,
            null.observed,
            null.null_mean,
            p_value(null.p_value)
        ),
        width: WIDTH,
        height: HEIGHT,
    };
    let left_of_middle = null.observed < (low + high) / 2.0;
    render(
        &figure,
        &["bars", "null-mean", "observed"],
        |area, layer| {
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .margin_right(24)
                .x_label_area_size(48)
                .y_label_area_size(56)
                .build_cartesian_2d(low..high, 0.0..tallest * 1.3)?;
            match layer {
                None => chart
                    .configure_mesh()
                    .max_light_lines(0)
                    .bold_line_style(GRID)
                    .disable_x_mesh()
                    .x_labels(7)
                    .y_labels(6)
                    .x_label_formatter(&|x| format!("{x:.2}"))
                    .y_label_formatter(&|y| format!("{y:.0}"))
                    .x_desc(format!("{} under shuffled labels", null.metric))
                    .y_desc(format!("permutations (of {})", null.n_permutations))
                    .label_style(label(LABEL_SIZE))
                    .axis_desc_style(label(LABEL_SIZE))
                    .draw()?,
                Some("bars") => {
                    chart.draw_series(null.bins.iter().map(|&(start, count)| {
                        let gap = null.width * 0.06;
                        Rectangle::new(
                            [(start + gap, 0.0), (start + null.width - gap, count as f64)],
                            SKY.filled(),
                        )
                    }))?;
                }
                Some("null-mean") => {
                    let top = tallest * 1.12;
                    chart.draw_series(std::iter::once(DashedPathElement::new(
                        vec![(null.null_mean, 0.0), (null.null_mean, top)],
                        6,
                        4,
                        GREY.stroke_width(2),
                    )))?;
                    let (h, x) = if left_of_middle {
                        (HPos::Left, null.null_mean + null.width * 0.3)
                    } else {
                        (HPos::Right, null.null_mean - null.width * 0.3)
                    };
                    chart.draw_series(std::iter::once(Text::new(
                        format!("null mean {:.3}", null.null_mean),
                        (x, top),
                        anchored(15.0, h, VPos::Top).color(&GREY),
                    )))?;
                }
                Some("observed") => {
                    let top = tallest * 1.28;
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(null.observed, 0.0), (null.observed, top)],
                        VERMILLION.stroke_width(3),
                    )))?;
                    let (h, x) = if left_of_middle {
                        (HPos::Right, null.observed - null.width * 0.3)
                    } else {
                        (HPos::Left, null.observed + null.width * 0.3)
                    };
                    chart.draw_series(std::iter::once(Text::new(
                        format!("observed {:.3}", null.observed),
                        (x, top),
                        anchored(15.0, h, VPos::Top).color(&VERMILLION),
                    )))?;
                }
                _ => {}
            }
            Ok(())
        },
    )
}

/// One bin of a reliability diagram, with the interval of its observed frequency.
pub struct ReliabilityBin {
    /// The bin's range of predicted probabilities.
    pub low: f64,
    pub high: f64,
    pub mean_predicted: f64,
    pub observed: f64,
    pub count: usize,
    pub interval: Option<(f64, f64)>,
}

pub struct Reliability<'a> {
    pub bins: &'a [ReliabilityBin],
    /// What the x axis is the probability of, e.g. "predicted P(stable)".
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub predictions: usize,
    pub level: f64,
}

pub fn reliability(id: &str, diagram: &Reliability<'_>) -> Result<String, HtmlError> {
    let words: Vec<String> = diagram
        .bins
        .iter()
        .map(|b| {
            format!(
                "{} predictions at {:.3} on average, observed {:.3}{}",
                b.count,
                b.mean_predicted,
                b.observed,
                b.interval
                    .map_or(String::new(), |(lo, hi)| format!(" [{lo:.3}, {hi:.3}]"))
            )
        })
        .collect();
    let figure = Figure {
        id: id.to_owned(),
        title: format!("Calibration · n = {} predictions", diagram.predictions),
        description: format!(
            "Reliability diagram: {} against {}, one point per probability bin with its {:.0}% Wilson interval; the diagonal is perfect calibration. {}.",
            diagram.y_label,
            diagram.x_label,
            diagram.level * 100.0,
            words.join("; ")
        ),
        width: WIDTH,
        height: HEIGHT,
    };
    render(
        &figure,
        &["intervals", "points", "counts"],
        |area, layer| {
            // The counts go on a strip of their own under the axis, where they cannot cover a
            // point whatever the data.
            let (plot_area, strip) = area.split_vertically(HEIGHT - TITLE_HEIGHT - 26);
            let mut chart = ChartBuilder::on(&plot_area)
                .margin(12)
                .margin_right(24)
                .margin_bottom(4)
                .x_label_area_size(48)
                .y_label_area_size(56)
                .build_cartesian_2d(UNIT.clone(), UNIT.clone())?;
            match layer {
                None => {
                    chart
                        .configure_mesh()
                        .max_light_lines(0)
                        .bold_line_style(GRID)
                        .x_labels(6)
                        .y_labels(6)
                        .x_label_formatter(&|x| tick(*x, 1))
                        .y_label_formatter(&|y| tick(*y, 1))
                        .x_desc(diagram.x_label)
                        .y_desc(diagram.y_label)
                        .label_style(label(LABEL_SIZE))
                        .axis_desc_style(label(LABEL_SIZE))
                        .draw()?;
                    chart.draw_series(std::iter::once(DashedPathElement::new(
                        vec![(0.0, 0.0), (1.0, 1.0)],
                        6,
                        4,
                        GREY.stroke_width(1),
                    )))?;
                    strip.draw(&Text::new(
                        "n per bin:",
                        (8, 10),
                        anchored(15.0, HPos::Left, VPos::Center).color(&GREY),
                    ))?;
                }
                Some("intervals") => {
                    chart.draw_series(diagram.bins.iter().filter_map(|b| {
                        let (lo, hi) = b.interval?;
                        Some(PathElement::new(
                            vec![(b.mean_predicted, lo), (b.mean_predicted, hi)],
                            BLUE.stroke_width(2),
                        ))
                    }))?;
                }
                Some("points") => {
                    chart.draw_series(
                        diagram
                            .bins
                            .iter()
                            .map(|b| Circle::new((b.mean_predicted, b.observed), 5, BLUE.filled())),
                    )?;
                }
                Some("counts") => {
                    let base = strip.get_base_pixel();
                    for bin in diagram.bins {
                        let (x, _) = chart.backend_coord(&((bin.low + bin.high) / 2.0, 0.0));
                        strip.draw(&Text::new(
                            bin.count.to_string(),
                            (x - base.0, 10),
                            anchored(15.0, HPos::Center, VPos::Center),
                        ))?;
                    }
                }
                _ => {}
            }
            Ok(())
        },
    )
}

pub struct Roc<'a> {
    /// `(false positive rate, true positive rate)`, from (0, 0) to (1, 1).
    pub points: &'a [(f64, f64)],
    pub positive: &'a str,
    pub negative: &'a str,
    pub positives: usize,
    pub negatives: usize,
    pub auc: Option<f64>,
    pub auc_interval: Option<(f64, f64)>,
    pub level: f64,
}

pub fn roc(id: &str, roc: &Roc<'_>) -> Result<String, HtmlError> {
    let auc = match (roc.auc, roc.auc_interval) {
        (Some(auc), Some((lo, hi))) => format!("AUC {auc:.3} [{lo:.3}, {hi:.3}]"),
        (Some(auc), None) => format!("AUC {auc:.3}"),
        _ => "AUC undefined".to_owned(),
    };
    let figure = Figure {
        id: id.to_owned(),
        title: format!(
            "ROC curve · n = {} {} + {} {}",
            roc.positives, roc.positive, roc.negatives, roc.negative
        ),
        description: format!(
            "True positive rate against false positive rate as the threshold on the probability of {} falls, {} thresholds; {auc} ({:.0}% interval); the diagonal is chance.",
            roc.positive,
            roc.points.len().saturating_sub(1),
            roc.level * 100.0
        ),
        width: WIDTH,
        height: HEIGHT,
    };
    render(&figure, &["curve", "thresholds", "auc"], |area, layer| {
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .margin_right(24)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(UNIT.clone(), UNIT.clone())?;
        match layer {
            None => {
                chart
                    .configure_mesh()
                    .max_light_lines(0)
                    .bold_line_style(GRID)
                    .x_labels(6)
                    .y_labels(6)
                    .x_label_formatter(&|x| tick(*x, 1))
                    .y_label_formatter(&|y| tick(*y, 1))
                    .x_desc(format!(
                        "false positive rate ({} called {})",
                        roc.negative, roc.positive
                    ))
                    .y_desc(format!("true positive rate ({})", roc.positive))
                    .label_style(label(LABEL_SIZE))
                    .axis_desc_style(label(LABEL_SIZE))
                    .draw()?;
                chart.draw_series(std::iter::once(DashedPathElement::new(
                    vec![(0.0, 0.0), (1.0, 1.0)],
                    6,
                    4,
                    GREY.stroke_width(1),
                )))?;
            }
            Some("curve") => {
                chart.draw_series(std::iter::once(PathElement::new(
                    roc.points.to_vec(),
                    BLUE.stroke_width(2),
                )))?;
            }
            Some("thresholds") => {
                chart.draw_series(
                    roc.points
                        .iter()
                        .skip(1)
                        .map(|&(x, y)| Circle::new((x, y), 3, BLUE.filled())),
                )?;
            }
            Some("auc") => {
                chart.draw_series(std::iter::once(Text::new(
                    auc.clone(),
                    (0.97, 0.05),
                    anchored(16.0, HPos::Right, VPos::Bottom),
                )))?;
            }
            _ => {}
        }
        Ok(())
    })
}

/// One horizontal bar with an optional interval and a note at its end.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub interval: Option<(f64, f64)>,
    pub note: String,
}

/// Accuracy per article, horizontal bars from 0, with a reference line.
pub struct Articles<'a> {
    pub bars: &'a [Bar],
    pub overall: Option<f64>,
    pub paragraphs: usize,
    pub level: f64,
}

pub fn articles(id: &str, articles: &Articles<'_>) -> Result<String, HtmlError> {
    let rows = articles.bars.len().max(1);
    let words: Vec<String> = articles
        .bars
        .iter()
        .map(|b| {
            format!(
                "{}: {:.3}{} ({})",
                b.label,
                b.value,
                b.interval
                    .map_or(String::new(), |(lo, hi)| format!(" [{lo:.3}, {hi:.3}]")),
                b.note
            )
        })
        .collect();
    let figure = Figure {
        id: id.to_owned(),
        title: format!(
            "Accuracy per article · n = {} paragraphs in {}",
            articles.paragraphs,
            if rows == 1 {
                "1 article".to_owned()
            } else {
                format!("{rows} articles")
            }
        ),
        description: format!(
            "Out-of-fold accuracy on each article's paragraphs, with {:.0}% Wilson intervals{}. {}.",
            articles.level * 100.0,
            articles.overall.map_or(String::new(), |a| format!(
                "; accuracy on all paragraphs {a:.3}"
            )),
            words.join("; ")
        ),
        width: WIDTH,
        height: (TITLE_HEIGHT + 100 + 40 * rows as u32).max(HEIGHT),
    };
    let left = label_width(articles.bars.iter().map(|b| &b.label));
    let notes_width = label_width(articles.bars.iter().map(|b| &b.note)).max(70);
    render(
        &figure,
        &["overall", "bars", "intervals", "notes"],
        |area, layer| {
            let (plot_area, notes_area) = area.split_horizontally(WIDTH - notes_width);
            let mut chart = ChartBuilder::on(&plot_area)
                .margin(12)
                .margin_right(10)
                .x_label_area_size(48)
                .y_label_area_size(left)
                .build_cartesian_2d(0.0..1.03, rows_axis(rows))?;
            match layer {
                None => chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .max_light_lines(0)
                    .bold_line_style(GRID)
                    .x_labels(6)
                    .y_labels(rows)
                    .x_label_formatter(&|x| tick(*x, 1))
                    .y_label_formatter(&|y| {
                        row_at(rows, *y)
                            .and_then(|r| articles.bars.get(r))
                            .map(|b| b.label.clone())
                            .unwrap_or_default()
                    })
                    .x_desc("accuracy (dashed: all paragraphs)")
                    .label_style(label(LABEL_SIZE))
                    .axis_desc_style(label(LABEL_SIZE))
                    .draw()?,
                Some("overall") => {
                    if let Some(a) = articles.overall {
                        chart.draw_series(std::iter::once(DashedPathElement::new(
                            vec![(a, -0.5), (a, rows as f64 - 0.5)],
                            6,
                            4,
                            GREY.stroke_width(2),
                        )))?;
                    }
                }
                Some("bars") => {
                    chart.draw_series(articles.bars.iter().enumerate().map(|(r, b)| {
                        let y = row_centre(rows, r);
                        Rectangle::new([(0.0, y - 0.22), (b.value, y + 0.22)], SKY.filled())
                    }))?;
                }
                Some("intervals") => {
                    chart.draw_series(articles.bars.iter().enumerate().filter_map(|(r, b)| {
                        let (lo, hi) = b.interval?;
                        let y = row_centre(rows, r);
                        Some(PathElement::new(
                            vec![(lo, y), (hi, y)],
                            BLUE.stroke_width(3),
                        ))
                    }))?;
                }
                Some("notes") => {
                    let base = notes_area.get_base_pixel();
                    for (r, bar) in articles.bars.iter().enumerate() {
                        let (_, y) = chart.backend_coord(&(0.0, row_centre(rows, r)));
                        notes_area.draw(&Text::new(
                            bar.note.clone(),
                            (4, y - base.1),
                            anchored(15.0, HPos::Left, VPos::Center),
                        ))?;
                    }
                }
                _ => {}
            }
            Ok(())
        },
    )
}

/// A term's bar in a terms figure: signed (negative toward the left class).
pub struct TermRow {
    pub term: String,
    pub weight: f64,
    /// Folds kept the sign / all folds, and whether any flipped it.
    pub stability: Option<(usize, usize, usize)>,
    /// Bar colour: which class it points to.
    pub colour: RGBColor,
}

pub struct Terms<'a> {
    pub title: String,
    pub rows: &'a [TermRow],
    pub x_label: String,
    /// Text under the axis at each end: (left, right).
    pub ends: (String, String),
    pub width: u32,
    pub paragraphs: usize,
}

pub fn terms(id: &str, terms: &Terms<'_>) -> Result<String, HtmlError> {
    let rows = terms.rows.len().max(1);
    let reach = terms
        .rows
        .iter()
        .map(|t| t.weight.abs())
        .fold(0.0, f64::max)
        .max(1e-9);
    let negative = terms.rows.iter().any(|t| t.weight < 0.0);
    let (x_low, x_high) = if negative {
        (-reach * 1.25, reach * 1.25)
    } else {
        (0.0, reach * 1.25)
    };
    let words: Vec<String> = terms
        .rows
        .iter()
        .map(|t| {
            let stability = match t.stability {
                Some((same, folds, flipped)) if flipped > 0 => {
                    format!(", same sign in {same} of {folds} folds, flipped in {flipped}")
                }
                Some((same, folds, _)) => format!(", same sign in {same} of {folds} folds"),
                None => String::new(),
            };
            format!("{} {:+.3}{stability}", t.term, t.weight)
        })
        .collect();
    let figure = Figure {
        id: id.to_owned(),
        title: terms.title.clone(),
        description: format!(
            "Weights of the model fitted on all {} paragraphs; beside each bar, the training folds whose model gave the term the same sign. {}.",
            terms.paragraphs,
            words.join("; ")
        ),
        width: terms.width,
        height: TITLE_HEIGHT + 96 + 24 * rows as u32,
    };
    let left = label_width(terms.rows.iter().map(|t| &t.term));
    let note = |t: &TermRow| match t.stability {
        Some((same, folds, flipped)) if flipped > 0 => format!("{same}/{folds}, flips {flipped}"),
        Some((same, folds, _)) => format!("{same}/{folds}"),
        None => String::new(),
    };
    render(&figure, &["bars", "stability"], |area, layer| {
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .margin_right(20)
            .x_label_area_size(62)
            .y_label_area_size(left)
            .build_cartesian_2d(x_low..x_high, rows_axis(rows))?;
        match layer {
            None => {
                chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .max_light_lines(0)
                    .bold_line_style(GRID)
                    .x_labels(7)
                    .y_labels(rows)
                    .x_label_formatter(&|x| tick(*x, 2))
                    .y_label_formatter(&|y| {
                        row_at(rows, *y)
                            .and_then(|r| terms.rows.get(r))
                            .map(|t| t.term.clone())
                            .unwrap_or_default()
                    })
                    .x_desc(terms.x_label.clone())
                    .label_style(label(LABEL_SIZE))
                    .axis_desc_style(label(LABEL_SIZE))
                    .draw()?;
                if negative {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(0.0, -0.5), (0.0, rows as f64 - 0.5)],
                        INK.stroke_width(1),
                    )))?;
                }
                chart.draw_series([
                    Text::new(
                        terms.ends.0.clone(),
                        (x_low + (x_high - x_low) * 0.01, rows as f64 - 0.5),
                        anchored(15.0, HPos::Left, VPos::Bottom).color(&GREY),
                    ),
                    Text::new(
                        terms.ends.1.clone(),
                        (x_high - (x_high - x_low) * 0.01, rows as f64 - 0.5),
                        anchored(15.0, HPos::Right, VPos::Bottom).color(&GREY),
                    ),
                ])?;
            }
            Some("bars") => {
                chart.draw_series(terms.rows.iter().enumerate().map(|(r, t)| {
                    let y = row_centre(rows, r);
                    let noisy = t.stability.is_some_and(|s| s.2 > 0);
                    let style = if noisy {
                        t.colour.mix(0.35).filled()
                    } else {
                        t.colour.filled()
                    };
                    Rectangle::new([(0.0, y - 0.36), (t.weight, y + 0.36)], style)
                }))?;
            }
            Some("stability") => {
                let pad = (x_high - x_low) * 0.01;
                chart.draw_series(terms.rows.iter().enumerate().map(|(r, t)| {
                    let (h, x) = if t.weight < 0.0 {
                        (HPos::Right, t.weight - pad)
                    } else {
                        (HPos::Left, t.weight + pad)
                    };
                    Text::new(
                        note(t),
                        (x, row_centre(rows, r)),
                        anchored(14.0, h, VPos::Center),
                    )
                }))?;
            }
            _ => {}
        }
        Ok(())
    })
}

/// One experiment's difference from the reference.
pub struct ForestRow {
    /// The experiment's name and n, as its row is labelled.
    pub experiment: String,
    pub difference: Option<f64>,
    pub interval: Option<(f64, f64)>,
    /// Printed at the right: the p-values, or why there are none.
    pub note: String,
}

pub struct Forest<'a> {
    pub rows: &'a [ForestRow],
    pub metric: &'a str,
    pub reference: &'a str,
    pub reference_paragraphs: usize,
    pub level: f64,
}

pub fn forest(id: &str, forest: &Forest<'_>) -> Result<String, HtmlError> {
    let rows = forest.rows.len().max(1);
    let mut reach: f64 = 0.05;
    for row in forest.rows {
        for value in row
            .difference
            .into_iter()
            .chain(row.interval.into_iter().flat_map(|(lo, hi)| [lo, hi]))
        {
            if value.is_finite() {
                reach = reach.max(value.abs());
            }
        }
    }
    let reach = reach * 1.1;
    let words: Vec<String> = forest
        .rows
        .iter()
        .map(|r| {
            format!(
                "{}: {}{} ({})",
                r.experiment,
                r.difference
                    .map_or("no difference".to_owned(), |d| format!("{d:+.3}")),
                r.interval
                    .map_or(String::new(), |(lo, hi)| format!(" [{lo:+.3}, {hi:+.3}]")),
                r.note
            )
        })
        .collect();
    let figure = Figure {
        id: id.to_owned(),
        title: format!(
            "Difference from {} (n = {}) in {}",
            forest.reference, forest.reference_paragraphs, forest.metric,
        ),
        description: format!(
            "Forest plot: each experiment's {} minus {}'s, the mean of per-fold differences with the {:.0}% interval of the corrected resampled t-test where the folds are paired, and its p-values. {}.",
            forest.metric,
            forest.reference,
            forest.level * 100.0,
            words.join("; ")
        ),
        width: WIDE,
        height: TITLE_HEIGHT + 96 + 34 * rows as u32,
    };
    let left = label_width(forest.rows.iter().map(|r| &r.experiment));
    let notes_width = label_width(forest.rows.iter().map(|r| &r.note)).max(200) + 10;
    render(&figure, &["intervals", "points", "notes"], |area, layer| {
        let (plot_area, notes_area) = area.split_horizontally(WIDE - notes_width);
        let mut chart = ChartBuilder::on(&plot_area)
            .margin(12)
            .margin_right(16)
            .x_label_area_size(48)
            .y_label_area_size(left)
            .build_cartesian_2d(-reach..reach, rows_axis(rows))?;
        match layer {
            None => {
                chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .max_light_lines(0)
                    .bold_line_style(GRID)
                    .x_labels(5)
                    .y_labels(rows)
                    .x_label_formatter(&|x| signed_tick(*x, 2))
                    .y_label_formatter(&|y| {
                        row_at(rows, *y)
                            .and_then(|r| forest.rows.get(r))
                            .map(|r| r.experiment.clone())
                            .unwrap_or_default()
                    })
                    .x_desc(format!(
                        "{} − {} ({})",
                        forest.metric, forest.reference, "experiment minus reference"
                    ))
                    .label_style(label(LABEL_SIZE))
                    .axis_desc_style(label(LABEL_SIZE))
                    .draw()?;
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(0.0, -0.5), (0.0, rows as f64 - 0.5)],
                    INK.stroke_width(1),
                )))?;
            }
            Some("intervals") => {
                chart.draw_series(forest.rows.iter().enumerate().filter_map(|(r, row)| {
                    let (lo, hi) = row.interval?;
                    let y = row_centre(rows, r);
                    Some(PathElement::new(
                        vec![(lo.max(-reach), y), (hi.min(reach), y)],
                        BLUE.stroke_width(3),
                    ))
                }))?;
            }
            Some("points") => {
                chart.draw_series(forest.rows.iter().enumerate().filter_map(|(r, row)| {
                    let d = row.difference.filter(|d| d.is_finite())?;
                    Some(Circle::new(
                        (d, row_centre(rows, r)),
                        6,
                        VERMILLION.filled(),
                    ))
                }))?;
            }
            Some("notes") => {
                let base = notes_area.get_base_pixel();
                for (r, row) in forest.rows.iter().enumerate() {
                    let (_, y) = chart.backend_coord(&(0.0, row_centre(rows, r)));
                    notes_area.draw(&Text::new(
                        row.note.clone(),
                        (4, y - base.1),
                        anchored(15.0, HPos::Left, VPos::Center),
                    ))?;
                }
            }
            _ => {}
        }
        Ok(())
    })
}
