//! Repository policies: the IAM policy grammar as ECR accepts it, validated with
//! messages that say what is wrong and where, and evaluated the way AWS does
//! (an explicit Deny wins; otherwise an Allow is needed).
//!
//! The registry enforces with this code and the console's editor and simulator
//! explain with it, so the two cannot disagree.

use serde_json::Value;

/// Every ECR API action name (botocore's ECR model), for validating `Action` entries.
pub const ECR_ACTIONS: &[&str] = &[
    "BatchCheckLayerAvailability",
    "BatchDeleteImage",
    "BatchGetImage",
    "BatchGetRepositoryScanningConfiguration",
    "CompleteLayerUpload",
    "CreatePullThroughCacheRule",
    "CreateRepository",
    "CreateRepositoryCreationTemplate",
    "DeleteLifecyclePolicy",
    "DeletePullThroughCacheRule",
    "DeleteRegistryPolicy",
    "DeleteRepository",
    "DeleteRepositoryCreationTemplate",
    "DeleteRepositoryPolicy",
    "DeleteSigningConfiguration",
    "DeregisterPullTimeUpdateExclusion",
    "DescribeImageReplicationStatus",
    "DescribeImageScanFindings",
    "DescribeImageSigningStatus",
    "DescribeImages",
    "DescribePullThroughCacheRules",
    "DescribeRegistry",
    "DescribeRepositories",
    "DescribeRepositoryCreationTemplates",
    "GetAccountSetting",
    "GetAuthorizationToken",
    "GetDownloadUrlForLayer",
    "GetLifecyclePolicy",
    "GetLifecyclePolicyPreview",
    "GetRegistryPolicy",
    "GetRegistryScanningConfiguration",
    "GetRepositoryPolicy",
    "GetSigningConfiguration",
    "InitiateLayerUpload",
    "ListImageReferrers",
    "ListImages",
    "ListPullTimeUpdateExclusions",
    "ListTagsForResource",
    "PutAccountSetting",
    "PutImage",
    "PutImageScanningConfiguration",
    "PutImageTagMutability",
    "PutLifecyclePolicy",
    "PutRegistryPolicy",
    "PutRegistryScanningConfiguration",
    "PutReplicationConfiguration",
    "PutSigningConfiguration",
    "RegisterPullTimeUpdateExclusion",
    "ReplicateImage",
    "SetRepositoryPolicy",
    "StartImageScan",
    "StartLifecyclePolicyPreview",
    "TagResource",
    "UntagResource",
    "UpdateImageStorageClass",
    "UpdatePullThroughCacheRule",
    "UpdateRepositoryCreationTemplate",
    "UploadLayerPart",
    "ValidatePullThroughCacheRule",
];

/// What a pull needs, and what a push needs (docker also checks layers and manifests).
pub const PULL_ACTIONS: &[&str] = &[
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
];
pub const PUSH_ACTIONS: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
];

const VERSIONS: &[&str] = &["2012-10-17", "2008-10-17"];
const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "Action",
    "Resource",
    "Condition",
];
const CONDITION_KEYS: &[&str] = &["aws:PrincipalArn", "aws:PrincipalAccount", "aws:username"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    /// `"Principal": "*"` or `{"AWS": "*"}`.
    Any,
    /// Account ids and ARNs.
    Aws(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionOperator {
    StringEquals,
    StringNotEquals,
    StringLike,
    StringNotLike,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: ConditionOperator,
    /// One of [`CONDITION_KEYS`], as written.
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principals: Principals,
    /// `ecr:Name` patterns (wildcards `*` and `?`), or `*`.
    pub actions: Vec<String>,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub version: String,
    pub statements: Vec<Statement>,
}

/// One thing wrong with a policy document, and where (a JSON path such as
/// `Statement[1].Action[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Who is asking to do what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRequest<'a> {
    pub principal_arn: &'a str,
    pub action: &'a str,
}

/// The outcome of evaluating a policy for a request; indexes point into `statements`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed { statement: usize },
    ExplicitlyDenied { statement: usize },
    NotAllowed,
}

fn problem(path: impl Into<String>, message: impl Into<String>) -> PolicyProblem {
    PolicyProblem {
        path: path.into(),
        message: message.into(),
    }
}

