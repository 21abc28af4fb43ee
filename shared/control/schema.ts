import { z } from 'zod';

/**
 * The control function's invocations:
 *   { "command": "pause", "reason": "..." }     set the kill switch (SSM parameter), recorded
 *   { "command": "resume", "reason"?: "..." }   clear it, recorded
 *   (either with "account": "123456789012": a fleet member account's own switch, issue 27)
 *   { "command": "status" }                      is it paused, and what happened lately
 *   { "command": "revert", "decisionId": "...", "dryRun": true|false, "override"?: true }
 *       replay a recorded decision's undo through the same guards as any change
 */
const reason = z.string().trim().min(1, 'a reason, if given, must not be empty').max(500);
const account = z.string().regex(/^\d{12}$/, 'an AWS account id: 12 digits');

export const controlCommandSchema = z.discriminatedUnion(
  'command',
  [
    z
      .object({ command: z.literal('pause'), reason: reason.optional(), account: account.optional() })
      .strict(),
    z
      .object({ command: z.literal('resume'), reason: reason.optional(), account: account.optional() })
      .strict(),
    z.object({ command: z.literal('status') }).strict(),
    z
      .object({
        command: z.literal('revert'),
        decisionId: z
          .string()
          .min(1)
          .max(300)
          .regex(/^[A-Za-z0-9._:#/-]+$/, 'a decision id as recorded (letters, digits, . _ : # / -)'),
        dryRun: z.boolean({ error: 'dryRun is required: true shows what would be done, false does it' }),
        override: z.boolean().default(false),
      })
      .strict(),
  ],
  { error: 'expected "command" to be one of "pause", "resume", "status", "revert"' },
);

export type ControlCommand = z.infer<typeof controlCommandSchema>;
