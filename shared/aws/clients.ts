import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PIClient } from '@aws-sdk/client-pi';
import { RDSClient } from '@aws-sdk/client-rds';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { currentScopeKey, type MemberClients, scopeClients } from '../core/scope.ts';
import { RateLimiter } from '../metrics/limits.ts';

/**
 * One module-level client per service. Adapters call `aws().rds.send(...)`; the simulated
 * account (shared/sim) and tests install their own clients with `setAwsClients`, so the
 * same adapter code runs in Lambda, tests, the demo and backtests.
 *
 * `stateTable` is a separate DynamoDB client for db-autopilot's own state table (in the
 * demo and integration tests it points at dynalite on loopback), distinct from `dynamodb`,
 * the client for the tables being tuned.
 *
 * One retry layer: the SDK's own (adaptive mode: exponential backoff with jitter plus the SDK's
 * client-side rate limiting on throttling; at most MAX_ATTEMPTS attempts per request). No caller
 * wraps `send` in a retry loop of its own. Every attempt, the first and each SDK retry, takes a
 * token from the operation's RateLimiter (OPERATION_RATES) in a middleware placed after the
 * SDK's retry middleware, so the process never exceeds an operation's quota however many retries
 * happen.
 */
export interface AwsClients {
  rds: RDSClient;
  dynamodb: DynamoDBClient;
  cloudwatch: CloudWatchClient;
  ssm: SSMClient;
  secretsManager: SecretsManagerClient;
  sns: SNSClient;
  tagging: ResourceGroupsTaggingAPIClient;
  autoscaling: ApplicationAutoScalingClient;
  route53: Route53Client;
  /** Performance Insights (top SQL by DB load, no database connection needed). */
  pi: PIClient;
  stateTable: DynamoDBClient;
}

/** Attempts per request, the first included (AWS SDK default for standard/adaptive mode is 3). */
export const MAX_ATTEMPTS = 3;

/**
 * Calls per second this process allows itself per `service:Operation` (every attempt counts):
 * below the account quotas of aws-facts.md "CloudWatch" (GetMetricData 50 TPS) and the DynamoDB
 * control plane (2,500 requests per second per account; "Best practices for managing the control
 * plane"), leaving room for other callers.
 */
export const OPERATION_RATES: Record<string, { perSecond: number; burst: number }> = {
  'cloudwatch:GetMetricData': { perSecond: 40, burst: 40 },
  'dynamodb:DescribeTable': { perSecond: 1000, burst: 100 },
  'dynamodb:ListTagsOfResource': { perSecond: 8, burst: 8 },
};

const limiters = new Map<string, RateLimiter>();

/**
 * The process-wide limiter of one operation (`cloudwatch:GetMetricData`) in one account and Region
 * (`scope`, the current one by default: AWS's quotas are per account and Region, so a fleet's
 * member scopes each have their own), or undefined if unlimited.
 */
export function operationLimiter(key: string, scope: string = currentScopeKey()): RateLimiter | undefined {
  const scoped = scope === 'home' ? key : `${scope}:${key}`;
  let limiter = limiters.get(scoped);
  const rate = OPERATION_RATES[key];
  if (!limiter && rate) {
    limiter = new RateLimiter(rate.perSecond, rate.burst);
    limiters.set(scoped, limiter);
  }
  return limiter;
}

/**
 * Replaces one operation's limiter (the demo compresses a day into seconds of real time, where
 * real-time pacing means nothing; tests count attempts). Returns a function that restores it.
 */
export function setOperationLimiter(key: string, limiter: RateLimiter): () => void {
  const previous = limiters.get(key);
  limiters.set(key, limiter);
  return () => {
    if (previous) limiters.set(key, previous);
    else limiters.delete(key);
  };
}

const LIMIT_MIDDLEWARE = 'dbAutopilotAttemptLimiter';
/** The simulated account answers in its own middleware (shared/sim/engine.ts), before the retry step. */
const SIMULATOR_MIDDLEWARE = 'dbAutopilotSimulatedAccount';

