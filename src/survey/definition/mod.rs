//! Reading a survey definition from TOML and checking it, with every problem reported
//! by line and column in a plain sentence.

use super::{Kind, Question, Section, Survey, derive_steps};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;
use toml::Spanned;

mod checker;
#[cfg(test)]
mod tests;

use checker::Checker;

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
        let mut ck = Checker { source: valid, problems: Vec::new(), new: true };
        ck.at(valid.len(), "the file is not UTF-8 text; save it as UTF-8");
        ck.problems.iter().map(|p| format!("{}:{p}", path.display())).collect::<Vec<_>>()
    })?;
    parse_new(source).map_err(|problems| problems.iter().map(|p| format!("{}:{p}", path.display())).collect())
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
    sensitive: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawChoice {
    code: Spanned<String>,
    label: String,
}

/// Parses and checks a round's stored definition. On failure, every problem found, in file
/// order.
pub fn parse(source: &str) -> Result<Survey, Vec<Problem>> {
    parse_as(source, false)
}

/// Parses and checks a definition for the catalogue, by every rule, including those added
/// since older rounds stored theirs.
pub fn parse_new(source: &str) -> Result<Survey, Vec<Problem>> {
    parse_as(source, true)
}

fn parse_as(source: &str, new: bool) -> Result<Survey, Vec<Problem>> {
    let mut ck = Checker { source, problems: Vec::new(), new };
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
                    sensitive: ck.sensitive(q, kind),
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
