/**
 * Fault injection for the soak (shared/cli/soak.ts): AWS calls and state-table calls that fail the
 * way they fail in a real account, seeded so a run can be replayed.
 *
 * - AWS (a middleware just before the simulated account answers): a throttling or server error of
 *   the service's own SDK exception class before the call (AWS did nothing), or, for a mutating
 *   call, the response lost after AWS made the change (a 5xx / timeout the caller sees anyway);
 * - the state table (a proxy around the store): a write fails before it is made, or is made and its
 *   answer is lost; a read fails;
 * - killed runs: from a chosen call of an invocation on, nothing reaches AWS or the state table
 *   any more (the process is gone as far as the world can tell).
 * Every successful mutating AWS call is logged (with the invocation that made it) for the checks.
 */
import { InternalServiceException as AasInternal } from '@aws-sdk/client-application-auto-scaling';
import { InternalServiceFault } from '@aws-sdk/client-cloudwatch';
import {
  InternalServerError as DynamoInternal,
  ThrottlingException as DynamoThrottling,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { RDSServiceException } from '@aws-sdk/client-rds';
import {
  InternalServiceException as TaggingInternal,
  ThrottledException as TaggingThrottled,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { PriorRequestNotComplete, ThrottlingException as Route53Throttling } from '@aws-sdk/client-route-53';
import { InternalServiceError as SecretsInternal } from '@aws-sdk/client-secrets-manager';
import { InternalErrorException as SnsInternal } from '@aws-sdk/client-sns';
import { InternalServerError as SsmInternal } from '@aws-sdk/client-ssm';
import type { StateStore } from '../core/contracts.ts';
import { seededRandom } from '../core/random.ts';

/** AWS operations that change something (what the checks count and pause must stop). */
export const MUTATING_OPERATIONS = new Set([
  'rds:ModifyDBInstance',
  'rds:CreateDBInstance',
  'rds:CreateDBInstanceReadReplica',
  'rds:DeleteDBInstance',
  'rds:AddTagsToResource',
  'dynamodb:UpdateTable',
  'autoscaling:RegisterScalableTarget',
  'autoscaling:PutScalingPolicy',
  'route53:ChangeResourceRecordSets',
]);

const meta = (httpStatusCode: number) => ({ httpStatusCode, requestId: 'soak-fault', attempts: 1 });

/** An error of the service's own SDK exception class, as AWS answers it. */
export function awsError(service: string, kind: 'throttle' | 'server'): Error {
  const server = { $fault: 'server' as const, $metadata: meta(500), message: 'injected: internal error' };
  const throttle = { $fault: 'client' as const, $metadata: meta(400), message: 'injected: rate exceeded' };
  switch (service) {
    case 'rds':
      return kind === 'throttle'
        ? new RDSServiceException({ name: 'Throttling', ...throttle })
        : new RDSServiceException({ name: 'InternalFailure', ...server });
    case 'dynamodb':
      return kind === 'throttle' ? new DynamoThrottling(throttle) : new DynamoInternal(server);
    case 'cloudwatch':
      return new InternalServiceFault(server);
    case 'tagging':
      return kind === 'throttle' ? new TaggingThrottled(throttle) : new TaggingInternal(server);
    case 'autoscaling':
      return new AasInternal(server);
    case 'route53':
      return kind === 'throttle' ? new Route53Throttling(throttle) : new PriorRequestNotComplete(throttle);
    case 'ssm':
      return new SsmInternal(server);
    case 'sns':
      return new SnsInternal(server);
    default:
      return new SecretsInternal(server);
  }
}

/** What the soak stops a killed invocation with (not an AWS error: the process is gone). */
export class KilledRun extends Error {
  override name = 'KilledRun';
}

export interface MutationRecord {
  key: string;
  input: Record<string, unknown>;
  at: number;
  invocation: number;
  eventKey: string;
  lostResponse: boolean;
}

export interface InvocationState {
  seq: number;
  eventKey: string;
  /** Calls (AWS and state) made so far; at `killAt` the run is "killed". */
  calls: number;
  killAt?: number;
  killed: boolean;
}

export class FaultInjector {
  readonly random: () => number;
  faults = 0;
  readonly counts: Record<string, number> = {};
  readonly mutations: MutationRecord[] = [];
  current: InvocationState | undefined;
  /** Turned off while the soak itself reads the account and the store for its checks. */
  enabled = true;

  constructor(
    readonly rate: number,
    seed: number,
    private readonly now: () => number,
  ) {
    this.random = seededRandom(seed);
  }

  count(kind: string): void {
    this.faults += 1;
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  /** Every call of a live invocation: counts towards its kill point; throws once it is killed. */
  private step(): void {
    const inv = this.current;
    if (!inv) return;
    if (inv.killed) throw new KilledRun('the run was killed');
    inv.calls += 1;
    if (inv.killAt !== undefined && inv.calls >= inv.killAt) {
      inv.killed = true;
      this.count('killed');
      throw new KilledRun('the run was killed');
    }
  }

  /** The middleware body: fault before, call, fault after (lost response). */
  async aws<T>(service: string, operation: string, input: Record<string, unknown>, next: () => Promise<T>) {
    if (!this.enabled) return next();
    this.step();
    const key = `${service}:${operation}`;
    const mutating = MUTATING_OPERATIONS.has(key);
    if (this.random() < this.rate) {
      // Half of the faults on a change lose its response after AWS made it.
      if (mutating && this.random() < 0.5) {
        await next();
        this.log(key, input, true);
        this.count('aws-lost-response');
        throw awsError(service, 'server');
      }
      this.count('aws-error');
      throw awsError(service, this.random() < 0.5 ? 'throttle' : 'server');
    }
    const out = await next();
    if (mutating) this.log(key, input, false);
    return out;
  }

  private log(key: string, input: Record<string, unknown>, lostResponse: boolean): void {
    this.mutations.push({
      key,
      input: structuredClone(input),
      at: this.now(),
      invocation: this.current?.seq ?? 0,
      eventKey: this.current?.eventKey ?? '',
      lostResponse,
    });
  }

  /** Adds the AWS fault middleware to a simulated client, just before the simulator answers. */
  attach<C extends { middlewareStack: unknown }>(client: C, service: string): C {
    const stack = client.middlewareStack as {
      identify(): string[];
      addRelativeTo(mw: unknown, options: Record<string, unknown>): void;
    };
    if (stack.identify().some((n) => n.startsWith('dbAutopilotSoakFaults'))) return client;
    stack.addRelativeTo(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
        async (args: { input?: Record<string, unknown> }) =>
          this.aws(service, (context.commandName ?? '').replace(/Command$/, ''), args.input ?? {}, () =>
            next(args),
          ),
      { relation: 'before', toMiddleware: 'dbAutopilotSimulatedAccount', name: 'dbAutopilotSoakFaults' },
    );
    return client;
  }

  /** The store behind a proxy that fails its calls (writes: before, or after with the answer lost). */
  wrapStore(store: StateStore): StateStore {
    return new Proxy(store, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (!this.enabled) return value.apply(target, args);
          this.step();
          const write = WRITES.has(String(prop));
          if (this.random() < this.rate) {
            if (write && this.random() < 0.5) {
              await value.apply(target, args);
              this.count('state-lost-response');
            } else this.count('state-error');
            throw this.random() < 0.5
              ? new ProvisionedThroughputExceededException({
                  message: 'injected: throughput',
                  $metadata: meta(400),
                })
              : new DynamoInternal({ message: 'injected: internal error', $metadata: meta(500) });
          }
          return value.apply(target, args);
        };
      },
    });
  }
}

const WRITES = new Set([
  'recordDecision',
  'flushTotals',
  'resolveDecision',
  'claimIdempotencyKey',
  'releaseIdempotencyKey',
  'acquireLock',
  'releaseLock',
  'recordCreated',
  'forgetCreated',
  'putTunerState',
  'recordDrift',
  'markReported',
]);
