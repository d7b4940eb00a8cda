import * as path from 'path';
import { CfnResource, Duration, Fn, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge, acknowledgeWildcardResources } from './nag';
import { packageFile } from './package-files';
import { ACCOUNT_ID_RE, ORGANIZATION_ID_RE, ROLE_NAME_RE } from './patterns';
import { placeholders, substitute, TemplateStatement, templateStatements, TemplateValues } from './template-statements';

/** The line the provider logs for each refused request: `{"level":"ERROR","fields":{"message":"request refused",...}}`. */
const REFUSED_REQUEST_MESSAGE = 'request refused';
/**
 * The namespace of the function's embedded-metric-format lines: one per request (src/protocol/metrics.rs) and one
 * per membership-watch run (src/watch/report.rs), each with the dimension `RequestType`.
 */
const METRICS_NAMESPACE = 'SecurityHubMemberAccount';
/** The `RequestType` values of the requests' lines: CloudFormation's, and events that are no request. */
const REQUEST_TYPES = ['Create', 'Update', 'Delete', 'Malformed', 'Unanswerable'];
/** The `RequestType` of the membership watch's line, and the member statuses it counts each under its own metric. */
const WATCH_REQUEST_TYPE = 'Watch';
const WATCH_STATUSES = ['Resigned', 'Removed', 'Deleted', 'AccountSuspended', 'Missing', 'OtherStatus'];
/** The reserved concurrency of a provider with the organization topic, as provider.yaml's default. */
const DEFAULT_RESERVED_CONCURRENCY = 100;
/** arn:PARTITION:sns:REGION:ACCOUNT:NAME (SNS Developer Guide, topic ARNs). */
const TOPIC_ARN_RE = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w.-]{1,256}$/;

export interface SecurityHubMemberAccountProviderProps {
  /**
   * The Security Hub administrator accounts (12-digit ids) this provider may enroll accounts into
   * (`ADMINISTRATOR_ACCOUNT_IDS`). A request naming any other administrator is refused.
   */
  readonly administratorAccountIds: string[];

  /**
   * The organization (`o-…`). The provider may assume roles only in its accounts (`aws:ResourceOrgID`), plus
   * `memberAccountsOutsideOrganization`; its Organizations permissions are limited to its accounts, OUs and root.
   */
  readonly organizationId: string;

  /**
   * Accounts whose stacks may enroll any account, create accounts and close them (`TRUSTED_ACCOUNT_IDS`).
   * Stacks in other accounts may enroll only their own account.
   *
   * @default - the provider's own account
   */
  readonly trustedAccountIds?: string[];

  /**
   * Member accounts outside the organization (invited members) whose member role names the provider may
   * assume too.
   *
   * @default - none: roles are assumed only in the organization's accounts
   */
  readonly memberAccountsOutsideOrganization?: string[];

  /**
   * The Lambda code. It must contain an executable `bootstrap` for `provided.al2023`.
   *
   * @default - the `bootstrap.zip` this package carries (`SecurityHubMemberAccountProvider.packagedCodePath()`;
   *            in a checkout of the repository, its `dist/bootstrap.zip`, built by `make package`). Synthesis
   *            fails with a clear error when there is none.
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

  /**
   * Also serve the organization's accounts through an SNS topic (`topicServiceToken`), as
   * `cloudformation/provider.yaml` does: the ServiceToken of stacks in other accounts, such as the stacks of a
   * `SecurityHubEnrollmentStackSet`. The topic accepts publishes only from roles named
   * `publisherRoleNamePattern` in the organization's accounts, and is encrypted with a customer managed KMS key
   * that only those roles (through SNS) and this account may use.
   *
   * @default false
   */
  readonly organizationTopic?: boolean;

  /**
   * Name (IAM ARN pattern, `*` and `?` allowed) of the roles in the organization's accounts that may publish
   * requests to the topic. The default is the execution role of service-managed StackSets; for self-managed
   * StackSets use their execution role's name (e.g. `AWSCloudFormationStackSetExecutionRole`). Only with
   * `organizationTopic`.
   *
   * @default 'stacksets-exec-*'
   */
  readonly publisherRoleNamePattern?: string;

  /**
   * Concurrent executions reserved for the function, and its cap, so that a flood of requests (every principal
   * allowed to publish to the organization topic can send them) cannot use up the account's Lambda concurrency.
   * Keep it above a StackSet's `MaxConcurrentCount`: invocations beyond it are throttled and retried by Lambda.
   *
   * @default 100 with `organizationTopic`, no reservation without it (only this account's CloudFormation invokes
   * the function then)
   */
  readonly reservedConcurrency?: number;

  /**
   * SNS topics whose requests are as trusted as direct invocations (`TRUSTED_TOPIC_ARNS`): a trusted account's own
   * topic, whose policy names exact principals. Requests through any other topic, the organization topic
   * included, are untrusted whatever stack they name.
   *
   * @default - none
   */
  readonly trustedTopicArns?: string[];

