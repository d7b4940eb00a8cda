import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * One statement of `provider-statements.json`, as scripts/cdk-provider-statements.py writes it from
 * cloudformation/provider.yaml: Action and Resource as lists, intrinsics as Fn::Sub text (`!Ref Name` as `${Name}`,
 * `!GetAtt Resource.Attribute` as `${Resource.Attribute}`).
 */
interface StatementJson {
  readonly Sid?: string;
  readonly Action: string[];
  readonly Resource: string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

interface StatementsFile {
  readonly statements: Record<string, StatementJson>;
}

/**
 * What the template's names stand for in the CDK, by the name in `${...}` (`AWS::Partition`, `OrganizationId`,
 * `LogGroup.Arn`): a string (a token too), or a list, which can only stand for a whole value such as a condition's.
 * `undefined` for a value that is not given: statements that use it are not made, as the template makes them only
 * under a condition.
 */
export type TemplateValues = Record<string, string | string[] | undefined>;

const PLACEHOLDER = /\$\{(!?)([^}]*)\}/g;

/** The names a Fn::Sub text uses (`${!Literal}` is none). */
export function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].filter(([, literal]) => !literal).map(([, , name]) => name);
}

/**
 * Fn::Sub text with each `${Name}` replaced by `values[Name]` (and `${!Name}` by the literal `${Name}`). A text that is
 * one `${Name}` and nothing else is replaced by the value as it is (a list stays a list). `undefined` when a name it
 * uses has the value `undefined`; an error for a name `values` does not have.
 */
export function substitute(text: string, values: TemplateValues, where = 'provider-statements.json'): string | string[] | undefined {
  const value = (name: string) => {
    if (!(name in values)) {
      throw new Error(`${where}: \${${name}} has no value in the CDK provider (lib/provider.ts: templateValues)`);
    }
    return values[name];
  };
  const whole = /^\$\{([^!}][^}]*)\}$/.exec(text);
  if (whole) {
    return value(whole[1]);
  }
  let missing = false;
  const replaced = text.replace(PLACEHOLDER, (_match: string, literal: string, name: string) => {
    if (literal) {
      return `\${${name}}`;
    }
    const found = value(name);
    if (Array.isArray(found)) {
      throw new Error(`${where}: \${${name}} is a list, which can only be a whole value, not part of '${text}'`);
    }
    missing ||= found === undefined;
    return found ?? '';
  });
  return missing ? undefined : replaced;
}

/** One of provider.yaml's statements. */
export class TemplateStatement {
  constructor(
    /** The statement's Sid, or the logical id of its policy resource when it has none. */
    public readonly key: string,
    private readonly json: StatementJson,
  ) {}

  public get sid(): string | undefined {
    return this.json.Sid;
  }

  public get actions(): string[] {
    return [...this.json.Action];
  }

  public get resources(): string[] {
    return [...this.json.Resource];
  }

  /** Whether the statement uses `${name}` or an attribute of it (`${name.Arn}`). */
  public uses(name: string): boolean {
    const texts = [...this.json.Resource, ...Object.values(this.json.Condition ?? {}).flatMap((c) => Object.values(c).flat())];
    return texts.flatMap(placeholders).some((used) => used === name || used.startsWith(`${name}.`));
  }

  /**
   * The statement, `values` substituted, as a PolicyStatement: without its Sid if `withSid` is false, and with only
   * the resources `resources` keeps (default: all). `undefined` when a value it uses is `undefined`.
   */
  public toPolicyStatement(
    values: TemplateValues,
    options: { withSid?: boolean; resources?: (resource: string) => boolean } = {},
  ): iam.PolicyStatement | undefined {
    const where = `provider-statements.json ${this.key}`;
    const resources = this.json.Resource.filter(options.resources ?? (() => true)).map((r) => substitute(r, values, where));
    const conditions: Record<string, Record<string, string | string[]>> = {};
    for (const [operator, keys] of Object.entries(this.json.Condition ?? {})) {
      for (const [key, texts] of Object.entries(keys)) {
        const value = Array.isArray(texts) ? texts.map((text) => substitute(text, values, where)) : substitute(texts, values, where);
        if (value === undefined || (Array.isArray(value) && value.includes(undefined))) {
          return undefined;
        }
        conditions[operator] = { ...conditions[operator], [key]: Array.isArray(value) ? (value as Array<string | string[]>).flat() : value };
      }
    }
    if (resources.some((r) => r === undefined)) {
      return undefined;
    }
    return new iam.PolicyStatement({
      sid: options.withSid === false ? undefined : this.json.Sid,
      actions: this.json.Action,
      resources: (resources as Array<string | string[]>).flat(),
      conditions: Object.keys(conditions).length > 0 ? conditions : undefined,
    });
  }
}

/** provider.yaml's statements of the provider's role, in the template's order. */
export function templateStatements(): TemplateStatement[] {
  // require, not fs: the file is found beside this module wherever lib/ is (ts-node, compiled, bundled).
  const file = require('./provider-statements.json') as StatementsFile;
  return Object.entries(file.statements).map(([key, json]) => new TemplateStatement(key, json));
}
