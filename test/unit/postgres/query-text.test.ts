import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeQueryText } from '../../../shared/postgres/insights/collect.ts';
import { isSingleStatement, normalizeSql } from '../../../shared/postgres/insights/sql-text.ts';

describe('query texts from pg_stat_activity / pg_stat_statements', () => {
  it.each([
    ["ALTER ROLE app WITH PASSWORD 'hunter2-secret'", 'ALTER ROLE app WITH PASSWORD …'],
    [
      "CREATE USER x ENCRYPTED PASSWORD 'it''s-hunter2-secret' VALID UNTIL 'infinity'",
      'CREATE USER x ENCRYPTED PASSWORD …',
    ],
    ['alter user x password $pw$hunter2-secret$pw$', 'alter user x password …'],
    [
      "CREATE USER MAPPING FOR a SERVER s OPTIONS (user 'a', password 'hunter2-secret')",
      'CREATE USER MAPPING FOR a SERVER s OPTIONS (user $1, password …',
    ],
    ["SELECT dblink_connect('host=h user=u password=hunter2-secret')", 'SELECT dblink_connect($1)'],
    ["SET app.api_key = 'hunter2-secret'", 'SET app.api_key = …'],
    ['SET SESSION app.api_key TO hunter2_secret', 'SET SESSION app.api_key TO …'],
    ["ALTER ROLE app SET app.api_key = 'hunter2-secret'", 'ALTER ROLE app SET app.api_key = …'],
    ["ALTER DATABASE orders SET app.token TO 'hunter2-secret'", 'ALTER DATABASE orders SET app.token TO …'],
    ["SELECT set_config('app.api_key', 'hunter2-secret', false)", 'SELECT set_config($1, $2, false)'],
    [
      "SELECT * FROM t WHERE token = E'hunter2\\'-secret' AND n = 42",
      'SELECT * FROM t WHERE token = $1 AND n = $2',
    ],
  ])('never carries a literal or a setting value: %s', (raw, shown) => {
    const text = normalizeQueryText(raw, 500);
    expect(text).toBe(shown);
    expect(text).not.toContain('hunter2');
  });

  it('reads nested comments as PostgreSQL does, so a comment cannot smuggle a statement out', () => {
    const text = normalizeSql('SELECT 1 /* /* */ ; DROP TABLE victim; -- */');
    expect(text).toBe('SELECT $1');
    expect(text).not.toContain('DROP');
    expect(isSingleStatement(text)).toBe(true);
  });

  it('treats an unterminated comment or string as running to the end of the text', () => {
    expect(normalizeSql('SELECT 1 /* never closed ; DROP TABLE victim')).toBe('SELECT $1');
    expect(normalizeSql("SELECT 'never closed ; DROP TABLE victim")).toBe('SELECT $1');
  });

  it('numbers literals after the parameters the text already has', () => {
    expect(normalizeSql("SELECT * FROM t WHERE a = $2 AND b = 'x' AND c = 3.5e2")).toBe(
      'SELECT * FROM t WHERE a = $2 AND b = $3 AND c = $4',
    );
  });

  it('keeps quoted identifiers and says when there is more than one statement', () => {
    expect(normalizeSql('SELECT "Weird;Name" FROM t')).toBe('SELECT "Weird;Name" FROM t');
    expect(isSingleStatement(normalizeSql('SELECT 1; DELETE FROM t'))).toBe(false);
    expect(isSingleStatement(normalizeSql('SELECT 1;'))).toBe(true);
  });

  it('redacts before truncating, so a cut cannot leave part of the password', () => {
    const text = normalizeQueryText("ALTER ROLE app PASSWORD 'hunter2-very-long-secret-value'", 20);
    expect(text).not.toContain('hunter2');
  });

  it('never lets a quoted literal through, whatever it holds', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 30 }).filter((s) => /[A-Za-z]{4}/.test(s)),
        fc.constantFrom('%s', 'E%s', 'U&%s', '$$%r$$', '$tag$%r$tag$'),
        (secret, shape) => {
          const token = `Zq${secret.replace(/[^A-Za-z0-9]/g, '')}Zq`;
          const quoted = shape.includes('%r')
            ? shape.replace('%r', token)
            : shape.replace('%s', `'${token.replace(/'/g, "''")}'`);
          const text = normalizeQueryText(`SELECT * FROM t /* c */ WHERE k = ${quoted} -- x`, 500);
          expect(text).not.toContain(token);
        },
      ),
      { numRuns: 200 },
    );
  });
});
