use super::*;

fn problems(text: &str) -> Vec<Problem> {
    parse_policy(text).unwrap_err()
}

fn at(line: usize, column: usize) -> Position {
    Position { line, column }
}

#[test]
fn problems_say_what_and_where() {
    let problems = problems(
        r#"{"Version":"2012-10-17","Statement":[
                {"Sid":"A","Effect":"Allow","Principal":{"AWS":"bob"},"Action":["ecr:BatchGetImage","ecr:BatchGetImages"]},
                {"Sid":"A","Effect":"Permit","Principal":{"Robot":"x"},"Action":"s3:GetObject","NotResource":"*"}]}"#,
    );
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
    assert!(
        has("Statement[1].Principal.Robot: unsupported key 'Robot'"),
        "{text:?}"
    );
    assert!(
        has("Statement[1].Action: 's3:GetObject' is not an ECR action"),
        "{text:?}"
    );
    assert!(
        has("Statement[1].NotResource: a repository policy covers the repository it is set on"),
        "{text:?}"
    );
    let json = problems_of("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [,]\n}");
    assert!(
        json[0]
            .message
            .starts_with("not valid JSON at line 3, column 17"),
        "{json:?}"
    );
    assert_eq!(json[0].position, at(3, 17));
    assert_eq!(problems_of(r#"{"Statement":[]}"#).len(), 1);
}

fn problems_of(text: &str) -> Vec<Problem> {
    parse_policy(text).unwrap_err()
}

#[test]
fn problems_carry_the_position_of_their_value() {
    let text = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"allow\",\n      \"Principal\": \"*\",\n      \"Action\": [\"ecr:ListImages\",\n        \"ecr:Nope\"],\n      \"Condition\": {\"StringEqual\": {\"aws:username\": \"x\"}}\n    },\n    {\"Effect\": \"Deny\", \"Principal\": \"*\"}\n  ]\n}";
    let problems = problems(text);
    let find = |path: &str| {
        problems
            .iter()
            .find(|p| p.path == path)
            .unwrap_or_else(|| panic!("no problem at {path}: {problems:?}"))
    };
    let effect = find("Statement[0].Effect");
    assert_eq!(effect.position, at(5, 17));
    assert!(
        effect.message.ends_with("did you mean 'Allow'?"),
        "{effect}"
    );
    assert_eq!(find("Statement[0].Action[1]").position, at(8, 9));
    let operator = find("Statement[0].Condition.StringEqual");
    assert_eq!(operator.position, at(9, 21));
    assert!(
        operator.message.contains("did you mean 'StringEquals'?"),
        "{operator}"
    );
    // A missing element is pinned to the statement that lacks it.
    assert_eq!(find("Statement[1].Action").position, at(11, 5));
}

#[test]
fn any_sid_ecr_accepts_and_duplicates_only_warn() {
    let text = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"ci-push","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"},
            {"Sid":"new policy","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"},
            {"Sid":"ci-push","Effect":"Allow","Principal":"*","Action":"ecr:DescribeImages"},
            {"Sid":"","Effect":"Allow","Principal":"*","Action":"ecr:DescribeImages"}]}"#;
    let policy = parse_policy(text).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(policy.statements[0].sid.as_deref(), Some("ci-push"));
    assert_eq!(policy.statements[1].label(1), "statement 'new policy'");
    assert_eq!(policy.statements[3].label(3), "statement 4");
    assert_eq!(policy.warnings.len(), 1, "{:?}", policy.warnings);
    assert_eq!(
        policy.warnings[0].to_string(),
        "Statement[2].Sid: Sid 'ci-push' is also used by Statement[0]: ECR accepts duplicate \
             Sids, but unique ones tell statements apart in messages"
    );
    assert_eq!(policy.warnings[0].position, at(4, 20));
    let numeric = problems(
        r#"{"Version":"2012-10-17","Statement":{"Sid":7,"Effect":"Allow","Principal":"*","Action":"ecr:ListImages"}}"#,
    );
    assert_eq!(
        numeric[0].to_string(),
        "Statement.Sid: Sid must be a string"
    );
}

