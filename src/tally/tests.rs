use super::*;
use crate::survey::{RawAnswers, parse};

impl Figure {
    /// A figure of a question as a whole (no grid row or column), of 2027, for tests
    /// throughout `tally`.
    pub fn plain(question: &str, group: &str, code: &str, count: f64, share: Option<f64>, base: u64) -> Figure {
        Figure {
            question: question.into(),
            row: String::new(),
            column: String::new(),
            group: group.into(),
            code: code.into(),
            count,
            share,
            base,
            year: 2027,
        }
    }
}

fn survey() -> Survey {
    parse(include_str!("../../surveys/lagesbild.toml")).unwrap()
}

fn answers(s: &Survey, group: &str, pairs: &[(&str, &str)]) -> (RosterAttributes, Answers) {
    let roster = RosterAttributes { group: group.into(), category: format!("{group}_kat") };
    let mut raw = RawAnswers::new();
    for (k, v) in pairs {
        raw.entry(k.to_string()).or_default().push(v.to_string());
    }
    let a = s.validate(&roster, &raw).unwrap_or_else(|e| panic!("{e:?}"));
    (roster, a)
}

fn find<'a>(figures: &'a [Figure], group: &str, question: &str, row: &str, column: &str, code: &str) -> &'a Figure {
    figures
        .iter()
        .find(|f| f.group == group && f.question == question && f.row == row && f.column == column && f.code == code)
        .unwrap_or_else(|| panic!("no figure {group} {question} {row} {column} {code}"))
}

/// Ten respondents with known answers: 6 internal, 4 external.
fn known_set(s: &Survey) -> Vec<(RosterAttributes, Answers)> {
    let base = [("anhoriga", "nej"), ("avhoppare", "nej"), ("vet_vart_vanda", "ja"), ("webbutbildning", "ja")];
    let mut out = Vec::new();
    for i in 0..6 {
        let mut p: Vec<(&str, &str)> = base.to_vec();
        if i < 2 {
            p.extend([("observerat", "ja"), ("uttryck.klotter", "vit_makt"), ("uttryck.klotter", "autonoma")]);
            p.push(("uttryck.flygblad", "vit_makt"));
        } else {
            p.push(("observerat", "nej"));
        }
        if i == 0 {
            p.retain(|(k, _)| *k != "anhoriga");
            p.extend([("anhoriga", "ja"), ("anhoriga_antal", "4"), ("anhoriga_miljo", "vit_makt")]);
        }
        p.push(("orosanmalningar", ["0", "1", "2", "3", "10", "1"][i]));
        out.push(answers(s, "intern", &p));
    }
    for i in 0..4 {
        let mut p: Vec<(&str, &str)> = base.to_vec();
        p.retain(|(k, _)| *k != "webbutbildning");
        p.push(("observerat", if i == 0 { "ja" } else { "vet_ej" }));
        if i == 0 {
            p.push(("uttryck.hot", "islamistisk"));
        }
        out.push(answers(s, "extern", &p));
    }
    out
}

#[test]
fn counts_and_shares_are_taken_among_those_the_question_applied_to() {
    let s = survey();
    let mut counter = Counter::default();
    for (r, a) in known_set(&s) {
        counter.add(&s, &r, &a);
    }
    let invited = [(("intern".to_string(), "intern_kat".to_string()), 8), (("extern".into(), "extern_kat".into()), 10)]
        .into_iter()
        .collect();
    // Threshold 3 publishes both groups (6 and 4 respondents).
    let t = counter.publish(2027, 3, &invited);
    let f = t.figures(&s);
    let rate = find(&f, "alla", RESPONSE_RATE, "", "", code::RESPONDENTS);
    assert_eq!((rate.count, rate.base, rate.share), (10.0, 18, Some(10.0 / 18.0)));
    let ja = find(&f, "alla", "observerat", "", "", "ja");
    assert_eq!((ja.count, ja.base), (3.0, 10));
    let ja_intern = find(&f, "intern", "observerat", "", "", "ja");
    assert_eq!((ja_intern.count, ja_intern.share), (2.0, Some(2.0 / 6.0)));
    // The grid applied to the three who saw something.
    let cell = find(&f, "alla", "uttryck", "klotter", "vit_makt", "");
    assert_eq!((cell.count, cell.base), (2.0, 3));
    assert_eq!(find(&f, "alla", "uttryck", "klotter", "", code::ANY).count, 2.0);
    assert_eq!(find(&f, "alla", "uttryck", "hot", "islamistisk", "").count, 1.0);
    assert_eq!(find(&f, "extern", "uttryck", "klotter", "vit_makt", "").count, 0.0);
    // Relatives: one respondent, four contacts. One value is that unit's own: not published.
    assert!(!f.iter().any(|x| x.question == "anhoriga_antal" && x.code != code::ANSWERED));
    // Concern reports from the six internal units: 0, 1, 2, 3, 10, 1. Six values (at least
    // the threshold) give a sum and a median; the smallest and largest are one unit's each.
    assert_eq!(find(&f, "intern", "orosanmalningar", "", "", code::SUM).count, 17.0);
    assert_eq!(find(&f, "intern", "orosanmalningar", "", "", code::MEDIAN).count, 1.5);
    assert!(!f.iter().any(|x| x.code == "_min" || x.code == "_max"));
    // The training question applies to internal units only.
    let training = find(&f, "alla", "webbutbildning", "", "", "ja");
    assert_eq!((training.count, training.base), (6.0, 6));
    // Free text is never tallied beyond how many answered.
    assert!(!f.iter().any(|x| x.question == "ovrigt" && x.code != code::ANSWERED));
}

