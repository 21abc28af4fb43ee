import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tlsOptions } from '../../../shared/postgres/connection.ts';

/**
 * From Node.js 20 the Lambda runtime no longer trusts Amazon's CAs (RDS's among them) unless
 * NODE_EXTRA_CA_CERTS points at /var/runtime/ca-cert.pem: with the default `ssl: verify-full`
 * and no bundle configured, every connection to RDS from nodejs24.x failed verification.
 */
const db = { ssl: 'verify-full' as const, host: 'shop.cluster-abc.eu-west-1.rds.amazonaws.com' };

function bundle(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'dbap-ca-')), 'ca-cert.pem');
  writeFileSync(path, text);
  return path;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('TLS to RDS (verify-full)', () => {
  it("trusts the Lambda runtime's Amazon CA bundle when no bundle is configured", () => {
    vi.stubEnv('PG_CA_BUNDLE', undefined);
    vi.stubEnv('NODE_EXTRA_CA_CERTS', undefined);
    const runtime = bundle('-----BEGIN CERTIFICATE-----\nRUNTIME\n-----END CERTIFICATE-----\n');
    expect(tlsOptions(db, runtime)).toEqual({
      rejectUnauthorized: true,
      servername: db.host,
      ca: '-----BEGIN CERTIFICATE-----\nRUNTIME\n-----END CERTIFICATE-----\n',
    });
  });

  it('prefers the configured bundle, then PG_CA_BUNDLE, and leaves NODE_EXTRA_CA_CERTS to Node', () => {
    const runtime = bundle('RUNTIME');
    vi.stubEnv('NODE_EXTRA_CA_CERTS', undefined);
    vi.stubEnv('PG_CA_BUNDLE', bundle('ENV'));
    expect(tlsOptions({ ...db, caBundlePath: bundle('CONFIG') }, runtime)).toMatchObject({ ca: 'CONFIG' });
    expect(tlsOptions(db, runtime)).toMatchObject({ ca: 'ENV' });
    vi.stubEnv('PG_CA_BUNDLE', undefined);
    vi.stubEnv('NODE_EXTRA_CA_CERTS', '/opt/extra.pem');
    expect(tlsOptions(db, runtime)).toEqual({ rejectUnauthorized: true, servername: db.host });
  });

  it("uses Node's own CAs, still verifying, off Lambda (no runtime bundle)", () => {
    vi.stubEnv('PG_CA_BUNDLE', undefined);
    vi.stubEnv('NODE_EXTRA_CA_CERTS', undefined);
    expect(tlsOptions(db, '/nonexistent/ca-cert.pem')).toEqual({
      rejectUnauthorized: true,
      servername: db.host,
    });
    expect(tlsOptions({ ...db, ssl: 'require' })).toEqual({ rejectUnauthorized: false });
    expect(tlsOptions({ ...db, ssl: 'disable' })).toBe(false);
  });
});
