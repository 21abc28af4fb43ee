/**
 * Offline checks of an Amazon States Language definition (what can be checked without AWS):
 * StartAt and every Next / Catch target name an existing state; every state is reachable; each
 * non-terminal state has exactly one of Next / End (Choice, Succeed, Fail excepted); known state
 * types; a Task has a Resource; a Map has an ItemProcessor (checked the same way, recursively)
 * whose ProcessorConfig.Mode is INLINE or DISTRIBUTED (DISTRIBUTED with an ExecutionType of
 * STANDARD or EXPRESS; ToleratedFailurePercentage only there, 0-100); MaxConcurrency a whole
 * number >= 0 (an inline Map runs at most 40 iterations at once); Retry / Catch with non-empty
 * ErrorEquals and `States.ALL` alone and last; paths (InputPath, OutputPath, ResultPath,
 * ItemsPath) null or JSONPath (`$...`); a `.$` field holds a path (`$` or `$$`); a Task's
 * TimeoutSeconds a positive whole number; every `${Name}` placeholder among the substitutions.
 * (Amazon States Language specification; Step Functions Developer Guide, "Map state", "Distributed Map".)
 */

export interface AslProblem {
  path: string;
  message: string;
}

const TYPES = new Set(['Task', 'Pass', 'Choice', 'Wait', 'Succeed', 'Fail', 'Parallel', 'Map']);
const TERMINAL_TYPES = new Set(['Choice', 'Succeed', 'Fail']);
const PATH_FIELDS = ['InputPath', 'OutputPath', 'ResultPath', 'ItemsPath'] as const;
/** Step Functions runs at most 40 iterations of an inline Map at once. */
export const INLINE_MAP_MAX_CONCURRENCY = 40;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkErrorList(
  list: unknown,
  path: string,
  problems: AslProblem[],
  names: Set<string> | undefined,
): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) {
    problems.push({ path, message: 'must be a list' });
    return;
  }
  list.forEach((r, i) => {
    const at = `${path}[${i}]`;
    if (!isObj(r) || !Array.isArray(r.ErrorEquals) || r.ErrorEquals.length === 0) {
      problems.push({ path: at, message: 'ErrorEquals must be a non-empty list' });
      return;
    }
    const errors = r.ErrorEquals as unknown[];
    if (errors.includes('States.ALL') && (errors.length > 1 || i !== list.length - 1))
      problems.push({ path: at, message: 'States.ALL must appear alone and in the last retrier or catcher' });
    if (names) {
      if (typeof r.Next !== 'string' || !names.has(r.Next))
        problems.push({ path: `${at}.Next`, message: `"${String(r.Next)}" is not a state` });
    } else {
      for (const f of ['IntervalSeconds', 'MaxAttempts'] as const)
        if (r[f] !== undefined && !(Number.isInteger(r[f]) && (r[f] as number) >= 0))
          problems.push({ path: `${at}.${f}`, message: 'must be a whole number >= 0' });
      if (r.BackoffRate !== undefined && !(typeof r.BackoffRate === 'number' && r.BackoffRate >= 1))
        problems.push({ path: `${at}.BackoffRate`, message: 'must be a number >= 1' });
    }
  });
}

function checkPayloadPaths(value: unknown, path: string, problems: AslProblem[]): void {
  if (!isObj(value)) return;
  for (const [key, v] of Object.entries(value)) {
    if (key.endsWith('.$')) {
      if (typeof v !== 'string' || !v.startsWith('$'))
        problems.push({
          path: `${path}.${key}`,
          message: 'a field ending in .$ must hold a path ($... or $$...)',
        });
    } else checkPayloadPaths(v, `${path}.${key}`, problems);
  }
}

function checkState(state: Obj, path: string, names: Set<string>, problems: AslProblem[]): void {
  const type = state.Type;
  if (typeof type !== 'string' || !TYPES.has(type)) {
    problems.push({ path: `${path}.Type`, message: `unknown state type "${String(type)}"` });
    return;
  }
  const hasNext = state.Next !== undefined;
  const hasEnd = state.End === true;
  if (!TERMINAL_TYPES.has(type) && hasNext === hasEnd)
    problems.push({ path, message: 'needs exactly one of Next and End: true' });
  if (hasNext && (typeof state.Next !== 'string' || !names.has(state.Next)))
    problems.push({ path: `${path}.Next`, message: `"${String(state.Next)}" is not a state` });
  for (const field of PATH_FIELDS) {
    const v = state[field];
    if (v !== undefined && v !== null && (typeof v !== 'string' || !v.startsWith('$')))
      problems.push({ path: `${path}.${field}`, message: 'must be null or a JSONPath ($...)' });
  }
  for (const field of ['Parameters', 'ResultSelector', 'ItemSelector'] as const)
    checkPayloadPaths(state[field], `${path}.${field}`, problems);
  checkErrorList(state.Retry, `${path}.Retry`, problems, undefined);
  checkErrorList(state.Catch, `${path}.Catch`, problems, names);
  if (type === 'Task') {
    if (typeof state.Resource !== 'string' || state.Resource === '')
      problems.push({ path: `${path}.Resource`, message: 'a Task needs a Resource' });
    if (state.Resource === 'arn:aws:states:::lambda:invoke' && !isObj(state.Parameters))
      problems.push({ path: `${path}.Parameters`, message: 'lambda:invoke needs Parameters.FunctionName' });
    if (
      state.TimeoutSeconds !== undefined &&
      !(Number.isInteger(state.TimeoutSeconds) && (state.TimeoutSeconds as number) > 0)
    )
      problems.push({ path: `${path}.TimeoutSeconds`, message: 'must be a whole number > 0' });
  }
  if (type === 'Map') checkMap(state, path, problems);
}

