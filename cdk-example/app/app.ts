#!/usr/bin/env node
/**
 * Example app: two stacks, each with its one `SecurityHubMemberAccountProvider`.
 *
 *   NewAccountStack        creates an account (context accountName, email, optional parentId) and enrolls it
 *   ExistingAccountsStack  enrolls every account of context accountIds (only when accountIds is given, so that
 *                          a plain `npx cdk synth` has one stack and prints its template)
 *   OrganizationStack      a provider with its organization topic, and a StackSet that enrolls every account of
 *                          context organizationalUnitIds (only when they are given)
 *
 * both into context administratorAccountId, in context regions (optional; default: discovered). The provider
 * may enroll into administratorAccountId only, assume roles only in context organizationId's accounts (plus
 * context memberAccountsOutsideOrganization), and trusts the stacks of context trustedAccountIds (default: its
 * own account).
 *
 * cdk-nag's AwsSolutions pack checks every stack at synthesis; each finding the design accepts is suppressed
 * where it arises, with its reason (the library's own on its resources, the app's here).
 *
 *   npx cdk synth -c administratorAccountId=111111111111 -c organizationId=o-a1b2c3d4e5 -c accountIds=222222222222,333333333333
 *   npx cdk deploy ExistingAccountsStack -c administratorAccountId=... -c organizationId=o-... -c accountIds='["222222222222"]'
 */
import * as fs from 'fs';
import * as path from 'path';
import { Annotations, App, CfnOutput, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { SecurityHubEnrollmentStackSet, SecurityHubMemberAccount, SecurityHubMemberAccountProvider } from '../lib';

/** Example values used when the context does not give them. Replace them (`-c name=value`) before deploying. */
const EXAMPLE_DEFAULTS = {
  administratorAccountId: '111111111111',
  organizationId: 'o-exampleorg0',
  accountName: 'security-hub-example',
  email: 'security-hub-example@example.com',
};

const PLACEHOLDER_DIR = path.join(__dirname, 'placeholder');

/** A context value as a list: a JSON list (`["a","b"]`), a comma-separated string, or a list from cdk.json. */
function contextList(scope: Construct, key: string): string[] | undefined {
  const raw: unknown = scope.node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') {
    return undefined;
  }
  let list: unknown = raw;
  if (typeof raw === 'string') {
    list = raw.trim().startsWith('[') ? JSON.parse(raw) : raw.split(',');
  }
  if (!Array.isArray(list)) {
    throw new Error(`context ${key} must be a comma-separated string or a JSON list, got ${JSON.stringify(raw)}`);
  }
  return list.map((item) => String(item).trim()).filter((item) => item !== '');
}

function contextString(scope: Construct, key: string): string | undefined {
  const raw: unknown = scope.node.tryGetContext(key);
  return raw === undefined || raw === null || raw === '' ? undefined : String(raw);
}

function administratorAccountId(scope: Construct): string {
  return contextString(scope, 'administratorAccountId') ?? EXAMPLE_DEFAULTS.administratorAccountId;
}

/**
 * The stack's provider, from `dist/bootstrap.zip` when `make package` has built it; otherwise from a
 * placeholder directory without a `bootstrap`, with a warning, so that `cdk synth` works before the build.
 * It may enroll into the example's one administrator account.
 */
function provider(stack: Stack, organizationTopic = false): SecurityHubMemberAccountProvider {
  const packaged = SecurityHubMemberAccountProvider.packagedCodePath();
  const built = packaged !== undefined && fs.existsSync(packaged);
  const organizationId = contextString(stack, 'organizationId');
  const p = SecurityHubMemberAccountProvider.getOrCreate(stack, {
    code: built ? lambda.Code.fromAsset(packaged) : lambda.Code.fromAsset(PLACEHOLDER_DIR),
    organizationTopic,
    administratorAccountIds: [administratorAccountId(stack)],
    organizationId: organizationId ?? EXAMPLE_DEFAULTS.organizationId,
    trustedAccountIds: contextList(stack, 'trustedAccountIds'),
    memberAccountsOutsideOrganization: contextList(stack, 'memberAccountsOutsideOrganization'),
  });
  if (organizationId === undefined) {
    Annotations.of(p).addWarningV2(
      'securityhub-member-account:exampleOrganizationId',
      `no context organizationId: the provider uses the placeholder ${EXAMPLE_DEFAULTS.organizationId} and could ` +
        'assume no role. Pass -c organizationId=o-... before `cdk deploy`.',
    );
  }
  if (!built) {
    Annotations.of(p).addWarningV2(
      'securityhub-member-account:placeholderCode',
      'dist/bootstrap.zip not found: the provider uses a placeholder asset with no bootstrap, which cannot answer ' +
        'CloudFormation. Run `make package` at the repository root before `cdk deploy`.',
    );
  }
  return p;
}

function outputs(scope: Construct, id: string, member: SecurityHubMemberAccount): void {
  new CfnOutput(scope, `${id}AccountId`, { value: member.accountId });
  new CfnOutput(scope, `${id}AdministratorAccountId`, { value: member.administratorAccountId });
  new CfnOutput(scope, `${id}Regions`, { value: member.regions });
  new CfnOutput(scope, `${id}AccountCreated`, { value: member.accountCreated });
}

export class NewAccountStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const member = new SecurityHubMemberAccount(this, 'Member', {
      accountName: contextString(this, 'accountName') ?? EXAMPLE_DEFAULTS.accountName,
      email: contextString(this, 'email') ?? EXAMPLE_DEFAULTS.email,
      parentId: contextString(this, 'parentId'),
      administratorAccountId: administratorAccountId(this),
      regions: contextList(this, 'regions'),
      provider: provider(this),
    });
    outputs(this, 'Member', member);
  }
}

export class ExistingAccountsStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const p = provider(this);
    const administrator = administratorAccountId(this);
    const regions = contextList(this, 'regions');
    const accountIds = contextList(this, 'accountIds') ?? [];
    if (new Set(accountIds).size !== accountIds.length) {
      throw new Error(`context accountIds lists an account more than once: ${accountIds.join(',')}`);
    }
    for (const accountId of accountIds) {
      const id = `Member${accountId}`;
      const member = new SecurityHubMemberAccount(this, id, { accountId, administratorAccountId: administrator, regions, provider: p });
      outputs(this, id, member);
    }
  }
}

export class OrganizationStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const p = provider(this, true);
    const rollout = new SecurityHubEnrollmentStackSet(this, 'Enrollment', {
      administratorAccountId: administratorAccountId(this),
      organizationalUnitIds: contextList(this, 'organizationalUnitIds') ?? [],
      regions: contextList(this, 'regions'),
      provider: p,
    });
    new CfnOutput(this, 'TopicServiceToken', { value: p.topicServiceToken! });
    new CfnOutput(this, 'StackSetId', { value: rollout.stackSetId });
  }
}

const app = new App();
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
new NewAccountStack(app, 'NewAccountStack', { env, description: 'Creates an account and enrolls it as a Security Hub member' });
if (contextList(app, 'accountIds')) {
  new ExistingAccountsStack(app, 'ExistingAccountsStack', { env, description: 'Enrolls existing accounts as Security Hub members' });
}
if (contextList(app, 'organizationalUnitIds')) {
  new OrganizationStack(app, 'OrganizationStack', {
    env,
    description: 'Enrolls every account of organizational units as Security Hub members, through a StackSet',
  });
}
// A finding that is not acknowledged (Validations.of(construct).acknowledge, with its reason) fails the synthesis.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
