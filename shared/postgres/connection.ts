import { existsSync, readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { Signer } from '@aws-sdk/rds-signer';
import pg from 'pg';
import { z } from 'zod';
import { secretsManagerClient } from '../aws/clients.ts';
import type { DatabaseConfig } from '../config/sections/maintenance.ts';
import { DbAutopilotError, redact } from '../core/errors.ts';
import { logger } from '../handler/observability.ts';

/**
 * Connections to RDS / Aurora PostgreSQL with `pg`.
 *
 * - Auth: an IAM auth token from @aws-sdk/rds-signer (15 minutes valid, made per connection),
 *   or a Secrets Manager secret fetched through secretsManagerClient(). RDS-managed secrets
 *   rotate (every 7 days by default, aws-facts.md): on 28P01 (invalid_password) the secret is
 *   fetched again ONCE and the connection retried.
 * - TLS: verify-full checks the chain and the host name. The RDS CA bundle cannot be
 *   downloaded at run time (no internet in the VPC): ship `global-bundle.pem` with the function
 *   and point `caBundlePath` (config) or PG_CA_BUNDLE (env) at it; otherwise, on Lambda, the
 *   runtime's Amazon CA bundle (LAMBDA_RUNTIME_CA_BUNDLE), else Node's system CAs (plus
 *   NODE_EXTRA_CA_CERTS), always with rejectUnauthorized: true.
 * - Timeouts: connect timeout, a default statement_timeout for the session.
 * - Never logs a password, token or connection string: targets are described as host:port/db.
 */

/** Something that opens new sessions to one database. */
export interface PgTarget {
  /** The configured name (e.g. "orders"). */
  name: string;
  /** host:port/database, without credentials, for logs and reports. */
  describe: string;
  open(): Promise<pg.Client>;
  /** Replicas of this database (insights read idx_scan on each). */
  replicas?: PgTarget[];
}

export interface ConnectionTimeouts {
  connectTimeoutMs: number;
  queryTimeoutMs: number;
}

export class ConnectionFailed extends DbAutopilotError {}

const secretSchema = z
  .object({
    username: z.string().min(1).optional(),
    password: z.string().min(1, 'the secret has no password'),
  })
  .passthrough();

const secretCache = new Map<string, { username?: string; password: string }>();

async function fetchSecret(
  secretId: string,
  fresh: boolean,
): Promise<{ username?: string; password: string }> {
  const cached = secretCache.get(secretId);
  if (cached && !fresh) return cached;
  const out = await secretsManagerClient().send(new GetSecretValueCommand({ SecretId: secretId }));
  let parsed: unknown;
  try {
    parsed = JSON.parse(out.SecretString ?? '');
  } catch {
    throw new ConnectionFailed(`secret ${secretId} is not JSON with "username" and "password"`);
  }
  const result = secretSchema.safeParse(parsed);
  if (!result.success) {
    throw new ConnectionFailed(`secret ${secretId} is not JSON with "username" and "password"`);
  }
  const value = { username: result.data.username, password: result.data.password };
  secretCache.set(secretId, value);
  return value;
}

/** For tests: forget cached secrets. */
export function clearSecretCache(): void {
  secretCache.clear();
}

/**
 * Amazon's CA certificates (RDS's among them) as the Lambda Node.js runtime ships them. From
 * Node.js 20 the runtime no longer trusts them by default (only with NODE_EXTRA_CA_CERTS pointing
 * here), so on nodejs24.x a verify-full connection to RDS without a configured bundle failed.
 */
export const LAMBDA_RUNTIME_CA_BUNDLE = '/var/runtime/ca-cert.pem';

export function tlsOptions(
  db: Pick<DatabaseConfig, 'ssl' | 'host' | 'caBundlePath'>,
  runtimeBundle: string = LAMBDA_RUNTIME_CA_BUNDLE,
): false | ConnectionOptions {
  if (db.ssl === 'disable') return false;
  if (db.ssl === 'require') return { rejectUnauthorized: false };
  const caPath =
    db.caBundlePath ??
    process.env.PG_CA_BUNDLE ??
    (process.env.NODE_EXTRA_CA_CERTS === undefined && existsSync(runtimeBundle) ? runtimeBundle : undefined);
  return {
    rejectUnauthorized: true,
    servername: db.host,
    ...(caPath ? { ca: readFileSync(caPath, 'utf8') } : {}),
  };
}

function isInvalidPassword(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === '28P01';
}

function attachErrorLogger(client: pg.Client, describe: string): pg.Client {
  // An idle client whose server goes away emits 'error'; without a listener Node would crash.
  client.on('error', (error) =>
    logger.warn('postgres connection error', { target: describe, error: redact(error.message) }),
  );
  return client;
}

/** A target from the configuration: IAM token or Secrets Manager secret, TLS per `ssl`. */
export function configTarget(db: DatabaseConfig, timeouts: ConnectionTimeouts, region?: string): PgTarget {
  const describe = `${db.host}:${db.port}/${db.database}`;
  const base = (host: string, port: number): pg.ClientConfig => ({
    host,
    port,
    database: db.database,
    ssl: tlsOptions({ ...db, host }),
    connectionTimeoutMillis: timeouts.connectTimeoutMs,
    statement_timeout: timeouts.queryTimeoutMs,
    application_name: 'db-autopilot',
  });

  const openAt = (host: string, port: number, label: string) => async (): Promise<pg.Client> => {
    if (db.auth.type === 'iam') {
      const signer = new Signer({
        hostname: host,
        port,
        username: db.user,
        region: db.auth.region ?? region ?? process.env.AWS_REGION ?? 'us-east-1',
      });
      const client = attachErrorLogger(
        new pg.Client({ ...base(host, port), user: db.user, password: () => signer.getAuthToken() }),
        label,
      );
      await connectOrExplain(client, label);
      return client;
    }
    const secretId = db.auth.secretId;
    const attempt = async (fresh: boolean): Promise<pg.Client> => {
      const secret = await fetchSecret(secretId, fresh);
      const client = attachErrorLogger(
        new pg.Client({ ...base(host, port), user: secret.username ?? db.user, password: secret.password }),
        label,
      );
      await client.connect();
      return client;
    };
    try {
      return await attempt(false);
    } catch (error) {
      if (!isInvalidPassword(error)) throw explain(error, label);
      logger.info('password rejected (28P01): fetching the secret again once (rotation)', { target: label });
      try {
        return await attempt(true);
      } catch (retryError) {
        throw explain(retryError, label);
      }
    }
  };

  return {
    name: db.name,
    describe,
    open: openAt(db.host, db.port, describe),
    replicas: db.replicas.map((r, i) => ({
      name: `${db.name}-replica-${i + 1}`,
      describe: `${r.host}:${r.port}/${db.database}`,
      open: openAt(r.host, r.port, `${r.host}:${r.port}/${db.database}`),
    })),
  };
}

async function connectOrExplain(client: pg.Client, label: string): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    throw explain(error, label);
  }
}

