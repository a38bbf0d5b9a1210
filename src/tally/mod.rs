//! Tallies: the counts, shares and statistics of a round's answers, per published
//! cross-section (everyone, each group, each category), computed from the definition and
//! the stored answers in one pass.

pub mod disclosure;

use crate::survey::{Answer, Answers, Kind, RosterAttributes, Survey};
use std::collections::BTreeMap;

pub use disclosure::{DEFAULT_THRESHOLD, MINIMUM_THRESHOLD, OTHERS, OVERALL};

/// Special codes in the tallies beside the option codes.
pub mod code {
    /// Respondents who answered the question (the rest of the base skipped it).
    pub const ANSWERED: &str = "_besvarade";
    /// Grid: respondents who ticked any column of the row.
    pub const ANY: &str = "_nagon";
    pub const SUM: &str = "_summa";
    pub const MEDIAN: &str = "_median";
    pub const INVITED: &str = "_inbjudna";
    pub const RESPONDENTS: &str = "_svarande";
}

/// The pseudo-question of the response rate.
pub const RESPONSE_RATE: &str = "_svarsfrekvens";

/// The running count of one question within one cross-section.
#[derive(Debug, Clone, Default)]
struct QuestionCount {
    /// Respondents to whom the question applied: the base of every share.
    applied: u64,
    answered: u64,
    /// Per option (single, multiple) or per grid column of any row.
    codes: Vec<u64>,
    /// Grid: rows × columns, and per row "any column".
    cells: Vec<Vec<u64>>,
    rows_any: Vec<u64>,
    /// Number answers as value -> respondents; bounded by the question's range.
    numbers: BTreeMap<i64, u64>,
}

impl QuestionCount {
    fn merge(&mut self, other: &QuestionCount) {
        self.applied += other.applied;
        self.answered += other.answered;
        add(&mut self.codes, &other.codes);
        add(&mut self.rows_any, &other.rows_any);
        if self.cells.len() < other.cells.len() {
            self.cells.resize(other.cells.len(), Vec::new());
        }
        for (mine, theirs) in self.cells.iter_mut().zip(&other.cells) {
            add(mine, theirs);
        }
        for (v, n) in &other.numbers {
            *self.numbers.entry(*v).or_default() += n;
        }
    }
}

fn add(mine: &mut Vec<u64>, theirs: &[u64]) {
    if mine.len() < theirs.len() {
        mine.resize(theirs.len(), 0);
    }
    for (m, t) in mine.iter_mut().zip(theirs) {
        *m += t;
    }
}

/// Counts of one cross-section: respondents, and one `QuestionCount` per question in
/// the order of `Survey::questions`.
#[derive(Debug, Clone, Default)]
pub struct Count {
    pub respondents: u64,
    questions: Vec<QuestionCount>,
}

impl Count {
    fn merge(&mut self, other: &Count) {
        self.respondents += other.respondents;
        if self.questions.len() < other.questions.len() {
            self.questions.resize(other.questions.len(), QuestionCount::default());
        }
        for (mine, theirs) in self.questions.iter_mut().zip(&other.questions) {
            mine.merge(theirs);
        }
    }
}

/// Answers counted per (group, category), the finest cross-section; every published one
/// is a sum of these. Counters of parts of a round (counted in parallel) add up by `merge`.
#[derive(Debug, Default)]
pub struct Counter {
    leaves: BTreeMap<(String, String), Count>,
}

