import 'aws-sdk-client-mock-vitest/extend';
import fc from 'fast-check';

// Keep Powertools quiet in tests: no EMF blobs on stdout, errors only.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

// Property tests explore random inputs locally; in CI they replay one fixed seed so a run is
// reproducible (a counterexample found locally is pinned as its own example test). A failing
// property prints fast-check's `{ seed, path }` and the counterexample in vitest's error; replay
// it anywhere with FC_SEED=<seed> (e.g. `FC_SEED=-516583555 npx vitest run FILE -t NAME`).
const seed = process.env.FC_SEED ?? (process.env.CI ? '20261123' : undefined);
if (seed !== undefined) {
  if (!/^-?\d+$/.test(seed)) throw new Error(`FC_SEED must be a whole number, got "${seed}"`);
  fc.configureGlobal({ seed: Number(seed) });
}
