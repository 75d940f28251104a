import { setTimeout as delay } from 'node:timers/promises'

/** Time source for everything that waits: pacing, backoff, periodic saves. Tests inject a virtual one. */
export interface Clock {
  now(): number
  /** Resolves after `ms`; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  async sleep(ms, signal) {
    if (ms <= 0) {
      signal?.throwIfAborted()
      return
    }
    try {
      await delay(ms, undefined, { signal })
    } catch (error) {
      // Surface the caller's reason (cancel vs timeout), not node's generic AbortError.
      if (signal?.aborted) throw signal.reason
      throw error
    }
  },
}

/**
 * A clock whose sleep advances virtual time instantly. Every waiter shares the same timeline,
 * so a test can run hours of pacing in milliseconds and still check every interval.
 */
export function createVirtualClock(startMs = Date.UTC(2026, 10, 28, 12)): Clock & { advance(ms: number): void; slept: number } {
  let now = startMs
  const clock = {
    slept: 0,
    now: () => now,
    advance(ms: number) {
      now += Math.max(0, ms)
    },
    async sleep(ms: number, signal?: AbortSignal) {
      signal?.throwIfAborted()
      if (ms > 0) {
        now += ms
        clock.slept += ms
      }
      // Yield so that aborts and socket events queued meanwhile get a chance to run.
      await new Promise<void>((r) => setImmediate(r))
      signal?.throwIfAborted()
    },
  }
  return clock
}
