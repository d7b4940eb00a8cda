import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App, CfnParameter, CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  OnDelete,
  SecurityHubMemberAccount,
  SecurityHubMemberAccountProps,
  SecurityHubMemberAccountProvider,
  SecurityHubMemberAccountProviderProps,
} from '../lib';

// Tests never need the Rust build: the provider gets the placeholder asset directory as its code.
const PLACEHOLDER = path.join(__dirname, '..', 'app', 'placeholder');
const ADMIN = '111111111111';
const MEMBER = '222222222222';
const ORG = 'o-a1b2c3d4e5';
const TYPE = 'Custom::SecurityHubMemberAccount';

/** The provider's required props, the placeholder code, and `extra`. */
function providerProps(extra: Partial<SecurityHubMemberAccountProviderProps> = {}): SecurityHubMemberAccountProviderProps {
  return { code: lambda.Code.fromAsset(PLACEHOLDER), administratorAccountIds: [ADMIN], organizationId: ORG, ...extra };
}

function newStack(extra: Partial<SecurityHubMemberAccountProviderProps> = {}): Stack {
  const stack = new Stack(new App(), 'TestStack');
  SecurityHubMemberAccountProvider.getOrCreate(stack, providerProps(extra));
  return stack;
}

type Statement = { Action: string | string[]; Resource: unknown; Sid?: string; Condition?: Record<string, Record<string, unknown>> };

function statements(template: Template): Statement[] {
  const out: Statement[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    out.push(...policy.Properties.PolicyDocument.Statement);
  }
  for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
    for (const policy of role.Properties.Policies ?? []) {
      out.push(...policy.PolicyDocument.Statement);
    }
  }
  return out;
}

