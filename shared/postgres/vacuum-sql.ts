import { ValidationError } from '../core/errors.ts';

/**
 * The one place VACUUM and ANALYZE statements are written. Pure: the server version and the
 * options decide which options are sent, and the table name must already be a quoted,
 * catalog-derived name (`c.oid::regclass::text` or `escapeIdentifier`). Never VACUUM FULL.
 *
 * Option availability (PostgreSQL docs, "VACUUM" and "ANALYZE" pages, per version):
 * - SKIP_LOCKED, TRUNCATE, boolean option values: PostgreSQL 12+
 * - PROCESS_TOAST: PostgreSQL 14+
 * - BUFFER_USAGE_LIMIT: PostgreSQL 16+
 * aws-facts.md (PostgreSQL maintenance): gate options on server_version_num; TRUNCATE false
 * by default since the final truncation takes ACCESS EXCLUSIVE and cancels standby queries.
 */
export interface VacuumOptions {
  /** VACUUM (ANALYZE): refresh statistics in the same pass. */
  analyze: boolean;
  /** FREEZE: aggressive freeze, used when the XID / MultiXact age is the reason. */
  freeze?: boolean;
  /** VERBOSE: the notices carry tuples removed / dead but not yet removable. */
  verbose?: boolean;
  /** Skip the table instead of waiting when it is locked (PG12+); default true. */
  skipLocked?: boolean;
  /** Allow the final truncation (ACCESS EXCLUSIVE); default false. */
  truncate?: boolean;
  /** PROCESS_TOAST false skips the TOAST table (PG14+); default true (not sent). */
  processToast?: boolean;
  /** BUFFER_USAGE_LIMIT (PG16+), e.g. "256MB". */
  bufferUsageLimit?: string;
}

export const PG12 = 120000;
export const PG14 = 140000;
export const PG16 = 160000;
export const PG17 = 170000;
export const PG18 = 180000;

const ident = '(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)';
const qualifiedName = new RegExp(`^${ident}(?:\\.${ident})?$`);
const bufferLimit = /^\d+\s*(?:kB|MB|GB)$/;

/** Refuses anything that is not a (schema-)qualified, properly quoted identifier. */
export function assertQuotedName(quotedName: string): void {
  if (!qualifiedName.test(quotedName)) {
    throw new ValidationError(`not a quoted table name from the catalog: ${JSON.stringify(quotedName)}`);
  }
}

function commonOptions(version: number, o: VacuumOptions): string[] {
  const parts: string[] = [];
  if (o.verbose ?? true) parts.push('VERBOSE');
  if ((o.skipLocked ?? true) && version >= PG12) parts.push('SKIP_LOCKED');
  if (o.bufferUsageLimit !== undefined && version >= PG16) {
    if (!bufferLimit.test(o.bufferUsageLimit)) {
      throw new ValidationError(`BUFFER_USAGE_LIMIT must be a size such as 256MB, got ${o.bufferUsageLimit}`);
    }
    parts.push(`BUFFER_USAGE_LIMIT '${o.bufferUsageLimit}'`);
  }
  return parts;
}

export function vacuumStatement(version: number, options: VacuumOptions, quotedName: string): string {
  assertQuotedName(quotedName);
  const parts: string[] = [];
  if (options.freeze) parts.push('FREEZE');
  if (options.analyze) parts.push('ANALYZE');
  parts.push(...commonOptions(version, options));
  if (version >= PG12 && !(options.truncate ?? false)) parts.push('TRUNCATE false');
  if (version >= PG14 && options.processToast === false) parts.push('PROCESS_TOAST false');
  return `VACUUM (${parts.join(', ')}) ${quotedName}`;
}

/**
 * `only` (PostgreSQL 18+, `ANALYZE ONLY`): a partitioned table's own statistics, without analyzing
 * each partition again; ignored before 18, where ANALYZE of a partitioned table always recurses.
 */
export function analyzeStatement(
  version: number,
  options: Pick<VacuumOptions, 'verbose' | 'skipLocked' | 'bufferUsageLimit'> & { only?: boolean },
  quotedName: string,
): string {
  assertQuotedName(quotedName);
  const { only, ...rest } = options;
  const parts = commonOptions(version, { analyze: true, ...rest });
  const target = only === true && version >= PG18 ? `ONLY ${quotedName}` : quotedName;
  return parts.length > 0 ? `ANALYZE (${parts.join(', ')}) ${target}` : `ANALYZE ${target}`;
}
