//! Incident reports: the year-round "Blankett för oidentifierad information". Staff report one
//! observation through a reporting link, without an account; the coordinator reads the list,
//! marks reports that turn out to have no connection to violent extremism or to be
//! misregistered, and the year's counted reports enter the tallies and the report.
//!
//! The form is a definition in `surveys/incidenter/`, checked like a questionnaire; this
//! module reads its answers by the stable question ids in `QUESTIONS`. Nothing here knows
//! who reported: a report holds the month, the kind of place, what and which milieu.

use crate::round::MONTHS;
use crate::survey::{Answer, Answers, FieldError, Kind, Survey};
use crate::tally::{Figure, OVERALL, code};
use jiff::civil::Date;

/// The question ids the form must have, and the kind each must be.
pub const QUESTIONS: [(&str, &str); 10] = [
    ("manad", "single"),
    ("ar", "number"),
    ("plats", "single"),
    ("omrade", "single"),
    ("uttryck", "multiple"),
    ("miljo", "single"),
    ("polis", "single"),
    ("ia", "single"),
    ("forvaltning", "single"),
    ("beskrivning", "text"),
];

/// The pseudo-question of the incident reports in the tallies: rows are kinds, columns milieus.
pub const TALLY_QUESTION: &str = "_incidentrapporter";
/// The count of reports, in place of an option code.
pub const REPORTS: &str = "_rapporter";

/// The file of the form among the shipped surveys.
pub const FORM_FILE: &str = "incidenter/blankett.toml";

/// Reports a link takes in one day unless the coordinator sets another cap.
pub const DEFAULT_DAILY_CAP: i64 = 50;

/// The form's definition, checked to have every question the incident list reads.
#[derive(Debug, Clone)]
pub struct Form {
    pub survey: Survey,
}

impl Form {
    pub fn new(survey: Survey) -> Result<Form, String> {
        for (id, kind) in QUESTIONS {
            match survey.question(id) {
                None => return Err(format!("the incident form `{}` has no question `{id}` ({kind})", survey.id)),
                Some(q) if q.kind.name() != kind => {
                    return Err(format!(
                        "the incident form's question `{id}` must be of kind {kind}, not {}",
                        q.kind.name()
                    ));
                }
                Some(_) => {}
            }
        }
        if survey.questions().any(|q| q.shown_when.is_some()) {
            return Err("the incident form is one page without conditions: remove `shown_when`".into());
        }
        Ok(Form { survey })
    }

    /// Where the form's kinds and milieus differ from the rows and columns of a
    /// questionnaire's `uttryck` grid, which the reports are counted by: a sentence saying
    /// what will not be counted. Order does not matter.
    pub fn differences(&self, questionnaire: &Survey) -> Option<String> {
        let Some(Kind::Grid { rows, columns }) = questionnaire.question("uttryck").map(|q| &q.kind) else {
            return None;
        };
        let codes =
            |c: &[crate::survey::Choice]| c.iter().map(|c| c.code.clone()).collect::<std::collections::BTreeSet<_>>();
        let own = |q: &str| self.labels(q).into_iter().map(|(c, _)| c).collect::<std::collections::BTreeSet<_>>();
        let missing: Vec<String> = [("uttryck", codes(rows)), ("miljo", codes(columns))]
            .into_iter()
            .flat_map(|(q, theirs)| own(q).difference(&theirs).map(|c| format!("{q} {c}")).collect::<Vec<_>>())
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "the incident form has codes the questionnaire `{}` does not ({}): reports with them are left out of its counts",
                questionnaire.id,
                missing.join(", ")
            )
        })
    }

    /// The labels of a question's options, by code.
    pub fn labels(&self, question: &str) -> Vec<(String, String)> {
        match self.survey.question(question).map(|q| &q.kind) {
            Some(Kind::Single { options } | Kind::Multiple { options }) => {
                options.iter().map(|o| (o.code.clone(), o.label.clone())).collect()
            }
            _ => Vec::new(),
        }
    }

    pub fn label(&self, question: &str, code: &str) -> String {
        self.labels(question).into_iter().find(|(c, _)| c == code).map_or_else(|| code.to_string(), |(_, l)| l)
    }

    /// A report from the answers the survey rules accepted, checked for what they cannot
    /// say: a month not yet come, or too long ago to belong to any lägesbild still written.
    pub fn report(&self, answers: &Answers, today: Date) -> Result<Report, Vec<FieldError>> {
        let one = |id: &str| match answers.get(id) {
            Some(Answer::One(c)) => Some(c.clone()),
            _ => None,
        };
        // The month's code is its Swedish name.
        let month = one("manad").and_then(|m| MONTHS.iter().position(|n| *n == m)).map_or(0, |i| i as i8 + 1);
        let year = match answers.get("ar") {
            Some(Answer::Number(n)) => *n,
            _ => 0,
        };
        let observed = Month::new(year, month).ok_or_else(|| {
            vec![FieldError {
                question: "manad".into(), message: "Välj en månad mellan januari och december.".into()
            }]
        })?;
        let now = Month::of(today);
        if observed > now {
            return Err(vec![FieldError {
                question: "ar".into(),
                message: format!("{} har inte kommit ännu. Välj den månad du såg det.", observed.swedish()),
            }]);
        }
        if observed < now.minus(36) {
            return Err(vec![FieldError {
                question: "ar".into(),
                message: "Blanketten tar emot iakttagelser från de senaste tre åren. Kontakta samordnaren om äldre händelser.".into(),
            }]);
        }
        let kinds = match answers.get("uttryck") {
            Some(Answer::Many(k)) => k.clone(),
            _ => Vec::new(),
        };
        let text = match answers.get("beskrivning") {
            Some(Answer::One(t)) => t.trim().to_string(),
            _ => String::new(),
        };
        Ok(Report {
            observed,
            place: one("plats").unwrap_or_default(),
            area: one("omrade"),
            kinds,
            milieu: one("miljo").unwrap_or_default(),
            police: one("polis"),
            ia: one("ia"),
            administration: one("forvaltning"),
            description: text,
        })
    }
}

