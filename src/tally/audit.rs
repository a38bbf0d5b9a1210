//! The disclosure audit: rebuilds nothing and trusts nothing of how the figures were made.
//! It takes what a round publishes (the figures every output is drawn from, and the groups
//! and categories of the responses export) and checks, rule by rule, that no published or
//! derivable figure rests on fewer than the threshold of respondents.

use super::disclosure::{MINIMUM_THRESHOLD, everyone_gave};
use super::{Figure, Tallies, code};
use crate::survey::{Kind, Survey};
use std::collections::{BTreeMap, BTreeSet};

/// What the audit looked at, and what it found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Audit {
    pub sections: usize,
    pub figures: usize,
    /// Differences between a published cross-section and what is published inside it.
    pub differences: usize,
    /// Groups and categories of the responses export.
    pub classes: usize,
    pub findings: Vec<String>,
}

impl Audit {
    pub fn passed(&self) -> bool {
        self.findings.is_empty()
    }

    /// What was checked, in one Swedish sentence.
    pub fn summary(&self) -> String {
        format!(
            "{} tvärsnitt, {} siffror, {} skillnader mellan tvärsnitt och {} grupper i svarsfilen kontrollerade: {}.",
            self.sections,
            self.figures,
            self.differences,
            self.classes,
            match self.findings.len() {
                0 => "inga fynd".to_string(),
                1 => "1 fynd".to_string(),
                n => format!("{n} fynd"),
            }
        )
    }
}