function actions(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

function bySid(template: Template, sid: string): Statement | undefined {
  return statements(template).find((s) => s.Sid === sid);
}

function resources(statement: Statement): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

/** The resources of the organization's sts:AssumeRole statement, checking it is the only one without outside accounts. */
function assumeRoleResources(template: Template): unknown[] {
  const found = statements(template).filter((s) => actions(s).includes('sts:AssumeRole'));
  assert.equal(found.length, 1, 'one sts:AssumeRole statement');
  assert.equal(found[0].Sid, 'AssumeRolesInOrganization');
  assert.deepEqual(found[0].Condition, { StringEquals: { 'aws:ResourceOrgID': ORG } });
  return resources(found[0]);
}

function roleArn(roleName: string): unknown {
  return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::*:role/${roleName}`]] };
}

describe('SecurityHubMemberAccountProvider', () => {
  it('is one Lambda (provided.al2023, bootstrap) however many members the stack has', () => {
    const stack = newStack();
    new SecurityHubMemberAccount(stack, 'A', { accountId: MEMBER, administratorAccountId: ADMIN });
    new SecurityHubMemberAccount(stack, 'B', { accountId: '333333333333', administratorAccountId: ADMIN });
    new SecurityHubMemberAccount(stack, 'C', { accountName: 'new', email: 'new@example.com', administratorAccountId: ADMIN });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.resourceCountIs(TYPE, 3);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'provided.al2023',
      Handler: 'bootstrap',
      Architectures: ['x86_64'],
      MemorySize: 256,
      Timeout: 900,
      Environment: {
        Variables: {
          ADMINISTRATOR_ACCOUNT_IDS: ADMIN,
          TRUSTED_ACCOUNT_IDS: { Ref: 'AWS::AccountId' },
          MAX_CONCURRENT_REGIONS: '64',
          RUST_LOG: 'info',
        },
      },
      LoggingConfig: { LogGroup: { Ref: Match.anyValue() } },
    });
    // Failed asynchronous invocations: the on-failure destination, not a dead-letter queue as well.
    template.hasResourceProperties('AWS::Lambda::Function', { DeadLetterConfig: Match.absent() });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      Qualifier: '$LATEST',
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    const fn = Object.keys(template.findResources('AWS::Lambda::Function'))[0];
    for (const member of Object.values(template.findResources(TYPE))) {
      assert.deepEqual(member.Properties.ServiceToken, { 'Fn::GetAtt': [fn, 'Arn'] });
    }
  });

  it('is created on first use when no provider is given, once per stack', () => {
    const stack = new Stack(new App(), 'S');
    const provider = SecurityHubMemberAccountProvider.getOrCreate(stack, providerProps());
    const a = new SecurityHubMemberAccount(stack, 'A', { accountId: MEMBER, administratorAccountId: ADMIN });
    assert.equal(a.provider, provider);
    assert.equal(SecurityHubMemberAccountProvider.getOrCreate(a), provider);
    assert.equal(provider.node.path, `S/${SecurityHubMemberAccountProvider.SINGLETON_ID}`);
    assert.throws(() => SecurityHubMemberAccountProvider.getOrCreate(stack, providerProps()), /already exists; props can only be given on the first call/);
  });

  it('must be created with its props before the first member that does not pass one', () => {
    const stack = new Stack(new App(), 'S');
    assert.throws(() => SecurityHubMemberAccountProvider.getOrCreate(stack), /stack S has no provider yet; create it first .*administratorAccountIds, organizationId/);
    assert.throws(
      () => new SecurityHubMemberAccount(stack, 'A', { accountId: MEMBER, administratorAccountId: ADMIN }),
      /has no provider yet/,
    );
  });

  it('takes architecture, concurrency and log level', () => {
    const stack = new Stack(new App(), 'S');
    SecurityHubMemberAccountProvider.getOrCreate(stack, providerProps({
      architecture: lambda.Architecture.ARM_64,
      maxConcurrentRegions: 4,
      logLevel: 'debug',
      administratorAccountIds: [ADMIN, '999999999999'],
      trustedAccountIds: ['123456789012', '210987654321'],
    }));
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Environment: {
        Variables: {
          ADMINISTRATOR_ACCOUNT_IDS: `${ADMIN},999999999999`,
          TRUSTED_ACCOUNT_IDS: '123456789012,210987654321',
          MAX_CONCURRENT_REGIONS: '4',
          RUST_LOG: 'debug',
        },
      },
    });
    assert.throws(() => new SecurityHubMemberAccountProvider(new Stack(), 'P', providerProps({ maxConcurrentRegions: 0 })), /maxConcurrentRegions/);
  });

  it('rejects bad authorization props at synthesis, naming the prop', () => {
    const cases: Array<[Partial<SecurityHubMemberAccountProviderProps>, RegExp]> = [
      [{ administratorAccountIds: [] }, /administratorAccountIds must list at least one 12-digit account id/],
      [{ administratorAccountIds: [ADMIN, '12345'] }, /administratorAccountIds must be 12-digit account ids, got '12345'/],
      [{ administratorAccountIds: [ADMIN, ADMIN] }, /administratorAccountIds lists an account more than once/],
      [{ trustedAccountIds: ['abc'] }, /trustedAccountIds must be 12-digit account ids, got 'abc'/],
      [{ memberAccountsOutsideOrganization: ['1'] }, /memberAccountsOutsideOrganization must be 12-digit account ids/],
      [{ organizationId: 'o-short' }, /organizationId must be an organization id .* got 'o-short'/],
      [{ organizationId: 'r-a1b2c3d4e5' }, /organizationId must be an organization id/],
    ];
    for (const [extra, message] of cases) {
      assert.throws(() => new SecurityHubMemberAccountProvider(new Stack(), 'P', providerProps(extra)), message);
    }
  });

  it('caps its concurrency when the organization topic can reach it, and takes trusted topics', () => {
    const fn = (stack: Stack) => Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0];
    // Anyone allowed to publish to the organization topic can invoke it: reserved and capped by default.
    assert.equal(fn(newStack({ organizationTopic: true })).Properties.ReservedConcurrentExecutions, 100);
    assert.equal(fn(newStack()).Properties.ReservedConcurrentExecutions, undefined, 'only this account invokes it');
    assert.equal(fn(newStack({ reservedConcurrency: 7 })).Properties.ReservedConcurrentExecutions, 7);
    const skips = (stack: Stack) => (fn(stack).Metadata?.checkov?.skip ?? []).map((s: { id: string }) => s.id);
    assert.ok(!skips(newStack({ organizationTopic: true })).includes('CKV_AWS_115'));
    const topic = 'arn:aws:sns:us-east-1:123456789012:management-requests';
    const variables = fn(newStack({ trustedTopicArns: [topic], allowUnverifiedHarmfulProperties: true }))
      .Properties.Environment.Variables;
    assert.equal(variables.TRUSTED_TOPIC_ARNS, topic);
    assert.equal(variables.ALLOW_UNVERIFIED_HARMFUL_PROPERTIES, 'true');
    const plain = fn(newStack()).Properties.Environment.Variables;
    assert.ok(!('TRUSTED_TOPIC_ARNS' in plain) && !('ALLOW_UNVERIFIED_HARMFUL_PROPERTIES' in plain), plain);
    // The template's topic policy has the same TLS-only deny (the CDK topic's enforceSSL).
    const policy = Object.values(Template.fromStack(newStack({ organizationTopic: true })).findResources('AWS::SNS::TopicPolicy'))[0];
    const denies = policy.Properties.PolicyDocument.Statement.filter((s: { Effect: string }) => s.Effect === 'Deny');
    assert.deepEqual(denies.map((s: any) => s.Condition), [{ Bool: { 'aws:SecureTransport': 'false' } }]);
    for (const [extra, message] of [
      [{ reservedConcurrency: 0 }, /reservedConcurrency must be a positive integer, got 0/],
      [{ trustedTopicArns: ['arn:aws:sqs:us-east-1:123456789012:q'] }, /trustedTopicArns must be SNS topic ARNs/],
    ] as Array<[Partial<SecurityHubMemberAccountProviderProps>, RegExp]>) {
      assert.throws(() => new SecurityHubMemberAccountProvider(new Stack(), 'P', providerProps(extra)), message);
    }
  });

  it('takes tokens for the authorization props', () => {
    const stack = new Stack(new App(), 'S');
    const admins = new CfnParameter(stack, 'Admins', { type: 'CommaDelimitedList' }).valueAsList;
    const org = new CfnParameter(stack, 'Org').valueAsString;
    SecurityHubMemberAccountProvider.getOrCreate(stack, providerProps({ administratorAccountIds: admins, organizationId: org }));
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { ADMINISTRATOR_ACCOUNT_IDS: { 'Fn::Join': [',', { Ref: 'Admins' }] } } },
    });
    assert.deepEqual(bySid(template, 'AssumeRolesInOrganization')!.Condition, { StringEquals: { 'aws:ResourceOrgID': { Ref: 'Org' } } });
  });

  it('has no IAM action with a wildcard, and exactly the listed permissions', () => {
    const stack = newStack();
    new SecurityHubMemberAccount(stack, 'A', { accountId: MEMBER, administratorAccountId: ADMIN });
    const all = statements(Template.fromStack(stack));
    assert.ok(all.length > 0);
    for (const s of all) {
      for (const action of actions(s)) {
        assert.ok(!action.includes('*'), `action ${action} has a wildcard`);
      }
    }
    const granted = all.flatMap(actions).sort();
    assert.deepEqual(granted, [
      'account:ListRegions',
      'cloudformation:DescribeStackEvents',
      'cloudformation:DescribeStackResource',
      'cloudformation:DescribeStacks',
      'cloudformation:GetTemplate',
      'lambda:InvokeFunction',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'organizations:CloseAccount',
      'organizations:CreateAccount',
      'organizations:DescribeAccount',
      'organizations:DescribeCreateAccountStatus',
      'organizations:ListAccounts',
      'organizations:ListCreateAccountStatus',
      'organizations:ListParents',
      'organizations:ListTagsForResource',
      'organizations:MoveAccount',
      'organizations:TagResource',
      'organizations:UntagResource',
      'securityhub:AcceptAdministratorInvitation',
      'securityhub:CreateMembers',
      'securityhub:DeleteMembers',
      'securityhub:DescribeHub',
      'securityhub:DisableSecurityHub',
      'securityhub:DisassociateFromAdministratorAccount',
      'securityhub:DisassociateMembers',
      'securityhub:EnableSecurityHub',
      'securityhub:GetAdministratorAccount',
      'securityhub:GetMembers',
      'securityhub:InviteMembers',
      'securityhub:ListInvitations',
      'securityhub:ListMembers',
      'sqs:SendMessage',
      'sts:AssumeRole',
    ]);
    // Logs only to its own log group, failed invocations only to its own queue.
    const template = Template.fromStack(stack);
    const logGroup = Object.keys(template.findResources('AWS::Logs::LogGroup'))[0];
    const logs = all.find((s) => actions(s).includes('logs:PutLogEvents'))!;
    assert.deepEqual(logs.Resource, { 'Fn::GetAtt': [logGroup, 'Arn'] });
    const queue = Object.keys(template.findResources('AWS::SQS::Queue'))[0];
    const send = all.find((s) => actions(s).includes('sqs:SendMessage'))!;
    assert.deepEqual(send.Resource, { 'Fn::GetAtt': [queue, 'Arn'] });
  });

  it('may invoke its own function, and no other, in a policy the members wait for', () => {
    const stack = newStack({ organizationTopic: true });
    new SecurityHubMemberAccount(stack, 'A', { accountId: MEMBER, administratorAccountId: ADMIN });
    const template = Template.fromStack(stack);
    const fn = Object.keys(template.findResources('AWS::Lambda::Function'))[0];
    // The continuations' statement is the only one with a Lambda action: its own ARN, nothing else.
    const lambdaStatements = statements(template).filter((s) => actions(s).some((a) => a.toLowerCase().startsWith('lambda:')));
    assert.deepEqual(lambdaStatements, [
      { Sid: 'InvokeItself', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [fn, 'Arn'] } },
    ]);
    // In a policy of its own, on the function's role, that the function does not wait for (no cycle) ...
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { PolicyDocument: { Statement: [Match.objectLike({ Sid: 'InvokeItself' })] } },
    });
    const [policy, ...others] = Object.keys(policies);
    assert.deepEqual(others, []);
    const role = Object.keys(template.findResources('AWS::IAM::Role'))[0];
    assert.deepEqual(policies[policy].Properties.Roles, [{ Ref: role }]);
    assert.ok(!(template.toJSON().Resources[fn].DependsOn ?? []).includes(policy));
    // ... and that the member waits for: its request may need a continuation.
    const [member] = Object.values(template.findResources(TYPE));
    assert.ok(member.DependsOn.includes(policy), JSON.stringify(member.DependsOn));
  });

  it('has the template\'s Organizations and CloudFormation statements', () => {
    const template = Template.fromStack(newStack());
    const unscoped = bySid(template, 'OrganizationsUnscoped')!;
    assert.deepEqual(actions(unscoped).sort(), [
      'organizations:CreateAccount',
      'organizations:DescribeCreateAccountStatus',
      'organizations:ListAccounts',
      'organizations:ListCreateAccountStatus',
    ]);
    assert.equal(unscoped.Resource, '*');
    const scoped = bySid(template, 'OrganizationsThisOrganization')!;
    assert.deepEqual(actions(scoped).sort(), [
      'organizations:CloseAccount',
      'organizations:DescribeAccount',
      'organizations:ListParents',
      'organizations:ListTagsForResource',
      'organizations:MoveAccount',
      'organizations:TagResource',
      'organizations:UntagResource',
    ]);
    assert.deepEqual(
      resources(scoped),
      ['account', 'ou', 'root'].map((type) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:organizations::*:${type}/${ORG}/*`]] })),
    );
    const read = bySid(template, 'ReadRequestingStacks')!;
    assert.deepEqual(actions(read), [
      'cloudformation:DescribeStacks',
      'cloudformation:DescribeStackResource',
      'cloudformation:DescribeStackEvents',
      'cloudformation:GetTemplate',
    ]);
    assert.deepEqual(read.Resource, {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudformation:*:', { Ref: 'AWS::AccountId' }, ':stack/*/*']],
    });
    for (const s of statements(template)) {
      if (s.Resource === '*') {
        assert.equal(s.Sid, 'OrganizationsUnscoped', `Resource "*" in ${JSON.stringify(s)}`);
      }
    }
  });

  it('may assume member roles outside the organization only in the listed accounts', () => {
    const stack = newStack({ memberAccountsOutsideOrganization: ['444444444444', '555555555555'], administratorRoleName: 'AdminRole' });
    new SecurityHubMemberAccount(stack, 'A', { accountId: MEMBER, administratorAccountId: ADMIN, memberRoleName: 'OtherMember' });
    new SecurityHubMemberAccount(stack, 'B', { accountId: '333333333333', administratorAccountId: ADMIN, administratorRoleName: 'OtherAdmin' });
    const template = Template.fromStack(stack);
    const outside = bySid(template, 'AssumeMemberRolesOutsideOrganization')!;
    assert.deepEqual(actions(outside), ['sts:AssumeRole']);
    assert.deepEqual(outside.Condition, { StringEquals: { 'aws:ResourceAccount': ['444444444444', '555555555555'] } });
    // Member role names only; administrator role names only in the organization.
    assert.deepEqual(resources(outside), [roleArn('OrganizationAccountAccessRole'), roleArn('OtherMember')]);
    assert.deepEqual(resources(bySid(template, 'AssumeRolesInOrganization')!), [
      roleArn('OrganizationAccountAccessRole'),
      roleArn('AdminRole'),
      roleArn('OtherMember'),
      roleArn('OtherAdmin'),
    ]);
  });

  it('has no statement for accounts outside the organization when there are none', () => {
    for (const extra of [{}, { memberAccountsOutsideOrganization: [] }]) {
      assert.equal(bySid(Template.fromStack(newStack(extra)), 'AssumeMemberRolesOutsideOrganization'), undefined);
    }
  });

  it('counts refused requests and alarms on them and on failed invocations, when asked', () => {
    Template.fromStack(newStack()).resourceCountIs('AWS::CloudWatch::Alarm', 0);
    const stack = newStack();
    const provider = SecurityHubMemberAccountProvider.getOrCreate(stack);
    const alarms = provider.addAlarms();
    assert.equal(provider.addAlarms(), alarms);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3); // with the membership watch's (test/membership-watch.test.ts)
    const logGroup = Object.keys(template.findResources('AWS::Logs::LogGroup'))[0];
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logGroup },
      FilterPattern: '{ $.fields.message = "request refused" }',
      MetricTransformations: [Match.objectLike({ MetricName: 'RefusedRequests', MetricValue: '1', DefaultValue: 0 })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RefusedRequests',
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible' });
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: 'alias/aws/sqs', MessageRetentionPeriod: 1209600 });
    // deadLetters is the deprecated name of the same alarm.
    assert.equal(alarms.deadLetters, alarms.failedInvocations);
  });

  it('has its failed-invocations queue (the on-failure destination) also under the deprecated name deadLetterQueue', () => {
    const stack = newStack();
    const provider = SecurityHubMemberAccountProvider.getOrCreate(stack);
    assert.equal(provider.deadLetterQueue, provider.failedInvocationsQueue);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [stack.getLogicalId(provider.failedInvocationsQueue.node.defaultChild as CfnResource), 'Arn'] } } },
    });
    // The construct id is the one deployed stacks have: a new one would replace their queue.
    assert.equal(provider.failedInvocationsQueue.node.id, 'DeadLetterQueue');
  });

  it('says why in each checkov skip', () => {
    const template = Template.fromStack(newStack());
    const skipped = (type: string) =>
      Object.values(template.findResources(type)).flatMap((r: any) => r.Metadata?.checkov?.skip ?? []) as Array<{ id: string; comment: string }>;
    assert.deepEqual(skipped('AWS::Lambda::Function').map((s) => s.id), ['CKV_AWS_116', 'CKV_AWS_117', 'CKV_AWS_173', 'CKV_AWS_115']);
    assert.deepEqual(skipped('AWS::Logs::LogGroup').map((s) => s.id), ['CKV_AWS_158']);
    for (const s of [...skipped('AWS::Lambda::Function'), ...skipped('AWS::Logs::LogGroup')]) {
      assert.ok(s.comment.length > 80, `${s.id}: ${s.comment}`);
    }
  });

  it('may assume only the member and administrator role names', () => {
    const stack = new Stack(new App(), 'S');
    SecurityHubMemberAccountProvider.getOrCreate(stack, providerProps({ memberRoleName: 'MemberRole', administratorRoleName: 'AdminRole' }));
    new SecurityHubMemberAccount(stack, 'A', { accountId: MEMBER, administratorAccountId: ADMIN });
    assert.deepEqual(assumeRoleResources(Template.fromStack(stack)), [roleArn('MemberRole'), roleArn('AdminRole')]);
  });

  it('defaults both role names to OrganizationAccountAccessRole, and adds the role names members use', () => {
    const stack = newStack();
    new SecurityHubMemberAccount(stack, 'A', { accountId: MEMBER, administratorAccountId: ADMIN });
    new SecurityHubMemberAccount(stack, 'B', {
      accountId: '333333333333',
      administratorAccountId: ADMIN,
      memberRoleName: 'CustomMember',
      administratorRoleName: 'CustomAdmin',
    });
    new SecurityHubMemberAccount(stack, 'C', { accountId: '444444444444', administratorAccountId: ADMIN, memberRoleName: 'CustomMember' });
    assert.deepEqual(assumeRoleResources(Template.fromStack(stack)), [
      roleArn('OrganizationAccountAccessRole'),
      roleArn('CustomMember'),
      roleArn('CustomAdmin'),
    ]);
  });

  const packaged = SecurityHubMemberAccountProvider.packagedCodePath();
  it('fails clearly when there is no bootstrap.zip and no code is given', { skip: packaged !== undefined && 'a bootstrap.zip exists' }, () => {
    const { code, ...withoutCode } = providerProps();
    assert.ok(code);
    assert.throws(() => SecurityHubMemberAccountProvider.getOrCreate(new Stack(), withoutCode), /carries no Lambda package .*Run `make package`/);
  });

  it('uses the bootstrap.zip of the repository checkout when no code is given', { skip: packaged === undefined && 'no bootstrap.zip yet' }, () => {
    assert.equal(packaged, path.resolve(__dirname, '..', '..', 'dist', 'bootstrap.zip'));
    const { code, ...withoutCode } = providerProps();
    assert.ok(code);
    const stack = new Stack(new App(), 'S');
    SecurityHubMemberAccountProvider.getOrCreate(stack, withoutCode);
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { Code: { S3Key: Match.stringLikeRegexp('\\.zip$') } });
  });
});

describe('SecurityHubMemberAccount', () => {
  it('passes an existing account with every option, named as in docs/design.md', () => {
    const stack = newStack();
    new SecurityHubMemberAccount(stack, 'M', {
      accountId: MEMBER,
      administratorAccountId: ADMIN,
      regions: ['us-east-1', 'eu-west-1', 'us-gov-west-1'],
      memberRoleName: 'MemberRole',
      administratorRoleName: 'AdminRole',
      enableDefaultStandards: false,
      onDelete: OnDelete.DISABLE_SECURITY_HUB,
      serviceTimeout: Duration.minutes(5),
    });
    const template = Template.fromStack(stack);
    const members = Object.values(template.findResources(TYPE));
    assert.equal(members.length, 1);
    const { ServiceToken, ...properties } = members[0].Properties;
    assert.ok(ServiceToken);
    assert.deepEqual(properties, {
      ServiceTimeout: '300',
      AdministratorAccountId: ADMIN,
      AccountId: MEMBER,
      Regions: ['us-east-1', 'eu-west-1', 'us-gov-west-1'],
      MemberRoleName: 'MemberRole',
      AdministratorRoleName: 'AdminRole',
      EnableDefaultStandards: 'false',
      OnDelete: 'DisableSecurityHub',
    });
    assert.equal(members[0].DeletionPolicy, 'Delete');
  });

  it('passes a new account, with the account-creation default ServiceTimeout', () => {
    const stack = newStack();
    new SecurityHubMemberAccount(stack, 'M', {
      accountName: 'Audit',
      email: 'audit+sh@example.com',
      parentId: 'ou-ab12-cdef3456',
      administratorAccountId: ADMIN,
      closeAccountOnDelete: true,
      enableDefaultStandards: true,
    });
    const { ServiceToken, ...properties } = Object.values(Template.fromStack(stack).findResources(TYPE))[0].Properties;
    assert.ok(ServiceToken);
    assert.deepEqual(properties, {
      ServiceTimeout: '3600',
      AdministratorAccountId: ADMIN,
      AccountName: 'Audit',
      Email: 'audit+sh@example.com',
      ParentId: 'ou-ab12-cdef3456',
      EnableDefaultStandards: 'true',
      CloseAccountOnDelete: 'true',
    });
  });

  it('leaves out what is not given, with the existing-account default ServiceTimeout', () => {
    const stack = newStack();
    new SecurityHubMemberAccount(stack, 'M', { accountId: MEMBER, administratorAccountId: ADMIN });
    const { ServiceToken, ...properties } = Object.values(Template.fromStack(stack).findResources(TYPE))[0].Properties;
    assert.ok(ServiceToken);
    assert.deepEqual(properties, { ServiceTimeout: '1200', AdministratorAccountId: ADMIN, AccountId: MEMBER });
  });

  it('exposes the attributes as Fn::GetAtt tokens', () => {
    const stack = newStack();
    const member = new SecurityHubMemberAccount(stack, 'M', { accountId: MEMBER, administratorAccountId: ADMIN });
    const logicalId = stack.getLogicalId(member.resource.node.defaultChild as never);
    for (const [attr, value] of [
      ['AccountId', member.accountId],
      ['AdministratorAccountId', member.administratorAccountId],
      ['Regions', member.regions],
      ['AccountCreated', member.accountCreated],
    ]) {
      assert.deepEqual(stack.resolve(value), { 'Fn::GetAtt': [logicalId, attr] });
    }
    assert.deepEqual(stack.resolve(member.resource.ref), { Ref: logicalId });
  });

  it('applies the removal policy: RETAIN means CloudFormation never sends Delete', () => {
    const stack = newStack();
    new SecurityHubMemberAccount(stack, 'M', { accountId: MEMBER, administratorAccountId: ADMIN, removalPolicy: RemovalPolicy.RETAIN });
    Template.fromStack(stack).hasResource(TYPE, { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('skips the checks for tokens', () => {
    const stack = newStack();
    const account = new CfnParameter(stack, 'Account').valueAsString;
    const admin = new CfnParameter(stack, 'Admin').valueAsString;
    const regions = new CfnParameter(stack, 'Regions', { type: 'CommaDelimitedList' }).valueAsList;
    const timeout = new CfnParameter(stack, 'Timeout', { type: 'Number' }).valueAsNumber;
    new SecurityHubMemberAccount(stack, 'M', {
      accountId: account,
      administratorAccountId: admin,
      regions,
      serviceTimeout: Duration.seconds(timeout),
    });
    Template.fromStack(stack).hasResourceProperties(TYPE, {
      AccountId: { Ref: 'Account' },
      AdministratorAccountId: { Ref: 'Admin' },
      Regions: { Ref: 'Regions' },
      ServiceTimeout: { Ref: 'Timeout' },
    });
  });

  describe('rejects at synthesis, naming the prop', () => {
    const base = { administratorAccountId: ADMIN };
    const cases: Array<[string, Partial<SecurityHubMemberAccountProps> & Record<string, unknown>, RegExp]> = [
      ['accountId with accountName/email', { ...base, accountId: MEMBER, accountName: 'n', email: 'n@example.com' }, /either accountId .* or accountName and email .*not both/],
      ['accountId with email only', { ...base, accountId: MEMBER, email: 'n@example.com' }, /accountId.*accountName and email.*not both/],
      ['neither accountId nor accountName/email', { ...base }, /one of accountId .* or accountName and email .* is required/],
      ['accountName without email', { ...base, accountName: 'n' }, /accountName needs email/],
      ['email without accountName', { ...base, email: 'n@example.com' }, /email needs accountName/],
      ['accountId not 12 digits', { ...base, accountId: '12345' }, /accountId must be a 12-digit account id, got '12345'/],
      ['accountId with letters', { ...base, accountId: '12345678901a' }, /accountId must be a 12-digit/],
      ['administratorAccountId not 12 digits', { administratorAccountId: '1234567890123', accountId: MEMBER }, /administratorAccountId must be a 12-digit account id/],
      ['administratorAccountId missing', { accountId: MEMBER }, /administratorAccountId must be a 12-digit account id/],
      ['accountId equal to administratorAccountId', { ...base, accountId: ADMIN }, /accountId and administratorAccountId are both/],
      ['invalid email', { ...base, accountName: 'n', email: 'not-an-email' }, /email must be an e-mail address.*'not-an-email'/],
      ['email with a space', { ...base, accountName: 'n', email: 'a b@example.com' }, /email must be an e-mail address/],
      ['accountName too long', { ...base, accountName: 'x'.repeat(51), email: 'n@example.com' }, /accountName must be 1-50/],
      ['region not like us-east-1', { ...base, accountId: MEMBER, regions: ['us-east-1', 'US_EAST_1', 'useast1'] }, /regions must be region names like 'us-east-1', got 'US_EAST_1', 'useast1'/],
      ['empty regions', { ...base, accountId: MEMBER, regions: [] }, /regions must not be empty/],
      ['duplicate regions', { ...base, accountId: MEMBER, regions: ['eu-west-1', 'eu-west-1'] }, /regions lists 'eu-west-1' more than once/],
      ['parentId not r-/ou-', { ...base, accountName: 'n', email: 'n@example.com', parentId: 'o-abcd12345' }, /parentId must be an OU id \(ou-…\) or a root id \(r-…\), got 'o-abcd12345'/],
      ['parentId with accountId', { ...base, accountId: MEMBER, parentId: 'r-ab12' }, /parentId is only for an account created here/],
      ['closeAccountOnDelete with accountId', { ...base, accountId: MEMBER, closeAccountOnDelete: true }, /closeAccountOnDelete is only allowed for an account created here/],
      ['closeAccountOnDelete with onDelete Retain', { ...base, accountName: 'n', email: 'n@example.com', closeAccountOnDelete: true, onDelete: OnDelete.RETAIN }, /closeAccountOnDelete cannot be combined with onDelete: Retain/],
      ['onDelete unknown', { ...base, accountId: MEMBER, onDelete: 'Delete' as OnDelete }, /onDelete must be one of Disassociate, DisableSecurityHub, Retain, got 'Delete'/],
      ['serviceTimeout above 3600 s', { ...base, accountId: MEMBER, serviceTimeout: Duration.minutes(61) }, /serviceTimeout must be between 1 and 3600 seconds, got 3660 seconds/],
      ['serviceTimeout of 0', { ...base, accountId: MEMBER, serviceTimeout: Duration.seconds(0) }, /serviceTimeout must be between 1 and 3600 seconds, got 0 seconds/],
      ['serviceTimeout not whole seconds', { ...base, accountId: MEMBER, serviceTimeout: Duration.millis(1500) }, /serviceTimeout must be a whole number of seconds/],
      ['memberRoleName invalid', { ...base, accountId: MEMBER, memberRoleName: 'bad role' }, /memberRoleName must be an IAM role name/],
      ['administratorRoleName invalid', { ...base, accountId: MEMBER, administratorRoleName: 'x'.repeat(65) }, /administratorRoleName must be an IAM role name/],
    ];
    for (const [name, props, message] of cases) {
      it(name, () => {
        const stack = newStack();
        assert.throws(
          () => new SecurityHubMemberAccount(stack, 'M', props as SecurityHubMemberAccountProps),
          (err: Error) => {
            assert.match(err.message, /^SecurityHubMemberAccount TestStack\/M: /);
            assert.match(err.message, message);
            return true;
          },
        );
      });
    }

    it('accepts the valid shapes', () => {
      const stack = newStack();
      new SecurityHubMemberAccount(stack, 'A', { ...base, accountId: MEMBER, regions: ['us-east-1', 'ap-southeast-5', 'cn-northwest-1', 'us-gov-east-1', 'il-central-1'] });
      new SecurityHubMemberAccount(stack, 'B', { ...base, accountName: 'x', email: 'first.last+tag@mail.example.co.uk', parentId: 'r-ab12' });
      new SecurityHubMemberAccount(stack, 'C', { ...base, accountId: '333333333333', serviceTimeout: Duration.hours(1), onDelete: OnDelete.RETAIN });
      new SecurityHubMemberAccount(stack, 'D', { ...base, accountId: '444444444444', serviceTimeout: Duration.seconds(1) });
      Template.fromStack(stack).resourceCountIs(TYPE, 4);
    });
  });
});