/// A month of a year: reports say when by month, never by day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i64,
    pub month: i8,
}

impl Month {
    pub fn new(year: i64, month: i8) -> Option<Month> {
        ((1..=12).contains(&month) && (1900..=9999).contains(&year)).then_some(Month { year, month })
    }

    pub fn of(d: Date) -> Month {
        Month { year: i64::from(d.year()), month: d.month() }
    }

    /// `2026-03`; a day (`2026-03-15`) or anything else is refused.
    pub fn parse(text: &str) -> Option<Month> {
        let (y, m) = text.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        Month::new(y.parse().ok()?, m.parse().ok()?)
    }

    pub fn minus(self, months: i64) -> Month {
        let index = self.year * 12 + i64::from(self.month - 1) - months;
        Month { year: index.div_euclid(12), month: (index.rem_euclid(12) + 1) as i8 }
    }

    /// "mars 2026".
    pub fn swedish(self) -> String {
        format!("{} {}", MONTHS[(self.month - 1) as usize], self.year)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The months a lägesbild's incident reports come from: the twelve full months before its
/// round opens, the same "senaste 12 månaderna" the questionnaire asks about.
pub fn window(opens: Date) -> (Month, Month) {
    let opening = Month::of(opens);
    (opening.minus(12), opening.minus(1))
}

/// "mars 2026 – februari 2027".
pub fn swedish_period(from: Month, to: Month) -> String {
    if from == to { from.swedish() } else { format!("{} – {}", from.swedish(), to.swedish()) }
}

/// One observation as a reporter sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub observed: Month,
    pub place: String,
    pub area: Option<String>,
    pub kinds: Vec<String>,
    pub milieu: String,
    pub police: Option<String>,
    pub ia: Option<String>,
    /// Optional: in a small administration it could narrow down who reported.
    pub administration: Option<String>,
    pub description: String,
}

/// Why a report is left out of every count, while it stays on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    NoConnection,
    Misregistered,
}

impl Exclusion {
    pub fn code(self) -> &'static str {
        match self {
            Exclusion::NoConnection => "ingen_koppling",
            Exclusion::Misregistered => "felregistrerad",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Exclusion::NoConnection => "Ingen koppling till VBE",
            Exclusion::Misregistered => "Felregistrerad",
        }
    }

    pub fn parse(code: &str) -> Option<Exclusion> {
        [Exclusion::NoConnection, Exclusion::Misregistered].into_iter().find(|e| e.code() == code)
    }
}

