//! A roster file as a coordinator uploads it: checked rows, or problems that each name a line
//! of the file.
#![no_main]

use std::sync::LazyLock;

static SURVEY: LazyLock<lagesbild::survey::Survey> =
    LazyLock::new(|| lagesbild::survey::parse(include_str!("../../surveys/lagesbild.toml")).unwrap());

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    match lagesbild::roster::parse(data, &SURVEY) {
        Ok(rows) => {
            for row in rows {
                assert!(!row.name.contains(['\n', '\r']) && !row.organisation.contains(['\n', '\r']));
            }
        }
        Err(problems) => {
            for p in problems {
                assert!(p.line >= 1 && p.line <= lines.max(2), "{p} in a file of {lines} lines");
            }
        }
    }
});
