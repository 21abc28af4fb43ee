import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../../shared/config/load.ts';
import { FUNCTIONS, roleLogicalId } from '../../../shared/deploy/iam.ts';
import { zipEntries } from '../../../shared/deploy/zip.ts';
import { checkDefinition } from '../../../shared/fleet/asl-check.ts';
import { STATE_WRITERS } from '../../../shared/state/keys.ts';
import { stateTableDefinition, stateTableTtl } from '../../../shared/state/table-definition.ts';
import {
  checkPolicies,
  checkTrust,
  type Json,
  type PolicyStatement,
  resolveArn,
  rolePolicies,
  TEMPLATE_RESOURCE,
  writeActionsOnDatabasesAlarmsRouting,
} from './iam-check.ts';

/**
 * Builds the deployment package offline (`osls package`, bundling once) and checks the generated
 * CloudFormation template: every function packaged, one least-privilege role each, the state
 * table, the topic, the schedules and the alarm rule, the VPC settings, no secret values; and an
 * invalid configuration makes packaging fail with the path and line of the problem.
 */

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
// One package takes about 2.5 min on a busy 2-core machine (most of it bundling); the apply-mode
// package reuses the bundles and takes seconds more than osls's start.
const PACKAGE_TIMEOUT_MS = 420_000;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function osls(args: string[], tag = 'main', env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(ROOT, 'node_modules/osls/bin/serverless.js'), ...args],
      {
        cwd: ROOT,
        timeout: PACKAGE_TIMEOUT_MS - 10_000,
        maxBuffer: 32 * 1024 * 1024,
        // Offline: no credentials are needed to package; keep the framework from phoning home.
        env: {
          ...process.env,
          SLS_TELEMETRY_DISABLED: '1',
          SLS_NOTIFICATIONS_MODE: 'off',
          SLS_DEPRECATION_DISABLE: '*',
          // A work folder of its own (shared/deploy/esbuild.config.cjs), removed after the build.
          DBAP_ESBUILD_WORK_FOLDER: `.esbuild/test-${process.pid}-${tag}-${Date.now()}`,
          ...env,
        },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: unknown };

interface Template {
  Resources: Record<string, Resource>;
}

// serverless.yml uses CloudFormation short tags; they only need to parse here.
const cfnTags = ['!Ref', '!GetAtt', '!Sub', '!Join', '!If', '!Equals', '!Select', '!Split'].map((tag) => ({
  tag,
  resolve: (value: string) => ({ [tag.slice(1)]: value }),
}));

const configText = readFileSync(join(ROOT, 'db-autopilot.yml'), 'utf8');

const serverlessYml = parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8'), { customTags: cfnTags }) as {
  functions: Record<string, { handler: string; events?: Array<Record<string, unknown>>; vpc?: unknown }>;
};
const functionNames = Object.keys(serverlessYml.functions);
const scheduled = functionNames.filter((fn) =>
  (serverlessYml.functions[fn]?.events ?? []).some((e) => 'schedule' in e),
);

/**
 * Two packages: the shipped configuration, which observes (every tuner read-only:
 * the roles hold no write on databases, alarms or routing), and the same configuration with every
 * tuner in apply mode, whose write permissions the least-privilege checks look at. The apply-mode
 * checks read its template only, so that package takes the shipped package's bundles
 * (DBAP_ESBUILD_SKIP_BUILD, shared/deploy/esbuild.config.cjs) instead of bundling the same code
 * again: osls still validates the apply configuration, generates its roles and writes its template.
 */
let dir = '';
let run: RunResult = { code: -1, stdout: '', stderr: '' };
let template: Template = { Resources: {} };
let applyDir = '';
let applyRun: RunResult = { code: -1, stdout: '', stderr: '' };
let applyTemplate: Template = { Resources: {} };
const applyConfigText = configText.replace(/^ {2}mode: observe$/m, '  mode: apply');
/** `osls package` with an invalid configuration (the last describe), run beside the apply-mode package. */
let bad: RunResult = { code: -1, stdout: '', stderr: '' };
let badDir = '';

