import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { secretsManagerClient, ssmClient } from '../aws/clients.ts';
import { ValidationError } from '../core/errors.ts';
import type { SlackPayload } from './slack.ts';

const secretSchema = z.object({
  webhookUrl: z.string().min(1).optional(),
  url: z.string().min(1).optional(),
});

/**
 * Posting to a Slack incoming webhook. The URL is a secret: it comes from an SSM SecureString
 * or a Secrets Manager secret, is never logged, and never appears in an error message.
 * Retries only what Slack says is temporary: 429 (honouring Retry-After) and 5xx. A 4xx other
 * than 429 (bad payload, revoked webhook) is not retried: the report stays unreported in the
 * audit log and the next run tries again.
 */
export interface PostOptions {
  maxAttempts?: number;
  /** Injected for tests; defaults to a real timer. */
  sleep?: (ms: number) => Promise<void>;
  fetchImpl?: typeof fetch;
  /** Upper bound for one Retry-After wait. */
  maxRetryAfterMs?: number;
  timeoutMs?: number;
}

export type PostResult =
  | { ok: true; attempts: number }
  | { ok: false; attempts: number; status?: number; error: string; retryable: boolean };

export async function postToSlack(
  url: string,
  payload: SlackPayload,
  options: PostOptions = {},
): Promise<PostResult> {
  const maxAttempts = options.maxAttempts ?? 4;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const doFetch = options.fetchImpl ?? fetch;
  const maxWait = options.maxRetryAfterMs ?? 30_000;
  let last: PostResult = { ok: false, attempts: 0, error: 'not attempted', retryable: true };
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    let status: number | undefined;
    let retryAfterMs: number | undefined;
    try {
      const response = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      status = response.status;
      const body = await response.text();
      if (response.ok) return { ok: true, attempts: attempt };
      const retryable = status === 429 || status >= 500;
      const header = response.headers.get('retry-after');
      if (header !== null && /^\d+$/.test(header.trim())) retryAfterMs = Number(header.trim()) * 1000;
      last = {
        ok: false,
        attempts: attempt,
        status,
        error: `Slack answered ${status}: ${body.slice(0, 200)}`,
        retryable,
      };
      if (!retryable) return last;
    } catch (error) {
      // Network errors and timeouts are temporary.
      last = {
        ok: false,
        attempts: attempt,
        error: `Slack unreachable: ${(error as Error).name}`,
        retryable: true,
      };
    }
    if (attempt < maxAttempts) {
      const backoff = retryAfterMs ?? Math.min(8000, 500 * 2 ** (attempt - 1));
      await sleep(Math.min(backoff, maxWait));
    }
  }
  return last;
}

/** Reads the webhook URL from SSM (SecureString, decrypted) or Secrets Manager. */
export async function slackWebhookUrl(source: {
  parameter?: string;
  secretId?: string;
}): Promise<string | undefined> {
  if (source.parameter) {
    const out = await ssmClient().send(
      new GetParameterCommand({ Name: source.parameter, WithDecryption: true }),
    );
    return out.Parameter?.Value || undefined;
  }
  if (source.secretId) {
    const out = await secretsManagerClient().send(new GetSecretValueCommand({ SecretId: source.secretId }));
    const value = out.SecretString?.trim();
    if (!value) return undefined;
    if (value.startsWith('{')) {
      // Never JSON.parse's own message: it quotes the start of the input (the secret).
      let json: unknown;
      try {
        json = JSON.parse(value);
      } catch {
        throw new ValidationError(
          `secret ${source.secretId} is not valid JSON (expected {"webhookUrl": "https://..."})`,
        );
      }
      const parsed = secretSchema.safeParse(json);
      if (!parsed.success) {
        throw new ValidationError(
          `secret ${source.secretId}: expected a JSON object with a string "webhookUrl" or "url"`,
        );
      }
      return parsed.data.webhookUrl ?? parsed.data.url;
    }
    return value;
  }
  return undefined;
}
