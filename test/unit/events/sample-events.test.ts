import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import type { z } from 'zod';
import { zodIssues } from '../../../shared/handler/wrap.ts';

/**
 * Every sample under events/ (the files the README tells people to invoke with) is accepted by
 * its function's own event schema: the schema the function passes to lambdaHandler, captured
 * here, so no function has to export it. And every function has at least one sample.
 */

const schemas = vi.hoisted(() => new Map<string, unknown>());

vi.mock('../../../shared/handler/wrap.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../shared/handler/wrap.ts')>();
  return {
    ...real,
    lambdaHandler: ((name: string, schema: unknown, core: never) => {
      schemas.set(name, schema);
      return real.lambdaHandler(name, schema as z.ZodType, core);
    }) as typeof real.lambdaHandler,
  };
});

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

const functions = Object.keys(
  (
    parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8'), {
      customTags: [{ tag: '!Ref', resolve: (v: string) => ({ Ref: v }) }],
    }) as {
      functions: Record<string, unknown>;
    }
  ).functions,
);

/** Sample file names that do not start with their function's name. */
const ALIASES: Array<[RegExp, string]> = [
  [/^alarm-state-change/, 'alarm-handler'],
  [/^replica-/, 'replica-scaler'],
  [/^iops-/, 'iops-tuner'],
  [/^dynamodb-/, 'dynamodb-tuner'],
];

function functionOf(file: string): string | undefined {
  const direct = functions
    .filter((fn) => file.startsWith(`${fn}-`) || file === `${fn}.json`)
    .sort((a, b) => b.length - a.length)[0];
  return direct ?? ALIASES.find(([re]) => re.test(file))?.[1];
}

const samples = readdirSync(join(ROOT, 'events'))
  .filter((f) => f.endsWith('.json'))
  .sort();

async function schemaOf(fn: string): Promise<z.ZodType> {
  const file = join(ROOT, 'functions', `${fn}.ts`);
  expect(existsSync(file), `functions/${fn}.ts does not exist`).toBe(true);
  await import(pathToFileURL(file).href);
  const schema = schemas.get(fn);
  expect(schema, `functions/${fn}.ts did not call lambdaHandler('${fn}', schema, ...)`).toBeDefined();
  return schema as z.ZodType;
}

describe('sample events under events/', () => {
  it.each(samples)('%s belongs to a function and passes its event schema', async (file) => {
    const fn = functionOf(file);
    expect(
      fn,
      `${file}: cannot tell which function it is for (name it <function>-<case>.json)`,
    ).toBeDefined();
    const schema = await schemaOf(fn ?? '');
    const event = JSON.parse(readFileSync(join(ROOT, 'events', file), 'utf8')) as unknown;
    const result = schema.safeParse(event);
    expect(result.success ? [] : zodIssues(result.error, 'event', event)).toEqual([]);
  });

  it.each(functions)('%s has at least one sample event', (fn) => {
    expect(samples.filter((f) => functionOf(f) === fn).length, `no events/${fn}-*.json`).toBeGreaterThan(0);
  });

  it('a malformed copy of a sample is rejected by the same schema (the check can fail)', async () => {
    const schema = await schemaOf('control');
    expect(schema.safeParse({ command: 'pause' }).success).toBe(true);
    expect(schema.safeParse({ command: 'pause', extra: 1 }).success).toBe(false);
  });
});
