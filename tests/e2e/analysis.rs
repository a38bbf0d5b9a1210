//! Known answers given through the real form, and out through every export: tallies,
//! responses, trend, charts and the report, each checked figure by figure.

use crate::helpers::{TestApp, answer_pages, lagesbild_in};
use crate::on_both_engines;

on_both_engines!(
    known_answers_come_out_of_every_export_with_exact_figures,
    a_round_compares_its_own_year_even_beside_a_trial_round_of_that_year,
);

const FORMULA: &str = "=HYPERLINK(\"http://example.com\",\"klicka\")";

async fn known_answers_come_out_of_every_export_with_exact_figures(app: TestApp) {
    let round = app.open_round("r").await;
    let year = round.year;
    let mut rows: Vec<(String, &str, &str)> = Vec::new();
    rows.extend((0..5).map(|i| (format!("skola{i}@example.se"), "intern", "skola")));
    rows.extend((0..2).map(|i| (format!("fritid{i}@example.se"), "intern", "fritid")));
    rows.extend((0..7).map(|i| (format!("forening{i}@example.se"), "extern", "forening")));
    let roster: Vec<(&str, &str, &str)> = rows.iter().map(|(e, g, c)| (e.as_str(), *g, *c)).collect();
    let mut people = app.recipients(&round, &roster).await;

    // Five schools saw graffiti from the white power milieu; one concern report each.
    for r in &mut people[0..5] {
        let pages: [&[(&str, &str)]; 5] = [
            &[("observerat", "ja")],
            &[("uttryck.klotter", "vit_makt"), ("frekvens", "enstaka")],
            &[("anhoriga", "nej")],
            &[("avhoppare", "nej"), ("orosanmalningar", "1"), ("ia_rapporter", "0")],
            &[("vet_vart_vanda", "ja"), ("webbutbildning", "ja")],
        ];
        answer_pages(r, &pages).await;
    }
    // Two youth centres saw nothing; relatives came to both, three contacts each.
    for (i, r) in people[5..7].iter_mut().enumerate() {
        let last: Vec<(&str, &str)> = vec![
            ("vet_vart_vanda", "delvis"),
            ("webbutbildning", "nej"),
            ("ovrigt", if i == 0 { FORMULA } else { "" }),
        ];
        let pages: [&[(&str, &str)]; 5] = [
            &[("observerat", "nej")],
            &[],
            &[("anhoriga", "ja")],
            &[("anhoriga_antal", "3"), ("anhoriga_miljo", "autonoma"), ("avhoppare", "nej")],
            &last,
        ];
        answer_pages(r, &pages).await;
    }
    // Five associations answer, two do not; one was asked for help to leave a milieu, and
    // one does not know whether what it saw was extremism.
    for (i, r) in people[7..12].iter_mut().enumerate() {
        let pages: [&[(&str, &str)]; 5] = [
            &[("observerat", if i == 4 { "vet_ej" } else { "nej" })],
            &[],
            &[("anhoriga", "nej")],
            &[("avhoppare", if i == 0 { "ja" } else { "nej" })],
            &[("vet_vart_vanda", "nej")],
        ];
        answer_pages(r, &pages).await;
    }

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // An earlier year from before the system: a smaller share saw expressions, more knew the routines.
    let earlier = year - 2;
    std::fs::write(
        d.join("tidigare.csv"),
        format!(
            "question,row,column,group,code,count,share,base,year\n\
             observerat,,,alla,ja,4,0.25,16,{earlier}\n\
             vet_vart_vanda,,,alla,ja,9,0.5625,16,{earlier}\n"
        ),
    )
    .unwrap();
    let said = lagesbild_in(&app, d, &["history", "import", "--survey", "lagesbild", "tidigare.csv"]);
    assert!(said.contains(&format!("2 siffror för {earlier} importerade")), "{said}");

    // Tallies, plain dialect, parsed back.
    lagesbild_in(&app, d, &["export", "tallies", "--round", "r", "--out", "plain.csv"]);
    let mut reader = csv::Reader::from_path(d.join("plain.csv")).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec!["question", "row", "column", "group", "code", "count", "share", "base", "year"]
    );
    let tallies: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    let figure = |q: &str, row: &str, col: &str, group: &str, code: &str| -> (String, String, String) {
        let f = tallies
            .iter()
            .find(|f| f[0] == q && f[1] == row && f[2] == col && f[3] == group && f[4] == code)
            .unwrap_or_else(|| panic!("no figure {q} {row} {col} {group} {code}"));
        (f[5].clone(), f[6].clone(), f[7].clone())
    };
    let s = |c: &str, sh: &str, b: &str| (c.to_string(), sh.to_string(), b.to_string());
    assert_eq!(figure("_svarsfrekvens", "", "", "alla", "_svarande"), s("12", "0.8571", "14"));
    assert_eq!(figure("_svarsfrekvens", "", "", "extern", "_svarande"), s("5", "0.7143", "7"));
    assert_eq!(figure("observerat", "", "", "alla", "ja"), s("5", "0.4167", "12"));
    // Both groups have fewer than twice the threshold (10) respondents: a sensitive question
    // is given for alla only, whatever the answers, so that withholding it tells nothing.
    assert_eq!(figure("observerat", "", "", "intern", "_skyddat"), s("0", "", "0"));
    assert_eq!(figure("observerat", "", "", "extern", "_skyddat"), s("0", "", "0"));
    assert!(!tallies.iter().any(|f| f[0] == "uttryck" && f[3] != "alla" && f[4] != "_skyddat"));
    assert_eq!(figure("vet_vart_vanda", "", "", "intern", "ja"), s("5", "0.7143", "7"));
    assert_eq!(figure("observerat", "", "", "alla", "nej"), s("6", "0.5", "12"));
    assert_eq!(figure("observerat", "", "", "alla", "vet_ej"), s("1", "0.0833", "12"));
    assert_eq!(figure("uttryck", "klotter", "vit_makt", "alla", ""), s("5", "1", "5"));
    assert_eq!(figure("uttryck", "hot", "vit_makt", "alla", ""), s("0", "0", "5"));
    // A magnitude from two respondents (threshold 5) is not published, and no minimum or
    // maximum ever is: each is one respondent's own value.
    assert!(
        !tallies.iter().any(|f| f[0] == "anhoriga_antal" && (f[4] == "_summa" || f[4] == "_median")),
        "a sum of 2 values"
    );
    assert!(!tallies.iter().any(|f| f[4] == "_min" || f[4] == "_max"), "a minimum or maximum");
    // Two respondents are the base: the count is published (they are respondents of "alla"),
    // the share, which would be each one's answer, is not.
    assert_eq!(figure("anhoriga_miljo", "", "", "alla", "autonoma"), s("2", "", "2"));
    assert_eq!(figure("avhoppare", "", "", "alla", "ja"), s("1", "0.0833", "12"));
    assert_eq!(figure("orosanmalningar", "", "", "alla", "_summa"), s("5", "", "5"));
    assert_eq!(figure("vet_vart_vanda", "", "", "alla", "delvis"), s("2", "0.1667", "12"));
    assert_eq!(figure("webbutbildning", "", "", "alla", "ja"), s("5", "0.7143", "7"));
    assert!(tallies.iter().all(|f| f[8] == year.to_string()));
    // The two youth centres are too few to show; the schools are folded with them so that
    // they cannot be found as intern minus skola. No category appears at all.
    let groups: std::collections::BTreeSet<&str> = tallies.iter().map(|f| f[3].as_str()).collect();
    assert_eq!(groups.into_iter().collect::<Vec<_>>(), ["alla", "extern", "intern"]);
    // Free text is counted, never shown.
    assert!(!std::fs::read_to_string(d.join("plain.csv")).unwrap().contains("HYPERLINK"));

    // The Excel dialect: BOM, semicolons, decimal commas, CRLF; parsed back to the same figures.
    lagesbild_in(&app, d, &["export", "tallies", "--round", "r", "--dialect", "excel", "--out", "excel.csv"]);
    let bytes = std::fs::read(d.join("excel.csv")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    assert!(String::from_utf8_lossy(&bytes).contains("observerat;;;alla;ja;5;0,4167;12;"));
    assert!(bytes.windows(2).any(|w| w == b"\r\n"));
    let excel: Vec<Vec<String>> = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(&bytes[3..])
        .records()
        .map(|r| r.unwrap().iter().map(|c| c.replace(',', ".")).collect())
        .collect();
    assert_eq!(excel, tallies);

    // Responses: one row each, no identity, the formula neutralised.
    lagesbild_in(&app, d, &["export", "responses", "--round", "r", "--labels", "--out", "svar.csv"]);
    let text = std::fs::read_to_string(d.join("svar.csv")).unwrap();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let header = &records[0];
    assert_eq!(header.iter().take(3).collect::<Vec<_>>(), ["group", "category", "observerat"]);
    assert!(
        header.iter().any(|h| h == "uttryck.klotter.vit_makt") && header.iter().any(|h| h == "anhoriga_miljo.autonoma")
    );
    assert!(records[1].iter().any(|l| l.starts_with("Har du eller din verksamhet")), "the labels row");
    assert_eq!(records.len(), 2 + 12);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    // Two youth centres are too few to be a category of their own (they are stored as
    // intern's "övriga"), and the schools fold with them, as in the tallies.
    let intern: Vec<&csv::StringRecord> = records[2..].iter().filter(|r| &r[0] == "intern").collect();
    assert_eq!(intern.len(), 7);
    assert!(intern.iter().all(|r| &r[1] == "övriga"), "{intern:?}");
    let schools: Vec<&&csv::StringRecord> = intern.iter().filter(|r| &r[col("observerat")] == "ja").collect();
    assert_eq!(schools.len(), 5);
    assert!(
        schools
            .iter()
            .all(|r| &r[col("uttryck.klotter.vit_makt")] == "1" && &r[col("uttryck.klotter.autonoma")] == "0")
    );
    let association = records[2..].iter().find(|r| &r[1] == "forening").unwrap();
    assert_eq!(&association[col("uttryck.klotter.vit_makt")], "", "the grid did not apply");
    assert!(records.iter().any(|r| r[col("ovrigt")] == format!("'{FORMULA}")), "the formula is neutralised");
    for (email, ..) in &rows {
        assert!(!text.contains(email.as_str()));
    }
    assert!(!text.contains("Organisation för"));

    // The trend: this year beside the imported one, with the change.
    lagesbild_in(&app, d, &["export", "trend", "--survey", "lagesbild", "--out", "trend.csv"]);
    let trend = std::fs::read_to_string(d.join("trend.csv")).unwrap();
    let trend_rows: Vec<Vec<String>> = csv::Reader::from_reader(trend.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert!(trend.contains(&format!("observerat,,,alla,ja,4,0.25,16,{earlier},,,\r\n")), "{trend}");
    assert!(trend.contains(&format!("observerat,,,alla,ja,5,0.4167,12,{year},{earlier},1,0.1667\r\n")), "{trend}");

    // Every figure above, and every figure the charts and report are drawn from, passes the audit.
    let audit = lagesbild_in(&app, d, &["disclosure", "check", "--round", "r"]);
    assert!(audit.contains("inga fynd"), "{audit}");

    // Charts: PNG files that decode, at their stated size, and SVG beside them.
    lagesbild_in(&app, d, &["charts", "--round", "r", "--out", "diagram"]);
    for name in [
        "uttryck_per_miljo",
        "observerat_per_grupp",
        "anhorigas_oro_per_miljo",
        "kunskap_om_rutiner",
        "svarsfrekvens_per_grupp",
        "utveckling_over_tid",
    ] {
        let file = std::fs::File::open(d.join("diagram").join(format!("{name}.png"))).unwrap();
        let reader = png::Decoder::new(std::io::BufReader::new(file)).read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.width, 1600, "{name}");
        assert!(info.height >= 500, "{name}: {}", info.height);
        let svg = std::fs::read_to_string(d.join("diagram").join(format!("{name}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"));
    }
    let svg = std::fs::read_to_string(d.join("diagram/kunskap_om_rutiner.svg")).unwrap();
    assert!(svg.contains("Förvaltningens verksamheter") && svg.contains("Externa aktörer"));
    let svg = std::fs::read_to_string(d.join("diagram/observerat_per_grupp.svg")).unwrap();
    assert!(!svg.contains("Förvaltningens verksamheter") && svg.contains("bara för alla"), "{svg}");
    assert!(!svg.contains("fritid") && !svg.contains("skola"), "no small category in a chart");

    // The report: an increase since the earlier year for what was seen, a decrease for the routines.
    let report = lagesbild_in(&app, d, &["report", "--round", "r"]);
    assert!(report.contains("14 verksamheter") && report.contains("12 svarade, en svarsfrekvens på 86 %"), "{report}");
    // Said from the `nej` share, as in the tallies, with "vet ej" said as such: not 1 − ja.
    assert!(
        report.contains(
            "Av de 12 svarande har hälften (50 %) inte sett uttryck för våldsbejakande extremism i området och 8 % vet inte"
        ),
        "{report}"
    );
    // Every percentage the report gives is a share in the tallies or the trend.
    let published: std::collections::BTreeSet<i64> = tallies
        .iter()
        .chain(&trend_rows)
        .filter_map(|f| f[6].parse::<f64>().ok())
        .map(|share| (share * 100.0).round() as i64)
        .collect();
    let said: Vec<i64> = report
        .split(" %")
        .filter_map(|before| before.rsplit(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect();
    assert!(said.len() >= 8, "{said:?}");
    for p in &said {
        assert!(published.contains(p), "{p} % is in the report but not among the published shares {published:?}");
    }
    assert!(report.contains("Vanligast är klotter (fem svarande, från vit makt-miljön (högerextremism))"), "{report}");
    assert!(report.contains("Två svarande uppger att anhöriga har vänt sig till dem"), "{report}");
    // The number of contacts is a sum of two units' own figures: below the threshold, not said.
    assert!(!report.contains("kontakter"), "{report}");
    assert!(report.contains("En svarande har fått frågor om hjälp att lämna"), "{report}");
    assert!(report.contains("Fem orosanmälningar med inslag av våldsbejakande extremism har gjorts"), "{report}");
    assert!(
        report.contains("Ingen händelse med sådan koppling har rapporterats")
            || report.contains("ingen händelse med sådan koppling har rapporterats"),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "Sedan {earlier} har andelen som sett uttryck för våldsbejakande extremism ökat, från 25 % till 42 % (+17 procentenheter)."
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!("Sedan {earlier} har andelen som vet vart de ska vända sig minskat, från 56 % till 42 % (−15 procentenheter).")),
        "{report}"
    );
    assert!(!report.contains("HYPERLINK") && !report.contains("fritid") && !report.contains("skola"));
    let html = lagesbild_in(&app, d, &["report", "--round", "r", "--format", "html"]);
    assert!(html.starts_with("<!doctype html>") && html.contains("data:image/png;base64,"));
    assert!(html.contains("ökat, från 25 % till 42 %"));
}

async fn a_round_compares_its_own_year_even_beside_a_trial_round_of_that_year(app: TestApp) {
    use lagesbild::tally::{RESPONSE_RATE, code};
    let real = app.open_round("skarp").await;
    let trial = app.open_round("prov").await;
    assert_eq!(real.year, trial.year);
    let rows: Vec<(String, &str, &str)> = (0..10).map(|i| (format!("e{i}@example.se"), "intern", "skola")).collect();
    let rows: Vec<(&str, &str, &str)> = rows.iter().map(|(e, g, c)| (e.as_str(), *g, *c)).collect();
    let mut everyone = app.recipients(&real, &rows).await;
    for r in everyone.iter_mut().take(5) {
        r.answer_nothing_seen().await;
    }
    let mut testers = app.recipients(&trial, &rows[..5]).await;
    for r in testers.iter_mut() {
        r.answer_nothing_seen().await;
    }
    let rate = |trend: &[lagesbild::analysis::TrendFigure]| {
        trend
            .iter()
            .find(|t| {
                t.figure.question == RESPONSE_RATE && t.figure.group == "alla" && t.figure.code == code::RESPONDENTS
            })
            .and_then(|t| t.figure.share)
    };
    // The trial round was created last, but each round's trend shows its own response rate.
    let trend_of = async |round: &lagesbild::round::Round| {
        let survey = lagesbild::analysis::survey_of(round).unwrap();
        let own = lagesbild::analysis::tallies(&app.store, round, &survey).await.unwrap().figures(&survey);
        lagesbild::analysis::trend_until(&app.store, round, own).await.unwrap()
    };
    assert_eq!(rate(&trend_of(&real).await), Some(0.5));
    assert_eq!(rate(&trend_of(&trial).await), Some(1.0));
}
