//! CSV for analysts, in two dialects: plain RFC 4180 (comma, UTF-8, dot decimals) for R
//! and pandas, and Swedish Excel (semicolon, UTF-8 with BOM, decimal comma). Both end lines
//! with CRLF and neutralise text that a spreadsheet would take for a formula.

use crate::analysis::Response;
use crate::survey::{Answer, Kind, Survey};
use crate::tally::Figure;
use std::borrow::Cow;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    /// Comma, UTF-8, dot decimals (R, pandas).
    Plain,
    /// Semicolon, UTF-8 with BOM, decimal comma (Swedish Excel).
    Excel,
}

impl Dialect {
    /// A CSV writer in this dialect; the Excel one starts with a byte order mark.
    pub fn writer<W: Write>(self, mut out: W) -> std::io::Result<csv::Writer<W>> {
        if self == Dialect::Excel {
            out.write_all("\u{feff}".as_bytes())?;
        }
        let delimiter = if self == Dialect::Excel { b';' } else { b',' };
        Ok(csv::WriterBuilder::new().delimiter(delimiter).terminator(csv::Terminator::CRLF).from_writer(out))
    }

    /// A writer of rows only (no byte order mark), for parts of a file written elsewhere.
    pub fn rows_writer<W: Write>(self, out: W) -> csv::Writer<W> {
        let delimiter = if self == Dialect::Excel { b';' } else { b',' };
        csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(csv::Terminator::CRLF)
            .has_headers(false)
            .from_writer(out)
    }

    /// A number as this dialect writes it: whole numbers without decimals, others with up to four.
    pub fn number(self, value: f64) -> String {
        let text = if value.fract() == 0.0 && value.abs() < 1e15 {
            format!("{}", value as i64)
        } else {
            let s = format!("{value:.4}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        };
        if self == Dialect::Excel { text.replace('.', ",") } else { text }
    }
}

/// Text that Excel or LibreOffice would read as a formula gets a leading apostrophe, so a
/// free-text answer like `=HYPERLINK(...)` stays text.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

pub const TALLIES_HEADER: [&str; 9] = ["question", "row", "column", "group", "code", "count", "share", "base", "year"];

/// A figure as the cells of a tallies row, in the order of `TALLIES_HEADER`.
pub fn figure_cells(f: &Figure, dialect: Dialect) -> Vec<String> {
    vec![
        neutralise(&f.question).into_owned(),
        neutralise(&f.row).into_owned(),
        neutralise(&f.column).into_owned(),
        neutralise(&f.group).into_owned(),
        neutralise(&f.code).into_owned(),
        dialect.number(f.count),
        f.share.map(|s| dialect.number(s)).unwrap_or_default(),
        f.base.to_string(),
        f.year.to_string(),
    ]
}

/// Writes tallies, one row per figure.
pub fn write_tallies<'f, W: Write>(
    out: W,
    dialect: Dialect,
    figures: impl IntoIterator<Item = &'f Figure>,
) -> anyhow::Result<()> {
    let mut w = dialect.writer(out)?;
    w.write_record(TALLIES_HEADER)?;
    for f in figures {
        w.write_record(figure_cells(f, dialect))?;
    }
    w.flush()?;
    Ok(())
}

/// One column of the responses export.
enum Column {
    Group,
    Category,
    /// Single choice, number or free text: the answer itself.
    Value(usize),
    /// Multiple choice: 1 if the option was chosen.
    Option(usize, String),
    /// Grid: 1 if the cell was ticked.
    Cell(usize, String, String),
}

/// The columns of the responses export, derived from the definition: stable identifiers
/// in the header (`question`, `question.option`, `question.row.column`).
pub struct ResponseColumns<'s> {
    survey: &'s Survey,
    columns: Vec<Column>,
    /// Per question: whether it is for some groups only (`Survey::depends_on_roster`).
    on_roster: Vec<bool>,
}