/// Parses and validates a policy document, reporting every problem found.
pub fn parse_policy(text: &str) -> Result<Policy, Vec<PolicyProblem>> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        vec![problem(
            "",
            format!(
                "not valid JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )]
    })?;
    let Value::Object(document) = value else {
        return Err(vec![problem(
            "",
            "a policy is a JSON object with Version and Statement",
        )]);
    };
    let mut problems = Vec::new();
    for key in document.keys() {
        if !["Version", "Statement", "Id"].contains(&key.as_str()) {
            problems.push(problem(
                key.clone(),
                format!("unsupported key '{key}': a policy has Version, Id and Statement"),
            ));
        }
    }
    let version = match document.get("Version") {
        Some(Value::String(v)) if VERSIONS.contains(&v.as_str()) => v.clone(),
        Some(other) => {
            problems.push(problem(
                "Version",
                format!("{other} is not a policy version: use \"2012-10-17\""),
            ));
            String::new()
        }
        None => {
            problems.push(problem(
                "Version",
                "Version is missing: add \"Version\": \"2012-10-17\"",
            ));
            String::new()
        }
    };
    let raw_statements: Vec<(String, &Value)> = match document.get("Statement") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("Statement[{i}]"), v))
            .collect(),
        Some(Value::Array(_)) => {
            problems.push(problem(
                "Statement",
                "Statement is empty: add at least one statement",
            ));
            Vec::new()
        }
        Some(single @ Value::Object(_)) => vec![("Statement".to_string(), single)],
        Some(_) => {
            problems.push(problem(
                "Statement",
                "Statement must be an object or a list of objects",
            ));
            Vec::new()
        }
        None => {
            problems.push(problem("Statement", "Statement is missing"));
            Vec::new()
        }
    };
    let mut statements = Vec::new();
    let mut sids: Vec<(String, String)> = Vec::new();
    for (path, raw) in raw_statements {
        if let Some(statement) = parse_statement(&path, raw, &mut problems) {
            if let Some(sid) = &statement.sid {
                if let Some((first, _)) = sids.iter().find(|(_, s)| s == sid) {
                    problems.push(problem(
                        format!("{path}.Sid"),
                        format!("Sid '{sid}' is already used by {first}: Sids must be unique"),
                    ));
                }
                sids.push((path.clone(), sid.clone()));
            }
            statements.push(statement);
        }
    }
    if problems.is_empty() {
        Ok(Policy {
            version,
            statements,
        })
    } else {
        Err(problems)
    }
}

fn strings(
    path: &str,
    value: &Value,
    what: &str,
    problems: &mut Vec<PolicyProblem>,
) -> Vec<(String, String)> {
    match value {
        Value::String(s) => vec![(path.to_string(), s.clone())],
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match item {
                Value::String(s) => Some((format!("{path}[{i}]"), s.clone())),
                _ => {
                    problems.push(problem(
                        format!("{path}[{i}]"),
                        format!("each {what} must be a string"),
                    ));
                    None
                }
            })
            .collect(),
        _ => {
            problems.push(problem(
                path,
                format!("{what} must be a string or a non-empty list of strings"),
            ));
            Vec::new()
        }
    }
}

