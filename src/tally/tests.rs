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
    // extern's 4 are fewer than twice the threshold: the sensitive question is for alla only.
    find(&f, "intern", "observerat", "", "", code::WITHHELD);
    let routines = find(&f, "intern", "vet_vart_vanda", "", "", "ja");
    assert_eq!((routines.count, routines.share), (6.0, Some(1.0)));
    // The grid applied to the three who saw something.
    let cell = find(&f, "alla", "uttryck", "klotter", "vit_makt", "");
    assert_eq!((cell.count, cell.base), (2.0, 3));
    assert_eq!(find(&f, "alla", "uttryck", "klotter", "", code::ANY).count, 2.0);
    assert_eq!(find(&f, "alla", "uttryck", "hot", "islamistisk", "").count, 1.0);
    find(&f, "extern", "uttryck", "", "", code::WITHHELD);
    // Relatives: one respondent, four contacts. One value is that unit's own: not published.
    assert!(!f.iter().any(|x| x.question == "anhoriga_antal" && x.code != code::ANSWERED && x.code != code::WITHHELD));
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

/// Units per group, of which the first `with_number` had relatives come to them three times.
fn relatives_counted(s: &Survey, groups: &[(&str, usize, usize)]) -> Counter {
    let mut counter = Counter::default();
    for &(group, units, with_number) in groups {
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
            let (r, a) = answers(s, group, &p);
            counter.add(s, &r, &a);
        }
    }
    counter
}

#[test]
fn a_sum_that_subtraction_would_give_for_a_small_cross_section_is_withheld_everywhere() {
    let s = survey();
    // Five of ten internal units gave numbers, and two of ten external ones: the total (7
    // values) and the internal sum (5) would each pass, and their difference is two units' own
    // sum. (Ten each: twice the threshold, so the sensitive question is broken down by group.)
    let counter = relatives_counted(&s, &[("intern", 10, 5), ("extern", 10, 2)]);
    let invited =
        [(("intern".to_string(), "intern_kat".to_string()), 10), (("extern".into(), "extern_kat".into()), 10)]
            .into_iter()
            .collect();
    let f = counter.publish(2027, 5, &invited).figures(&s);
    assert_eq!(find(&f, "alla", "anhoriga", "", "", "ja").count, 7.0, "a count of respondents is published");
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

/// Youth centres that have all seen expressions, and associations that have not. Published
/// as "intern: 100 % ja", the figure would say of each centre that it saw extremism.
#[test]
fn sensitive_questions_are_broken_down_only_where_every_group_is_large_enough() {
    let s = survey();
    let seen = [("observerat", "ja"), ("uttryck.klotter", "vit_makt"), ("anhoriga", "nej"), ("avhoppare", "nej")];
    let not_seen = [("observerat", "nej"), ("anhoriga", "nej"), ("avhoppare", "nej")];
    let publish = |centres: usize, associations: usize, centres_saw: bool| {
        let mut counter = Counter::default();
        for _ in 0..centres {
            let answers_of = if centres_saw { &seen[..] } else { &not_seen[..] };
            let (r, a) =
                answers(&s, "intern", &[answers_of, &[("vet_vart_vanda", "ja"), ("webbutbildning", "ja")]].concat());
            counter.add(&s, &r, &a);
        }
        for _ in 0..associations {
            let (r, a) = answers(&s, "extern", &[&not_seen[..], &[("vet_vart_vanda", "ja")]].concat());
            counter.add(&s, &r, &a);
        }
        counter.publish(2027, 5, &BTreeMap::new())
    };
    let t = publish(5, 8, true);
    let f = t.figures(&s);
    let shown = |f: &[Figure], group: &str, question: &str| -> Vec<String> {
        f.iter().filter(|x| x.group == group && x.question == question).map(|x| x.code.clone()).collect()
    };
    // 5 of 13 for "alla" is no one's answer: shown there.
    assert_eq!(find(&f, "alla", "observerat", "", "", "ja").count, 5.0);
    // Both groups are under 10: nowhere else, whatever was answered, and nor the grid after it.
    let other = publish(5, 8, false).figures(&s);
    for group in ["intern", "extern"] {
        for question in ["observerat", "uttryck", "anhoriga"] {
            assert_eq!(shown(&f, group, question), [code::WITHHELD], "{group} {question}");
            assert_eq!(shown(&f, group, question), shown(&other, group, question), "{group} {question}");
        }
    }
    // The chart per group shows "Alla" only, and says so.
    let charts = crate::chart::charts(&s, &t, &[]);
    let chart = charts.iter().find(|c| c.name == "observerat_per_grupp").unwrap();
    let crate::chart::Body::Bars { categories, .. } = &chart.body else { panic!() };
    assert_eq!(categories, &["Alla"]);
    assert!(chart.note.contains("redovisas här bara för alla svarande tillsammans"), "{}", chart.note);
    // Questions without sensitive answers are shown per group.
    assert_eq!(find(&f, "intern", "vet_vart_vanda", "", "", "ja").count, 5.0);
    // With ten of each (twice the threshold), the groups are shown, "100 %" too.
    let f = publish(10, 10, true).figures(&s);
    assert_eq!(find(&f, "intern", "observerat", "", "", "ja").share, Some(1.0));
    assert_eq!(find(&f, "extern", "anhoriga", "", "", "nej").count, 10.0);
}

/// A question for intern only, in a round where intern is folded into "övriga": its figures
/// there would be intern's own answers.
#[test]
fn a_question_for_one_group_is_not_shown_where_that_group_is_a_small_part() {
    let s = survey();
    let mut counter = Counter::default();
    let mut add = |group: &str, n: usize| {
        for _ in 0..n {
            let mut p =
                vec![("observerat", "nej"), ("anhoriga", "nej"), ("avhoppare", "nej"), ("vet_vart_vanda", "ja")];
            if group == "intern" {
                p.push(("webbutbildning", "ja"));
            }
            let (r, a) = answers(&s, group, &p);
            counter.add(&s, &r, &a);
        }
    };
    add("intern", 3);
    add("fackforvaltning", 6);
    add("extern", 20);
    let f = counter.publish(2027, 5, &BTreeMap::new()).figures(&s);
    let codes = |group: &str| -> Vec<String> {
        f.iter().filter(|x| x.group == group && x.question == "webbutbildning").map(|x| x.code.clone()).collect()
    };
    // intern's 3 are folded with fackforvaltning into övriga, and alla's base is 3 as well.
    assert_eq!(codes("övriga"), [code::WITHHELD]);
    assert_eq!(codes("alla"), [code::WITHHELD]);
    assert_eq!(find(&f, "övriga", "vet_vart_vanda", "", "", "ja").count, 9.0);
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

/// A sum is withheld because of the cross-sections where it would be shown, never because
/// of one where its question is withheld anyway: that would tell their number of values.
#[test]
fn withheld_cross_sections_do_not_decide_whether_a_sum_is_published() {
    let s = survey();
    let counter = relatives_counted(&s, &[("intern", 6, 5), ("extern", 5, 2)]);
    let f = counter.publish(2027, 5, &BTreeMap::new()).figures(&s);
    // Both groups are under ten: relatives are reported for alla only, and there the seven
    // values give a sum.
    find(&f, "intern", "anhoriga_antal", "", "", code::WITHHELD);
    assert_eq!(find(&f, "alla", "anhoriga_antal", "", "", code::SUM).count, 21.0);
}
