//! Reading a survey definition from TOML and checking it, with every problem reported
//! by line and column in a plain sentence.

use super::condition::{Condition, Op, Subject};
use super::{Choice, Kind, Question, Section, Survey, derive_steps};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;
use toml::Spanned;

/// One thing wrong with a definition, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Reads and checks a definition file; the error lists every problem as `FILE:LINE:COL: text`.
pub fn check_file(path: &Path) -> Result<Survey, Vec<String>> {
    let bytes = std::fs::read(path).map_err(|e| vec![format!("{}: cannot read the file: {e}", path.display())])?;
    let source = std::str::from_utf8(&bytes).map_err(|e| {
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        let mut ck = Checker { source: valid, problems: Vec::new() };
        ck.at(valid.len(), "the file is not UTF-8 text; save it as UTF-8");
        ck.problems.iter().map(|p| format!("{}:{p}", path.display())).collect::<Vec<_>>()
    })?;
    parse(source).map_err(|problems| problems.iter().map(|p| format!("{}:{p}", path.display())).collect())
}

const KINDS: &str = "single, multiple, grid, number, text";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSurvey {
    id: Spanned<String>,
    title: String,
    intro: Option<String>,
    #[serde(default)]
    groups: Vec<RawChoice>,
    /// Named option lists shared by several questions (`options_from = "miljoer"`).
    #[serde(default)]
    lists: BTreeMap<String, Spanned<Vec<RawChoice>>>,
    #[serde(default, rename = "section")]
    sections: Vec<RawSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    id: Spanned<String>,
    title: String,
    intro: Option<String>,
    #[serde(default, rename = "question")]
    questions: Vec<RawQuestion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: Spanned<String>,
    kind: Spanned<String>,
    text: Spanned<String>,
    help: Option<String>,
    #[serde(default)]
    required: bool,
    shown_when: Option<Spanned<String>>,
    options: Option<Spanned<Vec<RawChoice>>>,
    options_from: Option<Spanned<String>>,
    rows: Option<Spanned<Vec<RawChoice>>>,
    columns: Option<Spanned<Vec<RawChoice>>>,
    columns_from: Option<Spanned<String>>,
    min: Option<Spanned<i64>>,
    max: Option<Spanned<i64>>,
    max_length: Option<Spanned<i64>>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawChoice {
    code: Spanned<String>,
    label: String,
}

struct Checker<'a> {
    source: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn at(&mut self, offset: usize, message: impl Into<String>) {
        let mut offset = offset.min(self.source.len());
        while !self.source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.source[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        self.problems.push(Problem { line, column, message: message.into() });
    }

    fn identifier(&mut self, id: &Spanned<String>, what: &str) {
        let ok = id.get_ref().chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && id.get_ref().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            self.at(
                id.span().start,
                format!(
                    "{what} `{}` must be ASCII snake case: a lowercase letter, then lowercase letters, digits or `_`",
                    id.get_ref()
                ),
            );
        }
    }

    /// Checks an option list and turns it into choices.
    fn choices(&mut self, list: &[RawChoice], at: usize, what: &str) -> Vec<Choice> {
        if list.is_empty() {
            self.at(at, format!("the {what} list is empty: give at least one `{{ code = ..., label = ... }}`"));
        }
        let mut seen = HashSet::new();
        for c in list {
            self.identifier(&c.code, "the code");
            if !seen.insert(c.code.get_ref().as_str()) {
                self.at(
                    c.code.span().start,
                    format!("the code `{}` appears twice in this {what} list", c.code.get_ref()),
                );
            }
            if c.label.trim().is_empty() {
                self.at(c.code.span().start, format!("the code `{}` has an empty label", c.code.get_ref()));
            }
        }
        list.iter().map(|c| Choice { code: c.code.get_ref().clone(), label: c.label.clone() }).collect()
    }

    /// An option list given inline (`options = [...]`) or by name (`options_from = "..."`).
    fn option_list(
        &mut self,
        inline: &Option<Spanned<Vec<RawChoice>>>,
        named: &Option<Spanned<String>>,
        lists: &BTreeMap<String, Spanned<Vec<RawChoice>>>,
        q: &RawQuestion,
        field: &str,
    ) -> Vec<Choice> {
        match (inline, named) {
            (Some(list), None) => self.choices(list.get_ref(), list.span().start, field),
            (None, Some(name)) => match lists.get(name.get_ref()) {
                Some(list) => list
                    .get_ref()
                    .iter()
                    .map(|c| Choice { code: c.code.get_ref().clone(), label: c.label.clone() })
                    .collect(),
                None => {
                    let known: Vec<&str> = lists.keys().map(String::as_str).collect();
                    self.at(
                        name.span().start,
                        format!(
                            "there is no list named `{}` (lists: {})",
                            name.get_ref(),
                            if known.is_empty() { "none".into() } else { known.join(", ") }
                        ),
                    );
                    Vec::new()
                }
            },
            (Some(list), Some(_)) => {
                self.at(list.span().start, format!("give either `{field}` or `{field}_from`, not both"));
                Vec::new()
            }
            (None, None) => {
                self.at(
                    q.kind.span().start,
                    format!(
                        "question `{}` of kind {} needs `{field}` (or `{field}_from`)",
                        q.id.get_ref(),
                        q.kind.get_ref()
                    ),
                );
                Vec::new()
            }
        }
    }

    /// Fields that the question's kind does not use are mistakes, not silently ignored.
    fn unused(&mut self, q: &RawQuestion, allowed: &[&str]) {
        let present: [(&str, Option<usize>); 8] = [
            ("options", q.options.as_ref().map(|s| s.span().start)),
            ("options_from", q.options_from.as_ref().map(|s| s.span().start)),
            ("rows", q.rows.as_ref().map(|s| s.span().start)),
            ("columns", q.columns.as_ref().map(|s| s.span().start)),
            ("columns_from", q.columns_from.as_ref().map(|s| s.span().start)),
            ("min", q.min.as_ref().map(|s| s.span().start)),
            ("max", q.max.as_ref().map(|s| s.span().start)),
            ("max_length", q.max_length.as_ref().map(|s| s.span().start)),
        ];
        for (name, at) in present {
            if let Some(at) = at
                && !allowed.contains(&name)
            {
                self.at(at, format!("`{name}` is not used by a question of kind {}", q.kind.get_ref()));
            }
        }
    }

    fn kind(&mut self, q: &RawQuestion, lists: &BTreeMap<String, Spanned<Vec<RawChoice>>>) -> Option<Kind> {
        Some(match q.kind.get_ref().as_str() {
            "single" | "multiple" => {
                self.unused(q, &["options", "options_from"]);
                let options = self.option_list(&q.options, &q.options_from, lists, q, "options");
                if q.kind.get_ref() == "single" { Kind::Single { options } } else { Kind::Multiple { options } }
            }
            "grid" => {
                self.unused(q, &["rows", "columns", "columns_from"]);
                let rows = match &q.rows {
                    Some(r) => self.choices(r.get_ref(), r.span().start, "rows"),
                    None => {
                        self.at(
                            q.kind.span().start,
                            format!("question `{}` of kind grid needs `rows`", q.id.get_ref()),
                        );
                        Vec::new()
                    }
                };
                let columns = self.option_list(&q.columns, &q.columns_from, lists, q, "columns");
                Kind::Grid { rows, columns }
            }
            "number" => {
                self.unused(q, &["min", "max"]);
                match (&q.min, &q.max) {
                    (Some(min), Some(max)) if min.get_ref() > max.get_ref() => {
                        self.at(
                            min.span().start,
                            format!("the range is empty: min {} is greater than max {}", min.get_ref(), max.get_ref()),
                        );
                        return None;
                    }
                    (Some(min), Some(max)) => Kind::Number { min: *min.get_ref(), max: *max.get_ref() },
                    _ => {
                        self.at(
                            q.kind.span().start,
                            format!("question `{}` of kind number needs both `min` and `max`", q.id.get_ref()),
                        );
                        return None;
                    }
                }
            }
            "text" => {
                self.unused(q, &["max_length"]);
                match &q.max_length {
                    Some(m) if *m.get_ref() >= 1 => Kind::Text { max_length: *m.get_ref() as usize },
                    Some(m) => {
                        self.at(m.span().start, format!("`max_length` must be at least 1, not {}", m.get_ref()));
                        return None;
                    }
                    None => {
                        self.at(
                            q.kind.span().start,
                            format!("question `{}` of kind text needs `max_length`", q.id.get_ref()),
                        );
                        return None;
                    }
                }
            }
            other => {
                self.at(q.kind.span().start, format!("unknown question kind `{other}` (known kinds: {KINDS})"));
                return None;
            }
        })
    }

    /// Checks a condition against the questions defined before it and the roster groups.
    fn condition(
        &mut self,
        raw: &Spanned<String>,
        earlier: &HashMap<&str, &Kind>,
        later: &HashSet<&str>,
        groups: &[Choice],
    ) -> Option<Condition> {
        let cond = match Condition::parse(raw.get_ref()) {
            Ok(c) => c,
            Err(e) => {
                // The offset counts characters of the decoded text; it maps onto the file only
                // when the string there is written without escapes. Otherwise the string's start.
                let written = self.source.get(raw.span().start + 1..raw.span().end.saturating_sub(1));
                let at = match written {
                    Some(w) if w == raw.get_ref() => {
                        raw.span().start + 1 + w.char_indices().nth(e.offset).map_or(w.len(), |(b, _)| b)
                    }
                    _ => raw.span().start,
                };
                self.at(at, format!("in the condition `{}`: {}", raw.get_ref(), e.message));
                return None;
            }
        };
        let mut ok = true;
        for (subject, op, value) in cond.comparisons() {
            let problem = match subject {
                Subject::Group => match op {
                    Op::Eq | Op::Ne if groups.iter().any(|g| g.code == value) => None,
                    Op::Eq | Op::Ne => Some(format!(
                        "`{value}` is not a roster group (groups: {})",
                        groups.iter().map(|g| g.code.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                    _ => Some(format!("`group` can only be compared with = or !=, not {}", op.symbol())),
                },
                Subject::Category => match op {
                    Op::Eq | Op::Ne => None,
                    _ => Some(format!("`category` can only be compared with = or !=, not {}", op.symbol())),
                },
                Subject::Question(id) => match earlier.get(id.as_str()) {
                    None if later.contains(id.as_str()) => Some(format!(
                        "the condition refers to `{id}`, which comes later in the survey; a condition may only look at earlier questions"
                    )),
                    None => Some(format!("the condition refers to `{id}`, which is not a question in this survey")),
                    Some(kind) => comparison_problem(id, kind, op, value),
                },
            };
            if let Some(message) = problem {
                ok = false;
                self.at(raw.span().start, format!("in the condition `{}`: {message}", raw.get_ref()));
            }
        }
        ok.then_some(cond)
    }
}

fn comparison_problem(id: &str, kind: &Kind, op: Op, value: &str) -> Option<String> {
    let codes = |options: &[Choice]| options.iter().map(|c| c.code.as_str()).collect::<Vec<_>>().join(", ");
    match (kind, op) {
        (Kind::Single { options }, Op::Eq | Op::Ne) | (Kind::Multiple { options }, Op::Includes) => {
            (!options.iter().any(|c| c.code == value))
                .then(|| format!("`{value}` is not an option code of `{id}` (codes: {})", codes(options)))
        }
        (Kind::Number { .. }, Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge) => value
            .parse::<i64>()
            .is_err()
            .then(|| format!("`{id}` is a number question; `{value}` is not a whole number")),
        (Kind::Multiple { .. }, _) => Some(format!("`{id}` is a multiple choice question: use `{id} includes CODE`")),
        (Kind::Single { .. }, _) => {
            Some(format!("`{id}` is a single choice question: use = or !=, not {}", op.symbol()))
        }
        (Kind::Number { .. }, _) => Some(format!("`{id}` is a number question: use =, !=, <, <=, > or >=")),
        (Kind::Grid { .. } | Kind::Text { .. }, _) => {
            Some(format!("`{id}` is a {} question, which a condition cannot look at", kind.name()))
        }
    }
}

/// Parses and checks a definition. On failure, every problem found, in file order.
pub fn parse(source: &str) -> Result<Survey, Vec<Problem>> {
    let mut ck = Checker { source, problems: Vec::new() };
    let raw: RawSurvey = match toml::from_str(source) {
        Ok(r) => r,
        Err(e) => {
            let message = e.message().trim_end().replace('\n', " ");
            ck.at(e.span().map_or(0, |s| s.start), message);
            return Err(ck.problems);
        }
    };
    ck.identifier(&raw.id, "the survey id");
    if raw.groups.is_empty() {
        ck.at(raw.id.span().start, "the survey lists no roster groups: add `groups = [{ code = ..., label = ... }]`");
    }
    let groups = ck.choices(&raw.groups, raw.id.span().start, "groups");
    for list in raw.lists.values() {
        ck.choices(list.get_ref(), list.span().start, "list");
    }
    if raw.sections.is_empty() {
        ck.at(0, "the survey has no sections: add at least one `[[section]]` with questions");
    }

    let all_ids: Vec<&str> =
        raw.sections.iter().flat_map(|s| s.questions.iter().map(|q| q.id.get_ref().as_str())).collect();
    let mut earlier: HashMap<&str, &Kind> = HashMap::new();
    let mut kinds: Vec<Option<Kind>> = Vec::new();
    let mut seen_sections = HashSet::new();
    let mut sections = Vec::new();
    let mut position = 0;
    // Kinds are built first so that conditions can be checked against earlier questions' kinds.
    for s in &raw.sections {
        for q in &s.questions {
            kinds.push(ck.kind(q, &raw.lists));
        }
    }
    let mut kind_iter = kinds.iter();
    for s in &raw.sections {
        ck.identifier(&s.id, "the section id");
        if !seen_sections.insert(s.id.get_ref().as_str()) {
            ck.at(s.id.span().start, format!("the section id `{}` is used twice", s.id.get_ref()));
        }
        if s.questions.is_empty() {
            ck.at(s.id.span().start, format!("section `{}` has no questions", s.id.get_ref()));
        }
        let mut questions = Vec::new();
        for q in &s.questions {
            let kind = kind_iter.next().expect("one kind per question");
            position += 1;
            let id = q.id.get_ref().as_str();
            ck.identifier(&q.id, "the question id");
            if matches!(id, "group" | "category") {
                ck.at(
                    q.id.span().start,
                    format!("`{id}` is reserved for the roster attribute of that name; choose another question id"),
                );
            }
            if earlier.contains_key(id) || all_ids[..position - 1].contains(&id) {
                ck.at(q.id.span().start, format!("the question id `{id}` is used twice"));
            }
            if q.text.get_ref().trim().is_empty() {
                ck.at(q.text.span().start, format!("question `{id}` has an empty text"));
            }
            let later: HashSet<&str> = all_ids[position - 1..].iter().copied().collect();
            let shown_when = q.shown_when.as_ref().and_then(|c| ck.condition(c, &earlier, &later, &groups));
            if let Some(kind) = kind {
                earlier.insert(id, kind);
                questions.push(Question {
                    id: id.to_string(),
                    text: q.text.get_ref().clone(),
                    help: q.help.clone(),
                    kind: kind.clone(),
                    required: q.required,
                    shown_when,
                });
            }
        }
        sections.push(Section {
            id: s.id.get_ref().clone(),
            title: s.title.clone(),
            intro: s.intro.clone(),
            questions,
        });
    }
    if !ck.problems.is_empty() {
        ck.problems.sort_by_key(|p| (p.line, p.column));
        return Err(ck.problems);
    }
    let steps = derive_steps(&sections);
    Ok(Survey { id: raw.id.into_inner(), title: raw.title, intro: raw.intro, groups, sections, steps })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"
id = "prov"
title = "Prov"
groups = [{ code = "intern", label = "Intern" }, { code = "extern", label = "Extern" }]
"#;

    fn problems(body: &str) -> Vec<String> {
        parse(&format!("{HEAD}{body}")).unwrap_err().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_shipped_questionnaire_is_valid_and_complete() {
        let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/surveys/lagesbild.toml")).unwrap();
        let s = parse(&src).unwrap_or_else(|p| panic!("{p:?}"));
        let ids: Vec<&str> = s.questions().map(|q| q.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "observerat",
                "uttryck",
                "frekvens",
                "forandring",
                "valrorelse",
                "beskrivning",
                "anhoriga",
                "anhoriga_antal",
                "anhoriga_miljo",
                "avhoppare",
                "orosanmalningar",
                "ia_rapporter",
                "vet_vart_vanda",
                "webbutbildning",
                "otillaten_paverkan",
                "stodbehov",
                "ovrigt"
            ]
        );
        let Kind::Grid { rows, columns } = &s.question("uttryck").unwrap().kind else { panic!() };
        assert_eq!(rows.len(), 10);
        assert_eq!(
            columns.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(),
            ["autonoma", "vit_makt", "islamistisk", "okand"]
        );
        assert!(matches!(s.question("anhoriga_antal").unwrap().kind, Kind::Number { min: 1, max: 500 }));
        assert!(matches!(s.question("ovrigt").unwrap().kind, Kind::Text { max_length: 2000 }));
        assert_eq!(
            s.groups.iter().map(|g| g.code.as_str()).collect::<Vec<_>>(),
            ["intern", "extern", "fackforvaltning"]
        );
        // Del 1 and Del 2 are each cut before the first question that depends on the page.
        assert_eq!(s.steps.len(), 5);
        let first: Vec<Vec<&str>> = (0..5).map(|i| s.step_questions(i).map(|q| q.id.as_str()).collect()).collect();
        assert_eq!(first[0], ["observerat"]);
        assert_eq!(first[2], ["anhoriga"]);
    }

    #[test]
    fn reports_every_problem_with_line_and_column() {
        let p = problems(
            r#"
[[section]]
id = "del1"
title = "Del 1"

[[section.question]]
id = "a"
kind = "single"
text = "A?"
options = []

[[section.question]]
id = "a"
kind = "slider"
text = "B?"

[[section.question]]
id = "c"
kind = "number"
text = "C?"
min = 10
max = 1
"#,
        );
        assert_eq!(p.len(), 4, "{p:#?}");
        assert_eq!(p[0], "14:11: the options list is empty: give at least one `{ code = ..., label = ... }`");
        assert_eq!(p[1], "17:6: the question id `a` is used twice");
        assert!(p[2].starts_with("18:8: unknown question kind `slider`"), "{}", p[2]);
        assert_eq!(p[3], "25:7: the range is empty: min 10 is greater than max 1");
    }

    #[test]
    fn conditions_must_look_back_at_known_questions_and_codes() {
        let p = problems(
            r#"
[[section]]
id = "del1"
title = "Del 1"

[[section.question]]
id = "a"
kind = "single"
text = "A?"
shown_when = "b = ja"
options = [{ code = "ja", label = "Ja" }, { code = "ja", label = "Ja igen" }]

[[section.question]]
id = "b"
kind = "single"
text = "B?"
shown_when = "a = kanske or zzz = 1 or group = okand"
options = [{ code = "ja", label = "Ja" }]
"#,
        );
        assert_eq!(p.len(), 5, "{p:#?}");
        assert!(
            p[0].starts_with("14:14: in the condition `b = ja`: the condition refers to `b`, which comes later"),
            "{}",
            p[0]
        );
        assert!(p[1].starts_with("15:52: the code `ja` appears twice"), "{}", p[1]);
        assert!(p[2].contains("`kanske` is not an option code of `a`"), "{}", p[2]);
        assert!(p[3].contains("`zzz`, which is not a question in this survey"), "{}", p[3]);
        assert!(p[4].contains("`okand` is not a roster group (groups: intern, extern)"), "{}", p[4]);
    }

    #[test]
    fn toml_syntax_errors_and_unknown_fields_are_located() {
        let p = problems("[[section]]\nid = \"x\"\ntitle = \"X\"\nquestion = 3 =\n");
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("8:"), "{}", p[0]);
        let p = problems("[[section]]\nid = \"x\"\ntitel = \"X\"\n");
        assert!(p[0].contains("titel"), "{}", p[0]);
    }

    #[test]
    fn an_escape_before_non_ascii_text_in_a_condition_is_located_without_a_crash() {
        let body = "[[section]]\nid = \"s\"\ntitle = \"S\"\n[[section.question]]\nid = \"q\"\nkind = \"text\"\ntext = \"T\"\nmax_length = 100\nshown_when = \"\\tåå$\"\n";
        let found = problems(body);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("unexpected character `$`"), "{found:?}");
        assert!(found[0].starts_with(&format!("{}:", HEAD.matches('\n').count() + 9)), "{found:?}");
    }

    #[test]
    fn a_file_that_is_not_utf8_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trasig.toml");
        std::fs::write(&path, b"id = \"x\"\ntitle = \"Enk\xe4t\"\n").unwrap();
        let problems = check_file(&path).unwrap_err();
        assert_eq!(problems, [format!("{}:2:13: the file is not UTF-8 text; save it as UTF-8", path.display())]);
    }

    #[test]
    fn condition_syntax_errors_point_into_the_expression() {
        let p = problems(
            "[[section]]\nid = \"d\"\ntitle = \"D\"\n[[section.question]]\nid = \"a\"\nkind = \"text\"\ntext = \"A\"\nmax_length = 10\n\
             [[section.question]]\nid = \"b\"\nkind = \"text\"\ntext = \"B\"\nmax_length = 10\nshown_when = \"a ja\"\n",
        );
        assert_eq!(
            p,
            [
                "18:17: in the condition `a ja`: expected a comparison (=, !=, <, <=, >, >=, includes) after `a`, found `ja`"
            ]
        );
    }
}
