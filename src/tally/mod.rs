//! Tallies: the counts, shares and statistics of a round's answers, per published
//! cross-section (everyone, each group, each category), computed from the definition and
//! the stored answers in one pass.

pub mod audit;
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
    /// In place of a question's figures in a cross-section where they are withheld (see
    /// `disclosure::breakdowns`). Count and base are 0: a question shown after a withheld
    /// one has for its base the number who gave an answer there.
    pub const WITHHELD: &str = "_skyddat";
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
        let plan = disclosure::round_plan(self.respondents(), invited, threshold);
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
                PublishedSection { label: s.label.clone(), leaves: s.leaves.clone(), invited: invited_here, count }
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
    /// The (group, category) pairs it adds up.
    pub leaves: Vec<(String, String)>,
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
        let breakdown = disclosure::breakdowns(survey, self);
        let magnitudes_safe: Vec<bool> = (0..survey.questions().count())
            .map(|i| {
                // Only the cross-sections where the question is shown: whether one where it
                // is withheld has few values must not decide, or withholding would tell it.
                self.sections.iter().filter(|s| breakdown[i].shows(&s.label)).all(|s| {
                    let n = s.count.questions.get(i).map_or(0, |c| c.answered);
                    n == 0 || n >= self.threshold
                })
            })
            .collect();
        let threshold = self.threshold.max(MINIMUM_THRESHOLD);
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
                        // A figure's own base decides: a share of fewer than k respondents
                        // (those a question applied to) is each one's answer, so only the
                        // count is published, a count of respondents of a published section.
                        share: share.filter(|_| base >= threshold),
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
                if !breakdown[i].shows(&s.label) {
                    push(&q.id, "", "", code::WITHHELD, 0.0, None, 0);
                    continue;
                }
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
mod tests;