/// A counted report as the tallies see it: what and which milieu.
#[derive(Debug, Clone)]
pub struct Counted {
    pub kinds: Vec<String>,
    pub milieu: String,
}

/// A published count, or withheld. One kind of withheld, on purpose: were a small count told
/// apart from one withheld to protect it, the labels would bound both and could pin them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Count(u64),
    Withheld,
}

impl Shown {
    pub fn count(self) -> Option<u64> {
        match self {
            Shown::Count(n) => Some(n),
            Shown::Withheld => None,
        }
    }

    pub fn withheld(self) -> bool {
        self == Shown::Withheld
    }
}

/// A count per milieu: (milieu code, shown).
pub type ByMilieu = Vec<(String, Shown)>;

/// The year's counted reports, as published under the round's threshold.
#[derive(Debug, Clone)]
pub struct Counts {
    pub year: i64,
    pub total: Shown,
    /// Per kind (in the form's order): reports naming it, and per milieu.
    pub kinds: Vec<(String, Shown, ByMilieu)>,
    pub milieus: ByMilieu,
}

/// Counts the reports by kind × milieu and withholds what the round's disclosure rule
/// withholds: a count from 1 to `threshold - 1`. A count of reports names no reporter, but
/// the rule is the round's one rule, so that no published figure is an exception to it.
/// Reports with a milieu the questionnaire's grid lacks are left out of every count (they
/// could not be in any part of the total); the second value says how many.
///
/// The counts hang together: the total and the milieus (each report has one milieu), each
/// kind and its milieus, and — as bounds, since a report may name several kinds — the total
/// and the kinds, each milieu and its kinds. In each such whole and its parts, a withheld
/// count could be had (or bounded) by subtraction when it is the only one withheld; and
/// where the parts add up exactly, when the withheld ones of a published whole add up to no
/// more than their number (each is at least 1, so each would be 1). There the smallest
/// published count is withheld too, until no such place is left. Each place is checked on
/// its own; bounds carried from one to the next are not followed.
pub fn count(reports: &[Counted], kinds: &[String], milieus: &[String], threshold: u64, year: i64) -> (Counts, u64) {
    let known: Vec<&Counted> = reports.iter().filter(|r| milieus.contains(&r.milieu)).collect();
    let left_out = (reports.len() - known.len()) as u64;
    let n = |pred: &dyn Fn(&Counted) -> bool| known.iter().filter(|r| pred(r)).count() as u64;
    // Every count in one list: the total, the milieus, then per kind its total and its cells.
    let (nm, nk) = (milieus.len(), kinds.len());
    let milieu_at = |m: usize| 1 + m;
    let kind_at = |k: usize| 1 + nm + k * (nm + 1);
    let cell_at = |k: usize, m: usize| kind_at(k) + 1 + m;
    let mut values = vec![known.len() as u64];
    values.extend(milieus.iter().map(|m| n(&|r| r.milieu == *m)));
    for k in kinds {
        values.push(n(&|r| r.kinds.contains(k)));
        values.extend(milieus.iter().map(|m| n(&|r| r.milieu == *m && r.kinds.contains(k))));
    }
    // Each relation: whether the parts add up to the whole exactly (one milieu per report)
    // or only bound it (a report may name several kinds); the whole first, then its parts.
    let mut relations: Vec<(bool, Vec<usize>)> = vec![(true, (0..=nm).collect())];
    relations.push((false, std::iter::once(0).chain((0..nk).map(kind_at)).collect()));
    for k in 0..nk {
        relations.push((true, std::iter::once(kind_at(k)).chain((0..nm).map(|m| cell_at(k, m))).collect()));
    }
    for m in 0..nm {
        relations.push((false, std::iter::once(milieu_at(m)).chain((0..nk).map(|k| cell_at(k, m))).collect()));
    }
    let mut withheld: Vec<bool> = values.iter().map(|&v| v > 0 && v < threshold).collect();
    let pinned = |exact: bool, members: &[usize], withheld: &[bool]| {
        let hidden: Vec<usize> = members.iter().copied().filter(|&i| withheld[i]).collect();
        if hidden.len() == 1 {
            return true;
        }
        let (whole, parts) = (members[0], &members[1..]);
        if !exact || hidden.is_empty() || withheld[whole] {
            return false;
        }
        let published: u64 = parts.iter().filter(|&&i| !withheld[i]).map(|&i| values[i]).sum();
        values[whole].saturating_sub(published) <= hidden.len() as u64
    };
    loop {
        let next = relations.iter().find_map(|(exact, members)| {
            pinned(*exact, members, &withheld)
                .then(|| members.iter().copied().filter(|&i| !withheld[i] && values[i] > 0).min_by_key(|&i| values[i]))
                .flatten()
        });
        match next {
            Some(i) => withheld[i] = true,
            None => break,
        }
    }
    let shown = |i: usize| if withheld[i] { Shown::Withheld } else { Shown::Count(values[i]) };
    let counts = Counts {
        year,
        total: shown(0),
        milieus: milieus.iter().enumerate().map(|(m, c)| (c.clone(), shown(milieu_at(m)))).collect(),
        kinds: kinds
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let cells = milieus.iter().enumerate().map(|(m, mc)| (mc.clone(), shown(cell_at(k, m)))).collect();
                (c.clone(), shown(kind_at(k)), cells)
            })
            .collect(),
    };
    (counts, left_out)
}

