import 'aws-sdk-client-mock-vitest/extend';
import fc from 'fast-check';

// Keep Powertools quiet in tests: no EMF blobs on stdout, errors only.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

// Property tests explore random inputs locally; in CI they replay one fixed seed so a run is
// reproducible (a counterexample found locally is pinned as its own example test).

if (process.env.CI) fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261123) });
