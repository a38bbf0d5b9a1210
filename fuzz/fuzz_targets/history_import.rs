//! An earlier year's tallies file, as `lagesbild history import` reads it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = lagesbild::analysis::parse_tallies_csv(data);
});
