import {
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import { setConfig } from '../../../shared/config/load.ts';
import { configSchema } from '../../../shared/config/schema.ts';
import { runControl } from '../../../shared/control/commands.ts';
import type { Decision } from '../../../shared/core/model.ts';
import { planReplicas } from '../../../shared/policies/replicas.ts';
import { setStateStore } from '../../../shared/state/index.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { registration } from '../../../shared/tuners/replicas.ts';
import { aurora, NOW, reader, settings } from './fixtures.ts';

const rds = mockClient(RDSClient);
const tagging = mockClient(ResourceGroupsTaggingAPIClient);
const ssm = mockClient(SSMClient);
const TAG = { Key: 'db-autopilot:created-by', Value: 'db-autopilot' };
const config = configSchema.parse({
  version: 1,
  defaults: { mode: 'apply' },
  tuners: {
    replicas: { resources: { identifiers: ['securecart-aurora'] }, minReaders: 1, maxReaders: 5 },
  },
});

/** The decision a real scale-out of securecart-aurora records (from the policy, not hand-made). */
function scaleOutDecision(): { decision: Decision; replicaId: string } {
  const add = planReplicas(
    aurora([reader('r1', { cpuPercent: 95 })]),
    settings(),
    { recommendations: [] },
    NOW,
  ).plan.actions.find((a) => a.kind === 'add-replica');
  if (!add) throw new Error('the policy planned no add-replica');
  const replicaId = String((add.params as { replicaId: string }).replicaId);
  const decision: Decision = {
    id: 'replicas-run:0001',
    runId: 'replicas-run',
    at: NOW.toISOString(),
    tuner: 'replicas',
    resource: add.resource.id,
    resourceKind: add.resource.kind,
    action: add.kind,
    outcome: 'applied',
    reason: add.reason,
    evidence: [],
    monthlyCostDelta: add.monthlyCostDelta,
    from: add.from,
    to: add.to,
    undo: add.undo,
    guard: 'adapter',
    mode: 'apply',
    dryRun: false,
    override: false,
    trigger: 'schedule',
    severity: 'info',
  };
  return { decision, replicaId };
}

let restore: () => void;
let restoreStore: () => void = () => {};

beforeEach(() => {
  restore = setAwsClients({
    rds: new RDSClient({ region: 'us-east-1' }),
    tagging: new ResourceGroupsTaggingAPIClient({ region: 'us-east-1' }),
    ssm: new SSMClient({ region: 'us-east-1' }),
  });
  setConfig(config);
  ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
  tagging.on(GetResourcesCommand).resolves({
    ResourceTagMappingList: [
      { ResourceARN: 'arn:aws:rds:us-east-1:123456789012:cluster:securecart-aurora', Tags: [] },
    ],
  });
});

afterEach(() => {
  rds.reset();
  tagging.reset();
  ssm.reset();
  setConfig(undefined);
  restore();
  restoreStore();
});

describe('revert of a replicas decision', () => {
  it('deletes the replica a scale-out created, through the guards, and forgets it', async () => {
    const { decision, replicaId } = scaleOutDecision();
    const store = new MemoryStateStore();
    restoreStore = setStateStore(store);
    await store.recordDecision(decision);
    await store.recordCreated('replicas', replicaId, { tuner: 'replicas' }, NOW);
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: replicaId,
          DBClusterIdentifier: 'securecart-aurora',
          DBInstanceStatus: 'available',
          TagList: [TAG],
        },
      ],
    });
    rds.on(DescribeDBClustersCommand).resolves({
      DBClusters: [{ DBClusterMembers: [{ DBInstanceIdentifier: replicaId, IsClusterWriter: false }] }],
    });
    rds.on(DeleteDBInstanceCommand).resolves({});

    const result = await runControl(
      { command: 'revert', decisionId: decision.id, dryRun: false, override: false },
      {
        ssm: new SSMClient({ region: 'us-east-1' }),
        tagging: new ResourceGroupsTaggingAPIClient({ region: 'us-east-1' }),
        store,
        config: () => config,
        loadTuner: async () => registration,
        pauseParameter: '/db-autopilot/paused',
        now: new Date(NOW.getTime() + 3600_000),
        requestId: 'req-revert',
      },
    );

    expect(result).toMatchObject({ ok: true, reverted: true, decision: { resource: replicaId } });
    expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, { DBInstanceIdentifier: replicaId });
    expect(await store.wasCreatedByUs('replicas', replicaId)).toBe(false);
  });

  it('gives the replica its source consent and its own tags', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'r1',
          DBClusterIdentifier: 'securecart-aurora',
          TagList: [{ Key: 'db-autopilot:opt-out', Value: 'true' }],
        },
      ],
    });
    const target = await registration.target?.({ kind: 'rds-instance', id: 'r1' });
    expect(target).toMatchObject({ managed: true, created: false, optedOut: true });
  });
});
