"""The provider's CloudWatch dashboard (cloudformation/provider.yaml, Dashboard): a well-formed body, and only
metrics that exist.

Every metric the dashboard names is one the function emits (its embedded-metric-format lines: each request's,
declared in src/protocol/metrics.rs, and each membership-watch run's, in src/watch/report.rs: namespace, metric
names, dimension sets, RequestType values), the refused-requests metric filter counts, or Lambda and SQS publish
for this stack's function and queue; the Logs Insights widget reads fields the metrics lines carry; the alarm
widget shows every alarm of the template. The body's syntax is CloudWatch API Reference, "Dashboard Body Structure
and Syntax".
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml
from test_templates import cfn_lint_executable

ROOT = Path(__file__).resolve().parent.parent
PROVIDER = ROOT / "cloudformation" / "provider.yaml"
METRICS_RS = ROOT / "src" / "protocol" / "metrics.rs"
HANDLER_RS = ROOT / "src" / "protocol" / "handler.rs"
WATCH_RS = ROOT / "src" / "watch" / "report.rs"
ACTIONS_RS = ROOT / "src" / "enrollment" / "mod.rs"

# Lambda Developer Guide, "Types of metrics for Lambda functions" (FunctionName dimension); SQS Developer Guide,
# "Available CloudWatch metrics for Amazon SQS" (QueueName dimension).
SERVICE_METRICS = {
    "AWS/Lambda": (
        "FunctionName",
        "${Function}",
        {"Invocations", "Errors", "Throttles", "Duration", "DestinationDeliveryFailures", "ConcurrentExecutions"},
    ),
    "AWS/SQS": (
        "QueueName",
        "${DeadLetterQueue.QueueName}",
        {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"},
    ),
}
# Statistics a metric widget takes (CloudWatch User Guide, "CloudWatch statistics definitions").
STAT = re.compile(r"SampleCount|Average|Sum|Minimum|Maximum|p\d{1,2}(\.\d+)?")
WIDGET_TYPES = {"metric", "text", "log", "alarm", "explorer"}
PSEUDO = {"AWS::AccountId", "AWS::Partition", "AWS::Region", "AWS::StackName", "AWS::StackId", "AWS::URLSuffix"}


# --- what the function emits, read from src/ -----------------------------------------------------------------


def emitted() -> dict:
    """The request line's namespace, metric names, dimension sets and root members (src/protocol/metrics.rs)."""
    text = METRICS_RS.read_text()
    (namespace,) = re.findall(r'pub(?:\(crate\))? const NAMESPACE: &str = "([^"]+)";', text)
    line = text[text.index("let line: Value = json!({") :]
    line = line[: line.index("});")]
    directive = line[line.index('"CloudWatchMetrics"') : line.index('"RequestType":')]
    metrics = set(re.findall(r'\{"Name": "(\w+)", "Unit": "\w+"\}', directive))
    (dimensions,) = re.findall(r'"Dimensions": (\[\[.*?\]\])', directive)
    members = set(re.findall(r'^\s*"(\w+)":', line[line.index('"RequestType":') :], re.MULTILINE))
    return {
        "namespace": namespace,
        "metrics": metrics,
        "dimension_sets": [frozenset(s) for s in json.loads(dimensions)],
        "members": members,
        "request_types": request_types(),
    }


def watch_emitted() -> dict | None:
    """The membership watch's line (src/watch/report.rs), when the watch exists: its namespace, RequestType, the
    metrics it declares ((name, value, unit) rows, the statuses of COUNTED, OTHER_STATUS, Duration) and members."""
    if not WATCH_RS.exists():
        return None
    text = WATCH_RS.read_text()
    text = text[: text.index("#[cfg(test)]")] if "#[cfg(test)]" in text else text
    (namespace,) = re.findall(r'pub(?:\(crate\))? const NAMESPACE: &str = "([^"]+)";', text)
    (request_type,) = re.findall(r'pub(?:\(crate\))? const REQUEST_TYPE: &str = "([^"]+)";', text)
    metrics = set(re.findall(r'\("(\w+)", (?:summary|u32|other)', text))
    (counted,) = re.findall(r"const COUNTED: \[&str; \d+\] = \[([^\]]*)\];", text)
    metrics |= set(re.findall(r'"(\w+)"', counted))
    metrics |= set(re.findall(r'const OTHER_STATUS: &str = "(\w+)";', text))
    metrics |= set(re.findall(r'json!\(\{"Name": "(\w+)", "Unit"', text))
    (dimensions,) = re.findall(r'"Dimensions": (\[\[.*?\]\])', text)
    members = set(re.findall(r'root\.insert\("(\w+)"', text)) | metrics
    return {
        "namespace": namespace,
        "metrics": metrics,
        "dimension_sets": [frozenset(s) for s in json.loads(dimensions)],
        "members": members,
        "request_types": {request_type},
    }


