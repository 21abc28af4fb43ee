import { ACU_STEP, roundUpAcu } from '../aws/aurora-serverless.ts';

/**
 * How an Aurora Serverless v2 instance's capacity follows demand, minute by minute: the one model
 * the simulated account and `npm run backtest -- --kind serverless` share.
 *
 * - Within a minute the capacity grows toward the demand exponentially, doubling every
 *   `doublingSeconds` (AWS: scaling is faster from a higher current capacity; a larger instance
 *   adds more ACUs per step), never above MaxCapacity. Demand above the capacity waits: that
 *   shortfall is the unserved work; a minute whose shortfall lasts longer than
 *   `lagToleranceSeconds`, or whose demand is above MaxCapacity, is saturated.
 * - Scaling down is gradual: at most max(0.5 ACU, `scaleDownFraction` x capacity) a minute, toward
 *   demand x (1 + headroom), never below MinCapacity.
 * - Auto-pause (MinCapacity 0): after SecondsUntilAutoPause with no demand (no user connections),
 *   the instance pauses at 0 ACU (no charge); the next demand waits `resumeSeconds` for the resume.
 * - A cold buffer cache: capacity gained by scaling up serves at `coldCacheFactor` of its worth
 *   until it has been held for `warmMinutes` (a new instance or one that grew reads from storage).
 *
 * Defaults are settable; where AWS gives no figure (doubling time, cache warm-up) the default is a
 * conservative middle, and tests cover the bad end (slower doubling).
 */
export interface ServerlessParams {
  doublingSeconds: number;
  lagToleranceSeconds: number;
  headroom: number;
  scaleDownFraction: number;
  resumeSeconds: number;
  coldCacheFactor: number;
  warmMinutes: number;
}

export const DEFAULT_SERVERLESS_PARAMS: ServerlessParams = {
  doublingSeconds: 30,
  lagToleranceSeconds: 10,
  headroom: 0.1,
  scaleDownFraction: 0.1,
  resumeSeconds: 15,
  coldCacheFactor: 0.8,
  warmMinutes: 5,
};

export interface ServerlessBounds {
  min: number;
  max: number;
  secondsUntilAutoPause: number;
}

export interface CapacityState {
  /** ACU at the start of the minute (0 while paused). */
  capacity: number;
  paused: boolean;
  /** Minutes with no demand in a row. */
  idleMinutes: number;
  /** Capacity held at least warmMinutes (serves fully). */
  warm: number;
}

export interface MinuteResult {
  /** Average ACU over the minute (ServerlessDatabaseCapacity), billed. */
  averageCapacity: number;
  /** ACU-minutes of demand not served in time. */
  unserved: number;
  saturated: boolean;
  /** ServerlessDatabaseCapacity / MaxCapacity, percent (ACUUtilization). */
  acuUtilization: number;
}

export function initialState(
  bounds: ServerlessBounds,
  demand: number,
  params = DEFAULT_SERVERLESS_PARAMS,
): CapacityState {
  const capacity = Math.min(
    bounds.max,
    Math.max(bounds.min, ACU_STEP, roundUpAcu(demand * (1 + params.headroom))),
  );
  return { capacity, paused: false, idleMinutes: 0, warm: capacity };
}

/** Effective ACU of `x` when only `warm` of it has a warm buffer cache. */
function effective(x: number, warm: number, params: ServerlessParams): number {
  return Math.min(x, warm) + Math.max(0, x - warm) * params.coldCacheFactor;
}

/** Capacity needed for `demand` effective ACU, given the warm part. */
function neededFor(demand: number, warm: number, params: ServerlessParams): number {
  return demand <= warm ? demand : warm + (demand - warm) / params.coldCacheFactor;
}

/** Serves one minute of `demand` ACU and returns the state at the start of the next minute. */
export function stepMinute(
  state: CapacityState,
  demand: number,
  bounds: ServerlessBounds,
  params: ServerlessParams = DEFAULT_SERVERLESS_PARAMS,
): { next: CapacityState; result: MinuteResult } {
  const idleMinutes = demand > 0 ? 0 : state.idleMinutes + 1;
  // Raising MinCapacity above 0 resumes a paused instance (it is then billed again).
  if (state.paused && demand <= 0 && bounds.min > 0) {
    const capacity = Math.min(bounds.max, Math.max(bounds.min, ACU_STEP));
    return {
      next: { capacity, paused: false, idleMinutes, warm: 0 },
      result: {
        averageCapacity: capacity / 2,
        unserved: 0,
        saturated: false,
        acuUtilization: (50 * capacity) / bounds.max,
      },
    };
  }
  if (state.paused && demand <= 0) {
    return {
      next: { ...state, idleMinutes },
      result: { averageCapacity: 0, unserved: 0, saturated: false, acuUtilization: 0 },
    };
  }
  // A paused instance resumes (resumeSeconds) at the floor, with a cold cache.
  const wait = state.paused ? params.resumeSeconds : 0;
  // A raised MinCapacity is reached at the same scaling speed as demand (not instantly): it only
  // sets the growth target below.
  const c = Math.min(bounds.max, Math.max(state.paused ? ACU_STEP : state.capacity, ACU_STEP));
  const warm = state.paused ? 0 : Math.min(state.warm, c);
  const servable = effective(bounds.max, warm, params);
  const wanted = Math.min(neededFor(demand, warm, params), bounds.max);
  const lag = wanted > c ? params.doublingSeconds * Math.log2(wanted / c) : 0;
  const growSeconds = Math.min(60 - wait, lag);
  const grown = Math.min(bounds.max, c * 2 ** (growSeconds / params.doublingSeconds));
  // Unserved ACU-minutes: all demand while resuming, the gap during growth (linear approximation
  // of the exponential curve), and whatever is above what MaxCapacity can serve.
  const gap = Math.max(0, Math.min(demand, servable) - effective(c, warm, params));
  const unserved =
    (demand * wait) / 60 + (gap * growSeconds) / 2 / 60 + Math.max(0, demand - servable) * ((60 - wait) / 60);
  const saturated = wait + lag > params.lagToleranceSeconds || demand > servable + 1e-9;

  const target = Math.min(
    bounds.max,
    Math.max(bounds.min, ACU_STEP, roundUpAcu(demand * (1 + params.headroom))),
  );
  const canReach = Math.min(bounds.max, c * 2 ** ((60 - wait) / params.doublingSeconds));
  const next =
    target >= grown
      ? Math.min(target, canReach)
      : Math.max(target, grown - Math.max(ACU_STEP, grown * params.scaleDownFraction));
  const capacity = Math.max(bounds.min, Math.min(bounds.max, roundUpAcu(next)));
  const average = (wait > 0 ? (ACU_STEP * wait) / 60 : 0) + ((c + capacity) / 2) * ((60 - wait) / 60);
  const nextWarm = capacity <= warm ? capacity : warm + (capacity - warm) / params.warmMinutes;
  const pauses = bounds.min === 0 && demand <= 0 && idleMinutes * 60 >= bounds.secondsUntilAutoPause;
  return {
    next: pauses
      ? { capacity: 0, paused: true, idleMinutes, warm: 0 }
      : { capacity, paused: false, idleMinutes, warm: nextWarm },
    result: {
      averageCapacity: average,
      unserved: Math.min(demand, unserved),
      saturated,
      acuUtilization: (100 * average) / bounds.max,
    },
  };
}
