//! "Did you mean …?" for names people misspell: actions, keys, operators, enums.

/// Edit distance, ignoring ASCII case (a difference in case alone is still a
/// mistake worth naming, but the closest candidate is the same word).
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(!ca.eq_ignore_ascii_case(cb)))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a slip (within a
/// third of its length, at least two edits).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).max(2))
        .min()
        .map(|(_, c)| c)
}

/// `; did you mean 'x'?` or nothing, for the end of a message.
pub fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates)
        .map(|c| format!("; did you mean '{c}'?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_within_reach() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("Allow", "allow"), 0);
        let words = ["rulePriority", "selection", "action", "description"];
        assert_eq!(closest("rulepriority", words), Some("rulePriority"));
        assert_eq!(closest("selections", words), Some("selection"));
        assert_eq!(closest("frobnicate", words), None);
        assert_eq!(hint("actoin", words), "; did you mean 'action'?");
        assert_eq!(hint("zzz", words), "");
    }
}
