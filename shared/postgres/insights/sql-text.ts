/**
 * Query text that is safe to keep, post and log: no literal, no setting value, no comment.
 *
 * pg_stat_activity shows a statement as the client sent it, and pg_stat_statements keeps the text
 * of utility statements (SET, ALTER ROLE ... PASSWORD) with their values, so every query text is
 * re-normalized here before it can reach a finding, a log or a report:
 * - comments are dropped the way PostgreSQL's lexer reads them (scan.l): `--` to the end of the
 *   line; `/* ... *\/` NESTS (`/* /* *\/ still a comment *\/`), and an unterminated one runs to
 *   the end of the text;
 * - every constant becomes a parameter `$n` (numbered after the text's own highest `$n`):
 *   '...' (with '' doubled quotes), E'...' (backslash escapes), U&'...', B'...', X'...', N'...',
 *   $tag$...$tag$ dollar quoting, and numbers; "quoted identifiers" are kept;
 * - SET / RESET / ALTER ROLE|USER|DATABASE ... SET / ALTER SYSTEM and anything with PASSWORD keep the
 *   setting's name and drop its value (an unquoted value is still a value: `SET search_path TO app`).
 * The result is a single line; `isSingleStatement` tells whether it is one statement (a fix that
 * wraps it, like EXPLAIN, is only offered then).
 */

interface Token {
  kind: 'word' | 'param' | 'literal' | 'punct' | 'space' | 'semicolon';
  text: string;
}

const isIdentStart = (c: string) => /[A-Za-z_\u0080-\uffff]/.test(c);
const isIdentChar = (c: string) => /[A-Za-z0-9_$\u0080-\uffff]/.test(c);

/** End index (exclusive) of a block comment starting at i (PostgreSQL nests them). */
function blockCommentEnd(s: string, i: number): number {
  let depth = 0;
  let k = i;
  while (k < s.length) {
    if (s.startsWith('/*', k)) {
      depth++;
      k += 2;
    } else if (s.startsWith('*/', k)) {
      depth--;
      k += 2;
      if (depth === 0) return k;
    } else k++;
  }
  return s.length;
}