  /**
   * Let an untrusted request ask for what widens harm (`OnDelete: DisableSecurityHub`, an administrator change,
   * dropped regions) when its stack's template cannot show it: a YAML template, an intrinsic other than `Ref`
   * (`ALLOW_UNVERIFIED_HARMFUL_PROPERTIES`). A value the template shows otherwise is refused anyway.
   *
   * @default false
   */
  readonly allowUnverifiedHarmfulProperties?: boolean;

  /**
   * Run the membership watch (docs/watch.md): an EventBridge schedule invokes the function, which lists each
   * administrator's members and reports those this provider enrolled that are no longer Enabled (the log's
   * "member no longer enabled" lines and the `DepartedMembers` metric, alarmed by `addAlarms`).
   *
   * @default true
   */
  readonly membershipWatch?: boolean;

  /**
   * How often the membership watch runs.
   *
   * @default events.Schedule.rate(Duration.hours(1))
   */
  readonly watchSchedule?: events.Schedule;

  /**
   * The membership watch also joins a member that left again, in the regions it left, as a Create would
   * (`WATCH_HEALING`). Closed or suspended accounts are only reported.
   *
   * @default false
   */
  readonly watchHealing?: boolean;
}

/** The provider's alarms (`addAlarms`). */
export interface ProviderAlarms {
  /** Sum of refused requests (the provider's "request refused" log lines) per 5 minutes, at least 1. */
  readonly refusedRequests: cloudwatch.Alarm;
  /** A record in the failed-invocations queue (`failedInvocationsQueue`). */
  readonly failedInvocations: cloudwatch.Alarm;
  /**
   * The same alarm as `failedInvocations`.
   *
   * @deprecated use `failedInvocations`: the queue is the function's on-failure destination, no dead-letter queue.
   */
  readonly deadLetters: cloudwatch.Alarm;
  /** A membership-watch run found members this provider enrolled that are no longer Enabled (`DepartedMembers`). */
  readonly departedMembers: cloudwatch.Alarm;
}

/** The kinds of role names `allowRoleName` knows: member roles are also assumed outside the organization. */
export enum RoleKind {
  /** A role assumed in member accounts (also in `memberAccountsOutsideOrganization`). */
  MEMBER = 'member',
  /** A role assumed in administrator accounts (only in the organization). */
  ADMINISTRATOR = 'administrator',
}

/** provider.yaml's parameter for the role names of each kind: its statements' resources that use it are ARN patterns. */
const ROLE_NAME_PARAMETERS: Record<RoleKind, string> = {
  [RoleKind.MEMBER]: 'MemberRoleName',
  [RoleKind.ADMINISTRATOR]: 'AdministratorRoleName',
};
const ROLE_NAME_PARAMETER_NAMES = Object.values(ROLE_NAME_PARAMETERS);

/**
 * provider.yaml's logical id of the failed-invocations queue. The CDK provider makes the template's statements on it
 * without their Sid: tests/test_templates.py compares the statements that have one by their resources, and each
 * template's queue is its own.
 */
const QUEUE_LOGICAL_ID = 'DeadLetterQueue';

/** The provider's props, checked, with their defaults. */
interface Settings {
  readonly maxConcurrentRegions: number;
  readonly administratorAccountIds: string[];
  readonly trustedAccountIds?: string[];
  readonly outsideAccountIds?: string[];
  readonly reservedConcurrency?: number;
}

/** A statement on role names: `allowRoleName` adds each of its `patterns` for each role name, once. */
interface RoleNameStatement {
  readonly statement: iam.PolicyStatement;
  readonly patterns: string[];
  readonly added: Set<string>;
}

/** The conditions on the organization topic's publishers, in the topic's policy and in its key's. */
interface Publishers {
  readonly StringEquals: Record<string, string>;
  readonly ArnLike: Record<string, string>;
}

/** A checkov suppression on a resource of the synthesized template (checkov reads `Metadata.checkov.skip`). */
function skipCheckov(resource: CfnResource, skips: Array<{ id: string; comment: string }>): void {
  resource.addMetadata('checkov', { skip: skips });
}

/**
 * The Lambda function behind `Custom::SecurityHubMemberAccount` resources: one per stack, shared by every
 * `SecurityHubMemberAccount` of the stack (use `getOrCreate`).
 *
 * Its role has the same statements as `cloudformation/provider.yaml`'s: the Organizations calls that create,
 * tag, find, move and close accounts (those with a resource type on this organization's ARNs only);
 * `sts:AssumeRole` only on the member and administrator role names and only in the organization's accounts
 * (plus `memberAccountsOutsideOrganization`); reading the requesting stacks of its own account;
 * `account:ListRegions` on its own account; the Security Hub calls on its own hub; sending to its
 * failed-invocations queue; writing to its own log group; invoking itself (`lambda:InvokeFunction` on its own ARN
 * only, for its continuations). No action has a wildcard. They are the template's own: the library builds them from
 * `provider-statements.json`, which scripts/cdk-provider-statements.py generates from the template.
 */
export class SecurityHubMemberAccountProvider extends Construct {
  /** The construct id of the singleton, directly under the stack. */
  public static readonly SINGLETON_ID = 'SecurityHubMemberAccountProvider';

