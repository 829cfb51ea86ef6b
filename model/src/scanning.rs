//! Registry scanning configurations (PutRegistryScanningConfiguration): what a
//! configuration may say, which repositories a rule's filters cover, and the
//! configuration in effect for one repository — what
//! BatchGetRepositoryScanningConfiguration reports and the console shows.
//!
//! Filters match as ECR's user guide ("Filters to choose which repositories are
//! scanned") describes: a filter without `*` matches every repository name that
//! contains it; a filter with `*` must match the whole name, each `*` standing for
//! any run of characters.

use crate::ecr::{
    PutRegistryScanningConfigurationRequest, RegistryScanningConfiguration, RegistryScanningRule,
    ScanningRepositoryFilter, MAX_REGISTRY_SCANNING_RULES, MAX_SCANNING_REPOSITORY_FILTERS,
    SCANNING_FILTER_TYPE_WILDCARD, SCAN_FREQUENCY_CONTINUOUS_SCAN, SCAN_FREQUENCY_MANUAL,
    SCAN_FREQUENCY_SCAN_ON_PUSH, SCAN_TYPE_BASIC, SCAN_TYPE_ENHANCED,
};
use crate::glob::star_match;

/// botocore's `ScanningRepositoryFilterValue`: 1 to 255 characters.
pub const MAX_FILTER_LENGTH: usize = 255;
/// botocore's pattern for a filter.
pub const FILTER_PATTERN: &str = r"^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$";
pub const SCAN_TYPES: [&str; 2] = [SCAN_TYPE_BASIC, SCAN_TYPE_ENHANCED];
pub const SCAN_FREQUENCIES: [&str; 3] = [
    SCAN_FREQUENCY_SCAN_ON_PUSH,
    SCAN_FREQUENCY_CONTINUOUS_SCAN,
    SCAN_FREQUENCY_MANUAL,
];

/// What a registry has before anyone configures scanning: basic scanning, no rules
/// (ECR's default).
pub fn default_configuration() -> RegistryScanningConfiguration {
    RegistryScanningConfiguration {
        scan_type: Some(SCAN_TYPE_BASIC.to_string()),
        rules: Vec::new(),
    }
}

/// Whether a WILDCARD filter covers `repository_name`.
pub fn filter_matches(filter: &ScanningRepositoryFilter, repository_name: &str) -> bool {
    if filter.filter_type != SCANNING_FILTER_TYPE_WILDCARD {
        return false;
    }
    if filter.filter.contains('*') {
        star_match(&filter.filter, repository_name)
    } else {
        repository_name.contains(filter.filter.as_str())
    }
}

/// botocore's filter pattern, `^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$`: runs of
/// `[a-z0-9*]`, separated by at most one of `._-/`, starting and ending with a run.
fn filter_is_well_formed(filter: &str) -> bool {
    let word = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '*';
    let separator = |c: char| matches!(c, '.' | '_' | '-' | '/');
    let mut previous_was_separator = true;
    for c in filter.chars() {
        if separator(c) {
            if previous_was_separator {
                return false;
            }
            previous_was_separator = true;
        } else if word(c) {
            previous_was_separator = false;
        } else {
            return false;
        }
    }
    !previous_was_separator
}

/// The configuration a PutRegistryScanningConfiguration request stores, or what is
/// wrong with it, naming the member (`rules[0].repositoryFilters[1].filter`). A
/// request without `scanType` configures basic scanning, ECR's default.
pub fn check(
    request: PutRegistryScanningConfigurationRequest,
) -> Result<RegistryScanningConfiguration, String> {
    let scan_type = request
        .scan_type
        .unwrap_or_else(|| SCAN_TYPE_BASIC.to_string());
    if !SCAN_TYPES.contains(&scan_type.as_str()) {
        return Err(format!(
            "Invalid parameter at 'scanType': '{scan_type}' is not one of {}.",
            SCAN_TYPES.join(", ")
        ));
    }
    let rules = request.rules.unwrap_or_default();
    if rules.len() > MAX_REGISTRY_SCANNING_RULES {
        return Err(format!(
            "Invalid parameter at 'rules': a registry has at most {MAX_REGISTRY_SCANNING_RULES} scanning rules, not {}.",
            rules.len()
        ));
    }
    for (i, rule) in rules.iter().enumerate() {
        check_rule(&scan_type, i, rule)?;
    }
    Ok(RegistryScanningConfiguration {
        scan_type: Some(scan_type),
        rules,
    })
}

