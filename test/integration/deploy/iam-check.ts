/**
 * Least-privilege rules for the IAM policies in a generated CloudFormation template (issue #2,
 * "Must show"). Pure functions over the template's JSON, so the rules themselves are unit-tested
 * on hand-made bad policies (iam-check.test.ts) as well as run on the real package.
 *
 * Rules:
 * - no Allow statement has an action `*` or `service:*`, nor uses NotAction / NotResource;
 * - every mutating action (verb prefix, see MUTATING_VERBS) of RDS, DynamoDB, Application Auto
 *   Scaling, CloudWatch and SSM either carries an `aws:ResourceTag/...` or `aws:RequestTag/...`
 *   condition, or names only resources whose ARN has a literal, non-empty prefix before any
 *   wildcard in the resource-name part (`db:dbap-*`, `alarm:dbap-*`; never `db:*`, `table/*`, `*`).
 *   A resource of this template (`Ref` / `Fn::GetAtt`) is an exact ARN.
 *   Where AWS gives neither (the ARN holds an id AWS assigns and the resource a person made carries
 *   no tags), a positive condition on one of SCOPING_CONDITION_KEYS of the action's service counts:
 *   Application Auto Scaling's service namespace (scalable-target/<id> never names the table);
 *   and UNSCOPABLE lists the one action AWS lets nobody scope (RDS Proxy target groups).
 * - `sts:AssumeRole` (any `sts:AssumeRole*`) only into the fleet's member role: every resource is
 *   `arn:<partition>:iam::<account or *>:role/db-autopilot-member` (issue 27).
 * - a role that another AWS account may assume (a `Principal.AWS` in its trust policy) requires
 *   `sts:ExternalId` (checkTrust).
 * Option `anyRegion` (the fleet member role: one global role for every Region of its account):
 * a `*` Region in an ARN is allowed; the name prefix rule is unchanged.
 */
import { MEMBER_ROLE_NAME } from '../../../shared/config/sections/fleet.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface PolicyStatement {
  Sid?: string;
  Effect?: string;
  Action?: Json;
  NotAction?: Json;
  Resource?: Json;
  NotResource?: Json;
  Condition?: Json;
}

export interface Violation {
  role: string;
  sid: string;
  action: string;
  problem: string;
}

/** Services whose mutating actions must be scoped (issue #2). */
export const SCOPED_SERVICES = ['rds', 'dynamodb', 'application-autoscaling', 'cloudwatch', 'ssm'] as const;

/** An action is mutating when its name starts with one of these verbs. */
export const MUTATING_VERBS = [
  'Create',
  'Modify',
  'Delete',
  'Update',
  'Put',
  'Register',
  'Deregister',
  'Add',
  'Remove',
  'Tag',
  'Untag',
  'Set',
  'Change',
  'Reboot',
  'Start',
  'Stop',
  'Restore',
  'Label',
  'Unlabel',
  'Promote',
  'Failover',
  'Enable',
  'Disable',
  'Reset',
  'Copy',
  'Purchase',
  'Import',
  'Batch',
  'Execute',
  'Send',
  'Cancel',
  'Switchover',
  'Apply',
] as const;