impl Counter {
    /// Counts one response. Whether a question applied is decided again from the answers
    /// and the roster attributes, as the form decided it.
    pub fn add(&mut self, survey: &Survey, roster: &RosterAttributes, answers: &Answers) {
        // Most responses belong to a leaf already seen: look it up without building a key.
        let is_leaf = |(g, c): &(String, String)| *g == roster.group && *c == roster.category;
        if !self.leaves.keys().any(is_leaf) {
            let fresh =
                Count { respondents: 0, questions: survey.questions().map(|_| QuestionCount::default()).collect() };
            self.leaves.insert((roster.group.clone(), roster.category.clone()), fresh);
        }
        let (_, count) = self.leaves.iter_mut().find(|(k, _)| is_leaf(k)).expect("inserted above");
        count.respondents += 1;
        for (q, c) in survey.questions().zip(count.questions.iter_mut()) {
            if !q.applies(answers, roster) {
                continue;
            }
            c.applied += 1;
            let Some(answer) = answers.get(&q.id) else { continue };
            c.answered += 1;
            match (&q.kind, answer) {
                (Kind::Single { options }, Answer::One(code)) => {
                    tick(&mut c.codes, options.len(), position(options, code))
                }
                (Kind::Multiple { options }, Answer::Many(codes)) => {
                    for code in codes {
                        tick(&mut c.codes, options.len(), position(options, code));
                    }
                }
                (Kind::Grid { rows, columns }, Answer::Grid(grid)) => {
                    if c.cells.is_empty() {
                        c.cells = vec![vec![0; columns.len()]; rows.len()];
                        c.rows_any = vec![0; rows.len()];
                    }
                    for (row, ticked) in grid {
                        let Some(r) = position(rows, row) else { continue };
                        c.rows_any[r] += u64::from(!ticked.is_empty());
                        for col in ticked {
                            if let Some(k) = position(columns, col) {
                                c.cells[r][k] += 1;
                            }
                        }
                    }
                }
                (Kind::Number { .. }, Answer::Number(n)) => *c.numbers.entry(*n).or_default() += 1,
                _ => {} // Free text is never tallied beyond "answered".
            }
        }
    }

    pub fn merge(&mut self, other: Counter) {
        for (leaf, count) in other.leaves {
            self.leaves.entry(leaf).or_default().merge(&count);
        }
    }

    /// Respondents per (group, category).
    pub fn respondents(&self) -> BTreeMap<(String, String), u64> {
        self.leaves.iter().map(|(k, c)| (k.clone(), c.respondents)).collect()
    }

    /// The published tallies: cross-sections as disclosure control allows.
    pub fn publish(&self, year: i64, threshold: u64, invited: &BTreeMap<(String, String), u64>) -> Tallies {
        let mut respondents = self.respondents();
        for leaf in invited.keys() {
            respondents.entry(leaf.clone()).or_insert(0);
        }
        let plan = disclosure::plan(&respondents, threshold);
        let sections = plan
            .sections
            .iter()
            .map(|s| {
                let mut count = Count::default();
                let mut invited_here = 0;
                for leaf in &s.leaves {
                    if let Some(c) = self.leaves.get(leaf) {
                        count.merge(c);
                    }
                    invited_here += invited.get(leaf).copied().unwrap_or(0);
                }
                PublishedSection { label: s.label.clone(), invited: invited_here, count }
            })
            .collect();
        Tallies {
            year,
            threshold: threshold.max(MINIMUM_THRESHOLD),
            sections,
            folded: plan.folded,
            too_few: plan.too_few,
        }
    }
}

fn position(options: &[crate::survey::Choice], code: &str) -> Option<usize> {
    options.iter().position(|o| o.code == code)
}

fn tick(counts: &mut Vec<u64>, len: usize, at: Option<usize>) {
    if counts.is_empty() {
        counts.resize(len, 0);
    }
    if let Some(i) = at {
        counts[i] += 1;
    }
}

#[derive(Debug, Clone)]
pub struct PublishedSection {
    /// `alla`, a group, `övriga`, `group/category` or `group/övriga`.
    pub label: String,
    pub invited: u64,
    pub count: Count,
}

/// A round's published tallies.
#[derive(Debug, Clone)]
pub struct Tallies {
    pub year: i64,
    pub threshold: u64,
    pub sections: Vec<PublishedSection>,
    /// What was folded into "övriga" (groups, and `group/category`).
    pub folded: Vec<String>,
    /// Fewer respondents than the threshold in all: nothing is published.
    pub too_few: bool,
}

/// One published figure: a row of the tallies CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub question: String,
    pub row: String,
    pub column: String,
    /// The cross-section (see `PublishedSection::label`).
    pub group: String,
    pub code: String,
    pub count: f64,
    /// `count / base`, where a share makes sense.
    pub share: Option<f64>,
    pub base: u64,
    pub year: i64,
}

fn share(count: u64, base: u64) -> Option<f64> {
    (base > 0).then(|| count as f64 / base as f64)
}

fn median(numbers: &BTreeMap<i64, u64>, n: u64) -> Option<f64> {
    if n == 0 {
        return None;
    }
    // The values at positions (n-1)/2 and n/2 (0-based), averaged.
    let (lo_at, hi_at) = ((n - 1) / 2, n / 2);
    let (mut lo, mut hi, mut seen) = (None, None, 0);
    for (&v, &k) in numbers {
        if lo.is_none() && seen + k > lo_at {
            lo = Some(v);
        }
        if seen + k > hi_at {
            hi = Some(v);
            break;
        }
        seen += k;
    }
    Some((lo? + hi?) as f64 / 2.0)
}

