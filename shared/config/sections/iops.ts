import { z } from 'zod';
import { tunerBase } from '../common.ts';

/** Provisioned IOPS tuner (owned by the IOPS issue; extend here). */
export const iopsSection = z
  .object({
    ...tunerBase,
    targetUtilization: z.number().gt(0).max(1).default(0.7),
    minIops: z.number().int().min(100).default(1000),
    maxIops: z.number().int().min(100).max(256_000).default(64_000),
    monthlyCostCeilingUsd: z.number().min(0).optional(),
    lookbackMinutes: z
      .number()
      .int()
      .min(5)
      .max(60 * 24 * 14)
      .default(60),
    scaleDownStabilizationMinutes: z
      .number()
      .int()
      .min(0)
      .default(24 * 60),
    allowStorageGrowthForIops: z.boolean().default(false),
    allowStorageTypeChange: z.boolean().default(false),
  })
  .strict();
