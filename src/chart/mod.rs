//! Charts of a round's tallies, drawn with plotters as PNG and SVG, labelled in Swedish with
//! an embedded font (DejaVu Sans, see DejaVuSans-LICENSE.txt) so that å, ä and ö render on a
//! machine without fonts. Each chart has a title, counts on its bars and its base (n) below.

use crate::analysis::TrendFigure;
use crate::survey::{Kind, Survey};
use crate::tally::{OVERALL, RESPONSE_RATE, Tallies, code};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::Once;

/// Readable at the width of an A4 page (about 190 dpi across 21 cm).
pub const WIDTH: u32 = 1600;
/// For the pages: on a phone (390 px) the text stays about 13 px high.
pub const SCREEN_WIDTH: u32 = 720;
/// Height of a line chart; a bar chart grows with its bars.
pub const HEIGHT: u32 = 900;
/// Pixel heights of a bar chart's parts: a category's label, each bar, the gap after.
const LABEL: f64 = 36.0;
const BAR: f64 = 30.0;
const GAP: f64 = 18.0;
/// Margins and the axis around a bar chart's bars (the title and the note come on top).
const FRAME: f64 = 160.0;
/// Font sizes (px) of the title, the note and the labels.
const TITLE_PX: u32 = 36;
const NOTE_PX: u32 = 24;
/// Height of a line of the title or the note.
const LINE: u32 = 44;

/// The size in pixels of a chart `width` wide (PNG and SVG).
pub fn size(chart: &Chart, width: u32) -> (u32, u32) {
    let text =
        LINE * (wrap(&chart.title, width, TITLE_PX).len() + wrap(&note(chart), width, NOTE_PX).len()) as u32 + 40;
    let body = match &chart.body {
        Body::Bars { categories, series, .. } => {
            let band = LABEL + BAR * series.len() as f64 + GAP;
            (FRAME + band * categories.len() as f64).max(360.0) as u32
        }
        Body::Trend { .. } => HEIGHT - 200,
    };
    (width, body + text)
}

/// The text under a chart: its note, and how its series are told apart without colour: bars
/// by their order within each group, lines by their markers (● ■ ▲ ✕, as drawn).
fn note(chart: &Chart) -> String {
    let key = match &chart.body {
        Body::Bars { series, .. } if series.len() > 1 => format!(
            " Staplarna i varje grupp, uppifrån: {}.",
            series.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
        ),
        Body::Trend { series } if !series.is_empty() => format!(
            " Linjerna: {}.",
            series
                .iter()
                .enumerate()
                .map(|(k, (n, _))| format!("{} {n}", MARKERS[k % MARKERS.len()]))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => String::new(),
    };
    format!("{}{key}", chart.note)
}

/// The trend lines' markers, in the order `draw` gives them.
const MARKERS: [char; 4] = ['●', '■', '▲', '✕'];

/// Breaks a text into lines that fit `width` pixels at `px` (DejaVu Sans averages a little
/// over half its size per character), between words, so captions wrap inside the image.
fn wrap(text: &str, width: u32, px: u32) -> Vec<String> {
    let fits = ((width.saturating_sub(60)) as f64 / (px as f64 * 0.58)).max(10.0) as usize;
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= fits => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

const FONT: &[u8] = include_bytes!("DejaVuSans.ttf");
const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 56, 95),
    RGBColor(214, 102, 37),
    RGBColor(0, 112, 60),
    RGBColor(128, 128, 128),
    RGBColor(112, 48, 160),
    RGBColor(29, 112, 184),
];

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            let _ = plotters::style::register_font("sans-serif", style, FONT);
        }
    });
}

/// What a chart shows, independent of how it is drawn.
#[derive(Debug, Clone)]
pub enum Body {
    /// Horizontal bars: categories (top to bottom), each with one bar per series.
    Bars { categories: Vec<String>, series: Vec<(String, Vec<f64>)>, percent: bool },
    /// Lines over years: one line per series of (year, percent).
    Trend { series: Vec<(String, Vec<(i64, f64)>)> },
}

