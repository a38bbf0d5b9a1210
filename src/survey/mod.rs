//! The survey model: a checked, immutable questionnaire definition.
//!
//! Definitions are written as TOML files in `surveys/` (see `definition`), checked once
//! at the edge and turned into these plain types; nothing behind that edge checks again.

mod answers;
mod condition;
mod definition;
pub mod printed;

pub use answers::{Evaluation, FieldError, Navigation, RawAnswers};
pub use condition::{Condition, Op, Subject};
pub use definition::{Problem, check_file, parse, parse_new};

use std::collections::BTreeMap;

/// A questionnaire: sections of questions, plus the roster groups it is sent to.
#[derive(Debug, Clone)]
pub struct Survey {
    pub id: String,
    pub title: String,
    pub intro: Option<String>,
    /// Allowed values of the roster's `group` column, with labels for breakdowns.
    pub groups: Vec<Choice>,
    pub sections: Vec<Section>,
    /// The pages a respondent goes through, derived from the sections (see `steps`).
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub intro: Option<String>,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone)]
pub struct Question {
    pub id: String,
    pub text: String,
    pub help: Option<String>,
    pub kind: Kind,
    /// Required whenever the question is shown; a question that does not apply is never required.
    pub required: bool,
    pub shown_when: Option<Condition>,
    /// Answers that say something of the respondent (option codes; for a grid, column
    /// codes): a published group in which everyone gave one is not shown as "everyone".
    pub sensitive: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Single {
        options: Vec<Choice>,
    },
    Multiple {
        options: Vec<Choice>,
    },
    /// Rows × columns, several columns may be ticked per row.
    Grid {
        rows: Vec<Choice>,
        columns: Vec<Choice>,
    },
    Number {
        min: i64,
        max: i64,
    },
    Text {
        max_length: usize,
    },
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Single { .. } => "single",
            Kind::Multiple { .. } => "multiple",
            Kind::Grid { .. } => "grid",
            Kind::Number { .. } => "number",
            Kind::Text { .. } => "text",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub code: String,
    pub label: String,
}

/// One page of the form: questions of one section, cut so that no question depends on an
/// answer given on the same page. Conditions are evaluated on the server between pages,
/// which is what lets the form work without JavaScript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub section: usize,
    /// Indexes into the section's questions.
    pub questions: Vec<usize>,
}

/// The roster attributes of the recipient who answers; conditions may refer to them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterAttributes {
    pub group: String,
    pub category: String,
}

/// A validated answer. Which variant a question takes follows from its kind:
/// single choice and free text are `One`, multiple choice is `Many`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Answer {
    Number(i64),
    One(String),
    Many(Vec<String>),
    Grid(BTreeMap<String, Vec<String>>),
}

