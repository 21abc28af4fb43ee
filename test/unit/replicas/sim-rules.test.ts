import {
  CreateDBInstanceCommand,
  CreateDBInstanceReadReplicaCommand,
  DescribeAccountAttributesCommand,
  InsufficientDBInstanceCapacityFault,
  InvalidDBInstanceStateFault,
} from '@aws-sdk/client-rds';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aws } from '../../../shared/aws/clients.ts';
import { MINUTE_MS, SimAccount, workload as w } from '../../../shared/sim/index.ts';
import { setReadRouting } from '../../../shared/sim/rds-replica-rules.ts';

const START = '2026-11-23T00:00:00.000Z';
let sim: SimAccount;
let uninstall: () => void;

beforeEach(() => {
  sim = new SimAccount({ start: START, historyStart: Date.parse(START) - 60 * MINUTE_MS, rateLimits: false });
  sim.rds.addCluster({ id: 'c1', engine: 'aurora-postgresql' });
  sim.rds.addInstance({
    id: 'c1-w',
    engine: 'aurora-postgresql',
    instanceClass: 'db.r6g.large',
    clusterId: 'c1',
    writer: true,
  });
  sim.rds.addInstance({
    id: 'src',
    engine: 'mysql',
    instanceClass: 'db.r6g.large',
    backupRetentionPeriod: 0,
  });
  sim.route53.addZone('Z0TEST', 'db.test.internal.');
  uninstall = sim.install();
});

afterEach(() => uninstall());

describe('simulated read replica rules', () => {
  it('answers DescribeAccountAttributes with the DB instance quota and its use', async () => {
    const out = await aws().rds.send(new DescribeAccountAttributesCommand({}));
    expect(out.AccountQuotas).toEqual([{ AccountQuotaName: 'DBInstances', Used: 2, Max: 40 }]);
  });

  it('rejects an Aurora reader whose engine is not the cluster engine', async () => {
    const error = await aws()
      .rds.send(
        new CreateDBInstanceCommand({
          DBInstanceIdentifier: 'dbap-c1-1',
          DBClusterIdentifier: 'c1',
          Engine: 'aurora-mysql',
          DBInstanceClass: 'db.r6g.large',
        }),
      )
      .catch((e: unknown) => e);
    expect((error as Error).name).toBe('InvalidParameterCombination');
    expect((error as Error).message).toMatch(
      /doesn't match the engine name of your DB cluster \(aurora-postgresql\)/,
    );
  });

  it('refuses a read replica of a source without backups (the core rule, through the SDK)', async () => {
    const error = await aws()
      .rds.send(
        new CreateDBInstanceReadReplicaCommand({
          DBInstanceIdentifier: 'dbap-src-1',
          SourceDBInstanceIdentifier: 'src',
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidDBInstanceStateFault);
  });

  it('answers InsufficientDBInstanceCapacity for a class without capacity', async () => {
    sim.rds.unavailableClasses.add('db.r6g.large');
    const error = await aws()
      .rds.send(
        new CreateDBInstanceCommand({
          DBInstanceIdentifier: 'dbap-c1-1',
          DBClusterIdentifier: 'c1',
          Engine: 'aurora-postgresql',
          DBInstanceClass: 'db.r6g.large',
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsufficientDBInstanceCapacityFault);
  });

  it('gives a routed instance its weighted share of the reads from the minute its record is added', async () => {
    const spec = {
      sourceId: 'src',
      zoneId: 'Z0TEST',
      recordName: 'reads.db.test.internal',
      readCpu: w.constant(80),
    };
    setReadRouting(sim, spec);
    const upsert = (id: string, weight: number) =>
      aws().route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: 'Z0TEST',
          ChangeBatch: {
            Changes: [
              {
                Action: 'UPSERT',
                ResourceRecordSet: {
                  Name: 'reads.db.test.internal',
                  Type: 'CNAME',
                  SetIdentifier: id,
                  Weight: weight,
                  TTL: 30,
                  ResourceRecords: [{ Value: `${id}.example` }],
                },
              },
            ],
          },
        }),
      );
    const before = sim.nowMs();
    await upsert('src', 100);
    sim.advance(5 * MINUTE_MS);
    const half = sim.nowMs();
    await upsert('dbap-src-1', 100);
    const src = sim.rds.instances.get('src');
    // Before any record: no routed reads; then all; then half.
    expect(src?.workload.cpu?.(before - MINUTE_MS)).toBeCloseTo(10, 5);
    expect(src?.workload.cpu?.(before + MINUTE_MS)).toBeCloseTo(90, 5);
    expect(src?.workload.cpu?.(half + MINUTE_MS)).toBeCloseTo(50, 5);
  });
});
