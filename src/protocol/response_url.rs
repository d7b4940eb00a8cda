//! Which ResponseURLs the provider will PUT to.
//!
//! CloudFormation's response URLs are presigned S3 PUT URLs on its own response buckets, named
//! `cloudformation-custom-resource-response-<region>` (AWS CloudFormation User Guide, "Custom resource
//! request objects": ResponseURL), in the `aws`, `aws-cn` and `aws-us-gov` partitions, virtual-hosted
//! (`BUCKET.s3.REGION.amazonaws.com`) or path-style (`s3.REGION.amazonaws.com/BUCKET/…`), with the global,
//! regional, legacy dash (`s3-REGION`) and dual-stack S3 endpoints (Amazon S3 User Guide, "Virtual hosting
//! of buckets" and "Regions and endpoints"). Anything else, another bucket on S3 included, could turn the
//! provider into a request forwarder or hand the response (and its physical id) to someone else, so it is
//! refused. Loopback is allowed only when the operator opts in, for local emulation.

use reqwest::Url;
use std::net::{Ipv4Addr, Ipv6Addr};
use url::Host;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RefusedUrl {
    #[error("ResponseURL is not a valid URL")]
    Malformed,
    #[error("ResponseURL must not carry user credentials")]
    UserInfo,
    #[error("ResponseURL must be https to a CloudFormation response bucket (cloudformation-custom-resource-response-*) on Amazon S3")]
    NotAws,
}

/// Checks a ResponseURL against the allowlist and returns it parsed.
pub(crate) fn check(raw: &str, allow_loopback: bool) -> Result<Url, RefusedUrl> {
    let url = Url::parse(raw).map_err(|_| RefusedUrl::Malformed)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RefusedUrl::UserInfo);
    }
    let host = url.host().ok_or(RefusedUrl::NotAws)?;
    if allow_loopback && is_loopback(&host) && matches!(url.scheme(), "http" | "https") {
        return Ok(url);
    }
    let on_response_bucket = matches!(&host, Host::Domain(name) if is_response_bucket(name, url.path()));
    // An explicit port other than 443 is not where CloudFormation sends its responses.
    if url.scheme() == "https" && on_response_bucket && url.port().is_none() {
        Ok(url)
    } else {
        Err(RefusedUrl::NotAws)
    }
}

/// The part of a URL that is safe to log: never the query, which holds the presigned signature.
pub(crate) fn loggable(url: &Url) -> String {
    format!("{}://{}{}", url.scheme(), url.host_str().unwrap_or(""), url.path())
}

const RESPONSE_BUCKET_PREFIX: &str = "cloudformation-custom-resource-response-";

/// A response bucket, virtual-hosted on `host` or first in the `path` of an S3 endpoint.
fn is_response_bucket(host: &str, path: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if is_s3_endpoint(&host) {
        let bucket = path.trim_start_matches('/').split('/').next().unwrap_or_default();
        return is_response_bucket_name(bucket);
    }
    host.split_once('.').is_some_and(|(bucket, endpoint)| is_response_bucket_name(bucket) && is_s3_endpoint(endpoint))
}

fn is_response_bucket_name(bucket: &str) -> bool {
    bucket.len() <= 63
        && bucket.strip_prefix(RESPONSE_BUCKET_PREFIX).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// `s3.amazonaws.com`, `s3.REGION.amazonaws.com`, `s3-REGION.amazonaws.com`, `s3.dualstack.REGION.amazonaws.com`,
/// and in China the same under `amazonaws.com.cn` (no global endpoint there).
fn is_s3_endpoint(host: &str) -> bool {
    if host == "s3.amazonaws.com" {
        return true;
    }
    let Some(name) = host.strip_suffix(".amazonaws.com").or_else(|| host.strip_suffix(".amazonaws.com.cn")) else {
        return false;
    };
    let region =
        name.strip_prefix("s3.dualstack.").or_else(|| name.strip_prefix("s3.")).or_else(|| name.strip_prefix("s3-"));
    region.is_some_and(crate::ids::is_region)
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
        for url in [
            S3,
            "https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/arn/req?X-Amz-Signature=1",
            "https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/arn/req?X-Amz-Signature=1",
            "https://s3.eu-west-1.amazonaws.com/cloudformation-custom-resource-response-euwest1/arn/req?X-Amz-Signature=1",
            "https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1/arn/req",
            "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/key?X-Amz-Signature=1",
            "https://cloudformation-custom-resource-response-usgovwest1.s3.us-gov-west-1.amazonaws.com/key",
            "https://cloudformation-custom-resource-response-useast2.s3.dualstack.us-east-2.amazonaws.com/key",
        ] {
            assert!(check(url, false).is_ok(), "{url}");
        }
    }

    #[test]
    fn everything_else_is_refused() {
        for url in [
            // Presigned URLs to other buckets pass any "*.amazonaws.com" rule: an attacker's own bucket.
            "https://attacker-bucket.s3.amazonaws.com/key?X-Amz-Signature=1",
            "https://s3.eu-west-1.amazonaws.com/attacker-bucket/cloudformation-custom-resource-response-x/key",
            "https://cloudformation-custom-resource-response-.s3.amazonaws.com/key",
            "https://cloudformation-custom-resource-response-useast1.evil.amazonaws.com/key",
            "https://cloudformation-custom-resource-response-useast1.sqs.us-east-1.amazonaws.com/key",
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.evil.example.com/key",
            "https://cloudformation-custom-resource-response-useast1.s3.evil-1.amazonaws.com/key",
            "http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/key",
            "https://bucket.s3.amazonaws.com/key",
            "https://amazonaws.com/key",
            "https://evil.example.com/x.amazonaws.com",
            "https://s3.amazonaws.com.evil.example.com/key",
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:8443/key",
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com@evil.example.com/key",
            "https://user:pw@cloudformation-custom-resource-response-useast1.s3.amazonaws.com/key",
            "https://52.216.0.1/key",
            "ftp://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/key",
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
