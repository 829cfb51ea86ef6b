//! Paging shared by every list action: `maxResults` bounds and opaque `nextToken`s.
//!
//! A token names the last item of its page (keyset paging), so it stays valid
//! while items are added or deleted; a prefix per listing keeps a token from one
//! listing out of another.

use base64::Engine;
use berth_model::ecr;

use super::error::{Error, Result};

pub const REPOSITORIES: &str = "after:";
pub const IMAGES: &str = "image:";

pub fn encode(kind: &str, last: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}{last}"))
}

pub fn decode(kind: &str, token: &str) -> Result<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.strip_prefix(kind).map(str::to_string))
        .ok_or_else(|| {
            Error::invalid(
                "Invalid parameter at 'nextToken': the token was not issued by this registry.",
            )
        })
}

pub fn check_max_results(max_results: Option<i64>) -> Result<usize> {
    let value = max_results.unwrap_or(ecr::DEFAULT_MAX_RESULTS);
    if !(1..=ecr::MAX_MAX_RESULTS).contains(&value) {
        return Err(Error::invalid(format!(
            "Invalid parameter at 'maxResults': {value} is outside 1 to {}.",
            ecr::MAX_MAX_RESULTS
        )));
    }
    Ok(value as usize)
}

/// Cuts a page fetched with one extra row: the extra row only says another page exists.
pub fn cut<T>(
    mut rows: Vec<T>,
    limit: usize,
    kind: &str,
    key: impl Fn(&T) -> &str,
) -> (Vec<T>, Option<String>) {
    if rows.len() > limit {
        rows.truncate(limit);
        let token = rows.last().map(|r| encode(kind, key(r)));
        (rows, token)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_stay_in_their_listing() {
        let token = encode(REPOSITORIES, "team/app");
        assert_eq!(decode(REPOSITORIES, &token).unwrap(), "team/app");
        assert!(matches!(
            decode(IMAGES, &token),
            Err(Error::InvalidParameter(_))
        ));
        assert!(matches!(
            decode(REPOSITORIES, "garbage!"),
            Err(Error::InvalidParameter(_))
        ));
    }

    #[test]
    fn max_results_bounds() {
        assert_eq!(check_max_results(None).unwrap(), 100);
        assert_eq!(check_max_results(Some(1000)).unwrap(), 1000);
        assert!(check_max_results(Some(0)).is_err());
        assert!(check_max_results(Some(1001)).is_err());
    }

    #[test]
    fn pages_cut_on_the_extra_row() {
        let (rows, next) = cut(vec!["a", "b", "c"], 2, IMAGES, |r| r);
        assert_eq!(rows, ["a", "b"]);
        assert_eq!(decode(IMAGES, &next.unwrap()).unwrap(), "b");
        assert_eq!(cut(vec!["a"], 2, IMAGES, |r| r), (vec!["a"], None));
    }
}
