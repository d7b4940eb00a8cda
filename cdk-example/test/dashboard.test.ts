import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SecurityHubMemberAccountProvider } from '../lib';

// The provider's dashboard (`addDashboard`): only metrics the function emits (its embedded-metric-format lines,
// read from the Rust source: src/protocol/metrics.rs for requests, src/watch/report.rs for membership-watch runs),
// the refused-requests metric filter counts, or Lambda and SQS publish; and the same graphs as
// cloudformation/provider.yaml's dashboard. Body syntax: CloudWatch API Reference, "Dashboard Body Structure and
// Syntax".

const PLACEHOLDER = path.join(__dirname, '..', 'app', 'placeholder');
const ROOT = path.join(__dirname, '..', '..');
const SRC = path.join(ROOT, 'src');

interface MetricsLine {
  namespace: string;
  metrics: Set<string>;
  dimensionSets: string[][];
  requestTypes: Set<string>;
}

function all(text: string, pattern: RegExp): string[] {
  return [...text.matchAll(pattern)].map((match) => match[1]);
}

function one(text: string, pattern: RegExp, what: string): string {
  const found = all(text, pattern);
  assert.equal(found.length, 1, `${what}: ${found.length} matches`);
  return found[0];
}

/** The requests' line (src/protocol/metrics.rs) and its RequestType values (src/enrollment/mod.rs, handler.rs). */
function requestsLine(): MetricsLine {
  const text = fs.readFileSync(path.join(SRC, 'protocol', 'metrics.rs'), 'utf8');
  const line = text.slice(text.indexOf('let line: Value = json!({'), text.indexOf('"RequestType": metrics.request_type'));
  const actions = fs.readFileSync(path.join(SRC, 'enrollment', 'mod.rs'), 'utf8');
  const handler = fs.readFileSync(path.join(SRC, 'protocol', 'handler.rs'), 'utf8');
  return {
    namespace: one(text, /pub(?:\([\w:]+\))? const NAMESPACE: &str = "([^"]+)";/g, 'NAMESPACE'),
    metrics: new Set(all(line, /\{"Name": "(\w+)", "Unit": "\w+"\}/g)),
    dimensionSets: JSON.parse(one(line, /"Dimensions": (\[\[.*?\]\])/g, 'Dimensions')),
    requestTypes: new Set([
      ...all(actions, /Action::\w+(?: \{ \.\. \})? => "(\w+)"/g),
      ...all(handler, /(?:\bmeasure|\brequest_span|\.respond)\(&[^;{]*?"([A-Z][a-z]+)"/g),
    ]),
  };
}

/** The membership watch's line (src/watch/report.rs), when the watch exists. */
function watchLine(): MetricsLine | undefined {
  const file = path.join(SRC, 'watch', 'report.rs');
  if (!fs.existsSync(file)) {
    return undefined;
  }
  let text = fs.readFileSync(file, 'utf8');
  text = text.includes('#[cfg(test)]') ? text.slice(0, text.indexOf('#[cfg(test)]')) : text;
  const counted = one(text, /const COUNTED: \[&str; \d+\] = \[([^\]]*)\];/g, 'COUNTED');
  return {
    namespace: one(text, /pub(?:\([\w:]+\))? const NAMESPACE: &str = "([^"]+)";/g, 'NAMESPACE'),
    metrics: new Set([
      ...all(text, /\("(\w+)", (?:summary|u32|other)/g),
      ...all(counted, /"(\w+)"/g),
      ...all(text, /const OTHER_STATUS: &str = "(\w+)";/g),
      ...all(text, /json!\(\{"Name": "(\w+)", "Unit"/g),
    ]),
    dimensionSets: JSON.parse(one(text, /"Dimensions": (\[\[.*?\]\])/g, 'Dimensions')),
    requestTypes: new Set([one(text, /pub(?:\([\w:]+\))? const REQUEST_TYPE: &str = "([^"]+)";/g, 'REQUEST_TYPE')]),
  };
}

const LINES = [requestsLine(), watchLine()].filter((line): line is MetricsLine => line !== undefined);

// Lambda Developer Guide, "Types of metrics for Lambda functions"; SQS Developer Guide, "Available CloudWatch
// metrics for Amazon SQS".
const SERVICE_METRICS: Record<string, { dimension: string; metrics: string[] }> = {
  'AWS/Lambda': { dimension: 'FunctionName', metrics: ['Invocations', 'Errors', 'Throttles', 'Duration', 'DestinationDeliveryFailures', 'ConcurrentExecutions'] },
  'AWS/SQS': { dimension: 'QueueName', metrics: ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage'] },
};

interface Row {
  title: string;
  namespace: string;
  metric: string;
  dimensions: Record<string, string>;
  stat: string;
}

type Body = { widgets: Array<{ type: string; width: number; height: number; x: number; y: number; properties: any }> };

/** The synthesized body: Fn::Join's parts, each token (Ref, Fn::GetAtt) as the text TOKEN. */
function synthesizedBody(template: Template): Body {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  assert.equal(dashboards.length, 1);
  const body = dashboards[0].Properties.DashboardBody;
  const parts: unknown[] = typeof body === 'string' ? [body] : body['Fn::Join'][1];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join(''));
}

/** provider.yaml's body: the block scalar after `DashboardBody: !Sub |`, each ${...} as the text TOKEN. */
function templateBody(): Body {
  const lines = fs.readFileSync(path.join(ROOT, 'cloudformation', 'provider.yaml'), 'utf8').split('\n');
  const start = lines.findIndex((line) => line.trim() === 'DashboardBody: !Sub |') + 1;
  assert.ok(start > 0, 'provider.yaml: no DashboardBody: !Sub |');
  const indent = lines[start].length - lines[start].trimStart().length;
  const block: string[] = [];
  for (const line of lines.slice(start)) {
    if (line.trim() !== '' && line.length - line.trimStart().length < indent) {
      break;
    }
    block.push(line);
  }
  return JSON.parse(block.join('\n').replace(/\$\{[^}]+\}/g, 'TOKEN'));
}

function rows(body: Body): Row[] {
  const out: Row[] = [];
  for (const widget of body.widgets.filter((w) => w.type === 'metric')) {
    for (const row of widget.properties.metrics as unknown[][]) {
      const options = (typeof row[row.length - 1] === 'object' ? row[row.length - 1] : {}) as { stat?: string };
      const names = row.filter((value): value is string => typeof value === 'string');
      assert.ok(!names.includes('.') && !names.includes('...'), `${widget.properties.title}: repetition shorthand`);
      const [namespace, metric, ...pairs] = names;
      const dimensions: Record<string, string> = {};
      for (let i = 0; i < pairs.length; i += 2) {
        dimensions[pairs[i]] = pairs[i + 1];
      }
      out.push({ title: widget.properties.title, namespace, metric, dimensions, stat: options.stat ?? widget.properties.stat });
    }
  }
  return out;
}

function newStack(): { stack: Stack; provider: SecurityHubMemberAccountProvider } {
  const stack = new Stack(new App(), 'TestStack');
  const provider = SecurityHubMemberAccountProvider.getOrCreate(stack, {
    code: lambda.Code.fromAsset(PLACEHOLDER),
    administratorAccountIds: ['111111111111'],
    organizationId: 'o-a1b2c3d4e5',
  });
  return { stack, provider };
}

describe('SecurityHubMemberAccountProvider.addDashboard', () => {
  it('is not created by default, and once however often it is asked for, with the alarms', () => {
    Template.fromStack(newStack().stack).resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    const { stack, provider } = newStack();
    const dashboard = provider.addDashboard('securityhub-member-account');
    assert.equal(provider.addDashboard(), dashboard);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'securityhub-member-account' });
    const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    assert.ok(alarms.length >= 2, 'the alarms of addAlarms');
    const body = synthesizedBody(template);
    const alarmWidgets = body.widgets.filter((w) => w.type === 'alarm');
    assert.equal(alarmWidgets.length, 1);
    assert.equal(alarmWidgets[0].properties.alarms.length, alarms.length, 'every alarm');
  });

  it('names only metrics the function emits, the metric filter counts, or Lambda and SQS publish', () => {
    const { stack, provider } = newStack();
    provider.addDashboard();
    const found = rows(synthesizedBody(Template.fromStack(stack)));
    assert.ok(found.length > 0);
    for (const row of found) {
      assert.match(row.stat, /^(SampleCount|Average|Sum|Minimum|Maximum|p\d{1,2}(\.\d+)?)$/, `${row.title}: ${row.stat}`);
      const emitting = LINES.filter(
        (line) =>
          line.namespace === row.namespace &&
          line.metrics.has(row.metric) &&
          line.dimensionSets.some((set) => JSON.stringify([...set].sort()) === JSON.stringify(Object.keys(row.dimensions).sort())) &&
          line.requestTypes.has(row.dimensions.RequestType),
      );
      if (row.namespace === LINES[0].namespace) {
        assert.ok(emitting.length > 0, `${row.title}: the function emits no ${row.metric} by ${JSON.stringify(row.dimensions)}`);
      } else if (row.namespace === `${LINES[0].namespace}/TestStack`) {
        assert.deepEqual([row.metric, row.dimensions], ['RefusedRequests', {}], row.title);
      } else {
        const service = SERVICE_METRICS[row.namespace];
        assert.ok(service, `${row.title}: namespace ${row.namespace}`);
        assert.ok(service.metrics.includes(row.metric), `${row.title}: ${row.namespace} ${row.metric}`);
        assert.deepEqual(Object.keys(row.dimensions), [service.dimension], row.title);
      }
    }
    const counted = new Set(found.filter((row) => row.namespace === LINES[0].namespace && row.metric === 'Duration' && row.stat === 'SampleCount').map((row) => row.dimensions.RequestType));
    assert.deepEqual([...counted].sort(), [...LINES[0].requestTypes].sort(), 'every request type is counted');
  });

  it("graphs what provider.yaml's dashboard graphs", () => {
    const { stack, provider } = newStack();
    provider.addDashboard();
    const key = (row: Row) => `${row.namespace.replace(/\/.*/, '/STACK')} ${row.metric} ${row.dimensions.RequestType ?? ''} ${row.stat}`;
    const cdk = new Set(rows(synthesizedBody(Template.fromStack(stack))).map(key));
    const yaml = new Set(rows(templateBody()).map(key));
    assert.deepEqual([...cdk].sort(), [...yaml].sort());
    const types = (body: Body) => body.widgets.map((w) => w.type).sort();
    assert.deepEqual(types(synthesizedBody(Template.fromStack(stack))), types(templateBody()));
  });

  it('reads the requests by status from the log group, with fields the metrics lines carry', () => {
    const { stack, provider } = newStack();
    provider.addDashboard();
    const logs = synthesizedBody(Template.fromStack(stack)).widgets.filter((w) => w.type === 'log');
    assert.equal(logs.length, 1);
    assert.match(logs[0].properties.query, /^SOURCE 'TOKEN' \| filter ispresent\(Status\) and ispresent\(RequestType\)/);
    assert.ok(LINES.every((line) => line.dimensionSets.every((set) => !set.includes('Status'))), 'Status is no dimension');
  });
});
