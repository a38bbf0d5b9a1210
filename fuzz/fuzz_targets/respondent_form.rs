//! A respondent's posted page: decoded strictly, merged into a draft and checked against every
//! step of the shipped questionnaire.
#![no_main]

use lagesbild::survey::{RawAnswers, RosterAttributes};
use std::sync::LazyLock;

static SURVEY: LazyLock<lagesbild::survey::Survey> =
    LazyLock::new(|| lagesbild::survey::parse(include_str!("../../surveys/lagesbild.toml")).unwrap());

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(pairs) = lagesbild::web::posted::pairs(data) else { return };
    let mut posted = RawAnswers::new();
    for (name, value) in pairs {
        if let Some(field) = name.strip_prefix("q.") {
            posted.entry(field.to_string()).or_default().push(value);
        }
    }
    let roster = RosterAttributes { group: "intern".into(), category: "skola".into() };
    for step in 0..SURVEY.steps.len() {
        let mut draft = RawAnswers::new();
        SURVEY.merge_step(step, &mut draft, posted.clone());
        let _ = SURVEY.after_next(step, &roster, &draft);
    }
});
