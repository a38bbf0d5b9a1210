//! Disclosure control: which cross-sections of the respondents may be published.
//!
//! A group or category with fewer respondents than the threshold is folded into "övriga".
//! If the folded part would itself stay under the threshold, the next smallest is folded in
//! too, so that no small part can be recovered by subtracting the published parts from the
//! total. Categories are broken down only inside groups published on their own: a group
//! folded into "övriga" shows no categories, or its categories would give it away.

use crate::survey::Survey;
use std::collections::BTreeMap;

pub const OVERALL: &str = "alla";
pub const OTHERS: &str = "övriga";
/// No round may publish cross-sections smaller than this, whatever it is configured to.
pub const MINIMUM_THRESHOLD: u64 = 3;
pub const DEFAULT_THRESHOLD: u64 = 5;

/// A published cross-section: its label and the leaves (group, category) it adds up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub label: String,
    pub leaves: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub sections: Vec<Section>,
    /// Groups and `group/category` labels that were folded into "övriga".
    pub folded: Vec<String>,
    /// Whether the round has too few respondents to publish anything at all.
    pub too_few: bool,
}

/// The category a response is stored with: its own when at least `threshold` recipients of
/// the round share its group and category, else "övriga". A category of one recipient (the
/// metro operator, one congregation) would make its row that unit's answers.
pub fn stored_category(category: &str, recipients_sharing: u64, threshold: u64) -> &str {
    if recipients_sharing >= threshold.max(MINIMUM_THRESHOLD) { category } else { OTHERS }
}

/// Group attribute disclosure: in a published cross-section of fewer than twice the
/// threshold respondents, a sensitive answer that every one of them gave would be said of
/// each of them. (`breakdowns` withholds such cross-sections whatever the answers; the
/// audit checks the figures against this as well.)
pub fn everyone_gave(count: u64, respondents: u64, threshold: u64) -> bool {
    respondents > 0 && count == respondents && respondents < 2 * threshold.max(MINIMUM_THRESHOLD)
}

/// Where a question's answers are broken down (see `breakdowns`): everywhere published,
/// for `alla` only, or nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Breakdown {
    Everywhere,
    OnlyOverall,
    Nowhere,
}

impl Breakdown {
    pub fn shows(self, section: &str) -> bool {
        match self {
            Breakdown::Everywhere => true,
            Breakdown::OnlyOverall => section == OVERALL,
            Breakdown::Nowhere => false,
        }
    }
}

/// Where each question's answers are broken down, in `Survey::questions` order. Decided
/// from the sizes of the published cross-sections and who a question is for, never from
/// the answers: withholding a question then tells nothing of them.
///
/// - A question with sensitive answers (`sensitive = [...]`): in a cross-section of fewer
///   than twice the threshold, "100 %" would say a sensitive answer of each respondent. It
///   is shown for `alla` only when any other published cross-section is that small (shown
///   anywhere else, that one could be had by subtraction), and not at all when `alla` is.
/// - A question for some groups only (its condition looks at the group): its base in a
///   cross-section is those groups' respondents there, and its figures are theirs. Where
///   that base, or the rest of the cross-section beside it, is 1 to k-1 (it would give a
///   folded group's answers or size), it is shown for `alla` only, and not at all when
///   `alla`'s is.
/// - A question shown after a withheld one has that one's answers for its base: withheld
///   with it.
pub(super) fn breakdowns(survey: &Survey, tallies: &super::Tallies) -> Vec<Breakdown> {
    let k = tallies.threshold.max(MINIMUM_THRESHOLD);
    let small = |n: u64| n > 0 && n < k;
    let on_roster = survey.depends_on_roster();
    let level = |label: &str| if label == OVERALL { Breakdown::Nowhere } else { Breakdown::OnlyOverall };
    let mut out: Vec<Breakdown> = survey
        .questions()
        .enumerate()
        .map(|(i, q)| {
            let mut b = Breakdown::Everywhere;
            for s in &tallies.sections {
                let n = s.count.respondents;
                let applied = s.count.questions.get(i).map_or(0, |c| c.applied);
                // For a question for some groups only, "everyone" is those it was for.
                let asked = if on_roster[i] { applied } else { n };
                if !q.sensitive.is_empty() && asked < 2 * k {
                    b = b.max(level(&s.label));
                }
                if on_roster[i] && (small(applied) || small(n - applied.min(n))) {
                    b = b.max(level(&s.label));
                }
            }
            b
        })
        .collect();
    let ids: Vec<&str> = survey.questions().map(|q| q.id.as_str()).collect();
    for (j, q) in survey.questions().enumerate() {
        for id in q.shown_when.iter().flat_map(|c| c.questions()) {
            if let Some(i) = ids.iter().position(|x| *x == id) {
                out[j] = out[j].max(out[i]);
            }
        }
    }
    out
}