def metrics_lines() -> list[dict]:
    return [line for line in (emitted(), watch_emitted()) if line is not None]


def request_types() -> set[str]:
    """The RequestType values the function gives a request: its actions' names and those of events that are no
    request (src/enrollment/mod.rs, src/protocol/handler.rs)."""
    names = set(re.findall(r'Action::\w+(?: \{ \.\. \})? => "(\w+)"', ACTIONS_RS.read_text()))
    handler = HANDLER_RS.read_text()
    # measure(&echo, "Unanswerable", ...), request_span(&echo, "Malformed"), self.respond(..., "Malformed", ...)
    names |= set(re.findall(r'(?:\bmeasure|\brequest_span|\.respond)\(&[^;{]*?"([A-Z][a-z]+)"', handler))
    return names


def test_the_readers_of_src_find_what_they_must():
    found = emitted()
    assert found["namespace"] == "SecurityHubMemberAccount"
    assert {"Duration", "Failed", "FailedRegions", "ThrottledCalls", "Regions"} <= found["metrics"], found
    assert found["dimension_sets"] == [frozenset({"RequestType"})], found
    assert {"RequestType", "Status", "Duration"} <= found["members"], found
    assert {"Create", "Update", "Delete", "Malformed", "Unanswerable"} <= request_types()
    watch = watch_emitted()
    if watch is not None:
        assert {"DepartedMembers", "Duration", "ThrottledCalls"} <= watch["metrics"], watch
        assert watch["dimension_sets"] == [frozenset({"RequestType"})], watch
        assert {"Status", "RequestType"} <= watch["members"], watch


# --- the dashboard ---------------------------------------------------------------------------------------------


def provider() -> dict:
    return cfn_yaml.load(str(PROVIDER))


