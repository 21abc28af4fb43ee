import { ssmClient, taggingClient } from '../shared/aws/clients.ts';
import { getConfig } from '../shared/config/load.ts';
import { type ControlResult, runControl } from '../shared/control/commands.ts';
import { controlCommandSchema } from '../shared/control/schema.ts';
import { clock } from '../shared/core/clock.ts';
import { pauseParameterName } from '../shared/core/run.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { stateStore } from '../shared/state/index.ts';
import { loadTuner } from '../shared/tuners/registry.ts';

/**
 * pause / resume / status / revert. Invoke with one of the events in events/control-*.json,
 * e.g. `osls invoke -f control -p events/control-pause.json`.
 */
export const handler = lambdaHandler(
  'control',
  controlCommandSchema,
  (command, ctx): Promise<ControlResult> =>
    runControl(command, {
      ssm: ssmClient(),
      tagging: taggingClient(),
      store: stateStore(),
      config: getConfig,
      loadTuner,
      pauseParameter: pauseParameterName(),
      now: clock().now(),
      requestId: ctx.requestId,
    }),
);
