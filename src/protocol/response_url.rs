//! Which ResponseURLs the provider will PUT to.
//!
//! CloudFormation's response URLs are presigned S3 URLs: https on a host under `amazonaws.com`
//! (`amazonaws.com.cn` in China). Anything else could turn the provider into a request forwarder,
//! so it is refused. Loopback is allowed only when the operator opts in, for local emulation.

use reqwest::Url;
use std::net::{Ipv4Addr, Ipv6Addr};
use url::Host;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusedUrl {
    #[error("ResponseURL is not a valid URL")]
    Malformed,
    #[error("ResponseURL must not carry user credentials")]
    UserInfo,
    #[error("ResponseURL must use https on a host ending in .amazonaws.com or .amazonaws.com.cn")]
    NotAws,
}

/// Checks a ResponseURL against the allowlist and returns it parsed.
pub fn check(raw: &str, allow_loopback: bool) -> Result<Url, RefusedUrl> {
    let url = Url::parse(raw).map_err(|_| RefusedUrl::Malformed)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RefusedUrl::UserInfo);
    }
    let host = url.host().ok_or(RefusedUrl::NotAws)?;
    if allow_loopback && is_loopback(&host) && matches!(url.scheme(), "http" | "https") {
        return Ok(url);
    }
    let on_aws = matches!(&host, Host::Domain(name) if is_aws_domain(name));
    // An explicit port other than 443 is not where CloudFormation sends its responses.
    if url.scheme() == "https" && on_aws && url.port().is_none() {
        Ok(url)
    } else {
        Err(RefusedUrl::NotAws)
    }
}

/// The part of a URL that is safe to log: never the query, which holds the presigned signature.
pub fn loggable(url: &Url) -> String {
    format!("{}://{}{}", url.scheme(), url.host_str().unwrap_or(""), url.path())
}

fn is_aws_domain(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    [".amazonaws.com", ".amazonaws.com.cn"].iter().any(|suffix| name.ends_with(suffix))
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(address) => *address == Ipv4Addr::LOCALHOST,
        Host::Ipv6(address) => *address == Ipv6Addr::LOCALHOST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S3: &str =
        "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws/req?X-Amz-Signature=abc";

    #[test]
    fn cloudformation_urls_pass() {
        assert!(check(S3, false).is_ok());
        assert!(check("https://bucket.s3.cn-north-1.amazonaws.com.cn/key?X-Amz-Signature=1", false).is_ok());
    }

    #[test]
    fn everything_else_is_refused() {
        for url in [
            "http://bucket.s3.amazonaws.com/key",
            "https://amazonaws.com/key",
            "https://evil.example.com/x.amazonaws.com",
            "https://s3.amazonaws.com.evil.example.com/key",
            "https://bucket.s3.amazonaws.com:8443/key",
            "https://bucket.s3.amazonaws.com@evil.example.com/key",
            "https://user:pw@bucket.s3.amazonaws.com/key",
            "https://52.216.0.1/key",
            "ftp://bucket.s3.amazonaws.com/key",
            "http://127.0.0.1:9000/bucket/key",
            "not a url",
        ] {
            assert!(check(url, false).is_err(), "{url}");
        }
    }

    #[test]
    fn loopback_only_when_allowed() {
        for url in ["http://127.0.0.1:5000/b/k", "http://localhost:5000/b/k", "https://[::1]:5000/b/k"] {
            assert!(check(url, true).is_ok(), "{url}");
            assert!(check(url, false).is_err(), "{url}");
        }
        assert!(check("http://127.0.0.2:5000/b/k", true).is_err());
        assert!(check("http://10.0.0.1:5000/b/k", true).is_err());
    }

    #[test]
    fn logs_never_see_the_signature() {
        let url = check(S3, false).unwrap();
        assert!(!loggable(&url).contains("Signature"));
    }
}
