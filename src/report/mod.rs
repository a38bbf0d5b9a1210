//! The draft of the "Lokal lägesbild" section: the round's figures, the year's incident
//! reports and the other sources put into Swedish text by one handlebars template the
//! coordinator edits (`templates/report/lokal_lagesbild.md.hbs`). That Markdown is the report;
//! the HTML file (charts embedded, framed by `lokal_lagesbild.html.hbs`) and the Word
//! document (`docx.rs`) are made from it, so the wording lives in one place. Only published
//! (disclosure-controlled) figures reach the text; free-text answers and the incident
//! reports' descriptions never do. The sources are published as their organisations wrote them.

pub mod docx;

use crate::analysis::TrendFigure;
use crate::chart::Chart;
use crate::survey::{Kind, Survey};
use crate::tally::{OTHERS, OVERALL, RESPONSE_RATE, Tallies, code};
use anyhow::Context;
use base64::Engine;
use handlebars::{Handlebars, handlebars_helper};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Html,
    Docx,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Docx => "docx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
            Format::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        }
    }
}

/// Numbers as words for small counts, as Swedish prose writes them.
fn in_words(n: i64) -> String {
    const WORDS: [&str; 13] =
        ["ingen", "en", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio", "tio", "elva", "tolv"];
    usize::try_from(n).ok().and_then(|i| WORDS.get(i)).map_or(n.to_string(), |w| w.to_string())
}

fn percent(v: &Value) -> String {
    v.as_f64().map_or("–".into(), |s| format!("{:.0} %", s * 100.0))
}

// Wording helpers for the templates.
handlebars_helper!(procent: |v: Value| percent(&v));
// "alla" / "majoriteten" / "hälften" / "en minoritet" / "ingen" of the respondents, from a share.
handlebars_helper!(majoritet: |v: Value| match v.as_f64() {
    Some(s) if s >= 1.0 => "alla",
    Some(s) if s <= 0.0 => "ingen",
    Some(s) if s > 0.5 => "majoriteten",
    Some(0.5) => "hälften",
    Some(_) => "en minoritet",
    None => "–",
});
// The same for a number of cases: "ökat" / "minskat" / "varit oförändrat".
handlebars_helper!(forandring_antal: |v: Value| match v.as_f64() {
    Some(c) if c > 0.0 => "ökat",
    Some(c) if c < 0.0 => "minskat",
    Some(_) => "varit oförändrat",
    None => "–",
});
// "ökat" / "minskat" / "varit oförändrad" from a change in share; under half a percentage
// point counts as unchanged.
handlebars_helper!(forandring: |v: Value| match v.as_f64() {
    Some(c) if c >= 0.005 => "ökat",
    Some(c) if c <= -0.005 => "minskat",
    Some(_) => "varit oförändrad",
    None => "–",
});
// A count with its noun: "ingen orosanmälan", "en orosanmälan", "tre orosanmälningar".
handlebars_helper!(antal: |n: Value, one: str, many: str| {
    let n = n.as_f64().unwrap_or(0.0).round() as i64;
    format!("{} {}", in_words(n), if n == 1 || n == 0 { one } else { many })
});
// The same with a capital letter, to start a sentence.
handlebars_helper!(Antal: |n: Value, one: str, many: str| {
    let n = n.as_f64().unwrap_or(0.0).round() as i64;
    let text = format!("{} {}", in_words(n), if n == 1 || n == 0 { one } else { many });
    let mut c = text.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
});
// A whole number with a space between thousands, as Swedish text writes it: "20 000".
handlebars_helper!(tal: |v: Value| {
    let n = v.as_f64().unwrap_or(0.0).round() as i64;
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(d);
    }
    if n < 0 { format!("−{out}") } else { out }
});
// Percentage points, signed: "+4", "−3".
handlebars_helper!(procentenheter: |v: Value| v.as_f64().map_or("–".into(), |c| {
    let pp = (c * 100.0).round() as i64;
    if pp > 0 { format!("+{pp}") } else if pp < 0 { format!("−{}", -pp) } else { "0".into() }
}));

