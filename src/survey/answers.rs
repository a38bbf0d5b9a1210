//! Validating what a respondent typed against the definition.
//!
//! The form posts plain fields; they are kept as `RawAnswers` (so that nothing the
//! respondent typed is lost when a page is shown again with errors) and turned into
//! typed `Answers` here. Questions that do not apply are dropped, never stored.

use super::{Answer, Answers, Kind, Question, RosterAttributes, Survey};
use std::collections::BTreeMap;
use std::ops::Range;

/// Form values as posted, by field name: the question id, or `question.row` for a grid.
pub type RawAnswers = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub question: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Evaluation {
    pub answers: Answers,
    pub errors: Vec<FieldError>,
}

impl Question {
    pub fn applies(&self, answers: &Answers, roster: &RosterAttributes) -> bool {
        self.shown_when.as_ref().is_none_or(|c| c.holds(answers, roster))
    }

    /// Whether a form field belongs to this question.
    pub fn owns_field(&self, field: &str) -> bool {
        match &self.kind {
            Kind::Grid { .. } => field.strip_prefix(self.id.as_str()).is_some_and(|r| r.starts_with('.')),
            _ => field == self.id,
        }
    }
}

impl Survey {
    /// Validates the questions of the given steps, in order, each against the answers
    /// before it. Questions that do not apply are skipped and their raw values ignored.
    pub fn evaluate(&self, roster: &RosterAttributes, raw: &RawAnswers, steps: Range<usize>) -> Evaluation {
        let mut ev = Evaluation::default();
        for step in steps {
            for q in self.step_questions(step) {
                if !q.applies(&ev.answers, roster) {
                    continue;
                }
                match parse_answer(q, raw) {
                    Ok(Some(a)) => {
                        ev.answers.insert(q.id.clone(), a);
                    }
                    Ok(None) if q.required => {
                        ev.errors.push(FieldError { question: q.id.clone(), message: missing(&q.kind).into() })
                    }
                    Ok(None) => {}
                    Err(message) => ev.errors.push(FieldError { question: q.id.clone(), message }),
                }
            }
        }
        ev
    }

    /// Validates the whole questionnaire, as on submission.
    pub fn validate(&self, roster: &RosterAttributes, raw: &RawAnswers) -> Result<Answers, Vec<FieldError>> {
        let ev = self.evaluate(roster, raw, 0..self.steps.len());
        if ev.errors.is_empty() { Ok(ev.answers) } else { Err(ev.errors) }
    }

    /// For each step, whether any of its questions applies. One evaluation of everything
    /// answered serves all steps: a condition only looks at questions on earlier steps, whose
    /// answers are the same whichever step is asked about.
    pub fn steps_that_apply(&self, roster: &RosterAttributes, raw: &RawAnswers) -> Vec<bool> {
        let answers = self.evaluate(roster, raw, 0..self.steps.len()).answers;
        (0..self.steps.len()).map(|s| self.step_questions(s).any(|q| q.applies(&answers, roster))).collect()
    }

    pub fn step_applies(&self, step: usize, roster: &RosterAttributes, raw: &RawAnswers) -> bool {
        self.steps_that_apply(roster, raw).get(step).copied().unwrap_or(false)
    }

    /// The next step after `from` that has something to ask, if any.
    pub fn next_step(&self, from: usize, roster: &RosterAttributes, raw: &RawAnswers) -> Option<usize> {
        let applies = self.steps_that_apply(roster, raw);
        (from + 1..self.steps.len()).find(|&s| applies[s])
    }

    /// The closest earlier step that has something to ask, if any.
    pub fn previous_step(&self, from: usize, roster: &RosterAttributes, raw: &RawAnswers) -> Option<usize> {
        let applies = self.steps_that_apply(roster, raw);
        (0..from).rev().find(|&s| applies[s])
    }

