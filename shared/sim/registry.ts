import type { SimAccount } from './engine.ts';

/**
 * The simulator's small registries. Each service file (shared/sim/services/*.ts) registers its
 * operations; tuner engineers add AWS rules in their own files with `registerRule` (a rule throws
 * the SDK exception AWS would answer with, or returns normally) and metrics with
 * `registerMetricResolver` (shared/sim/metrics.ts).
 */
export type ServiceName =
  | 'rds'
  | 'dynamodb'
  | 'cloudwatch'
  | 'ssm'
  | 'secretsManager'
  | 'sns'
  | 'tagging'
  | 'autoscaling'
  | 'route53'
  | 'pi';

/** The command's input, as the SDK client received it. */
export type Input = Record<string, unknown>;

/** Returns the operation's output without `$metadata` (the engine adds it). */
export type OperationHandler = (sim: SimAccount, input: Input) => object | Promise<object>;

/** Throws the error AWS would answer with; runs before the operation, in registration order. */
export type Rule = (sim: SimAccount, input: Input) => void;

const operations = new Map<string, OperationHandler>();
const rules = new Map<string, Array<{ name: string; rule: Rule }>>();

const key = (service: ServiceName, operation: string) => `${service}:${operation}`;

export function registerOperations(service: ServiceName, handlers: Record<string, OperationHandler>): void {
  for (const [operation, handler] of Object.entries(handlers))
    operations.set(key(service, operation), handler);
}

export function registerRule(service: ServiceName, operation: string, name: string, rule: Rule): void {
  const list = rules.get(key(service, operation)) ?? [];
  if (!list.some((r) => r.name === name)) list.push({ name, rule });
  rules.set(key(service, operation), list);
}

export function findOperation(service: ServiceName, operation: string): OperationHandler | undefined {
  return operations.get(key(service, operation));
}

export function rulesFor(
  service: ServiceName,
  operation: string,
): ReadonlyArray<{ name: string; rule: Rule }> {
  return rules.get(key(service, operation)) ?? [];
}

export function registeredOperations(): string[] {
  return [...operations.keys()].sort();
}