/// Text people wrote (a source's text, a round's title), made safe to put into the Markdown
/// as running text: on one line, with every character Markdown gives a meaning escaped, so
/// that it can neither start a heading, a list item or a table, nor link or embed anything,
/// and with the control characters a Word document cannot hold left out.
pub fn markdown_text(text: &str) -> String {
    let line: String =
        text.split_whitespace().collect::<Vec<_>>().join(" ").chars().filter(|c| !c.is_control()).collect();
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    let mut out = String::with_capacity(line.len() + 8);
    for (i, c) in line.chars().enumerate() {
        // Inline marks anywhere; what starts a block (a heading, a list, a quote) only first.
        let starts_block = (i == 0 && "#+->=".contains(c)) || (i == digits && digits > 0 && ".)".contains(c));
        if "\\`*_[]<>!&~|".contains(c) || starts_block {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The report's templates: the Markdown text (`report`) and the HTML file's frame (`frame`,
/// in a registry of its own that escapes for HTML).
pub fn registry(templates: &crate::shipped::Files) -> anyhow::Result<(Handlebars<'static>, Handlebars<'static>)> {
    let mut hbs = Handlebars::new();
    // Markdown is written unescaped: people's text comes in through `markdown_text`.
    hbs.register_escape_fn(handlebars::no_escape);
    for (name, helper) in [
        ("procent", Box::new(procent) as Box<dyn handlebars::HelperDef + Send + Sync>),
        ("majoritet", Box::new(majoritet)),
        ("forandring", Box::new(forandring)),
        ("forandring_antal", Box::new(forandring_antal)),
        ("antal", Box::new(antal)),
        ("Antal", Box::new(Antal)),
        ("procentenheter", Box::new(procentenheter)),
        ("tal", Box::new(tal)),
    ] {
        hbs.register_helper(name, helper);
    }
    let mut frame = Handlebars::new();
    frame.register_escape_fn(handlebars::html_escape);
    for (registry, as_name, name) in [
        (&mut hbs, "report", "report/lokal_lagesbild.md.hbs"),
        (&mut frame, "frame", "report/lokal_lagesbild.html.hbs"),
    ] {
        let (source, origin) = templates.get(name).with_context(|| format!("the report template {name} is missing"))?;
        registry.register_template_string(as_name, source).with_context(|| format!("template {origin}"))?;
    }
    Ok((hbs, frame))
}

/// Everything the template can say, computed from published figures only.
pub fn context(
    survey: &Survey,
    title: &str,
    tallies: &Tallies,
    trend: &[TrendFigure],
    charts: &[(Chart, Vec<u8>)],
) -> Value {
    let figures = tallies.figures(survey);
    let get = |group: &str, q: &str, row: &str, col: &str, c: &str| {
        figures.iter().find(|f| f.group == group && f.question == q && f.row == row && f.column == col && f.code == c)
    };
    let count = |q: &str, c: &str| get(OVERALL, q, "", "", c).map_or(0.0, |f| f.count);
    let share = |g: &str, q: &str, c: &str| get(g, q, "", "", c).and_then(|f| f.share);
    let group_label = |g: &str| match g {
        OVERALL => "alla".to_string(),
        OTHERS => "övriga".to_string(),
        g => survey.group_label(g).to_lowercase(),
    };
    let groups: Vec<Value> = tallies
        .sections
        .iter()
        .filter(|s| s.label != OVERALL && !s.label.contains('/'))
        .map(|s| {
            json!({
                "label": group_label(&s.label),
                "invited": s.invited,
                "respondents": s.count.respondents,
                "rate": share(&s.label, RESPONSE_RATE, code::RESPONDENTS),
                "observed": share(&s.label, "observerat", "ja"),
            })
        })
        .collect();

    // The kinds of expression most often seen, with the environments they came from.
    let mut kinds: Vec<Value> = Vec::new();
    if let Some(Kind::Grid { rows, columns }) = survey.question("uttryck").map(|q| &q.kind) {
        let mut ranked: Vec<(f64, &crate::survey::Choice)> = rows
            .iter()
            .map(|r| (get(OVERALL, "uttryck", &r.code, "", code::ANY).map_or(0.0, |f| f.count), r))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (n, r) in ranked.into_iter().filter(|(n, _)| *n > 0.0).take(3) {
            let mut envs: Vec<(f64, &str)> = columns
                .iter()
                .map(|c| (get(OVERALL, "uttryck", &r.code, &c.code, "").map_or(0.0, |f| f.count), c.label.as_str()))
                .filter(|(n, _)| *n > 0.0)
                .collect();
            envs.sort_by(|a, b| b.0.total_cmp(&a.0));
            kinds.push(json!({
                "label": r.label.to_lowercase(),
                "count": n,
                "environments": envs.iter().map(|(n, l)| json!({ "label": l.to_lowercase(), "count": n })).collect::<Vec<_>>(),
            }));
        }
    }
    let relatives_environments: Vec<Value> = match survey.question("anhoriga_miljo").map(|q| &q.kind) {
        Some(Kind::Multiple { options }) => options
            .iter()
            .map(|o| json!({ "label": o.label.to_lowercase(), "count": count("anhoriga_miljo", &o.code) }))
            .filter(|v| v["count"].as_f64() > Some(0.0))
            .collect(),
        _ => Vec::new(),
    };
    // Main figures compared with the latest earlier year that has them.
    let compare = |name: &str, q: &str, c: &str| -> Option<Value> {
        let t = trend.iter().rev().find(|t| {
            t.figure.year == tallies.year
                && t.figure.group == OVERALL
                && t.figure.question == q
                && t.figure.code == c
                && t.figure.row.is_empty()
        })?;
        Some(json!({
            "name": name,
            "year": tallies.year,
            "share": t.figure.share,
            "previous_year": t.previous_year?,
            "previous_share": t.figure.share.zip(t.change_share).map(|(s, c)| s - c),
            "change": t.change_share?,
        }))
    };
    let comparisons: Vec<Value> = [
        compare("andelen som sett uttryck för våldsbejakande extremism", "observerat", "ja"),
        compare("andelen som vet vart de ska vända sig", "vet_vart_vanda", "ja"),
        compare("andelen som anhöriga har vänt sig till med oro", "anhoriga", "ja"),
        compare("svarsfrekvensen", RESPONSE_RATE, code::RESPONDENTS),
    ]
    .into_iter()
    .flatten()
    .collect();
    let everyone = tallies.section(OVERALL);
    let folded: Vec<String> = tallies.folded.iter().filter(|f| !f.contains('/')).map(|g| group_label(g)).collect();
    let folded_groups = crate::text::list_in_swedish(&folded);
    json!({
        "title": markdown_text(title),
        "year": tallies.year,
        "too_few": tallies.too_few,
        "threshold": tallies.threshold,
        "folded": !tallies.folded.is_empty(),
        // The groups behind "övriga", so that a reader knows what the share is of.
        "folded_groups": folded_groups,
        "reach": {
            "invited": everyone.map_or(0, |s| s.invited),
            "respondents": everyone.map_or(0, |s| s.count.respondents),
            "rate": share(OVERALL, RESPONSE_RATE, code::RESPONDENTS),
            "groups": groups,
        },
        "observed": {
            "count": count("observerat", "ja"),
            "share": share(OVERALL, "observerat", "ja"),
            // Each share as the tallies publish it: "vet ej" is not counted as "not seen".
            "not_seen_share": share(OVERALL, "observerat", "nej"),
            "dont_know_share": share(OVERALL, "observerat", "vet_ej").filter(|s| *s > 0.0),
            "known": share(OVERALL, "observerat", "ja").is_some(),
        },
        "kinds": kinds,
        "relatives": {
            // Withheld (a small round, see `tally::disclosure::breakdowns`): said so, not "none".
            "known": get(OVERALL, "anhoriga", "", "", "ja").is_some(),
            "count": count("anhoriga", "ja"),
            "contacts": get(OVERALL, "anhoriga_antal", "", "", code::SUM).map_or(0.0, |f| f.count),
            "environments": relatives_environments,
        },
        "defectors": count("avhoppare", "ja"),
        "defectors_known": get(OVERALL, "avhoppare", "", "", "ja").is_some(),
        // A sum is published only from enough values; absent, the report says so instead of "none".
        "concern_reports": get(OVERALL, "orosanmalningar", "", "", code::SUM).map(|f| f.count),
        "ia_reports": get(OVERALL, "ia_rapporter", "", "", code::SUM).map(|f| f.count),
        "reports_published": get(OVERALL, "orosanmalningar", "", "", code::SUM).is_some()
            && get(OVERALL, "ia_rapporter", "", "", code::SUM).is_some(),
        "routines": {
            "ja": share(OVERALL, "vet_vart_vanda", "ja"),
            "delvis": share(OVERALL, "vet_vart_vanda", "delvis"),
            "nej": share(OVERALL, "vet_vart_vanda", "nej"),
        },
        "training": share(OVERALL, "webbutbildning", "ja"),
        // Each share's own base, said beside it.
        "training_base": get(OVERALL, "webbutbildning", "", "", "ja").map_or(0, |f| f.base),
        "observed_base": get(OVERALL, "observerat", "", "", "ja").map_or(0, |f| f.base),
        "routines_base": get(OVERALL, "vet_vart_vanda", "", "", "ja").map_or(0, |f| f.base),
        "election": share(OVERALL, "valrorelse", "ja"),
        "change_reported": {
            "okat": share(OVERALL, "forandring", "okat"),
            "minskat": share(OVERALL, "forandring", "minskat"),
        },
        "comparisons": comparisons,
        "charts": charts.iter().map(|(c, png)| json!({
            "name": c.name,
            "title": c.title,
            "alt": c.finding(),
            "file": format!("{}.png", c.name),
            "data_uri": format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png)),
        })).collect::<Vec<_>>(),
    })
}

/// The report in `format`: the template's Markdown, or made from it.
/// The year's incident reports as the report sees them.
pub struct Incidents<'a> {
    pub counts: &'a crate::incident::Counts,
    /// Reports of the months marked and left out.
    pub excluded: u64,
    /// Reports of the months with a milieu the questionnaire's grid lacks: in no count.
    pub left_out: u64,
    pub from: crate::incident::Month,
    pub to: crate::incident::Month,
}

/// Adds to the round's context what the lägesbild brings together beside the
/// questionnaire: the year's incident reports (counted, never quoted), the other sources as
/// written, the milieus seen at all, what each group saw, and the comparison with earlier
/// years across all of them.
#[allow(clippy::too_many_arguments)]
pub fn add_lagesbild(
    context: &mut Value,
    survey: &Survey,
    tallies: &Tallies,
    figures: &[crate::tally::Figure],
    trend: &[TrendFigure],
    incidents: Option<Incidents>,
    sources: &[crate::sources::Entry],
    previous_sources: &[crate::sources::Entry],
) {
    use crate::incident::{REPORTS, Shown, TALLY_QUESTION};
    use crate::sources::SourceKind;
    let get = |group: &str, q: &str, row: &str, col: &str, c: &str| {
        figures.iter().find(|f| f.group == group && f.question == q && f.row == row && f.column == col && f.code == c)
    };
    let (rows, columns) = match survey.question("uttryck").map(|q| &q.kind) {
        Some(Kind::Grid { rows, columns }) => (rows.clone(), columns.clone()),
        _ => (Vec::new(), Vec::new()),
    };
    let label_of = |list: &[crate::survey::Choice], code: &str| {
        list.iter().find(|c| c.code == code).map_or(code.to_string(), |c| c.label.clone())
    };
    let shown = |s: Shown| match s {
        Shown::Count(n) => n.to_string(),
        Shown::Withheld => "ej redovisat".to_string(),
    };

    // Every milieu (but "don't know") seen in the questionnaire, the reports or a source.
    let named: Vec<&crate::survey::Choice> = columns.iter().filter(|c| c.code != "okand").collect();
    let seen = |m: &str| {
        !tallies.too_few && rows.iter().any(|r| get(OVERALL, "uttryck", &r.code, m, "").is_some_and(|f| f.count > 0.0))
            || incidents.as_ref().is_some_and(|i| i.counts.milieus.iter().any(|(c, s)| c == m && *s != Shown::Count(0)))
            || sources.iter().any(|e| e.counts.iter().any(|(_, c, n)| c == m && *n > 0))
    };
    context["all_milieus"] = json!(!named.is_empty() && named.iter().all(|c| seen(&c.code)));

    // What each group saw most, and whether relatives came to them.
    let mut group_findings = Vec::new();
    if !tallies.too_few {
        for section in
            tallies.sections.iter().filter(|s| s.label != OVERALL && s.label != OTHERS && !s.label.contains('/'))
        {
            let g = section.label.as_str();
            let relatives = get(g, "anhoriga", "", "", "ja").map(|f| f.count).filter(|n| *n > 0.0);
            let relatives_environments: Vec<String> = match survey.question("anhoriga_miljo").map(|q| &q.kind) {
                Some(Kind::Multiple { options }) => options
                    .iter()
                    .filter(|o| get(g, "anhoriga_miljo", "", "", &o.code).is_some_and(|f| f.count > 0.0))
                    .map(|o| o.label.to_lowercase())
                    .collect(),
                _ => Vec::new(),
            };
            let mut ranked: Vec<(f64, String)> = rows
                .iter()
                .filter_map(|r| get(g, "uttryck", &r.code, "", code::ANY).map(|f| (f.count, r.label.to_lowercase())))
                .filter(|(n, _)| *n > 0.0)
                .collect();
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
            let top = ranked.first().map_or(0.0, |t| t.0);
            let most: Vec<String> = ranked.iter().filter(|(n, _)| *n == top).map(|(_, l)| l.clone()).collect();
            let fewer: Vec<String> = ranked.iter().filter(|(n, _)| *n < top).map(|(_, l)| l.clone()).collect();
            if relatives.is_none() && most.is_empty() {
                continue;
            }
            group_findings.push(json!({
                "label": survey.group_label(g).to_lowercase(),
                "relatives": relatives,
                "relatives_environments": crate::text::list_in_swedish(&relatives_environments),
                "most": crate::text::list_in_swedish(&most),
                "fewer": crate::text::list_in_swedish(&fewer),
            }));
        }
    }
    context["group_findings"] = json!(group_findings);

    // The incident reports: counted, never quoted.
    if let Some(i) = &incidents {
        let mut kinds: Vec<(u64, Shown, String)> = i
            .counts
            .kinds
            .iter()
            .filter(|(_, s, _)| *s != Shown::Count(0))
            .map(|(k, s, _)| (s.count().unwrap_or(0), *s, label_of(&rows, k).to_lowercase()))
            .collect();
        // Largest first; withheld ones last.
        kinds.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.withheld().cmp(&b.1.withheld())).then(a.2.cmp(&b.2)));
        let table: Vec<Value> = i
            .counts
            .kinds
            .iter()
            .filter(|(_, s, _)| *s != Shown::Count(0))
            .map(|(k, whole, cells)| {
                let mut c: Vec<String> = cells.iter().map(|(_, s)| shown(*s)).collect();
                c.push(shown(*whole));
                json!({ "label": label_of(&rows, k), "cells": c })
            })
            .collect();
        context["incidents"] = json!({
            "period": crate::incident::swedish_period(i.from, i.to),
            "total": i.counts.total.count(),
            "withheld": i.counts.total.withheld(),
            "left_out": i.left_out,
            "any_withheld": i.counts.kinds.iter().any(|(_, s, cells)| s.withheld() || cells.iter().any(|c| c.1.withheld())),
            "excluded": i.excluded,
            "kinds": kinds.iter().map(|(n, s, label)| json!({ "label": label, "count": n, "shown": shown(*s) })).collect::<Vec<_>>(),
            "head": columns.iter().map(|c| c.label.clone()).collect::<Vec<_>>(),
            "table": table,
        });
    }

    // The sources, published as written, in the order the report lists them.
    let of = |kind: SourceKind| -> Vec<Value> {
        sources
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| json!({ "name": markdown_text(&e.name), "text": markdown_text(&e.text) }))
            .collect()
    };
    let quiet = |e: &crate::sources::Entry| e.total == Some(0) && e.counts.iter().all(|(_, _, n)| *n == 0);
    let administrations: Vec<&crate::sources::Entry> =
        sources.iter().filter(|e| e.kind == SourceKind::Administration).collect();
    let quiet_names: Vec<String> =
        administrations.iter().filter(|e| quiet(e)).map(|e| markdown_text(&e.name.to_lowercase())).collect();
    let reporting: Vec<Value> = administrations
        .iter()
        .filter(|e| !quiet(e))
        .map(|e| json!({ "name": markdown_text(&e.name), "text": markdown_text(&e.text) }))
        .collect();
    context["sources"] = json!({
        "police": of(SourceKind::Police),
        "ia": of(SourceKind::IncidentSystem),
        "concern": of(SourceKind::ConcernReports),
        "leaving": of(SourceKind::LeavingMilieu),
        "relatives": of(SourceKind::Relatives),
        "media": of(SourceKind::MediaMonitoring),
        "other": of(SourceKind::Other),
        "administrations": !administrations.is_empty(),
        "administrations_quiet": crate::text::list_in_swedish(&quiet_names),
        "administrations_reporting": reporting,
        "list": sources.iter().map(|e| json!({
            "name": markdown_text(&e.name),
            "kind": e.kind.label(),
            "named": e.kind.needs_name(),
            "period": crate::incident::swedish_period(e.from, e.to),
            "covers": markdown_text(&e.covers()),
        })).collect::<Vec<_>>(),
    });

    // Earlier years: the share who saw each kind, the reports per kind, each source's total.
    let mut changes: Vec<Value> = Vec::new();
    for r in &rows {
        if let Some(t) = trend.iter().rev().find(|t| {
            t.figure.year == tallies.year
                && t.figure.group == OVERALL
                && t.figure.question == "uttryck"
                && t.figure.row == r.code
                && t.figure.column.is_empty()
                && t.figure.code == code::ANY
        }) && let (Some(previous_year), Some(change), Some(share)) =
            (t.previous_year, t.change_share, t.figure.share)
        {
            changes.push(json!({
                "kind": "share", "name": format!("andelen som sett {}", r.label.to_lowercase()),
                "previous_year": previous_year, "share": share, "previous_share": share - change, "change": change,
            }));
        }
    }
    for r in &rows {
        if let Some(t) = trend.iter().rev().find(|t| {
            t.figure.year == tallies.year
                && t.figure.question == TALLY_QUESTION
                && t.figure.row == r.code
                && t.figure.column.is_empty()
                && t.figure.code == REPORTS
        }) && let (Some(previous_year), Some(change)) = (t.previous_year, t.change_count)
            && (t.figure.count > 0.0 || change != 0.0)
        {
            changes.push(json!({
                "kind": "reports", "name": format!("antalet incidentrapporter om {}", r.label.to_lowercase()),
                "previous_year": previous_year, "count": t.figure.count, "previous": t.figure.count - change, "change": change,
            }));
        }
    }
    for e in sources {
        let before = previous_sources.iter().find(|p| p.kind == e.kind && p.name == e.name);
        if let (Some(now), Some(p)) = (e.total, before)
            && let Some(then) = p.total
        {
            changes.push(json!({
                "kind": "source", "name": format!("antalet ärenden hos {}", markdown_text(&if e.kind.needs_name() { e.name.to_lowercase() } else { e.kind.label().to_lowercase() })),
                "previous_year": p.year, "count": now, "previous": then, "change": now - then,
            }));
        }
    }
    context["changes"] = json!(changes);
}

