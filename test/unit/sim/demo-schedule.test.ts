import { describe, expect, it } from 'vitest';
import { deployedFunctions, parseSchedule } from '../../../shared/cli/demo.ts';

describe('the demo scheduler', () => {
  it('reads rate and cron expressions as EventBridge writes them', () => {
    expect(parseSchedule('rate(5 minutes)')).toEqual({ everyMinutes: 5 });
    expect(parseSchedule('rate(1 hour)')).toEqual({ everyMinutes: 60 });
    expect(parseSchedule('cron(30 5 * * ? *)')).toEqual({ cron: { minute: 30, hour: 5 } });
    expect(parseSchedule('every now and then')).toBeUndefined();
  });

  it('finds the deployed functions, their schedules and the alarm rule in serverless.yml', () => {
    const fns = deployedFunctions(process.cwd());
    const byName = new Map(fns.map((f) => [f.name, f]));
    expect(byName.get('alarm-handler')?.onAlarms).toBe(true);
    for (const f of fns)
      for (const s of f.schedules) expect(parseSchedule(s), `${f.name}: ${s}`).toBeDefined();
    expect(fns.some((f) => f.schedules.length > 0)).toBe(true);
  });
});