const asArray = (v: Json | undefined): Json[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when the action is `*`, `service:*` or a wildcard that could match a mutating verb. */
export function isWholeServiceWildcard(action: string): boolean {
  if (action === '*') return true;
  const [, name] = action.split(':', 2);
  return name === '*';
}

/** Whether `service:Name` is mutating; a wildcard action counts if it could match a mutating verb. */
export function isMutating(action: string): boolean {
  if (action === '*') return true;
  const idx = action.indexOf(':');
  const name = idx < 0 ? action : action.slice(idx + 1);
  const star = name.search(/[*?]/);
  if (star >= 0) {
    const literal = name.slice(0, star);
    // `Mod*` could match `Modify...`, `ModifyDB*` is a Modify, `*` matches everything.
    return MUTATING_VERBS.some((verb) => verb.startsWith(literal) || literal.startsWith(verb));
  }
  return MUTATING_VERBS.some((verb) => name.startsWith(verb) && /^[A-Z]?$/.test(name.charAt(verb.length)));
}

export function serviceOf(action: string): string {
  const idx = action.indexOf(':');
  return idx < 0 ? '*' : action.slice(0, idx).toLowerCase();
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com',
};

/** Marks the start of an exact ARN of a resource declared in the template. */
export const TEMPLATE_RESOURCE = '@resource:';

/**
 * Resolves a Resource value to a string: pseudo parameters get fixed values, `Ref` / `Fn::GetAtt`
 * of a template resource become `@resource:<LogicalId>` (an exact ARN), `Fn::Join` joins.
 * Anything it cannot resolve returns undefined (and counts as unscoped).
 */
export function resolveArn(
  value: Json,
  resources: Record<string, unknown>,
  parameters: Record<string, string> = {},
): string | undefined {
  if (typeof value === 'string') return value;
  if (!isObject(value)) return undefined;
  const sub = value['Fn::Sub'];
  if (sub !== undefined) {
    const [text, vars] = Array.isArray(sub) ? [sub[0], sub[1]] : [sub, undefined];
    if (typeof text !== 'string') return undefined;
    let unresolved = false;
    const out = text.replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
      const pseudo = PSEUDO[name] ?? parameters[name];
      if (pseudo) return pseudo;
      const local = isObject(vars) ? vars[name] : undefined;
      if (local !== undefined) {
        const r = resolveArn(local, resources);
        if (r !== undefined) return r;
      }
      const logical = name.split('.')[0] ?? name;
      if (logical in resources) return `${TEMPLATE_RESOURCE}${logical}`;
      unresolved = true;
      return '';
    });
    return unresolved ? undefined : out;
  }
  const ref = value.Ref;
  if (typeof ref === 'string') {
    const pseudo = PSEUDO[ref] ?? parameters[ref];
    if (pseudo) return pseudo;
    return ref in resources ? `${TEMPLATE_RESOURCE}${ref}` : undefined;
  }
  const getAtt = value['Fn::GetAtt'];
  if (getAtt !== undefined) {
    const logical = Array.isArray(getAtt)
      ? getAtt[0]
      : typeof getAtt === 'string'
        ? getAtt.split('.')[0]
        : undefined;
    return typeof logical === 'string' && logical in resources ? `${TEMPLATE_RESOURCE}${logical}` : undefined;
  }
  const join = value['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    const parts = join[1].map((p) => resolveArn(p, resources));
    if (parts.some((p) => p === undefined)) return undefined;
    return parts.join(join[0]);
  }
  return undefined;
}

/**
 * The literal prefix of the resource-name part of an ARN before the first wildcard, or undefined
 * when the ARN has no wildcard at all (an exact resource). Returns '' for an unscoped resource
 * (`*`, `arn:aws:rds:*:*:db:*`, `...:table/*`).
 */
export function literalNamePrefix(arn: string, options: CheckOptions = {}): string | undefined {
  if (arn.startsWith(TEMPLATE_RESOURCE)) {
    // An exact template resource, possibly with a sub-path (`<table ARN>/index/*`).
    return arn.search(/[*?]/) < 0 ? undefined : arn;
  }
  if (!/[*?]/.test(arn)) return undefined;
  if (!arn.startsWith('arn:')) return '';
  const parts = arn.split(':');
  if (parts.length < 6) return '';
  // partition, service, region and account must not be wildcards (the Region may, with anyRegion).
  const fixed = options.anyRegion ? [parts[0], parts[1], parts[2], parts[4]] : parts.slice(0, 5);
  if (fixed.some((p) => /[*?]/.test(p ?? ''))) return '';
  const resource = parts.slice(5).join(':');
  // `type:name` (rds db:, cloudwatch alarm:) or `type/name` (dynamodb table/, ssm parameter/).
  const typed = /^([A-Za-z0-9-]+)[:/](.*)$/.exec(resource);
  const name = typed ? (typed[2] ?? '') : resource;
  const star = name.search(/[*?]/);
  return star < 0 ? name : name.slice(0, star);
}

