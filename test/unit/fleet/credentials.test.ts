import {
  AssumeRoleCommand,
  ExpiredTokenException,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemberCredentialCache, memberRoleArn, sessionName } from '../../../shared/fleet/credentials.ts';

const stsMock = mockClient(STSClient);
const NOW = new Date('2026-11-23T12:00:00Z');

function ok(account: string, expiresInMs = 3_600_000) {
  return {
    Credentials: {
      AccessKeyId: `ASIA${account}`,
      SecretAccessKey: 's',
      SessionToken: 't',
      Expiration: new Date(NOW.getTime() + expiresInMs),
    },
  };
}

const accessDenied = () =>
  new STSServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    $metadata: { httpStatusCode: 403 },
    message: 'User: arn:aws:sts::000000000000:assumed-role/x/y is not authorized to perform: sts:AssumeRole',
  });

beforeEach(() => stsMock.reset());

describe('member account credentials', () => {
  it('assumes db-autopilot-member with the external id, once per account and run', async () => {
    // Prepare
    stsMock
      .on(AssumeRoleCommand)
      .callsFake((input: { RoleArn: string }) => ok(input.RoleArn.split(':')[4] ?? ''));
    const cache = new MemberCredentialCache(
      new STSClient({ region: 'us-east-1' }),
      'ext-1',
      sessionName('r1'),
      () => NOW,
    );
    // Act: three units of one account at once, one of another.
    const results = await Promise.all([
      cache.get('111111111111'),
      cache.get('111111111111'),
      cache.get('111111111111'),
      cache.get('222222222222'),
    ]);
    // Assess
    expect(results.every((r) => r.ok)).toBe(true);
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: 'arn:aws:iam::111111111111:role/db-autopilot-member',
      ExternalId: 'ext-1',
      RoleSessionName: 'db-autopilot-r1',
    });
  });

  it('answers a role that cannot be assumed with why (AccessDenied, the real STS exception), never a throw', async () => {
    stsMock.on(AssumeRoleCommand).rejects(accessDenied());
    const cache = new MemberCredentialCache(
      new STSClient({ region: 'us-east-1' }),
      'ext-1',
      'run',
      () => NOW,
    );
    const result = await cache.get('333333333333');
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toMatch(
      /cannot assume db-autopilot-member in account 333333333333 \(AccessDenied\): .*external id/,
    );
    // The failure is kept for the run: the account's other units do not ask again.
    await cache.get('333333333333');
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
  });

  it('names expired central credentials and other STS errors by their class', async () => {
    stsMock.on(AssumeRoleCommand).rejects(new ExpiredTokenException({ message: 'expired', $metadata: {} }));
    const cache = new MemberCredentialCache(
      new STSClient({ region: 'us-east-1' }),
      'ext-1',
      'run',
      () => NOW,
    );
    const result = await cache.get('111111111111');
    expect(result.ok ? '' : result.reason).toContain('ExpiredTokenException');
  });

  it('renews credentials that are within 5 minutes of expiring', async () => {
    let now = NOW;
    stsMock.on(AssumeRoleCommand).resolves(ok('111111111111', 10 * 60_000));
    const cache = new MemberCredentialCache(
      new STSClient({ region: 'us-east-1' }),
      'ext-1',
      'run',
      () => now,
    );
    await cache.get('111111111111');
    now = new Date(NOW.getTime() + 4 * 60_000);
    await cache.get('111111111111');
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    now = new Date(NOW.getTime() + 6 * 60_000);
    await cache.get('111111111111');
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it('builds the member role ARN in any partition and a session name STS accepts', () => {
    expect(memberRoleArn('111111111111', 'aws-cn')).toBe(
      'arn:aws-cn:iam::111111111111:role/db-autopilot-member',
    );
    expect(sessionName('fleet/2026-11-23T12:00:00Z#x'.repeat(4))).toMatch(/^[\w+=,.@-]{2,64}$/);
  });
});
