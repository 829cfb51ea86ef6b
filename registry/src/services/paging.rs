//! Paging shared by every list action: `maxResults` bounds and opaque `nextToken`s.
//!
//! A token names the last item of its page (keyset paging), so it stays valid while
//! items are added or deleted. It is sealed with ChaCha20-Poly1305 under a key the
//! registry generates once: a caller can neither read which name a page stopped at
//! (it may be a repository the caller may not see) nor forge a token. The listing a
//! token belongs to (and, for images, its repository) is authenticated with it, so a
//! token from one listing is refused by another.

use base64::Engine;
use berth_model::ecr;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use super::error::{Error, Result};

/// The listing of repositories (DescribeRepositories).
pub const REPOSITORIES: &str = "repositories";

/// The listing of one repository's images (DescribeImages, ListImages).
pub fn images(repository_id: i64) -> String {
    format!("images:{repository_id}")
}

/// The results of one repository's lifecycle policy preview (GetLifecyclePolicyPreview).
pub fn lifecycle_preview(repository_id: i64) -> String {
    format!("lifecycle-preview:{repository_id}")
}

const NONCE_BYTES: usize = 12;

/// Seals and opens page tokens.
pub struct PageTokens {
    cipher: ChaCha20Poly1305,
}

impl PageTokens {
    pub fn new(key: &[u8; 32]) -> PageTokens {
        PageTokens {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// A token for the page after `last` in `listing`.
    pub fn seal(&self, listing: &str, last: &str) -> String {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: last.as_bytes(),
                    aad: listing.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut token = nonce.to_vec();
        token.extend_from_slice(&sealed);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token)
    }

    /// The item a token of `listing` names; refused when it was issued by another
    /// registry or listing, or altered.
    pub fn open(&self, listing: &str, token: &str) -> Result<String> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .filter(|bytes| bytes.len() > NONCE_BYTES)
            .and_then(|bytes| {
                let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
                self.cipher
                    .decrypt(
                        Nonce::from_slice(nonce),
                        Payload {
                            msg: sealed,
                            aad: listing.as_bytes(),
                        },
                    )
                    .ok()
            })
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| {
                Error::invalid(
                    "Invalid parameter at 'nextToken': the token was not issued by this registry for this listing.",
                )
            })
    }

    /// Cuts a page fetched with one extra row: the extra row only says another page
    /// exists.
    pub fn cut<T>(
        &self,
        mut rows: Vec<T>,
        limit: usize,
        listing: &str,
        key: impl Fn(&T) -> &str,
    ) -> (Vec<T>, Option<String>) {
        if rows.len() > limit {
            rows.truncate(limit);
            let token = rows.last().map(|r| self.seal(listing, key(r)));
            (rows, token)
        } else {
            (rows, None)
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_stay_in_their_listing_and_hide_their_item() {
        let tokens = PageTokens::new(&[7; 32]);
        let token = tokens.seal(REPOSITORIES, "team/secret-app");
        assert_eq!(
            tokens.open(REPOSITORIES, &token).unwrap(),
            "team/secret-app"
        );
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&token)
            .unwrap();
        assert!(
            !raw.windows(6).any(|w| w == b"secret"),
            "the name is not readable"
        );
        assert_ne!(
            token,
            tokens.seal(REPOSITORIES, "team/secret-app"),
            "fresh nonce"
        );
        for (listing, token) in [
            (images(1).as_str(), token.as_str()),
            (REPOSITORIES, "garbage!"),
            (REPOSITORIES, ""),
        ] {
            assert!(matches!(
                tokens.open(listing, token),
                Err(Error::InvalidParameter(_))
            ));
        }
        let mut altered = raw.clone();
        *altered.last_mut().unwrap() ^= 1;
        let altered = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(altered);
        assert!(tokens.open(REPOSITORIES, &altered).is_err());
        let other_registry = PageTokens::new(&[8; 32]);
        assert!(other_registry.open(REPOSITORIES, &token).is_err());
        let image_token = tokens.seal(&images(1), "sha256:ab");
        assert!(tokens.open(&images(2), &image_token).is_err());
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
        let tokens = PageTokens::new(&[7; 32]);
        let (rows, next) = tokens.cut(vec!["a", "b", "c"], 2, REPOSITORIES, |r| r);
        assert_eq!(rows, ["a", "b"]);
        assert_eq!(tokens.open(REPOSITORIES, &next.unwrap()).unwrap(), "b");
        assert_eq!(
            tokens.cut(vec!["a"], 2, REPOSITORIES, |r| r),
            (vec!["a"], None)
        );
    }
}