function explain(error: unknown, label: string): ConnectionFailed {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? redact(error.message) : 'unknown error';
  return new ConnectionFailed(
    `cannot connect to ${label}: ${message}${typeof code === 'string' ? ` (${code})` : ''}`,
    { cause: error },
  );
}

/**
 * A target with fixed connection settings (tests, the bench, the demo's embedded PGlite).
 * The password, if any, never appears in `describe`.
 */
export function directTarget(
  name: string,
  settings: { host: string; port: number; database: string; user: string; password?: string },
  timeouts: ConnectionTimeouts = { connectTimeoutMs: 5_000, queryTimeoutMs: 30_000 },
): PgTarget {
  const describe = `${settings.host}:${settings.port}/${settings.database}`;
  return {
    name,
    describe,
    async open() {
      const client = attachErrorLogger(
        new pg.Client({
          ...settings,
          connectionTimeoutMillis: timeouts.connectTimeoutMs,
          statement_timeout: timeouts.queryTimeoutMs,
          application_name: 'db-autopilot',
        }),
        describe,
      );
      await connectOrExplain(client, describe);
      return client;
    },
  };
}

/** How long a graceful close may take before the socket is dropped (a silent network never answers). */
export const CLOSE_TIMEOUT_MS = 5_000;

/** Closes a client, ignoring errors (the server may already be gone). */
export async function closeQuietly(
  client: pg.Client | undefined,
  timeoutMs = CLOSE_TIMEOUT_MS,
): Promise<void> {
  if (!client) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    timer.unref();
  });
  const outcome = await Promise.race([
    client.end().then(
      () => 'closed' as const,
      () => 'closed' as const,
    ),
    timedOut,
  ]);
  if (timer) clearTimeout(timer);
  if (outcome === 'timeout') {
    // pg keeps its socket on `connection.stream`; destroy it so the run can finish.
    const stream = (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection
      ?.stream;
    stream?.destroy?.();
  }
}
