import { describe, expect, it } from 'vitest';
import { metricSeries } from '../../../shared/tuners/replicas.ts';

const asked = (series: ReturnType<typeof metricSeries>) =>
  series.map((s) => `${s.id} ${s.metric?.metricName} ${s.statistic}`);

describe('replica scaler metric requests', () => {
  it("asks a reader for CPU, connections, peak connections, lag and DBLoadCPU, and a source's primary only for CPU", () => {
    expect(asked(metricSeries(['orders-r1'], ['orders'], new Set()))).toEqual([
      'orders-r1|cpu CPUUtilization Average',
      'orders-r1|conn DatabaseConnections Average',
      'orders-r1|connmax DatabaseConnections Maximum',
      'orders-r1|lag ReplicaLag Maximum',
      'orders-r1|dbloadcpu DBLoadCPU Average',
      'orders|cpu CPUUtilization Average',
    ]);
  });

  it('asks an Aurora reader for AuroraReplicaLag and the writer only for CPU', () => {
    expect(asked(metricSeries(['app-reader'], ['app-writer'], new Set(['app-reader'])))).toEqual([
      'app-reader|cpu CPUUtilization Average',
      'app-reader|conn DatabaseConnections Average',
      'app-reader|connmax DatabaseConnections Maximum',
      'app-reader|lag AuroraReplicaLag Maximum',
      'app-reader|dbloadcpu DBLoadCPU Average',
      'app-writer|cpu CPUUtilization Average',
    ]);
  });

  it('asks a source without readers for one metric, and each instance once even when listed twice', () => {
    expect(asked(metricSeries([], ['lonely', 'lonely'], new Set()))).toEqual([
      'lonely|cpu CPUUtilization Average',
    ]);
    const both = asked(metricSeries(['x'], ['x'], new Set()));
    expect(both).toHaveLength(5);
    expect(new Set(both).size).toBe(5);
  });
});