/** End of a quoted string starting at the quote q (doubled quotes; backslash escapes when `escapes`). */
function quotedEnd(s: string, q: number, escapes: boolean, quote = "'"): number {
  let k = q + 1;
  while (k < s.length) {
    const c = s[k];
    if (escapes && c === '\\') k += 2;
    else if (c === quote) {
      if (s[k + 1] === quote) k += 2;
      else return k + 1;
    } else k++;
  }
  return s.length;
}

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] ?? '';
    const rest2 = s.slice(i, i + 2);
    if (/\s/.test(c)) {
      let k = i + 1;
      while (k < s.length && /\s/.test(s[k] ?? '')) k++;
      out.push({ kind: 'space', text: ' ' });
      i = k;
    } else if (rest2 === '--') {
      const nl = s.indexOf('\n', i);
      out.push({ kind: 'space', text: ' ' });
      i = nl === -1 ? s.length : nl + 1;
    } else if (rest2 === '/*') {
      out.push({ kind: 'space', text: ' ' });
      i = blockCommentEnd(s, i);
    } else if (c === "'") {
      out.push({ kind: 'literal', text: '' });
      i = quotedEnd(s, i, false);
    } else if (/^[EeBbXxNn]'/.test(rest2)) {
      out.push({ kind: 'literal', text: '' });
      i = quotedEnd(s, i + 1, c === 'E' || c === 'e');
    } else if (/^[Uu]&['"]/.test(s.slice(i, i + 3))) {
      const quote = s[i + 2] ?? "'";
      const end = quotedEnd(s, i + 2, false, quote);
      out.push(quote === "'" ? { kind: 'literal', text: '' } : { kind: 'word', text: s.slice(i, end) });
      i = end;
    } else if (c === '"') {
      const end = quotedEnd(s, i, false, '"');
      out.push({ kind: 'word', text: s.slice(i, end) });
      i = end;
    } else if (c === '$') {
      const param = /^\$(\d+)/.exec(s.slice(i));
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(s.slice(i));
      if (param) {
        out.push({ kind: 'param', text: param[0] });
        i += param[0].length;
      } else if (tag) {
        const close = s.indexOf(tag[0], i + tag[0].length);
        out.push({ kind: 'literal', text: '' });
        i = close === -1 ? s.length : close + tag[0].length;
      } else {
        out.push({ kind: 'punct', text: c });
        i++;
      }
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(s[i + 1] ?? ''))) {
      const m = /^(0[xX][0-9A-Fa-f_]+|0[oO][0-7_]+|0[bB][01_]+|(\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?)/.exec(
        s.slice(i),
      );
      out.push({ kind: 'literal', text: '' });
      i += Math.max(1, m?.[0].length ?? 1);
    } else if (isIdentStart(c)) {
      let k = i + 1;
      while (k < s.length && isIdentChar(s[k] ?? '')) k++;
      out.push({ kind: 'word', text: s.slice(i, k) });
      i = k;
    } else if (c === ';') {
      out.push({ kind: 'semicolon', text: ';' });
      i++;
    } else {
      out.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return out;
}

const upper = (t: Token | undefined) => (t?.kind === 'word' ? t.text.toUpperCase() : '');

/** Index of the token from which a setting's value starts (it and everything after is dropped). */
function settingValueStart(tokens: Token[], start: number, end: number): number | undefined {
  const words = tokens.slice(start, end).map(upper);
  const first = words.find((w) => w !== '');
  const at = (w: string) => words.indexOf(w);
  const afterSetName = (setIdx: number) => {
    // SET [SESSION|LOCAL] name {=|TO} value: the value starts after = or TO.
    for (let k = start + setIdx + 1; k < end; k++) {
      const t = tokens[k];
      if (t?.kind === 'punct' && t.text === '=') return k + 1;
      if (upper(t) === 'TO') return k + 1;
    }
    return undefined;
  };
  if (first === 'SET' || first === 'RESET') return first === 'SET' ? afterSetName(at('SET')) : undefined;
  if (first === 'ALTER' || first === 'CREATE') {
    const pw = at('PASSWORD');
    if (pw >= 0) return start + pw + 1;
    const set = at('SET');
    if (set >= 0) return afterSetName(set);
  }
  return undefined;
}

/** A statement's tokens with literals as $n, setting values dropped, in one line. */
export function normalizeSql(text: string, maxChars = Number.POSITIVE_INFINITY): string {
  const tokens = tokenize(text);
  let next = 0;
  for (const t of tokens) if (t.kind === 'param') next = Math.max(next, Number(t.text.slice(1)));
  const parts: string[] = [];
  let stmtStart = 0;
  const flush = (end: number) => {
    const cut = settingValueStart(tokens, stmtStart, end);
    for (let k = stmtStart; k < end; k++) {
      const t = tokens[k];
      if (!t) continue;
      if (cut !== undefined && k === cut) {
        parts.push(' …');
        break;
      }
      parts.push(t.kind === 'literal' ? `$${++next}` : t.text);
    }
  };
  tokens.forEach((t, k) => {
    if (t.kind === 'semicolon') {
      flush(k);
      parts.push(';');
      stmtStart = k + 1;
    }
  });
  flush(tokens.length);
  const flat = parts.join('').replace(/\s+/g, ' ').replace(/\s+;/g, ';').trim();
  return flat.length > maxChars ? `${flat.slice(0, maxChars - 1)}…` : flat;
}

/** One statement (a trailing semicolon allowed): only then may a fix wrap it (EXPLAIN ...). */
export function isSingleStatement(normalized: string): boolean {
  const body = normalized.replace(/;\s*$/, '');
  return !tokenize(body).some((t) => t.kind === 'semicolon');
}
