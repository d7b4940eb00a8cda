"""The metrics line of every request, through the real binary: CloudWatch embedded metric format (EMF).

Each request ends with one JSON line on stdout whose root holds `_aws` (a `Timestamp` in milliseconds and the
`CloudWatchMetrics` directives), every metric the directives name, as a number, and every dimension, as a
string (Amazon CloudWatch User Guide, "Specification: Embedded metric format"); CloudWatch Logs turns it into
metrics of the namespace `SecurityHubMemberAccount`. The tests find those lines in the provider's log, check
them against the specification's rules and check their values against what the emulator saw.
"""

from __future__ import annotations

import time
import uuid

from harness.constants import ADMIN, MEMBER, R1, R2, R3
from harness.scenario import props

NAMESPACE = "SecurityHubMemberAccount"
METRICS = {
    "Duration": "Milliseconds",
    "Regions": "Count",
    "FailedRegions": "Count",
    "ThrottledCalls": "Count",
    "Failed": "Count",
}
# The units the specification allows (CloudWatch API Reference, MetricDatum: Unit).
UNITS = {
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
}


def emf_lines(provider) -> list[dict]:
    return [record for record in provider.log_records() if "_aws" in record]


def assert_emf(line: dict, started_ms: int) -> None:
    """The rules of the specification that a CloudWatch Logs parser applies, and this provider's directive."""
    metadata = line["_aws"]
    assert isinstance(metadata, dict), line
    timestamp = metadata["Timestamp"]
    assert isinstance(timestamp, int) and not isinstance(timestamp, bool), line
    assert started_ms - 1_000 <= timestamp <= time.time() * 1000 + 1_000, (timestamp, started_ms)
    directives = metadata["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives, line
    for directive in directives:
        assert isinstance(directive["Namespace"], str) and directive["Namespace"], directive
        assert isinstance(directive["Dimensions"], list), directive
        for dimension_set in directive["Dimensions"]:
            assert isinstance(dimension_set, list) and len(dimension_set) <= 30, directive
            for dimension in dimension_set:
                assert isinstance(line.get(dimension), str) and line[dimension], (dimension, line)
        assert isinstance(directive["Metrics"], list) and directive["Metrics"], directive
        for metric in directive["Metrics"]:
            assert isinstance(metric["Name"], str) and metric["Name"], metric
            assert metric.get("Unit", "None") in UNITS, metric
            value = line.get(metric["Name"])
            assert isinstance(value, (int, float)) and not isinstance(value, bool), (metric, line)
            assert value >= 0, (metric, line)
    assert directives == [
        {
            "Namespace": NAMESPACE,
            "Dimensions": [["RequestType"]],
            "Metrics": [{"Name": name, "Unit": unit} for name, unit in METRICS.items()],
        }
    ], directives


def line_of(provider, event: dict) -> dict:
    lines = [line for line in emf_lines(provider) if line.get("RequestId") == event["RequestId"]]
    assert len(lines) == 1, f"expected one metrics line for {event['RequestId']}: {lines}\n{provider.tail()}"
    line = lines[0]
    assert line["StackId"] == event["StackId"] and line["LogicalResourceId"] == event["LogicalResourceId"], line
    assert event["ResponseURL"] not in str(line) and "X-Amz-Signature" not in str(line), line
    return line


def test_a_create_ends_with_its_metrics_line(emulator, cfn, provider):
    for region in (R1, R2):
        emulator.enable_hub(ADMIN, region)
    started_ms = int(time.time() * 1000)
    resp = cfn.create(props())
    assert resp.status == "SUCCESS", resp.describe()
    line = line_of(provider, resp.event)
    assert_emf(line, started_ms)
    assert line["RequestType"] == "Create" and line["Status"] == "SUCCESS", line
    assert (line["Regions"], line["FailedRegions"], line["Failed"], line["ThrottledCalls"]) == (2, 0, 0, 0), line
    assert 0 < line["Duration"] <= (time.time() * 1000 - started_ms) + 1, line
    assert provider.non_json_lines() == [], provider.non_json_lines()[:5]


def test_a_failed_region_is_counted(emulator, cfn, provider):
    for region in (R1, R2, R3):
        emulator.enable_hub(ADMIN, region)
    emulator.configure(fail_regions={R2: [MEMBER]})
    started_ms = int(time.time() * 1000)
    resp = cfn.create(props(Regions=f"{R1},{R2},{R3}"))
    assert resp.status == "FAILED" and R2 in resp.reason, resp.describe()
    line = line_of(provider, resp.event)
    assert_emf(line, started_ms)
    assert line["RequestType"] == "Create" and line["Status"] == "FAILED", line
    assert (line["Regions"], line["FailedRegions"], line["Failed"]) == (0, 1, 1), line


def test_throttled_calls_are_counted(emulator, cfn, provider):
    for region in (R1, R2):
        emulator.enable_hub(ADMIN, region)
    emulator.configure(throttle_fraction=0.3, seed=11)
    since, started_ms = emulator.last_seq(), int(time.time() * 1000)
    resp = cfn.create(props())
    assert resp.status == "SUCCESS", resp.describe()
    throttled = [call for call in emulator.aws_calls(since) if call["fault"] == "throttle"]
    assert throttled, "the emulator throttled nothing: pick another seed"
    line = line_of(provider, resp.event)
    assert_emf(line, started_ms)
    assert line["ThrottledCalls"] == len(throttled), (line, len(throttled))
    assert (line["Regions"], line["Failed"]) == (2, 0), line


def test_a_delete_and_a_malformed_request_each_end_with_a_line(emulator, cfn, provider):
    started_ms = int(time.time() * 1000)
    deleted = cfn.delete(props(), physical_id=f"not-an-account-{uuid.uuid4().hex[:6]}")
    assert deleted.status == "SUCCESS", deleted.describe()
    line = line_of(provider, deleted.event)
    assert_emf(line, started_ms)
    assert (line["RequestType"], line["Status"], line["Failed"], line["Regions"]) == ("Delete", "SUCCESS", 0, 0)

    event, key = cfn.event("Create", props())
    event["RequestType"] = "Replace"
    malformed = cfn.send(event, key=key, hold=False)
    assert malformed.status == "FAILED", malformed.describe()
    line = line_of(provider, event)
    assert_emf(line, started_ms)
    assert (line["RequestType"], line["Status"], line["Failed"]) == ("Malformed", "FAILED", 1), line
