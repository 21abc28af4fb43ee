/** Small error classes with a `name` and a `cause`, in the style of Powertools' own. */

export class DbAutopilotError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input (event, manual invocation, config, metric data, SQL identifier): nothing was changed. */
export class ValidationError extends DbAutopilotError {
  constructor(
    message: string,
    readonly issues: Array<{ path: string; message: string; line?: number }> = [],
  ) {
    super(message);
  }
}

export class ConfigError extends ValidationError {}

/** A message safe to return to a caller: never a stack trace, a connection string or a secret. */
export function publicMessage(error: unknown): string {
  // Our own messages may quote input (a config value, a DSN someone pasted): redacted too.
  if (error instanceof DbAutopilotError) return redact(error.message);
  if (error instanceof Error && typeof (error as { name?: unknown }).name === 'string') {
    // AWS SDK errors carry a code-like name; the message can be shown, internals cannot.
    return `${error.name}: ${redact(error.message)}`;
  }
  return 'internal error (see the function logs for the request id)';
}

/** Removes things that look like secrets or connection strings from a message. */
export function redact(text: string): string {
  return (
    text
      .replace(/postgres(ql)?:\/\/[^\s'"]+/gi, 'postgres://[redacted]')
      .replace(/https:\/\/hooks\.slack\.com\/[^\s'"]+/gi, 'https://hooks.slack.com/[redacted]')
      // Credentials in any other URL (mysql://user:pass@host, https://user:pass@host).
      .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"]+@/gi, '$1[redacted]@')
      .replace(/(password|passwd|pwd|secret|token)=([^\s&'"]+)/gi, '$1=[redacted]')
      .replace(/("(?:password|passwd|pwd|secret|token)"\s*:\s*)"[^"]*"/gi, '$1"[redacted]"')
  );
}