    /// Where "next" on `step` leads: the first page with errors (this one, or an earlier one
    /// whose answers no longer hold, as when a page is posted from an old tab), else the next
    /// page that applies, else the validated answers of the whole questionnaire.
    pub fn after_next(&self, step: usize, roster: &RosterAttributes, raw: &RawAnswers) -> Navigation {
        let ev = self.evaluate(roster, raw, 0..step + 1);
        let errors = match self.next_step(step, roster, raw) {
            _ if !ev.errors.is_empty() => ev.errors,
            Some(next) => return Navigation::Show { step: next, errors: Vec::new() },
            None => match self.validate(roster, raw) {
                Ok(answers) => return Navigation::Complete(answers),
                Err(errors) => errors,
            },
        };
        let first = errors.iter().filter_map(|e| self.step_of(&e.question)).min().unwrap_or(0);
        let errors = errors.into_iter().filter(|e| self.step_of(&e.question) == Some(first)).collect();
        Navigation::Show { step: first, errors }
    }

    /// Replaces the step's fields in `draft` with those posted: a checkbox left unticked
    /// posts nothing, so the step's old values must go before the new ones come in.
    pub fn merge_step(&self, step: usize, draft: &mut RawAnswers, posted: RawAnswers) {
        let questions: Vec<&Question> = self.step_questions(step).collect();
        draft.retain(|field, _| !questions.iter().any(|q| q.owns_field(field)));
        for (field, values) in posted {
            if questions.iter().any(|q| q.owns_field(&field)) {
                draft.insert(field, values);
            }
        }
    }
}

/// What follows a page posted with "next".
#[derive(Debug)]
pub enum Navigation {
    Show { step: usize, errors: Vec<FieldError> },
    Complete(Answers),
}

fn missing(kind: &Kind) -> &'static str {
    match kind {
        Kind::Single { .. } => "Välj ett av svarsalternativen.",
        Kind::Multiple { .. } => "Välj minst ett alternativ.",
        Kind::Grid { .. } => "Kryssa i minst en ruta.",
        Kind::Number { .. } => "Ange ett antal.",
        Kind::Text { .. } => "Skriv ett svar.",
    }
}

/// The values posted for a field, with empty ones (an empty text box) left out.
fn values<'a>(raw: &'a RawAnswers, field: &str) -> Vec<&'a str> {
    raw.get(field).into_iter().flatten().map(|v| v.trim()).filter(|v| !v.is_empty()).collect()
}