#[test]
fn a_sum_that_subtraction_would_give_for_a_small_cross_section_is_withheld_everywhere() {
    let s = survey();
    let mut counter = Counter::default();
    // Five of six internal units gave numbers, and two of five external ones: the total (7
    // values) and the internal sum (5) would each pass, and their difference is two units' own sum.
    for (group, units, with_number) in [("intern", 6, 5), ("extern", 5, 2)] {
        for i in 0..units {
            let mut p = vec![("observerat", "nej"), ("avhoppare", "nej"), ("vet_vart_vanda", "ja")];
            if group == "intern" {
                p.push(("webbutbildning", "ja"));
            }
            if i < with_number {
                p.extend([("anhoriga", "ja"), ("anhoriga_antal", "3"), ("anhoriga_miljo", "vit_makt")]);
            } else {
                p.push(("anhoriga", "nej"));
            }
            let (r, a) = answers(&s, group, &p);
            counter.add(&s, &r, &a);
        }
    }
    let invited = [(("intern".to_string(), "intern_kat".to_string()), 6), (("extern".into(), "extern_kat".into()), 5)]
        .into_iter()
        .collect();
    let f = counter.publish(2027, 5, &invited).figures(&s);
    assert_eq!(find(&f, "intern", "anhoriga", "", "", "ja").count, 5.0, "both groups are published");
    assert_eq!(find(&f, "extern", "anhoriga", "", "", "ja").count, 2.0, "a count of respondents is");
    assert!(
        !f.iter().any(|x| x.question == "anhoriga_antal" && (x.code == code::SUM || x.code == code::MEDIAN)),
        "no sum or median of the relatives' contacts in any cross-section"
    );
}

#[test]
fn small_groups_are_folded_in_every_figure() {
    let s = survey();
    let mut counter = Counter::default();
    for (r, a) in known_set(&s) {
        counter.add(&s, &r, &a);
    }
    let t = counter.publish(2027, 5, &BTreeMap::new());
    let f = t.figures(&s);
    // extern (4) is under 5 and folded together with intern, so only "alla" remains.
    let groups: std::collections::BTreeSet<&str> = f.iter().map(|x| x.group.as_str()).collect();
    assert_eq!(groups.into_iter().collect::<Vec<_>>(), ["alla"]);
    assert_eq!(t.folded, ["extern", "intern"]);
}

#[test]
fn medians_of_even_and_odd_counts() {
    let h: BTreeMap<i64, u64> = [(1, 1), (3, 1), (8, 1)].into_iter().collect();
    assert_eq!(median(&h, 3), Some(3.0));
    let h: BTreeMap<i64, u64> = [(1, 2), (5, 2)].into_iter().collect();
    assert_eq!(median(&h, 4), Some(3.0));
    assert_eq!(median(&BTreeMap::new(), 0), None);
}

