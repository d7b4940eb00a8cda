import * as fs from 'fs';
import * as path from 'path';
import { ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The role that AWS Organizations creates in every account it creates. */
export const DEFAULT_ROLE_NAME = 'OrganizationAccountAccessRole';

/**
 * Where `make package` (run at the repository root) writes the Lambda package: `dist/bootstrap.zip`,
 * holding the `bootstrap` binary. Resolved relative to this file, so it works from `lib/*.ts` (ts-node)
 * and from compiled `lib/*.js` alike.
 */
export const DEFAULT_CODE_PATH = path.resolve(__dirname, '..', '..', 'dist', 'bootstrap.zip');

/** IAM role names: 1..64 characters of `[A-Za-z0-9+=,.@_-]` (no path). */
export const ROLE_NAME_RE = /^[\w+=,.@-]{1,64}$/;

export interface SecurityHubMemberAccountProviderProps {
  /**
   * The Lambda code. It must contain an executable `bootstrap` for `provided.al2023`.
   *
   * @default - `lambda.Code.fromAsset(DEFAULT_CODE_PATH)`, i.e. `dist/bootstrap.zip` of this repository
   *            (build it with `make package`). Synthesis fails with a clear error when it is missing.
   */
  readonly code?: lambda.Code;

  /**
   * Instruction set of the `bootstrap` binary in `code`.
   *
   * @default lambda.Architecture.X86_64
   */
  readonly architecture?: lambda.Architecture;

  /**
   * Role name assumed in member accounts. Members that use another `memberRoleName` add theirs to the
   * provider's `sts:AssumeRole` permission automatically.
   *
   * @default 'OrganizationAccountAccessRole'
   */
  readonly memberRoleName?: string;

  /**
   * Role name assumed in administrator accounts (added like `memberRoleName`).
   *
   * @default 'OrganizationAccountAccessRole'
   */
  readonly administratorRoleName?: string;

  /**
   * Regions worked on at once per request (`MAX_CONCURRENT_REGIONS`).
   *
   * @default 64
   */
  readonly maxConcurrentRegions?: number;

  /**
   * `RUST_LOG` filter of the function.
   *
   * @default 'info'
   */
  readonly logLevel?: string;

  /**
   * Retention of the function's log group.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The Lambda function behind `Custom::SecurityHubMemberAccount` resources: one per stack, shared by every
 * `SecurityHubMemberAccount` of the stack (use `getOrCreate`).
 *
 * Its role is least privilege: the Organizations calls that create, tag, find, move and close accounts;
 * `sts:AssumeRole` only on the member and administrator role names (in any account); `account:ListRegions` on its own account;
 * the Security Hub administrator calls (used when the administrator is the provider's own account); and
 * writing to its own log group. No action has a wildcard.
 */
export class SecurityHubMemberAccountProvider extends Construct {
  /** The construct id of the singleton, directly under the stack. */
  public static readonly SINGLETON_ID = 'SecurityHubMemberAccountProvider';

  /**
   * The stack's provider: created on first call (with `props`), returned as is afterwards. Passing `props`
   * again once it exists is an error, because they would be silently ignored.
   */
  public static getOrCreate(scope: Construct, props?: SecurityHubMemberAccountProviderProps): SecurityHubMemberAccountProvider {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(SecurityHubMemberAccountProvider.SINGLETON_ID);
    if (existing) {
      if (!(existing instanceof SecurityHubMemberAccountProvider)) {
        throw new Error(`${stack.node.path}/${SecurityHubMemberAccountProvider.SINGLETON_ID} exists and is not a SecurityHubMemberAccountProvider`);
      }
      if (props !== undefined) {
        throw new Error(
          `SecurityHubMemberAccountProvider.getOrCreate: the provider of stack ${stack.stackName} already exists; ` +
            'props can only be given on the first call',
        );
      }
      return existing;
    }
    return new SecurityHubMemberAccountProvider(stack, SecurityHubMemberAccountProvider.SINGLETON_ID, props);
  }

  /** The ServiceToken of the custom resources: the function's ARN. */
  public readonly serviceToken: string;
  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  private readonly assumeRoleStatement: iam.PolicyStatement;
  private readonly allowedRoleNames = new Set<string>();

  constructor(scope: Construct, id: string, props: SecurityHubMemberAccountProviderProps = {}) {
    super(scope, id);

    const maxConcurrentRegions = props.maxConcurrentRegions ?? 64;
    if (!Token.isUnresolved(maxConcurrentRegions) && (!Number.isInteger(maxConcurrentRegions) || maxConcurrentRegions < 1)) {
      throw new Error(`maxConcurrentRegions must be a positive integer, got ${maxConcurrentRegions}`);
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Custom::SecurityHubMemberAccount provider',
    });
    this.logGroup.grantWrite(this.role);

    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'Organizations',
        actions: [
          'organizations:CreateAccount',
          'organizations:TagResource',
          'organizations:DescribeCreateAccountStatus',
          'organizations:ListCreateAccountStatus',
          'organizations:ListAccounts',
          'organizations:ListTagsForResource',
          'organizations:DescribeAccount',
          'organizations:ListParents',
          'organizations:MoveAccount',
          'organizations:CloseAccount',
        ],
        resources: ['*'],
      }),
    );
    this.assumeRoleStatement = new iam.PolicyStatement({
      sid: 'AssumeMemberAndAdministratorRoles',
      actions: ['sts:AssumeRole'],
    });
    this.allowRoleName(props.memberRoleName ?? DEFAULT_ROLE_NAME, 'memberRoleName');
    this.allowRoleName(props.administratorRoleName ?? DEFAULT_ROLE_NAME, 'administratorRoleName');
    this.role.addToPolicy(this.assumeRoleStatement);
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DiscoverRegions',
        actions: ['account:ListRegions'],
        // Without AccountId, ListRegions answers for the caller's own account: only this one.
        resources: [Stack.of(this).formatArn({ service: 'account', region: '', resource: 'account', arnFormat: ArnFormat.NO_RESOURCE_NAME })],
      }),
    );
    // Security Hub calls go to this account's hub only when it is the administrator or the member itself.
    const securityHubHubs = Stack.of(this).formatArn({
      service: 'securityhub',
      region: '*',
      resource: 'hub',
      resourceName: 'default',
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'SecurityHubAdministrator',
        actions: [
          'securityhub:DescribeHub',
          'securityhub:CreateMembers',
          'securityhub:GetMembers',
          'securityhub:InviteMembers',
          'securityhub:DisassociateMembers',
          'securityhub:DeleteMembers',
          'securityhub:ListMembers',
        ],
        resources: [securityHubHubs],
      }),
    );
    // The member side, when the account enrolled is the provider's own (e.g. the management account joining
    // the audit account). Tag actions: a Delete's mark on the administrator's hub, for a Create still running.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'SecurityHubMember',
        actions: [
          'securityhub:EnableSecurityHub',
          'securityhub:DisableSecurityHub',
          'securityhub:GetAdministratorAccount',
          'securityhub:ListInvitations',
          'securityhub:AcceptAdministratorInvitation',
          'securityhub:DisassociateFromAdministratorAccount',
          'securityhub:TagResource',
          'securityhub:UntagResource',
          'securityhub:ListTagsForResource',
        ],
        resources: [securityHubHubs],
      }),
    );

    this.function = new lambda.Function(this, 'Function', {
      description: 'Custom::SecurityHubMemberAccount provider (Security Hub member enrollment)',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code: props.code ?? SecurityHubMemberAccountProvider.defaultCode(),
      architecture: props.architecture ?? lambda.Architecture.X86_64,
      memorySize: 256,
      timeout: Duration.minutes(15),
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        MAX_CONCURRENT_REGIONS: Token.isUnresolved(maxConcurrentRegions) ? Token.asString(maxConcurrentRegions) : String(maxConcurrentRegions),
        RUST_LOG: props.logLevel ?? 'info',
      },
    });

    this.serviceToken = this.function.functionArn;
  }

  /**
   * Let the provider assume `roleName` in any account (`arn:${Partition}:iam::*:role/<roleName>`).
   * Called by `SecurityHubMemberAccount` for its role names; idempotent.
   *
   * @param prop the prop name to quote in the error if the name is not a valid IAM role name
   */
  public allowRoleName(roleName: string, prop = 'roleName'): void {
    if (!Token.isUnresolved(roleName) && !ROLE_NAME_RE.test(roleName)) {
      throw new Error(`${prop} must be an IAM role name (1-64 characters of A-Z a-z 0-9 +=,.@_-), got '${roleName}'`);
    }
    if (this.allowedRoleNames.has(roleName)) {
      return;
    }
    this.allowedRoleNames.add(roleName);
    this.assumeRoleStatement.addResources(`arn:${Stack.of(this).partition}:iam::*:role/${roleName}`);
  }

  private static defaultCode(): lambda.Code {
    if (!fs.existsSync(DEFAULT_CODE_PATH)) {
      throw new Error(
        `SecurityHubMemberAccountProvider: the Lambda package ${path.relative(process.cwd(), DEFAULT_CODE_PATH)} does not exist. ` +
          'Run `make package` at the repository root, or pass `code`.',
      );
    }
    return lambda.Code.fromAsset(DEFAULT_CODE_PATH);
  }
}
