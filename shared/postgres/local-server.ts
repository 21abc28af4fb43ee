import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A throw-away PostgreSQL server on loopback, from Debian's packages (`postgresql`,
 * `postgresql-contrib`), for integration tests and `npm run bench:vacuum`. Never used in Lambda.
 *
 * As root it runs as the unprivileged `postgres` user (through `runuser`), since PostgreSQL
 * refuses to run as root. Data lives in a temporary directory that stop() removes.
 */
export interface LocalServer {
  host: string;
  port: number;
  user: string;
  binDir: string;
  version: number;
  dataDir: string;
  stop(): Promise<void>;
}

export class PostgresMissing extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostgresMissing';
  }
}

/** The newest /usr/lib/postgresql/<ver>/bin holding initdb, or PG_BIN_DIR. */
export function findPostgresBinDir(): { binDir: string; version: number } {
  const fromEnv = process.env.PG_BIN_DIR;
  if (fromEnv && existsSync(join(fromEnv, 'initdb'))) {
    const out = execFileSync(join(fromEnv, 'postgres'), ['--version'], { encoding: 'utf8' });
    return { binDir: fromEnv, version: Number(/(\d+)/.exec(out.split(')').pop() ?? '')?.[1] ?? 0) };
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .map(Number)
        .filter((v) => Number.isInteger(v) && existsSync(join(root, String(v), 'bin', 'initdb')))
        .sort((a, b) => b - a)
    : [];
  const version = versions[0];
  if (version === undefined) {
    throw new PostgresMissing(
      'PostgreSQL server not found (no /usr/lib/postgresql/<version>/bin/initdb). ' +
        'Install the Debian packages "postgresql" and "postgresql-contrib" ' +
        '(`sudo .ci/install-postgres.sh`, i.e. apt-get install -y postgresql postgresql-contrib), ' +
        'or set PG_BIN_DIR.',
    );
  }
  return { binDir: join(root, String(version), 'bin'), version };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function asServerUser(cmd: string, args: string[]): [string, string[]] {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

async function waitReady(port: number, child: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`postgres exited early: ${logs()}`);
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (error) {
      lastError = error;
      await client.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`postgres did not start: ${String(lastError)} ${logs()}`);
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function startLocalPostgres(
  options: {
    settings?: Record<string, string>;
    /** Roles that must log in with a password over TCP (scram-sha-256); everyone else is trusted. */
    passwordRoles?: string[];
    /** A hot standby streaming from this server (pg_basebackup -R): read-only, pg_is_in_recovery(). */
    standbyOf?: LocalServer;
  } = {},
): Promise<LocalServer> {
  const { binDir, version } = findPostgresBinDir();
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const base = mkdtempSync(join(tmpdir(), 'dbap-pg-'));
  const dataDir = join(base, 'data');
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(base, uid, gid);
    chmodSync(base, 0o700);
  }
  const [initCmd, initArgs] = asServerUser(join(binDir, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '-A',
    'trust',
    '--no-sync',
    '-E',
    'UTF8',
    '--locale=C',
  ]);
  if (options.standbyOf) {
    const primary = options.standbyOf;
    const [bbCmd, bbArgs] = asServerUser(join(binDir, 'pg_basebackup'), [
      ...['-h', primary.host, '-p', String(primary.port), '-U', primary.user],
      ...['-D', dataDir, '-R', '-X', 'stream', '--no-sync', '--checkpoint=fast'],
    ]);
    execFileSync(bbCmd, bbArgs, { stdio: 'pipe' });
  } else {
    execFileSync(initCmd, initArgs, { stdio: 'pipe' });
  }
  if (options.passwordRoles && options.passwordRoles.length > 0) {
    const hba = [
      ...options.passwordRoles.map((r) => `host all ${r} 127.0.0.1/32 scram-sha-256`),
      'host all all 127.0.0.1/32 trust',
      'local all all trust',
      '',
    ].join('\n');
    writeFileSync(join(dataDir, 'pg_hba.conf'), hba);
  }
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: base,
    shared_preload_libraries: 'pg_stat_statements',
    'pg_stat_statements.track': 'all',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '60',
    // Tests and the bench decide when tables are vacuumed, not autovacuum.
    autovacuum: 'off',
    ...options.settings,
  };
  const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const [cmd, cmdArgs] = asServerUser(join(binDir, 'postgres'), args);
  const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  await waitReady(port, child, () => stderr);
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    binDir,
    version,
    dataDir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        // runuser does not forward signals: signal the postmaster by the pid it wrote (SIGINT = fast shutdown).
        const pid = postmasterPid(dataDir);
        if (pid) process.kill(pid, 'SIGINT');
        else child.kill('SIGINT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}
