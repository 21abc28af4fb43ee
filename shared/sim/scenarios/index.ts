import type { StateStore } from '../../core/contracts.ts';
import { ValidationError } from '../../core/errors.ts';
import type { SimAccount } from '../engine.ts';

/**
 * Scenarios: a fleet with workloads and history, as files in this folder. Each exports
 * `build(options) => SimAccount`. Load one by name.
 */
export interface ScenarioOptions {
  /** The virtual "now" (default: the scenario's own start). */
  start?: string;
  latencyMs?: number;
}

export interface Scenario {
  name: string;
  description: string;
  /** Default virtual start of the simulated day. */
  start: string;
  build(options?: ScenarioOptions): SimAccount;
  /**
   * db-autopilot's own state the scenario assumes (e.g. replicas it created earlier, recorded with
   * `recordCreated`). The demo calls it on its state store before the first run.
   */
  seedState?(store: StateStore, now: Date): Promise<void>;
}

const scenarios: Record<string, () => Promise<Scenario>> = {
  securecart: async () => (await import('./securecart.ts')).scenario,
};

export function scenarioNames(): string[] {
  return Object.keys(scenarios);
}

export async function loadScenario(name: string, options: ScenarioOptions = {}): Promise<SimAccount> {
  const s = await getScenario(name);
  return s.build(options);
}

export async function getScenario(name: string): Promise<Scenario> {
  const loader = scenarios[name];
  if (!loader)
    throw new ValidationError(`--scenario: unknown scenario "${name}"; known: ${scenarioNames().join(', ')}`);
  return loader();
}
