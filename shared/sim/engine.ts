import {
  ApplicationAutoScalingClient,
  ApplicationAutoScalingServiceException,
} from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient, CloudWatchServiceException } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient, ThrottlingException as DynamoThrottling } from '@aws-sdk/client-dynamodb';
import { PIClient, PIServiceException } from '@aws-sdk/client-pi';
import { RDSClient, RDSServiceException } from '@aws-sdk/client-rds';
import {
  ResourceGroupsTaggingAPIClient,
  ThrottledException as TaggingThrottled,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { Route53Client, ThrottlingException as Route53Throttling } from '@aws-sdk/client-route-53';
import { SecretsManagerClient, SecretsManagerServiceException } from '@aws-sdk/client-secrets-manager';
import { SNSClient, ThrottledException as SnsThrottled } from '@aws-sdk/client-sns';
import { SSMClient, ThrottlingException as SsmThrottling } from '@aws-sdk/client-ssm';
import { type AwsClients, setAwsClients } from '../aws/clients.ts';
import { useClock } from '../core/clock.ts';
import { DAY_MS, MINUTE_MS, VirtualClock } from './clock.ts';
import { errorMetadata, requestId, serviceError } from './errors.ts';
import { findOperation, type Input, rulesFor, type ServiceName } from './registry.ts';
import { AutoScalingState } from './services/autoscaling.ts';
import { CloudWatchState } from './services/cloudwatch.ts';
import { DynamoState } from './services/dynamodb.ts';
import { RdsState } from './services/rds.ts';
import { Route53State } from './services/route53.ts';
import { SecretsState, SnsState, SsmState } from './services/simple-stores.ts';
import './services/tagging.ts';
import './services/rds-proxy.ts';
import './services/pi.ts';
import './services/aurora-serverless.ts';

export interface SimOptions {
  /** The virtual "now" the account starts at. */
  start: Date | string | number;
  /** Where metric histories begin (default: 15 days before start). Keep it short for big fleets. */
  historyStart?: Date | string | number;
  region?: string;
  accountId?: string;
  /** Real milliseconds each API call waits (default 0; the fleet benchmark uses 50). */
  latencyMs?: number;
  /**
   * Per-operation rate limits in calls per second, keyed `service:Operation`, merged over the
   * AWS defaults (DEFAULT_RATE_LIMITS); `false` turns every limit off.
   */
  rateLimits?: Record<string, number> | false;
  /** Which time refills the token buckets: real time (default, for benchmarks) or the virtual clock. */
  rateLimitClock?: 'wall' | 'virtual';
}

/** AWS default rate limits the simulator enforces (calls per second, per account and region). */
export const DEFAULT_RATE_LIMITS: Record<string, number> = {
  // aws-facts.md, CloudWatch: GetMetricData default quota 50 TPS per account and region.
  'cloudwatch:GetMetricData': 50,
  // aws-facts.md, CloudWatch: DynamoDB ListTagsOfResource is limited to about 10 calls per second.
  'dynamodb:ListTagsOfResource': 10,
};

const FRESH_OUTPUTS = new Set(['cloudwatch:GetMetricData', 'cloudwatch:GetMetricStatistics']);

export interface SimStats {
  /** Calls per `service:Operation` (throttled ones included). */
  calls: Record<string, number>;
  /** Calls answered with a throttling error, per `service:Operation`. */
  throttled: Record<string, number>;
  /** Calls answered with any error, per `service:Operation`. */
  errors: Record<string, number>;
  total: number;
}

type SimClients = Omit<AwsClients, 'stateTable'>;

/** One API call as the simulator receives it (SimAccount.observeCalls). */
export interface SimCall {
  service: ServiceName;
  operation: string;
  input: Input;
}

class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly time: () => number,
  ) {
    this.tokens = rate;
    this.last = time();
  }

  take(): boolean {
    const now = this.time();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * The simulated AWS account. See shared/sim/index.ts for how to use it.
 */
export class SimAccount {
  readonly clock: VirtualClock;
  readonly region: string;
  readonly accountId: string;
  readonly historyStartMs: number;
  latencyMs: number;

  readonly rds: RdsState;
  readonly dynamodb: DynamoState;
  readonly cloudwatch: CloudWatchState;
  readonly ssm: SsmState;
  readonly secrets: SecretsState;
  readonly sns: SnsState;
  readonly autoscaling: AutoScalingState;
  readonly route53: Route53State;

  private readonly timers: Timer[] = [];
  private timerSeq = 0;
  private readonly buckets = new Map<string, TokenBucket>();
  private rateLimits: Record<string, number>;
  private readonly rateTime: () => number;
  private counts: SimStats = { calls: {}, throttled: {}, errors: {}, total: 0 };
  private cachedClients: SimClients | undefined;
  private readonly callObservers = new Set<(call: SimCall) => void>();

  constructor(options: SimOptions) {
    this.clock = new VirtualClock(options.start);
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '123456789012';
    this.historyStartMs =
      options.historyStart !== undefined
        ? new Date(options.historyStart).getTime()
        : this.clock.nowMs() - 15 * DAY_MS;
    this.latencyMs = options.latencyMs ?? 0;
    this.rateLimits =
      options.rateLimits === false ? {} : { ...DEFAULT_RATE_LIMITS, ...(options.rateLimits ?? {}) };
    this.rateTime = options.rateLimitClock === 'virtual' ? () => this.clock.nowMs() : () => performance.now();
    this.rds = new RdsState(this);
    this.dynamodb = new DynamoState(this);
    this.cloudwatch = new CloudWatchState(this);
    this.ssm = new SsmState(this);
    this.secrets = new SecretsState(this);
    this.sns = new SnsState(this);
    this.autoscaling = new AutoScalingState(this);
    this.route53 = new Route53State(this);
  }

  nowMs(): number {
    return this.clock.nowMs();
  }

  /** Minutes (epoch minute index, exclusive) whose metrics are complete. */
  completedMinutes(): number {
    return Math.floor(this.clock.nowMs() / MINUTE_MS);
  }

  arn(service: string, resource: string): string {
    return `arn:aws:${service}:${this.region}:${this.accountId}:${resource}`;
  }

  /** Runs `fn` when the clock reaches `atMs` (status transitions, alarm evaluation...). */
  at(atMs: number, fn: () => void): void {
    this.timerSeq += 1;
    this.timers.push({ at: Math.max(atMs, this.clock.nowMs()), seq: this.timerSeq, fn });
  }

  after(ms: number, fn: () => void): void {
    this.at(this.clock.nowMs() + ms, fn);
  }

  /** Moves the clock forward, running every timer due on the way at its own time. */
  advance(ms: number): void {
    this.advanceTo(this.clock.nowMs() + ms);
  }

  advanceTo(targetMs: number): void {
    if (targetMs < this.clock.nowMs()) throw new Error('SimAccount.advanceTo: time never goes backwards');
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.timers) {
        if (t.at <= targetMs && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.clock.set(Math.max(next.at, this.clock.nowMs()));
      next.fn();
    }
    this.clock.set(targetMs);
  }

  /**
   * Replaces the rate limits (calls per second per `service:Operation`, merged over the AWS
   * defaults; `false` = none). The demo turns them off: it compresses a day into seconds of real
   * time, where real-time quotas mean nothing; the fleet benchmark keeps them.
   */
  setRateLimits(limits: Record<string, number> | false): void {
    this.rateLimits = limits === false ? {} : { ...DEFAULT_RATE_LIMITS, ...limits };
    this.buckets.clear();
  }

  stats(): SimStats {
    return structuredClone(this.counts);
  }

  resetStats(): void {
    this.counts = { calls: {}, throttled: {}, errors: {}, total: 0 };
  }

  /**
   * Calls `fn` with every API call, before the simulator answers it (the account's state is what
   * the caller found: a resource's tags before a delete, no new instance yet before a create).
   * The IAM replay (test/support/iam/) uses it. Returns a function that stops the observation.
   */
  observeCalls(fn: (call: SimCall) => void): () => void {
    this.callObservers.add(fn);
    return () => {
      this.callObservers.delete(fn);
    };
  }

  /** Calls an operation the way the SDK middleware does (counts, latency, rate limit, rules). */
  async call(service: ServiceName, operation: string, input: Input): Promise<Record<string, unknown>> {
    const key = `${service}:${operation}`;
    this.counts.calls[key] = (this.counts.calls[key] ?? 0) + 1;
    this.counts.total += 1;
    for (const observe of this.callObservers) observe({ service, operation, input });
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    try {
      const limit = this.rateLimits[key];
      if (limit !== undefined) {
        let bucket = this.buckets.get(key);
        if (!bucket) {
          bucket = new TokenBucket(limit, this.rateTime);
          this.buckets.set(key, bucket);
        }
        if (!bucket.take()) {
          this.counts.throttled[key] = (this.counts.throttled[key] ?? 0) + 1;
          throw throttlingError(service);
        }
      }
      const handler = findOperation(service, operation);
      if (!handler) {
        const err = new Error(
          `db-autopilot simulator: ${key} is not simulated (add it in shared/sim/services/ or with registerOperations)`,
        );
        err.name = 'NotSimulated';
        throw err;
      }
      for (const { rule } of rulesFor(service, operation)) rule(this, input);
      const output = await handler(this, input);
      // Outputs are copied so callers can never change the simulator's state through them;
      // metric reads build fresh objects already (and are the largest), so they skip the copy.
      return (FRESH_OUTPUTS.has(key) ? output : structuredClone(output)) as Record<string, unknown>;
    } catch (error) {
      this.counts.errors[key] = (this.counts.errors[key] ?? 0) + 1;
      throw error;
    }
  }

  /** Adds the simulator beneath an SDK client: commands are answered here, never sent over HTTP. */
  attach<C extends { middlewareStack: { add: (...args: never[]) => unknown } }>(
    client: C,
    service: ServiceName,
  ): C {
    const stack = client.middlewareStack as unknown as {
      add(
        mw: (
          next: unknown,
          context: { commandName?: string },
        ) => (args: { input: Input }) => Promise<unknown>,
        options: { step: 'initialize'; priority: 'high'; name: string },
      ): void;
    };
    stack.add(
      (_next, context) => async (args) => {
        const operation = (context.commandName ?? '').replace(/Command$/, '');
        const output = await this.call(service, operation, args.input ?? {});
        return {
          output: {
            $metadata: { httpStatusCode: 200, requestId: requestId(), attempts: 1, totalRetryDelay: 0 },
            ...output,
          },
          response: {},
        };
      },
      { step: 'initialize', priority: 'high', name: 'dbAutopilotSimulatedAccount' },
    );
    return client;
  }

  /** Real SDK v3 clients with the simulator beneath them (static fake credentials, no network). */
  clients(): SimClients {
    if (this.cachedClients) return this.cachedClients;
    const common = {
      region: this.region,
      credentials: { accessKeyId: 'AKIASIMULATED0000000', secretAccessKey: 'simulated' },
      maxAttempts: 1,
    };
    this.cachedClients = {
      rds: this.attach(new RDSClient(common), 'rds'),
      dynamodb: this.attach(new DynamoDBClient(common), 'dynamodb'),
      cloudwatch: this.attach(new CloudWatchClient(common), 'cloudwatch'),
      ssm: this.attach(new SSMClient(common), 'ssm'),
      secretsManager: this.attach(new SecretsManagerClient(common), 'secretsManager'),
      sns: this.attach(new SNSClient(common), 'sns'),
      tagging: this.attach(new ResourceGroupsTaggingAPIClient(common), 'tagging'),
      autoscaling: this.attach(new ApplicationAutoScalingClient(common), 'autoscaling'),
      route53: this.attach(new Route53Client({ ...common, region: 'us-east-1' }), 'route53'),
      pi: this.attach(new PIClient(common), 'pi'),
    };
    return this.cachedClients;
  }

  /**
   * Makes `aws()` return the simulated clients and `clock()` the virtual clock. The state table
   * client is left alone unless given (the demo points it at dynalite). Returns an uninstall function.
   */
  install(options: { stateTable?: DynamoDBClient } = {}): () => void {
    const restoreClients = setAwsClients({
      ...this.clients(),
      ...(options.stateTable ? { stateTable: options.stateTable } : {}),
    });
    const restoreClock = useClock(this.clock);
    return () => {
      restoreClock();
      restoreClients();
    };
  }
}

/** The throttling error each service answers with when a rate limit is exceeded. */
function throttlingError(service: ServiceName): Error {
  const $metadata = errorMetadata(400);
  switch (service) {
    case 'dynamodb':
      // DynamoDB API reference, Common errors: ThrottlingException "Rate of requests exceeds the allowed throughput."
      return new DynamoThrottling({ message: 'Rate of requests exceeds the allowed throughput.', $metadata });
    case 'rds':
      // RDS API reference, Common errors: Throttling "Rate exceeded".
      return serviceError(RDSServiceException, 'Throttling', 'Rate exceeded');
    case 'cloudwatch':
      // CloudWatch API reference, Common errors: Throttling "Rate exceeded".
      return serviceError(CloudWatchServiceException, 'Throttling', 'Rate exceeded');
    case 'ssm':
      return new SsmThrottling({ Message: 'Rate exceeded', message: 'Rate exceeded', $metadata });
    case 'secretsManager':
      return serviceError(SecretsManagerServiceException, 'ThrottlingException', 'Rate exceeded');
    case 'sns':
      return new SnsThrottled({ message: 'Rate exceeded', $metadata });
    case 'tagging':
      // Resource Groups Tagging API reference, GetResources errors: ThrottledException.
      return new TaggingThrottled({ message: 'Rate exceeded', $metadata });
    case 'autoscaling':
      return serviceError(ApplicationAutoScalingServiceException, 'ThrottlingException', 'Rate exceeded');
    case 'route53':
      return new Route53Throttling({ message: 'Rate exceeded', $metadata });
    case 'pi':
      return serviceError(PIServiceException, 'ThrottlingException', 'Rate exceeded');
  }
}
