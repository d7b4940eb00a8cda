import { CustomResource, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ACCOUNT_ID_RE, checkRegions, EMAIL_RE, PARENT_ID_RE, ROLE_NAME_RE } from './patterns';
import { SecurityHubMemberAccountProvider } from './provider';

/** What the Delete of the resource does (property `OnDelete`). */
export enum OnDelete {
  /** Remove the membership in every region: the administrator disassociates and deletes the member. */
  DISASSOCIATE = 'Disassociate',
  /** Like `DISASSOCIATE`, then disable Security Hub in the member account. */
  DISABLE_SECURITY_HUB = 'DisableSecurityHub',
  /** Touch nothing: the account stays a member. */
  RETAIN = 'Retain',
}

export interface SecurityHubMemberAccountProps {
  /**
   * 12-digit id of an existing account to enroll (in the organization or outside it).
   * Give either this, or `accountName` and `email`.
   */
  readonly accountId?: string;

  /** Name of a new account to create in the organization, then enroll. Needs `email`. */
  readonly accountName?: string;

  /** Root e-mail address of the new account. Needs `accountName`. */
  readonly email?: string;

  /**
   * OU (`ou-…`) or root (`r-…`) to move the created account into. Only with `accountName`/`email`.
   *
   * @default - the organization root
   */
  readonly parentId?: string;

  /** 12-digit id of the Security Hub administrator (audit / security) account. */
  readonly administratorAccountId: string;

  /**
   * Regions to enroll the account in.
   *
   * @default - discovered: the regions enabled in both accounts in which the administrator has Security Hub enabled
   */
  readonly regions?: string[];

  /**
   * Role assumed in the member account.
   *
   * @default 'OrganizationAccountAccessRole'
   */
  readonly memberRoleName?: string;

  /**
   * Role assumed in the administrator account (not assumed when the administrator is the provider's own account).
   *
   * @default 'OrganizationAccountAccessRole'
   */
  readonly administratorRoleName?: string;

  /**
   * Enable the default standards when this resource enables Security Hub in the member.
   *
   * @default true
   */
  readonly enableDefaultStandards?: boolean;

  /**
   * What Delete does. Independent of `removalPolicy`: with `RemovalPolicy.RETAIN` CloudFormation never sends
   * Delete at all, so `onDelete` has no effect.
   *
   * @default OnDelete.DISASSOCIATE
   */
  readonly onDelete?: OnDelete;

  /**
   * Close the account on Delete. Only for an account this resource creates (`accountName`/`email`); the
   * provider closes it only if it carries this resource's creation tags.
   *
   * @default false
   */
  readonly closeAccountOnDelete?: boolean;

  /**
   * How long CloudFormation waits for the provider's answer (`ServiceTimeout`, 1 s – 3600 s) before it fails
   * the operation. The function itself stops at 15 minutes and answers before that.
   *
   * @default - 20 minutes for an existing account (one full run of the function plus margin);
   *            60 minutes when the account is created (CloudFormation's maximum, room for retries)
   */
  readonly serviceTimeout?: Duration;

  /**
   * CloudFormation removal policy of the custom resource. `RemovalPolicy.RETAIN` (or `SNAPSHOT`, which custom
   * resources treat like retain) means Delete is never sent: the membership — and the account — stay.
   *
   * @default RemovalPolicy.DESTROY (Delete is sent and does what `onDelete` says)
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * The provider that serves this resource.
   *
   * @default - `SecurityHubMemberAccountProvider.getOrCreate(this)`: the stack's single provider
   */
  readonly provider?: SecurityHubMemberAccountProvider;
}

const ON_DELETE_VALUES = Object.values(OnDelete) as string[];

function resolved(value: unknown): boolean {
  return value !== undefined && !Token.isUnresolved(value);
}

/**
 * A `Custom::SecurityHubMemberAccount`: makes one AWS account (existing, or created here through AWS
 * Organizations) a Security Hub member of `administratorAccountId` in every chosen region, keeps it so across
 * updates and undoes it on delete (see `onDelete`, `closeAccountOnDelete`, `removalPolicy`).
 *
 * The props are checked at synthesis (skipping values that are tokens); each error names the prop.
 */
export class SecurityHubMemberAccount extends Construct {
  /** Default `serviceTimeout` for an existing account: one full run of the function plus margin. */
  public static readonly DEFAULT_SERVICE_TIMEOUT_EXISTING = Duration.minutes(20);
  /** Default `serviceTimeout` when the resource creates the account: CloudFormation's maximum. */
  public static readonly DEFAULT_SERVICE_TIMEOUT_CREATE = Duration.minutes(60);

  /** The underlying custom resource; its `ref` (physical id) is the member's account id. */
  public readonly resource: CustomResource;
  public readonly provider: SecurityHubMemberAccountProvider;

