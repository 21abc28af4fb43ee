/**
 * A Lambda run's clock in the fleet bench (issue #28): its CPU time.
 *
 * On Lambda a run has its function's memory share of a vCPU to itself, so its wall time is close
 * to the CPU time it uses (the bench's state table is in process: its CPU is counted too). On a
 * shared machine a bench run gets a fraction of a core and its wall time is many times its CPU
 * time; with a wall-clock context, runs that would finish well within their timeout on Lambda are
 * cut short (middy's early timeout) and carry on in the background, which changes what happens
 * next (intents left, failed runs recorded, work redone). So the bench's context counts CPU:
 * - `getRemainingTimeInMillis()` is the timeout less the CPU time the run has used;
 * - middy's early timeout (one timer from `node:timers`, armed with the remaining time when the
 *   handler starts; the only module the bench loads that imports that timer) fires when the run
 *   has used that much CPU time. Every other timer (retries, sleeps, polls) stays a wall-clock
 *   timer: a wait uses no CPU time and would never end.
 */
import { syncBuiltinESMExports } from 'node:module';
import timers from 'node:timers';

/** CPU time of this thread (the whole process where Node cannot tell a thread's), in ms. */
export function threadCpuMs(): number {
  const usage =
    (process as unknown as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage?.() ??
    process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** How often a CPU-time timer looks at the CPU clock (wall ms). */
const POLL_MS = 50;

type TimerCallback = (...args: unknown[]) => void;

/** A timer that fires once this thread has used `delayMs` of CPU time since it was armed. */
function cpuTimer(
  wallTimeout: typeof timers.setTimeout,
  callback: TimerCallback,
  delayMs: number,
  args: unknown[],
) {
  const armedAt = threadCpuMs();
  // One Node timer re-armed in place (refresh), so clearTimeout on what is returned clears it.
  const timer = wallTimeout(
    () => {
      if (threadCpuMs() - armedAt >= delayMs) callback(...args);
      else timer.refresh();
    },
    Math.min(Math.max(0, delayMs), POLL_MS),
  );
  return timer;
}

export interface RunClock {
  /** Lambda's `getRemainingTimeInMillis()` of the run: its timeout less the CPU time it has used. */
  remainingMs(): number;
  /** The run is over: `node:timers` timers armed from now on are wall-clock timers again. */
  end(): void;
}

export interface CpuClock {
  /** A run starts now with this timeout. */
  start(timeoutMs: number): RunClock;
  /** Puts back the wall-clock `node:timers` setTimeout. */
  uninstall(): void;
}

/**
 * Makes `node:timers`' setTimeout count CPU time while a run is in progress (for every module
 * importing it: syncBuiltinESMExports updates their bindings).
 */
export function installCpuClock(): CpuClock {
  const wallTimeout = timers.setTimeout;
  let inRun = false;
  const patched = (callback: TimerCallback, delayMs?: number, ...args: unknown[]) =>
    inRun ? cpuTimer(wallTimeout, callback, delayMs ?? 0, args) : wallTimeout(callback, delayMs, ...args);
  (timers as { setTimeout: unknown }).setTimeout = patched;
  syncBuiltinESMExports();
  return {
    start(timeoutMs) {
      const startedAt = threadCpuMs();
      inRun = true;
      return {
        remainingMs: () => Math.max(0, timeoutMs - (threadCpuMs() - startedAt)),
        end: () => {
          inRun = false;
        },
      };
    },
    uninstall() {
      inRun = false;
      (timers as { setTimeout: unknown }).setTimeout = wallTimeout;
      syncBuiltinESMExports();
    },
  };
}
