import { z } from 'zod';

/**
 * Fleets across accounts and Regions (issue 27): one deployment in a central account tunes member
 * accounts and Regions through the `db-autopilot-member` role (shared/deploy/member-account-role.yml,
 * deployable as a StackSet), assumed with an external id. Absent: the deployment tunes its own
 * account and Region only (scope `home`).
 *
 * ```yaml
 * fleet:
 *   externalId: securecart-fleet-7f3a     # the ExternalId parameter the member stacks were given
 *   accounts: ['111111111111', '222222222222']
 *   organizationalUnits: [ou-ab12-cd34ef56] # and/or: every ACTIVE account of these OUs
 *   regions: [us-east-1, eu-west-1]
 *   tuners: [iops, replicas, dynamodb]
 *   maxConcurrentAccounts: 20              # accounts worked on at once (Distributed Map)
 *   maxConcurrentUnitsPerAccount: 3        # (Region, tuner) units at once in one account
 * ```
 */

/** The member role's name: fixed, so the central roles can assume it and nothing else. */
export const MEMBER_ROLE_NAME = 'db-autopilot-member';

/** The tuners that can run in a member scope: API-only ones (no database connection, no VPC). */
export const FLEET_TUNERS = ['iops', 'replicas', 'dynamodb', 'proxy', 'rightsizing', 'serverless'] as const;
export type FleetTuner = (typeof FLEET_TUNERS)[number];

export const accountIdSchema = z
  .string()
  .regex(/^\d{12}$/, 'an AWS account id: 12 digits, as a quoted string');
export const regionSchema = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS Region such as eu-west-1');

const unique =
  (what: string) =>
  (list: readonly string[], ctx: z.RefinementCtx): void => {
    const seen = new Set<string>();
    list.forEach((item, i) => {
      if (seen.has(item))
        ctx.addIssue({ code: 'custom', message: `${what} "${item}" is listed twice`, path: [i] });
      seen.add(item);
    });
  };

export const fleetSection = z
  .object({
    /**
     * The external id the member role's trust policy requires (sts:ExternalId). AWS does not treat
     * it as a secret (IAM User Guide, "Access to AWS accounts owned by third parties"); it keeps a
     * confused deputy from using the central roles against an account that did not opt in.
     */
    externalId: z
      .string()
      .min(2, 'an external id of 2 to 1224 characters')
      .max(1224, 'an external id of 2 to 1224 characters')
      .regex(/^[\w+=,.@:/-]+$/, 'an external id of letters, digits and + = , . @ : / - _'),
    accounts: z.array(accountIdSchema).default([]).superRefine(unique('account')),
    /** AWS Organizations units whose ACTIVE accounts are members (enumerated each run). */
    organizationalUnits: z
      .array(
        z
          .string()
          .regex(/^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/, 'an organizational unit id such as ou-ab12-cd34ef56'),
      )
      .default([])
      .superRefine(unique('organizational unit')),
    /** Accounts of the units to leave out (the central account itself, a sandbox...). */
    excludeAccounts: z.array(accountIdSchema).default([]),
    regions: z.array(regionSchema).min(1, 'list at least one Region').superRefine(unique('Region')),
    tuners: z
      .array(z.enum(FLEET_TUNERS))
      .min(1, 'list at least one tuner')
      .default(['iops', 'replicas', 'dynamodb'])
      .superRefine(unique('tuner')),
    maxConcurrentAccounts: z.number().int().min(1).max(1000).default(20),
    /** Inline Map concurrency inside one account: bounds the calls one account's API quotas see. */
    maxConcurrentUnitsPerAccount: z.number().int().min(1).max(40).default(3),
  })
  .strict()
  .refine((f) => f.accounts.length + f.organizationalUnits.length > 0, {
    message: 'list member accounts (accounts) or organizational units (organizationalUnits)',
    path: ['accounts'],
  });

export type FleetSection = z.infer<typeof fleetSection>;