def dashboard_body() -> tuple[str, dict]:
    """The body's Fn::Sub text, and the body parsed as JSON with each ${...} left as its text."""
    (dashboard,) = [r for r in provider()["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    text = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    assert isinstance(text, str), "DashboardBody: Fn::Sub of one string"
    return text, json.loads(text)


def test_substitutions_name_what_the_template_has():
    template = provider()
    text, _ = dashboard_body()
    for name in re.findall(r"\$\{([^}]+)\}", text):
        if name in PSEUDO or name in template["Parameters"]:
            continue
        resource = name.split(".", 1)[0]
        assert resource in template["Resources"], f"${{{name}}}: no such resource or parameter"


def test_widgets_have_the_documented_shape_and_do_not_overlap():
    _, body = dashboard_body()
    assert set(body) <= {"widgets", "start", "end", "periodOverride", "variables"}
    widgets = body["widgets"]
    assert 0 < len(widgets) <= 500
    cells = set()
    for widget in widgets:
        assert widget["type"] in WIDGET_TYPES, widget
        x, y, width, height = (widget[k] for k in ("x", "y", "width", "height"))
        assert all(isinstance(v, int) and v >= 0 for v in (x, y)) and 1 <= width <= 24 and height >= 1, widget
        assert x + width <= 24, f"wider than the grid: {widget}"
        area = {(i, j) for i in range(x, x + width) for j in range(y, y + height)}
        assert not area & cells, f"overlaps another widget: {widget}"
        cells |= area
        props = widget["properties"]
        if widget["type"] == "metric":
            assert props["region"] == "${AWS::Region}" and props["metrics"] and props.get("title"), widget
        elif widget["type"] == "log":
            assert props["region"] == "${AWS::Region}" and props["query"].startswith("SOURCE '"), widget
        elif widget["type"] == "alarm":
            assert props["alarms"], widget
        elif widget["type"] == "text":
            assert props["markdown"], widget


def metric_rows(body: dict):
    """(widget title, namespace, metric, dimensions, stat) of every metric of every metric widget."""
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        props = widget["properties"]
        for row in props["metrics"]:
            options = row[-1] if isinstance(row[-1], dict) else {}
            names = [v for v in row if isinstance(v, str)]
            assert "." not in names and "..." not in names, "spell every row out (no repetition shorthand)"
            namespace, metric, *pairs = names
            assert len(pairs) % 2 == 0, row
            dimensions = dict(zip(pairs[::2], pairs[1::2], strict=True))
            yield props["title"], namespace, metric, dimensions, options.get("stat", props.get("stat"))


def test_every_metric_is_one_that_exists():
    _, body = dashboard_body()
    lines = metrics_lines()
    namespaces = {line["namespace"] for line in lines}
    (metric_filter,) = [
        r["Properties"] for r in provider()["Resources"].values() if r["Type"] == "AWS::Logs::MetricFilter"
    ]
    (transformation,) = metric_filter["MetricTransformations"]
    filter_namespace = transformation["MetricNamespace"]["Fn::Sub"]
    rows = list(metric_rows(body))
    assert rows
    for title, namespace, metric, dimensions, stat in rows:
        assert stat and STAT.fullmatch(stat), f"{title}: statistic {stat!r}"
        if namespace in namespaces:
            # A line that declares the metric, with these dimensions (EMF publishes each metric with exactly the
            # declared dimension sets: any other set has no data), for this RequestType.
            emitting = [
                line
                for line in lines
                if line["namespace"] == namespace
                and metric in line["metrics"]
                and frozenset(dimensions) in line["dimension_sets"]
                and dimensions.get("RequestType") in line["request_types"]
            ]
            assert emitting, f"{title}: the function emits no {metric} by {dimensions}"
        elif namespace == filter_namespace:
            assert (metric, dimensions) == (transformation["MetricName"], {}), f"{title}: {metric} {dimensions}"
        elif namespace in SERVICE_METRICS:
            dimension, value, metrics = SERVICE_METRICS[namespace]
            assert metric in metrics, f"{title}: {namespace} {metric}"
            assert dimensions == {dimension: value}, f"{title}: {namespace} {metric} {dimensions}"
        else:
            pytest.fail(
                f"{title}: namespace {namespace} is neither the function's, the metric filter's, Lambda's nor SQS's"
            )


def test_the_brief_is_covered_requests_failures_throttling_duration_refusals():
    _, body = dashboard_body()
    rows = list(metric_rows(body))
    graphed = {(namespace, metric, stat) for _, namespace, metric, _, stat in rows}
    namespace = emitted()["namespace"]
    for needed in [
        (namespace, "Duration", "SampleCount"),
        (namespace, "Failed", "Sum"),
        (namespace, "FailedRegions", "Sum"),
        (namespace, "ThrottledCalls", "Sum"),
        (namespace, "Duration", "p50"),
        (namespace, "Duration", "p99"),
    ]:
        assert needed in graphed, needed
    assert any(metric == "RefusedRequests" for _, metric, _ in graphed)
    if watch_emitted() is not None:
        assert (namespace, "DepartedMembers", "Maximum") in graphed, "members no longer Enabled"
    # Every request type the function gives is counted, and its failures.
    for metric in ("Duration", "Failed"):
        counted = {d["RequestType"] for _, ns, m, d, _ in rows if (ns, m) == (namespace, metric)}
        assert counted == request_types(), (metric, counted)


def test_requests_by_status_come_from_the_metrics_lines():
    """Status is a member of the line, not a dimension: a Logs Insights query over the function's log group."""
    _, body = dashboard_body()
    (log,) = [w["properties"] for w in body["widgets"] if w["type"] == "log"]
    assert log["query"].startswith("SOURCE '${LogGroup}' |")
    fields = set(re.findall(r"\b([A-Z]\w+)\b", log["query"].split("|", 1)[1])) - {"SOURCE"}
    assert {"Status", "RequestType"} <= fields
    for line in metrics_lines():
        assert fields - {"Requests"} <= line["members"], f"fields a metrics line does not carry: {fields}"
        assert "Status" not in {d for s in line["dimension_sets"] for d in s}


def test_the_alarm_widget_shows_every_alarm():
    _, body = dashboard_body()
    alarms = {name for name, r in provider()["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    (widget,) = [w["properties"] for w in body["widgets"] if w["type"] == "alarm"]
    shown = set()
    for arn in widget["alarms"]:
        found = re.fullmatch(
            r"arn:\$\{AWS::Partition\}:cloudwatch:\$\{AWS::Region\}:\$\{AWS::AccountId\}:alarm:"
            r"\$\{(\w+)\}",
            arn,
        )
        assert found, arn
        shown.add(found.group(1))
    assert shown == alarms


def test_provider_stays_cfn_lint_clean():
    run = subprocess.run(
        [cfn_lint_executable(), "--format", "parseable", "--", str(PROVIDER)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"cfn-lint exit {run.returncode}:\n{run.stdout}{run.stderr}"
