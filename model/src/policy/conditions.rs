//! `Condition` blocks: every operator IAM has (so any condition ECR accepts
//! parses), and evaluation of the keys Berth knows a value for.
//!
//! Evaluation is three-valued. A key Berth has no value for (`aws:SourceIp`,
//! `aws:PrincipalOrgID`, `ecr:ResourceTag/…`), or an operator family it does not
//! evaluate (numeric, date, IP, binary, boolean), makes the condition
//! [`Truth::Unknown`]; the caller then lets such a statement deny but never allow.

use crate::glob::wildcard_match;
use crate::json::Position;

/// The operator families of IAM's condition grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionOperator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

use ConditionOperator as Op;

const OPERATORS: &[(&str, ConditionOperator)] = &[
    ("StringEquals", Op::StringEquals),
    ("StringNotEquals", Op::StringNotEquals),
    ("StringEqualsIgnoreCase", Op::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", Op::StringNotEqualsIgnoreCase),
    ("StringLike", Op::StringLike),
    ("StringNotLike", Op::StringNotLike),
    ("NumericEquals", Op::NumericEquals),
    ("NumericNotEquals", Op::NumericNotEquals),
    ("NumericLessThan", Op::NumericLessThan),
    ("NumericLessThanEquals", Op::NumericLessThanEquals),
    ("NumericGreaterThan", Op::NumericGreaterThan),
    ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
    ("DateEquals", Op::DateEquals),
    ("DateNotEquals", Op::DateNotEquals),
    ("DateLessThan", Op::DateLessThan),
    ("DateLessThanEquals", Op::DateLessThanEquals),
    ("DateGreaterThan", Op::DateGreaterThan),
    ("DateGreaterThanEquals", Op::DateGreaterThanEquals),
    ("Bool", Op::Bool),
    ("BinaryEquals", Op::BinaryEquals),
    ("IpAddress", Op::IpAddress),
    ("NotIpAddress", Op::NotIpAddress),
    ("ArnEquals", Op::ArnEquals),
    ("ArnLike", Op::ArnLike),
    ("ArnNotEquals", Op::ArnNotEquals),
    ("ArnNotLike", Op::ArnNotLike),
    ("Null", Op::Null),
];

/// `ForAllValues:` / `ForAnyValue:` in front of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    ForAllValues,
    ForAnyValue,
}

/// An operator as IAM spells it: an optional set qualifier, the family, and an
/// optional `IfExists` suffix (`ForAnyValue:StringLikeIfExists`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub set: Option<SetQualifier>,
    pub family: ConditionOperator,
    pub if_exists: bool,
}

/// One key test of a `Condition` block: `{"StringLike": {"aws:PrincipalArn": [...]}}`
/// gives one `Condition` per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator as written.
    pub operator_name: String,
    pub operator: Operator,
    /// As written; IAM compares key names without regard to case.
    pub key: String,
    /// Condition values as text (numbers and booleans as JSON writes them).
    pub values: Vec<String>,
    pub position: Position,
}

/// The keys whose values Berth knows for every request: they come from the
/// caller's principal ARN.
pub const EVALUATED_KEYS: &[&str] = &[
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalType",
    "aws:username",
];

/// The operator names IAM knows, for "did you mean".
pub fn operator_names() -> impl Iterator<Item = &'static str> {
    OPERATORS.iter().map(|(name, _)| *name)
}

/// Reads an operator name; `None` when IAM has no such operator. Case is not
/// significant, so nothing ECR accepts is refused on case alone.
pub fn parse_operator(name: &str) -> Option<Operator> {
    let lower = name.to_ascii_lowercase();
    let (set, rest) = if let Some(rest) = lower.strip_prefix("forallvalues:") {
        (Some(SetQualifier::ForAllValues), rest)
    } else if let Some(rest) = lower.strip_prefix("foranyvalue:") {
        (Some(SetQualifier::ForAnyValue), rest)
    } else {
        (None, lower.as_str())
    };
    let family_of = |n: &str| {
        OPERATORS
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(n))
            .map(|(_, op)| *op)
    };
    if let Some(family) = family_of(rest) {
        return Some(Operator {
            set,
            family,
            if_exists: false,
        });
    }
    let base = rest.strip_suffix("ifexists")?;
    let family = family_of(base).filter(|op| *op != Op::Null)?;
    Some(Operator {
        set,
        family,
        if_exists: true,
    })
}

