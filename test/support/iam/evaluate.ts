/**
 * A small IAM policy evaluator for tests: does a role's identity policy allow one authorization
 * request (an action on one resource ARN, with its condition context)?
 *
 * What it models (IAM User Guide, "Policy evaluation logic" and "IAM JSON policy elements"):
 * - an explicit Deny wins; otherwise a request is allowed when some Allow statement matches its
 *   action, its resource and every condition of the statement (implicit deny otherwise);
 * - Action: `service:Name` with `*` / `?` wildcards, case-insensitive;
 * - Resource: ARNs with `*` / `?` wildcards (a `*` spans `/` and `:`), after the template's
 *   `${AWS::Partition}` / `${AWS::Region}` / `${AWS::AccountId}` are substituted (resolveArn of
 *   iam-check.ts) and `Ref` / `Fn::GetAtt` of template resources are mapped to the ARNs the test gives;
 * - Condition operators StringEquals, StringLike, StringNotEquals (each with IfExists), Null, and
 *   the ForAllValues: / ForAnyValue: set qualifiers; keys compared case-insensitively; several
 *   values of one key are OR-ed, several keys and operators are AND-ed.
 *
 * What it does not model, so a call it allows can still be denied in a real account: service
 * control policies, permission boundaries, session policies, resource-based policies (KMS key
 * policies, for example), any condition operator or key not listed above (it throws on an unknown
 * operator rather than guess), policy variables, and NotAction / NotResource (it throws).
 */
import {
  type Json,
  type PolicyStatement,
  resolveArn,
  TEMPLATE_RESOURCE,
} from '../../integration/deploy/iam-check.ts';

export type ContextValue = string | string[];

export interface AuthRequest {
  /** `service:Action` as IAM names it (not the SDK operation). */
  action: string;
  /** The ARN IAM authorizes the action on (`*` where the action has no resource-level permission). */
  resource: string;
  /** Request context: `aws:ResourceTag/<k>`, `aws:RequestTag/<k>`, `aws:TagKeys`, service keys. */
  context: Record<string, ContextValue>;
  /** The SDK call it comes from (`dynamodb:UpdateTable`), for messages. */
  call: string;
  /** The simulator's client that made the call (`rds`, `ssm`...): which credentials sign it. */
  client: string;
}

export interface EvaluateOptions {
  /** Template resources (`Ref` / `Fn::GetAtt` targets) and the ARN each stands for in this account. */
  templateArns?: Record<string, string>;
}

/** `*` and `?` wildcards of IAM, everything else literal. */
export function globToRegExp(pattern: string, flags = ''): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, flags);
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function stringsOf(values: Json | undefined, where: string): string[] {
  return asArray(values).map((v) => {
    if (typeof v !== 'string') throw new Error(`iam evaluator: non-string condition value in ${where}`);
    return v;
  });
}

function actionMatches(statement: PolicyStatement, action: string): boolean {
  if (statement.NotAction !== undefined) throw new Error('iam evaluator: NotAction is not modelled');
  return stringsOf(statement.Action, 'Action').some((a) => globToRegExp(a, 'i').test(action));
}

function resourceArn(value: Json, options: EvaluateOptions): string | undefined {
  const arn = resolveArn(
    value,
    Object.fromEntries(Object.keys(options.templateArns ?? {}).map((k) => [k, {}])),
  );
  if (arn === undefined || !arn.startsWith(TEMPLATE_RESOURCE)) return arn;
  const rest = arn.slice(TEMPLATE_RESOURCE.length);
  const logical = Object.keys(options.templateArns ?? {}).find((k) => rest === k || rest.startsWith(`${k}/`));
  return logical === undefined
    ? undefined
    : `${options.templateArns?.[logical]}${rest.slice(logical.length)}`;
}

function resourceMatches(statement: PolicyStatement, resource: string, options: EvaluateOptions): boolean {
  if (statement.NotResource !== undefined) throw new Error('iam evaluator: NotResource is not modelled');
  return asArray(statement.Resource as Json | Json[] | undefined).some((r) => {
    const pattern = resourceArn(r as Json, options);
    return pattern !== undefined && globToRegExp(pattern).test(resource);
  });
}

function lookup(context: Record<string, ContextValue>, key: string): ContextValue | undefined {
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(context)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

type Compare = (actual: string, expected: string) => boolean;

const COMPARE: Record<string, Compare> = {
  StringEquals: (a, e) => a === e,
  StringLike: (a, e) => globToRegExp(e).test(a),
};

/** One operator on one key: true when the condition holds for this request. */
export function conditionHolds(
  operator: string,
  key: string,
  expected: string[],
  actual: ContextValue | undefined,
): boolean {
  const set = /^(ForAllValues|ForAnyValue):(.+)$/.exec(operator);
  const base = set ? (set[2] ?? '') : operator;
  if (base === 'Null') {
    const isNull = actual === undefined || (Array.isArray(actual) && actual.length === 0);
    return expected.some((e) => (e === 'true') === isNull);
  }
  const ifExists = base.endsWith('IfExists');
  const op = ifExists ? base.slice(0, -'IfExists'.length) : base;
  const negated = op === 'StringNotEquals' || op === 'StringNotLike';
  const compare = COMPARE[negated ? op.replace('Not', '') : op];
  if (!compare) throw new Error(`iam evaluator: condition operator ${operator} (on ${key}) is not modelled`);
  const values = asArray(actual);
  const matchesOne = (a: string) => expected.some((e) => compare(a, e));
  if (set?.[1] === 'ForAllValues') {
    // True when the key is absent or empty (IAM User Guide, "Multivalued context keys").
    return values.every((a) => (negated ? !matchesOne(a) : matchesOne(a)));
  }
  if (set?.[1] === 'ForAnyValue') {
    return values.some((a) => (negated ? !matchesOne(a) : matchesOne(a)));
  }
  if (Array.isArray(actual))
    throw new Error(`iam evaluator: ${key} is multivalued: use ForAllValues/ForAnyValue`);
  if (actual === undefined) return ifExists;
  return negated ? !matchesOne(actual) : matchesOne(actual);
}

function conditionsHold(statement: PolicyStatement, context: Record<string, ContextValue>): boolean {
  const condition = statement.Condition;
  if (condition === undefined) return true;
  if (typeof condition !== 'object' || condition === null || Array.isArray(condition))
    throw new Error('iam evaluator: Condition must be an object');
  return Object.entries(condition).every(([operator, body]) => {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new Error(`iam evaluator: ${operator} must map keys to values`);
    return Object.entries(body).every(([key, values]) =>
      conditionHolds(operator, key, stringsOf(values, `${operator}.${key}`), lookup(context, key)),
    );
  });
}

export interface Verdict {
  allowed: boolean;
  /** The Sid of the statement that allowed or explicitly denied it. */
  sid?: string;
}

/** Whether the statements allow the request (explicit deny > allow > implicit deny). */
export function evaluate(
  statements: PolicyStatement[],
  request: AuthRequest,
  options: EvaluateOptions = {},
): Verdict {
  const matching = statements.filter(
    (s) =>
      actionMatches(s, request.action) &&
      resourceMatches(s, request.resource, options) &&
      conditionsHold(s, request.context),
  );
  const deny = matching.find((s) => s.Effect === 'Deny');
  if (deny) return { allowed: false, sid: deny.Sid };
  const allow = matching.find((s) => s.Effect === 'Allow');
  return allow ? { allowed: true, sid: allow.Sid } : { allowed: false };
}
