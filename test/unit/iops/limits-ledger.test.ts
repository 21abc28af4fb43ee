import { describe, expect, it } from 'vitest';
import {
  classEbsLimit,
  gp3ThroughputFor,
  minStorageForIops,
  nonStoragePending,
  validIopsRange,
} from '../../../shared/aws/rds-storage-limits.ts';
import type { Decision } from '../../../shared/core/model.ts';
import {
  buildStorageLedger,
  isStorageChangeEvent,
  storageChangeRules,
} from '../../../shared/policies/iops-ledger.ts';

describe('RDS storage limits (aws-facts.md table)', () => {
  it('caps io1 below 400 GiB at 19,950 IOPS and at 50 IOPS per GiB', () => {
    expect(validIopsRange('postgres', 'io1', 399)).toMatchObject({ settable: true, min: 1000, max: 19_950 });
    expect(validIopsRange('postgres', 'io1', 200)).toMatchObject({ settable: true, max: 10_000 });
    expect(validIopsRange('postgres', 'io1', 6000)).toMatchObject({
      settable: true,
      min: 3000,
      max: 256_000,
    });
  });

  it('lets gp3 set IOPS only from 400 GiB, 12,000 to 64,000 and at most 500 per GiB', () => {
    expect(validIopsRange('mysql', 'gp3', 399).settable).toBe(false);
    expect(validIopsRange('mysql', 'gp3', 400)).toMatchObject({ settable: true, min: 12_000, max: 64_000 });
    // Oracle stripes at 200 GiB, not 400 (aws-facts.md, Learned from review).
    expect(validIopsRange('oracle-ee', 'gp3', 199).settable).toBe(false);
    expect(validIopsRange('oracle-ee', 'gp3', 200)).toMatchObject({ settable: true, min: 12_000 });
  });

  it('allows io2 up to 1,000 IOPS per GiB and 256,000 in all', () => {
    expect(validIopsRange('postgres', 'io2', 100)).toMatchObject({ settable: true, max: 100_000 });
    expect(validIopsRange('postgres', 'io2', 1000)).toMatchObject({ settable: true, max: 256_000 });
  });

  it('never sets IOPS on gp2 or magnetic storage', () => {
    expect(validIopsRange('postgres', 'gp2', 200)).toMatchObject({ settable: false, fixedIops: 600 });
    expect(validIopsRange('postgres', 'standard', 200).settable).toBe(false);
  });

  it('keeps gp3 throughput within 0.25 MiB/s per IOPS and the included 500 MiB/s', () => {
    expect(gp3ThroughputFor(12_000, 4000)).toBe(3000);
    expect(gp3ThroughputFor(20_000, undefined)).toBe(500);
  });

  it('finds the smallest storage that unlocks an IOPS value, growing by at least 10%', () => {
    expect(minStorageForIops('postgres', 'io1', 30_000, 300)).toBe(600);
    expect(minStorageForIops('postgres', 'io1', 15_500, 300)).toBe(330);
    expect(minStorageForIops('postgres', 'io1', 19_000, 380)).toBe(380);
    expect(minStorageForIops('postgres', 'gp3', 20_000, 100)).toBe(400);
    expect(minStorageForIops('postgres', 'io1', 300_000, 300)).toBeUndefined();
  });

  it('knows the EBS limits of common classes and none for unknown ones', () => {
    expect(classEbsLimit('db.r6g.large')?.maxIops).toBe(20_000);
    expect(classEbsLimit('db.x99.huge')).toBeUndefined();
  });

  it('tells storage from non-storage pending modifications', () => {
    expect(nonStoragePending({ Iops: 3000, AllocatedStorage: 500, StorageThroughput: undefined })).toEqual(
      [],
    );
    expect(nonStoragePending({ DBInstanceClass: 'db.r6g.2xlarge', Iops: 3000 })).toEqual(['DBInstanceClass']);
    expect(nonStoragePending({ PendingCloudwatchLogsExports: { LogTypesToEnable: [] } })).toEqual([]);
  });
});

describe('storage-change ledger', () => {
  const decision = (at: string, action: Decision['action'], outcome: Decision['outcome']): Decision => ({
    id: at,
    runId: 'r',
    at,
    tuner: 'iops',
    resource: 'db',
    resourceKind: 'rds-instance',
    action,
    outcome,
    reason: '',
    evidence: [],
    monthlyCostDelta: 0,
    from: 1,
    to: 2,
    undo: null,
    mode: 'apply',
    dryRun: false,
    override: false,
    trigger: 'schedule',
    severity: 'info',
  });

  it('counts modification events, not optimization notices or storage-full warnings', () => {
    expect(isStorageChangeEvent({ date: '', message: 'Applying modification to allocated storage' })).toBe(
      true,
    );
    expect(
      isStorageChangeEvent({
        date: '',
        message: 'Applying autoscaling-initiated modification to allocated storage',
      }),
    ).toBe(true);
    expect(isStorageChangeEvent({ date: '', message: 'Storage optimization completed' })).toBe(false);
    expect(
      isStorageChangeEvent({
        date: '',
        message: 'The free storage capacity is approaching the maximum storage threshold',
      }),
    ).toBe(false);
    expect(
      isStorageChangeEvent({ date: '', message: 'Applying modification to database instance class' }),
    ).toBe(false);
  });

  it('merges the start and end events of one change, and our own record of it', () => {
    const ledger = buildStorageLedger({
      instance: { status: 'available' },
      events: [
        { date: '2026-11-20T10:00:00.000Z', message: 'Applying modification to allocated storage' },
        { date: '2026-11-20T10:10:00.000Z', message: 'Finished applying modification to allocated storage' },
        { date: '2026-11-20T12:00:00.000Z', message: 'Storage optimization completed' },
      ],
      decisions: [
        decision('2026-11-20T10:00:01.000Z', 'set-iops', 'applied'),
        decision('2026-11-20T09:00:00.000Z', 'set-iops', 'deferred'),
      ],
    });
    expect(ledger.changes).toHaveLength(1);
  });

  it('counts a change by a person that only shows as a finished event', () => {
    const ledger = buildStorageLedger({
      instance: { status: 'available' },
      events: [
        { date: '2026-11-20T10:10:00.000Z', message: 'Finished applying modification to allocated storage' },
      ],
      decisions: [],
    });
    const rules = storageChangeRules(ledger, new Date('2026-11-20T12:00:00.000Z'));
    expect(rules.find((r) => r.rule === 'aws:storage-wait-6h')).toMatchObject({
      verdict: 'defer',
      until: '2026-11-20T16:10:00.000Z',
    });
  });

  it('allows a change on storage-full, not on modifying', () => {
    const at = new Date('2026-11-20T12:00:00.000Z');
    const full = storageChangeRules(
      buildStorageLedger({ instance: { status: 'storage-full' }, events: [], decisions: [] }),
      at,
    );
    const busy = storageChangeRules(
      buildStorageLedger({ instance: { status: 'modifying' }, events: [], decisions: [] }),
      at,
    );
    expect(full.every((r) => r.verdict === 'ok')).toBe(true);
    expect(busy.find((r) => r.rule === 'aws:rds-status')?.verdict).toBe('defer');
  });
});
