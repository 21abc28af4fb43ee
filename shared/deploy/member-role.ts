/**
 * The member account role of a fleet (issue 27): `shared/deploy/member-account-role.yml`, a
 * CloudFormation template deployable as a StackSet (one stack per member account, in one Region:
 * IAM is global), generated from the same IAM generator as the deployment's own roles
 * (shared/deploy/iam.ts), so the two cannot drift: the member role holds exactly the permissions
 * of the tuners a fleet runs (`ownStatements` of the IOPS, replicas, DynamoDB, proxy,
 * rightsizing and Aurora Serverless v2 functions, tag- or prefix-scoped) plus discovery, in every Region of the account.
 * Its trust policy names only the central account's fleet roles and requires the external id.
 *
 * Regenerate after changing the IAM generator or the tag keys:
 * `npm run member:template` (test/integration/deploy/member-role.test.ts fails while it is stale).
 */
import { stringify } from 'yaml';
import type { Config } from '../config/schema.ts';
import { MEMBER_ROLE_NAME } from '../config/sections/fleet.ts';
import {
  type DeployOptions,
  dedupeSids,
  discoveryStatement,
  KMS_KEY_ARN,
  kmsStatementsOn,
  ownStatements,
  type Statement,
} from './iam.ts';

export const MEMBER_TEMPLATE_PATH = 'shared/deploy/member-account-role.yml';

/** The functions whose permissions a member role holds: the tuners a fleet runs. */
export const MEMBER_FUNCTIONS = [
  'iops-tuner',
  'replica-scaler',
  'dynamodb-tuner',
  'proxy-tuner',
  'rightsizing',
  'serverless-tuner',
] as const;

/** The central role that may assume the member role (the fleet worker runs the tuners). */
export const DEFAULT_CENTRAL_ROLE_NAME = 'db-autopilot-prod-fleet-worker';

const MEMBER_OPTIONS: DeployOptions = {
  service: 'db-autopilot',
  stage: 'member',
  alarmPrefix: 'dbap-',
  dashboardName: 'db-autopilot',
  pauseParameter: '/db-autopilot/paused',
  slackWebhookParameter: '/db-autopilot/slack-webhook-url',
  databaseSecretPrefix: 'db-autopilot/',
  // Weighted read routing writes the central deployment's zones only.
  routingHostedZoneIds: [],
};

/** `${AWS::Region}` becomes `*`: one role serves every Region of its account. */
function anyRegion<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replaceAll('${AWS::Region}', '*')) as T;
}

/** The member role's statements (least privilege, the same as the central tuners' roles). */
export function memberStatements(config: Config): Statement[] {
  const own = MEMBER_FUNCTIONS.flatMap((fn) => ownStatements(fn, config, MEMBER_OPTIONS));
  return anyRegion(dedupeSids([discoveryStatement, ...own]));
}

/** One customer-managed key ARN, as the main deployment's `kmsKeyArns` parameter checks it. */
const KEY_ARN = KMS_KEY_ARN.source.replace(/^\^/, '').replace(/\$$/, '');

/**
 * The member stack's `KmsKeyArns` parameter, whole: empty, or key ARNs separated by commas (no
 * blanks, no aliases). CloudFormation refuses any other value before it changes anything.
 */
export const KMS_KEY_ARNS_PATTERN = `^(${KEY_ARN}(,${KEY_ARN})*)?$`;

/**
 * What the member role needs of the account's customer-managed keys (the stack's `KmsKeyArns`)
 * for the calls it already makes: the main roles' `kmsStatements`, each written only when the
 * parameter lists keys (`HasKmsKeys`).
 */
export function memberKmsStatements(config: Config): Statement[] {
  const keys = { 'Fn::Split': [',', { Ref: 'KmsKeyArns' }] };
  return kmsStatementsOn(memberStatements(config), keys as unknown as Statement['Resource']);
}

