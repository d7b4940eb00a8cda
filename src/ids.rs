//! The shapes AWS gives its identifiers: account ids, region names, account email addresses, OU and root ids.

use std::fmt;

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct AccountId(String);

impl AccountId {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        (text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())).then(|| Self(text.to_owned()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A CloudFormation stack ARN, `arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/GUID`: the
/// account and region a request claims to come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackArn {
    pub(crate) region: String,
    pub(crate) account: AccountId,
}

impl StackArn {
    pub(crate) fn parse(arn: &str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (prefix, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
        let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
        let known_partition = ["aws", "aws-cn", "aws-us-gov"].contains(&partition);
        let stack = resource.strip_prefix("stack/").is_some_and(|rest| rest.split('/').count() == 2);
        (prefix == "arn" && known_partition && service == "cloudformation" && is_region(region) && stack)
            .then(|| AccountId::parse(account).map(|account| Self { region: region.to_owned(), account }))
            .flatten()
    }
}

/// Region names as AWS forms them: `us-east-1`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-5`.
pub(crate) fn is_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    let number_ok = (1..=2).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit());
    let words_ok = words.len() >= 2
        && words[0].len() == 2
        && words.iter().all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase()));
    number_ok && words_ok && name.len() <= 32
}

/// The shape AWS Organizations accepts for an account's email address.
pub(crate) fn is_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let clean = |part: &str| !part.is_empty() && !part.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@');
    (6..=64).contains(&email.len())
        && clean(local)
        && clean(domain)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty())
}

pub(crate) fn is_parent_id(parent: &str) -> bool {
    let lower_alnum = |part: &str, min: usize, max: usize| {
        (min..=max).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    if let Some(root) = parent.strip_prefix("r-") {
        return lower_alnum(root, 4, 32);
    }
    match parent.strip_prefix("ou-").and_then(|rest| rest.split_once('-')) {
        Some((root, unit)) => lower_alnum(root, 4, 32) && lower_alnum(unit, 8, 32),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        for good in ["us-east-1", "us-gov-west-1", "cn-north-1", "ap-southeast-5", "il-central-1"] {
            assert!(is_region(good), "{good}");
        }
        for bad in ["us-east", "US-EAST-1", "useast1", "us--1", "us-east-100", "u-east-1", "us-east-1 "] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn stack_arns() {
        let arn = StackArn::parse("arn:aws:cloudformation:eu-west-1:111122223333:stack/member/1f2e-3d4c").unwrap();
        assert_eq!((arn.region.as_str(), arn.account.as_str()), ("eu-west-1", "111122223333"));
        assert!(StackArn::parse("arn:aws-cn:cloudformation:cn-north-1:111122223333:stack/s/g").is_some());
        for bad in [
            "arn:aws:cloudformation:eu-west-1:111122223333:stackset/member:1",
            "arn:aws:sns:eu-west-1:111122223333:stack/s/g",
            "arn:aws:cloudformation:eu-west-1:1111:stack/s/g",
            "arn:evil:cloudformation:eu-west-1:111122223333:stack/s/g",
            "member-stack",
        ] {
            assert!(StackArn::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn emails_and_parents() {
        assert!(is_email("a.b+c@example.co.uk"));
        for bad in ["a@b", "no-at.example.com", "two@@example.com", "sp ace@example.com", "a@example."] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(is_parent_id("r-ab12"));
        assert!(is_parent_id("ou-ab12-abcdefgh"));
        for bad in ["ou-ab12", "r-AB12", "x-ab12", "ou-ab12-short"] {
            assert!(!is_parent_id(bad), "{bad}");
        }
    }
}
