/**
 * The ACTIVE accounts of AWS Organizations units (and of their child units), for a fleet that
 * names `organizationalUnits`. Reads through a small port so the walk is tested without AWS; the
 * deployed port calls Organizations' ListAccountsForParent / ListOrganizationalUnitsForParent
 * (Organizations API reference), paginated.
 */
import { publicMessage } from '../core/errors.ts';

export interface OrganizationsPort {
  listAccounts(
    parentId: string,
    nextToken?: string,
  ): Promise<{ accounts: Array<{ id: string; active: boolean }>; nextToken?: string }>;
  listChildUnits(parentId: string, nextToken?: string): Promise<{ units: string[]; nextToken?: string }>;
}

/** A deep OU tree is walked to this depth at most (Organizations allows 5 levels below the root). */
export const MAX_OU_DEPTH = 5;

export async function accountsOfUnits(
  port: OrganizationsPort,
  unitIds: readonly string[],
): Promise<{ accounts: string[]; notes: string[] }> {
  const accounts = new Set<string>();
  const notes: string[] = [];
  const seen = new Set<string>();
  let level = [...unitIds];
  for (let depth = 0; depth <= MAX_OU_DEPTH && level.length > 0; depth += 1) {
    const next: string[] = [];
    for (const unit of level) {
      if (seen.has(unit)) continue;
      seen.add(unit);
      try {
        let token: string | undefined;
        do {
          const page = await port.listAccounts(unit, token);
          for (const a of page.accounts) if (a.active) accounts.add(a.id);
          token = page.nextToken;
        } while (token);
        do {
          const page = await port.listChildUnits(unit, token);
          next.push(...page.units);
          token = page.nextToken;
        } while (token);
      } catch (error) {
        notes.push(
          `organizational unit ${unit}: could not list its accounts (${publicMessage(error)}); skipped`,
        );
      }
    }
    level = next;
  }
  return { accounts: [...accounts].sort(), notes };
}

/** The module name is a variable so the bundle loads it only when a config names units. */
const ORGANIZATIONS_MODULE = '@aws-sdk/client-organizations';

interface OrganizationsModule {
  OrganizationsClient: new (config: {
    region: string;
  }) => { send(command: unknown): Promise<Record<string, unknown>> };
  ListAccountsForParentCommand: new (input: Record<string, unknown>) => unknown;
  ListOrganizationalUnitsForParentCommand: new (input: Record<string, unknown>) => unknown;
}

/**
 * The deployed port. `@aws-sdk/client-organizations` is not a dependency of this package yet
 * (issue 27 note): without it, a config that names units fails with a message saying so.
 */
export async function organizationsPort(): Promise<OrganizationsPort> {
  let mod: OrganizationsModule;
  try {
    mod = (await import(ORGANIZATIONS_MODULE)) as OrganizationsModule;
  } catch {
    throw new Error(
      `fleet.organizationalUnits needs ${ORGANIZATIONS_MODULE} (npm install ${ORGANIZATIONS_MODULE}); list the accounts instead`,
    );
  }
  // Organizations is a global service answered in us-east-1.
  const client = new mod.OrganizationsClient({ region: 'us-east-1' });
  return {
    async listAccounts(parentId, nextToken) {
      const out = await client.send(
        new mod.ListAccountsForParentCommand({ ParentId: parentId, NextToken: nextToken }),
      );
      const list = (out.Accounts ?? []) as Array<{ Id?: string; Status?: string; State?: string }>;
      return {
        accounts: list.flatMap((a) =>
          a.Id ? [{ id: a.Id, active: (a.State ?? a.Status) === 'ACTIVE' }] : [],
        ),
        ...(typeof out.NextToken === 'string' ? { nextToken: out.NextToken } : {}),
      };
    },
    async listChildUnits(parentId, nextToken) {
      const out = await client.send(
        new mod.ListOrganizationalUnitsForParentCommand({ ParentId: parentId, NextToken: nextToken }),
      );
      const list = (out.OrganizationalUnits ?? []) as Array<{ Id?: string }>;
      return {
        units: list.flatMap((u) => (u.Id ? [u.Id] : [])),
        ...(typeof out.NextToken === 'string' ? { nextToken: out.NextToken } : {}),
      };
    },
  };
}