export function memberRoleTemplate(config: Config): Record<string, unknown> {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `db-autopilot fleet member role (${MEMBER_ROLE_NAME}): the tuners' least-privilege, tag-scoped permissions, assumed by the central deployment with an external id. Deploy as a StackSet in one Region per account.`,
    Parameters: {
      CentralAccountId: {
        Type: 'String',
        AllowedPattern: '^\\d{12}$',
        Description: 'The account the db-autopilot deployment runs in',
      },
      ExternalId: {
        Type: 'String',
        MinLength: 2,
        MaxLength: 1224,
        AllowedPattern: '^[\\w+=,.@:/-]+$',
        Description: "The fleet's externalId (db-autopilot.yml fleet.externalId)",
      },
      CentralRoleName: {
        Type: 'String',
        Default: DEFAULT_CENTRAL_ROLE_NAME,
        AllowedPattern: '^[\\w+=,.@*-]{1,64}$',
        Description:
          'The central fleet worker role that may assume this role: <service>-<stage>-fleet-worker (a * matches any stage)',
      },
      KmsKeyArns: {
        Type: 'String',
        Default: '',
        AllowedPattern: KMS_KEY_ARNS_PATTERN,
        ConstraintDescription:
          'must list KMS key ARNs (arn:aws:kms:<region>:<account>:key/<key id>; not aliases), separated by commas without spaces',
        Description:
          "The customer-managed KMS keys (key ARNs, comma-separated) this account's databases or their Performance Insights are encrypted with (the deployment's kmsKeyArns); empty: none",
      },
    },
    Conditions: { HasKmsKeys: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'KmsKeyArns' }, ''] }] } },
    Resources: {
      MemberRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: MEMBER_ROLE_NAME,
          MaxSessionDuration: 3600,
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'CentralFleetRolesWithExternalId',
                Effect: 'Allow',
                // The central account, narrowed to its fleet worker role by aws:PrincipalArn (IAM
                // User Guide, "Cross account resource access in IAM"), with the external id.
                Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${CentralAccountId}:root' } },
                Action: 'sts:AssumeRole',
                Condition: {
                  StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } },
                  ArnLike: {
                    'aws:PrincipalArn': {
                      'Fn::Sub': 'arn:${AWS::Partition}:iam::${CentralAccountId}:role/${CentralRoleName}',
                    },
                  },
                },
              },
            ],
          },
          Policies: [
            {
              PolicyName: 'db-autopilot-member-tuners',
              PolicyDocument: {
                Version: '2012-10-17',
                Statement: [
                  ...memberStatements(config),
                  ...memberKmsStatements(config).map((statement) => ({
                    'Fn::If': ['HasKmsKeys', statement, { Ref: 'AWS::NoValue' }],
                  })),
                ],
              },
            },
          ],
          Tags: [{ Key: 'app', Value: 'db-autopilot' }],
        },
      },
    },
    Outputs: { MemberRoleArn: { Value: { 'Fn::GetAtt': ['MemberRole', 'Arn'] } } },
  };
}

const HEADER = `# GENERATED by \`npm run member:template\` from shared/deploy/iam.ts (do not edit by hand).
# db-autopilot fleet member role (issue 27). Deploy in every member account, e.g. as a StackSet:
#   aws cloudformation create-stack-set --stack-set-name db-autopilot-member \\
#     --template-body file://shared/deploy/member-account-role.yml --capabilities CAPABILITY_NAMED_IAM \\
#     --parameters ParameterKey=CentralAccountId,ParameterValue=<central account> \\
#                  ParameterKey=ExternalId,ParameterValue=<fleet.externalId>
#   (and, per account, ParameterKey=KmsKeyArns,ParameterValue=<key ARN>[\\,<key ARN>...] where its
#   databases use customer-managed KMS keys: a stack instance parameter override)
#   aws cloudformation create-stack-instances --stack-set-name db-autopilot-member \\
#     --deployment-targets OrganizationalUnitIds=<ou> --regions us-east-1
# One Region per account: the role is global and serves every Region.
`;

export function memberRoleYaml(config: Config): string {
  // Versions quoted: a YAML 1.1 reader would take 2012-10-17 for a date.
  const text = stringify(memberRoleTemplate(config), { lineWidth: 0 }).replace(
    /^(\s*(?:AWSTemplateFormatVersion|Version): )(\d{4}-\d{2}-\d{2})$/gm,
    "$1'$2'",
  );
  return `${HEADER}${text}`;
}
