import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  CallAs,
  ConcurrencyMode,
  OnDelete,
  SecurityHubEnrollmentStackSet,
  SecurityHubEnrollmentStackSetProps,
  SecurityHubMemberAccountProvider,
  SecurityHubMemberAccountProviderProps,
} from '../lib';

const PLACEHOLDER = path.join(__dirname, '..', 'app', 'placeholder');
const ADMIN = '111111111111';
const ORG = 'o-a1b2c3d4e5';
const OU = 'ou-ab12-cdef3456';

function roleArn(pattern: string): unknown {
  return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::*:role/${pattern}`]] };
}

function stackWithProvider(extra: Partial<SecurityHubMemberAccountProviderProps> = {}): { stack: Stack; provider: SecurityHubMemberAccountProvider } {
  const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
  const provider = SecurityHubMemberAccountProvider.getOrCreate(stack, {
    code: lambda.Code.fromAsset(PLACEHOLDER),
    administratorAccountIds: [ADMIN],
    organizationId: ORG,
    organizationTopic: true,
    ...extra,
  });
  return { stack, provider };
}

describe('SecurityHubMemberAccountProvider organization topic', () => {
  it('is off by default', () => {
    const stack = new Stack(new App(), 'S');
    SecurityHubMemberAccountProvider.getOrCreate(stack, { code: lambda.Code.fromAsset(PLACEHOLDER), administratorAccountIds: [ADMIN], organizationId: ORG });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  it('lets only the StackSet execution roles of the organization publish, encrypted with its own key', () => {
    const { stack, provider } = stackWithProvider();
    const template = Template.fromStack(stack);
    const publishers = {
      StringEquals: { 'aws:PrincipalOrgID': ORG },
      ArnLike: { 'aws:PrincipalArn': roleArn('stacksets-exec-*') },
    };
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Sid: 'PublishFromStackSetExecutionRoles', Effect: 'Allow', Action: 'sns:Publish', Principal: { AWS: '*' }, Condition: publishers }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'TopicPublishersEncryptThroughSns',
            Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
            Condition: {
              StringEquals: { 'aws:PrincipalOrgID': ORG, 'kms:ViaService': { 'Fn::Join': ['', ['sns.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] } },
              ArnLike: publishers.ArnLike,
            },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'lambda' });
    template.hasResourceProperties('AWS::Lambda::Permission', { Principal: 'sns.amazonaws.com' });
    assert.deepEqual(stack.resolve(provider.topicServiceToken), { Ref: stack.getLogicalId(provider.topic!.node.defaultChild as never) });
  });

  it('takes another publisher role name pattern, and checks it', () => {
    const { stack } = stackWithProvider({ publisherRoleNamePattern: 'AWSCloudFormationStackSetExecutionRole' });
    Template.fromStack(stack).hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Condition: Match.objectLike({ ArnLike: { 'aws:PrincipalArn': roleArn('AWSCloudFormationStackSetExecutionRole') } }) })]) },
    });
    assert.throws(() => stackWithProvider({ publisherRoleNamePattern: 'bad pattern' }), /publisherRoleNamePattern must be an IAM role name pattern/);
    assert.throws(() => stackWithProvider({ organizationTopic: false, publisherRoleNamePattern: 'x' }), /publisherRoleNamePattern is only for organizationTopic: true/);
  });
});

describe('SecurityHubEnrollmentStackSet', () => {
  it('is a service-managed StackSet of the member template, to the OUs, in the provider\'s region', () => {
    const { stack, provider } = stackWithProvider();
    const rollout = new SecurityHubEnrollmentStackSet(stack, 'Rollout', { administratorAccountId: ADMIN, organizationalUnitIds: [OU], provider });
    const template = Template.fromStack(stack);
    const [stackSet] = Object.values(template.findResources('AWS::CloudFormation::StackSet'));
    const p = stackSet.Properties;
    assert.equal(p.PermissionModel, 'SERVICE_MANAGED');
    assert.equal(p.CallAs, 'SELF');
    assert.deepEqual(p.AutoDeployment, { Enabled: true, RetainStacksOnAccountRemoval: false });
    assert.deepEqual(p.ManagedExecution, { Active: true });
    assert.deepEqual(p.OperationPreferences, { MaxConcurrentPercentage: 25, FailureTolerancePercentage: 10, ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE' });
    assert.deepEqual(p.StackInstancesGroup, [{ DeploymentTargets: { OrganizationalUnitIds: [OU] }, Regions: ['eu-west-1'] }]);
    assert.deepEqual(p.Parameters, [
      { ParameterKey: 'TopicServiceToken', ParameterValue: stack.resolve(provider.topicServiceToken) },
      { ParameterKey: 'AdministratorAccountId', ParameterValue: ADMIN },
      { ParameterKey: 'OnDelete', ParameterValue: 'Disassociate' },
    ]);
    assert.match(p.TemplateBody, /Type: Custom::SecurityHubMemberAccount/);
    assert.match(p.StackSetName, /^SecurityHubEnrollment-[0-9a-f]{12}$/);
    // Created after the topic, its policy and the subscription exist, and the function may continue a request.
    const dependsOn: string[] = Object.values(template.findResources('AWS::CloudFormation::StackSet'))[0].DependsOn;
    assert.ok(dependsOn.includes(stack.getLogicalId(provider.continuationPolicy.node.defaultChild as CfnResource)), 'StackSet depends on the continuation policy');
    for (const type of ['AWS::SNS::TopicPolicy', 'AWS::SNS::Subscription', 'AWS::Lambda::Permission', 'AWS::KMS::Key']) {
      for (const id of Object.keys(template.findResources(type))) {
        assert.ok(dependsOn.includes(id), `StackSet depends on ${type} ${id}`);
      }
    }
    assert.deepEqual(stack.resolve(rollout.stackSetId), { 'Fn::GetAtt': [stack.getLogicalId(rollout.stackSet), 'StackSetId'] });
  });

  it('uses the stack\'s provider by default, and takes every option', () => {
    const { stack } = stackWithProvider();
    new SecurityHubEnrollmentStackSet(stack, 'Rollout', {
      administratorAccountId: ADMIN,
      organizationalUnitIds: [OU, 'ou-ab12-bbbbbbbb'],
      regions: ['us-east-1', 'eu-west-1'],
      onDelete: OnDelete.RETAIN,
      retainStacksOnAccountRemoval: true,
      maxConcurrentCount: 5,
      failureToleranceCount: 2,
      concurrencyMode: ConcurrencyMode.STRICT_FAILURE_TOLERANCE,
      callAs: CallAs.DELEGATED_ADMIN,
      stackSetName: 'security-hub',
    });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudFormation::StackSet', {
      StackSetName: 'security-hub',
      CallAs: 'DELEGATED_ADMIN',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: true },
      OperationPreferences: { MaxConcurrentCount: 5, FailureToleranceCount: 2, ConcurrencyMode: 'STRICT_FAILURE_TOLERANCE' },
      Parameters: Match.arrayWith([
        { ParameterKey: 'OnDelete', ParameterValue: 'Retain' },
        { ParameterKey: 'Regions', ParameterValue: 'us-east-1,eu-west-1' },
      ]),
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: [OU, 'ou-ab12-bbbbbbbb'] }, Regions: ['eu-west-1'] }],
    });
  });

  it('takes the topic ARN of a provider deployed elsewhere, in that topic\'s region', () => {
    const stack = new Stack(new App(), 'S');
    new SecurityHubEnrollmentStackSet(stack, 'Rollout', {
      administratorAccountId: ADMIN,
      organizationalUnitIds: [OU],
      topicServiceToken: 'arn:aws:sns:us-east-2:123456789012:provider-topic',
      autoDeployment: false,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudFormation::StackSet', {
      AutoDeployment: { Enabled: false },
      Parameters: Match.arrayWith([{ ParameterKey: 'TopicServiceToken', ParameterValue: 'arn:aws:sns:us-east-2:123456789012:provider-topic' }]),
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: [OU] }, Regions: ['us-east-2'] }],
    });
  });

  describe('rejects at synthesis, naming the prop', () => {
    const base: SecurityHubEnrollmentStackSetProps = { administratorAccountId: ADMIN, organizationalUnitIds: [OU] };
    const cases: Array<[string, Partial<SecurityHubEnrollmentStackSetProps> & Record<string, unknown>, RegExp]> = [
      ['administratorAccountId', { administratorAccountId: '123' }, /administratorAccountId must be a 12-digit account id, got '123'/],
      ['no OU', { organizationalUnitIds: [] }, /organizationalUnitIds must list at least one OU id/],
      ['a root for an OU', { organizationalUnitIds: ['r-ab12'] }, /organizationalUnitIds must be OU ids \(ou-…\), got 'r-ab12'/],
      ['a repeated OU', { organizationalUnitIds: [OU, OU] }, /organizationalUnitIds lists an OU more than once/],
      ['a bad region', { regions: ['EU'] }, /regions must be region names like 'us-east-1', got 'EU'/],
      ['empty regions', { regions: [] }, /regions must not be empty/],
      ['count and percentage', { maxConcurrentCount: 2, maxConcurrentPercentage: 50 }, /give either maxConcurrentCount or maxConcurrentPercentage, not both/],
      ['tolerance count and percentage', { failureToleranceCount: 1, failureTolerancePercentage: 5 }, /give either failureToleranceCount or failureTolerancePercentage, not both/],
      ['percentage above 100', { maxConcurrentPercentage: 101 }, /maxConcurrentPercentage must be a whole number from 1 to 100, got 101/],
      ['count of 0', { maxConcurrentCount: 0 }, /maxConcurrentCount must be a whole number from 1/],
      ['negative tolerance', { failureToleranceCount: -1 }, /failureToleranceCount must be a whole number from 0/],
      ['retain without auto-deployment', { autoDeployment: false, retainStacksOnAccountRemoval: true }, /retainStacksOnAccountRemoval is only for autoDeployment: true/],
      ['a topic ARN that is none', { topicServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:f' }, /topicServiceToken must be an SNS topic ARN/],
      ['an onDelete outside the enum', { onDelete: 'Delete' as OnDelete }, /onDelete must be one of Disassociate, DisableSecurityHub, Retain/],
    ];
    for (const [name, extra, message] of cases) {
      it(name, () => {
        const { stack } = stackWithProvider();
        assert.throws(
          () => new SecurityHubEnrollmentStackSet(stack, 'R', { ...base, ...extra } as SecurityHubEnrollmentStackSetProps),
          (err: Error) => {
            assert.match(err.message, /^SecurityHubEnrollmentStackSet S\/R: /);
            assert.match(err.message, message);
            return true;
          },
        );
      });
    }

    it('a provider without the organization topic', () => {
      const stack = new Stack(new App(), 'S');
      SecurityHubMemberAccountProvider.getOrCreate(stack, { code: lambda.Code.fromAsset(PLACEHOLDER), administratorAccountIds: [ADMIN], organizationId: ORG });
      assert.throws(() => new SecurityHubEnrollmentStackSet(stack, 'R', base), /has no organization topic: create it with organizationTopic: true/);
    });
  });
});