/// Audits a round's published figures and the (group, category) classes of its responses
/// export, with their numbers of rows.
pub fn audit(
    survey: &Survey,
    tallies: &Tallies,
    figures: &[Figure],
    export_classes: &BTreeMap<(String, String), u64>,
) -> Audit {
    let k = tallies.threshold.max(MINIMUM_THRESHOLD);
    let small = |n: u64| n > 0 && n < k;
    let mut a = Audit { figures: figures.len(), classes: export_classes.len(), ..Audit::default() };
    let respondents: BTreeMap<&str, u64> =
        tallies.sections.iter().map(|s| (s.label.as_str(), s.count.respondents)).collect();

    // 1. Every published cross-section holds at least k respondents.
    if !tallies.too_few {
        for s in &tallies.sections {
            a.sections += 1;
            if small(s.count.respondents) {
                a.findings.push(format!("{} bygger på {} svarande (under {k})", s.label, s.count.respondents));
            }
        }
    }

    // 2. No difference between a published cross-section and what is published inside it
    // (one part, or all of them) is a small group: its figures could be had by subtraction.
    let leaves = |label: &str| -> BTreeSet<(String, String)> {
        tallies
            .sections
            .iter()
            .find(|s| s.label == label)
            .map(|s| s.leaves.iter().cloned().collect())
            .unwrap_or_default()
    };
    let published: Vec<&str> = if tallies.too_few { Vec::new() } else { respondents.keys().copied().collect() };
    for outer in &published {
        let outer_leaves = leaves(outer);
        let inside: Vec<&str> = published
            .iter()
            .copied()
            .filter(|inner| inner != outer && leaves(inner).is_subset(&outer_leaves) && leaves(inner) != outer_leaves)
            .collect();
        for inner in &inside {
            a.differences += 1;
            let d = respondents[outer].saturating_sub(respondents[inner]);
            if small(d) {
                a.findings.push(format!("{outer} minus {inner} ger {d} svarande (under {k})"));
            }
        }
        // The largest parts inside, which do not overlap: their sum taken from the whole.
        let largest: Vec<&str> = inside
            .iter()
            .copied()
            .filter(|c| !inside.iter().any(|d| d != c && leaves(c).is_subset(&leaves(d))))
            .collect();
        if largest.len() > 1 {
            a.differences += 1;
            let d = respondents[outer].saturating_sub(largest.iter().map(|c| respondents[c]).sum::<u64>());
            if small(d) {
                a.findings.push(format!("{outer} minus {} ger {d} svarande (under {k})", largest.join(", ")));
            }
        }
    }

    // 3. Each figure on its own base.
    let on_roster: BTreeMap<&str, bool> =
        survey.questions().map(|q| q.id.as_str()).zip(survey.depends_on_roster()).collect();
    // Sensitive questions and those shown after one.
    let sensitive_family: BTreeSet<&str> =
        survey.questions().zip(survey.follows_sensitive()).filter(|(_, on)| *on).map(|(q, _)| q.id.as_str()).collect();
    let small_beside = tallies.sections.iter().any(|s| s.label != super::OVERALL && s.count.respondents < 2 * k);
    let sensitive_code = |q: &str, row: &str, column: &str, c: &str| {
        survey.question(q).is_some_and(|q| match &q.kind {
            Kind::Grid { .. } => !row.is_empty() && q.sensitive.iter().any(|s| s == column),
            _ => q.sensitive.iter().any(|s| s == c),
        })
    };
    for f in figures {
        let at = format!(
            "{} {} {}{}{} i {}",
            f.question,
            f.code,
            f.row,
            if f.column.is_empty() { "" } else { "/" },
            f.column,
            f.group
        );
        if f.code == "_min" || f.code == "_max" {
            a.findings.push(format!("{at}: ett minsta eller största värde är en svarandes eget"));
        }
        if f.share.is_some() && small(f.base) {
            a.findings.push(format!("{at}: en andel av {} svarande", f.base));
        }
        if (f.code == code::SUM || f.code == code::MEDIAN) && f.base < k {
            a.findings.push(format!("{at}: ur {} värden", f.base));
        }
        let n = respondents.get(f.group.as_str()).copied().unwrap_or(0);
        let sensitive = sensitive_code(&f.question, &f.row, &f.column, &f.code);
        if sensitive && everyone_gave(f.count as u64, n, k) {
            a.findings.push(format!("{at}: alla {n} i tvärsnittet gav ett känsligt svar"));
        }
        // Any figure of a sensitive question, or of one shown after it, in a cross-section
        // under 2k; or beside one, outside alla (it would give that one by subtraction).
        if f.code != code::WITHHELD && sensitive_family.contains(f.question.as_str()) {
            if n < 2 * k {
                a.findings.push(format!("{at}: en känslig fråga i ett tvärsnitt med {n} svarande (under {})", 2 * k));
            } else if f.group != super::OVERALL && small_beside {
                a.findings.push(format!("{at}: en känslig fråga utanför alla, bredvid ett tvärsnitt under {}", 2 * k));
            }
        }
        // A question for some groups only has those groups' respondents for its base, and
        // the rest of the cross-section for what it leaves.
        if on_roster.get(f.question.as_str()) == Some(&true) && f.code != code::WITHHELD {
            if small(f.base) {
                a.findings.push(format!("{at}: en fråga till en del av mottagarna, med {} svarande", f.base));
            }
            if f.code == code::ANSWERED && small(n.saturating_sub(f.base)) {
                a.findings.push(format!("{at}: en fråga till en del av mottagarna lämnar {} svarande", n - f.base));
            }
        }
    }
    // A single choice's sensitive answers, added up: everyone in a small section gave one.
    let mut sensitive_sums: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for f in figures {
        if let Some(q) = survey.question(&f.question)
            && matches!(q.kind, Kind::Single { .. })
            && q.sensitive.contains(&f.code)
        {
            *sensitive_sums.entry((f.group.as_str(), f.question.as_str())).or_default() += f.count as u64;
        }
    }
    for ((group, question), sum) in sensitive_sums {
        let n = respondents.get(group).copied().unwrap_or(0);
        if everyone_gave(sum, n, k) {
            a.findings.push(format!("{question} i {group}: alla {n} gav ett känsligt svar"));
        }
    }
    // A sum published in two cross-sections gives the sum of their difference.
    let sums: Vec<&Figure> = figures.iter().filter(|f| f.code == code::SUM).collect();
    for outer in &sums {
        for inner in &sums {
            if outer.question == inner.question
                && outer.group != inner.group
                && leaves(&inner.group).is_subset(&leaves(&outer.group))
            {
                a.differences += 1;
                if small(outer.base.saturating_sub(inner.base)) {
                    a.findings.push(format!(
                        "{} {} minus {} ger en summa av {} värden",
                        outer.question,
                        outer.group,
                        inner.group,
                        outer.base - inner.base
                    ));
                }
            }
        }
    }

    // 4. The responses export: no group and category shared by fewer than k rows, unless
    // the round is too small to publish anything (then there is no class of k to be in).
    if !tallies.too_few {
        for ((g, c), n) in export_classes {
            if small(*n) {
                a.findings.push(format!("svarsfilen: {g}/{c} har {n} rader (under {k})"));
            }
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::{Answers, RawAnswers, RosterAttributes, Survey, parse};
    use crate::tally::disclosure::{round_plan, stored_category};
    use crate::tally::{Counter, PublishedSection};
    use proptest::prelude::*;

    fn survey() -> Survey {
        parse(include_str!("../../surveys/lagesbild.toml")).unwrap()
    }

    /// A valid set of answers from a few random choices.
    fn answers(s: &Survey, roster: &RosterAttributes, pick: [u8; 5]) -> Answers {
        let mut raw = RawAnswers::new();
        let mut put = |k: &str, v: &str| raw.entry(k.to_string()).or_default().push(v.to_string());
        put("observerat", ["ja", "nej", "vet_ej"][pick[0] as usize % 3]);
        if pick[0].is_multiple_of(3) {
            put("uttryck.klotter", ["vit_makt", "autonoma", "islamistisk"][pick[1] as usize % 3]);
        }
        if pick[2].is_multiple_of(2) {
            put("anhoriga", "ja");
            put("anhoriga_antal", &(pick[3] % 9 + 1).to_string());
            put("anhoriga_miljo", "autonoma");
        } else {
            put("anhoriga", "nej");
        }
        put("avhoppare", ["ja", "nej"][pick[4] as usize % 2]);
        put("vet_vart_vanda", ["ja", "delvis", "nej"][pick[1] as usize % 3]);
        if roster.group == "intern" {
            put("webbutbildning", "ja");
            put("orosanmalningar", &(pick[3] % 4).to_string());
        }
        s.validate(roster, &raw).unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// A round as the service stores and publishes it: categories of too few recipients are
    /// stored as "övriga", every output folds with the round's one pattern.
    fn audit_of(roster: &[(String, String, bool, [u8; 5])], threshold: u64) -> Audit {
        let s = survey();
        let mut invited: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (g, c, ..) in roster {
            *invited.entry((g.clone(), c.clone())).or_default() += 1;
        }
        let mut counter = Counter::default();
        let mut stored: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (g, c, answered, pick) in roster.iter().filter(|r| r.2) {
            let _ = answered;
            let sharing = invited[&(g.clone(), c.clone())];
            let category = stored_category(c, sharing, threshold).to_string();
            let roster = RosterAttributes { group: g.clone(), category };
            counter.add(&s, &roster, &answers(&s, &roster, *pick));
            *stored.entry((roster.group, roster.category)).or_default() += 1;
        }
        let tallies = counter.publish(2027, threshold, &invited);
        let plan = round_plan(stored.clone(), &invited, threshold);
        let mut classes: BTreeMap<(String, String), u64> = BTreeMap::new();
        for ((g, c), n) in stored {
            *classes.entry(plan.recode(&g, &c)).or_default() += n;
        }
        audit(&s, &tallies, &tallies.figures(&s), &classes)
    }

    fn recipient() -> impl Strategy<Value = (String, String, bool, [u8; 5])> {
        (
            prop::sample::select(vec!["intern", "extern", "fackforvaltning"]),
            // A few common categories and some of one recipient each.
            prop::sample::select(vec!["skola", "skola", "forening", "fritid", "tunnelbana", "kyrka", "trafik"]),
            prop::bool::weighted(0.8),
            any::<[u8; 5]>(),
        )
            .prop_map(|(g, c, a, p)| (g.to_string(), c.to_string(), a, p))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Random rosters and answers: small groups, one-recipient categories, categories
        /// nobody answered in, the same answer from everyone, thresholds 3 to 10.
        #[test]
        fn nothing_published_rests_on_too_few_respondents(
            roster in prop::collection::vec(recipient(), 0..60),
            threshold in 3u64..=10,
            everyone_the_same in any::<bool>(),
        ) {
            let roster: Vec<_> = if everyone_the_same {
                roster.into_iter().map(|(g, c, a, _)| (g, c, a, [0, 0, 0, 1, 0])).collect()
            } else {
                roster
            };
            let a = audit_of(&roster, threshold);
            prop_assert!(a.passed(), "{:?}", a.findings);
        }
    }

    #[test]
    fn the_audit_finds_what_the_rules_would_have_kept_out() {
        let s = survey();
        let roster = RosterAttributes { group: "intern".into(), category: "skola".into() };
        let mut counter = Counter::default();
        for i in 0..7u8 {
            counter.add(&s, &roster, &answers(&s, &roster, [1, i, 1, i, 1]));
        }
        let mut tallies = counter.publish(2027, 5, &BTreeMap::new());
        let fine = audit(&s, &tallies, &tallies.figures(&s), &BTreeMap::new());
        assert!(fine.passed(), "{:?}", fine.findings);
        assert!(fine.sections > 0 && fine.figures > 0);
        // A section of three respondents published beside the whole: found on its own, and
        // as the difference it leaves (7 - 3).
        let mut small = tallies.sections[0].clone();
        small.count.respondents = 3;
        small.label = "intern/fritid".into();
        small.leaves = vec![("intern".into(), "fritid".into())];
        tallies.sections[0].leaves.push(("intern".into(), "fritid".into()));
        tallies.sections.push(PublishedSection { ..small });
        let mut figures = tallies.figures(&s);
        // A share of two respondents, a minimum, and a sum of three values.
        figures.push(Figure::plain("observerat", "alla", "ja", 1.0, Some(0.5), 2));
        figures.push(Figure::plain("orosanmalningar", "alla", "_min", 0.0, None, 7));
        figures.push(Figure::plain("orosanmalningar", "alla", code::SUM, 3.0, None, 3));
        // Two sums whose difference is four units' sum; a sensitive answer everyone gave, in a
        // round too small for sensitive questions; a question for intern only, of three.
        figures.push(Figure::plain("ia_rapporter", "alla", code::SUM, 9.0, None, 6));
        figures.push(Figure::plain("ia_rapporter", "intern/fritid", code::SUM, 1.0, None, 2));
        figures.push(Figure::plain("avhoppare", "alla", "ja", 7.0, Some(1.0), 7));
        figures.push(Figure::plain("webbutbildning", "intern/fritid", "ja", 3.0, None, 3));
        let classes = [(("intern".to_string(), "tunnelbana".to_string()), 1)].into_iter().collect();
        let found = audit(&s, &tallies, &figures, &classes);
        let all = found.findings.join("\n");
        for expected in [
            "intern/fritid bygger på 3 svarande",
            "alla minus intern/fritid ger 4 svarande",
            "en andel av 2 svarande",
            "ett minsta eller största värde",
            "ur 3 värden",
            "svarsfilen: intern/tunnelbana har 1 rader",
            "ia_rapporter alla minus intern/fritid ger en summa av 4 värden",
            "avhoppare ja  i alla: alla 7 i tvärsnittet gav ett känsligt svar",
            "en känslig fråga i ett tvärsnitt med 7 svarande (under 10)",
            "avhoppare i alla: alla 7 gav ett känsligt svar",
            "en fråga till en del av mottagarna, med 3 svarande",
        ] {
            assert!(all.contains(expected), "{expected} not in:\n{all}");
        }
        assert!(found.summary().contains("fynd") && !found.passed());
    }
}
