//! The whole questionnaire on one page, for reading before answering and for printing: every
//! question numbered, how it is answered, and when it is asked, written out in Swedish.

use super::{Condition, Kind, Op, Subject, Survey};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Serialize)]
pub struct Printed {
    pub title: String,
    pub intro: Option<String>,
    pub sections: Vec<PrintedSection>,
}

#[derive(Debug, Serialize)]
pub struct PrintedSection {
    pub title: String,
    pub intro: Option<String>,
    pub questions: Vec<PrintedQuestion>,
}

#[derive(Debug, Serialize)]
pub struct PrintedQuestion {
    pub number: usize,
    pub text: String,
    pub help: Option<String>,
    /// How it is answered: "Välj ett svar.", "Ange ett heltal från 0 till 500." ...
    pub how: String,
    pub options: Vec<String>,
    /// For a grid: its rows and columns.
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub required: bool,
    /// "Besvaras om …", or nothing when everyone is asked.
    pub asked_when: Option<String>,
}

/// The survey as one printable page. `title` is the round's.
pub fn printed(survey: &Survey, title: &str) -> Printed {
    let numbers = question_numbers(survey);
    let sections = survey
        .sections
        .iter()
        .map(|section| PrintedSection {
            title: section.title.clone(),
            intro: section.intro.clone(),
            questions: section
                .questions
                .iter()
                .map(|q| {
                    let labels = |choices: &[super::Choice]| choices.iter().map(|c| c.label.clone()).collect();
                    let (how, options, rows, columns) = match &q.kind {
                        Kind::Single { options } => ("Välj ett svar.".to_string(), labels(options), vec![], vec![]),
                        Kind::Multiple { options } => {
                            ("Välj ett eller flera svar.".to_string(), labels(options), vec![], vec![])
                        }
                        Kind::Grid { rows, columns } => (
                            "Kryssa i de rutor som stämmer; flera per rad går bra.".to_string(),
                            vec![],
                            labels(rows),
                            labels(columns),
                        ),
                        Kind::Number { min, max } => {
                            (format!("Ange ett heltal från {min} till {max}."), vec![], vec![], vec![])
                        }
                        Kind::Text { max_length } => {
                            (format!("Fritt svar, högst {max_length} tecken."), vec![], vec![], vec![])
                        }
                    };
                    PrintedQuestion {
                        number: numbers[q.id.as_str()],
                        text: q.text.clone(),
                        help: q.help.clone(),
                        how,
                        options,
                        rows,
                        columns,
                        required: q.required,
                        asked_when: q
                            .shown_when
                            .as_ref()
                            .map(|c| format!("Besvaras om {}.", in_swedish(survey, &numbers, c))),
                    }
                })
                .collect(),
        })
        .collect();
    Printed { title: title.to_string(), intro: survey.intro.clone(), sections }
}

/// Each question's number on the page, by id: 1, 2, … in the order they are asked.
pub fn question_numbers(survey: &Survey) -> HashMap<&str, usize> {
    survey.questions().enumerate().map(|(i, q)| (q.id.as_str(), i + 1)).collect()
}