impl Counts {
    /// The counts as rows of the tallies: question `_incidentrapporter`, row the kind (empty
    /// for all), column the milieu (empty for all), code `_rapporter`, or `_skyddat` in
    /// place of a withheld count.
    pub fn figures(&self) -> Vec<Figure> {
        let figure = |row: &str, column: &str, shown: Shown| Figure {
            question: TALLY_QUESTION.into(),
            row: row.into(),
            column: column.into(),
            group: OVERALL.into(),
            code: if shown.withheld() { code::WITHHELD.into() } else { REPORTS.into() },
            count: shown.count().unwrap_or(0) as f64,
            share: None,
            base: 0,
            year: self.year,
        };
        let mut out = vec![figure("", "", self.total)];
        out.extend(self.milieus.iter().map(|(m, s)| figure("", m, *s)));
        for (k, whole, cells) in &self.kinds {
            out.push(figure(k, "", *whole));
            out.extend(cells.iter().map(|(m, s)| figure(k, m, *s)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> Form {
        Form::new(crate::survey::parse(include_str!("../surveys/incidenter/blankett.toml")).unwrap()).unwrap()
    }

    #[test]
    fn months_are_parsed_strictly_and_counted_back() {
        assert_eq!(Month::parse("2026-03"), Some(Month { year: 2026, month: 3 }));
        assert_eq!(Month::parse("2026-03-15"), None);
        assert_eq!(Month::parse("2026-13"), None);
        assert_eq!(Month::parse("26-03"), None);
        assert_eq!(Month { year: 2026, month: 2 }.minus(2), Month { year: 2025, month: 12 });
        assert_eq!(Month { year: 2026, month: 3 }.swedish(), "mars 2026");
        let (from, to) = window(Date::constant(2027, 3, 1));
        assert_eq!((from.to_string(), to.to_string()), ("2026-03".into(), "2027-02".into()));
    }

    #[test]
    fn the_shipped_form_has_every_question_and_a_future_month_is_refused() {
        let form = form();
        let mut raw = crate::survey::RawAnswers::new();
        for (k, v) in [
            ("manad", "december"),
            ("ar", "2026"),
            ("plats", "park_torg"),
            ("uttryck", "klotter"),
            ("miljo", "vit_makt"),
            ("polis", "nej"),
            ("ia", "vet_ej"),
            ("forvaltning", "trafikkontoret"),
            ("beskrivning", "Hakkors på en elcentral."),
        ] {
            raw.entry(k.to_string()).or_default().push(v.to_string());
        }
        let answers = form.survey.validate(&Default::default(), &raw).unwrap();
        let report = form.report(&answers, Date::constant(2026, 12, 6)).unwrap();
        assert_eq!(report.observed.to_string(), "2026-12");
        assert_eq!(report.kinds, ["klotter"]);
        assert_eq!(report.area, None);
        let e = form.report(&answers, Date::constant(2026, 11, 30)).unwrap_err();
        assert!(e[0].message.contains("december 2026 har inte kommit ännu"), "{e:?}");
        assert!(form.report(&answers, Date::constant(2030, 1, 1)).is_err());
    }

    #[test]
    fn small_counts_are_withheld_and_cannot_be_had_by_subtraction() {
        let r = |k: &[&str], m: &str| Counted { kinds: k.iter().map(|k| k.to_string()).collect(), milieu: m.into() };
        let mut reports: Vec<Counted> = (0..6).map(|_| r(&["klotter"], "vit_makt")).collect();
        reports.push(r(&["klotter"], "autonoma"));
        reports.extend((0..5).map(|_| r(&["flygblad"], "vit_makt")));
        let kinds = vec!["klotter".to_string(), "flygblad".to_string(), "hot".to_string()];
        let milieus = vec!["autonoma".to_string(), "vit_makt".to_string()];
        let (c, _) = count(&reports, &kinds, &milieus, 5, 2026);
        assert_eq!(c.total, Shown::Count(12));
        // autonoma 1 is small; vit_makt 11 is withheld too, or 12 − 11 = 1.
        assert_eq!(c.milieus, vec![("autonoma".into(), Shown::Withheld), ("vit_makt".into(), Shown::Withheld)]);
        let klotter = &c.kinds[0];
        assert_eq!(klotter.2, vec![("autonoma".into(), Shown::Withheld), ("vit_makt".into(), Shown::Withheld)]);
        assert_eq!(c.kinds[2].1, Shown::Count(0));
        // Every whole and its parts: never exactly one withheld.
        let check = |members: Vec<Shown>| assert_ne!(members.iter().filter(|s| s.withheld()).count(), 1, "{members:?}");
        check(std::iter::once(c.total).chain(c.milieus.iter().map(|m| m.1)).collect());
        check(std::iter::once(c.total).chain(c.kinds.iter().map(|k| k.1)).collect());
        for (_, whole, cells) in &c.kinds {
            check(std::iter::once(*whole).chain(cells.iter().map(|m| m.1)).collect());
        }
        for (m, (_, whole)) in c.milieus.iter().enumerate() {
            check(std::iter::once(*whole).chain(c.kinds.iter().map(|k| k.2[m].1)).collect());
        }
        let figures = c.figures();
        assert!(figures.iter().all(|f| f.code == REPORTS || f.count == 0.0));
        // Three reports in all: the total itself is small.
        let (few, _) = count(&reports[..3], &kinds, &milieus, 5, 2026);
        assert_eq!(few.total, Shown::Withheld);
    }

    /// Threshold 5: 20 reports, 16 of graffiti, 4 of threats. Every report names a kind, so
    /// the threats could be had as 20 − 16 if only they were withheld.
    #[test]
    fn a_small_kind_is_not_the_total_minus_the_others() {
        let r = |k: &str| Counted { kinds: vec![k.into()], milieu: "vit_makt".into() };
        let mut reports: Vec<Counted> = (0..16).map(|_| r("klotter")).collect();
        reports.extend((0..4).map(|_| r("hot")));
        let kinds = vec!["klotter".to_string(), "hot".to_string()];
        let (c, _) = count(&reports, &kinds, &["vit_makt".to_string()], 5, 2026);
        assert_eq!(c.kinds[1].1, Shown::Withheld);
        assert!(c.total.withheld() || c.kinds[0].1.withheld(), "{c:?}");
    }

    /// Threshold 3: graffiti 1 in autonoma, 1 in islamistisk, 3 in vit makt, 5 in all. The
    /// two withheld cells add up to 5 − 3 = 2, so each would be 1: the 3 is withheld too.
    /// A report with a milieu the grid lacks is left out of every count.
    #[test]
    fn withheld_counts_that_could_only_be_ones_are_not_left_alone() {
        let r = |m: &str| Counted { kinds: vec!["klotter".into()], milieu: m.into() };
        let reports = vec![r("autonoma"), r("islamistisk"), r("vit_makt"), r("vit_makt"), r("vit_makt"), r("nazister")];
        let milieus: Vec<String> = ["autonoma", "vit_makt", "islamistisk"].map(String::from).to_vec();
        let (c, left_out) = count(&reports, &["klotter".to_string()], &milieus, 3, 2026);
        assert_eq!(left_out, 1);
        let row: Vec<Shown> = c.kinds[0].2.iter().map(|(_, s)| *s).collect();
        assert_eq!(row, vec![Shown::Withheld; 3], "{c:?}");
    }
}
