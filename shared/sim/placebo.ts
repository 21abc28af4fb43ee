import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceName } from './registry.ts';

/**
 * Recorded SDK responses, in the spirit of Cloud Custodian's placebo (tests/data/placebo/):
 * one JSON file per call, `<dir>/<service>/<Operation>_<n>.json` with n = 1, 2, ... in call order.
 *
 * - `recordTo(client, service, dir)` adds a middleware that lets the real call through and writes
 *   its deserialized output (or its error) to the next file. Used by shared/cli/record-fixtures.ts.
 * - `replayFrom(client, service, dir)` adds a middleware that answers each command with the next
 *   recorded file for its operation, never touching the network; when the files run out the last
 *   one is served again (as placebo does). Errors are rebuilt as the SDK's exception classes.
 *
 * File format: `{ "status_code": 200, "data": { ...output without $metadata } }` or
 * `{ "status_code": 400, "error": { "name": "DBInstanceNotFoundFault", "message": "..." } }`.
 * Dates are stored as `{ "$date": "<ISO>" }`.
 */
const PACKAGES: Record<ServiceName, { pkg: string; base: string }> = {
  rds: { pkg: '@aws-sdk/client-rds', base: 'RDSServiceException' },
  dynamodb: { pkg: '@aws-sdk/client-dynamodb', base: 'DynamoDBServiceException' },
  cloudwatch: { pkg: '@aws-sdk/client-cloudwatch', base: 'CloudWatchServiceException' },
  ssm: { pkg: '@aws-sdk/client-ssm', base: 'SSMServiceException' },
  secretsManager: { pkg: '@aws-sdk/client-secrets-manager', base: 'SecretsManagerServiceException' },
  sns: { pkg: '@aws-sdk/client-sns', base: 'SNSServiceException' },
  tagging: {
    pkg: '@aws-sdk/client-resource-groups-tagging-api',
    base: 'ResourceGroupsTaggingAPIServiceException',
  },
  autoscaling: {
    pkg: '@aws-sdk/client-application-auto-scaling',
    base: 'ApplicationAutoScalingServiceException',
  },
  route53: { pkg: '@aws-sdk/client-route-53', base: 'Route53ServiceException' },
  pi: { pkg: '@aws-sdk/client-pi', base: 'PIServiceException' },
};

export interface PlaceboFile {
  status_code: number;
  data?: Record<string, unknown>;
  error?: { name: string; message: string };
}

interface Stack {
  add(
    mw: (
      next: (args: { input: unknown }) => Promise<{ output: Record<string, unknown> }>,
      context: { commandName?: string },
    ) => (args: { input: unknown }) => Promise<unknown>,
    options: { step: 'initialize'; priority: 'high'; name: string },
  ): void;
}

type AnyClient = { middlewareStack: unknown };

const operationOf = (context: { commandName?: string }) =>
  (context.commandName ?? '').replace(/Command$/, '');

export function encodeDates(value: unknown): unknown {
  if (value instanceof Date) return { $date: value.toISOString() };
  if (Array.isArray(value)) return value.map(encodeDates);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeDates(v)]));
  }
  return value;
}

export function decodeDates(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeDates);
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (typeof obj.$date === 'string' && Object.keys(obj).length === 1) return new Date(obj.$date);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, decodeDates(v)]));
  }
  return value;
}

/** Replaces 12-digit account ids (in ARNs, owner ids) with 123456789012 before writing. */
export function redactAccountIds(text: string): string {
  return text.replace(/(?<![0-9])\d{12}(?![0-9])/g, '123456789012');
}

export function recordTo<C extends AnyClient>(
  client: C,
  service: ServiceName,
  dir: string,
  redact = true,
): C {
  const counters = new Map<string, number>();
  const write = (operation: string, file: PlaceboFile) => {
    const n = (counters.get(operation) ?? 0) + 1;
    counters.set(operation, n);
    mkdirSync(join(dir, service), { recursive: true });
    const text = `${JSON.stringify(encodeDates(file), null, 2)}\n`;
    writeFileSync(join(dir, service, `${operation}_${n}.json`), redact ? redactAccountIds(text) : text);
  };
  (client.middlewareStack as Stack).add(
    (next, context) => async (args) => {
      const operation = operationOf(context);
      try {
        const result = await next(args);
        const { $metadata: _m, ...data } = result.output;
        write(operation, { status_code: 200, data });
        return result;
      } catch (error) {
        const e = error as Error & { $metadata?: { httpStatusCode?: number } };
        write(operation, {
          status_code: e.$metadata?.httpStatusCode ?? 400,
          error: { name: e.name, message: e.message },
        });
        throw error;
      }
    },
    { step: 'initialize', priority: 'high', name: 'dbAutopilotPlaceboRecord' },
  );
  return client;
}

/** Reads the recorded files of one service: operation -> files in call order. */
export function loadRecordings(dir: string, service: ServiceName): Map<string, PlaceboFile[]> {
  const out = new Map<string, PlaceboFile[]>();
  const folder = join(dir, service);
  if (!existsSync(folder)) return out;
  const files = readdirSync(folder)
    .map((f) => /^(.+)_(\d+)\.json$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => (a[1] === b[1] ? Number(a[2]) - Number(b[2]) : String(a[1]).localeCompare(String(b[1]))));
  for (const m of files) {
    const operation = String(m[1]);
    const parsed = JSON.parse(readFileSync(join(folder, m[0]), 'utf8')) as PlaceboFile;
    out.set(operation, [...(out.get(operation) ?? []), parsed]);
  }
  return out;
}

export async function replayFrom<C extends AnyClient>(
  client: C,
  service: ServiceName,
  dir: string,
): Promise<C> {
  const recordings = loadRecordings(dir, service);
  const served = new Map<string, number>();
  const mod = (await import(PACKAGES[service].pkg)) as Record<string, unknown>;
  const errorFor = (e: { name: string; message: string }, status: number): Error => {
    type Ctor = new (o: Record<string, unknown>) => Error;
    const $metadata = { httpStatusCode: status, attempts: 1, totalRetryDelay: 0 };
    const specific = mod[e.name];
    if (typeof specific === 'function') return new (specific as Ctor)({ message: e.message, $metadata });
    const base = mod[PACKAGES[service].base] as Ctor;
    return new base({
      name: e.name,
      $fault: status >= 500 ? 'server' : 'client',
      message: e.message,
      $metadata,
    });
  };
  (client.middlewareStack as Stack).add(
    (_next, context) => async () => {
      const operation = operationOf(context);
      const files = recordings.get(operation);
      if (!files || files.length === 0) {
        throw new Error(`placebo: no recorded response for ${service}:${operation} in ${join(dir, service)}`);
      }
      const i = served.get(operation) ?? 0;
      served.set(operation, i + 1);
      const file = files[Math.min(i, files.length - 1)] as PlaceboFile;
      if (file.error) throw errorFor(file.error, file.status_code);
      return {
        output: {
          $metadata: { httpStatusCode: file.status_code, attempts: 1, totalRetryDelay: 0 },
          ...(decodeDates(file.data ?? {}) as object),
        },
        response: {},
      };
    },
    { step: 'initialize', priority: 'high', name: 'dbAutopilotPlaceboReplay' },
  );
  return client;
}
