import type { SimAccount } from './engine.ts';
import { findOperation } from './registry.ts';
// The RDS operations must be registered before they are used below.
import './services/rds.ts';

/**
 * RDS storage behaviour added by the IOPS tuner (issue 8), on top of shared/sim/services/rds.ts
 * (which already has the storage-change rules, gp2 burst credits, saturation, storage
 * optimization and its events):
 *
 * - Storage autoscaling (aws-facts.md, RDS storage: "RDS storage autoscaling grows size only
 *   (free space < 10% for 5 min, 6 h apart); it never changes IOPS"). `scheduleStorageAutoscaling`
 *   grows an instance's storage at a virtual time as RDS would when it runs low on space: through
 *   the same ModifyDBInstance rules (so it also waits 6 h after a storage change, and counts toward
 *   the next one), keeping the IOPS, with the autoscaling event RDS publishes
 *   (RDS User Guide, USER_Events.Messages, RDS-EVENT-0217: "Applying autoscaling-initiated
 *   modification to allocated storage"). A change the tuner did not make: its storage-change
 *   ledger must count it.
 */
export function scheduleStorageAutoscaling(
  sim: SimAccount,
  instanceId: string,
  atMs: number,
  newSizeGiB: number,
) {
  sim.at(atMs, () => {
    const inst = sim.rds.instances.get(instanceId);
    const modify = findOperation('rds', 'ModifyDBInstance');
    if (!inst || !modify || inst.status !== 'available') return;
    const from = inst.allocatedStorage;
    const grow = (): void => {
      // Storage autoscaling keeps the IOPS (io1/io2 need both in one request, aws-facts.md).
      void modify(sim, {
        DBInstanceIdentifier: instanceId,
        AllocatedStorage: newSizeGiB,
        ...(inst.iops !== undefined && (inst.storageType === 'io1' || inst.storageType === 'io2')
          ? { Iops: inst.iops }
          : {}),
        ApplyImmediately: true,
      });
      sim.rds.event(
        inst,
        `Applying autoscaling-initiated modification to allocated storage from ${from} GiB to ${newSizeGiB} GiB.`,
        ['configuration change'],
      );
    };
    try {
      grow();
    } catch {
      // Within the storage-change wait RDS autoscaling waits too; this one-off simply does not happen.
    }
  });
}