#[test]
fn what_ecr_accepts_parses() {
    // Policies as the ECR console, the AWS docs and CodeBuild's guide write them.
    let accepted = [
        r#"{"Version":"2008-10-17","Statement":[{"Sid":"CodeBuildAccess","Effect":"Allow",
               "Principal":{"Service":"codebuild.amazonaws.com"},
               "Action":["ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","ecr:BatchCheckLayerAvailability"],
               "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:codebuild:us-east-1:123456789012:project/p"},
                            "StringEquals":{"aws:SourceAccount":"123456789012"}}}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"AllowPullFromOffice","Effect":"Deny",
               "Principal":"*","Action":"ecr:*",
               "Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}}}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::123456789012:root","arn:aws:sts::123456789012:assumed-role/admin/jo"]},
               "NotAction":["ecr:Describe*","ecr:List*"],
               "Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"ecr:ImageCount":5},
                            "ForAnyValue:StringLikeIfExists":{"aws:PrincipalTag/team":["a*"]},
                            "Null":{"aws:PrincipalOrgID":"true"}}}]}"#,
        r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*"}]}"#,
        r#"{"Version":"2012-10-17","Id":"p1","Statement":{"Effect":"Allow",
               "Principal":{"AWS":"arn:aws-cn:iam::123456789012:user/path/to/ci","CanonicalUser":"79a59df9"},
               "Action":"ecr:BatchImportUpstreamImage"}}"#,
    ];
    for text in accepted {
        parse_policy(text).unwrap_or_else(|p| panic!("{text}\n{p:#?}"));
    }
    let no_version = parse_policy(accepted[3]).unwrap();
    assert_eq!(no_version.version, None);
    assert!(no_version.warnings[0]
        .message
        .starts_with("Version is missing"));
}

#[test]
fn what_iam_refuses_is_refused() {
    let refused = [
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/*"},"Action":"ecr:*"}]}"#,
            "IAM takes no wildcards inside a principal",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*"}]}"#,
            "remove it (ECR refuses it as 'Invalid repository policy provided')",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"ecr:*"}]}"#,
            "Principal or NotPrincipal, not both",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Condition":{"StringLike":{"aws:username":{"a":1}}}}]}"#,
            "a condition value must be",
        ),
        (
            r#"{"Version":"2012-10-17","Statment":[]}"#,
            "did you mean 'Statement'?",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":[]},"Action":"ecr:*"}]}"#,
            "principal must be a string or a non-empty list of strings",
        ),
        (
            r#"{"Version":"2012-10-18","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*"}]}"#,
            "\"2012-10-18\" is not a policy version",
        ),
        (r#"[]"#, "a repository policy is a JSON object"),
    ];
    for (text, needle) in refused {
        let problems = problems(text);
        assert!(
            problems.iter().any(|p| p.message.contains(needle)),
            "{text}: {problems:#?}"
        );
    }
}

#[test]
fn registry_policies_name_their_resources() {
    let ok = parse_registry_policy(
            r#"{"Version":"2012-10-17","Statement":[
              {"Sid":"ReplicationAccessCrossAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},
               "Action":["ecr:CreateRepository","ecr:ReplicateImage"],"Resource":["arn:aws:ecr:us-west-2:123456789012:repository/prod-*"]},
              {"Sid":"ReplicationAccessCrossAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},
               "Action":"ecr:*","Resource":"arn:aws:ecr:us-west-2:123456789012:repositry/x"},
              {"Effect":"Deny","Principal":"*","Action":"ecr:*","NotResource":"arn:aws:s3:::bucket"}]}"#,
        )
        .unwrap_or_else(|p| panic!("{p:#?}"));
    let warnings: Vec<String> = ok.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert!(warnings[0].contains("Sid 'ReplicationAccessCrossAccount' is also used"));
    assert!(warnings[1].starts_with("Statement[1].Resource: 'arn:aws:ecr:us-west-2:123456789012:repositry/x' names no repository"));
    assert!(
        warnings[1].ends_with("did you mean 'repository'?"),
        "{warnings:?}"
    );
    assert!(warnings[2].contains("is not an ECR resource"));

    let missing = parse_registry_policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*"},
               {"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"team-a/*"}]}"#,
    )
    .unwrap_err();
    assert_eq!(missing.len(), 2, "{missing:#?}");
    assert!(missing[0]
        .to_string()
        .starts_with("Statement[0].Resource: Resource is missing"));
    assert!(missing[1]
        .to_string()
        .starts_with("Statement[1].Resource: 'team-a/*' is not \"*\" or an ARN"));
}

#[test]
fn problems_are_bounded() {
    let statements = vec![r#"{"Effect":"Maybe","Principal":"*","Action":"ecr:*"}"#; 200].join(",");
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
    assert_eq!(problems(&text).len(), MAX_PROBLEMS);
}
