import 'aws-sdk-client-mock-vitest/extend';

// Keep Powertools quiet in tests: no EMF blobs on stdout, errors only.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
