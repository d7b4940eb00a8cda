import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = path.join(__dirname, '..');

/** Runs app/app.ts the way the CDK CLI does (context in CDK_CONTEXT_JSON, output in CDK_OUTDIR). */
type Synth = {
  templates: Record<string, any>;
  warnings: string[];
  /** Rules acknowledged (cdk-nag findings accepted), by construct path: rule id -> reason. */
  acknowledged: Record<string, Record<string, string>>;
  /** Violations in the cloud assembly's validation report (cdk-nag's unacknowledged findings). */
  violations: unknown[];
  stderr: string;
  status: number | null;
};

function synth(context: Record<string, unknown>): Synth {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-example-test-'));
  try {
    const result = spawnSync(process.execPath, ['--require', 'ts-node/register/transpile-only', path.join('app', 'app.ts')], {
      cwd: ROOT,
      env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
      encoding: 'utf8',
    });
    const templates: Record<string, any> = {};
    const warnings: string[] = [];
    const acknowledged: Record<string, Record<string, string>> = {};
    const violations: unknown[] = [];
    const report = path.join(outdir, 'validation-report.json');
    if (fs.existsSync(report)) {
      for (const plugin of JSON.parse(fs.readFileSync(report, 'utf8')).pluginReports ?? []) {
        violations.push(...(plugin.violations ?? []));
      }
    }
    if (result.status === 0) {
      // Annotations are in the cloud assembly (<stack>.metadata.json), which the CLI prints them from.
      for (const file of fs.readdirSync(outdir).filter((f) => f.endsWith('.metadata.json'))) {
        const metadata = JSON.parse(fs.readFileSync(path.join(outdir, file), 'utf8'));
        for (const entries of Object.values(metadata) as any[][]) {
          warnings.push(...entries.filter((e) => e.type === 'aws:cdk:warning').map((e) => String(e.data)));
        }
        for (const [constructPath, entries] of Object.entries(metadata) as Array<[string, any[]]>) {
          for (const entry of entries.filter((e) => e.type === 'aws:cdk:acknowledged-rules')) {
            acknowledged[constructPath] = { ...acknowledged[constructPath], ...entry.data };
          }
        }
      }
      for (const stack of ['NewAccountStack', 'ExistingAccountsStack', 'OrganizationStack']) {
        const file = path.join(outdir, `${stack}.template.json`);
        if (fs.existsSync(file)) {
          templates[stack] = JSON.parse(fs.readFileSync(file, 'utf8'));
        }
      }
    }
    return { templates, warnings, acknowledged, violations, stderr: result.stderr, status: result.status };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function ofType(template: any, type: string): any[] {
  return Object.values(template.Resources).filter((r: any) => r.Type === type);
}

describe('example app (app/app.ts)', () => {
  it('builds both stacks, each with one provider, from a JSON list of account ids', () => {
    const { templates, stderr, status } = synth({
      administratorAccountId: '999999999999',
      accountIds: '["222222222222", "333333333333", "444444444444"]',
      regions: 'us-east-1,eu-west-1',
      accountName: 'Log Archive',
      email: 'log-archive@example.com',
      parentId: 'ou-ab12-cdef3456',
    });
    assert.equal(status, 0, stderr);
    const existing = templates.ExistingAccountsStack;
    assert.equal(ofType(existing, 'AWS::Lambda::Function').length, 1);
    const members = ofType(existing, 'Custom::SecurityHubMemberAccount');
    assert.deepEqual(members.map((m) => m.Properties.AccountId), ['222222222222', '333333333333', '444444444444']);
    for (const m of members) {
      assert.equal(m.Properties.AdministratorAccountId, '999999999999');
      assert.deepEqual(m.Properties.Regions, ['us-east-1', 'eu-west-1']);
    }
    assert.equal(Object.keys(existing.Outputs).length, 4 * 3);

    const created = templates.NewAccountStack;
    assert.equal(ofType(created, 'AWS::Lambda::Function').length, 1);
    const [member] = ofType(created, 'Custom::SecurityHubMemberAccount');
    assert.equal(member.Properties.AccountName, 'Log Archive');
    assert.equal(member.Properties.Email, 'log-archive@example.com');
    assert.equal(member.Properties.ParentId, 'ou-ab12-cdef3456');
    assert.equal(member.Properties.ServiceTimeout, '3600');
  });

  it('takes a comma-separated accountIds, and has example defaults', () => {
    const { templates, stderr, status } = synth({ accountIds: '555555555555, 666666666666' });
    assert.equal(status, 0, stderr);
    const ids = ofType(templates.ExistingAccountsStack, 'Custom::SecurityHubMemberAccount').map((m) => m.Properties.AccountId);
    assert.deepEqual(ids, ['555555555555', '666666666666']);
    const [member] = ofType(templates.NewAccountStack, 'Custom::SecurityHubMemberAccount');
    assert.equal(member.Properties.AdministratorAccountId, '111111111111');
    assert.equal(member.Properties.Regions, undefined);
  });

  it('has one stack without accountIds, so that a plain `cdk synth` prints its template', () => {
    const { templates, stderr, status } = synth({});
    assert.equal(status, 0, stderr);
    assert.deepEqual(Object.keys(templates), ['NewAccountStack']);
    assert.equal(ofType(templates.NewAccountStack, 'Custom::SecurityHubMemberAccount').length, 1);
  });

  it('configures the provider from context: its administrator, organization, trusted and outside accounts', () => {
    const { templates, warnings, stderr, status } = synth({
      administratorAccountId: '999999999999',
      organizationId: 'o-a1b2c3d4e5',
      trustedAccountIds: '123456789012,210987654321',
      memberAccountsOutsideOrganization: '["444444444444"]',
    });
    assert.ok(!warnings.some((w) => /organizationId/.test(w)), warnings.join('\n'));
    assert.equal(status, 0, stderr);
    const template = templates.NewAccountStack;
    const [fn] = ofType(template, 'AWS::Lambda::Function');
    assert.equal(fn.Properties.Environment.Variables.ADMINISTRATOR_ACCOUNT_IDS, '999999999999');
    assert.equal(fn.Properties.Environment.Variables.TRUSTED_ACCOUNT_IDS, '123456789012,210987654321');
    const statements = ofType(template, 'AWS::IAM::Policy').flatMap((p) => p.Properties.PolicyDocument.Statement);
    const org = statements.find((s: any) => s.Sid === 'AssumeRolesInOrganization');
    assert.deepEqual(org.Condition, { StringEquals: { 'aws:ResourceOrgID': 'o-a1b2c3d4e5' } });
    const outside = statements.find((s: any) => s.Sid === 'AssumeMemberRolesOutsideOrganization');
    assert.deepEqual(outside.Condition, { StringEquals: { 'aws:ResourceAccount': ['444444444444'] } });
  });

  it('warns when the organization id is the example placeholder', () => {
    const { warnings, stderr, status } = synth({});
    assert.equal(status, 0, stderr);
    assert.ok(warnings.some((w) => /no context organizationId: the provider uses the placeholder o-exampleorg0/.test(w)), warnings.join('\n'));
  });

  it('fails with the prop named for a bad account id', () => {
    const { stderr, status } = synth({ accountIds: '12345' });
    assert.notEqual(status, 0);
    assert.match(stderr, /accountId must be a 12-digit account id, got '12345'/);
  });

  it('rolls out to OUs with a StackSet through the organization topic when organizationalUnitIds is given', () => {
    const { templates, stderr, status } = synth({ organizationalUnitIds: 'ou-ab12-cdef3456,ou-ab12-bbbbbbbb', regions: 'us-east-1' });
    assert.equal(status, 0, stderr);
    const template = templates.OrganizationStack;
    assert.equal(ofType(template, 'AWS::SNS::Topic').length, 1);
    const [stackSet] = ofType(template, 'AWS::CloudFormation::StackSet');
    assert.equal(stackSet.Properties.PermissionModel, 'SERVICE_MANAGED');
    assert.deepEqual(stackSet.Properties.StackInstancesGroup[0].DeploymentTargets.OrganizationalUnitIds, ['ou-ab12-cdef3456', 'ou-ab12-bbbbbbbb']);
    assert.equal(ofType(template, 'Custom::SecurityHubMemberAccount').length, 0);
  });

  // cdk-nag's AwsSolutions pack runs on every synthesis of the app; an unacknowledged finding fails it. Each
  // acknowledgment is a decision: the list is fixed here, and each has its reason.
  it('passes cdk-nag AwsSolutions, every acknowledged finding with its reason', () => {
    const { acknowledged, violations, stderr, status } = synth({
      accountIds: '222222222222',
      organizationalUnitIds: 'ou-ab12-cdef3456',
      organizationId: 'o-a1b2c3d4e5',
      memberAccountsOutsideOrganization: '444444444444',
    });
    assert.equal(status, 0, stderr);
    assert.deepEqual(violations, []);
    const ids = new Set<string>();
    for (const [constructPath, rules] of Object.entries(acknowledged)) {
      for (const [id, reason] of Object.entries(rules)) {
        if (!id.includes('AwsSolutions-')) {
          continue;
        }
        assert.ok(reason.length >= 60, `${constructPath} ${id}: no real reason: '${reason}'`);
        ids.add(id.replace(/^Annotation::/, ''));
      }
    }
    const partition = '<AWS::Partition>';
    assert.deepEqual([...ids].sort(), [
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-SQS3',
      'AwsSolutions-SQS4',
      `AwsSolutions-IAM5[Resource::arn:${partition}:cloudformation:*:<AWS::AccountId>:stack/*/*]`,
      `AwsSolutions-IAM5[Resource::arn:${partition}:iam::*:role/OrganizationAccountAccessRole]`,
      `AwsSolutions-IAM5[Resource::arn:${partition}:organizations::*:account/o-a1b2c3d4e5/*]`,
      `AwsSolutions-IAM5[Resource::arn:${partition}:organizations::*:ou/o-a1b2c3d4e5/*]`,
      `AwsSolutions-IAM5[Resource::arn:${partition}:organizations::*:root/o-a1b2c3d4e5/*]`,
      `AwsSolutions-IAM5[Resource::arn:${partition}:securityhub:*:<AWS::AccountId>:hub/default]`,
    ].sort());
  });
});