  /** The role that AWS Organizations creates in every account it creates, and the default role names. */
  public static readonly DEFAULT_ROLE_NAME = 'OrganizationAccountAccessRole';

  /** The default `publisherRoleNamePattern`: the execution roles of service-managed StackSets. */
  public static readonly DEFAULT_PUBLISHER_ROLE_NAME_PATTERN = 'stacksets-exec-*';

  /**
   * The Lambda package this package carries (`assets/bootstrap.zip`), resolved relative to the package itself;
   * in a checkout of the repository, its `dist/bootstrap.zip` (`make package`). `undefined` when there is none.
   */
  public static packagedCodePath(): string | undefined {
    return packageFile('bootstrap.zip', path.join('dist', 'bootstrap.zip'));
  }

  /**
   * The stack's provider: created on first call (with `props`, which are required then), returned as is
   * afterwards. Passing `props` again once it exists is an error, because they would be silently ignored.
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
    if (props === undefined) {
      throw new Error(
        `SecurityHubMemberAccountProvider.getOrCreate: stack ${stack.stackName} has no provider yet; create it first ` +
          'with SecurityHubMemberAccountProvider.getOrCreate(stack, { administratorAccountIds, organizationId, ... }), ' +
          'or pass provider to the SecurityHubMemberAccount',
      );
    }
    return new SecurityHubMemberAccountProvider(stack, SecurityHubMemberAccountProvider.SINGLETON_ID, props);
  }

  /**
   * The ServiceToken of the custom resources: the function's ARN. A custom resource of this stack that uses it
   * should depend on `continuationPolicy` (`SecurityHubMemberAccount` does).
   */
  public readonly serviceToken: string;
  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  /**
   * The role's policy that lets the function invoke itself, `lambda:InvokeFunction` on its own ARN only: its
   * continuations, when a request's work is not done near the Lambda deadline. Created after the function (it
   * names it), so resources that send the function requests depend on it.
   */
  public readonly continuationPolicy: iam.Policy;
  public readonly logGroup: logs.LogGroup;
  /**
   * The function's on-failure destination: the records of asynchronous invocations (SNS deliveries, the provider's
   * own continuations, the membership watch) that still failed after Lambda's retries, each with the event and the
   * function's error. The function answered CloudFormation nowhere for them.
   */
  public readonly failedInvocationsQueue: sqs.Queue;
  /**
   * The ServiceToken for stacks in the organization's other accounts: the topic's ARN (`organizationTopic`).
   * Pass it to them as a parameter: `Fn::ImportValue` does not cross accounts.
   */
  public readonly topicServiceToken?: string;
  /** The organization topic (`organizationTopic`). */
  public readonly topic?: sns.Topic;
  /** The customer managed key that encrypts the organization topic (`organizationTopic`). */
  public readonly topicKey?: kms.Key;

  private alarms?: ProviderAlarms;
  private dashboard?: cloudwatch.Dashboard;
  /** What provider.yaml's `${...}` stand for here (provider-statements.json's statements use them). */
  private readonly templateValues: TemplateValues;
  /** The role's statements on role names, to which `allowRoleName` adds. */
  private readonly roleNameStatements: RoleNameStatement[] = [];

