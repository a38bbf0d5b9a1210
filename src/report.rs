//! The draft of the "Lokal lägesbild" section: the round's figures put into Swedish text by
//! a handlebars template the coordinator edits (`templates/report/`), as Markdown or as one
//! self-contained HTML file with the charts embedded. Only published (disclosure-controlled)
//! figures reach the text; free-text answers never do.

use crate::analysis::TrendFigure;
use crate::chart::Chart;
use crate::survey::{Kind, Survey};
use crate::tally::{OTHERS, OVERALL, RESPONSE_RATE, Tallies, code};
use anyhow::Context;
use base64::Engine;
use handlebars::{Handlebars, handlebars_helper};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Html,
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

pub fn registry(templates: &crate::shipped::Files, format: Format) -> anyhow::Result<Handlebars<'static>> {
    let mut hbs = Handlebars::new();
    if format == Format::Markdown {
        hbs.register_escape_fn(handlebars::no_escape);
    }
    for (name, helper) in [
        ("procent", Box::new(procent) as Box<dyn handlebars::HelperDef + Send + Sync>),
        ("majoritet", Box::new(majoritet)),
        ("forandring", Box::new(forandring)),
        ("antal", Box::new(antal)),
        ("Antal", Box::new(Antal)),
        ("procentenheter", Box::new(procentenheter)),
        ("tal", Box::new(tal)),
    ] {
        hbs.register_helper(name, helper);
    }
    let name = match format {
        Format::Markdown => "report/lokal_lagesbild.md.hbs",
        Format::Html => "report/lokal_lagesbild.html.hbs",
    };
    let (source, origin) = templates.get(name).with_context(|| format!("the report template {name} is missing"))?;
    hbs.register_template_string("report", source).with_context(|| format!("template {origin}"))?;
    Ok(hbs)
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
        "title": title,
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

pub fn render(hbs: &Handlebars<'static>, context: &impl Serialize) -> anyhow::Result<String> {
    hbs.render("report", context).context("rendering the report")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hbs() -> Handlebars<'static> {
        registry(&crate::shipped::Files::templates(None).unwrap(), Format::Markdown).unwrap()
    }

    fn say(template: &str, data: Value) -> String {
        let mut h = hbs();
        h.register_template_string("t", template).unwrap();
        h.render("t", &data).unwrap()
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
        let survey = parse(include_str!("../surveys/lagesbild.toml")).unwrap();
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
        let text =
            render(&registry(&templates, Format::Markdown).unwrap(), &context(&survey, "Prov", &tallies, &[], &[]))
                .unwrap();
        assert!(text.contains("Om anhörigas oro redovisas inget"), "{text}");
        assert!(text.contains("Om frågor om hjälp att lämna en miljö redovisas inget"), "{text}");
        assert!(text.contains("Om iakttagelser redovisas inget"), "{text}");
        assert!(!text.contains("Ingen svarande") && !text.contains("ingen svarande"), "{text}");
        assert!(text.contains("100 % av de 6 svarande vet vart"), "{text}");
    }
}