/// An imported year's figures, under the rules the round's own figures obey. Only `alla` is
/// kept: an earlier year's groups and categories cannot be checked against subtraction (the
/// file need not give them all). The year's respondents are its `_svarande`, or failing
/// that the largest base among its figures; under k, nothing of the year is kept. No
/// minimum or maximum; sums and medians only from k values; shares only from a base of k;
/// sensitive questions (and those shown after them) only from 2k respondents; a question
/// for some groups only not from a base of fewer than k. Without a round's survey to say
/// which questions those are, every question is taken to be both.
pub fn publishable_history(
    mut figures: Vec<super::Figure>,
    survey: Option<&Survey>,
    threshold: u64,
) -> Vec<super::Figure> {
    use super::{RESPONSE_RATE, code};
    let k = threshold.max(MINIMUM_THRESHOLD);
    figures.retain(|f| f.group == OVERALL);
    let respondents = figures
        .iter()
        .find(|f| f.question == RESPONSE_RATE && f.code == code::RESPONDENTS)
        .map(|f| f.count as u64)
        .unwrap_or_else(|| figures.iter().map(|f| f.base).max().unwrap_or(0));
    if respondents < k {
        return Vec::new();
    }
    let on_roster: BTreeMap<&str, bool> =
        survey.map(|s| s.questions().map(|q| q.id.as_str()).zip(s.depends_on_roster()).collect()).unwrap_or_default();
    let sensitive: Vec<&str> = survey
        .iter()
        .flat_map(|s| s.questions().zip(s.follows_sensitive()))
        .filter(|(_, on)| *on)
        .map(|(q, _)| q.id.as_str())
        .collect();
    let is_sensitive = |q: &str| survey.is_none() || sensitive.contains(&q);
    let is_on_roster = |q: &str| survey.is_none() || on_roster.get(q) == Some(&true);
    figures.retain(|f| {
        f.code != "_min"
            && f.code != "_max"
            && !((f.code == code::SUM || f.code == code::MEDIAN) && f.base < k)
            && !(is_sensitive(&f.question) && respondents < 2 * k)
            && !(is_on_roster(&f.question) && f.base > 0 && f.base < k)
            // Counts of incident reports obey the same k (see `incident::count`).
            && !(f.question == crate::incident::TALLY_QUESTION && f.count > 0.0 && f.count < k as f64)
    });
    for f in &mut figures {
        if f.base < k {
            f.share = None;
        }
    }
    figures
}

/// Splits parts (label, respondents) into those shown on their own and those folded. A
/// part already called "övriga" (responses stored so) is folded whatever its size.
fn fold<'a>(parts: &[(&'a str, u64)], threshold: u64) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut sorted: Vec<(&str, u64)> = parts.to_vec();
    sorted.sort_by_key(|&(label, n)| (n, label));
    let small = |&(label, n): &(&str, u64)| n < threshold || label == OTHERS;
    let mut folded: Vec<(&str, u64)> = sorted.iter().copied().filter(small).collect();
    let mut shown: Vec<(&str, u64)> = sorted.iter().copied().filter(|p| !small(p)).collect();
    // Complementary folding: a folded part under the threshold takes the smallest shown part in.
    while !folded.is_empty() && folded.iter().map(|p| p.1).sum::<u64>() < threshold && !shown.is_empty() {
        folded.push(shown.remove(0));
    }
    let labels = |v: Vec<(&'a str, u64)>| {
        let mut l: Vec<&str> = v.into_iter().map(|p| p.0).collect();
        l.sort();
        l
    };
    (labels(shown), labels(folded))
}