#[derive(Debug, Clone)]
pub struct Chart {
    /// File name without extension, a stable identifier.
    pub name: &'static str,
    pub title: String,
    pub axis: String,
    /// Printed under the chart: the base (n) and what was folded.
    pub note: String,
    pub body: Body,
}

impl Chart {
    /// The main finding, for the image's alt text: the largest figure and where it is.
    pub fn finding(&self) -> String {
        let shown = |v: f64, percent: bool| number(v, percent);
        match &self.body {
            Body::Bars { categories, series, percent } => {
                let mut best: Option<(f64, usize, usize)> = None;
                for (k, (_, values)) in series.iter().enumerate() {
                    for (i, v) in values.iter().enumerate() {
                        if best.is_none_or(|(b, _, _)| *v > b) {
                            best = Some((*v, i, k));
                        }
                    }
                }
                match best {
                    Some((v, i, k)) if v > 0.0 => {
                        let what = if series.len() > 1 {
                            format!("{} bland {}", series[k].0, categories[i])
                        } else {
                            categories[i].clone()
                        };
                        format!("{}: störst är {what}, {}.", self.title, shown(v, *percent))
                    }
                    _ => format!("{}: inga svar att visa.", self.title),
                }
            }
            Body::Trend { series } => {
                let latest: Vec<String> = series
                    .iter()
                    .filter_map(|(name, points)| {
                        points.last().map(|(y, v)| format!("{name} {} år {y}", shown(*v, true)))
                    })
                    .collect();
                if latest.is_empty() {
                    format!("{}: inga år att visa.", self.title)
                } else {
                    format!("{}: senast {}.", self.title, latest.join(", "))
                }
            }
        }
    }

    /// The chart's figures as a table: a header row, then a row per category (or year).
    pub fn table(&self) -> (Vec<String>, Vec<Vec<String>>) {
        match &self.body {
            Body::Bars { categories, series, percent } => {
                let head = std::iter::once(String::new()).chain(series.iter().map(|(n, _)| n.clone())).collect();
                let rows = categories
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        std::iter::once(c.clone())
                            .chain(series.iter().map(|(_, v)| number(v.get(i).copied().unwrap_or(0.0), *percent)))
                            .collect()
                    })
                    .collect();
                (head, rows)
            }
            Body::Trend { series } => {
                let mut years: Vec<i64> = series.iter().flat_map(|(_, p)| p.iter().map(|(y, _)| *y)).collect();
                years.sort_unstable();
                years.dedup();
                let head = std::iter::once("År".to_string()).chain(series.iter().map(|(n, _)| n.clone())).collect();
                let rows = years
                    .iter()
                    .map(|y| {
                        std::iter::once(y.to_string())
                            .chain(series.iter().map(|(_, p)| {
                                p.iter().find(|(py, _)| py == y).map_or("–".to_string(), |(_, v)| number(*v, true))
                            }))
                            .collect()
                    })
                    .collect();
                (head, rows)
            }
        }
    }
}

fn label<'a>(options: &'a [crate::survey::Choice], code: &str) -> &'a str {
    options.iter().find(|o| o.code == code).map_or("", |o| o.label.as_str())
}

