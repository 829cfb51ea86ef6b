//! Repository names, exactly as ECR accepts them:
//! `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`, 2–256 characters.
//!
//! Written by hand rather than with a regex so that each refusal can say what is
//! wrong and where — the console shows these messages live as a person types.

use thiserror::Error;

pub const MIN_REPOSITORY_NAME_LEN: usize = 2;
pub const MAX_REPOSITORY_NAME_LEN: usize = 256;

/// Why a repository name is refused. `position` values are 1-based character columns.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RepositoryNameError {
    #[error("Enter a repository name.")]
    Empty,
    #[error("The name is too short: use at least {MIN_REPOSITORY_NAME_LEN} characters.")]
    TooShort,
    #[error(
        "The name is too long: {len} characters, at most {MAX_REPOSITORY_NAME_LEN} are allowed."
    )]
    TooLong { len: usize },
    #[error(
        "Character {position} is an uppercase letter ('{found}'): repository names are lowercase."
    )]
    Uppercase { position: usize, found: char },
    #[error("Character {position} ('{found}') is not allowed: use lowercase letters, digits, '.', '_', '-' and '/'.")]
    InvalidCharacter { position: usize, found: char },
    #[error("Character {position} ('{found}') must sit between letters or digits: a name or a path segment cannot start or end with it, nor repeat it.")]
    MisplacedSeparator { position: usize, found: char },
}

/// Checks a repository name against ECR's rules.
pub fn validate_repository_name(name: &str) -> Result<(), RepositoryNameError> {
    if name.is_empty() {
        return Err(RepositoryNameError::Empty);
    }
    let len = name.chars().count();
    let chars: Vec<char> = name.chars().collect();
    // Character-level problems first: they say more than a length does.
    for (i, &c) in chars.iter().enumerate() {
        let position = i + 1;
        if c.is_ascii_uppercase() {
            return Err(RepositoryNameError::Uppercase { position, found: c });
        }
        let allowed =
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '/');
        if !allowed {
            return Err(RepositoryNameError::InvalidCharacter { position, found: c });
        }
        if matches!(c, '.' | '_' | '-' | '/') {
            let before_ok = i > 0 && chars[i - 1].is_ascii_alphanumeric();
            let after_ok = chars.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric());
            if !before_ok || !after_ok {
                return Err(RepositoryNameError::MisplacedSeparator { position, found: c });
            }
        }
    }
    if len < MIN_REPOSITORY_NAME_LEN {
        return Err(RepositoryNameError::TooShort);
    }
    if len > MAX_REPOSITORY_NAME_LEN {
        return Err(RepositoryNameError::TooLong { len });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ecr_names() {
        for name in [
            "my-nginx-repository",
            "team/app",
            "a.b_c-d/e/f9",
            "ab",
            "0x",
        ] {
            assert_eq!(validate_repository_name(name), Ok(()), "{name}");
        }
        assert_eq!(validate_repository_name(&"a".repeat(256)), Ok(()));
    }

    #[test]
    fn refuses_with_the_reason_and_place() {
        use RepositoryNameError::*;
        assert_eq!(validate_repository_name(""), Err(Empty));
        assert_eq!(validate_repository_name("a"), Err(TooShort));
        assert_eq!(
            validate_repository_name(&"a".repeat(257)),
            Err(TooLong { len: 257 })
        );
        assert_eq!(
            validate_repository_name("My"),
            Err(Uppercase {
                position: 1,
                found: 'M'
            })
        );
        assert_eq!(
            validate_repository_name("ab c"),
            Err(InvalidCharacter {
                position: 3,
                found: ' '
            })
        );
        assert_eq!(
            validate_repository_name("-ab"),
            Err(MisplacedSeparator {
                position: 1,
                found: '-'
            })
        );
        assert_eq!(
            validate_repository_name("ab/"),
            Err(MisplacedSeparator {
                position: 3,
                found: '/'
            })
        );
        assert_eq!(
            validate_repository_name("a//b"),
            Err(MisplacedSeparator {
                position: 2,
                found: '/'
            })
        );
        assert_eq!(
            validate_repository_name("a.-b"),
            Err(MisplacedSeparator {
                position: 2,
                found: '.'
            })
        );
    }

    #[test]
    fn messages_say_where() {
        let message = validate_repository_name("team/App")
            .unwrap_err()
            .to_string();
        assert!(message.contains("Character 6"), "{message}");
        assert!(message.contains("'A'"), "{message}");
    }
}
