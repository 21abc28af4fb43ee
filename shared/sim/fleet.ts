/**
 * A simulated fleet: several member accounts and Regions, each a SimAccount of its own (own
 * resources, metrics, rate limits, API call counts), sharing one timeline, and a simulated STS
 * that answers AssumeRole into `db-autopilot-member` the way AWS does: only for an account whose
 * member stack is deployed and whose trust policy's external id matches; anything else is the
 * SDK's real `AccessDenied` error (STSServiceException), as a missing role or a wrong external id
 * is in AWS (STS API reference, AssumeRole; IAM User Guide, "How to use an external ID").
 *
 * ```ts
 * const fleet = new SimFleet({ start, externalId: 'x-1' });
 * fleet.add('111111111111', 'us-east-1', (sim) => sim.dynamodb.addTable({ ... }));
 * fleet.withoutMemberRole('333333333333');          // listed in the config, role never deployed
 * const creds = new MemberCredentialCache(fleet.sts(), 'x-1', 'run', () => fleet.now());
 * fleet.clientsFor({ account, region })              // the member scope's simulated clients
 * ```
 */
import { type AssumeRoleCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { MEMBER_ROLE_NAME } from '../config/sections/fleet.ts';
import { useClock } from '../core/clock.ts';
import { type FleetScope, type MemberClients, scopeKey } from '../core/scope.ts';
import { VirtualClock } from './clock.ts';
import { SimAccount, type SimOptions, type SimStats } from './engine.ts';

export interface SimFleetOptions extends Omit<SimOptions, 'region' | 'accountId'> {
  /** The external id the member stacks were deployed with. */
  externalId: string;
}

export class SimFleet {
  readonly members = new Map<string, SimAccount>();
  /** One timeline for every member (tuners read it through clock()). */
  readonly clock: VirtualClock;
  private readonly withoutRole = new Set<string>();
  private readonly externalIds = new Map<string, string>();
  assumeRoleCalls = 0;
  private stsClient: STSClient | undefined;

  constructor(private readonly options: SimFleetOptions) {
    this.clock = new VirtualClock(options.start);
  }

  now(): Date {
    return this.clock.now();
  }

  /** Adds a member account in one Region (its member stack deployed with the fleet's external id). */
  add(account: string, region: string, build: (sim: SimAccount) => void = () => undefined): SimAccount {
    const { externalId: _externalId, ...simOptions } = this.options;
    const sim = new SimAccount({ ...simOptions, start: this.clock.nowMs(), region, accountId: account });
    build(sim);
    this.members.set(scopeKey({ account, region }), sim);
    if (!this.externalIds.has(account)) this.externalIds.set(account, this.options.externalId);
    return sim;
  }

  member(scope: FleetScope): SimAccount {
    const sim = this.members.get(scopeKey(scope));
    if (!sim) throw new Error(`simulated fleet: no member ${scopeKey(scope)}`);
    return sim;
  }

  /** The account's member stack was never deployed: AssumeRole is denied. */
  withoutMemberRole(account: string): void {
    this.withoutRole.add(account);
  }

  /** The account's member stack was deployed with another external id. */
  setExternalId(account: string, externalId: string): void {
    this.externalIds.set(account, externalId);
  }

  /** The simulated clients of one member scope (what AssumeRole's credentials reach). */
  clientsFor(scope: FleetScope): MemberClients {
    const { rds, dynamodb, cloudwatch, tagging, autoscaling, route53, pi } = this.member(scope).clients();
    return { rds, dynamodb, cloudwatch, tagging, autoscaling, route53, pi };
  }

  /** Moves every member's clock (and the shared timeline) forward together. */
  advance(ms: number): void {
    const target = this.clock.nowMs() + ms;
    for (const sim of this.members.values()) sim.advanceTo(target);
    this.clock.set(target);
  }

  /** Installs the shared timeline as clock(). Returns the uninstall function. */
  install(): () => void {
    return useClock(this.clock);
  }

  /** API calls of every member, summed (AssumeRole included). */
  stats(): SimStats & { assumeRole: number } {
    const total: SimStats = { calls: {}, throttled: {}, errors: {}, total: 0 };
    for (const sim of this.members.values()) {
      const s = sim.stats();
      total.total += s.total;
      for (const part of ['calls', 'throttled', 'errors'] as const) {
        for (const [k, v] of Object.entries(s[part])) total[part][k] = (total[part][k] ?? 0) + v;
      }
    }
    return { ...total, total: total.total + this.assumeRoleCalls, assumeRole: this.assumeRoleCalls };
  }

  /** A real STS client whose AssumeRole the fleet answers (no network). */
  sts(): STSClient {
    if (this.stsClient) return this.stsClient;
    const client = new STSClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIASIMULATED0000000', secretAccessKey: 'simulated' },
      maxAttempts: 1,
    });
    client.middlewareStack.add(
      (_next, context) => async (args) => {
        if (context.commandName !== 'AssumeRoleCommand')
          throw new Error(`simulated STS: ${context.commandName} is not simulated`);
        return {
          output: this.assumeRole((args as { input: AssumeRoleCommand['input'] }).input),
          response: {},
        };
      },
      { step: 'initialize', priority: 'high', name: 'dbAutopilotSimulatedSts' },
    );
    this.stsClient = client;
    return client;
  }

  private assumeRole(input: AssumeRoleCommand['input']) {
    this.assumeRoleCalls += 1;
    const m = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(input.RoleArn ?? '');
    const account = m?.[1] ?? '';
    const deployed =
      m?.[2] === MEMBER_ROLE_NAME &&
      !this.withoutRole.has(account) &&
      [...this.members.keys()].some((k) => k.startsWith(`${account}.`));
    if (!deployed || this.externalIds.get(account) !== input.ExternalId) {
      // AWS answers a missing role and a trust-policy mismatch alike (no hint which).
      throw new STSServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: `User: arn:aws:sts::000000000000:assumed-role/db-autopilot-fleet-worker/x is not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn}`,
      });
    }
    const expiration = new Date(this.clock.nowMs() + (input.DurationSeconds ?? 3600) * 1000);
    return {
      $metadata: { httpStatusCode: 200 },
      Credentials: {
        AccessKeyId: `ASIA${account}SIM`,
        SecretAccessKey: 'simulated',
        SessionToken: 'simulated',
        Expiration: expiration,
      },
      AssumedRoleUser: {
        Arn: `arn:aws:sts::${account}:assumed-role/${MEMBER_ROLE_NAME}/${input.RoleSessionName}`,
        AssumedRoleId: 'AROASIM:x',
      },
    };
  }
}
