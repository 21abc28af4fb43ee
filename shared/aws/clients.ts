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
import { currentScopeKey, scopeClients } from '../core/scope.ts';
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

/** The AWS SDK's own name for its logger middleware (@aws-sdk/core, `loggerMiddlewareOptions`). */
const SDK_LOGGER_MIDDLEWARE = 'loggerMiddleware';

type Stack = {
  identify(): string[];
  remove(name: string): boolean;
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
 * before the simulator. Every client db-autopilot uses passes here (the default ones, installed
 * ones and a fleet member's), so this is also where the SDK's unused logging is removed.
 */
export function limitAttempts<C extends { middlewareStack: unknown }>(client: C, service: string): C {
  const stack = client.middlewareStack as Stack | undefined;
  // A hand-made stand-in for a client (tests) has no middleware stack: nothing to limit.
  if (typeof stack?.identify !== 'function') return client;
  withoutSdkLogging(stack);
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

/**
 * Removes the SDK's logger middleware. db-autopilot gives the SDK no logger (it logs its own runs
 * and decisions with Powertools), but with the SDK's default no-op logger that middleware still
 * copies every response and walks every request and response through the operation's schema to
 * mask sensitive fields, for a log line nothing writes: about 2% of the fleet bench's CPU, most of
 * it on GetMetricData and Query responses. Errors still reach the caller unchanged (the middleware
 * only logged and rethrew them).
 */
function withoutSdkLogging(stack: Stack): void {
  stack.remove(SDK_LOGGER_MIDDLEWARE);
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

/** Clients installed by setAwsClients (simulated account, tests); they win over the defaults. */
let installed: Partial<AwsClients> = {};
/** Default clients, each created on first use. */
let created: Partial<AwsClients> = {};

function commonOptions() {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  return { region, maxAttempts: MAX_ATTEMPTS, retryMode: 'adaptive' } as const;
}

type ClientOptions = ReturnType<typeof commonOptions>;

/**
 * The client of one service for the work in progress: inside a fleet member scope
 * (`runInScope`, shared/core/scope.ts) the member's own client for a tuned service, else the
 * installed one (simulator, tests), else the default one, created on first use.
 */
function client<K extends keyof AwsClients>(
  name: K,
  make: (common: ClientOptions) => AwsClients[K],
): AwsClients[K] {
  const member = scopeClients() as Partial<AwsClients> | undefined;
  const found = member?.[name] ?? installed[name] ?? created[name];
  if (found) return found as AwsClients[K];
  const made = limitAttempts(make(commonOptions()), SERVICE_OF[name]);
  created[name] = made;
  return made;
}

/*
 * One accessor per service. A Lambda bundle holds only the SDK clients its code calls: esbuild
 * drops every accessor (and its client package) that nothing reachable from the function uses,
 * which one object holding every client would defeat.
 */
export const rdsClient = (): RDSClient => client('rds', (c) => new RDSClient(c));
export const dynamodbClient = (): DynamoDBClient => client('dynamodb', (c) => new DynamoDBClient(c));
export const cloudwatchClient = (): CloudWatchClient => client('cloudwatch', (c) => new CloudWatchClient(c));
export const ssmClient = (): SSMClient => client('ssm', (c) => new SSMClient(c));
export const secretsManagerClient = (): SecretsManagerClient =>
  client('secretsManager', (c) => new SecretsManagerClient(c));
export const snsClient = (): SNSClient => client('sns', (c) => new SNSClient(c));
export const taggingClient = (): ResourceGroupsTaggingAPIClient =>
  client('tagging', (c) => new ResourceGroupsTaggingAPIClient(c));
export const autoscalingClient = (): ApplicationAutoScalingClient =>
  client('autoscaling', (c) => new ApplicationAutoScalingClient(c));
// Route 53 is a global service.
export const route53Client = (): Route53Client =>
  client('route53', (c) => new Route53Client({ ...c, region: 'us-east-1' }));
export const piClient = (): PIClient => client('pi', (c) => new PIClient(c));
/** db-autopilot's own state table (dynalite in the demo and integration tests: STATE_TABLE_ENDPOINT). */
export const stateTableClient = (): DynamoDBClient =>
  client('stateTable', (c) =>
    process.env.STATE_TABLE_ENDPOINT
      ? new DynamoDBClient({ ...c, endpoint: process.env.STATE_TABLE_ENDPOINT })
      : new DynamoDBClient(c),
  );

function limitAll<T extends Partial<AwsClients>>(partial: T): T {
  for (const [name, c] of Object.entries(partial)) {
    if (c) limitAttempts(c, SERVICE_OF[name as keyof AwsClients]);
  }
  return partial;
}

/**
 * Every client (tests, the simulator and CLIs). Lambda code calls the one accessor it needs
 * (`rdsClient()`), so its bundle does not carry the others.
 */
export function aws(): AwsClients {
  return {
    get rds() {
      return rdsClient();
    },
    get dynamodb() {
      return dynamodbClient();
    },
    get cloudwatch() {
      return cloudwatchClient();
    },
    get ssm() {
      return ssmClient();
    },
    get secretsManager() {
      return secretsManagerClient();
    },
    get sns() {
      return snsClient();
    },
    get tagging() {
      return taggingClient();
    },
    get autoscaling() {
      return autoscalingClient();
    },
    get route53() {
      return route53Client();
    },
    get pi() {
      return piClient();
    },
    get stateTable() {
      return stateTableClient();
    },
  };
}

/** Replace some or all clients (simulated account, tests). Returns a restore function. */
export function setAwsClients(partial: Partial<AwsClients>): () => void {
  const previous = installed;
  installed = { ...installed, ...limitAll(partial) };
  return () => {
    installed = previous;
  };
}

export function resetAwsClients(): void {
  installed = {};
  created = {};
}