/// The round's one fold pattern, from respondents per (group, category) and the roster's
/// (group, category) pairs, which count with 0 respondents where nobody answered. Every
/// output of a round (tallies, charts, report, results page, responses export) uses it.
pub fn round_plan(
    mut respondents: BTreeMap<(String, String), u64>,
    invited: &BTreeMap<(String, String), u64>,
    threshold: u64,
) -> Plan {
    for leaf in invited.keys() {
        respondents.entry(leaf.clone()).or_insert(0);
    }
    plan(&respondents, threshold)
}

/// Plans the published cross-sections from respondents per (group, category).
pub fn plan(leaves: &BTreeMap<(String, String), u64>, threshold: u64) -> Plan {
    let threshold = threshold.max(MINIMUM_THRESHOLD);
    let total: u64 = leaves.values().sum();
    if total < threshold {
        return Plan { sections: Vec::new(), folded: Vec::new(), too_few: true };
    }
    let all_leaves: Vec<(String, String)> = leaves.keys().cloned().collect();
    let mut plan = Plan { sections: vec![Section { label: OVERALL.into(), leaves: all_leaves }], ..Plan::default() };

    let mut groups: BTreeMap<&str, u64> = BTreeMap::new();
    for ((g, _), n) in leaves {
        *groups.entry(g.as_str()).or_default() += n;
    }
    let parts: Vec<(&str, u64)> = groups.iter().map(|(g, n)| (*g, *n)).collect();
    let (shown, folded) = fold(&parts, threshold);
    let leaves_of = |pred: &dyn Fn(&str, &str) -> bool| -> Vec<(String, String)> {
        leaves.keys().filter(|(g, c)| pred(g, c)).cloned().collect()
    };
    for g in &shown {
        plan.sections.push(Section { label: g.to_string(), leaves: leaves_of(&|lg, _| lg == *g) });
    }
    // "övriga" equal to everything would only repeat "alla".
    if !folded.is_empty() && !shown.is_empty() {
        plan.sections.push(Section { label: OTHERS.into(), leaves: leaves_of(&|lg, _| folded.contains(&lg)) });
    }
    plan.folded.extend(folded.iter().map(|g| g.to_string()));

    for g in &shown {
        let parts: Vec<(&str, u64)> =
            leaves.iter().filter(|((lg, _), _)| lg == g).map(|((_, c), n)| (c.as_str(), *n)).collect();
        let (cats, folded_cats) = fold(&parts, threshold);
        // Every category small: the group is shown, its categories are not. A single
        // category would only repeat the group.
        let named = |c: &&&str| **c != OTHERS;
        if cats.is_empty() || (cats.len() == 1 && folded_cats.is_empty()) {
            plan.folded.extend(folded_cats.iter().filter(named).map(|c| format!("{g}/{c}")));
            continue;
        }
        for c in &cats {
            plan.sections.push(Section { label: format!("{g}/{c}"), leaves: vec![(g.to_string(), c.to_string())] });
        }
        if !folded_cats.is_empty() {
            let folded_leaves = folded_cats.iter().map(|c| (g.to_string(), c.to_string())).collect();
            plan.sections.push(Section { label: format!("{g}/{OTHERS}"), leaves: folded_leaves });
        }
        plan.folded.extend(folded_cats.iter().filter(named).map(|c| format!("{g}/{c}")));
    }
    plan
}