/**
 * Service condition keys that scope a mutating action when its resource cannot be named or tagged:
 * Application Auto Scaling authorizes on `scalable-target/<id assigned by AWS>`, a console-made
 * target has no tags, and `application-autoscaling:service-namespace` (with
 * `scalable-dimension`) is the only key that says what may change (Service Authorization
 * Reference, AWS Application Auto Scaling; shared/deploy/iam.ts dynamodbScalableTargets).
 */
export const SCOPING_CONDITION_KEYS: Record<string, string[]> = {
  'application-autoscaling': ['application-autoscaling:service-namespace'],
};

/**
 * The one mutating action allowed on a whole resource type without a condition, because AWS
 * offers no way to scope it: RDS authorizes ModifyDBProxyTargetGroup on `target-group:<id RDS
 * assigns>` with only the target group's own tags as conditions, and nobody tags a proxy's default
 * target group (shared/deploy/iam.ts proxyStatements). Exact action and resource type only.
 */
export const UNSCOPABLE: Array<{ action: string; resource: RegExp }> = [
  { action: 'rds:ModifyDBProxyTargetGroup', resource: /^arn:[a-z-]+:rds:[^:]+:[^:]+:target-group:\*$/ },
];

/** The positive, non-wildcard conditions of a statement on these keys (as required keys). */
export function requiredConditionKeys(condition: Json | undefined, keys: string[]): string[] {
  if (!isObject(condition)) return [];
  const wanted = keys.map((k) => k.toLowerCase());
  const out: string[] = [];
  for (const [operator, body] of Object.entries(condition)) {
    if (operator !== 'StringEquals' && operator !== 'StringLike') continue;
    if (!isObject(body)) continue;
    for (const [key, value] of Object.entries(body)) {
      if (!wanted.includes(key.toLowerCase())) continue;
      const values = asArray(value);
      if (values.length > 0 && values.every((v) => typeof v === 'string' && v !== '' && !/[*?]/.test(v)))
        out.push(key);
    }
  }
  return out;
}

/** The `aws:ResourceTag/...` or `aws:RequestTag/...` condition keys a statement requires. */
export function tagConditionKeys(condition: Json | undefined): string[] {
  if (!isObject(condition)) return [];
  const keys: string[] = [];
  for (const [operator, body] of Object.entries(condition)) {
    // Only positive matches that fail when the tag is absent scope a statement: not
    // StringNotEquals / Null, not ...IfExists and not ForAllValues: (both are true when the key is
    // missing; IAM User Guide, "Condition operators" and "Multivalued context keys").
    const op = operator.replace(/^ForAnyValue:/, '');
    if (op !== 'StringEquals' && op !== 'StringLike' && op !== 'StringEqualsIgnoreCase') continue;
    if (!isObject(body)) continue;
    for (const [key, value] of Object.entries(body)) {
      if (!/^aws:(ResourceTag|RequestTag)\/.+/.test(key)) continue;
      const values = asArray(value);
      if (values.length > 0 && values.every((v) => typeof v === 'string' && v !== '' && v !== '*'))
        keys.push(key);
    }
  }
  return keys;
}

export interface RolePolicy {
  role: string;
  statements: PolicyStatement[];
}

/** The inline policy statements of every AWS::IAM::Role (and standalone AWS::IAM::Policy). */
export function rolePolicies(resources: Record<string, unknown>): RolePolicy[] {
  const out: RolePolicy[] = [];
  for (const [id, raw] of Object.entries(resources)) {
    const resource = raw as { Type?: string; Properties?: Record<string, Json> };
    const props = resource.Properties ?? {};
    const docs: Json[] = [];
    if (resource.Type === 'AWS::IAM::Role') {
      for (const p of asArray(props.Policies)) if (isObject(p)) docs.push(p.PolicyDocument ?? null);
    } else if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      docs.push(props.PolicyDocument ?? null);
    } else {
      continue;
    }
    const statements: PolicyStatement[] = [];
    for (const doc of docs) {
      if (!isObject(doc)) continue;
      for (const s of asArray(doc.Statement)) statements.push(...statementsOf(s));
    }
    out.push({ role: id, statements });
  }
  return out;
}

