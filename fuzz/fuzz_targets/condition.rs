//! A `shown_when` condition, parsed and evaluated against a few answers.
#![no_main]

use lagesbild::survey::Condition;
use lagesbild::survey::{Answer, Answers, RosterAttributes};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(condition) = Condition::parse(text) else { return };
    let mut answers = Answers::new();
    answers.insert("observerat".into(), Answer::One("ja".into()));
    answers.insert("antal".into(), Answer::Number(3));
    answers.insert("miljo".into(), Answer::Many(vec!["vit_makt".into()]));
    let roster = RosterAttributes { group: "intern".into(), category: "skola".into() };
    let _ = condition.holds(&answers, &roster);
    let _ = condition.questions();
});