/// The charts of a round, from its published tallies and the survey's earlier years.
pub fn charts(survey: &Survey, tallies: &Tallies, trend: &[TrendFigure]) -> Vec<Chart> {
    let figures = tallies.figures(survey);
    let get = |group: &str, q: &str, row: &str, col: &str, c: &str| {
        figures.iter().find(|f| f.group == group && f.question == q && f.row == row && f.column == col && f.code == c)
    };
    let folded = if tallies.folded.is_empty() {
        String::new()
    } else {
        format!(" Grupper och kategorier med färre än {} svarande ingår i övriga.", tallies.threshold)
    };
    let groups: Vec<&str> = tallies.sections.iter().map(|s| s.label.as_str()).filter(|l| !l.contains('/')).collect();
    // A question withheld in a cross-section (see `tally::code::WITHHELD`) has no bar there.
    let withheld = |group: &str, q: &str| get(group, q, "", "", code::WITHHELD).is_some();
    let group_label = |g: &str| match g {
        OVERALL => "Alla".to_string(),
        crate::tally::OTHERS => "Övriga".to_string(),
        g => survey.group_label(g).to_string(),
    };
    let mut out = Vec::new();

    if let Some(q) = survey.question("uttryck")
        && let Kind::Grid { rows, columns } = &q.kind
        && !withheld(OVERALL, "uttryck")
    {
        let base = get(OVERALL, "uttryck", &rows[0].code, "", code::ANY).map_or(0, |f| f.base);
        out.push(Chart {
            name: "uttryck_per_miljo",
            title: "Observerade uttryck per miljö".into(),
            axis: "Antal svarande som sett uttrycket".into(),
            note: format!("Bas: de {base} svarande som sett uttryck för våldsbejakande extremism.{folded}"),
            body: Body::Bars {
                categories: rows.iter().map(|r| r.label.clone()).collect(),
                series: columns
                    .iter()
                    .map(|c| {
                        let counts =
                            rows.iter().map(|r| get(OVERALL, "uttryck", &r.code, &c.code, "").map_or(0.0, |f| f.count));
                        (c.label.clone(), counts.collect())
                    })
                    .collect(),
                percent: false,
            },
        });
    }

    let shown_groups = |q: &str| -> Vec<&str> { groups.iter().copied().filter(|g| !withheld(g, q)).collect() };
    let share_per_group = |q: &str, c: &str| -> Vec<f64> {
        shown_groups(q).iter().map(|g| get(g, q, "", "", c).and_then(|f| f.share).unwrap_or(0.0) * 100.0).collect()
    };
    let bases = |q: &str, c: &str| -> String {
        let mut text = shown_groups(q)
            .iter()
            .map(|g| format!("{} n = {}", group_label(g), get(g, q, "", "", c).map_or(0, |f| f.base)))
            .collect::<Vec<_>>()
            .join(", ");
        if shown_groups(q).len() < groups.len() {
            text.push_str(". Frågan redovisas här bara för alla svarande tillsammans");
        }
        text
    };
    if !withheld(OVERALL, "observerat") {
        out.push(Chart {
            name: "observerat_per_grupp",
            title: "Andel som sett uttryck för våldsbejakande extremism".into(),
            axis: "Andel svarande (%)".into(),
            note: format!("Bas: {}.{folded}", bases("observerat", "ja")),
            body: Body::Bars {
                categories: shown_groups("observerat").iter().map(|g| group_label(g)).collect(),
                series: vec![("Ja".into(), share_per_group("observerat", "ja"))],
                percent: true,
            },
        });
    }

    if let Some(q) = survey.question("anhoriga_miljo")
        && let Kind::Multiple { options } = &q.kind
        && !withheld(OVERALL, "anhoriga_miljo")
    {
        let base = get(OVERALL, "anhoriga_miljo", "", "", code::ANSWERED).map_or(0, |f| f.base);
        out.push(Chart {
            name: "anhorigas_oro_per_miljo",
            title: "Anhörigas oro per miljö".into(),
            axis: "Antal svarande som haft kontakt".into(),
            note: format!("Bas: de {base} svarande som anhöriga har vänt sig till med oro.{folded}"),
            body: Body::Bars {
                categories: options.iter().map(|o| o.label.clone()).collect(),
                series: vec![(
                    "Svarande".into(),
                    options
                        .iter()
                        .map(|o| get(OVERALL, "anhoriga_miljo", "", "", &o.code).map_or(0.0, |f| f.count))
                        .collect(),
                )],
                percent: false,
            },
        });
    }

    if let Some(q) = survey.question("vet_vart_vanda")
        && let Kind::Single { options } = &q.kind
    {
        out.push(Chart {
            name: "kunskap_om_rutiner",
            title: "Vet vart man ska vända sig vid extremistiska budskap".into(),
            axis: "Andel svarande (%)".into(),
            note: format!("Bas: {}.{folded}", bases("vet_vart_vanda", &options[0].code)),
            body: Body::Bars {
                categories: shown_groups("vet_vart_vanda").iter().map(|g| group_label(g)).collect(),
                series: options
                    .iter()
                    .map(|o| (label(options, &o.code).to_string(), share_per_group("vet_vart_vanda", &o.code)))
                    .collect(),
                percent: true,
            },
        });
    }

    out.push(Chart {
        name: "svarsfrekvens_per_grupp",
        title: "Svarsfrekvens".into(),
        axis: "Andel av de inbjudna som svarat (%)".into(),
        note: format!(
            "Inbjudna: {}.{folded}",
            groups
                .iter()
                .map(|g| format!(
                    "{} {}",
                    group_label(g),
                    get(g, RESPONSE_RATE, "", "", code::INVITED).map_or(0.0, |f| f.count)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        body: Body::Bars {
            categories: groups.iter().map(|g| group_label(g)).collect(),
            series: vec![("Svarat".into(), share_per_group(RESPONSE_RATE, code::RESPONDENTS))],
            percent: true,
        },
    });

    let line = |name: &str, q: &str, c: &str| -> (String, Vec<(i64, f64)>) {
        let points = trend
            .iter()
            .filter(|t| {
                t.figure.group == OVERALL && t.figure.question == q && t.figure.row.is_empty() && t.figure.code == c
            })
            .filter_map(|t| Some((t.figure.year, t.figure.share? * 100.0)))
            .collect();
        (name.to_string(), points)
    };
    let years: std::collections::BTreeSet<i64> = trend.iter().map(|t| t.figure.year).collect();
    out.push(Chart {
        name: "utveckling_over_tid",
        title: "Utvecklingen över tid".into(),
        axis: "Andel (%)".into(),
        note: format!("År: {}. Alla svarande.", years.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
        body: Body::Trend {
            series: vec![
                line("Sett uttryck för våldsbejakande extremism", "observerat", "ja"),
                line("Vet vart man ska vända sig", "vet_vart_vanda", "ja"),
                line("Svarsfrekvens", RESPONSE_RATE, code::RESPONDENTS),
            ],
        },
    });
    out
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn number(v: f64, percent: bool) -> String {
    if percent { format!("{:.0} %", v) } else { format!("{}", v.round() as i64) }
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, chart: &Chart, width: u32) -> DrawResult
where
    DB::ErrorType: 'static,
{
    register_font();
    root.fill(&WHITE)?;
    let (_, height) = size(chart, width);
    // The title on top and the note (the base) at the bottom, each wrapped to the width.
    let title = wrap(&chart.title, width, TITLE_PX);
    let note = wrap(&note(chart), width, NOTE_PX);
    let (head, rest) = root.split_vertically(LINE * title.len() as u32 + 20);
    let (main, footer) = rest.split_vertically(height - LINE * (title.len() + note.len()) as u32 - 40);
    for (i, line) in title.iter().enumerate() {
        let font = ("sans-serif", TITLE_PX).into_font().style(FontStyle::Bold).color(&BLACK);
        head.draw(&Text::new(line.clone(), (30, 16 + LINE as i32 * i as i32), font))?;
    }
    for (i, line) in note.iter().enumerate() {
        footer.draw(&Text::new(
            line.clone(),
            (30, 10 + LINE as i32 * i as i32),
            ("sans-serif", NOTE_PX).into_font().color(&BLACK),
        ))?;
    }
    match &chart.body {
        Body::Bars { categories, series, percent } => {
            let max = series.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0, f64::max);
            // Room right of the longest bar for its number.
            let x_max = if *percent { 112.0 } else { (max * 1.15).max(1.0).ceil() };
            let band = LABEL + BAR * series.len() as f64 + GAP;
            let bands = band * categories.len() as f64;
            let mut c = ChartBuilder::on(&main)
                .margin(25)
                .x_label_area_size(70)
                .y_label_area_size(10)
                .build_cartesian_2d(0.0..x_max, 0.0..bands)?;
            // Counts get whole-number ticks only, never "0 1 1 2 2".
            let ticks = if *percent { 6 } else { (x_max as usize + 1).min(11) };
            c.configure_mesh()
                .light_line_style(TRANSPARENT)
                .disable_y_mesh()
                .disable_y_axis()
                .x_labels(ticks)
                .x_desc(&chart.axis)
                .x_label_style(("sans-serif", 24))
                .axis_desc_style(("sans-serif", 26))
                .x_label_formatter(&|v| {
                    let beyond = if *percent { *v > 100.0 } else { v.fract().abs() > 1e-9 };
                    if beyond { String::new() } else { number(*v, *percent) }
                })
                .draw()?;
            // Each category is a band: its label on top, then one bar per series.
            let bar = BAR;
            for (i, name) in categories.iter().enumerate() {
                let top = bands - band * i as f64;
                c.draw_series(std::iter::once(Text::new(
                    name.clone(),
                    (x_max * 0.005, top - 4.0),
                    TextStyle::from(("sans-serif", 24).into_font()).pos(Pos::new(HPos::Left, VPos::Top)),
                )))?;
                for (k, (_, values)) in series.iter().enumerate() {
                    let y0 = top - LABEL - bar * k as f64;
                    let v = values.get(i).copied().unwrap_or(0.0);
                    let color = PALETTE[k % PALETTE.len()];
                    c.draw_series(std::iter::once(Rectangle::new([(0.0, y0 - bar * 0.9), (v, y0)], color.filled())))?;
                    c.draw_series(std::iter::once(Text::new(
                        number(v, *percent),
                        (v + x_max * 0.006, y0 - bar * 0.45),
                        TextStyle::from(("sans-serif", 22).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
                    )))?;
                }
            }
        }
        Body::Trend { series } => {
            let years: Vec<i64> = series.iter().flat_map(|(_, p)| p.iter().map(|(y, _)| *y)).collect();
            let (first, last) =
                (years.iter().min().copied().unwrap_or(2020), years.iter().max().copied().unwrap_or(2020));
            let mut c = ChartBuilder::on(&main)
                .margin(25)
                .x_label_area_size(60)
                .y_label_area_size(90)
                // Headroom above 100 % for the value printed over each point.
                .build_cartesian_2d((first - 1)..(last + 1), 0.0..112.0)?;
            c.configure_mesh()
                .light_line_style(TRANSPARENT)
                .y_desc(&chart.axis)
                .x_labels((last - first + 3) as usize)
                .x_label_formatter(&|y| if *y < first || *y > last { String::new() } else { y.to_string() })
                .label_style(("sans-serif", 24))
                .axis_desc_style(("sans-serif", 26))
                .y_label_formatter(&|v| if *v > 100.0 { String::new() } else { number(*v, true) })
                .draw()?;
            for (k, (_, points)) in series.iter().enumerate() {
                let color = PALETTE[k % PALETTE.len()];
                c.draw_series(LineSeries::new(points.clone(), color.stroke_width(4)))?;
                // Each line has a marker of its own shape (named under the chart), so lines are
                // told apart without colour.
                let at = |p: (i64, f64)| EmptyElement::at(p);
                match k % 4 {
                    0 => c.draw_series(points.iter().map(|&p| at(p) + Circle::new((0, 0), 8, color.filled())))?,
                    1 => c.draw_series(
                        points.iter().map(|&p| at(p) + Rectangle::new([(-8, -8), (8, 8)], color.filled())),
                    )?,
                    2 => c.draw_series(
                        points.iter().map(|&p| at(p) + Polygon::new(vec![(0, -9), (9, 8), (-9, 8)], color.filled())),
                    )?,
                    _ => c.draw_series(points.iter().map(|&p| at(p) + Cross::new((0, 0), 8, color.stroke_width(3))))?,
                };
                c.draw_series(points.iter().map(|&(x, y)| {
                    Text::new(
                        number(y, true),
                        (x, y + 3.0),
                        TextStyle::from(("sans-serif", 22).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom)),
                    )
                }))?;
            }
        }
    }
    root.present()?;
    Ok(())
}

/// The chart as a PNG file's bytes.
pub fn png(chart: &Chart) -> anyhow::Result<Vec<u8>> {
    let (width, height) = size(chart, WIDTH);
    let mut rgb = vec![0u8; (width * height * 3) as usize];
    draw(BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area(), chart, width)
        .map_err(|e| anyhow::anyhow!("drawing {}: {e}", chart.name))?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&rgb)?;
    Ok(out)
}

/// The chart as an SVG document `width` pixels wide (WIDTH for print, SCREEN_WIDTH for the pages).
pub fn svg(chart: &Chart, width: u32) -> anyhow::Result<String> {
    let mut out = String::new();
    draw(SVGBackend::with_string(&mut out, size(chart, width)).into_drawing_area(), chart, width)
        .map_err(|e| anyhow::anyhow!("drawing {}: {e}", chart.name))?;
    Ok(out)
}
#[cfg(test)]
mod tests {
    use super::*;

    fn counts() -> Chart {
        Chart {
            name: "uttryck",
            title: "Observerade uttryck per miljö".into(),
            axis: "Antal svarande".into(),
            note: "Bas: de 12 svarande som sett uttryck för våldsbejakande extremism. Grupper och kategorier med färre än 5 svarande ingår i övriga, och den här meningen är lång nog att brytas inuti bilden.".into(),
            body: Body::Bars {
                categories: vec!["Vit makt-miljö".into(), "Vet ej".into()],
                series: vec![("Klotter".into(), vec![1.0, 3.0]), ("Flygblad".into(), vec![4.0, 0.0])],
                percent: false,
            },
        }
    }

    /// The texts an SVG draws, in order.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                t.split_once('>').map(|(_, rest)| rest.split("</text>").next().unwrap_or("").trim().to_string())
            })
            .collect()
    }

    #[test]
    fn counts_have_whole_number_ticks_each_once() {
        let texts = texts(&svg(&counts(), SCREEN_WIDTH).unwrap());
        // The axis's labels come after its title and before the first category.
        let from = texts.iter().position(|t| t == "Antal svarande").unwrap() + 1;
        let to = texts.iter().position(|t| t == "Vit makt-miljö").unwrap();
        assert_eq!(texts[from..to], ["0", "1", "2", "3", "4", "5"], "{texts:?}");
    }

    #[test]
    fn series_are_named_in_order_under_the_chart_and_the_note_wraps_inside_the_image() {
        let chart = counts();
        let texts = texts(&svg(&chart, SCREEN_WIDTH).unwrap());
        let lines = wrap(&note(&chart), SCREEN_WIDTH, NOTE_PX);
        assert!(lines.join(" ").ends_with("Staplarna i varje grupp, uppifrån: Klotter, Flygblad."), "{lines:?}");
        assert!(lines.len() >= 3, "{lines:?}");
        for line in &lines {
            assert!(texts.contains(line), "each line of the note is drawn: {line}");
            // DejaVu Sans at 24 px: under 0.6 em per character on average.
            assert!(line.chars().count() as f64 * NOTE_PX as f64 * 0.6 <= (SCREEN_WIDTH - 30) as f64, "{line}");
        }
        assert_eq!(lines.join(" "), note(&chart), "nothing is lost to the wrap");
    }

    #[test]
    fn the_alt_text_states_the_largest_figure_and_the_table_holds_them_all() {
        let chart = counts();
        assert_eq!(chart.finding(), "Observerade uttryck per miljö: störst är Flygblad bland Vit makt-miljö, 4.");
        let (head, rows) = chart.table();
        assert_eq!(head, ["", "Klotter", "Flygblad"]);
        assert_eq!(rows, [vec!["Vit makt-miljö", "1", "4"], vec!["Vet ej", "3", "0"]]);
    }
}
