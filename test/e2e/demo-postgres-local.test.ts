import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type DemoReport, runDemo } from '../../shared/cli/demo.ts';

/**
 * `npm run demo -- --postgres local`: the demo's orders database on the local PostgreSQL server
 * binaries (HypoPG and pgstattuple, which PGlite lacks). Four simulated hours reach the 03:00
 * maintenance run, inside the example config's 02:00-05:00 maintenance window.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('npm run demo -- --postgres local', () => {
  it('reports an index advice as CREATE INDEX CONCURRENTLY and an applied REINDEX INDEX CONCURRENTLY', {
    timeout: 400_000,
  }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'dbap-demo-local-'));
    dirs.push(out);
    await runDemo({ out, hours: 4, postgresServer: 'local', print: () => {} });
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as DemoReport;
    const maintenance = json.decisions.filter((d) => d.tuner === 'maintenance');
    const advice = maintenance.find(
      (d) => d.action === 'recommend' && (d.to as { kind?: string } | null)?.kind === 'index-advice',
    );
    expect((advice?.to as { fix?: string } | undefined)?.fix).toMatch(
      /^CREATE INDEX CONCURRENTLY "demo_line_items_1_sku_idx" ON "public"\."demo_line_items_1" \("sku"\)$/,
    );
    expect(advice?.reason).toContain('proven with HypoPG');
    const rebuilt = maintenance.filter((d) => d.action === 'reindex' && d.outcome === 'applied');
    expect(rebuilt.length).toBeGreaterThan(0);
    expect((rebuilt[0]?.to as { statement?: string } | undefined)?.statement).toMatch(
      /^REINDEX INDEX CONCURRENTLY /,
    );
  });
});
