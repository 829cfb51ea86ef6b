//! Wildcard matching as AWS does it: `*` matches any run of characters
//! (including none); in IAM policies `?` matches exactly one character too.
//! The whole text must match, not a part of it.

/// IAM wildcard matching: `*` and `?`.
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    matches(pattern, text, ignore_case, true)
}

/// `*`-only matching, case-sensitive: lifecycle `tagPatternList` entries and tag
/// mutability exclusion filters, where `?` is an ordinary character.
pub fn star_match(pattern: &str, text: &str) -> bool {
    matches(pattern, text, false, false)
}

fn matches(pattern: &str, text: &str, ignore_case: bool, question_mark: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Greedy with backtracking to the last star: linear in practice, and never
    // exponential, because only the most recent star is ever revisited.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && ((question_mark && p[pi] == '?') || eq(p[pi], t[ti])) {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("ecr:*", "ecr:PutImage", true));
        assert!(wildcard_match(
            "ecr:Get*Layer",
            "ecr:GetDownloadUrlForLayer",
            true
        ));
        assert!(wildcard_match("ecr:?utImage", "ecr:PutImage", true));
        assert!(!wildcard_match("ecr:Put", "ecr:PutImage", true));
        assert!(!wildcard_match("a*", "A", false));
        assert!(wildcard_match("*", "", false));
        assert!(wildcard_match("a*b*c", "aXbYbc", false));
    }

    #[test]
    fn star_only() {
        assert!(star_match("prod*", "production-team1"));
        assert!(star_match("*prod*", "repo-production"));
        assert!(!star_match("prod*", "Prod1"));
        assert!(!star_match("v?", "v1"));
        assert!(star_match("v?", "v?"));
        assert!(star_match("latest", "latest"));
        assert!(!star_match("latest", "latest-1"));
        assert!(star_match("*test*1*2*3", "my-test-1-2-3"));
    }
}