fn check_rule(scan_type: &str, index: usize, rule: &RegistryScanningRule) -> Result<(), String> {
    let at = format!("rules[{index}]");
    let frequency = rule.scan_frequency.as_str();
    if !SCAN_FREQUENCIES.contains(&frequency) {
        return Err(format!(
            "Invalid parameter at '{at}.scanFrequency': '{frequency}' is not one of {}.",
            SCAN_FREQUENCIES.join(", ")
        ));
    }
    if scan_type == SCAN_TYPE_BASIC && frequency == SCAN_FREQUENCY_CONTINUOUS_SCAN {
        return Err(format!(
            "Invalid parameter at '{at}.scanFrequency': basic scanning supports {SCAN_FREQUENCY_SCAN_ON_PUSH} \
             (and {SCAN_FREQUENCY_MANUAL}); {SCAN_FREQUENCY_CONTINUOUS_SCAN} needs scanType {SCAN_TYPE_ENHANCED}."
        ));
    }
    if rule.repository_filters.len() > MAX_SCANNING_REPOSITORY_FILTERS {
        return Err(format!(
            "Invalid parameter at '{at}.repositoryFilters': a rule has at most {MAX_SCANNING_REPOSITORY_FILTERS} filters, not {}.",
            rule.repository_filters.len()
        ));
    }
    for (j, filter) in rule.repository_filters.iter().enumerate() {
        let at = format!("{at}.repositoryFilters[{j}]");
        if filter.filter_type != SCANNING_FILTER_TYPE_WILDCARD {
            return Err(format!(
                "Invalid parameter at '{at}.filterType': '{}' is not one of {SCANNING_FILTER_TYPE_WILDCARD}.",
                filter.filter_type
            ));
        }
        let length = filter.filter.chars().count();
        if !(1..=MAX_FILTER_LENGTH).contains(&length) || !filter_is_well_formed(&filter.filter) {
            return Err(format!(
                "Invalid parameter at '{at}.filter' failed to satisfy constraint: 'must satisfy regular expression pattern: {FILTER_PATTERN}' and be 1 to {MAX_FILTER_LENGTH} characters (got '{}')",
                filter.filter
            ));
        }
    }
    Ok(())
}

/// How one repository is scanned under a registry configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// `SCAN_ON_PUSH`, `CONTINUOUS_SCAN` or `MANUAL`.
    pub scan_frequency: &'static str,
    /// The filters of the deciding rule that match the repository.
    pub applied_scan_filters: Vec<ScanningRepositoryFilter>,
}

