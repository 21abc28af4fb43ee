import { readFileSync } from 'node:fs';
import { type Document, isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import { type Config, configSchema } from './schema.ts';

export interface ConfigIssue {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(root)';
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

export interface ParseOptions {
  /**
   * The Region the functions are deployed to (osls --region at package/deploy time, AWS_REGION at
   * cold start, `validate --region`): the configuration's `region` must be it.
   */
  deployRegion?: string;
}

/** The line and column of a path in the document (the nearest existing parent when a key is missing). */
function positionOf(
  doc: Document,
  lineCounter: LineCounter,
  path: PropertyKey[],
): { line?: number; column?: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return {};
}

/**
 * Parses YAML text and validates it against the schema. Every issue names its path and the
 * line in the file (the nearest existing parent when a key is missing).
 */
export function parseConfig(text: string, source = 'config', options: ParseOptions = {}): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return {
        path: '(yaml)',
        message: e.message.split('\n')[0] ?? e.message,
        line: pos?.line,
        column: pos?.col,
      };
    });
    throw new ConfigError(formatIssues(source, issues), issues);
  }
  const data: unknown = doc.toJS();
  const result = configSchema.safeParse(data ?? {});
  if (result.success) {
    const deploy = options.deployRegion;
    if (deploy === undefined || result.data.region === deploy) return result.data;
    const issues = [
      {
        path: 'region',
        message: `${result.data.region} is not the Region db-autopilot is deployed to (${deploy}): it reads metrics and changes resources only in its own Region; set region: ${deploy}, or deploy to ${result.data.region} (osls deploy --region ${result.data.region})`,
        ...positionOf(doc, lineCounter, ['region']),
      },
    ];
    throw new ConfigError(formatIssues(source, issues), issues);
  }
  const issues = result.error.issues.map((issue: z.core.$ZodIssue) => {
    const path = issue.path as PropertyKey[];
    return { path: formatPath(path), message: issue.message, ...positionOf(doc, lineCounter, path) };
  });
  throw new ConfigError(formatIssues(source, issues), issues);
}

export function formatIssues(source: string, issues: ConfigIssue[]): string {
  const lines = issues.map((i) => `  ${source}${i.line ? `:${i.line}` : ''} ${i.path}: ${i.message}`);
  return `invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

export function loadConfigFile(file: string, options: ParseOptions = {}): Config {
  return parseConfig(readFileSync(file, 'utf8'), file, options);
}

declare const __DBAP_CONFIG_YAML__: string | undefined;

let cached: Config | undefined;

/**
 * The deployed configuration, read and checked once at cold start (failing fast).
 * In a Lambda bundle the YAML is embedded at package time (validated there too, see
 * esbuild.config.cjs); locally DBAP_CONFIG_FILE points at the file.
 */
export function getConfig(): Config {
  if (cached) return cached;
  const embedded = typeof __DBAP_CONFIG_YAML__ === 'string' ? __DBAP_CONFIG_YAML__ : undefined;
  if (embedded !== undefined) {
    // In Lambda: the Region it runs in (AWS_REGION, set by the runtime) must be the config's.
    cached = parseConfig(embedded, 'db-autopilot.yml', { deployRegion: process.env.AWS_REGION });
  } else {
    const file = process.env.DBAP_CONFIG_FILE ?? 'db-autopilot.yml';
    cached = loadConfigFile(file);
  }
  return cached;
}

/** Tests, the demo and backtests install their own configuration. */
export function setConfig(config: Config | undefined): void {
  cached = config;
}