/**
 * A policy statement as the check sees it: itself, or both branches of an `Fn::If` (each checked
 * as if its condition held, so a conditional grant cannot escape the rules), none for AWS::NoValue.
 */
function statementsOf(s: Json): PolicyStatement[] {
  if (!isObject(s)) return [];
  const branches = s['Fn::If'];
  if (Array.isArray(branches)) return [branches[1], branches[2]].flatMap((b) => statementsOf(b ?? null));
  if (s.Ref === 'AWS::NoValue') return [];
  return [s as PolicyStatement];
}

export interface CheckOptions {
  /** Allow `*` as the Region of an ARN (a role that serves every Region of its account). */
  anyRegion?: boolean;
}

const MEMBER_ROLE_ARN = new RegExp(`^arn:[a-z-]+:iam::(\\d{12}|\\*):role/${MEMBER_ROLE_NAME}$`);

/** `sts:AssumeRole*` on anything but the member role (issue 27). */
function assumeRoleViolations(
  role: string,
  sid: string,
  action: string,
  arns: Array<string | undefined>,
): Violation[] {
  if (!/^sts:AssumeRole/i.test(action)) return [];
  if (arns.length === 0) return [{ role, sid, action, problem: 'sts:AssumeRole with no Resource' }];
  return arns
    .filter((arn) => arn === undefined || !MEMBER_ROLE_ARN.test(arn))
    .map((arn) => ({
      role,
      sid,
      action,
      problem: `sts:AssumeRole into ${arn ?? '(unresolvable)'}: only the ${MEMBER_ROLE_NAME} role may be assumed`,
    }));
}

/** Checks every rule on every Allow statement; returns the violations (empty = compliant). */
export function checkPolicies(resources: Record<string, unknown>, options: CheckOptions = {}): Violation[] {
  const violations: Violation[] = [];
  for (const { role, statements } of rolePolicies(resources)) {
    statements.forEach((s, i) => {
      const sid = s.Sid ?? `#${i}`;
      if (s.Effect !== 'Allow') return;
      if (s.NotAction !== undefined) {
        violations.push({ role, sid, action: '(NotAction)', problem: 'NotAction grants everything else' });
      }
      if (s.NotResource !== undefined) {
        violations.push({
          role,
          sid,
          action: '(NotResource)',
          problem: 'NotResource grants everything else',
        });
      }
      const actions = asArray(s.Action).filter((a): a is string => typeof a === 'string');
      const resourceValues = asArray(s.Resource);
      const arns = resourceValues.map((r) => resolveArn(r, resources));
      const tagKeys = tagConditionKeys(s.Condition);
      for (const action of actions) {
        if (isWholeServiceWildcard(action)) {
          violations.push({ role, sid, action, problem: 'action is a whole-service wildcard' });
          continue;
        }
        violations.push(...assumeRoleViolations(role, sid, action, arns));
        if (!(SCOPED_SERVICES as readonly string[]).includes(serviceOf(action)) || !isMutating(action))
          continue;
        if (tagKeys.length > 0) continue;
        if (requiredConditionKeys(s.Condition, SCOPING_CONDITION_KEYS[serviceOf(action)] ?? []).length > 0)
          continue;
        if (arns.length === 0) {
          violations.push({ role, sid, action, problem: 'mutating action with no Resource' });
          continue;
        }
        arns.forEach((arn, j) => {
          if (arn === undefined) {
            violations.push({
              role,
              sid,
              action,
              problem: `mutating action on an unresolvable resource ${JSON.stringify(resourceValues[j])}`,
            });
            return;
          }
          const prefix = literalNamePrefix(arn, options);
          if (UNSCOPABLE.some((u) => u.action === action && u.resource.test(arn))) return;
          if (prefix === '') {
            violations.push({
              role,
              sid,
              action,
              problem: `mutating action on ${arn}: no aws:ResourceTag/aws:RequestTag condition and no literal name prefix before the wildcard`,
            });
          }
        });
      }
    });
  }
  return violations;
}