/// Read by the JSON shape alone (number, string, list, map). Written by hand because
/// serde's untagged enums buffer every value first, and the analysis reads millions.
impl<'de> serde::Deserialize<'de> for Answer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Answer, D::Error> {
        struct Shape;
        impl<'de> serde::de::Visitor<'de> for Shape {
            type Value = Answer;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number, a string, a list of codes or a map of rows")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Answer, E> {
                Ok(Answer::Number(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Answer, E> {
                i64::try_from(v).map(Answer::Number).map_err(E::custom)
            }
            fn visit_str<E>(self, v: &str) -> Result<Answer, E> {
                Ok(Answer::One(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Answer, E> {
                Ok(Answer::One(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Answer, A::Error> {
                let mut codes = Vec::new();
                while let Some(c) = seq.next_element()? {
                    codes.push(c);
                }
                Ok(Answer::Many(codes))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Answer, A::Error> {
                let mut grid = BTreeMap::new();
                while let Some((row, ticked)) = map.next_entry()? {
                    grid.insert(row, ticked);
                }
                Ok(Answer::Grid(grid))
            }
        }
        d.deserialize_any(Shape)
    }
}

/// A respondent's validated answers, by question id. Questions that did not apply are absent.
pub type Answers = BTreeMap<String, Answer>;

impl Survey {
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.sections.iter().flat_map(|s| s.questions.iter())
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions().find(|q| q.id == id)
    }

    pub fn step_questions(&self, step: usize) -> impl Iterator<Item = &Question> {
        let s = &self.steps[step];
        s.questions.iter().map(move |&i| &self.sections[s.section].questions[i])
    }

    /// Per question (in `questions` order): whether its applying depends on the
    /// respondent's group, directly or through an earlier question that does. Such a
    /// question's base is a roster group, and its figures are that group's.
    pub fn depends_on_roster(&self) -> Vec<bool> {
        let mut depends: Vec<(&str, bool)> = Vec::new();
        for q in self.questions() {
            let on = q.shown_when.as_ref().is_some_and(|c| {
                c.comparisons().iter().any(|(s, _, _)| !matches!(s, condition::Subject::Question(_)))
                    || c.questions().iter().any(|id| depends.iter().any(|(d, on)| d == id && *on))
            });
            depends.push((q.id.as_str(), on));
        }
        depends.into_iter().map(|(_, on)| on).collect()
    }

    /// Per question (in `questions` order): whether it has sensitive answers or is shown
    /// after a question that does (its base is then a count of those answers).
    pub fn follows_sensitive(&self) -> Vec<bool> {
        let mut follows: Vec<(&str, bool)> = Vec::new();
        for q in self.questions() {
            let on = !q.sensitive.is_empty()
                || q.shown_when
                    .iter()
                    .flat_map(|c| c.questions())
                    .any(|id| follows.iter().any(|(d, on)| *d == id && *on));
            follows.push((q.id.as_str(), on));
        }
        follows.into_iter().map(|(_, on)| on).collect()
    }

    pub fn group_label<'a>(&'a self, code: &'a str) -> &'a str {
        self.groups.iter().find(|g| g.code == code).map_or(code, |g| g.label.as_str())
    }
}

/// Cuts each section into steps: a new step starts before a question whose condition
/// refers to a question already on the current step.
fn derive_steps(sections: &[Section]) -> Vec<Step> {
    let mut steps = Vec::new();
    for (si, section) in sections.iter().enumerate() {
        let mut current = Step { section: si, questions: Vec::new() };
        for (qi, q) in section.questions.iter().enumerate() {
            let depends_on_page = q.shown_when.as_ref().is_some_and(|c| {
                c.questions().iter().any(|id| current.questions.iter().any(|&k| section.questions[k].id == *id))
            });
            if depends_on_page {
                steps.push(std::mem::replace(&mut current, Step { section: si, questions: Vec::new() }));
            }
            current.questions.push(qi);
        }
        if !current.questions.is_empty() {
            steps.push(current);
        }
    }
    steps
}

/// A definition file checked and read, with its source (which a round keeps a copy of).
#[derive(Debug, Clone)]
pub struct Definition {
    pub survey: Survey,
    pub source: String,
}

/// Reads and checks every `*.toml` definition (shipped, or from SURVEYS_DIR). Any broken
/// file fails the whole load, with every problem of every file as `FILE:LINE:COL: text`, so
/// a server never starts on half its surveys.
pub fn load(files: &crate::shipped::Files) -> Result<BTreeMap<String, Definition>, Vec<String>> {
    let mut found = BTreeMap::new();
    let mut problems = Vec::new();
    // The questionnaires are the top-level files; `incidenter/` holds the incident form.
    for (_, source, origin) in files.ending_with(".toml").filter(|(name, _, _)| !name.contains('/')) {
        match parse_new(source) {
            Ok(survey) => {
                if found.contains_key(&survey.id) {
                    problems.push(format!("{origin}: the survey id `{}` is already used by another file", survey.id));
                    continue;
                }
                found.insert(survey.id.clone(), Definition { survey, source: source.to_string() });
            }
            Err(p) => problems.extend(p.iter().map(|p| format!("{origin}:{p}"))),
        }
    }
    if problems.is_empty() { Ok(found) } else { Err(problems) }
}

impl Survey {
    /// The step a question is asked on.
    pub fn step_of(&self, question: &str) -> Option<usize> {
        (0..self.steps.len()).find(|&s| self.step_questions(s).any(|q| q.id == question))
    }
}
