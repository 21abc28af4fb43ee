/**
 * Runs the digest function's read and build (sendDigest) against the state table at
 * DIGEST_ENDPOINT / DIGEST_TABLE, as of DIGEST_NOW, and prints its counts, the applied cost change
 * and the peak heap in use. Started by digest-month.test.ts in a process with a capped heap.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseConfig } from '../../../shared/config/load.ts';
import { sendDigest } from '../../../shared/report/notifier.ts';
import { SimAccount } from '../../../shared/sim/index.ts';
import { DynamoDbStateStore } from '../../../shared/state/dynamodb-store.ts';

// The digest also reads CloudWatch (minutes throttled): an empty simulated account answers, so
// nothing leaves the machine.
const now = new Date(String(process.env.DIGEST_NOW));
new SimAccount({ start: now, historyStart: now.getTime() - 8 * 86_400_000 }).install();

const client = new DynamoDBClient({
  endpoint: process.env.DIGEST_ENDPOINT,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
});
const store = new DynamoDbStateStore({ client, tableName: process.env.DIGEST_TABLE });
let peak = 0;
const sample = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().heapUsed);
}, 5);
const { digest } = await sendDigest({
  store,
  config: parseConfig('version: 1\nregion: us-east-1\n', 'digest test'),
  channels: { region: 'us-east-1' },
  now,
  paused: false,
});
clearInterval(sample);
peak = Math.max(peak, process.memoryUsage().heapUsed);
client.destroy();
process.stdout.write(
  `${JSON.stringify({ since: digest.since, counts: digest.counts, appliedMonthlyCostDelta: digest.totals.appliedMonthlyCostDelta, applied: digest.applied.length, peakHeapMb: peak / 1024 / 1024 })}\n`,
);