/** Services whose write actions observe mode must not hold (databases, scaling, alarms, routing). */
export const OBSERVE_READ_ONLY_SERVICES = [
  'rds',
  'dynamodb',
  'application-autoscaling',
  'cloudwatch',
  'route53',
  'iam',
] as const;

/**
 * Every write action on databases, scaling, alarms, dashboards or Route 53 the roles hold
 * ("Role/Sid action"). `iam:PassRole` counts (it lets a role create a replica with a monitoring
 * role). The one exception is db-autopilot's own state table (the audit log): a DynamoDB write whose
 * every resource is a resource of this template.
 */
export function writeActionsOnDatabasesAlarmsRouting(resources: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const { role, statements } of rolePolicies(resources)) {
    for (const s of statements) {
      if (s.Effect !== 'Allow') continue;
      const arns = asArray(s.Resource).map((r) => resolveArn(r, resources));
      const ownTableOnly = arns.length > 0 && arns.every((a) => a?.startsWith(TEMPLATE_RESOURCE));
      for (const action of asArray(s.Action).filter((a): a is string => typeof a === 'string')) {
        const service = serviceOf(action);
        if (!(OBSERVE_READ_ONLY_SERVICES as readonly string[]).includes(service)) continue;
        const writes = action === 'iam:PassRole' || (service !== 'iam' && isMutating(action));
        if (!writes || (service === 'dynamodb' && ownTableOnly)) continue;
        out.push(`${role}/${s.Sid ?? '?'} ${action}`);
      }
    }
  }
  return out;
}

/**
 * Trust policies: a role another AWS account may assume (`Principal.AWS`) requires a non-empty
 * `sts:ExternalId` (StringEquals) and names one account, never `*`.
 */
export function checkTrust(
  resources: Record<string, unknown>,
  parameters: Record<string, string> = {},
): Violation[] {
  const violations: Violation[] = [];
  for (const [id, raw] of Object.entries(resources)) {
    const resource = raw as { Type?: string; Properties?: Record<string, Json> };
    if (resource.Type !== 'AWS::IAM::Role') continue;
    const doc = resource.Properties?.AssumeRolePolicyDocument;
    if (!isObject(doc)) continue;
    asArray(doc.Statement).forEach((s, i) => {
      if (!isObject(s) || s.Effect !== 'Allow') return;
      const sid = typeof s.Sid === 'string' ? s.Sid : `#${i}`;
      const principal = s.Principal;
      if (principal === '*') {
        violations.push({ role: id, sid, action: 'sts:AssumeRole', problem: 'anyone may assume the role' });
        return;
      }
      if (!isObject(principal) || principal.AWS === undefined) return;
      for (const p of asArray(principal.AWS)) {
        const arn = resolveArn(p, resources, parameters);
        if (arn === undefined || arn === '*' || /^arn:[^:]+:iam::\*?:/.test(arn))
          violations.push({
            role: id,
            sid,
            action: 'sts:AssumeRole',
            problem: `principal ${JSON.stringify(p)} is not one account`,
          });
      }
      const condition = isObject(s.Condition) ? s.Condition : {};
      const equals = isObject(condition.StringEquals) ? condition.StringEquals : {};
      const externalId = equals['sts:ExternalId'];
      if (externalId === undefined || externalId === '' || externalId === '*')
        violations.push({
          role: id,
          sid,
          action: 'sts:AssumeRole',
          problem: 'another account may assume the role without sts:ExternalId',
        });
    });
  }
  return violations;
}
