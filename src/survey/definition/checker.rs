//! The checks a definition's parts go through, each problem located in the file.

use super::{KINDS, Problem, RawChoice, RawQuestion};
use crate::survey::condition::{Condition, Op, Subject};
use crate::survey::{Choice, Kind};
use std::collections::{BTreeMap, HashMap, HashSet};
use toml::Spanned;

/// Collects located problems while a raw definition is turned into a survey.
pub(super) struct Checker<'a> {
    pub(super) source: &'a str,
    pub(super) problems: Vec<Problem>,
    /// A definition new to the catalogue, rather than a round's stored copy: rules added
    /// since a round was created apply to new definitions only.
    pub(super) new: bool,
}

impl Checker<'_> {
    pub(super) fn at(&mut self, offset: usize, message: impl Into<String>) {
        let mut offset = offset.min(self.source.len());
        while !self.source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.source[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        self.problems.push(Problem { line, column, message: message.into() });
    }

    pub(super) fn identifier(&mut self, id: &Spanned<String>, what: &str) {
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
    pub(super) fn choices(&mut self, list: &[RawChoice], at: usize, what: &str) -> Vec<Choice> {
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
    pub(super) fn option_list(
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
    pub(super) fn unused(&mut self, q: &RawQuestion, allowed: &[&str]) {
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

    pub(super) fn kind(&mut self, q: &RawQuestion, lists: &BTreeMap<String, Spanned<Vec<RawChoice>>>) -> Option<Kind> {
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

    /// The answers a question marks sensitive: codes of its options, or of its columns.
    pub(super) fn sensitive(&mut self, q: &RawQuestion, kind: &Kind) -> Vec<String> {
        let Some(list) = &q.sensitive else { return Vec::new() };
        let at = list.span().start;
        let codes = match kind {
            Kind::Single { options } | Kind::Multiple { options } => options,
            Kind::Grid { columns, .. } => columns,
            Kind::Number { .. } | Kind::Text { .. } => {
                self.at(
                    at,
                    format!(
                        "`sensitive` names answers of a single, multiple or grid question, not of a {} question",
                        kind.name()
                    ),
                );
                return Vec::new();
            }
        };
        if list.get_ref().is_empty() {
            self.at(
                at,
                "`sensitive` is empty: name the codes whose answer says something of the respondent, or leave it out",
            );
        }
        for code in list.get_ref() {
            if !codes.iter().any(|c| &c.code == code) {
                let known = codes.iter().map(|c| c.code.as_str()).collect::<Vec<_>>().join(", ");
                self.at(at, format!("`{code}` in `sensitive` is not a code of `{}` (codes: {known})", q.id.get_ref()));
            }
        }
        list.get_ref().clone()
    }

    /// Checks a condition against the questions defined before it and the roster groups.
    pub(super) fn condition(
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
                // A response of a category few recipients share is stored as "övriga", so a
                // condition on the category could not be decided again when it is counted.
                // A round created before this rule keeps its stored definition readable.
                Subject::Category if self.new => Some(
                    "a condition cannot look at `category`: a small category is stored as övriga, so the condition could not be decided again when answers are counted; use `group`".to_string(),
                ),
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
