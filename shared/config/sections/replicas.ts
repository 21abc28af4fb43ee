import { z } from 'zod';
import { tunerBase } from '../common.ts';

/** Read replica scaler (owned by the replicas issue; extend here). */
export const replicasSection = z
  .object({
    ...tunerBase,
    minReaders: z.number().int().min(0).max(15).default(1),
    maxReaders: z.number().int().min(0).max(15).default(5),
    targetCpuPercent: z.number().gt(0).max(100).default(60),
    tolerance: z.number().min(0).max(1).default(0.1),
    scaleInStabilizationMinutes: z.number().int().min(0).default(30),
    maxReplicaLagSeconds: z.number().min(0).default(60),
    drainConnectionThreshold: z.number().int().min(0).default(5),
    instanceClasses: z.array(z.string().regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/)).default([]),
  })
  .strict();
