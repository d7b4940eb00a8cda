import * as fs from 'fs';
import * as path from 'path';
import { Aws, Fn, Stack, Token } from 'aws-cdk-lib';
import * as cloudformation from 'aws-cdk-lib/aws-cloudformation';
import { Construct } from 'constructs';
import { packageFile } from './package-files';
import { ACCOUNT_ID_RE, checkRegions, OU_ID_RE } from './patterns';
import { SecurityHubMemberAccountProvider } from './provider';
import { OnDelete } from './security-hub-member-account';

/** How a StackSet operation counts failures against its concurrency (`OperationPreferences.ConcurrencyMode`). */
export enum ConcurrencyMode {
  /**
   * Concurrency is lowered as accounts fail, and never exceeds the failure tolerance plus one (CloudFormation's
   * default): with a tolerance of 0, one account at a time.
   */
  STRICT_FAILURE_TOLERANCE = 'STRICT_FAILURE_TOLERANCE',
  /** Concurrency stays at `maxConcurrent*` whatever fails, until the failure tolerance is exceeded. */
  SOFT_FAILURE_TOLERANCE = 'SOFT_FAILURE_TOLERANCE',
}

/** Whom the StackSet is managed as (`CallAs`). */
export enum CallAs {
  /** The organization's management account. */
  SELF = 'SELF',
  /** A delegated administrator of StackSets, registered in the management account. */
  DELEGATED_ADMIN = 'DELEGATED_ADMIN',
}

export interface SecurityHubEnrollmentStackSetProps {
  /** 12-digit id of the Security Hub administrator (audit / security) account every member joins. */
  readonly administratorAccountId: string;

  /**
   * The organizational units (`ou-…`) whose accounts are enrolled, nested OUs included. Accounts that move into
   * them later are enrolled too when `autoDeployment` is on.
   */
  readonly organizationalUnitIds: string[];

  /**
   * The provider whose organization topic the member stacks publish to. It must have been created with
   * `organizationTopic: true`. Give this or `topicServiceToken`.
   *
   * @default - the stack's single provider (`SecurityHubMemberAccountProvider.getOrCreate(this)`), unless
   *            `topicServiceToken` is given
   */
  readonly provider?: SecurityHubMemberAccountProvider;

  /**
   * The topic ARN of a provider deployed elsewhere (`provider.yaml`'s `TopicServiceToken` output, or another
   * stack's `topicServiceToken`). The stack instances are created in its region: CloudFormation needs a custom
   * resource's ServiceToken in the stack's own region.
   *
   * @default - the `provider`'s `topicServiceToken`
   */
  readonly topicServiceToken?: string;

  /**
   * Regions each member is enrolled in.
   *
   * @default - discovered per account: the regions enabled in both accounts in which the administrator has
   *            Security Hub enabled
   */
  readonly regions?: string[];

  /**
   * What deleting a member's stack does (the account leaving the OUs, or the StackSet being deleted).
   *
   * @default OnDelete.DISASSOCIATE
   */
  readonly onDelete?: OnDelete;

  /**
   * Deploy to accounts that join the OUs later, and delete the stack of an account that leaves them.
   *
   * @default true
   */
  readonly autoDeployment?: boolean;

  /**
   * With `autoDeployment`: keep an account's stack (and so its membership) when the account leaves the OUs.
   *
   * @default false (the stack is deleted, and its Delete does what `onDelete` says)
   */
  readonly retainStacksOnAccountRemoval?: boolean;

  /**
   * Accounts deployed to at once, as a percentage of the targeted accounts (1-100; rounded down, at least one).
   * Give this or `maxConcurrentCount`. The provider retries Security Hub's throttling within each request's
   * time, so a wide rollout is slower per account but does not fail for it.
   *
   * @default 25, unless `maxConcurrentCount` is given
   */
  readonly maxConcurrentPercentage?: number;

  /**
   * Accounts deployed to at once, as a number (at least 1). Give this or `maxConcurrentPercentage`.
   *
   * @default - `maxConcurrentPercentage`
   */
  readonly maxConcurrentCount?: number;

  /**
   * Failed accounts, as a percentage of the targeted accounts (0-100; rounded down), after which the operation
   * stops. Give this or `failureToleranceCount`.
   *
   * @default 10, unless `failureToleranceCount` is given
   */
  readonly failureTolerancePercentage?: number;

