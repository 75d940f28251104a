/**
 * The in-memory view of the durable queue: FIFO within priority, higher priority first.
 * Entries are removed lazily so cancel is O(1) and the pump never re-sorts.
 */
export interface QueueEntry {
  id: string
  priority: number
  /** Monotonic enqueue sequence (persisted), so order survives a restart. */
  seq: number
}

export interface PendingQueue<T extends QueueEntry> {
  readonly size: number
  push(entry: T): void
  remove(id: string): boolean
  has(id: string): boolean
  /** Entries in dispatch order. Safe to remove entries while iterating. */
  ordered(): Generator<T>
}

export function createPendingQueue<T extends QueueEntry>(): PendingQueue<T> {
  // priority → entries sorted by seq (pushes are almost always in seq order; restarts insert in order too).
  const lanes = new Map<number, T[]>()
  let priorities: number[] = []
  const live = new Map<string, T>()

  function insert(lane: T[], entry: T) {
    if (lane.length === 0 || lane[lane.length - 1].seq <= entry.seq) {
      lane.push(entry)
      return
    }
    let lo = 0,
      hi = lane.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (lane[mid].seq <= entry.seq) lo = mid + 1
      else hi = mid
    }
    lane.splice(lo, 0, entry)
  }

  return {
    get size() {
      return live.size
    },
    push(entry) {
      if (live.has(entry.id)) return
      live.set(entry.id, entry)
      let lane = lanes.get(entry.priority)
      if (!lane) {
        lanes.set(entry.priority, (lane = []))
        priorities = [...lanes.keys()].sort((a, b) => b - a)
      }
      insert(lane, entry)
    },
    remove(id) {
      return live.delete(id)
    },
    has(id) {
      return live.has(id)
    },
    *ordered() {
      for (const priority of priorities) {
        const lane = lanes.get(priority)!
        // Compact lazily-deleted entries from the front; the rest are skipped below.
        let start = 0
        while (start < lane.length && live.get(lane[start].id) !== lane[start]) start++
        if (start > 0) lane.splice(0, start)
        if (lane.length > 2 * live.size + 64) {
          const kept = lane.filter((e) => live.get(e.id) === e)
          lane.length = 0
          lane.push(...kept)
        }
        for (let i = 0; i < lane.length; i++) {
          const entry = lane[i]
          if (live.get(entry.id) === entry) yield entry
        }
      }
    },
  }
}