  constructor(scope: Construct, id: string, props: SecurityHubMemberAccountProviderProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const settings = SecurityHubMemberAccountProvider.checkedSettings(props);

    this.logGroup = this.createLogGroup(props.logRetention);
    this.failedInvocationsQueue = this.createFailedInvocationsQueue();
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Custom::SecurityHubMemberAccount provider',
    });
    this.templateValues = {
      'AWS::Partition': stack.partition,
      'AWS::AccountId': stack.account,
      OrganizationId: props.organizationId,
      MemberAccountsOutsideOrganization: settings.outsideAccountIds,
      'LogGroup.Arn': this.logGroup.logGroupArn,
      [`${QUEUE_LOGICAL_ID}.Arn`]: this.failedInvocationsQueue.queueArn,
    };
    // provider.yaml's statements (provider-statements.json), all in the role's default policy but those that name
    // the function: the function waits for that policy, so they would make a dependency cycle (continuationPolicy).
    const statements = templateStatements();
    for (const statement of statements.filter((s) => !s.uses('Function'))) {
      this.addTemplateStatement(statement);
    }
    this.allowRoleName(props.memberRoleName ?? SecurityHubMemberAccountProvider.DEFAULT_ROLE_NAME, 'memberRoleName', RoleKind.MEMBER);
    this.allowRoleName(props.administratorRoleName ?? SecurityHubMemberAccountProvider.DEFAULT_ROLE_NAME, 'administratorRoleName', RoleKind.ADMINISTRATOR);

    this.function = this.createFunction(props, settings);
    if (props.membershipWatch !== false) {
      this.addMembershipWatch(props.watchSchedule, props.administratorRoleName);
    } else if (props.watchSchedule !== undefined || props.watchHealing === true) {
      throw new Error('watchSchedule and watchHealing are only for membershipWatch: true');
    }
    // As provider.yaml's AsyncInvokeConfig: an on-failure destination (its records hold the request and the
    // response), not a dead-letter queue as well, which would receive each failure a second time. L1, so that the
    // role's only permission on the queue is the template's statement (sqs:SendMessage).
    new lambda.CfnEventInvokeConfig(this, 'AsyncInvokeConfig', {
      functionName: this.function.functionName,
      qualifier: '$LATEST',
      maximumRetryAttempts: 2,
      destinationConfig: { onFailure: { destination: this.failedInvocationsQueue.queueArn } },
    });

    // Continuations: when a request's work is not done near the Lambda deadline, the function invokes itself
    // asynchronously (Lambda Invoke, InvocationType Event) on the ARN its invocation context names, and the new
    // invocation resumes the work. Only this function, by its unqualified ARN (the one CloudFormation and SNS
    // invoke). A policy of its own, as provider.yaml's ContinuationPolicy. No request reaches the function before
    // this policy exists: the stack's custom resources and StackSets depend on it.
    const withFunction = { ...this.templateValues, 'Function.Arn': this.function.functionArn };
    this.continuationPolicy = new iam.Policy(this, 'ContinuationPolicy', {
      roles: [this.role],
      statements: statements.filter((s) => s.uses('Function')).flatMap((s) => s.toPolicyStatement(withFunction) ?? []),
    });
    this.serviceToken = this.function.functionArn;
    this.acknowledgeWildcardResources();

    if (props.organizationTopic === true) {
      const publishers = this.topicPublishers(props.organizationId, props.publisherRoleNamePattern);
      this.topicKey = this.createTopicKey(publishers);
      this.topic = this.createTopic(this.topicKey, publishers);
      this.topicServiceToken = this.topic.topicArn;
    } else if (props.publisherRoleNamePattern !== undefined) {
      throw new Error('publisherRoleNamePattern is only for organizationTopic: true');
    }
  }

  /**
   * @deprecated use `failedInvocationsQueue`: the queue is the function's on-failure destination, no dead-letter
   * queue.
   */
  public get deadLetterQueue(): sqs.Queue {
    return this.failedInvocationsQueue;
  }

  /**
   * Alarms on refused requests (the provider's "request refused" log lines, through a metric filter) and on
   * records in the failed-invocations queue, as `cloudformation/provider.yaml` has them; add actions with
   * `addAlarmAction`. Not created by default. Idempotent.
   */
  public addAlarms(): ProviderAlarms {
    if (this.alarms) {
      return this.alarms;
    }
    const stack = Stack.of(this);
    // One JSON line per refused request; a JSON metric filter pattern selects it by property (CloudWatch Logs
    // User Guide, "Filter pattern syntax for metric filters").
    const refused = this.logGroup.addMetricFilter('RefusedRequestsMetricFilter', {
      filterPattern: logs.FilterPattern.stringValue('$.fields.message', '=', REFUSED_REQUEST_MESSAGE),
      metricNamespace: `SecurityHubMemberAccount/${stack.stackName}`,
      metricName: 'RefusedRequests',
      metricValue: '1',
      defaultValue: 0,
      unit: cloudwatch.Unit.COUNT,
    });
    const refusedRequests = refused.metric({ statistic: 'Sum', period: Duration.minutes(5) }).createAlarm(this, 'RefusedRequestsAlarm', {
      alarmDescription:
        'The Custom::SecurityHubMemberAccount provider refused a request (not authorized, or not a real ' +
        'CloudFormation request): see the "request refused" lines in the function\'s log group.',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // The construct id is provider.yaml's logical id (DeadLetterAlarm); it stays, so that deployed alarms stay.
    const failedInvocations = this.failedInvocationsQueue
      .metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) })
      .createAlarm(this, 'DeadLetterAlarm', {
        alarmDescription:
          'A request to the Custom::SecurityHubMemberAccount provider failed without an answer to CloudFormation ' +
          "(after Lambda's retries); its invocation record is in the on-failure destination queue.",
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    // As provider.yaml's DepartedMembersAlarm: each watch run's DepartedMembers; between runs there is no data,
    // and the alarm keeps its state.
    const departedMembers = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: 'DepartedMembers',
      dimensionsMap: { RequestType: WATCH_REQUEST_TYPE },
      statistic: 'Maximum',
      period: Duration.minutes(5),
    }).createAlarm(this, 'DepartedMembersAlarm', {
      alarmDescription:
        'The membership watch found members that the Custom::SecurityHubMemberAccount provider enrolled and that are ' +
        'no longer Enabled: see the "member no longer enabled" lines in the function\'s log group.',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    this.alarms = { refusedRequests, failedInvocations, deadLetters: failedInvocations, departedMembers };
    return this.alarms;
  }

  /**
   * A CloudWatch dashboard of the provider, as `cloudformation/provider.yaml`'s: its alarms (`addAlarms`, which
   * this calls), requests by type and by status, failed requests, failed regions, throttled calls, duration p50 and
   * p99, refused requests, the function's and the failed-invocations queue's metrics, and the members the membership
   * watch found no longer Enabled. The request metrics are those of the function's embedded-metric-format lines
   * (namespace `SecurityHubMemberAccount`, dimension `RequestType`); the lines' `Status` is no dimension, so
   * requests by status come from a Logs Insights query over the log group. Not created by default. Idempotent.
   *
   * @param dashboardName the dashboard's name (default: generated by CloudFormation)
   */
  public addDashboard(dashboardName?: string): cloudwatch.Dashboard {
    if (this.dashboard) {
      return this.dashboard;
    }
    const alarms = this.addAlarms();
    const period = Duration.minutes(5);
    const emitted = (metricName: string, requestType: string, statistic: string, label = requestType) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { RequestType: requestType }, statistic, period, label });
    const cloudFormationTypes = REQUEST_TYPES.slice(0, 3);
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          `## Custom::SecurityHubMemberAccount provider: ${Stack.of(this).stackName}\n` +
          `One metrics line per request and per membership-watch run (namespace \`${METRICS_NAMESPACE}\`, by ` +
          "`RequestType`); refused requests from the function's `request refused` log lines; the provider's alarms.",
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [alarms.refusedRequests, alarms.failedInvocations, alarms.departedMembers], width: 24, height: 3 }));
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Requests by type',
        left: REQUEST_TYPES.map((type) => emitted('Duration', type, 'SampleCount')),
        stacked: true,
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Failed requests by type (FAILED, or not answered)',
        left: REQUEST_TYPES.map((type) => emitted('Failed', type, 'Sum')),
        stacked: true,
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.LogQueryWidget({
        title: 'Requests (and watch runs) by type and status',
        logGroupNames: [this.logGroup.logGroupName],
        queryLines: ['filter ispresent(Status) and ispresent(RequestType)', 'stats count(*) as Requests by RequestType, Status', 'sort RequestType, Status'],
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Duration p50 and p99 (ms)',
        left: cloudFormationTypes.flatMap((type) => [emitted('Duration', type, 'p50', `${type} p50`), emitted('Duration', type, 'p99', `${type} p99`)]),
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Failed regions', left: cloudFormationTypes.map((type) => emitted('FailedRegions', type, 'Sum')), stacked: true, width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Throttled AWS calls (retried)',
        left: cloudFormationTypes.map((type) => emitted('ThrottledCalls', type, 'Sum')),
        stacked: true,
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'Refused requests', left: [alarms.refusedRequests.metric], width: 8 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Function',
        left: ['Invocations', 'Errors', 'Throttles', 'DestinationDeliveryFailures'].map((name) => this.function.metric(name, { statistic: 'Sum', period })),
        right: [this.function.metric('ConcurrentExecutions', { statistic: 'Maximum', period })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Failed invocations queue (on-failure destination)',
        left: [this.failedInvocationsQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period })],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Members no longer Enabled (membership watch)',
        left: [
          emitted('DepartedMembers', WATCH_REQUEST_TYPE, 'Maximum', 'all'),
          ...WATCH_STATUSES.map((status) => emitted(status, WATCH_REQUEST_TYPE, 'Maximum', status)),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Membership watch: healing and regions not read',
        left: [
          emitted('Healed', WATCH_REQUEST_TYPE, 'Sum', 'healed'),
          emitted('HealFailed', WATCH_REQUEST_TYPE, 'Sum', 'heal failed'),
          emitted('UnreadRegions', WATCH_REQUEST_TYPE, 'Maximum', 'regions not read'),
          emitted('ThrottledCalls', WATCH_REQUEST_TYPE, 'Sum', 'throttled calls'),
        ],
        width: 12,
      }),
    );
    this.dashboard = dashboard;
    return dashboard;
  }

  /**
   * Let the provider assume `roleName` (`arn:${Partition}:iam::*:role/<roleName>`) in the organization's
   * accounts, and, for a member role name, in `memberAccountsOutsideOrganization`. Called by
   * `SecurityHubMemberAccount` for its role names; idempotent.
   *
   * @param prop the prop name to quote in the error if the name is not a valid IAM role name
   * @param kind which role the name is for (default: `RoleKind.ADMINISTRATOR` for the prop `administratorRoleName`, else `RoleKind.MEMBER`)
   */
  public allowRoleName(roleName: string, prop = 'roleName', kind?: RoleKind): void {
    if (!Token.isUnresolved(roleName) && !ROLE_NAME_RE.test(roleName)) {
      throw new Error(`${prop} must be an IAM role name (1-64 characters of A-Z a-z 0-9 +=,.@_-), got '${roleName}'`);
    }
    // provider.yaml's role-name parameter for this kind: its statements' resources that use it are ARN patterns.
    const parameter = ROLE_NAME_PARAMETERS[kind ?? (prop === 'administratorRoleName' ? RoleKind.ADMINISTRATOR : RoleKind.MEMBER)];
    for (const { statement, patterns, added } of this.roleNameStatements) {
      for (const pattern of patterns.filter((p) => placeholders(p).includes(parameter))) {
        const arn = substitute(pattern, { ...this.templateValues, [parameter]: roleName }) as string;
        if (!added.has(arn)) {
          added.add(arn);
          statement.addResources(arn);
        }
      }
    }
  }

  /** The props checked, with their defaults. */
  private static checkedSettings(props: SecurityHubMemberAccountProviderProps): Settings {
    const maxConcurrentRegions = props.maxConcurrentRegions ?? 64;
    if (!Token.isUnresolved(maxConcurrentRegions) && (!Number.isInteger(maxConcurrentRegions) || maxConcurrentRegions < 1)) {
      throw new Error(`maxConcurrentRegions must be a positive integer, got ${maxConcurrentRegions}`);
    }
    const administratorAccountIds = SecurityHubMemberAccountProvider.accountIds(props.administratorAccountIds, 'administratorAccountIds');
    if (administratorAccountIds === undefined) {
      throw new Error('administratorAccountIds must list at least one 12-digit account id');
    }
    const trustedAccountIds = SecurityHubMemberAccountProvider.accountIds(props.trustedAccountIds, 'trustedAccountIds');
    const outsideAccountIds = SecurityHubMemberAccountProvider.accountIds(
      props.memberAccountsOutsideOrganization,
      'memberAccountsOutsideOrganization',
    );
    const reservedConcurrency = props.reservedConcurrency ?? (props.organizationTopic === true ? DEFAULT_RESERVED_CONCURRENCY : undefined);
    if (reservedConcurrency !== undefined && !Token.isUnresolved(reservedConcurrency) && (!Number.isInteger(reservedConcurrency) || reservedConcurrency < 1)) {
      throw new Error(`reservedConcurrency must be a positive integer, got ${reservedConcurrency}`);
    }
    for (const topic of props.trustedTopicArns ?? []) {
      if (!Token.isUnresolved(topic) && !TOPIC_ARN_RE.test(topic)) {
        throw new Error(`trustedTopicArns must be SNS topic ARNs, got '${topic}'`);
      }
    }
    const organizationId = props.organizationId;
    if (!Token.isUnresolved(organizationId) && !ORGANIZATION_ID_RE.test(organizationId ?? '')) {
      throw new Error(`organizationId must be an organization id (o- and 10-32 lowercase letters or digits), got '${organizationId}'`);
    }
    return { maxConcurrentRegions, administratorAccountIds, trustedAccountIds, outsideAccountIds, reservedConcurrency };
  }

  /** A list of 12-digit account ids (checked unless tokens); undefined when not given or empty. */
  private static accountIds(ids: string[] | undefined, prop: string): string[] | undefined {
    if (ids === undefined || (!Token.isUnresolved(ids) && ids.length === 0)) {
      return undefined;
    }
    if (!Token.isUnresolved(ids)) {
      const bad = ids.filter((id) => !Token.isUnresolved(id) && !ACCOUNT_ID_RE.test(id));
      if (bad.length > 0) {
        throw new Error(`${prop} must be 12-digit account ids, got ${bad.map((id) => `'${id}'`).join(', ')}`);
      }
      if (new Set(ids).size !== ids.length) {
        throw new Error(`${prop} lists an account more than once: ${ids.join(',')}`);
      }
    }
    return ids;
  }

  private static defaultCode(): lambda.Code {
    const packaged = SecurityHubMemberAccountProvider.packagedCodePath();
    if (packaged === undefined) {
      throw new Error(
        'SecurityHubMemberAccountProvider: this package carries no Lambda package (assets/bootstrap.zip, or ' +
          'dist/bootstrap.zip in a checkout of the repository). Run `make package` at the repository root, or pass `code`.',
      );
    }
    return lambda.Code.fromAsset(packaged);
  }

  private createLogGroup(retention: logs.RetentionDays | undefined): logs.LogGroup {
    const logGroup = new logs.LogGroup(this, 'LogGroup', { retention: retention ?? logs.RetentionDays.ONE_YEAR });
    skipCheckov(logGroup.node.defaultChild as CfnResource, [
      {
        id: 'CKV_AWS_158',
        comment:
          'Encrypted at rest by CloudWatch Logs itself (AES-GCM, the default); the log lines hold account, stack and ' +
          'request ids, no secrets and no response URLs. (provider.yaml uses its topic key here too; the CDK ' +
          "provider's topic is optional, and a key policy naming this log group would make a dependency cycle.)",
      },
    ]);
    return logGroup;
  }

  /**
   * The records of failed asynchronous invocations land here, through the function's on-failure destination, sent
   * with the execution role (Lambda Developer Guide, "Capturing records of Lambda asynchronous invocations"; the
   * role gets sqs:SendMessage on this queue only). Encrypted with the AWS managed key for SQS, whose key policy lets
   * this account's principals use it through SQS: no KMS permission needed (SQS Developer Guide, "Amazon SQS Key
   * management").
   */
  private createFailedInvocationsQueue(): sqs.Queue {
    // The construct id is from when the queue was the function's dead-letter queue; it stays, so that stacks
    // deployed before keep their queue (a new id would replace it, and drop its messages).
    const queue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    // No queue policy, as in provider.yaml (and an AWS::SQS::QueuePolicy is what moto's CloudFormation engine,
    // which the project's tests deploy this on, cannot describe).
    acknowledge(
      queue,
      'AwsSolutions-SQS3',
      "The queue is itself the last stop: the function's on-failure destination for asynchronous invocations that " +
        'failed after all retries; a dead-letter queue behind it would hold nothing that is not already here.',
    );
    acknowledge(
      queue,
      'AwsSolutions-SQS4',
      'The queue has no resource policy: only principals of this account that IAM allows reach it (Lambda sends with ' +
        'the execution role), and the AWS SDKs and Lambda call SQS over TLS.',
    );
    return queue;
  }

  /**
   * One of provider.yaml's statements, in the role's default policy. Those on role names start without the
   * role-name resources, which `allowRoleName` adds; those that use a value not given (no
   * `memberAccountsOutsideOrganization`) are not made, as the template makes them only under a condition.
   */
  private addTemplateStatement(template: TemplateStatement): void {
    const patterns = template.resources.filter((r) => placeholders(r).some((name) => ROLE_NAME_PARAMETER_NAMES.includes(name)));
    const statement = template.toPolicyStatement(this.templateValues, {
      withSid: !template.uses(QUEUE_LOGICAL_ID),
      resources: (resource) => !patterns.includes(resource),
    });
    if (statement === undefined) {
      return;
    }
    if (patterns.length > 0) {
      this.roleNameStatements.push({ statement, patterns, added: new Set() });
    }
    this.role.addToPolicy(statement);
  }

  private createFunction(props: SecurityHubMemberAccountProviderProps, settings: Settings): lambda.Function {
    const stack = Stack.of(this);
    const { maxConcurrentRegions, trustedAccountIds, reservedConcurrency } = settings;
    const fn = new lambda.Function(this, 'Function', {
      description: 'Custom::SecurityHubMemberAccount provider (Security Hub member enrollment)',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code: props.code ?? SecurityHubMemberAccountProvider.defaultCode(),
      architecture: props.architecture ?? lambda.Architecture.X86_64,
      memorySize: 256,
      timeout: Duration.minutes(15),
      role: this.role,
      logGroup: this.logGroup,
      // As provider.yaml's ReservedConcurrency: a cap, so that a flood cannot take the account's concurrency.
      reservedConcurrentExecutions: reservedConcurrency,
      environment: {
        ADMINISTRATOR_ACCOUNT_IDS: Fn.join(',', settings.administratorAccountIds),
        // Set explicitly (not left to the provider's default): none given means this account.
        TRUSTED_ACCOUNT_IDS: trustedAccountIds === undefined ? stack.account : Fn.join(',', trustedAccountIds),
        MAX_CONCURRENT_REGIONS: Token.isUnresolved(maxConcurrentRegions) ? Token.asString(maxConcurrentRegions) : String(maxConcurrentRegions),
        RUST_LOG: props.logLevel ?? 'info',
        ...(props.trustedTopicArns?.length ? { TRUSTED_TOPIC_ARNS: Fn.join(',', props.trustedTopicArns) } : {}),
        ...(props.allowUnverifiedHarmfulProperties === true ? { ALLOW_UNVERIFIED_HARMFUL_PROPERTIES: 'true' } : {}),
        ...(props.watchHealing === true ? { WATCH_HEALING: 'true' } : {}),
      },
    });
    skipCheckov(fn.node.defaultChild as CfnResource, [
      {
        id: 'CKV_AWS_116',
        comment:
          'Failed asynchronous invocations are kept by the on-failure destination (the encrypted queue), whose ' +
          'records hold the request and the response; a dead-letter queue as well would receive each failure twice.',
      },
      {
        id: 'CKV_AWS_117',
        comment:
          'Not in a VPC: the function calls only public AWS endpoints (STS, Organizations, Account, CloudFormation, ' +
          'Security Hub in every region, S3 response URLs); in a VPC it would need a NAT gateway or an interface ' +
          'endpoint per service and region, and it serves no VPC resource.',
      },
      {
        id: 'CKV_AWS_173',
        comment:
          'The environment holds no secrets, only account ids, a region count and a log filter; Lambda encrypts ' +
          'environment variables at rest with an AWS managed key anyway.',
      },
      ...(reservedConcurrency === undefined
        ? [{
          id: 'CKV_AWS_115',
          comment:
            'No reserved concurrency without the organization topic: only this account\'s CloudFormation invokes the ' +
            "function (IAM guards lambda:InvokeFunction), and a reservation takes from the account's unreserved pool, " +
            'which Lambda keeps at 100 or more (Lambda Developer Guide, "Configuring reserved concurrency for a ' +
            'function"), so it fails to deploy in accounts with a low concurrency quota. Set reservedConcurrency to cap it.',
        }]
        : []),
    ]);
    return fn;
  }

  /**
   * The membership watch, as provider.yaml's WatchSchedule: the same function invoked directly by an EventBridge
   * schedule with an event of its own shape (src/watch/event.rs); the target adds the function's permission for
   * this rule only.
   */
  private addMembershipWatch(schedule: events.Schedule | undefined, administratorRoleName: string | undefined): void {
    new events.Rule(this, 'WatchSchedule', {
      description: 'Membership watch of the Custom::SecurityHubMemberAccount provider',
      schedule: schedule ?? events.Schedule.rate(Duration.hours(1)),
      targets: [
        new targets.LambdaFunction(this.function, {
          event: events.RuleTargetInput.fromObject({
            SecurityHubMemberAccountWatch: {
              AdministratorRoleName: administratorRoleName ?? SecurityHubMemberAccountProvider.DEFAULT_ROLE_NAME,
            },
          }),
        }),
      ],
    });
  }

  /**
   * The wildcards of the role's statements are what the design needs, each for its reason (cdk-nag
   * AwsSolutions-IAM5 reports every wildcard resource; these are acknowledged for cdk-nag users).
   */
  private acknowledgeWildcardResources(): void {
    const anyRegionOwnAccount =
      'Only this account: the resource covers every region, so the region is "*"; the account is the provider\'s own.';
    acknowledgeWildcardResources(this.role.node.findChild('DefaultPolicy') as iam.Policy, {
      OrganizationsUnscoped:
        'CreateAccount, DescribeCreateAccountStatus, ListCreateAccountStatus and ListAccounts have no resource type: IAM ' +
        'accepts only "*" for them (Service Authorization Reference, AWS Organizations).',
      OrganizationsThisOrganization:
        'Only the accounts, OUs and roots of this organization: the management account id in these ARNs is "*" because the ' +
        'organization id already pins it, and the accounts acted on are not known in advance.',
      AssumeRolesInOrganization:
        'Members are not known in advance, so the account of the role ARN is "*"; limited to the named roles and, by ' +
        'aws:ResourceOrgID, to the accounts of this organization.',
      AssumeMemberRolesOutsideOrganization:
        'The account of the role ARN is "*" because IAM cannot build ARNs from a list; limited to the member role names ' +
        'and, by aws:ResourceAccount, to the listed accounts.',
      ReadRequestingStacks:
        'Any stack of this account, in any region, may be the one that sends a request; the provider reads only that ' +
        'stack. Stack ARNs end in an id CloudFormation generates.',
      SecurityHubAdministratorIsThisAccount: anyRegionOwnAccount,
      SecurityHubMemberIsThisAccount: anyRegionOwnAccount,
    });
  }

  /** The organization topic's publishers: the conditions of the topic's policy and of its key's. */
  private topicPublishers(organizationId: string, publisherRoleNamePattern: string | undefined): Publishers {
    const pattern = publisherRoleNamePattern ?? SecurityHubMemberAccountProvider.DEFAULT_PUBLISHER_ROLE_NAME_PATTERN;
    if (!Token.isUnresolved(pattern) && !/^[\w+=,.@/*?-]{1,512}$/.test(pattern)) {
      throw new Error(`publisherRoleNamePattern must be an IAM role name pattern (A-Z a-z 0-9 +=,.@_-/ * ?), got '${pattern}'`);
    }
    return {
      StringEquals: { 'aws:PrincipalOrgID': organizationId },
      ArnLike: { 'aws:PrincipalArn': `arn:${Stack.of(this).partition}:iam::*:role/${pattern}` },
    };
  }

  /**
   * The organization topic's key. A customer managed key, because the publishers in other accounts need the key
   * policy's permission and an AWS managed key's policy cannot be changed (KMS Developer Guide, "AWS managed keys").
   * The account administers it through IAM (CDK's default key policy, as provider.yaml's AccountAdministersTheKey).
   */
  private createTopicKey(publishers: Publishers): kms.Key {
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Custom::SecurityHubMemberAccount provider - its SNS topic',
      enableKeyRotation: true,
    });
    // Publishers to an encrypted topic need kms:GenerateDataKey* and kms:Decrypt on its key (SNS Developer
    // Guide, "Managing Amazon SNS encryption keys and costs"): exactly the topic's publishers, only through SNS.
    const stack = Stack.of(this);
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'TopicPublishersEncryptThroughSns',
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: { ...publishers.StringEquals, 'kms:ViaService': `sns.${stack.region}.${stack.urlSuffix}` },
          ArnLike: publishers.ArnLike,
        },
      }),
    );
    skipCheckov(key.node.defaultChild as CfnResource, [
      {
        id: 'CKV_AWS_33',
        comment:
          'The publishers\' statement has Principal "*" because the publishers are roles in accounts not known in ' +
          'advance; it is limited by aws:PrincipalOrgID (this organization), aws:PrincipalArn ' +
          '(publisherRoleNamePattern) and kms:ViaService (only through SNS in this region), the same principals ' +
          'that the topic policy lets publish.',
      },
    ]);
    return key;
  }

  /**
   * The organization topic: only the StackSet execution roles of the organization's accounts may publish
   * (aws:PrincipalArn is the role's ARN for a session of that role: IAM User Guide, "AWS global condition context
   * keys"). The provider unwraps SNS-wrapped events; the subscription adds the Lambda permission for this topic.
   */
  private createTopic(key: kms.Key, publishers: Publishers): sns.Topic {
    const topic = new sns.Topic(this, 'Topic', { masterKey: key, enforceSSL: true });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'PublishFromStackSetExecutionRoles',
        principals: [new iam.AnyPrincipal()],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: publishers,
      }),
    );
    topic.addSubscription(new subscriptions.LambdaSubscription(this.function));
    return topic;
  }
}