fn parse_statement(
    path: &str,
    raw: &Value,
    problems: &mut Vec<PolicyProblem>,
) -> Option<Statement> {
    let Value::Object(fields) = raw else {
        problems.push(problem(path, "a statement must be an object"));
        return None;
    };
    let before = problems.len();
    for key in fields.keys() {
        if !STATEMENT_KEYS.contains(&key.as_str()) {
            let hint = match key.as_str() {
                "NotPrincipal" | "NotAction" | "NotResource" => {
                    " (Berth does not support Not* elements yet)"
                }
                _ => "",
            };
            problems.push(problem(
                format!("{path}.{key}"),
                format!("unsupported key '{key}'{hint}: a statement has Sid, Effect, Principal, Action, Resource and Condition"),
            ));
        }
    }
    let sid = match fields.get("Sid") {
        None => None,
        Some(Value::String(s)) if s.chars().all(|c| c.is_ascii_alphanumeric()) => Some(s.clone()),
        Some(Value::String(s)) => {
            problems.push(problem(
                format!("{path}.Sid"),
                format!("Sid '{s}' may contain only letters and digits"),
            ));
            None
        }
        Some(_) => {
            problems.push(problem(format!("{path}.Sid"), "Sid must be a string"));
            None
        }
    };
    let effect = match fields.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Some(Effect::Allow),
        Some(Value::String(e)) if e == "Deny" => Some(Effect::Deny),
        Some(other) => {
            problems.push(problem(
                format!("{path}.Effect"),
                format!("Effect must be \"Allow\" or \"Deny\", not {other}"),
            ));
            None
        }
        None => {
            problems.push(problem(
                format!("{path}.Effect"),
                "Effect is missing: \"Allow\" or \"Deny\"",
            ));
            None
        }
    };
    let principals = match fields.get("Principal") {
        None => {
            problems.push(problem(
                format!("{path}.Principal"),
                "Principal is missing: a repository policy says whom it applies to",
            ));
            None
        }
        Some(value) => parse_principal(&format!("{path}.Principal"), value, problems),
    };
    let actions = match fields.get("Action") {
        None => {
            problems.push(problem(format!("{path}.Action"), "Action is missing"));
            Vec::new()
        }
        Some(value) => strings(&format!("{path}.Action"), value, "action", problems)
            .into_iter()
            .filter_map(|(p, action)| check_action(&p, &action, problems).then_some(action))
            .collect(),
    };
    let conditions = match fields.get("Condition") {
        None => Vec::new(),
        Some(value) => parse_conditions(&format!("{path}.Condition"), value, problems),
    };
    if problems.len() > before {
        return None;
    }
    Some(Statement {
        sid,
        effect: effect?,
        principals: principals?,
        actions,
        conditions,
    })
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `arn:aws:iam::<account>:root|user/<name>|role/<name>`.
fn is_principal_arn(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("arn:aws:iam::") else {
        return false;
    };
    let Some((account, resource)) = rest.split_once(':') else {
        return false;
    };
    is_account_id(account)
        && (resource == "root"
            || resource
                .strip_prefix("user/")
                .or_else(|| resource.strip_prefix("role/"))
                .is_some_and(|name| {
                    !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
                }))
}

fn parse_principal(
    path: &str,
    value: &Value,
    problems: &mut Vec<PolicyProblem>,
) -> Option<Principals> {
    match value {
        Value::String(s) if s == "*" => Some(Principals::Any),
        Value::Object(map) => {
            let mut result = None;
            for (key, inner) in map {
                if key != "AWS" {
                    problems.push(problem(
                        format!("{path}.{key}"),
                        format!("'{key}' principals are not supported: use \"AWS\" with account ids or IAM ARNs"),
                    ));
                    continue;
                }
                let entries = strings(&format!("{path}.AWS"), inner, "principal", problems);
                if entries.iter().any(|(_, e)| e == "*") {
                    result = Some(Principals::Any);
                    continue;
                }
                let mut arns = Vec::new();
                for (p, entry) in entries {
                    if is_account_id(&entry) || is_principal_arn(&entry) {
                        arns.push(entry);
                    } else {
                        problems.push(problem(
                            p,
                            format!("'{entry}' is not a principal: use a 12-digit account id, arn:aws:iam::<account>:root, arn:aws:iam::<account>:user/<name> or \"*\""),
                        ));
                    }
                }
                result = Some(Principals::Aws(arns));
            }
            if result.is_none() && !map.contains_key("AWS") && map.is_empty() {
                problems.push(problem(path, "Principal is empty"));
            }
            result
        }
        _ => {
            problems.push(problem(path, "Principal must be \"*\" or {\"AWS\": ...}"));
            None
        }
    }
}

/// Edit distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
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

/// Names people reach for that ECR spells otherwise.
const ACTION_ALIASES: &[(&str, &str)] = &[
    ("PullImage", "BatchGetImage"),
    ("GetImage", "BatchGetImage"),
    ("PushImage", "PutImage"),
    ("DeleteImage", "BatchDeleteImage"),
    ("UploadLayer", "UploadLayerPart"),
];

/// The known action closest to a misspelt one.
pub fn suggest_action(name: &str) -> Option<&'static str> {
    if let Some((_, known)) = ACTION_ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
    {
        return Some(known);
    }
    ECR_ACTIONS
        .iter()
        .map(|a| (distance(name, a), *a))
        .filter(|(d, a)| *d <= (a.len() / 3).max(2))
        .min()
        .map(|(_, a)| a)
}