/// A condition's, or a statement's, outcome when Berth may not know everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    /// AWS would decide this from something Berth cannot see.
    Unknown,
}

impl Truth {
    pub fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::Unknown, _) | (_, Truth::Unknown) => Truth::Unknown,
            _ => Truth::True,
        }
    }

    fn from(b: bool) -> Truth {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }
}

/// The account a principal ARN belongs to.
pub fn principal_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("iam" | "sts"), Some(""), Some(account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some(account)
}

/// The values of `key` for a request by `principal_arn`: `Some(vec![])` when the
/// key is known to be absent (IAM's "missing key"), `None` when Berth does not
/// know this key at all.
fn request_values(key: &str, principal_arn: &str) -> Option<Vec<String>> {
    let resource = principal_arn.splitn(6, ':').nth(5).unwrap_or("");
    let known = |name: &str| key.eq_ignore_ascii_case(name);
    if known("aws:PrincipalArn") {
        Some(vec![principal_arn.to_string()])
    } else if known("aws:PrincipalAccount") {
        Some(
            principal_account(principal_arn)
                .map(str::to_string)
                .into_iter()
                .collect(),
        )
    } else if known("aws:PrincipalType") {
        let kind = if resource == "root" {
            Some("Account")
        } else if resource.starts_with("user/") {
            Some("User")
        } else if resource.starts_with("assumed-role/") {
            Some("AssumedRole")
        } else {
            None
        };
        Some(kind.map(str::to_string).into_iter().collect())
    } else if known("aws:username") {
        Some(
            resource
                .strip_prefix("user/")
                .map(|path| path.rsplit('/').next().unwrap_or(path).to_string())
                .into_iter()
                .collect(),
        )
    } else {
        None
    }
}

fn negated(family: ConditionOperator) -> bool {
    matches!(
        family,
        Op::StringNotEquals
            | Op::StringNotEqualsIgnoreCase
            | Op::StringNotLike
            | Op::ArnNotEquals
            | Op::ArnNotLike
    )
}

/// Whether one request value satisfies the operator's positive form against one
/// condition value; `None` for families Berth does not evaluate.
fn positive_match(family: ConditionOperator, actual: &str, expected: &str) -> Option<bool> {
    Some(match family {
        Op::StringEquals | Op::StringNotEquals => actual == expected,
        Op::StringEqualsIgnoreCase | Op::StringNotEqualsIgnoreCase => {
            actual.to_lowercase() == expected.to_lowercase()
        }
        Op::StringLike | Op::StringNotLike => wildcard_match(expected, actual, false),
        // IAM documents ArnEquals and ArnLike as the same wildcard test.
        Op::ArnEquals | Op::ArnLike | Op::ArnNotEquals | Op::ArnNotLike => {
            wildcard_match(expected, actual, false)
        }
        _ => return None,
    })
}

impl Condition {
    /// Whether Berth can evaluate this condition at all (known key, evaluated
    /// family). When it cannot, the statement it belongs to denies but never allows.
    pub fn is_evaluated(&self) -> bool {
        let family_ok = self.operator.family == Op::Null
            || positive_match(self.operator.family, "", "").is_some();
        family_ok
            && EVALUATED_KEYS
                .iter()
                .any(|k| k.eq_ignore_ascii_case(&self.key))
    }

