import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterDecrease,
  type DecreaseLedger,
  decreaseAllowance,
  firstRejectedDecrease,
  maySpendDecrease,
} from '../../../shared/policies/dynamodb-decrease-budget.ts';

const day = Date.parse('2026-03-10T00:00:00Z');
const at = (minutes: number) => new Date(day + minutes * 60_000);

/** AWS's rule, independently: 4 at any time in a UTC day, then one only after an hour without a decrease. */
function awsAccepts(history: number[], t: number): boolean {
  const dayStart = Math.floor(t / 86_400_000) * 86_400_000;
  const today = history.filter((h) => h >= dayStart && h <= t);
  if (today.length < 4) return true;
  const last = Math.max(...today);
  return t - last >= 3_600_000;
}

describe('DynamoDB decrease budget', () => {
  it('allows 4 decreases at any time in a UTC day, then one per hour', () => {
    let ledger: DecreaseLedger = { numberOfDecreasesToday: 0 };
    for (let i = 0; i < 4; i++) {
      expect(decreaseAllowance(ledger, at(10)).allowedNow).toBe(true);
      ledger = afterDecrease(ledger, at(10));
    }
    const a = decreaseAllowance(ledger, at(30));
    expect(a.allowedNow).toBe(false);
    expect(a.nextSlotAt).toBe(at(70).toISOString());
    expect(decreaseAllowance(ledger, at(70)).allowedNow).toBe(true);
  });

  it('resets the count at 00:00 UTC', () => {
    const ledger = { numberOfDecreasesToday: 9, lastDecreaseAt: '2026-03-09T23:50:00Z' };
    const a = decreaseAllowance(ledger, at(5));
    expect(a.usedToday).toBe(0);
    expect(a.allowedNow).toBe(true);
  });

  it('counts at most 27 decreases in a day when spent as early as allowed', () => {
    expect(decreaseAllowance({ numberOfDecreasesToday: 0 }, at(0)).remainingToday).toBe(27);
    let ledger: DecreaseLedger = { numberOfDecreasesToday: 0 };
    let count = 0;
    for (let m = 0; m < 1440; m++) {
      while (decreaseAllowance(ledger, at(m)).allowedNow && decreasesBefore(ledger, m)) {
        ledger = afterDecrease(ledger, at(m));
        count++;
      }
    }
    expect(count).toBe(27);
    function decreasesBefore(l: DecreaseLedger, m: number): boolean {
      // stop a minute's loop once this minute already had its hourly slot
      return !(l.lastDecreaseAt === at(m).toISOString() && l.numberOfDecreasesToday >= 4);
    }
  });

  it('keeps the reserve: with 2 kept, the third decrease of the day waits an hour after the second', () => {
    const ledger = { numberOfDecreasesToday: 2, lastDecreaseAt: at(600).toISOString() };
    expect(maySpendDecrease(ledger, at(620), 2)).toBe(false);
    expect(maySpendDecrease(ledger, at(660), 2)).toBe(true);
    expect(
      maySpendDecrease({ numberOfDecreasesToday: 1, lastDecreaseAt: at(600).toISOString() }, at(601), 2),
    ).toBe(true);
  });

  it('property: a policy spending decreases through maySpendDecrease is never refused by AWS', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 240 }), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 0, max: 4 }),
        (gaps, reserve) => {
          let ledger: DecreaseLedger = { numberOfDecreasesToday: 0 };
          let t = day;
          const made: number[] = [];
          for (const g of gaps) {
            t += g * 60_000;
            if (maySpendDecrease(ledger, new Date(t), reserve)) {
              expect(awsAccepts(made, t)).toBe(true);
              made.push(t);
              ledger = afterDecrease(ledger, new Date(t));
            }
          }
          expect(
            firstRejectedDecrease(
              made.map((m) => new Date(m).toISOString()),
              { numberOfDecreasesToday: 0 },
            ),
          ).toBe(-1);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: decreaseAllowance agrees with the AWS rule at every minute', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 40 }),
        fc.integer({ min: 0, max: 600 }),
        (gaps, probe) => {
          let ledger: DecreaseLedger = { numberOfDecreasesToday: 0 };
          const made: number[] = [];
          let t = day;
          for (const g of gaps) {
            t += g * 60_000;
            if (awsAccepts(made, t)) {
              made.push(t);
              ledger = afterDecrease(ledger, new Date(t));
            }
          }
          const q = t + probe * 60_000;
          expect(decreaseAllowance(ledger, new Date(q)).allowedNow).toBe(awsAccepts(made, q));
        },
      ),
      { numRuns: 500 },
    );
  });
});