fn check_action(path: &str, action: &str, problems: &mut Vec<PolicyProblem>) -> bool {
    if action == "*" {
        return true;
    }
    let Some((service, name)) = action.split_once(':') else {
        problems.push(problem(
            path,
            format!("'{action}' is not an action: write ecr:<Action>, e.g. ecr:BatchGetImage"),
        ));
        return false;
    };
    if !service.eq_ignore_ascii_case("ecr") {
        problems.push(problem(
            path,
            format!("'{action}' is not an ECR action: repository policies take ecr:<Action>"),
        ));
        return false;
    }
    if ECR_ACTIONS
        .iter()
        .any(|known| wildcard_match(name, known, true))
    {
        return true;
    }
    let hint = suggest_action(name)
        .map(|s| format!("; did you mean 'ecr:{s}'?"))
        .unwrap_or_default();
    problems.push(problem(
        path,
        format!("'{action}' matches no ECR action{hint}"),
    ));
    false
}

fn parse_conditions(
    path: &str,
    value: &Value,
    problems: &mut Vec<PolicyProblem>,
) -> Vec<Condition> {
    let Value::Object(operators) = value else {
        problems.push(problem(path, "Condition must be an object of operators"));
        return Vec::new();
    };
    let mut conditions = Vec::new();
    for (operator_name, block) in operators {
        let operator = match operator_name.as_str() {
            "StringEquals" | "ArnEquals" => ConditionOperator::StringEquals,
            "StringNotEquals" | "ArnNotEquals" => ConditionOperator::StringNotEquals,
            "StringLike" | "ArnLike" => ConditionOperator::StringLike,
            "StringNotLike" | "ArnNotLike" => ConditionOperator::StringNotLike,
            other => {
                problems.push(problem(
                    format!("{path}.{other}"),
                    format!("condition operator '{other}' is not supported: use StringEquals, StringNotEquals, StringLike, StringNotLike or their Arn forms"),
                ));
                continue;
            }
        };
        let Value::Object(keys) = block else {
            problems.push(problem(
                format!("{path}.{operator_name}"),
                "a condition operator takes an object of keys",
            ));
            continue;
        };
        for (key, values) in keys {
            let key_path = format!("{path}.{operator_name}.{key}");
            if !CONDITION_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                problems.push(problem(
                    key_path,
                    format!(
                        "condition key '{key}' is not supported: use {}",
                        CONDITION_KEYS.join(", ")
                    ),
                ));
                continue;
            }
            let values = strings(&key_path, values, "condition value", problems)
                .into_iter()
                .map(|(_, v)| v)
                .collect();
            conditions.push(Condition {
                operator,
                key: key.clone(),
                values,
            });
        }
    }
    conditions
}

/// `*` and `?` glob matching.
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
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

/// The account a principal ARN belongs to.
pub fn principal_account(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:aws:iam::")?.split(':').next()
}

fn principal_matches(principals: &Principals, arn: &str) -> bool {
    match principals {
        Principals::Any => true,
        Principals::Aws(entries) => entries.iter().any(|entry| {
            if is_account_id(entry) {
                principal_account(arn) == Some(entry.as_str())
            } else if let Some(account) = entry
                .strip_prefix("arn:aws:iam::")
                .and_then(|r| r.strip_suffix(":root"))
            {
                principal_account(arn) == Some(account)
            } else {
                entry == arn
            }
        }),
    }
}

fn condition_holds(condition: &Condition, request: &AccessRequest<'_>) -> bool {
    let key = condition.key.to_ascii_lowercase();
    let actual = match key.as_str() {
        "aws:principalarn" => Some(request.principal_arn.to_string()),
        "aws:principalaccount" => principal_account(request.principal_arn).map(str::to_string),
        "aws:username" => request
            .principal_arn
            .split_once(":user/")
            .map(|(_, name)| name.to_string()),
        _ => None,
    };
    let Some(actual) = actual else {
        // A key the request does not have never satisfies a positive condition.
        return matches!(
            condition.operator,
            ConditionOperator::StringNotEquals | ConditionOperator::StringNotLike
        );
    };
    let any = |f: &dyn Fn(&str) -> bool| condition.values.iter().any(|v| f(v));
    match condition.operator {
        ConditionOperator::StringEquals => any(&|v| v == actual),
        ConditionOperator::StringNotEquals => !any(&|v| v == actual),
        ConditionOperator::StringLike => any(&|v| wildcard_match(v, &actual, false)),
        ConditionOperator::StringNotLike => !any(&|v| wildcard_match(v, &actual, false)),
    }
}