/** Every check below needs the package: fail (not pass vacuously) when osls failed. */
function requirePackage(): void {
  const tail = `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-12).join('\n');
  expect(run.code, `osls package failed, so there is nothing to check:\n${tail}`).toBe(0);
}

function resourcesOfType(type: string): Array<[string, Resource]> {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** The AWS::Lambda::Function of a serverless.yml function (matched by FunctionName). */
function lambdaOf(fn: string): [string, Resource] | undefined {
  return resourcesOfType('AWS::Lambda::Function').find(([, r]) =>
    String(r.Properties.FunctionName ?? '').endsWith(`-${fn}`),
  );
}

function statementsOf(roleId: string): PolicyStatement[] {
  return rolePolicies(template.Resources).find((p) => p.role === roleId)?.statements ?? [];
}

/** Item writes on the state table (each role's are limited by dynamodb:LeadingKeys). */
const ITEM_WRITES = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];
/** Actions that put tags on a database (consent: the managed and created-by tags). */
const TAGGING = ['rds:AddTagsToResource', 'rds:*', 'dynamodb:TagResource'];

const actionsOf = (s: PolicyStatement) => (Array.isArray(s.Action) ? s.Action : [s.Action]).map(String);
const resourcesOf = (s: PolicyStatement): Json[] =>
  s.Resource === undefined ? [] : Array.isArray(s.Resource) ? s.Resource : [s.Resource];

function readTemplate(folder: string): Template {
  const file = join(folder, 'cloudformation-template-update-stack.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Template) : { Resources: {} };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dbap-package-'));
  applyDir = mkdtempSync(join(tmpdir(), 'dbap-package-apply-'));
  const applyConfig = join(applyDir, 'db-autopilot-apply.yml');
  writeFileSync(applyConfig, applyConfigText);
  run = await osls(['package', '--package', dir, '--stage', 'dev', '--region', 'us-east-1']);
  // The apply-mode package from the bundles just built: their zips where skipBuild looks for them.
  mkdirSync(join(applyDir, 'out'));
  for (const zip of readdirSync(dir).filter((f) => f.endsWith('.zip')))
    copyFileSync(join(dir, zip), join(applyDir, 'out', zip));
  // Neither bundles: both are mostly osls starting up, so they run side by side.
  badDir = mkdtempSync(join(tmpdir(), 'dbap-package-bad-'));
  const badRun = osls(
    ['package', '--package', badDir, '--param=configFile=test/fixtures/invalid-configs/03-bad-mode.yml'],
    'bad',
  );
  applyRun = await osls(
    [
      'package',
      '--package',
      join(applyDir, 'out'),
      '--stage',
      'dev',
      '--region',
      'us-east-1',
      `--param=configFile=${applyConfig}`,
    ],
    'apply',
    { DBAP_ESBUILD_SKIP_BUILD: '1' },
  );
  bad = await badRun;
  template = readTemplate(dir);
  applyTemplate = readTemplate(join(applyDir, 'out'));
}, 2 * PACKAGE_TIMEOUT_MS);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (applyDir) rmSync(applyDir, { recursive: true, force: true });
  if (badDir) rmSync(badDir, { recursive: true, force: true });
});

/** The apply-mode package's checks need it built. */
function requireApplyPackage(): void {
  const tail = `${applyRun.stdout}\n${applyRun.stderr}`.trim().split('\n').slice(-12).join('\n');
  expect(applyRun.code, `osls package (apply mode) failed:\n${tail}`).toBe(0);
}

describe('osls package (offline)', () => {
  it('succeeds and writes the CloudFormation template', () => {
    // A missing functions/<name>.ts (or any build error) fails here with osls's own message.
    expect(run.code, `osls package failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
    expect(Object.keys(template.Resources).length).toBeGreaterThan(0);
  });

  it('declares the same functions in serverless.yml as the IAM generator', () => {
    expect([...functionNames].sort()).toEqual([...FUNCTIONS].sort());
  });

  it.each(functionNames)(
    'packages %s as its own zip, runtime nodejs24.x, with its handler and the configuration bundled',
    (fn) => {
      requirePackage();
      const zip = join(dir, `${fn}.zip`);
      expect(existsSync(zip), `${fn}.zip missing`).toBe(true);
      expect(statSync(zip).size).toBeGreaterThan(0);
      const lambda = lambdaOf(fn);
      expect(lambda, `no AWS::Lambda::Function for ${fn}`).toBeDefined();
      const props = lambda?.[1].Properties ?? {};
      expect(props.Runtime).toBe('nodejs24.x');
      expect(String((props.Code as { S3Key?: string } | undefined)?.S3Key)).toMatch(
        new RegExp(`/${fn}\\.zip$`),
      );
      // The bundle is in the zip, with the validated configuration embedded at package time.
      const bundle = zipEntries(readFileSync(zip)).get(`functions/${fn}.mjs`)?.toString('utf8') ?? '';
      expect(bundle.length, `functions/${fn}.mjs missing from ${fn}.zip`).toBeGreaterThan(0);
      expect(bundle).toContain(JSON.stringify(configText).slice(1, 80));
      expect(bundle).not.toMatch(/typeof __DBAP_CONFIG_YAML__/);
    },
  );

  /** The @aws-sdk client packages esbuild inlined (it writes each module's path above its code). */
  function sdkClientsIn(fn: string): { clients: Set<string>; bundle: string } {
    const bundle =
      zipEntries(readFileSync(join(dir, `${fn}.zip`)))
        .get(`functions/${fn}.mjs`)
        ?.toString('utf8') ?? '';
    const clients = new Set(
      [...bundle.matchAll(/node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//g)].map((m) => m[1]),
    );
    return { clients: clients as Set<string>, bundle };
  }

  it('bundles the ESM builds of the AWS SDK, never its CommonJS dist-cjs', () => {
    requirePackage();
    for (const fn of functionNames) {
      const { bundle } = sdkClientsIn(fn);
      expect(bundle, fn).toMatch(/node_modules\/@aws-sdk\/client-dynamodb\/dist-es\//);
      expect(bundle.match(/node_modules\/@aws-sdk\/[a-z0-9-]+\/dist-cjs\//)?.[0], fn).toBeUndefined();
    }
  });

  it('bundles only the SDK clients a function calls', () => {
    requirePackage();
    // The report and the digest read the state table and post (DynamoDB, SNS, SSM, Secrets Manager):
    // no RDS, CloudWatch alarm, Auto Scaling, Route 53 or tagging client.
    for (const fn of ['report', 'digest']) {
      const { clients } = sdkClientsIn(fn);
      for (const unused of [
        'client-rds',
        'client-application-auto-scaling',
        'client-route-53',
        'client-resource-groups-tagging-api',
        'client-pi',
      ]) {
        expect(clients.has(unused), `${fn} carries ${unused}`).toBe(false);
      }
    }
    // The DynamoDB tuner never calls Route 53, Performance Insights, Secrets Manager or SNS itself.
    const ddb = sdkClientsIn('dynamodb-tuner').clients;
    for (const unused of ['client-route-53', 'client-pi', 'client-secrets-manager', 'client-sns']) {
      expect(ddb.has(unused), `dynamodb-tuner carries ${unused}`).toBe(false);
    }
  });

  it('gives every function its own IAM role, and no shared default role', () => {
    requirePackage();
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
    const lambdas = resourcesOfType('AWS::Lambda::Function');
    expect(lambdas).toHaveLength(functionNames.length);
    const roles = lambdas.map(([id, r]) => {
      const role = r.Properties.Role as { 'Fn::GetAtt'?: [string, string] };
      const target = role['Fn::GetAtt'];
      expect(target, `${id}: Role is not a GetAtt of a role in this template`).toBeDefined();
      expect(target?.[1]).toBe('Arn');
      expect(template.Resources[target?.[0] ?? '']?.Type).toBe('AWS::IAM::Role');
      return target?.[0];
    });
    expect(new Set(roles).size).toBe(lambdas.length);
    for (const fn of functionNames) {
      const role = (lambdaOf(fn)?.[1].Properties.Role as { 'Fn::GetAtt'?: string[] } | undefined)?.[
        'Fn::GetAtt'
      ]?.[0];
      expect(role).toBe(roleLogicalId(fn as (typeof FUNCTIONS)[number]));
    }
  });

  it("lets only Lambda assume the function roles (Step Functions and EventBridge the fleet run's two) and attaches no managed policies", () => {
    requirePackage();
    // The fleet run (issue 27): the state machine's role and the role its schedule starts it with.
    const serviceOf: Record<string, string> = {
      FleetStateMachineRole: 'states.amazonaws.com',
      FleetRunScheduleRole: 'events.amazonaws.com',
    };
    expect(resourcesOfType('AWS::IAM::Role')).toHaveLength(functionNames.length + 2);
    for (const [id, r] of resourcesOfType('AWS::IAM::Role')) {
      const trust = JSON.stringify(r.Properties.AssumeRolePolicyDocument);
      expect(trust, id).toContain(serviceOf[id] ?? 'lambda.amazonaws.com');
      expect(trust, id).not.toMatch(/"AWS"\s*:|"\*"/);
      expect(r.Properties.ManagedPolicyArns ?? [], id).toEqual([]);
    }
    expect(checkTrust(template.Resources)).toEqual([]);
  });

  it('in the shipped observe-only configuration has no database, alarm or Route 53 write action', () => {
    requirePackage();
    expect(configText).toMatch(/^ {2}mode: observe$/m);
    expect(rolePolicies(template.Resources).length).toBeGreaterThanOrEqual(functionNames.length);
    expect(writeActionsOnDatabasesAlarmsRouting(template.Resources)).toEqual([]);
    // The same configuration in apply mode holds them: the check above can fail.
    requireApplyPackage();
    const writes = writeActionsOnDatabasesAlarmsRouting(applyTemplate.Resources);
    for (const action of [
      'rds:ModifyDBInstance',
      'rds:DeleteDBInstance',
      'dynamodb:UpdateTable',
      'cloudwatch:PutMetricAlarm',
      'cloudwatch:PutDashboard',
      'route53:ChangeResourceRecordSets',
    ]) {
      expect(writes.some((w) => w.endsWith(` ${action}`))).toBe(true);
    }
  });

  it('grants no wildcard action, scopes every mutating RDS, DynamoDB, Auto Scaling, CloudWatch and SSM action, and AssumeRole only into the member role', () => {
    requirePackage();
    expect(rolePolicies(template.Resources).length).toBeGreaterThanOrEqual(functionNames.length);
    const violations = checkPolicies(template.Resources);
    expect(violations.map((v) => `${v.role}/${v.sid} ${v.action}: ${v.problem}`)).toEqual([]);
    const assumers = rolePolicies(template.Resources).filter((p) =>
      p.statements.some((st) => actionsOf(st).some((a) => a.startsWith('sts:'))),
    );
    expect(assumers.map((p) => p.role)).toEqual(['FleetWorkerRole']);
  });

  it('declares the fleet state machine: its definition passes the offline ASL checks, its functions are the fleet steps', () => {
    requirePackage();
    const [[, machine] = ['', undefined]] = resourcesOfType('AWS::StepFunctions::StateMachine');
    const props = machine?.Properties as {
      Definition: unknown;
      DefinitionSubstitutions: Record<string, unknown>;
    };
    expect(checkDefinition(props.Definition, Object.keys(props.DefinitionSubstitutions))).toEqual([]);
    expect(props.DefinitionSubstitutions).toEqual({
      PlannerArn: { 'Fn::GetAtt': [lambdaOf('fleet-planner')?.[0], 'Arn'] },
      WorkerArn: { 'Fn::GetAtt': [lambdaOf('fleet-worker')?.[0], 'Arn'] },
      ReportArn: { 'Fn::GetAtt': [lambdaOf('fleet-report')?.[0], 'Arn'] },
    });
    // The example configuration has no fleet: the machine exists, its schedule is off.
    const rule = template.Resources.FleetRunSchedule;
    expect(rule?.Properties).toMatchObject({ State: 'DISABLED', ScheduleExpression: 'rate(15 minutes)' });
  });

  it('in apply mode too, grants no wildcard action and scopes every mutating action', () => {
    requireApplyPackage();
    expect(rolePolicies(applyTemplate.Resources).length).toBeGreaterThanOrEqual(functionNames.length);
    const violations = checkPolicies(applyTemplate.Resources);
    expect(violations.map((v) => `${v.role}/${v.sid} ${v.action}: ${v.problem}`)).toEqual([]);
  });

  it("scopes the reconciler's alarm and dashboard permissions to db-autopilot's prefix and dashboard (apply mode)", () => {
    requireApplyPackage();
    const statements =
      rolePolicies(applyTemplate.Resources).find((p) => p.role === 'AlarmReconcilerRole')?.statements ?? [];
    const grants = (action: string) =>
      statements
        .filter((s) => actionsOf(s).includes(action))
        .flatMap((s) => resourcesOf(s).map((r) => resolveArn(r, applyTemplate.Resources)));
    for (const action of ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms']) {
      const arns = grants(action);
      expect(arns.length, action).toBeGreaterThan(0);
      for (const a of arns) expect(a, action).toBe('arn:aws:cloudwatch:us-east-1:123456789012:alarm:dbap-*');
    }
    const dashboards = grants('cloudwatch:PutDashboard');
    expect(dashboards).toEqual(['arn:aws:cloudwatch::123456789012:dashboard/db-autopilot']);
  });

  it("limits every role's state-table writes to its own tuners' partitions (dynamodb:LeadingKeys)", () => {
    requirePackage();
    const [[stateTable] = []] = resourcesOfType('AWS::DynamoDB::Table');
    for (const fn of FUNCTIONS) {
      const writes = statementsOf(roleLogicalId(fn)).filter((s) =>
        actionsOf(s).some((a) => ITEM_WRITES.includes(a) || a === 'dynamodb:*'),
      );
      // Every function records at least its failed runs, so every role writes the table (the
      // fleet planner and report only their failed runs, under `fleet`).
      expect(writes.length, fn).toBeGreaterThan(0);
      for (const s of writes) {
        const where = `${fn} ${s.Sid ?? ''}`;
        expect(actionsOf(s), where).not.toContain('dynamodb:*');
        for (const r of resourcesOf(s))
          expect(resolveArn(r, template.Resources), where).toBe(`${TEMPLATE_RESOURCE}${stateTable}`);
        const condition = s.Condition as Record<string, Record<string, Json>> | undefined;
        expect(condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'], where).toEqual(
          // The fleet worker writes its tuners' items in every member scope (<owner>#<account>.<region>#).
          STATE_WRITERS[fn].map((owner) => (fn === 'fleet-worker' ? `${owner}#*` : `${owner}#home#*`)),
        );
      }
    }
  });

  it('lets no role add the managed tag, and the created-by tag only on dbap-* instances (apply mode)', () => {
    // Observe mode grants no tagging at all: the apply-mode package is the one to look at.
    requireApplyPackage();
    const config = parseConfig(applyConfigText, 'db-autopilot.yml');
    const managed = config.tags.managed.key;
    const createdBy = config.tags.createdBy.key;
    const dbapOnly = /^arn:aws:rds:us-east-1:123456789012:db:dbap-\*$/;
    const groupsUsed = /^arn:aws:rds:us-east-1:123456789012:(pg|og|subgrp):\*$/;
    let taggingGrants = 0;
    for (const { role, statements } of rolePolicies(applyTemplate.Resources)) {
      for (const s of statements) {
        const where = `${role} ${s.Sid ?? ''}`;
        const condition = (s.Condition ?? {}) as Record<string, Record<string, Json>>;
        const text = JSON.stringify(condition);
        const arns = resourcesOf(s).map((x) => resolveArn(x, applyTemplate.Resources));
        // No request may carry the managed tag (reading it on a source, aws:ResourceTag, is fine).
        expect(text, where).not.toContain(`aws:RequestTag/${managed}`);
        expect(
          actionsOf(s).filter((a) => a.startsWith('tag:Tag') || a === 'tag:*'),
          where,
        ).toEqual([]);
        if (actionsOf(s).some((a) => TAGGING.includes(a))) {
          // Tags only of the listed keys (so never the managed one), only on dbap-* instances.
          const keys = condition['ForAllValues:StringEquals']?.['aws:TagKeys'];
          expect(Array.isArray(keys) ? keys : [], where).toContain(createdBy);
          expect(keys, where).not.toContain(managed);
          expect(arns.length, where).toBeGreaterThan(0);
          for (const arn of arns) expect(arn, where).toMatch(dbapOnly);
          taggingGrants += 1;
        }
        // A request that sets the created-by tag is allowed only on dbap-* instances, and (to
        // create them) on the parameter, option and subnet groups such a request uses.
        if (text.includes(`aws:RequestTag/${createdBy}`)) {
          const groups = arns.filter((arn) => arn && groupsUsed.test(arn));
          for (const arn of arns.filter((a) => !groups.includes(a))) expect(arn, where).toMatch(dbapOnly);
          if (groups.length > 0)
            expect(actionsOf(s).sort(), where).toEqual([
              'rds:CreateDBInstance',
              'rds:CreateDBInstanceReadReplica',
            ]);
        }
      }
    }
    // The replica scaler (and the alarm handler and control, which run it) tag what they create.
    expect(taggingGrants).toBeGreaterThan(0);
  });

  it('declares the state table from the definition the code uses: on-demand, PITR, TTL on expiresAt', () => {
    requirePackage();
    const tables = resourcesOfType('AWS::DynamoDB::Table');
    expect(tables).toHaveLength(1);
    const props = tables[0]?.[1].Properties ?? {};
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(props.TimeToLiveSpecification).toEqual(stateTableTtl);
    expect(props.KeySchema).toEqual(stateTableDefinition.KeySchema);
    expect(props.AttributeDefinitions).toEqual(stateTableDefinition.AttributeDefinitions);
    expect(props.GlobalSecondaryIndexes).toEqual(stateTableDefinition.GlobalSecondaryIndexes);
    expect(tables[0]?.[1]).toMatchObject({ DeletionPolicy: 'Retain' });
  });

  it('declares an SNS topic for reports and passes it to the functions', () => {
    requirePackage();
    const topics = resourcesOfType('AWS::SNS::Topic');
    expect(topics.length).toBeGreaterThanOrEqual(1);
    const [topicId] = topics[0] ?? [];
    const env = (lambdaOf('report')?.[1].Properties.Environment as { Variables?: Record<string, unknown> })
      ?.Variables;
    expect(env?.REPORT_TOPIC_ARN).toEqual({ Ref: topicId });
  });

  it('passes the retention parameters to every function as AUDIT_TTL_DAYS and NOOP_TTL_DAYS (defaults 400 and 30)', () => {
    requirePackage();
    for (const fn of functionNames) {
      const env = (lambdaOf(fn)?.[1].Properties.Environment as { Variables?: Record<string, unknown> })
        ?.Variables;
      expect(env?.AUDIT_TTL_DAYS, fn).toBe('400');
      expect(env?.NOOP_TTL_DAYS, fn).toBe('30');
    }
  });

  it("alarms on every function's Lambda Errors and on the FailedRuns metric, notifying the SNS topic", () => {
    requirePackage();
    const [topicId] = resourcesOfType('AWS::SNS::Topic')[0] ?? [];
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    for (const fn of functionNames) {
      const functionName = String(lambdaOf(fn)?.[1].Properties.FunctionName);
      const alarm = alarms.find(
        (a) =>
          a.Namespace === 'AWS/Lambda' &&
          a.MetricName === 'Errors' &&
          JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: functionName }]),
      );
      expect(alarm, `no Errors alarm for ${fn}`).toBeDefined();
      expect(alarm?.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(String(alarm?.AlarmName)).not.toMatch(/^dbap-/);
    }
    const failed = alarms.find((a) => a.Namespace === 'DbAutopilot' && a.MetricName === 'FailedRuns');
    expect(failed?.AlarmActions).toEqual([{ Ref: topicId }]);
    expect(failed).toMatchObject({ Statistic: 'Sum', Threshold: 1, TreatMissingData: 'notBreaching' });
  });

  it('has an EventBridge schedule per scheduled function', () => {
    requirePackage();
    expect(scheduled.length).toBeGreaterThanOrEqual(8);
    const rules = resourcesOfType('AWS::Events::Rule').filter(([, r]) => r.Properties.ScheduleExpression);
    for (const fn of scheduled) {
      const [lambdaId] = lambdaOf(fn) ?? [];
      const rule = rules.find(([, r]) =>
        JSON.stringify(r.Properties.Targets).includes(JSON.stringify({ 'Fn::GetAtt': [lambdaId, 'Arn'] })),
      );
      expect(rule, `no schedule for ${fn}`).toBeDefined();
      expect(String(rule?.[1].Properties.ScheduleExpression)).toMatch(/^(rate|cron)\(.+\)$/);
      expect(rule?.[1].Properties.State).toBe('ENABLED');
    }
  });

  it('routes CloudWatch Alarm State Change events under the alarm prefix to the alarm handler', () => {
    requirePackage();
    const [handlerId] = lambdaOf('alarm-handler') ?? [];
    const rules = resourcesOfType('AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern);
    const rule = rules.find(([, r]) =>
      JSON.stringify(r.Properties.Targets).includes(JSON.stringify({ 'Fn::GetAtt': [handlerId, 'Arn'] })),
    );
    expect(rule).toBeDefined();
    const pattern = rule?.[1].Properties.EventPattern as {
      source?: string[];
      'detail-type'?: string[];
      detail?: { alarmName?: Array<{ prefix?: string }> };
    };
    expect(pattern.source).toEqual(['aws.cloudwatch']);
    expect(pattern['detail-type']).toEqual(['CloudWatch Alarm State Change']);
    expect(pattern.detail?.alarmName).toEqual([{ prefix: 'dbap-' }]);
  });

  it.each(['pg-maintenance', 'pg-insights'])('runs %s in the VPC (subnets and security group)', (fn) => {
    requirePackage();
    const vpc = lambdaOf(fn)?.[1].Properties.VpcConfig as {
      SubnetIds?: string[];
      SecurityGroupIds?: string[];
    };
    expect(vpc?.SubnetIds?.length ?? 0).toBeGreaterThan(0);
    for (const s of vpc?.SubnetIds ?? []) expect(s).toMatch(/^subnet-[0-9a-f]+$/);
    expect(vpc?.SecurityGroupIds?.length ?? 0).toBeGreaterThan(0);
    for (const g of vpc?.SecurityGroupIds ?? []) expect(g).toMatch(/^sg-[0-9a-f]+$/);
    // ENIs for the VPC: the role may create them (on any subnet: EC2 does not scope this by name).
    const actions = statementsOf(roleLogicalId(fn as (typeof FUNCTIONS)[number])).flatMap(actionsOf);
    for (const a of [
      'ec2:CreateNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:DeleteNetworkInterface',
    ]) {
      expect(actions).toContain(a);
    }
  });

  it('keeps functions that do not reach databases out of the VPC', () => {
    requirePackage();
    for (const fn of functionNames.filter((f) => f !== 'pg-maintenance' && f !== 'pg-insights')) {
      expect(lambdaOf(fn), fn).toBeDefined();
      expect(lambdaOf(fn)?.[1].Properties.VpcConfig, fn).toBeUndefined();
    }
  });

  it('contains no secret value: no webhook URL, password or connection string', () => {
    requirePackage();
    const text = JSON.stringify(template);
    expect(text).not.toMatch(/hooks\.slack\.com/i);
    expect(text).not.toMatch(/password/i);
    expect(text).not.toMatch(/postgres(ql)?:\/\/|mysql:\/\//i);
    expect(text).not.toMatch(/AKIA[0-9A-Z]{16}/);
  });
});

describe('osls package with an invalid configuration', () => {
  it('fails, naming the file, line and path of the problem, and packages nothing', () => {
    const output = `${bad.stdout}\n${bad.stderr}`;
    expect(bad.code).not.toBe(0);
    expect(output).toContain('03-bad-mode.yml:4');
    expect(output).toContain('defaults.mode');
    expect(output).toMatch(/observe/);
    expect(existsSync(join(badDir, 'cloudformation-template-update-stack.json'))).toBe(false);
  });
});