  /**
   * Failed accounts, as a number (0 or more), after which the operation stops. Give this or
   * `failureTolerancePercentage`.
   *
   * @default - `failureTolerancePercentage`
   */
  readonly failureToleranceCount?: number;

  /**
   * How failures bound the concurrency.
   *
   * @default ConcurrencyMode.SOFT_FAILURE_TOLERANCE (the concurrency asked for, whatever the tolerance)
   */
  readonly concurrencyMode?: ConcurrencyMode;

  /**
   * Whom the StackSet is managed as.
   *
   * @default CallAs.SELF (the management account)
   */
  readonly callAs?: CallAs;

  /**
   * Name of the StackSet (CloudFormation requires one, and cannot rename it).
   *
   * @default - `SecurityHubEnrollment-` and 12 characters of this construct's address (stable per path)
   */
  readonly stackSetName?: string;
}

function isNumber(value: number | undefined): value is number {
  return value !== undefined && !Token.isUnresolved(value);
}

/**
 * A service-managed StackSet of `cloudformation/stackset-member.yaml` deployed to organizational units: every
 * account in them gets a stack whose `Custom::SecurityHubMemberAccount` enrolls that account (and only that
 * account: the provider allows other accounts' stacks nothing else) as a Security Hub member of
 * `administratorAccountId`, through the provider's organization topic. One stack instance per account, in the
 * provider's region: the resource covers every region. The administrator account's own stack, if it is in the
 * OUs, has no member.
 *
 * Service-managed StackSets do not deploy to the management account itself; enroll it with a
 * `SecurityHubMemberAccount`.
 */
export class SecurityHubEnrollmentStackSet extends Construct {
  /** The StackSet. */
  public readonly stackSet: cloudformation.CfnStackSet;