function checkMap(state: Obj, path: string, problems: AslProblem[]): void {
  const processor = state.ItemProcessor ?? state.Iterator;
  if (!isObj(processor)) {
    problems.push({ path: `${path}.ItemProcessor`, message: 'a Map needs an ItemProcessor' });
    return;
  }
  const config = isObj(processor.ProcessorConfig) ? processor.ProcessorConfig : { Mode: 'INLINE' };
  const mode = config.Mode ?? 'INLINE';
  if (mode !== 'INLINE' && mode !== 'DISTRIBUTED')
    problems.push({
      path: `${path}.ItemProcessor.ProcessorConfig.Mode`,
      message: 'must be INLINE or DISTRIBUTED',
    });
  if (mode === 'DISTRIBUTED' && config.ExecutionType !== 'STANDARD' && config.ExecutionType !== 'EXPRESS')
    problems.push({
      path: `${path}.ItemProcessor.ProcessorConfig.ExecutionType`,
      message: 'a Distributed Map needs ExecutionType STANDARD or EXPRESS',
    });
  const mc = state.MaxConcurrency;
  if (mc !== undefined && !(Number.isInteger(mc) && (mc as number) >= 0))
    problems.push({ path: `${path}.MaxConcurrency`, message: 'must be a whole number >= 0' });
  if (mode === 'INLINE' && typeof mc === 'number' && mc > INLINE_MAP_MAX_CONCURRENCY)
    problems.push({
      path: `${path}.MaxConcurrency`,
      message: `an inline Map runs at most ${INLINE_MAP_MAX_CONCURRENCY} iterations at once`,
    });
  const tolerated = state.ToleratedFailurePercentage;
  if (tolerated !== undefined) {
    if (mode !== 'DISTRIBUTED')
      problems.push({
        path: `${path}.ToleratedFailurePercentage`,
        message: 'only a Distributed Map tolerates failures',
      });
    else if (typeof tolerated !== 'number' || tolerated < 0 || tolerated > 100)
      problems.push({ path: `${path}.ToleratedFailurePercentage`, message: 'must be from 0 to 100' });
  }
  problems.push(...checkMachine(processor, `${path}.ItemProcessor`));
}

/** Every state reachable from StartAt (through Next, Catch and Choice branches). */
function reachable(states: Record<string, Obj>, start: string): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length > 0) {
    const name = todo.pop() as string;
    if (seen.has(name) || !states[name]) continue;
    seen.add(name);
    const s = states[name];
    if (typeof s.Next === 'string') todo.push(s.Next);
    if (typeof s.Default === 'string') todo.push(s.Default);
    for (const c of [
      ...(Array.isArray(s.Catch) ? s.Catch : []),
      ...(Array.isArray(s.Choices) ? s.Choices : []),
    ])
      if (isObj(c) && typeof c.Next === 'string') todo.push(c.Next);
  }
  return seen;
}

/** The problems of one state machine (or a Map's ItemProcessor); empty = valid. */
export function checkMachine(machine: unknown, path = '$'): AslProblem[] {
  const problems: AslProblem[] = [];
  if (!isObj(machine) || !isObj(machine.States)) return [{ path, message: 'needs States' }];
  const states = machine.States as Record<string, Obj>;
  const names = new Set(Object.keys(states));
  if (names.size === 0) problems.push({ path: `${path}.States`, message: 'needs at least one state' });
  if (typeof machine.StartAt !== 'string' || !names.has(machine.StartAt))
    problems.push({ path: `${path}.StartAt`, message: `"${String(machine.StartAt)}" is not a state` });
  for (const [name, state] of Object.entries(states)) {
    if (name.length > 80)
      problems.push({ path: `${path}.States.${name}`, message: 'a state name has at most 80 characters' });
    if (!isObj(state)) problems.push({ path: `${path}.States.${name}`, message: 'must be an object' });
    else checkState(state, `${path}.States.${name}`, names, problems);
  }
  if (typeof machine.StartAt === 'string') {
    const seen = reachable(states, machine.StartAt);
    for (const name of names)
      if (!seen.has(name)) problems.push({ path: `${path}.States.${name}`, message: 'is never reached' });
  }
  return problems;
}

/** The whole definition: the machine, and every `${Name}` placeholder given a substitution. */
export function checkDefinition(definition: unknown, substitutions: readonly string[]): AslProblem[] {
  const problems = checkMachine(definition);
  const text = JSON.stringify(definition);
  for (const m of text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)) {
    if (!substitutions.includes(m[1] as string))
      problems.push({ path: '$', message: `placeholder \${${m[1]}} has no DefinitionSubstitution` });
  }
  return problems;
}
