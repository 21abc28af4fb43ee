import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * A lint check for the pattern that crashed discovery (issue 21): a promise is started and kept in
 * a variable (`const p = (async () => ...)()`, `const ps = xs.map(async ...)`), then the code
 * awaits something else before it awaits (or attaches a handler to) that promise. If the kept
 * promise rejects meanwhile, nothing handles it: Node reports an unhandled rejection and exits.
 *
 * Heuristic and syntactic (no type information): a `const` holding a started async IIFE, a
 * `.map(async` call, or any call whose variable is awaited later (`await p`, `await Promise.all([p])`).
 */
export interface StartedPromiseFinding {
  file: string;
  line: number;
  name: string;
}

function unwrap(node: ts.Expression): ts.Expression {
  let n = node;
  while (ts.isParenthesizedExpression(n)) n = n.expression;
  return n;
}

function isAsyncFunction(node: ts.Expression): boolean {
  const n = unwrap(node);
  return (
    (ts.isArrowFunction(n) || ts.isFunctionExpression(n)) &&
    (ts.getCombinedModifierFlags(n) & ts.ModifierFlags.Async) !== 0
  );
}

/** `(async () => ...)()` or `xs.map(async ...)` (also either branch of a conditional). */
function startsPromise(init: ts.Expression): boolean {
  const n = unwrap(init);
  if (ts.isConditionalExpression(n)) return startsPromise(n.whenTrue) || startsPromise(n.whenFalse);
  if (!ts.isCallExpression(n)) return false;
  if (isAsyncFunction(n.expression)) return true;
  const callee = n.expression;
  return (
    ts.isPropertyAccessExpression(callee) &&
    ['map', 'flatMap'].includes(callee.name.text) &&
    n.arguments.some((a) => isAsyncFunction(a))
  );
}

function mentions(node: ts.Node, name: string): boolean {
  let found = false;
  const visit = (n: ts.Node) => {
    if (found) return;
    if (ts.isIdentifier(n) && n.text === name) found = true;
    else ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

function awaits(node: ts.Node): boolean {
  let found = false;
  const visit = (n: ts.Node) => {
    if (found) return;
    // A nested function's awaits run later, inside that function.
    if (ts.isFunctionLike(n)) return;
    if (ts.isAwaitExpression(n) || (ts.isForOfStatement(n) && n.awaitModifier)) found = true;
    else ts.forEachChild(n, visit);
  };
  ts.forEachChild(node, visit);
  return found || ts.isAwaitExpression(node);
}

/** `await name`, `await Promise.all([.., name, ..])` (or allSettled / race / any) somewhere in `node`. */
function awaitedLater(node: ts.Node, name: string): boolean {
  let found = false;
  const isName = (e: ts.Expression) =>
    ts.isIdentifier(unwrap(e)) && (unwrap(e) as ts.Identifier).text === name;
  const visit = (n: ts.Node) => {
    if (found) return;
    if (ts.isAwaitExpression(n)) {
      const e = unwrap(n.expression);
      if (isName(e)) found = true;
      else if (
        ts.isCallExpression(e) &&
        /^Promise\.(all|allSettled|race|any)$/.test(e.expression.getText())
      ) {
        const list = e.arguments[0] && unwrap(e.arguments[0]);
        if (list && ts.isArrayLiteralExpression(list) && list.elements.some((x) => mentions(x, name)))
          found = true;
        if (list && isName(list)) found = true;
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

export function findStartedPromises(fileName: string, text: string): StartedPromiseFinding[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const findings: StartedPromiseFinding[] = [];
  const checkBlock = (statements: readonly ts.Statement[]) => {
    statements.forEach((statement, index) => {
      if (!ts.isVariableStatement(statement)) return;
      for (const decl of statement.declarationList.declarations) {
        if (!ts.isIdentifier(decl.name) || !decl.initializer) continue;
        const name = decl.name.text;
        const init = unwrap(decl.initializer);
        // A promise: started by an async IIFE / .map(async), or a call kept and awaited later.
        const kept = ts.isCallExpression(init) || ts.isConditionalExpression(init);
        const later = statements.slice(index + 1);
        if (!startsPromise(init) && !(kept && later.some((l) => awaitedLater(l, name)))) continue;
        for (const statement of later) {
          if (mentions(statement, name)) break; // awaited or handled here first
          if (awaits(statement)) {
            const { line } = source.getLineAndCharacterOfPosition(decl.getStart());
            findings.push({ file: fileName, line: line + 1, name });
            break;
          }
        }
      }
    });
  };
  const visit = (n: ts.Node) => {
    if (ts.isBlock(n) || ts.isSourceFile(n)) checkBlock(n.statements);
    ts.forEachChild(n, visit);
  };
  visit(source);
  return findings;
}

/** Every .ts file under the given folders (node_modules excluded). */
export function sourceFiles(root: string, folders: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) out.push(path);
    }
  };
  for (const f of folders) walk(join(root, f));
  return out.sort();
}

export function scanStartedPromises(root: string, folders: string[]): StartedPromiseFinding[] {
  return sourceFiles(root, folders).flatMap((file) =>
    findStartedPromises(file.slice(root.length + 1), readFileSync(file, 'utf8')),
  );
}
