import { describe, expect, it } from 'vitest';
import { normalizeQueryText } from '../../../shared/postgres/insights/collect.ts';

describe('query texts from pg_stat_activity / pg_stat_statements', () => {
  it.each([
    ["ALTER ROLE app WITH PASSWORD 'hunter2-secret'", "ALTER ROLE app WITH PASSWORD '[redacted]'"],
    [
      "CREATE USER x ENCRYPTED PASSWORD 'it''s-hunter2-secret' VALID UNTIL 'infinity'",
      "CREATE USER x ENCRYPTED PASSWORD '[redacted]' VALID UNTIL 'infinity'",
    ],
    ['alter user x password $pw$hunter2-secret$pw$', "alter user x password '[redacted]'"],
    [
      "CREATE USER MAPPING FOR a SERVER s OPTIONS (user 'a', password 'hunter2-secret')",
      "CREATE USER MAPPING FOR a SERVER s OPTIONS (user 'a', password '[redacted]')",
    ],
    [
      "SELECT dblink_connect('host=h user=u password=hunter2-secret')",
      "SELECT dblink_connect('host=h user=u password=[redacted]')",
    ],
  ])('never carries a password literal: %s', (raw, shown) => {
    const text = normalizeQueryText(raw, 500);
    expect(text).toBe(shown);
    expect(text).not.toContain('hunter2');
  });

  it('redacts before truncating, so a cut cannot leave part of the password', () => {
    const text = normalizeQueryText("ALTER ROLE app PASSWORD 'hunter2-very-long-secret-value'", 35);
    expect(text).not.toContain('hunter2');
  });

  it('leaves ordinary statements alone', () => {
    expect(normalizeQueryText("SELECT * FROM t WHERE password_hash = $1 /* c */ AND  x = 'a'", 500)).toBe(
      "SELECT * FROM t WHERE password_hash = $1 AND x = 'a'",
    );
  });
});