  constructor(scope: Construct, id: string, props: SecurityHubMemberAccountProps) {
    super(scope, id);
    const fail = (message: string): never => {
      throw new Error(`SecurityHubMemberAccount ${this.node.path}: ${message}`);
    };

    // Which account.
    const creates = props.accountName !== undefined || props.email !== undefined;
    if (props.accountId !== undefined && creates) {
      fail('give either accountId (an existing account) or accountName and email (a new account), not both');
    }
    if (props.accountId === undefined && !creates) {
      fail('one of accountId (an existing account) or accountName and email (a new account) is required');
    }
    if (creates && props.accountName === undefined) {
      fail('email needs accountName: both are required to create an account');
    }
    if (creates && props.email === undefined) {
      fail('accountName needs email: both are required to create an account');
    }
    if (resolved(props.accountId) && !ACCOUNT_ID_RE.test(props.accountId!)) {
      fail(`accountId must be a 12-digit account id, got '${props.accountId}'`);
    }
    if (resolved(props.accountName) && !/^[\x20-\x7e]{1,50}$/.test(props.accountName!)) {
      fail(`accountName must be 1-50 printable ASCII characters, got '${props.accountName}'`);
    }
    if (resolved(props.email) && (!EMAIL_RE.test(props.email!) || props.email!.length < 6 || props.email!.length > 64)) {
      fail(`email must be an e-mail address of 6-64 characters, got '${props.email}'`);
    }
    if (props.parentId !== undefined) {
      if (!creates) {
        fail('parentId is only for an account created here (accountName and email), not with accountId');
      }
      if (resolved(props.parentId) && !PARENT_ID_RE.test(props.parentId)) {
        fail(`parentId must be an OU id (ou-…) or a root id (r-…), got '${props.parentId}'`);
      }
    }

    // The administrator.
    if (!Token.isUnresolved(props.administratorAccountId) && !ACCOUNT_ID_RE.test(String(props.administratorAccountId))) {
      fail(`administratorAccountId must be a 12-digit account id, got '${props.administratorAccountId}'`);
    }
    if (resolved(props.accountId) && resolved(props.administratorAccountId) && props.accountId === props.administratorAccountId) {
      fail(`accountId and administratorAccountId are both '${props.accountId}': an account cannot be its own Security Hub member`);
    }

    // Regions.
    checkRegions(props.regions, fail);

    // Roles.
    for (const prop of ['memberRoleName', 'administratorRoleName'] as const) {
      const name = props[prop];
      if (resolved(name) && !ROLE_NAME_RE.test(name!)) {
        fail(`${prop} must be an IAM role name (1-64 characters of A-Z a-z 0-9 +=,.@_-), got '${name}'`);
      }
    }

    // Delete behaviour.
    if (props.onDelete !== undefined && !Token.isUnresolved(props.onDelete) && !ON_DELETE_VALUES.includes(props.onDelete)) {
      fail(`onDelete must be one of ${ON_DELETE_VALUES.join(', ')}, got '${props.onDelete}'`);
    }
    if (props.closeAccountOnDelete === true) {
      if (!creates) {
        fail('closeAccountOnDelete is only allowed for an account created here (accountName and email), not with accountId');
      }
      if (props.onDelete === OnDelete.RETAIN) {
        fail('closeAccountOnDelete cannot be combined with onDelete: Retain (Retain makes Delete touch nothing)');
      }
    }

    // ServiceTimeout.
    const serviceTimeout = props.serviceTimeout ??
      (creates ? SecurityHubMemberAccount.DEFAULT_SERVICE_TIMEOUT_CREATE : SecurityHubMemberAccount.DEFAULT_SERVICE_TIMEOUT_EXISTING);
    if (!serviceTimeout.isUnresolved()) {
      let seconds: number | undefined;
      try {
        seconds = serviceTimeout.toSeconds();
      } catch {
        fail(`serviceTimeout must be a whole number of seconds, got ${serviceTimeout.toHumanString()}`);
      }
      if (seconds! < 1 || seconds! > 3600) {
        fail(`serviceTimeout must be between 1 and 3600 seconds, got ${seconds} seconds`);
      }
    }

    // The provider, allowed to assume this resource's roles.
    this.provider = props.provider ?? SecurityHubMemberAccountProvider.getOrCreate(this);
    if (props.memberRoleName !== undefined) {
      this.provider.allowRoleName(props.memberRoleName, 'memberRoleName');
    }
    if (props.administratorRoleName !== undefined) {
      this.provider.allowRoleName(props.administratorRoleName, 'administratorRoleName');
    }

    const properties: Record<string, unknown> = {
      AdministratorAccountId: props.administratorAccountId,
    };
    const set = (name: string, value: unknown) => {
      if (value !== undefined) {
        properties[name] = value;
      }
    };
    set('AccountId', props.accountId);
    set('AccountName', props.accountName);
    set('Email', props.email);
    set('ParentId', props.parentId);
    set('Regions', props.regions);
    set('MemberRoleName', props.memberRoleName);
    set('AdministratorRoleName', props.administratorRoleName);
    set('EnableDefaultStandards', props.enableDefaultStandards === undefined ? undefined : String(props.enableDefaultStandards));
    set('OnDelete', props.onDelete);
    set('CloseAccountOnDelete', props.closeAccountOnDelete === undefined ? undefined : String(props.closeAccountOnDelete));

    this.resource = new CustomResource(this, 'Resource', {
      resourceType: 'Custom::SecurityHubMemberAccount',
      serviceToken: this.provider.serviceToken,
      serviceTimeout,
      properties,
      removalPolicy: props.removalPolicy,
    });
    // The provider's function may get this resource's request as soon as the resource is created: it must be able
    // to continue it by then.
    if (Stack.of(this.provider) === Stack.of(this)) {
      this.resource.node.addDependency(this.provider.continuationPolicy);
    }
  }

  /** The member's 12-digit account id (`Fn::GetAtt AccountId`; also the resource's `Ref`). */
  public get accountId(): string {
    return this.resource.getAttString('AccountId');
  }

  /** The administrator's account id (`Fn::GetAtt AdministratorAccountId`). */
  public get administratorAccountId(): string {
    return this.resource.getAttString('AdministratorAccountId');
  }

  /** Comma-separated, sorted regions where the account is an Enabled member (`Fn::GetAtt Regions`). */
  public get regions(): string {
    return this.resource.getAttString('Regions');
  }

  /** `"true"` when this resource created the account, else `"false"` (`Fn::GetAtt AccountCreated`). */
  public get accountCreated(): string {
    return this.resource.getAttString('AccountCreated');
  }
}