/// Five youth centres have all seen expressions; eight associations have not. Published as
/// "intern: 100 % ja", the figure would say of each centre that it saw extremism.
#[test]
fn a_small_group_where_everyone_gave_a_sensitive_answer_is_not_broken_down() {
    let s = survey();
    let seen = [("observerat", "ja"), ("uttryck.klotter", "vit_makt"), ("anhoriga", "nej"), ("avhoppare", "nej")];
    let not_seen = [("observerat", "nej"), ("anhoriga", "nej"), ("avhoppare", "nej")];
    // `centres` youth centres that have all seen something, and eight associations that have not.
    let publish = |centres: usize| {
        let mut counter = Counter::default();
        for _ in 0..centres {
            let (r, a) =
                answers(&s, "intern", &[&seen[..], &[("vet_vart_vanda", "ja"), ("webbutbildning", "ja")]].concat());
            counter.add(&s, &r, &a);
        }
        for _ in 0..8 {
            let (r, a) = answers(&s, "extern", &[&not_seen[..], &[("vet_vart_vanda", "ja")]].concat());
            counter.add(&s, &r, &a);
        }
        counter.publish(2027, 5, &BTreeMap::new())
    };
    let t = publish(5);
    let f = t.figures(&s);
    let has = |group: &str, question: &str, code: &str| {
        f.iter().any(|x| x.group == group && x.question == question && x.code == code)
    };
    // 5 of 13 for "alla" is no one's answer: shown there.
    assert_eq!(find(&f, "alla", "observerat", "", "", "ja").count, 5.0);
    // Nowhere else, not even for extern, whose figure would give intern's by subtraction.
    for group in ["intern", "extern"] {
        assert!(!has(group, "observerat", "ja") && !has(group, "observerat", "nej"), "{group}");
        assert!(has(group, "observerat", code::WITHHELD));
        // The grid shown after "ja" has for its base the number who said it: withheld too.
        assert!(!has(group, "uttryck", code::ANY) && !has(group, "uttryck", code::ANSWERED), "{group}");
    }
    // The chart per group shows "Alla" only, and says why.
    let charts = crate::chart::charts(&s, &t, &[]);
    let chart = charts.iter().find(|c| c.name == "observerat_per_grupp").unwrap();
    let crate::chart::Body::Bars { categories, .. } = &chart.body else { panic!() };
    assert_eq!(categories, &["Alla"]);
    assert!(chart.note.contains("redovisas här bara för alla svarande tillsammans"), "{}", chart.note);
    // "None of them" stays publishable, and questions without sensitive answers are shown.
    assert_eq!(find(&f, "extern", "anhoriga", "", "", "nej").count, 8.0);
    assert_eq!(find(&f, "intern", "vet_vart_vanda", "", "", "ja").count, 5.0);
    // With ten centres (twice the threshold) all having seen something, the group is shown.
    let f = publish(10).figures(&s);
    assert_eq!(find(&f, "intern", "observerat", "", "", "ja").share, Some(1.0));
}

/// In a round of fewer than twice the threshold respondents, sensitive questions are
/// withheld whatever the answers: withholding them only when everyone said "ja" would say it.
#[test]
fn a_small_round_withholds_sensitive_questions_whatever_the_answers() {
    let s = survey();
    let pattern = |relatives: &str| {
        let mut counter = Counter::default();
        for _ in 0..6 {
            let mut p =
                vec![("observerat", "nej"), ("avhoppare", "nej"), ("vet_vart_vanda", "ja"), ("webbutbildning", "ja")];
            p.push(("anhoriga", relatives));
            if relatives == "ja" {
                p.extend([("anhoriga_antal", "1"), ("anhoriga_miljo", "autonoma")]);
            }
            let (r, a) = answers(&s, "intern", &p);
            counter.add(&s, &r, &a);
        }
        let f = counter.publish(2027, 5, &BTreeMap::new()).figures(&s);
        let shown: Vec<(String, String)> = f.iter().map(|x| (x.question.clone(), x.code.clone())).collect();
        (f, shown)
    };
    let (f, everyone) = pattern("ja");
    let (_, nobody) = pattern("nej");
    let codes = |shown: &[(String, String)], q: &str| -> Vec<String> {
        shown.iter().filter(|(x, _)| x == q).map(|(_, c)| c.clone()).collect()
    };
    for q in ["observerat", "anhoriga", "anhoriga_miljo", "avhoppare", "uttryck"] {
        assert!(codes(&everyone, q).iter().all(|c| c == code::WITHHELD), "{q}: {:?}", codes(&everyone, q));
        assert!(!codes(&everyone, q).is_empty(), "{q}");
        assert_eq!(codes(&everyone, q), codes(&nobody, q), "{q}");
    }
    // Questions without sensitive answers are shown.
    assert_eq!(find(&f, "alla", "vet_vart_vanda", "", "", "ja").count, 6.0);
}
