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

/// Items as a Swedish sentence lists them: "a", "a och b", "a, b och c".
pub fn list_in_swedish(items: &[String]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} och {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_read_as_swedish() {
        let l = |v: &[&str]| super::list_in_swedish(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(l(&[]), "");
        assert_eq!(l(&["klotter"]), "klotter");
        assert_eq!(l(&["klotter", "flygblad", "hot"]), "klotter, flygblad och hot");
    }

    #[test]
    fn long_values_are_cut_short_ones_kept() {
        assert_eq!(super::shown(" 2027-03-01 "), "2027-03-01");
        let long = super::shown(&"å".repeat(4_000));
        assert_eq!(long.chars().count(), 80);
        assert!(long.ends_with("å…"));
    }
}
