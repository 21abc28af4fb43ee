/**
 * The simulated AWS account: real SDK v3 clients with the simulator beneath them (a client
 * middleware answers each command), a virtual clock, workload models, metric histories and the
 * AWS rules of aws-facts.md. Adapters run unchanged: `rdsClient().send(new DescribeDBInstancesCommand({}))`.
 *
 * Usage
 * ```ts
 * import { SimAccount, workload as w, loadScenario } from '../sim/index.ts';
 *
 * // 1. An account and a fleet (or `const sim = await loadScenario('securecart')`).
 * const sim = new SimAccount({ start: '2026-11-20T00:00:00Z', latencyMs: 0 });   // history from 15 days back
 * sim.rds.addInstance({ id: 'orders', engine: 'postgres', instanceClass: 'db.r6g.xlarge',
 *   storageType: 'io1', allocatedStorage: 400, iops: 3000,
 *   workload: { iops: w.diurnal({ base: 1200, peak: 5200, peakHourUtc: 19 }) } });
 * sim.dynamodb.addTable({ name: 'carts', read: 2000, write: 500,
 *   workload: { read: w.constant(300), write: w.constant(80) } });
 * sim.ssm.put('/db-autopilot/paused', 'false');
 *
 * // 2. Install: aws() now returns simulated clients, clock() the virtual clock.
 * const uninstall = sim.install();                // sim.install({ stateTable }) to also set the state table client
 *
 * // 3. Move time: status transitions (modifying -> storage-optimization -> available, creating ->
 * //    available, UPDATING -> ACTIVE) and alarm evaluation run at their virtual times.
 * sim.advance(15 * 60_000);
 *
 * // 4. Read what happened: API calls per operation, the metric history, SNS messages, events.
 * sim.stats();   // { calls: { 'cloudwatch:GetMetricData': 3, ... }, throttled: {...}, errors: {...}, total }
 * sim.sns.messages; sim.rds.events; sim.cloudwatch.takeAlarmEvents();
 * uninstall();
 * ```
 *
 * Options: `latencyMs` (real ms per call), `rateLimits` (calls/s per `service:Operation`, over
 * DEFAULT_RATE_LIMITS: GetMetricData 50, ListTagsOfResource 10; `false` = none), `rateLimitClock`
 * ('virtual' for deterministic tests), `historyStart` (keep it close to `start` for big fleets).
 * The SDK's own retries are bypassed (the middleware answers before the retry step): callers see
 * every throttling error, as with `maxAttempts: 1`.
 *
 * Extending (tuner engineers): add operations with `registerOperations(service, {...})`, AWS rules
 * that reject a call with `registerRule(service, operation, name, (sim, input) => { throw ... })`,
 * metrics with `registerMetricResolver(namespace, ...)`, each in your own file under shared/sim/,
 * imported from shared/sim/extensions.ts. Services: shared/sim/services/<service>.ts.
 */
export { DAY_MS, HOUR_MS, MINUTE_MS, VirtualClock } from './clock.ts';
export { DEFAULT_RATE_LIMITS, SimAccount, type SimOptions, type SimStats } from './engine.ts';
export { type MetricResolver, type MinutePoint, registerMetricResolver } from './metrics.ts';
export {
  type Rule,
  registeredOperations,
  registerOperations,
  registerRule,
  type ServiceName,
} from './registry.ts';
export { loadScenario, scenarioNames } from './scenarios/index.ts';
export type { AlarmStateChangeEvent } from './services/cloudwatch.ts';
export type { DdbWorkload, GsiSpec, TableSpec } from './services/dynamodb.ts';
export type { AuroraClusterSpec, RdsInstanceSpec, RdsWorkload } from './services/rds.ts';
export * as workload from './workload.ts';

import './extensions.ts';