impl Statement {
    pub fn applies_to(&self, request: &AccessRequest<'_>) -> bool {
        principal_matches(&self.principals, request.principal_arn)
            && self
                .actions
                .iter()
                .any(|a| wildcard_match(a, request.action, true))
            && self.conditions.iter().all(|c| condition_holds(c, request))
    }

    /// "Allow", or the Sid when there is one, for messages.
    pub fn label(&self, index: usize) -> String {
        match &self.sid {
            Some(sid) => format!("statement '{sid}'"),
            None => format!("statement {}", index + 1),
        }
    }
}

impl Policy {
    /// An explicit Deny anywhere wins; otherwise the first matching Allow decides.
    pub fn evaluate(&self, request: &AccessRequest<'_>) -> Decision {
        let mut allowed = None;
        for (index, statement) in self.statements.iter().enumerate() {
            if !statement.applies_to(request) {
                continue;
            }
            match statement.effect {
                Effect::Deny => return Decision::ExplicitlyDenied { statement: index },
                Effect::Allow => {
                    allowed.get_or_insert(index);
                }
            }
        }
        match allowed {
            Some(statement) => Decision::Allowed { statement },
            None => Decision::NotAllowed,
        }
    }
}

/// The 1-based line on which each value of a JSON document starts, keyed by the
/// paths [`parse_policy`] reports (`Version`, `Statement[0].Action[1]`, …), so an
/// editor can pin each problem to its line. Stops quietly at malformed JSON.
pub fn value_lines(text: &str) -> std::collections::BTreeMap<String, usize> {
    struct Walker<'a> {
        chars: std::iter::Peekable<std::str::Chars<'a>>,
        line: usize,
        lines: std::collections::BTreeMap<String, usize>,
    }
    impl Walker<'_> {
        fn bump(&mut self) -> Option<char> {
            let c = self.chars.next()?;
            if c == '\n' {
                self.line += 1;
            }
            Some(c)
        }
        fn skip_ws(&mut self) {
            while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
                self.bump();
            }
        }
        fn string(&mut self) -> Option<String> {
            let mut out = String::new();
            loop {
                match self.bump()? {
                    '"' => return Some(out),
                    '\\' => {
                        out.push(self.bump()?);
                    }
                    c => out.push(c),
                }
            }
        }
        fn value(&mut self, path: &str) -> Option<()> {
            self.skip_ws();
            self.lines.entry(path.to_string()).or_insert(self.line);
            match *self.chars.peek()? {
                '{' => {
                    self.bump();
                    loop {
                        self.skip_ws();
                        match self.bump()? {
                            '}' => return Some(()),
                            ',' => continue,
                            '"' => {
                                let key = self.string()?;
                                self.skip_ws();
                                if self.bump()? != ':' {
                                    return None;
                                }
                                let child = if path.is_empty() {
                                    key
                                } else {
                                    format!("{path}.{key}")
                                };
                                self.value(&child)?;
                            }
                            _ => return None,
                        }
                    }
                }
                '[' => {
                    self.bump();
                    let mut index = 0;
                    loop {
                        self.skip_ws();
                        match self.chars.peek()? {
                            ']' => {
                                self.bump();
                                return Some(());
                            }
                            ',' => {
                                self.bump();
                            }
                            _ => {
                                self.value(&format!("{path}[{index}]"))?;
                                index += 1;
                            }
                        }
                    }
                }
                '"' => {
                    self.bump();
                    self.string().map(|_| ())
                }
                _ => {
                    while self
                        .chars
                        .peek()
                        .is_some_and(|c| !matches!(c, ',' | '}' | ']') && !c.is_whitespace())
                    {
                        self.bump();
                    }
                    Some(())
                }
            }
        }
    }
    let mut walker = Walker {
        chars: text.chars().peekable(),
        line: 1,
        lines: Default::default(),
    };
    walker.value("");
    walker.lines
}