/// The scanning a repository gets. Enhanced scanning: a continuous-scan rule that
/// matches wins over a scan-on-push rule, as ECR enforces; a repository no rule
/// matches is not scanned (`MANUAL`). Basic scanning: a matching scan-on-push rule,
/// else the repository's own `scanOnPush` (its per-repository meaning, which
/// PutImageScanningConfiguration still sets), else `MANUAL`.
pub fn effective(
    configuration: &RegistryScanningConfiguration,
    repository_name: &str,
    scan_on_push: bool,
) -> Effective {
    let matching = |frequency: &str| -> Vec<ScanningRepositoryFilter> {
        configuration
            .rules
            .iter()
            .filter(|rule| rule.scan_frequency == frequency)
            .flat_map(|rule| rule.repository_filters.iter())
            .filter(|filter| filter_matches(filter, repository_name))
            .cloned()
            .collect()
    };
    let enhanced = configuration.scan_type.as_deref() == Some(SCAN_TYPE_ENHANCED);
    if enhanced {
        let continuous = matching(SCAN_FREQUENCY_CONTINUOUS_SCAN);
        if !continuous.is_empty() {
            return Effective {
                scan_frequency: SCAN_FREQUENCY_CONTINUOUS_SCAN,
                applied_scan_filters: continuous,
            };
        }
    }
    let on_push = matching(SCAN_FREQUENCY_SCAN_ON_PUSH);
    if !on_push.is_empty() {
        return Effective {
            scan_frequency: SCAN_FREQUENCY_SCAN_ON_PUSH,
            applied_scan_filters: on_push,
        };
    }
    Effective {
        scan_frequency: if !enhanced && scan_on_push {
            SCAN_FREQUENCY_SCAN_ON_PUSH
        } else {
            SCAN_FREQUENCY_MANUAL
        },
        applied_scan_filters: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(text: &str) -> ScanningRepositoryFilter {
        ScanningRepositoryFilter {
            filter: text.into(),
            filter_type: SCANNING_FILTER_TYPE_WILDCARD.into(),
        }
    }

    fn rule(frequency: &str, filters: &[&str]) -> RegistryScanningRule {
        RegistryScanningRule {
            scan_frequency: frequency.into(),
            repository_filters: filters.iter().map(|f| filter(f)).collect(),
        }
    }

    fn request(
        scan_type: Option<&str>,
        rules: Vec<RegistryScanningRule>,
    ) -> PutRegistryScanningConfigurationRequest {
        PutRegistryScanningConfigurationRequest {
            scan_type: scan_type.map(str::to_string),
            rules: Some(rules),
        }
    }

    // The table in ECR's user guide, "Filter wildcards".
    #[test]
    fn filters_match_as_the_user_guide_tabulates() {
        let names = [
            "prod",
            "repo-prod",
            "prod-repo",
            "repo-prod-repo",
            "prodrepo",
        ];
        let table = [
            ("prod", [true, true, true, true, true]),
            ("*prod", [true, true, false, false, false]),
            ("prod*", [true, false, true, false, true]),
            ("*prod*", [true, true, true, true, true]),
            ("prod*repo", [false, false, true, false, true]),
        ];
        for (pattern, expected) in table {
            for (name, want) in names.iter().zip(expected) {
                assert_eq!(
                    filter_matches(&filter(pattern), name),
                    want,
                    "{pattern} on {name}"
                );
            }
        }
        let other = ScanningRepositoryFilter {
            filter: "prod".into(),
            filter_type: "PREFIX".into(),
        };
        assert!(!filter_matches(&other, "prod"));
    }

    #[test]
    fn configurations_are_checked_member_by_member() {
        let ok = check(request(
            None,
            vec![rule(SCAN_FREQUENCY_SCAN_ON_PUSH, &["team-a/*", "prod"])],
        ))
        .unwrap();
        assert_eq!(ok.scan_type.as_deref(), Some(SCAN_TYPE_BASIC));
        assert!(check(request(
            Some(SCAN_TYPE_ENHANCED),
            vec![
                rule(SCAN_FREQUENCY_CONTINUOUS_SCAN, &["*"]),
                rule(SCAN_FREQUENCY_SCAN_ON_PUSH, &[]),
            ]
        ))
        .is_ok());
        let refused = [
            (
                request(Some("DEEP"), vec![]),
                "'scanType': 'DEEP' is not one of BASIC, ENHANCED",
            ),
            (
                request(None, vec![rule("HOURLY", &["a"])]),
                "'rules[0].scanFrequency': 'HOURLY'",
            ),
            (
                request(None, vec![rule(SCAN_FREQUENCY_CONTINUOUS_SCAN, &["a"])]),
                "needs scanType ENHANCED",
            ),
            (
                request(None, vec![rule(SCAN_FREQUENCY_SCAN_ON_PUSH, &["a"]); 3]),
                "at most 2 scanning rules",
            ),
            (
                request(
                    None,
                    vec![rule(SCAN_FREQUENCY_SCAN_ON_PUSH, &["ok", "Team"])],
                ),
                "'rules[0].repositoryFilters[1].filter'",
            ),
            (
                request(None, vec![rule(SCAN_FREQUENCY_SCAN_ON_PUSH, &["a//b"])]),
                "(got 'a//b')",
            ),
            (
                request(None, vec![rule(SCAN_FREQUENCY_SCAN_ON_PUSH, &["a/"])]),
                "(got 'a/')",
            ),
            (
                request(None, vec![rule(SCAN_FREQUENCY_SCAN_ON_PUSH, &[""])]),
                "(got '')",
            ),
        ];
        for (request, needle) in refused {
            let message = check(request).unwrap_err();
            assert!(message.contains(needle), "{message}");
        }
        let mut wrong_type = rule(SCAN_FREQUENCY_SCAN_ON_PUSH, &["a"]);
        wrong_type.repository_filters[0].filter_type = "PREFIX".into();
        assert!(check(request(None, vec![wrong_type]))
            .unwrap_err()
            .contains("filterType"));
        let long = "a".repeat(256);
        assert!(check(request(
            None,
            vec![rule(SCAN_FREQUENCY_SCAN_ON_PUSH, &[&long])]
        ))
        .is_err());
    }

    #[test]
    fn the_effective_configuration_of_a_repository() {
        let basic = check(request(
            None,
            vec![rule(SCAN_FREQUENCY_SCAN_ON_PUSH, &["team-a/*"])],
        ))
        .unwrap();
        let pushed = effective(&basic, "team-a/api", false);
        assert_eq!(pushed.scan_frequency, SCAN_FREQUENCY_SCAN_ON_PUSH);
        assert_eq!(pushed.applied_scan_filters, vec![filter("team-a/*")]);
        assert_eq!(
            effective(&basic, "team-b/api", false).scan_frequency,
            SCAN_FREQUENCY_MANUAL
        );
        let own = effective(&basic, "team-b/api", true);
        assert_eq!(
            (own.scan_frequency, own.applied_scan_filters.len()),
            (SCAN_FREQUENCY_SCAN_ON_PUSH, 0)
        );
        assert_eq!(
            effective(&default_configuration(), "x", false).scan_frequency,
            SCAN_FREQUENCY_MANUAL
        );

        let enhanced = check(request(
            Some(SCAN_TYPE_ENHANCED),
            vec![
                rule(SCAN_FREQUENCY_SCAN_ON_PUSH, &["*"]),
                rule(SCAN_FREQUENCY_CONTINUOUS_SCAN, &["prod"]),
            ],
        ))
        .unwrap();
        let prod = effective(&enhanced, "team-a/prod-api", false);
        assert_eq!(
            prod.scan_frequency, SCAN_FREQUENCY_CONTINUOUS_SCAN,
            "continuous wins"
        );
        assert_eq!(prod.applied_scan_filters, vec![filter("prod")]);
        assert_eq!(
            effective(&enhanced, "dev", false).scan_frequency,
            SCAN_FREQUENCY_SCAN_ON_PUSH
        );
        let only_continuous = check(request(
            Some(SCAN_TYPE_ENHANCED),
            vec![rule(SCAN_FREQUENCY_CONTINUOUS_SCAN, &["prod"])],
        ))
        .unwrap();
        assert_eq!(
            effective(&only_continuous, "dev", true).scan_frequency,
            SCAN_FREQUENCY_MANUAL,
            "enhanced scanning ignores the repository's own setting"
        );
    }
}
