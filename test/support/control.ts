import { setConfig } from '../../shared/config/load.ts';
import type { Config } from '../../shared/config/schema.ts';
import { type ControlResult, runControl } from '../../shared/control/commands.ts';
import type { StateStore } from '../../shared/core/contracts.ts';
import type { SimAccount } from '../../shared/sim/engine.ts';
import { setStateStore } from '../../shared/state/index.ts';
import type { TunerRegistration } from '../../shared/tuners/registry.ts';

export interface Revert {
  config: Config;
  store: StateStore;
  /** The tuner whose decision is reverted (what `loadTuner` answers). */
  tuner: TunerRegistration;
  decisionId: string;
  requestId: string;
}

/**
 * A person's revert of a decision through the control function on the simulated account, at the
 * account's time: the configuration and state store the handler's code reads are set while it
 * runs and undone after.
 */
export async function revertThroughControl(sim: SimAccount, revert: Revert): Promise<ControlResult> {
  const { config, store, tuner } = revert;
  setConfig(config);
  const restoreStore = setStateStore(store);
  try {
    return await runControl(
      { command: 'revert', decisionId: revert.decisionId, dryRun: false, override: false },
      {
        ssm: sim.clients().ssm,
        tagging: sim.clients().tagging,
        store,
        config: () => config,
        loadTuner: async () => tuner,
        pauseParameter: '/db-autopilot/paused',
        now: new Date(sim.nowMs()),
        requestId: revert.requestId,
      },
    );
  } finally {
    restoreStore();
    setConfig(undefined);
  }
}