  constructor(scope: Construct, id: string, props: SecurityHubEnrollmentStackSetProps) {
    super(scope, id);
    const fail = (message: string): never => {
      throw new Error(`SecurityHubEnrollmentStackSet ${this.node.path}: ${message}`);
    };

    if (!Token.isUnresolved(props.administratorAccountId) && !ACCOUNT_ID_RE.test(String(props.administratorAccountId))) {
      fail(`administratorAccountId must be a 12-digit account id, got '${props.administratorAccountId}'`);
    }
    const ous = props.organizationalUnitIds;
    if (!Token.isUnresolved(ous)) {
      if (ous.length === 0) {
        fail('organizationalUnitIds must list at least one OU id (ou-…)');
      }
      const bad = ous.filter((ou) => !Token.isUnresolved(ou) && !OU_ID_RE.test(ou));
      if (bad.length > 0) {
        fail(`organizationalUnitIds must be OU ids (ou-…), got ${bad.map((ou) => `'${ou}'`).join(', ')}`);
      }
      if (new Set(ous).size !== ous.length) {
        fail(`organizationalUnitIds lists an OU more than once: ${ous.join(',')}`);
      }
    }
    checkRegions(props.regions, fail);
    if (props.onDelete !== undefined && !(Object.values(OnDelete) as string[]).includes(props.onDelete)) {
      fail(`onDelete must be one of ${Object.values(OnDelete).join(', ')}, got '${props.onDelete}'`);
    }
    if (props.retainStacksOnAccountRemoval !== undefined && props.autoDeployment === false) {
      fail('retainStacksOnAccountRemoval is only for autoDeployment: true');
    }

    // Operation preferences: each pair is one setting given as a count or a percentage.
    const pair = (countName: string, count: number | undefined, percentName: string, percent: number | undefined) => {
      if (count !== undefined && percent !== undefined) {
        fail(`give either ${countName} or ${percentName}, not both`);
      }
    };
    pair('maxConcurrentCount', props.maxConcurrentCount, 'maxConcurrentPercentage', props.maxConcurrentPercentage);
    pair('failureToleranceCount', props.failureToleranceCount, 'failureTolerancePercentage', props.failureTolerancePercentage);
    const range = (name: string, value: number | undefined, min: number, max: number) => {
      if (isNumber(value) && (!Number.isInteger(value) || value < min || value > max)) {
        fail(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
      }
    };
    range('maxConcurrentCount', props.maxConcurrentCount, 1, Number.MAX_SAFE_INTEGER);
    range('maxConcurrentPercentage', props.maxConcurrentPercentage, 1, 100);
    range('failureToleranceCount', props.failureToleranceCount, 0, Number.MAX_SAFE_INTEGER);
    range('failureTolerancePercentage', props.failureTolerancePercentage, 0, 100);
    const concurrencyMode = props.concurrencyMode ?? ConcurrencyMode.SOFT_FAILURE_TOLERANCE;
    if (!(Object.values(ConcurrencyMode) as string[]).includes(concurrencyMode)) {
      fail(`concurrencyMode must be one of ${Object.values(ConcurrencyMode).join(', ')}, got '${concurrencyMode}'`);
    }
    const callAs = props.callAs ?? CallAs.SELF;
    if (!(Object.values(CallAs) as string[]).includes(callAs)) {
      fail(`callAs must be one of ${Object.values(CallAs).join(', ')}, got '${callAs}'`);
    }

    // The ServiceToken, and the region the stack instances go to (the topic's).
    if (props.provider !== undefined && props.topicServiceToken !== undefined) {
      fail('give either provider or topicServiceToken, not both');
    }
    let topicServiceToken = props.topicServiceToken;
    let region: string;
    if (topicServiceToken !== undefined) {
      if (!Token.isUnresolved(topicServiceToken) && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:.+$/.test(topicServiceToken)) {
        fail(`topicServiceToken must be an SNS topic ARN, got '${topicServiceToken}'`);
      }
      region = Token.isUnresolved(topicServiceToken) ? Fn.select(3, Fn.split(':', topicServiceToken)) : topicServiceToken.split(':')[3];
    } else {
      const provider = props.provider ?? SecurityHubMemberAccountProvider.getOrCreate(this);
      if (provider.topicServiceToken === undefined) {
        fail(`the provider ${provider.node.path} has no organization topic: create it with organizationTopic: true`);
      }
      topicServiceToken = provider.topicServiceToken!;
      const providerStack = Stack.of(provider);
      region = Token.isUnresolved(providerStack.region) ? Aws.REGION : providerStack.region;
      // The topic, its policies, key and subscription must be in place before the first member stack publishes.
      if (providerStack === Stack.of(this)) {
        this.node.addDependency(provider);
      }
    }

    const templatePath = packageFile('stackset-member.yaml', path.join('cloudformation', 'stackset-member.yaml'));
    if (templatePath === undefined) {
      fail('this package carries no assets/stackset-member.yaml (run `npm run assets` before packing it)');
    }

    const parameters: cloudformation.CfnStackSet.ParameterProperty[] = [
      { parameterKey: 'TopicServiceToken', parameterValue: topicServiceToken! },
      { parameterKey: 'AdministratorAccountId', parameterValue: props.administratorAccountId },
      { parameterKey: 'OnDelete', parameterValue: props.onDelete ?? OnDelete.DISASSOCIATE },
    ];
    if (props.regions !== undefined) {
      parameters.push({ parameterKey: 'Regions', parameterValue: Fn.join(',', props.regions) });
    }
    const autoDeployment = props.autoDeployment ?? true;
    const maxConcurrent =
      props.maxConcurrentCount !== undefined ? { maxConcurrentCount: props.maxConcurrentCount } : { maxConcurrentPercentage: props.maxConcurrentPercentage ?? 25 };
    const failureTolerance =
      props.failureToleranceCount !== undefined
        ? { failureToleranceCount: props.failureToleranceCount }
        : { failureTolerancePercentage: props.failureTolerancePercentage ?? 10 };

    this.stackSet = new cloudformation.CfnStackSet(this, 'Resource', {
      stackSetName: props.stackSetName ?? `SecurityHubEnrollment-${this.node.addr.slice(0, 12)}`,
      description: 'Enrolls every account of the OUs as a Security Hub member (Custom::SecurityHubMemberAccount)',
      permissionModel: 'SERVICE_MANAGED',
      callAs,
      autoDeployment: {
        enabled: autoDeployment,
        retainStacksOnAccountRemoval: autoDeployment ? (props.retainStacksOnAccountRemoval ?? false) : undefined,
      },
      // CloudFormation queues operations that do not conflict instead of failing them (an account joining the
      // OU while another operation runs).
      managedExecution: { Active: true },
      operationPreferences: { ...maxConcurrent, ...failureTolerance, concurrencyMode },
      parameters,
      stackInstancesGroup: [{ deploymentTargets: { organizationalUnitIds: ous }, regions: [region] }],
      templateBody: fs.readFileSync(templatePath!, 'utf8'),
    });
  }

  /** The StackSet's id (`Ref`). */
  public get stackSetId(): string {
    return this.stackSet.attrStackSetId;
  }
}