impl Plan {
    /// The group and category a response is exported with: its own where the tallies
    /// publish that cross-section, else the "övriga" the tallies fold it into. The same
    /// pattern as every published figure, so the file and the tallies cannot be played
    /// against each other.
    pub fn recode(&self, group: &str, category: &str) -> (String, String) {
        let published = |label: &str| self.sections.iter().any(|s| s.label == label);
        if self.too_few || !published(group) {
            (OTHERS.into(), OTHERS.into())
        } else if self.folded.iter().any(|f| *f == format!("{group}/{category}")) || category == OTHERS {
            (group.into(), OTHERS.into())
        } else {
            (group.into(), category.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(spec: &[(&str, &str, u64)]) -> BTreeMap<(String, String), u64> {
        spec.iter().map(|(g, c, n)| ((g.to_string(), c.to_string()), *n)).collect()
    }

    fn labels(p: &Plan) -> Vec<&str> {
        p.sections.iter().map(|s| s.label.as_str()).collect()
    }

    #[test]
    fn small_categories_are_folded_with_the_next_smallest_so_none_can_be_subtracted_out() {
        let p = plan(&leaves(&[("intern", "skola", 12), ("intern", "forskola", 7), ("intern", "fritid", 2)]), 5);
        // fritid (2) alone in "övriga" would be intern minus skola minus forskola: forskola goes in too.
        assert_eq!(labels(&p), ["alla", "intern", "intern/skola", "intern/övriga"]);
        assert_eq!(p.folded, ["intern/forskola", "intern/fritid"]);
        let others = p.sections.iter().find(|s| s.label == "intern/övriga").unwrap();
        assert_eq!(others.leaves.len(), 2);
    }

    #[test]
    fn a_small_group_is_folded_and_shows_no_categories() {
        let p = plan(
            &leaves(&[
                ("intern", "skola", 9),
                ("intern", "fritid", 6),
                ("extern", "forening", 8),
                ("fackforvaltning", "trafik", 3),
                ("fackforvaltning", "utbildning", 1),
            ]),
            5,
        );
        // fackforvaltning (4) is folded with extern (8), the smallest group shown otherwise.
        assert_eq!(labels(&p), ["alla", "intern", "övriga", "intern/fritid", "intern/skola"]);
        assert!(p.folded.contains(&"fackforvaltning".to_string()) && p.folded.contains(&"extern".to_string()));
    }

    #[test]
    fn a_folded_part_large_enough_stands_on_its_own() {
        let p = plan(&leaves(&[("intern", "a", 10), ("intern", "b", 3), ("intern", "c", 3), ("extern", "x", 10)]), 5);
        assert_eq!(labels(&p), ["alla", "extern", "intern", "intern/a", "intern/övriga"]);
    }

    #[test]
    fn too_few_respondents_publish_nothing_and_the_threshold_never_goes_below_three() {
        assert!(plan(&leaves(&[("intern", "a", 4)]), 5).too_few);
        let p = plan(&leaves(&[("intern", "a", 2), ("extern", "b", 2)]), 1);
        assert_eq!(labels(&p), ["alla"], "a threshold of 1 is raised to 3: both groups are folded");
        let p = plan(&leaves(&[("intern", "a", 3), ("extern", "b", 3)]), 1);
        assert_eq!(labels(&p), ["alla", "extern", "intern"]);
    }

    #[test]
    fn when_every_category_is_small_the_group_is_shown_without_a_breakdown() {
        let p = plan(&leaves(&[("intern", "a", 2), ("intern", "b", 2), ("intern", "c", 2)]), 5);
        assert_eq!(labels(&p), ["alla", "intern"]);
    }

    #[test]
    fn a_category_few_recipients_share_is_stored_as_others() {
        assert_eq!(stored_category("tunnelbana", 1, 5), OTHERS);
        assert_eq!(stored_category("tunnelbana", 4, 5), OTHERS);
        assert_eq!(stored_category("skola", 5, 5), "skola");
        // A round configured under the minimum still keeps categories of fewer than 3 out.
        assert_eq!(stored_category("skola", 2, 1), OTHERS);
    }

    #[test]
    fn responses_stored_as_others_are_folded_with_the_small_categories_under_one_label() {
        let l = leaves(&[("extern", "forening", 9), ("extern", OTHERS, 6), ("extern", "kyrka", 2)]);
        let p = plan(&l, 5);
        assert_eq!(labels(&p), ["alla", "extern", "extern/forening", "extern/övriga"]);
        assert_eq!(p.folded, ["extern/kyrka"]);
        let others = p.sections.iter().find(|s| s.label == "extern/övriga").unwrap();
        assert_eq!(others.leaves.len(), 2);
    }

    #[test]
    fn the_export_recodes_as_the_tallies_fold() {
        let l = leaves(&[
            ("intern", "skola", 12),
            ("intern", "forskola", 7),
            ("intern", "fritid", 2),
            ("extern", "forening", 3),
            ("fackforvaltning", "trafik", 6),
        ]);
        let p = round_plan(l, &leaves(&[("intern", "bibliotek", 1)]), 5);
        assert_eq!(p.recode("intern", "skola"), ("intern".into(), "skola".into()));
        // forskola (7) is folded to protect fritid (2): the export folds it too.
        assert_eq!(p.recode("intern", "forskola"), ("intern".into(), OTHERS.into()));
        assert_eq!(p.recode("intern", "fritid"), ("intern".into(), OTHERS.into()));
        assert_eq!(p.recode("intern", OTHERS), ("intern".into(), OTHERS.into()));
        // extern (3) is folded with fackforvaltning (6) into the groups' "övriga".
        assert_eq!(p.recode("extern", "forening"), (OTHERS.into(), OTHERS.into()));
        assert_eq!(p.recode("fackforvaltning", "trafik"), (OTHERS.into(), OTHERS.into()));
        let too_few = plan(&leaves(&[("intern", "skola", 2)]), 5);
        assert_eq!(too_few.recode("intern", "skola"), (OTHERS.into(), OTHERS.into()));
    }

    #[test]
    fn imported_years_obey_the_rules_of_the_rounds() {
        let survey = crate::survey::parse(include_str!("../../surveys/lagesbild.toml")).unwrap();
        let f =
            |question: &str, group: &str, code: &str, count: f64, share: Option<f64>, base: u64| super::super::Figure {
                year: 2017,
                ..super::super::Figure::plain(question, group, code, count, share, base)
            };
        let kept = publishable_history(
            vec![
                f("observerat", "alla", "ja", 4.0, Some(0.25), 16),
                f("vet_vart_vanda", "alla", "ja", 9.0, Some(0.5625), 16),
                f("anhoriga_miljo", "alla", "autonoma", 2.0, Some(1.0), 2),
                f("anhoriga_antal", "alla", "_min", 1.0, None, 9),
                f("ia_rapporter", "alla", "_summa", 4.0, None, 3),
                f("observerat", "intern", "ja", 2.0, Some(0.2), 10),
            ],
            Some(&survey),
            5,
        );
        let said: Vec<(&str, &str, Option<f64>)> =
            kept.iter().map(|f| (f.question.as_str(), f.group.as_str(), f.share)).collect();
        assert_eq!(
            said,
            [
                ("observerat", "alla", Some(0.25)),
                ("vet_vart_vanda", "alla", Some(0.5625)),
                ("anhoriga_miljo", "alla", None)
            ]
        );
        // Sixteen respondents are under twice the threshold of ten: no sensitive question.
        let kept = publishable_history(vec![f("observerat", "alla", "ja", 4.0, Some(0.25), 16)], Some(&survey), 10);
        assert!(kept.is_empty());
        // A year of four respondents keeps nothing.
        let kept = publishable_history(vec![f("vet_vart_vanda", "alla", "ja", 2.0, Some(0.5), 4)], Some(&survey), 5);
        assert!(kept.is_empty());
    }
}
