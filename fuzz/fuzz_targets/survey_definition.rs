//! A survey definition file, parsed and checked: any text gives a survey or located problems,
//! never a crash.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(problems) = lagesbild::survey::parse(text)
    {
        assert!(!problems.is_empty());
        for p in problems {
            assert!(p.line >= 1 && p.column >= 1, "{p}");
        }
    }
});
