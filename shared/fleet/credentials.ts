/**
 * Credentials of a fleet's member accounts: AssumeRole into `db-autopilot-member` with the
 * configured external id, once per account and run (cached until 5 minutes before they expire),
 * and SDK clients per (account, Region) from them. A role that cannot be assumed is an answer
 * (`ok: false` with why), never a thrown error: the unit records it and the other units go on.
 */
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PIClient } from '@aws-sdk/client-pi';
import { RDSClient } from '@aws-sdk/client-rds';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { Route53Client } from '@aws-sdk/client-route-53';
import { AssumeRoleCommand, type STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { limitAttempts, MAX_ATTEMPTS } from '../aws/clients.ts';
import { MEMBER_ROLE_NAME } from '../config/sections/fleet.ts';
import { publicMessage } from '../core/errors.ts';
import type { FleetScope, MemberClients } from '../core/scope.ts';

export interface MemberCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export type AssumeResult = { ok: true; credentials: MemberCredentials } | { ok: false; reason: string };

/** Session length asked for (the member role's MaxSessionDuration is 1 hour, the default). */
export const SESSION_SECONDS = 3600;
/** Credentials closer than this to their expiry are renewed before use. */
export const RENEW_BEFORE_MS = 5 * 60_000;

export function memberRoleArn(account: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${account}:role/${MEMBER_ROLE_NAME}`;
}

/** Why AssumeRole failed, in words an operator can act on (STS API reference, AssumeRole errors). */
export function whyNotAssumed(account: string, error: unknown): string {
  const role = `${MEMBER_ROLE_NAME} in account ${account}`;
  if (error instanceof STSServiceException) {
    switch (error.name) {
      case 'AccessDenied':
        return `cannot assume ${role} (AccessDenied): the member stack is not deployed there, or its trust policy does not name this deployment's role, or the external id differs`;
      case 'RegionDisabledException':
        return `cannot assume ${role}: STS is not activated in this Region for the account (RegionDisabledException)`;
      case 'ExpiredTokenException':
        return `cannot assume ${role}: the central role's own credentials expired (ExpiredTokenException)`;
      default:
        return `cannot assume ${role} (${error.name}): ${publicMessage(error)}`;
    }
  }
  return `cannot assume ${role}: ${publicMessage(error)}`;
}

/**
 * One AssumeRole per member account and run: concurrent units of the same account share the
 * call in flight; an answer (success or failure) is kept for the run, success until it is near
 * its expiry.
 */
export class MemberCredentialCache {
  private readonly byAccount = new Map<string, Promise<AssumeResult>>();
  assumeRoleCalls = 0;

  constructor(
    private readonly sts: STSClient,
    private readonly externalId: string,
    private readonly sessionName: string,
    private readonly now: () => Date,
    private readonly partition = 'aws',
  ) {}

  get(account: string): Promise<AssumeResult> {
    const cached = this.byAccount.get(account);
    if (cached) {
      return cached.then((r) =>
        r.ok && r.credentials.expiration.getTime() - this.now().getTime() < RENEW_BEFORE_MS
          ? this.assume(account)
          : r,
      );
    }
    return this.assume(account);
  }

  private assume(account: string): Promise<AssumeResult> {
    this.assumeRoleCalls += 1;
    const pending = this.call(account);
    this.byAccount.set(account, pending);
    return pending;
  }

  private async call(account: string): Promise<AssumeResult> {
    try {
      const out = await this.sts.send(
        new AssumeRoleCommand({
          RoleArn: memberRoleArn(account, this.partition),
          RoleSessionName: this.sessionName.slice(0, 64),
          ExternalId: this.externalId,
          DurationSeconds: SESSION_SECONDS,
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration)
        return { ok: false, reason: `AssumeRole into account ${account} returned no credentials` };
      return {
        ok: true,
        credentials: {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          sessionToken: c.SessionToken,
          expiration: new Date(c.Expiration),
        },
      };
    } catch (error) {
      return { ok: false, reason: whyNotAssumed(account, error) };
    }
  }
}

/** A session name that says who is calling (CloudTrail shows it in the member account). */
export function sessionName(runId: string): string {
  return `db-autopilot-${runId}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

/** Real SDK clients for the tuned services of one member scope, from its credentials. */
export function memberClientsFor(scope: FleetScope, credentials: MemberCredentials): MemberClients {
  const common = {
    region: scope.region,
    credentials,
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'adaptive',
  } as const;
  return {
    rds: limitAttempts(new RDSClient(common), 'rds'),
    dynamodb: limitAttempts(new DynamoDBClient(common), 'dynamodb'),
    cloudwatch: limitAttempts(new CloudWatchClient(common), 'cloudwatch'),
    tagging: limitAttempts(new ResourceGroupsTaggingAPIClient(common), 'tagging'),
    autoscaling: limitAttempts(new ApplicationAutoScalingClient(common), 'autoscaling'),
    // Route 53 is a global service.
    route53: limitAttempts(new Route53Client({ ...common, region: 'us-east-1' }), 'route53'),
    pi: limitAttempts(new PIClient(common), 'pi'),
  };
}
