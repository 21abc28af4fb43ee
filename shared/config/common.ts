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
