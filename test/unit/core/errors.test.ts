import { describe, expect, it } from 'vitest';
import { publicMessage, redact, ValidationError } from '../../../shared/core/errors.ts';

describe('publicMessage', () => {
  it('redacts a connection string quoted in one of our own errors', () => {
    const message = publicMessage(
      new ValidationError('bad dsn postgres://app:hunter2@db.internal:5432/shop'),
    );
    expect(message).toContain('bad dsn');
    expect(message).not.toContain('hunter2');
  });

  it('redacts credentials in any URL and in JSON-looking text', () => {
    const text = redact('mysql://root:s3cret@10.0.0.1/shop and {"password": "p4ss", "user": "app"}');
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('p4ss');
    expect(text).toContain('"user": "app"');
  });

  it('shows an SDK error by name and message', () => {
    const error = Object.assign(new Error('instance not available'), { name: 'InvalidDBInstanceStateFault' });
    expect(publicMessage(error)).toBe('InvalidDBInstanceStateFault: instance not available');
  });
});
