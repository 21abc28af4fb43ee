/**
 * What the simulated account holds at the end of a metered run that the bill needs: the managed
 * resources (each DynamoDB table and GSI db-autopilot's config selects, each DB instance), the
 * alarms db-autopilot keeps (by resource, from their dimensions) and its dashboards.
 */
import type { Config } from '../config/schema.ts';
import type { SimAccount } from '../sim/index.ts';
import { resourceOfDimensions } from './meter.ts';

export interface SimFleetCost {
  managedResources: string[];
  alarms: Record<string, number>;
  dashboards: number;
}

export function simFleetCost(sim: SimAccount, config: Config, alarmPrefix: string): SimFleetCost {
  const wanted = new Set(config.tuners.dynamodb?.resources.identifiers ?? []);
  const managed: string[] = [];
  for (const [name, table] of sim.dynamodb.tables) {
    if (!wanted.has(name)) continue;
    managed.push(name, ...[...table.gsis.keys()].map((g) => `${name}/index/${g}`));
  }
  managed.push(...sim.rds.instances.keys());
  const alarms: Record<string, number> = {};
  for (const a of sim.cloudwatch.alarms.values()) {
    if (!a.AlarmName.startsWith(alarmPrefix)) continue;
    const id = resourceOfDimensions(a.Dimensions);
    alarms[id] = (alarms[id] ?? 0) + 1;
  }
  return {
    managedResources: [...new Set(managed)].sort(),
    alarms,
    dashboards: sim.cloudwatch.dashboards.size,
  };
}