impl<'s> ResponseColumns<'s> {
    pub fn new(survey: &'s Survey) -> ResponseColumns<'s> {
        let mut columns = vec![Column::Group, Column::Category];
        for (i, q) in survey.questions().enumerate() {
            match &q.kind {
                Kind::Multiple { options } => columns.extend(options.iter().map(|o| Column::Option(i, o.code.clone()))),
                Kind::Grid { rows, columns: cols } => {
                    for r in rows {
                        columns.extend(cols.iter().map(|c| Column::Cell(i, r.code.clone(), c.code.clone())));
                    }
                }
                _ => columns.push(Column::Value(i)),
            }
        }
        ResponseColumns { survey, columns, on_roster: survey.depends_on_roster() }
    }

    fn question(&self, i: usize) -> &crate::survey::Question {
        self.survey.questions().nth(i).expect("column of an existing question")
    }

    pub fn header(&self) -> Vec<String> {
        self.columns
            .iter()
            .map(|c| match c {
                Column::Group => "group".into(),
                Column::Category => "category".into(),
                Column::Value(i) => self.question(*i).id.clone(),
                Column::Option(i, o) => format!("{}.{o}", self.question(*i).id),
                Column::Cell(i, r, col) => format!("{}.{r}.{col}", self.question(*i).id),
            })
            .collect()
    }

    /// The question texts, for an optional second header row.
    pub fn labels(&self) -> Vec<String> {
        let label = |options: &[crate::survey::Choice], code: &str| {
            options.iter().find(|o| o.code == code).map_or(code.to_string(), |o| o.label.clone())
        };
        self.columns
            .iter()
            .map(|c| match c {
                Column::Group => "Grupp".into(),
                Column::Category => "Kategori".into(),
                Column::Value(i) => self.question(*i).text.clone(),
                Column::Option(i, o) => match &self.question(*i).kind {
                    Kind::Multiple { options } => format!("{}: {}", self.question(*i).text, label(options, o)),
                    _ => String::new(),
                },
                Column::Cell(i, r, col) => match &self.question(*i).kind {
                    Kind::Grid { rows, columns } => {
                        format!("{}: {} – {}", self.question(*i).text, label(rows, r), label(columns, col))
                    }
                    _ => String::new(),
                },
            })
            .collect()
    }

    /// One response as cells. A question that did not apply is empty; a multiple choice or
    /// grid that applied has 0 or 1 in every cell.
    pub fn row(&self, r: &Response) -> Vec<String> {
        self.row_as(r, &r.roster)
    }

    /// One response as cells, written with the group and category it is exported as (folded
    /// into "övriga" as the tallies fold it). Whether a question applied is decided from the
    /// roster it was answered with; when the export folds its group, the questions for some
    /// groups only are left empty, or their answers would tell the group.
    pub fn row_as(&self, r: &Response, written: &crate::survey::RosterAttributes) -> Vec<String> {
        let folded = written.group != r.roster.group;
        let applied: Vec<bool> = self
            .survey
            .questions()
            .zip(&self.on_roster)
            .map(|(q, on_roster)| q.applies(&r.answers, &r.roster) && !(folded && *on_roster))
            .collect();
        let flag = |b: bool| if b { "1" } else { "0" }.to_string();
        self.columns
            .iter()
            .map(|c| match c {
                Column::Group => neutralise(&written.group).into_owned(),
                Column::Category => neutralise(&written.category).into_owned(),
                Column::Value(i) if !applied[*i] => String::new(),
                Column::Value(i) => match r.answers.get(&self.question(*i).id) {
                    Some(Answer::One(v)) => neutralise(v).into_owned(),
                    Some(Answer::Number(n)) => n.to_string(),
                    _ => String::new(),
                },
                Column::Option(i, o) if applied[*i] => flag(matches!(
                    r.answers.get(&self.question(*i).id),
                    Some(Answer::Many(chosen)) if chosen.contains(o)
                )),
                Column::Cell(i, row, col) if applied[*i] => flag(matches!(
                    r.answers.get(&self.question(*i).id),
                    Some(Answer::Grid(grid)) if grid.get(row).is_some_and(|ticked| ticked.contains(col))
                )),
                Column::Option(..) | Column::Cell(..) => String::new(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_plain_text_is_left_alone() {
        for bad in ["=1+1", "+46701234567", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(bad).starts_with('\''), "{bad}");
        }
        assert_eq!(neutralise("Klotter vid torget"), "Klotter vid torget");
    }

    #[test]
    fn numbers_follow_the_dialect() {
        assert_eq!(Dialect::Plain.number(12.0), "12");
        assert_eq!(Dialect::Plain.number(0.428571), "0.4286");
        assert_eq!(Dialect::Excel.number(0.428571), "0,4286");
        assert_eq!(Dialect::Excel.number(1.5), "1,5");
        assert_eq!(Dialect::Plain.number(-0.05), "-0.05");
    }

    #[test]
    fn the_excel_dialect_starts_with_a_bom_and_uses_semicolons_and_crlf() {
        let mut buf = Vec::new();
        let mut w = Dialect::Excel.writer(&mut buf).unwrap();
        w.write_record(["a", "b;c"]).unwrap();
        drop(w);
        assert_eq!(buf, "\u{feff}a;\"b;c\"\r\n".as_bytes());
    }

    #[test]
    fn a_folded_row_keeps_its_answers_but_not_those_that_would_tell_its_group() {
        use crate::survey::{RawAnswers, RosterAttributes, parse};
        let survey = parse(include_str!("../surveys/lagesbild.toml")).unwrap();
        let roster = RosterAttributes { group: "intern".into(), category: "skola".into() };
        let mut raw = RawAnswers::new();
        for (k, v) in [
            ("observerat", "ja"),
            ("uttryck.klotter", "vit_makt"),
            ("anhoriga", "nej"),
            ("avhoppare", "nej"),
            ("orosanmalningar", "2"),
            ("vet_vart_vanda", "ja"),
            ("webbutbildning", "ja"),
        ] {
            raw.entry(k.to_string()).or_default().push(v.to_string());
        }
        let r = Response { answers: survey.validate(&roster, &raw).unwrap(), roster };
        let columns = ResponseColumns::new(&survey);
        let header = columns.header();
        let cell = |row: &[String], name: &str| row[header.iter().position(|h| h == name).unwrap()].clone();
        let own = columns.row(&r);
        assert_eq!((cell(&own, "group"), cell(&own, "webbutbildning")), ("intern".into(), "ja".into()));
        let folded = columns.row_as(&r, &RosterAttributes { group: "övriga".into(), category: "övriga".into() });
        assert_eq!((cell(&folded, "group"), cell(&folded, "category")), ("övriga".into(), "övriga".into()));
        // The questions for intern only are empty; the rest is as answered, the grid too.
        assert_eq!(cell(&folded, "webbutbildning"), "");
        assert_eq!(cell(&folded, "orosanmalningar"), "");
        assert_eq!(cell(&folded, "uttryck.klotter.vit_makt"), "1");
        assert_eq!(cell(&folded, "observerat"), "ja");
    }
}