/// The line a problem belongs to: its own path's, else its nearest ancestor's.
pub fn problem_line(
    lines: &std::collections::BTreeMap<String, usize>,
    problem: &PolicyProblem,
) -> Option<usize> {
    if let Some(rest) = problem.message.strip_prefix("not valid JSON at line ") {
        return rest.split(',').next().and_then(|n| n.trim().parse().ok());
    }
    let mut path = problem.path.as_str();
    loop {
        if let Some(line) = lines.get(path) {
            return Some(*line);
        }
        let cut = path.rfind(['.', '['])?;
        path = &path[..cut];
    }
}

/// Ready-made policies for the editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// Pull only, for the given principals.
    PullOnly,
    /// Push and pull, for a CI user.
    PushAndPull,
    /// Read access for another AWS account.
    CrossAccountRead,
    /// Nobody may delete images or the repository.
    DenyDelete,
}

impl Template {
    pub const ALL: [Template; 4] = [
        Template::PullOnly,
        Template::PushAndPull,
        Template::CrossAccountRead,
        Template::DenyDelete,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Template::PullOnly => "Pull only",
            Template::PushAndPull => "Push and pull (CI user)",
            Template::CrossAccountRead => "Read for another account",
            Template::DenyDelete => "Deny delete",
        }
    }

    pub fn needs_principal(self) -> bool {
        self != Template::DenyDelete
    }

    /// The policy document, pretty-printed; `principal` is an ARN or account id.
    pub fn render(self, principal: &str) -> String {
        let (sid, effect, principal_value, actions): (&str, &str, Value, Vec<&str>) = match self {
            Template::PullOnly => (
                "AllowPull",
                "Allow",
                serde_json::json!({ "AWS": principal }),
                PULL_ACTIONS.to_vec(),
            ),
            Template::PushAndPull => (
                "AllowPushPull",
                "Allow",
                serde_json::json!({ "AWS": principal }),
                PULL_ACTIONS
                    .iter()
                    .chain(PUSH_ACTIONS.iter().filter(|a| !PULL_ACTIONS.contains(a)))
                    .copied()
                    .collect(),
            ),
            Template::CrossAccountRead => (
                "AllowAccountRead",
                "Allow",
                serde_json::json!({ "AWS": principal }),
                PULL_ACTIONS
                    .iter()
                    .copied()
                    .chain([
                        "ecr:DescribeImages",
                        "ecr:ListImages",
                        "ecr:DescribeRepositories",
                    ])
                    .collect(),
            ),
            Template::DenyDelete => (
                "DenyDelete",
                "Deny",
                Value::String("*".into()),
                vec!["ecr:BatchDeleteImage", "ecr:DeleteRepository"],
            ),
        };
        // Built in the order people write policies in (serde_json keeps insertion order here).
        let mut statement = serde_json::Map::new();
        statement.insert("Sid".into(), sid.into());
        statement.insert("Effect".into(), effect.into());
        statement.insert("Principal".into(), principal_value);
        statement.insert("Action".into(), actions.into());
        let mut document = serde_json::Map::new();
        document.insert("Version".into(), "2012-10-17".into());
        document.insert(
            "Statement".into(),
            Value::Array(vec![Value::Object(statement)]),
        );
        serde_json::to_string_pretty(&document).unwrap_or_default()
    }
}