type Stack = {
  identify(): string[];
  addRelativeTo(
    mw: (
      next: (args: unknown) => Promise<unknown>,
      context: { commandName?: string },
    ) => (args: unknown) => Promise<unknown>,
    options: { relation: 'before' | 'after'; toMiddleware: string; name: string; override?: boolean },
  ): void;
};

/**
 * Adds the per-attempt rate limit to a client (once): after the SDK's retry middleware, so each
 * attempt takes a token, or, on a simulated client (which answers before the retry step), just
 * before the simulator.
 */
export function limitAttempts<C extends { middlewareStack: unknown }>(client: C, service: string): C {
  const stack = client.middlewareStack as Stack | undefined;
  // A hand-made stand-in for a client (tests) has no middleware stack: nothing to limit.
  if (typeof stack?.identify !== 'function') return client;
  const names = stack.identify().map((n) => n.split(' ')[0]);
  if (names.includes(LIMIT_MIDDLEWARE)) return client;
  const toMiddleware = names.includes(SIMULATOR_MIDDLEWARE) ? SIMULATOR_MIDDLEWARE : 'retryMiddleware';
  stack.addRelativeTo(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      await operationLimiter(`${service}:${operation}`)?.take();
      return next(args);
    },
    {
      relation: toMiddleware === SIMULATOR_MIDDLEWARE ? 'before' : 'after',
      toMiddleware,
      name: LIMIT_MIDDLEWARE,
    },
  );
  return client;
}

const SERVICE_OF: Record<keyof AwsClients, string> = {
  rds: 'rds',
  dynamodb: 'dynamodb',
  cloudwatch: 'cloudwatch',
  ssm: 'ssm',
  secretsManager: 'secretsManager',
  sns: 'sns',
  tagging: 'tagging',
  autoscaling: 'autoscaling',
  route53: 'route53',
  pi: 'pi',
  stateTable: 'stateTable',
};

let clients: AwsClients | undefined;

function createDefaultClients(): AwsClients {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const common = { region, maxAttempts: MAX_ATTEMPTS, retryMode: 'adaptive' } as const;
  return limitAll({
    rds: new RDSClient(common),
    dynamodb: new DynamoDBClient(common),
    cloudwatch: new CloudWatchClient(common),
    ssm: new SSMClient(common),
    secretsManager: new SecretsManagerClient(common),
    sns: new SNSClient(common),
    tagging: new ResourceGroupsTaggingAPIClient(common),
    autoscaling: new ApplicationAutoScalingClient(common),
    // Route 53 is a global service.
    route53: new Route53Client({ ...common, region: 'us-east-1' }),
    pi: new PIClient(common),
    stateTable: new DynamoDBClient(
      process.env.STATE_TABLE_ENDPOINT ? { ...common, endpoint: process.env.STATE_TABLE_ENDPOINT } : common,
    ),
  });
}

function limitAll<T extends Partial<AwsClients>>(partial: T): T {
  for (const [name, client] of Object.entries(partial)) {
    if (client) limitAttempts(client, SERVICE_OF[name as keyof AwsClients]);
  }
  return partial;
}

/** The member clients of a scope laid over the central ones (cached per member client set). */
const overlays = new WeakMap<Partial<MemberClients>, { base: AwsClients; merged: AwsClients }>();

/**
 * The clients of the work in progress: the central account's, with a fleet member scope's own
 * clients for the tuned services laid over them inside `runInScope` (shared/core/scope.ts).
 */
export function aws(): AwsClients {
  clients ??= createDefaultClients();
  const member = scopeClients();
  if (!member) return clients;
  const cached = overlays.get(member);
  if (cached && cached.base === clients) return cached.merged;
  const merged = { ...clients, ...member };
  overlays.set(member, { base: clients, merged });
  return merged;
}

/** Replace some or all clients (simulated account, tests). Returns a restore function. */
export function setAwsClients(partial: Partial<AwsClients>): () => void {
  const previous = clients;
  clients = { ...aws(), ...limitAll(partial) };
  return () => {
    clients = previous;
  };
}

export function resetAwsClients(): void {
  clients = undefined;
}
