import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config/load.ts';
import { fleetSection } from '../../../shared/config/sections/fleet.ts';
import { pool, runPlanLocally } from '../../../shared/fleet/local-map.ts';
import { accountsOfUnits, type OrganizationsPort } from '../../../shared/fleet/organizations.ts';
import { fleetUnitSchema, planFleet, unitOutsideFleet } from '../../../shared/fleet/plan.ts';

const section = (over: Record<string, unknown> = {}) =>
  fleetSection.parse({
    externalId: 'ext-1',
    accounts: ['222222222222', '111111111111'],
    regions: ['us-east-1', 'eu-west-1'],
    ...over,
  });

describe('fleet config', () => {
  it('says what is wrong and where, with the line, for a bad fleet section', () => {
    const yaml = [
      'version: 1',
      'fleet:',
      '  externalId: "x"',
      '  accounts: ["12345", "111111111111", "111111111111"]',
      '  regions: []',
      '  tuners: [maintenance]',
    ].join('\n');
    let message = '';
    try {
      parseConfig(yaml, 'fleet.yml');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('fleet.externalId');
    expect(message).toContain('fleet.accounts[0]');
    expect(message).toContain('12 digits');
    expect(message).toContain('"111111111111" is listed twice');
    expect(message).toContain('fleet.regions');
    expect(message).toContain('fleet.tuners[0]');
    expect(message).toContain('fleet.yml:4 fleet.accounts[0]');
  });

  it('needs accounts or organizational units', () => {
    const result = fleetSection.safeParse({ externalId: 'ext-1', regions: ['us-east-1'] });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('organizational units');
  });

  it('rejects a unit that is not a fleet unit (a bad event changes nothing)', () => {
    expect(
      fleetUnitSchema.safeParse({ runId: 'r', account: '1', region: 'us-east-1', tuner: 'iops' }).success,
    ).toBe(false);
    expect(
      fleetUnitSchema.safeParse({ runId: 'r', account: '111111111111', region: 'us-east-1', tuner: 'iops' })
        .success,
    ).toBe(true);
  });
});

describe('fleet plan', () => {
  it('makes one unit per (account, Region, tuner), grouped by account, accounts sorted and deduplicated', () => {
    const plan = planFleet(
      section({ excludeAccounts: ['333333333333'] }),
      ['111111111111', '333333333333', '444444444444'],
      'r1',
    );
    expect(plan.accounts.map((a) => a.account)).toEqual(['111111111111', '222222222222', '444444444444']);
    expect(plan.accounts[0]?.units).toHaveLength(2 * 3);
    expect(plan.accounts[0]?.units[0]).toEqual({
      runId: 'r1',
      account: '111111111111',
      region: 'us-east-1',
      tuner: 'iops',
    });
  });

  it('walks organizational units and their children, keeping ACTIVE accounts, and reports a unit it cannot read', async () => {
    const tree: Record<string, { accounts: Array<{ id: string; active: boolean }>; children: string[] }> = {
      'ou-a': {
        accounts: [
          { id: '111111111111', active: true },
          { id: '999999999999', active: false },
        ],
        children: ['ou-b'],
      },
      'ou-b': { accounts: [{ id: '222222222222', active: true }], children: [] },
    };
    const port: OrganizationsPort = {
      async listAccounts(parent, token) {
        const node = tree[parent];
        if (!node) throw new Error(`ParentNotFoundException: ${parent}`);
        // Two pages: the first account, then the rest.
        return token
          ? { accounts: node.accounts.slice(1) }
          : { accounts: node.accounts.slice(0, 1), ...(node.accounts.length > 1 ? { nextToken: 'p2' } : {}) };
      },
      async listChildUnits(parent) {
        return { units: tree[parent]?.children ?? [] };
      },
    };
    const { accounts, notes } = await accountsOfUnits(port, ['ou-a', 'ou-missing']);
    expect(accounts).toEqual(['111111111111', '222222222222']);
    expect(notes.join(' ')).toContain('ou-missing');
  });
});

describe('local fan-out with the state machine semantics', () => {
  it('never runs more than the limits at once, in total and per account (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 8 }),
        async (accountsLimit, perAccount, nAccounts) => {
          const accounts = Array.from({ length: nAccounts }, (_, i) => String(100000000000 + i));
          const plan = planFleet(section({ accounts, tuners: ['iops', 'dynamodb', 'replicas'] }), [], 'r');
          let running = 0;
          let peak = 0;
          const perAccountRunning = new Map<string, number>();
          let peakPerAccount = 0;
          const results = await runPlanLocally(
            plan,
            async (unit) => {
              running += 1;
              const n = (perAccountRunning.get(unit.account) ?? 0) + 1;
              perAccountRunning.set(unit.account, n);
              peak = Math.max(peak, running);
              peakPerAccount = Math.max(peakPerAccount, n);
              await new Promise((r) => setImmediate(r));
              running -= 1;
              perAccountRunning.set(unit.account, n - 1);
              return {
                scope: '',
                account: unit.account,
                region: unit.region,
                tuner: unit.tuner,
                status: 'done',
                outcomes: {},
              };
            },
            { accounts: accountsLimit, perAccount },
          );
          expect(results).toHaveLength(nAccounts * 6);
          expect(peakPerAccount).toBeLessThanOrEqual(perAccount);
          expect(peak).toBeLessThanOrEqual(accountsLimit * perAccount);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('a failing unit is caught and the others complete', async () => {
    const plan = planFleet(section({ regions: ['us-east-1'], tuners: ['iops'] }), [], 'r');
    const results = await runPlanLocally(
      plan,
      async (unit) => {
        if (unit.account === '111111111111') throw new Error('boom');
        return {
          scope: '',
          account: unit.account,
          region: unit.region,
          tuner: unit.tuner,
          status: 'done',
          outcomes: {},
        };
      },
      { accounts: 2, perAccount: 1 },
    );
    expect(results.map((r) => [r.account, r.status])).toEqual([
      ['111111111111', 'failed'],
      ['222222222222', 'done'],
    ]);
  });

  it('pool keeps the order of its items', async () => {
    expect(await pool([3, 1, 2], 2, async (x) => x * 10)).toEqual([30, 10, 20]);
  });
});

describe("a fleet worker's event must be one of the fleet's units", () => {
  const unit = { runId: 'r-1', account: '111111111111', region: 'us-east-1', tuner: 'iops' } as const;

  it('accepts every unit the planner plans (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^\d{12}$/), { minLength: 1, maxLength: 4 }),
        (accounts) => {
          const s = section({ accounts });
          for (const work of planFleet(s, [], 'r-1').accounts)
            for (const u of work.units) expect(unitOutsideFleet(u, s), JSON.stringify(u)).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses another Region, tuner, an excluded or an unlisted account, naming the field', () => {
    expect(unitOutsideFleet(unit, section())).toBeUndefined();
    expect(unitOutsideFleet({ ...unit, region: 'ap-south-1' }, section())).toMatch(
      /^event\.region: ap-south-1 is not among fleet\.regions/,
    );
    expect(unitOutsideFleet({ ...unit, tuner: 'dynamodb' }, section({ tuners: ['iops'] }))).toMatch(
      /^event\.tuner: dynamodb is not among fleet\.tuners/,
    );
    expect(unitOutsideFleet({ ...unit, account: '333333333333' }, section())).toMatch(
      /^event\.account: 333333333333 is not among fleet\.accounts/,
    );
    expect(unitOutsideFleet(unit, section({ excludeAccounts: ['111111111111'] }))).toBe(
      'event.account: 111111111111 is in fleet.excludeAccounts',
    );
  });

  it('with organizational units, leaves an unlisted account to the member role, never an excluded one', () => {
    const withUnits = section({ organizationalUnits: ['ou-ab12-cd34ef56'] });
    expect(unitOutsideFleet({ ...unit, account: '333333333333' }, withUnits)).toBeUndefined();
    expect(
      unitOutsideFleet(
        { ...unit, account: '333333333333' },
        section({ organizationalUnits: ['ou-ab12-cd34ef56'], excludeAccounts: ['333333333333'] }),
      ),
    ).toMatch(/excludeAccounts/);
  });
});
