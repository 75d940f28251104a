/**
 * When a store writes its deferred state changes: at the end of this event-loop turn when someone
 * waits for them (an insert to acknowledge, a `flushed()` before an event ack or a cancel answer),
 * otherwise within `windowMs`, riding along with whatever commit comes first.
 *
 * Why a window: a call's first change after its insert (dispatched to a host) has no one waiting
 * for it, and its next (completed) usually follows within a few milliseconds. Written at the end of
 * its own turn, the first cost one more row write and most of a commit per call; held for the
 * window, the row is written once, in the completion's commit. Nothing acknowledged waits in the
 * window: whoever acknowledges awaits `flushed()`, which writes at once. What a crash can lose is
 * what it could lose before (changes nobody was told about, which hosts re-report on reconnect),
 * held a few milliseconds longer.
 */
const WRITE_WINDOW_MS = 10

export interface WriteSchedule {
  /** Write at the end of this turn (someone waits). */
  soon(): void
  /** Write within the window (or sooner, with a write that takes it). */
  later(): void
  /** A write is starting: whatever was scheduled is covered by it. */
  taken(): void
}

/**
 * `write(windowEnded)`: true when the window ran out, and everything held must be written; false at
 * the end of a turn, when a store may write only what its waiters asked for (and call `later()`
 * again for the rest, which keeps the timer already armed).
 */
export function createWriteSchedule(write: (windowEnded: boolean) => unknown, windowMs = WRITE_WINDOW_MS): WriteSchedule {
  let immediate = false
  let timer: NodeJS.Timeout | null = null
  const run = () => {
    immediate = false
    void write(false)
  }
  const fire = () => {
    timer = null
    void write(true)
  }
  return {
    soon() {
      if (immediate) return
      immediate = true
      setImmediate(run)
    },
    later() {
      if (immediate || timer) return
      // Holds the process open for up to the window: a process that ends without closing the
      // gateway still writes what it held.
      timer = setTimeout(fire, windowMs)
    },
    taken() {
      if (timer) {
        clearTimeout(timer)
        timer = null
      }
    },
  }
}
