import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SecurityHubMemberAccountProvider, SecurityHubMemberAccountProviderProps } from '../lib';
import { placeholders, substitute, templateStatements } from '../lib/template-statements';

// The provider's IAM statements come from cloudformation/provider.yaml through lib/provider-statements.json, which
// scripts/cdk-provider-statements.py generates: the file must be what the script writes from the template now, and
// the CDK provider must make every statement of it.

const ROOT = path.join(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'cdk-provider-statements.py');
const PLACEHOLDER = path.join(__dirname, '..', 'app', 'placeholder');
const ORG = 'o-a1b2c3d4e5';

/** $PYTHON, the repository's venv, or python3: the first that has cfn-lint (the script reads the template with it). */
function pythonWithCfnLint(): string | undefined {
  const candidates = [process.env.PYTHON, path.join(ROOT, '.venv', 'bin', 'python'), 'python3'];
  return candidates.find(
    (python) =>
      python !== undefined &&
      (!python.includes(path.sep) || fs.existsSync(python)) &&
      spawnSync(python, ['-c', 'import cfnlint.decode.cfn_yaml'], { encoding: 'utf8' }).status === 0,
  );
}

function synthesized(extra: Partial<SecurityHubMemberAccountProviderProps> = {}): Template {
  const stack = new Stack(new App(), 'TestStack');
  SecurityHubMemberAccountProvider.getOrCreate(stack, {
    code: lambda.Code.fromAsset(PLACEHOLDER),
    administratorAccountIds: ['111111111111'],
    organizationId: ORG,
    ...extra,
  });
  return Template.fromStack(stack);
}

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

function roleStatements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

describe('provider-statements.json', () => {
  const python = pythonWithCfnLint();
  it('is what scripts/cdk-provider-statements.py generates from provider.yaml', { skip: python === undefined && 'no Python with cfn-lint (make venv)' }, () => {
    const run = spawnSync(python!, [SCRIPT, '--check'], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
  });

  it('is in the npm package (and so in the Python one, which carries the npm tarball)', () => {
    const files: string[] = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).files;
    assert.ok(files.includes('lib/**/*.json'), JSON.stringify(files));
  });

  it('gives the CDK provider every statement, with its actions, in the role of the function', () => {
    const template = synthesized({ memberAccountsOutsideOrganization: ['444444444444'] });
    const made = roleStatements(template);
    const statements = templateStatements();
    assert.ok(statements.length >= 10, `${statements.length} statements`);
    for (const statement of statements) {
      const found = made.filter((s) => JSON.stringify(asList(s.Action)) === JSON.stringify(statement.actions));
      assert.ok(found.length > 0, `${statement.key}: no statement with ${statement.actions}`);
      // The queue's statement has no Sid in the CDK (lib/provider.ts: QUEUE_LOGICAL_ID).
      if (statement.sid !== undefined && !statement.uses('DeadLetterQueue')) {
        assert.ok(found.some((s) => s.Sid === statement.sid), `${statement.key}: Sid ${JSON.stringify(found)}`);
      }
    }
    // Nothing else: each statement of the role is one of the template's.
    assert.equal(made.length, statements.length);
  });

  it('makes the outside-organization statement only for accounts outside the organization', () => {
    const sids = (template: Template) => roleStatements(template).map((s) => s.Sid);
    assert.ok(!sids(synthesized()).includes('AssumeMemberRolesOutsideOrganization'));
    assert.ok(sids(synthesized({ memberAccountsOutsideOrganization: ['444444444444'] })).includes('AssumeMemberRolesOutsideOrganization'));
  });
});

describe('substitute', () => {
  const values = { 'AWS::Partition': 'aws', Name: 'n', List: ['a', 'b'], Missing: undefined };

  it("replaces each ${Name}, keeps ${!Literal}'s text, and a whole ${Name} as its value", () => {
    assert.equal(substitute('arn:${AWS::Partition}:iam::*:role/${Name}', values), 'arn:aws:iam::*:role/n');
    assert.equal(substitute('${!Name}-${Name}', values), '${Name}-n');
    assert.deepEqual(substitute('${List}', values), ['a', 'b']);
    assert.equal(substitute('no names', values), 'no names');
  });

  it('is undefined for a value not given, and an error for a name without a value or a list in text', () => {
    assert.equal(substitute('${Missing}', values), undefined);
    assert.equal(substitute('x/${Missing}', values), undefined);
    assert.throws(() => substitute('x/${Other}', values), /\$\{Other\} has no value in the CDK provider/);
    assert.throws(() => substitute('x/${List}', values), /\$\{List\} is a list/);
  });

  it('lists the names a text uses', () => {
    assert.deepEqual(placeholders('arn:${AWS::Partition}:${!Literal}/${Queue.Arn}'), ['AWS::Partition', 'Queue.Arn']);
  });
});
