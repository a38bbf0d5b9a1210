//! Text typed by people, repeated back to them in a sentence.

/// A value fit to repeat in a sentence: a long one is cut, with "…", so that a message about
/// a 4,000-character field is still a message (and still fits a session cookie).
pub fn shown(value: &str) -> String {
    const MOST: usize = 80;
    let value = value.trim();
    if value.chars().count() <= MOST {
        return value.to_string();
    }
    value.chars().take(MOST - 1).chain(['…']).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_values_are_cut_short_ones_kept() {
        assert_eq!(super::shown(" 2027-03-01 "), "2027-03-01");
        let long = super::shown(&"å".repeat(4_000));
        assert_eq!(long.chars().count(), 80);
        assert!(long.ends_with("å…"));
    }
}
