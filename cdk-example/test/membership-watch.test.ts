import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SecurityHubMemberAccountProvider, SecurityHubMemberAccountProviderProps } from '../lib';

// The membership watch of the CDK provider, as cloudformation/provider.yaml has it (docs/watch.md): an EventBridge
// schedule that invokes the function with the watch's own event, the function's permission for that rule only,
// WATCH_HEALING when asked, and the DepartedMembers alarm.

const PLACEHOLDER = path.join(__dirname, '..', 'app', 'placeholder');

function template(extra: Partial<SecurityHubMemberAccountProviderProps> = {}, alarms = false): Template {
  const stack = new Stack(new App(), 'WatchStack');
  const provider = SecurityHubMemberAccountProvider.getOrCreate(stack, {
    code: lambda.Code.fromAsset(PLACEHOLDER),
    administratorAccountIds: ['111111111111'],
    organizationId: 'o-a1b2c3d4e5',
    ...extra,
  });
  if (alarms) {
    provider.addAlarms();
  }
  return Template.fromStack(stack);
}

function environment(t: Template): Record<string, unknown> {
  const [fn] = Object.values(t.findResources('AWS::Lambda::Function'));
  return fn.Properties.Environment.Variables;
}

describe('membership watch', () => {
  it('runs hourly by default with the watch event and the administrator role name, reporting only', () => {
    const t = template({ administratorRoleName: 'AuditAccess' });
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [
        Match.objectLike({ Input: JSON.stringify({ SecurityHubMemberAccountWatch: { AdministratorRoleName: 'AuditAccess' } }) }),
      ],
    });
    const [rule] = Object.keys(t.findResources('AWS::Events::Rule'));
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [rule, 'Arn'] },
    });
    assert.equal(environment(t).WATCH_HEALING, undefined, 'healing is off by default');
  });

  it('heals and follows its schedule when asked, or is left out', () => {
    const healing = template({ watchHealing: true, watchSchedule: events.Schedule.rate(Duration.hours(6)) });
    assert.equal(environment(healing).WATCH_HEALING, 'true');
    healing.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(6 hours)' });
    template({ membershipWatch: false }).resourceCountIs('AWS::Events::Rule', 0);
    assert.throws(() => template({ membershipWatch: false, watchHealing: true }), /only for membershipWatch: true/);
  });

  it('alarms on members no longer Enabled, keeping its state between runs', () => {
    const t = template({}, true);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'SecurityHubMemberAccount',
      MetricName: 'DepartedMembers',
      Dimensions: [{ Name: 'RequestType', Value: 'Watch' }],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'ignore',
    });
  });
});