/// A statement in plain words: who, and what.
pub fn describe_principals(principals: &Principals) -> String {
    match principals {
        Principals::Any => "everyone".into(),
        Principals::Aws(entries) => entries
            .iter()
            .map(|e| {
                if is_account_id(e) {
                    format!("account {e}")
                } else if let Some((account, user)) = e
                    .strip_prefix("arn:aws:iam::")
                    .and_then(|r| r.split_once(":user/"))
                {
                    format!("user {user} (account {account})")
                } else if let Some(account) = e
                    .strip_prefix("arn:aws:iam::")
                    .and_then(|r| r.strip_suffix(":root"))
                {
                    format!("account {account}")
                } else {
                    e.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

pub fn describe_actions(actions: &[String]) -> String {
    let covers = |set: &[&str]| {
        set.iter()
            .all(|needed| actions.iter().any(|a| wildcard_match(a, needed, true)))
    };
    if actions
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case("ecr:*"))
    {
        return "every ECR action".into();
    }
    let mut words = Vec::new();
    match (covers(PULL_ACTIONS), covers(PUSH_ACTIONS)) {
        (true, true) => words.push("push and pull".to_string()),
        (true, false) => words.push("pull".to_string()),
        (false, true) => words.push("push".to_string()),
        _ => {}
    }
    let named: Vec<String> = actions
        .iter()
        .filter(|a| {
            !PULL_ACTIONS
                .iter()
                .chain(PUSH_ACTIONS)
                .any(|p| p.eq_ignore_ascii_case(a))
        })
        .map(|a| a.trim_start_matches("ecr:").to_string())
        .collect();
    if !named.is_empty() {
        words.push(named.join(", "));
    }
    if words.is_empty() {
        actions.join(", ")
    } else {
        words.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CI: &str = "arn:aws:iam::123456789012:user/ci";
    const VIEWER: &str = "arn:aws:iam::123456789012:user/viewer";

    fn policy(text: &str) -> Policy {
        parse_policy(text).unwrap_or_else(|p| panic!("{p:?}"))
    }

    fn decide(policy: &Policy, arn: &str, action: &str) -> Decision {
        policy.evaluate(&AccessRequest {
            principal_arn: arn,
            action,
        })
    }

    #[test]
    fn allow_needs_a_match_and_deny_wins() {
        let p = policy(&format!(
            r#"{{"Version":"2012-10-17","Statement":[
                {{"Sid":"Push","Effect":"Allow","Principal":{{"AWS":"{CI}"}},"Action":["ecr:*"]}},
                {{"Sid":"Pull","Effect":"Allow","Principal":{{"AWS":["{VIEWER}"]}},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}},
                {{"Sid":"NoViewer","Effect":"Deny","Principal":{{"AWS":"{VIEWER}"}},"Action":"ecr:GetDownload*"}}]}}"#
        ));
        assert_eq!(
            decide(&p, CI, "ecr:PutImage"),
            Decision::Allowed { statement: 0 }
        );
        assert_eq!(
            decide(&p, VIEWER, "ecr:BatchGetImage"),
            Decision::Allowed { statement: 1 }
        );
        assert_eq!(decide(&p, VIEWER, "ecr:PutImage"), Decision::NotAllowed);
        assert_eq!(
            decide(&p, VIEWER, "ecr:GetDownloadUrlForLayer"),
            Decision::ExplicitlyDenied { statement: 2 }
        );
        assert_eq!(
            decide(
                &p,
                "arn:aws:iam::123456789012:user/other",
                "ecr:BatchGetImage"
            ),
            Decision::NotAllowed
        );
    }

    #[test]
    fn principals_by_account_root_and_star() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:root"]},"Action":"ecr:BatchGetImage"}}"#,
        );
        assert!(matches!(
            decide(&p, "arn:aws:iam::111122223333:user/x", "ecr:BatchGetImage"),
            Decision::Allowed { .. }
        ));
        assert!(matches!(
            decide(&p, "arn:aws:iam::444455556666:user/y", "ecr:batchgetimage"),
            Decision::Allowed { .. }
        ));
        assert_eq!(decide(&p, CI, "ecr:BatchGetImage"), Decision::NotAllowed);
        let any = policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:List*"}]}"#,
        );
        assert!(matches!(
            decide(&any, CI, "ecr:ListImages"),
            Decision::Allowed { .. }
        ));
        assert_eq!(decide(&any, CI, "ecr:PutImage"), Decision::NotAllowed);
    }

    #[test]
    fn conditions_narrow_statements() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*",
            "Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/c*"}}}]}"#,
        );
        assert!(matches!(
            decide(&p, CI, "ecr:PutImage"),
            Decision::Allowed { .. }
        ));
        assert_eq!(decide(&p, VIEWER, "ecr:PutImage"), Decision::NotAllowed);
    }

    #[test]
    fn problems_say_what_and_where() {
        let problems = parse_policy(
            r#"{"Version":"2012-10-17","Statement":[
                {"Sid":"A","Effect":"Allow","Principal":{"AWS":"bob"},"Action":["ecr:BatchGetImage","ecr:BatchGetImages"]},
                {"Sid":"A","Effect":"Permit","Principal":{"Service":"x"},"Action":"s3:GetObject","NotResource":"*"}]}"#,
        )
        .unwrap_err();
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        let has = |needle: &str| text.iter().any(|t| t.contains(needle));
        assert!(
            has("Statement[0].Principal.AWS: 'bob' is not a principal"),
            "{text:?}"
        );
        assert!(has("Statement[0].Action[1]: 'ecr:BatchGetImages' matches no ECR action; did you mean 'ecr:BatchGetImage'?"), "{text:?}");
        assert!(
            has("Statement[1].Effect: Effect must be \"Allow\" or \"Deny\""),
            "{text:?}"
        );
        assert!(has("Statement[1].Principal.Service"), "{text:?}");
        assert!(
            has("Statement[1].Action: 's3:GetObject' is not an ECR action"),
            "{text:?}"
        );
        assert!(has("Statement[1].NotResource: unsupported key"), "{text:?}");
        let duplicate = parse_policy(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"},
                {"Sid":"A","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            duplicate[0].to_string(),
            "Statement[1].Sid: Sid 'A' is already used by Statement[0]: Sids must be unique"
        );
        let json =
            parse_policy("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [,]\n}").unwrap_err();
        assert!(
            json[0]
                .message
                .starts_with("not valid JSON at line 3, column"),
            "{json:?}"
        );
        assert_eq!(parse_policy(r#"{"Statement":[]}"#).unwrap_err().len(), 2);
    }

    #[test]
    fn lines_of_values_and_problems() {
        let text = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Principal\": \"*\",\n      \"Action\": [\"ecr:ListImages\",\n        \"ecr:Nope\"]\n    }\n  ]\n}";
        let lines = value_lines(text);
        assert_eq!(lines["Version"], 2);
        assert_eq!(lines["Statement[0]"], 4);
        assert_eq!(lines["Statement[0].Action[1]"], 8);
        let problems = parse_policy(text).unwrap_err();
        assert_eq!(problem_line(&lines, &problems[0]), Some(8));
        let missing = PolicyProblem {
            path: "Statement[0].Sid".into(),
            message: "x".into(),
        };
        assert_eq!(problem_line(&lines, &missing), Some(4));
        let broken = parse_policy("{\n\n  \"Version\" \"x\"\n}").unwrap_err();
        assert_eq!(problem_line(&value_lines("{"), &broken[0]), Some(3));
    }

    #[test]
    fn templates_read_in_the_usual_order() {
        let text = Template::PullOnly.render("123456789012");
        let at = |key: &str| text.find(key).unwrap();
        assert!(
            at("Version") < at("Statement")
                && at("Sid") < at("Effect")
                && at("Effect") < at("Principal")
                && at("Principal") < at("Action"),
            "{text}"
        );
    }

    #[test]
    fn templates_are_valid_and_say_what_they_do() {
        for template in Template::ALL {
            let text = template.render("arn:aws:iam::123456789012:user/ci");
            let policy = parse_policy(&text).unwrap_or_else(|p| panic!("{template:?}: {p:?}"));
            let statement = &policy.statements[0];
            let words = describe_actions(&statement.actions);
            match template {
                Template::PullOnly => assert_eq!(words, "pull"),
                Template::PushAndPull => assert_eq!(words, "push and pull"),
                Template::CrossAccountRead => assert_eq!(
                    words,
                    "pull; DescribeImages, ListImages, DescribeRepositories"
                ),
                Template::DenyDelete => {
                    assert_eq!(describe_principals(&statement.principals), "everyone")
                }
            }
        }
        let p =
            parse_policy(&Template::PullOnly.render("arn:aws:iam::123456789012:user/ci")).unwrap();
        assert_eq!(
            describe_principals(&p.statements[0].principals),
            "user ci (account 123456789012)"
        );
        assert!(matches!(
            decide(&p, CI, "ecr:BatchGetImage"),
            Decision::Allowed { .. }
        ));
        assert_eq!(decide(&p, CI, "ecr:PutImage"), Decision::NotAllowed);
    }

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
        assert_eq!(suggest_action("PullImage"), Some("BatchGetImage"));
        assert_eq!(suggest_action("Frobnicate"), None);
        assert_eq!(suggest_action("PutImag"), Some("PutImage"));
    }
}
