import { z } from 'zod';
import { tunerBase } from '../common.ts';

/** DynamoDB capacity tuner, mode advisor and pre-warming (owned by the DynamoDB issues; extend here). */
export const dynamodbSection = z
  .object({
    ...tunerBase,
    targetUtilization: z.number().min(0.2).max(0.9).default(0.7),
    minCapacity: z.number().int().min(1).default(1),
    maxCapacity: z.number().int().min(1).max(40_000).default(40_000),
    scaleDownStabilizationMinutes: z.number().int().min(0).default(60),
    decreaseReserve: z.number().int().min(0).max(27).default(2),
  })
  .strict();