/// A condition as a Swedish clause: "du svarade ”Ja” på fråga 1 och du arbetar i …".
pub fn in_swedish(survey: &Survey, numbers: &HashMap<&str, usize>, condition: &Condition) -> String {
    // A part that joins with another word than its whole is set in parentheses, so that
    // "(a eller b) och c" and "a eller (b och c)" read differently.
    let part = |c: &Condition, joined_by_and: bool| {
        let text = in_swedish(survey, numbers, c);
        match (c, joined_by_and) {
            (Condition::Or(..), true) | (Condition::And(..), false) => format!("({text})"),
            _ => text,
        }
    };
    match condition {
        Condition::And(a, b) => format!("{} och {}", part(a, true), part(b, true)),
        Condition::Or(a, b) => format!("{} eller {}", part(a, false), part(b, false)),
        Condition::Not(c) => match c.as_ref() {
            Condition::Compare { .. } => format!("det inte gäller att {}", in_swedish(survey, numbers, c)),
            _ => format!("det inte gäller att ({})", in_swedish(survey, numbers, c)),
        },
        Condition::Compare { subject: Subject::Group, op, value } => {
            let group = survey.group_label(value);
            match op {
                Op::Ne => format!("du inte svarar för ”{group}”"),
                _ => format!("du svarar för ”{group}”"),
            }
        }
        Condition::Compare { subject: Subject::Category, op, value } => match op {
            Op::Ne => format!("din verksamhet inte är av kategorin ”{value}”"),
            _ => format!("din verksamhet är av kategorin ”{value}”"),
        },
        Condition::Compare { subject: Subject::Question(id), op, value } => {
            // A grid's cell is named `question.row`; its number is the question's.
            let question_id = id.split('.').next().unwrap_or(id);
            let question = survey.question(question_id);
            let at = numbers.get(question_id).map_or_else(|| format!("frågan {id}"), |n| format!("fråga {n}"));
            let label = question.map_or(value.as_str(), |q| label_of(&q.kind, value));
            match op {
                Op::Eq => format!("du svarade ”{label}” på {at}"),
                Op::Ne => format!("du inte svarade ”{label}” på {at}"),
                Op::Includes => format!("du valde ”{label}” på {at}"),
                Op::Lt => format!("svaret på {at} är mindre än {value}"),
                Op::Le => format!("svaret på {at} är högst {value}"),
                Op::Gt => format!("svaret på {at} är större än {value}"),
                Op::Ge => format!("svaret på {at} är minst {value}"),
            }
        }
    }
}

fn label_of<'a>(kind: &'a Kind, code: &'a str) -> &'a str {
    let choices = match kind {
        Kind::Single { options } | Kind::Multiple { options } => options.as_slice(),
        Kind::Grid { columns, .. } => columns.as_slice(),
        _ => return code,
    };
    choices.iter().find(|c| c.code == code).map_or(code, |c| c.label.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Survey {
        crate::survey::parse(include_str!("../../surveys/lagesbild.toml")).unwrap()
    }

    #[test]
    fn nested_conditions_keep_their_grouping() {
        let survey = shipped();
        let numbers = question_numbers(&survey);
        let said = |c: &str| in_swedish(&survey, &numbers, &Condition::parse(c).unwrap());
        assert_eq!(
            said("not (observerat = nej or group = extern)"),
            "det inte gäller att (du svarade ”Nej” på fråga 1 eller du svarar för ”Externa aktörer”)"
        );
        assert_ne!(
            said("(observerat = ja or group = extern) and anhoriga = ja"),
            said("observerat = ja or (group = extern and anhoriga = ja)")
        );
    }

    #[test]
    fn every_question_is_numbered_and_its_condition_written_out() {
        let survey = shipped();
        let printed = printed(&survey, "Lägesbild 2027");
        let all: Vec<&PrintedQuestion> = printed.sections.iter().flat_map(|s| &s.questions).collect();
        assert_eq!(all.len(), survey.questions().count());
        assert_eq!(all.iter().map(|q| q.number).collect::<Vec<_>>(), (1..=all.len()).collect::<Vec<_>>());
        let first = all[0];
        assert_eq!(first.asked_when, None, "everyone is asked the first question");
        let uttryck = all.iter().find(|q| q.text.starts_with("Vilka uttryck") || !q.rows.is_empty()).unwrap();
        assert_eq!(uttryck.asked_when.as_deref(), Some("Besvaras om du svarade ”Ja” på fråga 1."));
        assert!(!uttryck.rows.is_empty() && !uttryck.columns.is_empty(), "a grid shows its rows and columns");
        let by_group =
            all.iter().find(|q| q.asked_when.as_deref().is_some_and(|w| w.contains("du svarar för"))).unwrap();
        assert!(by_group.asked_when.as_ref().unwrap().contains("”"), "{:?}", by_group.asked_when);
    }
}