impl Tallies {
    pub fn section(&self, label: &str) -> Option<&PublishedSection> {
        self.sections.iter().find(|s| s.label == label)
    }

    /// Every figure, cross-section by cross-section, questions in survey order.
    pub fn figures(&self, survey: &Survey) -> Vec<Figure> {
        // A number question's sum and median go out only if no published cross-section holds
        // between 1 and k-1 of its values: otherwise that cross-section's sum could be had by
        // subtraction (the total minus the others), so the question's magnitudes are withheld
        // in every cross-section.
        let magnitudes_safe: Vec<bool> = (0..survey.questions().count())
            .map(|i| {
                self.sections.iter().all(|s| {
                    let n = s.count.questions.get(i).map_or(0, |c| c.answered);
                    n == 0 || n >= self.threshold
                })
            })
            .collect();
        let mut out = Vec::new();
        for s in &self.sections {
            let mut push =
                |question: &str, row: &str, column: &str, code: &str, count: f64, share: Option<f64>, base: u64| {
                    out.push(Figure {
                        question: question.into(),
                        row: row.into(),
                        column: column.into(),
                        group: s.label.clone(),
                        code: code.into(),
                        count,
                        share,
                        base,
                        year: self.year,
                    })
                };
            let respondents = s.count.respondents;
            push(RESPONSE_RATE, "", "", code::INVITED, s.invited as f64, None, s.invited);
            push(
                RESPONSE_RATE,
                "",
                "",
                code::RESPONDENTS,
                respondents as f64,
                share(respondents, s.invited),
                s.invited,
            );
            for (i, q) in survey.questions().enumerate() {
                let empty = QuestionCount::default();
                let c = s.count.questions.get(i).unwrap_or(&empty);
                let base = c.applied;
                let of = |v: &Vec<u64>, i: usize| v.get(i).copied().unwrap_or(0);
                push(&q.id, "", "", code::ANSWERED, c.answered as f64, share(c.answered, base), base);
                match &q.kind {
                    Kind::Single { options } | Kind::Multiple { options } => {
                        for (k, o) in options.iter().enumerate() {
                            push(&q.id, "", "", &o.code, of(&c.codes, k) as f64, share(of(&c.codes, k), base), base);
                        }
                    }
                    Kind::Grid { rows, columns } => {
                        for (r, row) in rows.iter().enumerate() {
                            let any = of(&c.rows_any, r);
                            push(&q.id, &row.code, "", code::ANY, any as f64, share(any, base), base);
                            for (k, col) in columns.iter().enumerate() {
                                let n = c.cells.get(r).map_or(0, |cells| of(cells, k));
                                push(&q.id, &row.code, &col.code, "", n as f64, share(n, base), base);
                            }
                        }
                    }
                    // A magnitude is published only when at least k respondents gave a value
                    // (and, above, none of its cross-sections has fewer): with fewer, a sum or
                    // median is a few units' own figures. Minimum and
                    // maximum never are (each is one respondent's value); they stay in the
                    // analyst's responses file.
                    Kind::Number { .. } if magnitudes_safe[i] && c.answered >= self.threshold => {
                        let n = c.answered;
                        let sum: i64 = c.numbers.iter().map(|(v, k)| v * *k as i64).sum();
                        push(&q.id, "", "", code::SUM, sum as f64, None, n);
                        if let Some(m) = median(&c.numbers, n) {
                            push(&q.id, "", "", code::MEDIAN, m, None, n);
                        }
                    }
                    Kind::Number { .. } => {}
                    Kind::Text { .. } => {}
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::{RawAnswers, parse};

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
            .find(|f| {
                f.group == group && f.question == question && f.row == row && f.column == column && f.code == code
            })
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
        let invited =
            [(("intern".to_string(), "intern_kat".to_string()), 8), (("extern".into(), "extern_kat".into()), 10)]
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
        // Five internal units gave numbers, and two of five external ones: the total (7 values)
        // and the internal sum (5) would each pass, and their difference is two units' own sum.
        for (group, with_number) in [("intern", 5), ("extern", 2)] {
            for i in 0..5 {
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
        let invited =
            [(("intern".to_string(), "intern_kat".to_string()), 5), (("extern".into(), "extern_kat".into()), 5)]
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
}