fn parse_answer(q: &Question, raw: &RawAnswers) -> Result<Option<Answer>, String> {
    let unknown = "Svaret innehåller ett alternativ som inte finns i frågan. Välj bland alternativen som visas.";
    match &q.kind {
        Kind::Single { options } => match values(raw, &q.id).as_slice() {
            [] => Ok(None),
            [v] if options.iter().any(|o| o.code == *v) => Ok(Some(Answer::One(v.to_string()))),
            [_] => Err(unknown.into()),
            _ => Err("Välj bara ett av svarsalternativen.".into()),
        },
        Kind::Multiple { options } => {
            let mut codes = Vec::new();
            for v in values(raw, &q.id) {
                if !options.iter().any(|o| o.code == v) {
                    return Err(unknown.into());
                }
                if !codes.iter().any(|c| c == v) {
                    codes.push(v.to_string());
                }
            }
            // Stored in the definition's order, whatever order the browser posted them in.
            codes.sort_by_key(|c| options.iter().position(|o| o.code == *c));
            Ok((!codes.is_empty()).then_some(Answer::Many(codes)))
        }
        Kind::Grid { rows, columns } => {
            let mut grid = BTreeMap::new();
            for (field, _) in raw.range(format!("{}.", q.id)..) {
                let Some(row) = field.strip_prefix(&q.id).and_then(|r| r.strip_prefix('.')) else {
                    break;
                };
                if !rows.iter().any(|r| r.code == row) {
                    return Err(unknown.into());
                }
                let mut ticked = Vec::new();
                for v in values(raw, field) {
                    if !columns.iter().any(|c| c.code == v) {
                        return Err(unknown.into());
                    }
                    if !ticked.iter().any(|c| c == v) {
                        ticked.push(v.to_string());
                    }
                }
                ticked.sort_by_key(|c| columns.iter().position(|o| o.code == *c));
                if !ticked.is_empty() {
                    grid.insert(row.to_string(), ticked);
                }
            }
            Ok((!grid.is_empty()).then_some(Answer::Grid(grid)))
        }
        Kind::Number { min, max } => match values(raw, &q.id).as_slice() {
            [] => Ok(None),
            [v] => {
                let digits: String = v.chars().filter(|c| !c.is_whitespace()).collect();
                match digits.parse::<i64>() {
                    Ok(n) if (*min..=*max).contains(&n) => Ok(Some(Answer::Number(n))),
                    Ok(_) => Err(format!("Ange ett heltal från {min} till {max}.")),
                    Err(_) => Err(format!("Ange ett heltal med siffror, till exempel {}.", (*min).max(3).min(*max))),
                }
            }
            _ => Err("Ange ett enda tal.".into()),
        },
        Kind::Text { max_length } => match values(raw, &q.id).as_slice() {
            [] => Ok(None),
            [v] => {
                let text = v.replace("\r\n", "\n");
                let length = text.chars().count();
                if length > *max_length {
                    Err(format!("Svaret får vara högst {max_length} tecken långt. Nu är det {length} tecken."))
                } else {
                    Ok(Some(Answer::One(text)))
                }
            }
            _ => Err("Svaret kom i flera delar; skriv det i en enda ruta.".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::parse;

    fn survey() -> Survey {
        parse(include_str!("../../surveys/lagesbild.toml")).unwrap()
    }

    fn roster(group: &str) -> RosterAttributes {
        RosterAttributes { group: group.into(), category: "skola".into() }
    }

    fn raw(pairs: &[(&str, &str)]) -> RawAnswers {
        let mut r = RawAnswers::new();
        for (k, v) in pairs {
            r.entry(k.to_string()).or_default().push(v.to_string());
        }
        r
    }

    fn minimal() -> Vec<(&'static str, &'static str)> {
        vec![("observerat", "nej"), ("anhoriga", "nej"), ("avhoppare", "nej"), ("vet_vart_vanda", "ja")]
    }

    #[test]
    fn an_external_respondent_who_saw_nothing_needs_only_four_answers() {
        let answers = survey().validate(&roster("extern"), &raw(&minimal())).unwrap();
        assert_eq!(answers.len(), 4);
        assert_eq!(answers["observerat"], Answer::One("nej".into()));
    }

    #[test]
    fn roster_conditions_make_training_required_for_internal_units_only() {
        let s = survey();
        let errors = s.validate(&roster("intern"), &raw(&minimal())).unwrap_err();
        assert_eq!(
            errors,
            [FieldError { question: "webbutbildning".into(), message: "Välj ett av svarsalternativen.".into() }]
        );
        let mut given = minimal();
        given.push(("webbutbildning", "planerad"));
        given.push(("orosanmalningar", "2"));
        assert_eq!(s.validate(&roster("intern"), &raw(&given)).unwrap()["orosanmalningar"], Answer::Number(2));
        // The same answers from an external actor: the internal-only questions are dropped.
        let answers = s.validate(&roster("extern"), &raw(&given)).unwrap();
        assert!(!answers.contains_key("webbutbildning") && !answers.contains_key("orosanmalningar"));
    }

    #[test]
    fn answers_to_questions_that_do_not_apply_are_dropped() {
        let mut given = minimal();
        given.extend([("uttryck.klotter", "vit_makt"), ("beskrivning", "Klotter vid torget"), ("anhoriga_antal", "3")]);
        let answers = survey().validate(&roster("extern"), &raw(&given)).unwrap();
        assert!(
            !answers.contains_key("uttryck")
                && !answers.contains_key("beskrivning")
                && !answers.contains_key("anhoriga_antal")
        );
    }

    #[test]
    fn conditional_questions_are_required_when_shown() {
        let mut given = minimal();
        given[0] = ("observerat", "ja");
        given[1] = ("anhoriga", "ja");
        let errors = survey().validate(&roster("extern"), &raw(&given)).unwrap_err();
        let ids: Vec<&str> = errors.iter().map(|e| e.question.as_str()).collect();
        assert_eq!(ids, ["uttryck", "anhoriga_antal", "anhoriga_miljo"]);
        assert_eq!(errors[0].message, "Kryssa i minst en ruta.");
    }

    #[test]
    fn grid_and_multiple_choice_keep_every_tick_in_definition_order() {
        let mut given = minimal();
        given[0] = ("observerat", "ja");
        given.extend([
            ("uttryck.klotter", "okand"),
            ("uttryck.klotter", "autonoma"),
            ("uttryck.klotter", "autonoma"),
            ("uttryck.hot", "vit_makt"),
            ("stodbehov", "annat"),
            ("stodbehov", "utbildning"),
        ]);
        let answers = survey().validate(&roster("extern"), &raw(&given)).unwrap();
        let Answer::Grid(grid) = &answers["uttryck"] else { panic!() };
        assert_eq!(grid["klotter"], ["autonoma", "okand"]);
        assert_eq!(grid["hot"], ["vit_makt"]);
        assert_eq!(answers["stodbehov"], Answer::Many(vec!["utbildning".into(), "annat".into()]));
    }

    #[test]
    fn ranges_lengths_and_unknown_codes_are_refused() {
        let s = survey();
        let check = |extra: &[(&str, &str)]| {
            let mut given = minimal();
            given[1] = ("anhoriga", "ja");
            given.push(("anhoriga_miljo", "okand"));
            given.extend_from_slice(extra);
            s.validate(&roster("extern"), &raw(&given)).map_err(|e| e[0].message.clone())
        };
        assert_eq!(check(&[("anhoriga_antal", "0")]).unwrap_err(), "Ange ett heltal från 1 till 500.");
        assert_eq!(check(&[("anhoriga_antal", "501")]).unwrap_err(), "Ange ett heltal från 1 till 500.");
        assert!(check(&[("anhoriga_antal", "ca tio")]).unwrap_err().starts_with("Ange ett heltal med siffror"));
        assert_eq!(check(&[("anhoriga_antal", " 1 2 ")]).unwrap()["anhoriga_antal"], Answer::Number(12));
        assert_eq!(check(&[("anhoriga_antal", "500")]).unwrap()["anhoriga_antal"], Answer::Number(500));
        let long = "å".repeat(2001);
        assert_eq!(
            check(&[("anhoriga_antal", "2"), ("ovrigt", &long)]).unwrap_err(),
            "Svaret får vara högst 2000 tecken långt. Nu är det 2001 tecken."
        );
        let exact = "å".repeat(2000);
        assert!(check(&[("anhoriga_antal", "2"), ("ovrigt", &exact)]).is_ok());
        assert!(
            check(&[("anhoriga_antal", "2"), ("otillaten_paverkan", "kanske")]).unwrap_err().contains("inte finns")
        );
        assert!(check(&[("anhoriga_antal", "2"), ("uttryck.klotter", "x")]).is_ok(), "dropped: observerat is nej");
    }

    #[test]
    fn steps_are_skipped_when_nothing_on_them_applies() {
        let s = survey();
        let r = roster("extern");
        // After "observerat = nej" step 1 still asks about change and the election campaign.
        assert_eq!(s.next_step(0, &r, &raw(&minimal())), Some(1));
        assert_eq!(
            s.step_questions(1).filter(|q| q.applies(&s.evaluate(&r, &raw(&minimal()), 0..1).answers, &r)).count(),
            2
        );
        assert_eq!(s.next_step(4, &r, &raw(&minimal())), None);
        assert_eq!(s.previous_step(2, &r, &raw(&minimal())), Some(1));
    }

    #[test]
    fn merging_a_step_clears_unticked_boxes_and_keeps_other_steps() {
        let s = survey();
        let mut draft = raw(&[("observerat", "ja"), ("uttryck.klotter", "okand"), ("anhoriga", "ja")]);
        s.merge_step(1, &mut draft, raw(&[("uttryck.hot", "vit_makt"), ("anhoriga", "nej")]));
        assert_eq!(draft, raw(&[("observerat", "ja"), ("uttryck.hot", "vit_makt"), ("anhoriga", "ja")]));
    }
}