    /// The condition for a request by `principal_arn`, as IAM evaluates it.
    pub fn evaluate(&self, principal_arn: &str) -> Truth {
        let Some(actual) = request_values(&self.key, principal_arn) else {
            return Truth::Unknown;
        };
        let family = self.operator.family;
        if family == Op::Null {
            // "true" asks that the key be absent, "false" that it be present.
            let absent = actual.is_empty();
            return Truth::from(self.values.iter().any(|v| match v.as_str() {
                "true" => absent,
                "false" => !absent,
                _ => false,
            }));
        }
        if positive_match(family, "", "").is_none() {
            return Truth::Unknown;
        }
        if actual.is_empty() && self.operator.if_exists {
            return Truth::True;
        }
        let holds_for = |value: &str| {
            let any = self
                .values
                .iter()
                .any(|expected| positive_match(family, value, expected) == Some(true));
            if negated(family) {
                !any
            } else {
                any
            }
        };
        let results: Vec<bool> = actual.iter().map(|v| holds_for(v)).collect();
        Truth::from(match self.operator.set {
            Some(SetQualifier::ForAllValues) => results.iter().all(|r| *r),
            Some(SetQualifier::ForAnyValue) => results.iter().any(|r| *r),
            // A single-valued key: a missing one fails a positive test and passes a negated one.
            None => match results.first() {
                Some(result) => *result,
                None => negated(family),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CI: &str = "arn:aws:iam::123456789012:user/ci";
    const ROOT: &str = "arn:aws:iam::123456789012:root";

    fn condition(operator: &str, key: &str, values: &[&str]) -> Condition {
        Condition {
            operator_name: operator.into(),
            operator: parse_operator(operator).unwrap(),
            key: key.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
            position: Position::START,
        }
    }

    #[test]
    fn operators_with_qualifiers() {
        let op = parse_operator("ForAnyValue:StringLikeIfExists").unwrap();
        assert_eq!(op.set, Some(SetQualifier::ForAnyValue));
        assert_eq!(op.family, Op::StringLike);
        assert!(op.if_exists);
        assert_eq!(
            parse_operator("stringequals").unwrap().family,
            Op::StringEquals
        );
        assert_eq!(parse_operator("IpAddress").unwrap().family, Op::IpAddress);
        assert!(parse_operator("NullIfExists").is_none());
        assert!(parse_operator("StringEqual").is_none());
        assert!(parse_operator("ForSomeValues:StringEquals").is_none());
    }

    #[test]
    fn known_keys_evaluate() {
        let like = condition(
            "StringLike",
            "aws:PrincipalArn",
            &["arn:aws:iam::123456789012:user/c*"],
        );
        assert_eq!(like.evaluate(CI), Truth::True);
        assert_eq!(like.evaluate(ROOT), Truth::False);
        let account = condition("StringEquals", "AWS:PRINCIPALACCOUNT", &["123456789012"]);
        assert_eq!(account.evaluate(CI), Truth::True);
        let not_user = condition("StringNotEquals", "aws:username", &["ci"]);
        assert_eq!(not_user.evaluate(CI), Truth::False);
        // The root has no user name: a negated test of a missing key passes.
        assert_eq!(not_user.evaluate(ROOT), Truth::True);
        let user = condition("StringEquals", "aws:username", &["ci"]);
        assert_eq!(user.evaluate(ROOT), Truth::False);
        let if_exists = condition("StringEqualsIfExists", "aws:username", &["ci"]);
        assert_eq!(if_exists.evaluate(ROOT), Truth::True);
        let null = condition("Null", "aws:username", &["true"]);
        assert_eq!(null.evaluate(ROOT), Truth::True);
        assert_eq!(null.evaluate(CI), Truth::False);
        let kind = condition("StringEquals", "aws:PrincipalType", &["Account"]);
        assert_eq!(kind.evaluate(ROOT), Truth::True);
        let arn = condition("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::*:user/ci"]);
        assert_eq!(arn.evaluate(CI), Truth::True);
        let all = condition("ForAllValues:StringEquals", "aws:username", &["x"]);
        assert_eq!(
            all.evaluate(ROOT),
            Truth::True,
            "vacuously true when absent"
        );
        let any = condition("ForAnyValue:StringEquals", "aws:username", &["ci"]);
        assert_eq!(any.evaluate(ROOT), Truth::False);
        assert_eq!(any.evaluate(CI), Truth::True);
    }

    #[test]
    fn what_berth_cannot_see_is_unknown() {
        let ip = condition("IpAddress", "aws:SourceIp", &["10.0.0.0/8"]);
        assert_eq!(ip.evaluate(CI), Truth::Unknown);
        assert!(!ip.is_evaluated());
        let org = condition("StringEquals", "aws:PrincipalOrgID", &["o-123"]);
        assert_eq!(org.evaluate(CI), Truth::Unknown);
        let numeric = condition("NumericLessThan", "aws:PrincipalArn", &["3"]);
        assert_eq!(numeric.evaluate(CI), Truth::Unknown);
        assert!(condition("StringLike", "aws:PrincipalArn", &["*"]).is_evaluated());
        assert_eq!(Truth::True.and(Truth::Unknown), Truth::Unknown);
        assert_eq!(Truth::Unknown.and(Truth::False), Truth::False);
    }

    #[test]
    fn accounts_of_principals() {
        assert_eq!(principal_account(CI), Some("123456789012"));
        assert_eq!(
            principal_account("arn:aws:sts::111122223333:assumed-role/r/s"),
            Some("111122223333")
        );
        assert_eq!(principal_account("arn:aws:s3:::bucket"), None);
        assert_eq!(principal_account("nonsense"), None);
    }
}
