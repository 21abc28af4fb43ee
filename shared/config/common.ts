import { z } from 'zod';

/** Pieces every tuner section reuses. */

export const modeSchema = z
  .enum(['observe', 'apply'])
  .describe('observe = plan and report only; apply = act');

export const tagMapSchema = z.record(z.string().min(1).max(128), z.string().max(256));

/** Which resources a tuner manages: by identifier, by tag selector, or both (union). */
export const resourceSelectorSchema = z
  .object({
    identifiers: z.array(z.string().min(1).max(255)).default([]),
    /** Every key/value must match (AND). A value of "*" matches any value of that key. */
    tags: tagMapSchema.default({}),
  })
  .strict()
  .default({ identifiers: [], tags: {} });

export type ResourceSelector = z.infer<typeof resourceSelectorSchema>;

export const durationMinutes = z
  .number()
  .int()
  .min(0)
  .max(60 * 24 * 30);

/** Fields every tuner section has. */
export const tunerBase = {
  enabled: z.boolean().default(true),
  mode: modeSchema.optional(),
  resources: resourceSelectorSchema,
  /** Cooldown after an applied change to the same resource. */
  cooldownMinutes: durationMinutes.optional(),
  /** At most this many changes by this tuner in one run (Cloud Custodian's max-resources). */
  maxChangesPerRun: z.number().int().min(0).max(1000).optional(),
};

/**
 * Every lower bound at most its upper bound: for each [min, max] pair of keys present, an issue on
 * the min key (so the error names its line) when min > max. For `.superRefine` on a section.
 */
export function minNotAboveMax<K extends string>(pairs: ReadonlyArray<readonly [K, K]>) {
  return (value: Partial<Record<K, unknown>>, ctx: z.RefinementCtx): void => {
    for (const [lo, hi] of pairs) {
      const a = value[lo];
      const b = value[hi];
      if (typeof a === 'number' && typeof b === 'number' && a > b) {
        ctx.addIssue({ code: 'custom', path: [lo], message: `${lo} (${a}) must not exceed ${hi} (${b})` });
      }
    }
  };
}