pub fn render(
    (hbs, frame_hbs): &(Handlebars<'static>, Handlebars<'static>),
    context: &Value,
    charts: &[(Chart, Vec<u8>)],
    format: Format,
) -> anyhow::Result<Vec<u8>> {
    let markdown = hbs.render("report", context).context("rendering the report")?;
    match format {
        Format::Markdown => Ok(markdown.into_bytes()),
        Format::Html => {
            let body = html_of(&markdown, charts);
            let mut frame = context.clone();
            frame["body"] = json!(body);
            Ok(frame_hbs.render("frame", &frame).context("rendering the report's HTML frame")?.into_bytes())
        }
        Format::Docx => {
            let images: Vec<docx::Image> =
                charts.iter().map(|(c, png)| docx::Image { file: format!("{}.png", c.name), png }).collect();
            docx::write(&format!("Lokal lägesbild {}", context["year"]), &markdown, &images)
        }
    }
}

/// The Markdown as HTML, each chart's image embedded as a data URI. Raw HTML in the
/// Markdown (a district's template) is shown as text, never run; a link keeps only its text,
/// and an image that is not one of the charts only its alt text: the file reaches nothing.
fn html_of(markdown: &str, charts: &[(Chart, Vec<u8>)]) -> String {
    use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
    let mut foreign_image = false;
    let events = Parser::new_ext(markdown, Options::ENABLE_TABLES).filter_map(|e| match e {
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            match charts.iter().find(|(c, _)| format!("{}.png", c.name) == dest_url.as_ref()) {
                Some((_, png)) => {
                    let data =
                        format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png));
                    Some(Event::Start(Tag::Image { link_type, dest_url: CowStr::from(data), title, id }))
                }
                None => {
                    foreign_image = true;
                    None
                }
            }
        }
        Event::End(TagEnd::Image) if foreign_image => {
            foreign_image = false;
            None
        }
        Event::Start(Tag::Link { .. }) | Event::End(TagEnd::Link) => None,
        Event::Html(h) | Event::InlineHtml(h) => Some(Event::Text(h)),
        e => Some(e),
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hbs() -> Handlebars<'static> {
        registry(&crate::shipped::Files::templates(None).unwrap()).unwrap().0
    }

    fn say(template: &str, data: Value) -> String {
        let mut h = hbs();
        h.register_template_string("t", template).unwrap();
        h.render("t", &data).unwrap()
    }

    #[test]
    fn peoples_text_stays_running_text_in_the_report() {
        assert_eq!(markdown_text("Tre ärenden, en gällande hot."), "Tre ärenden, en gällande hot.");
        assert_eq!(markdown_text("# Slutsats\n- x"), "\\# Slutsats - x");
        assert_eq!(markdown_text("1. punkt"), "1\\. punkt");
        assert_eq!(
            markdown_text("[klicka](javascript:alert(1)) ![x](y.png) <b>"),
            "\\[klicka\\](javascript:alert(1)) \\!\\[x\\](y.png) \\<b\\>"
        );
        assert_eq!(markdown_text("a | b *c* `d`\u{b}"), "a \\| b \\*c\\* \\`d\\`");
        // Rendered, it reads as written: no heading, list, link or image.
        let html = html_of(&format!("- {}", markdown_text("# Rubrik\n[länk](http://x) ![b](c.png)")), &[]);
        assert_eq!(html, "<ul>\n<li># Rubrik [länk](http://x) ![b](c.png)</li>\n</ul>\n");
    }

    #[test]
    fn a_templates_own_link_or_foreign_image_reaches_nothing() {
        let html = html_of("Se [här](javascript:alert(1)) och ![bild](https://example.com/x.png).", &[]);
        assert_eq!(html, "<p>Se här och bild.</p>\n");
    }

    #[test]
    fn wording_follows_the_figures() {
        assert_eq!(say("{{majoritet s}}", json!({"s": 0.8})), "majoriteten");
        assert_eq!(say("{{majoritet s}}", json!({"s": 0.2})), "en minoritet");
        assert_eq!(say("{{majoritet s}}", json!({"s": 0.0})), "ingen");
        assert_eq!(say("{{majoritet s}}", json!({"s": 1.0})), "alla");
        assert_eq!(say("{{forandring c}}", json!({"c": 0.07})), "ökat");
        assert_eq!(say("{{forandring c}}", json!({"c": -0.07})), "minskat");
        assert_eq!(say("{{forandring c}}", json!({"c": 0.001})), "varit oförändrad");
        assert_eq!(say("{{antal n \"anmälan\" \"anmälningar\"}}", json!({"n": 0})), "ingen anmälan");
        assert_eq!(say("{{antal n \"anmälan\" \"anmälningar\"}}", json!({"n": 1})), "en anmälan");
        assert_eq!(say("{{Antal n \"anmälan\" \"anmälningar\"}}", json!({"n": 3})), "Tre anmälningar");
        assert_eq!(say("{{antal n \"anmälan\" \"anmälningar\"}}", json!({"n": 40})), "40 anmälningar");
        assert_eq!(say("{{procent s}}", json!({"s": 0.4286})), "43 %");
        assert_eq!(say("{{procentenheter c}}", json!({"c": -0.031})), "−3");
        assert_eq!(say("{{tal n}}", json!({"n": 20000})), "20\u{a0}000");
        assert_eq!(say("{{tal n}}", json!({"n": 999})), "999");
    }

    /// Six units, all of whom relatives came to: the round is too small for sensitive
    /// questions, and the report says so rather than "none".
    #[test]
    fn a_withheld_question_is_said_to_be_withheld_not_to_be_none() {
        use crate::survey::{RawAnswers, RosterAttributes, parse};
        let survey = parse(include_str!("../../surveys/lagesbild.toml")).unwrap();
        let mut counter = crate::tally::Counter::default();
        for _ in 0..6 {
            let roster = RosterAttributes { group: "intern".into(), category: "skola".into() };
            let mut raw = RawAnswers::new();
            for (k, v) in [
                ("observerat", "nej"),
                ("anhoriga", "ja"),
                ("anhoriga_antal", "2"),
                ("anhoriga_miljo", "autonoma"),
                ("avhoppare", "ja"),
                ("vet_vart_vanda", "ja"),
                ("webbutbildning", "ja"),
            ] {
                raw.entry(k.to_string()).or_default().push(v.to_string());
            }
            counter.add(&survey, &roster, &survey.validate(&roster, &raw).unwrap());
        }
        let tallies = counter.publish(2027, 5, &Default::default());
        let templates = crate::shipped::Files::templates(None).unwrap();
        let bytes = render(
            &registry(&templates).unwrap(),
            &context(&survey, "Prov", &tallies, &[], &[]),
            &[],
            Format::Markdown,
        )
        .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("Om anhörigas oro redovisas inget"), "{text}");
        assert!(text.contains("Om frågor om hjälp att lämna en miljö redovisas inget"), "{text}");
        assert!(text.contains("Om iakttagelser redovisas inget"), "{text}");
        assert!(!text.contains("Ingen svarande") && !text.contains("ingen svarande"), "{text}");
        assert!(text.contains("100 % av de 6 svarande vet vart"), "{text}");
    }
}
