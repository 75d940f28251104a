import { fdatasync, openSync, closeSync } from 'node:fs'

/**
 * Group fsync of a SQLite WAL for KTRDR_DB_SYNC=full, off the event loop.
 *
 * SQLite's own synchronous=FULL fsyncs the WAL inside every COMMIT, on the calling thread: with
 * better-sqlite3 that blocks the gateway's event loop for the whole fsync (5–25 ms on this
 * machine's virtual disk under load), so no request is read meanwhile and the next group commit
 * holds only what trickled in. Here the hot-path transactions commit with synchronous=NORMAL (the
 * frames are written to the WAL, not fsynced) and their callers wait for `synced()`: an fdatasync
 * of the WAL on libuv's thread pool that starts at once, or, while one is running, right after it
 * (a write that may have landed after an fsync began is covered only by the next one). The event
 * loop keeps reading and committing while the disk works, so the next group commit is as large as
 * what arrived during the fsync. Durability is FULL's: a caller is answered only after the WAL
 * frames of its commit are on disk, and SQLite replays committed WAL frames after a power loss.
 */
export function createWalSync(walPath: string) {
  let fd: number | null = null
  let running = false
  let waiting: Array<{ resolve: () => void; reject: (e: unknown) => void }> = []
  let closed = false
  /** fsyncs started, for tests and benches. */
  const stats = { syncs: 0 }

  function start() {
    if (closed && fd === null) {
      for (const w of waiting.splice(0)) w.reject(new Error('The gateway database is closed'))
      return
    }
    const batch = waiting
    waiting = []
    try {
      // Opened at the first sync: SQLite creates the -wal file with the first write.
      fd ??= openSync(walPath, 'r')
    } catch (error) {
      for (const w of batch) w.reject(error)
      return
    }
    running = true
    stats.syncs++
    fdatasync(fd, (error) => {
      running = false
      for (const w of batch) error ? w.reject(error) : w.resolve()
      if (waiting.length) start()
      else if (closed && fd !== null) {
        closeSync(fd)
        fd = null
      }
    })
  }

  return {
    stats,
    /** Resolves once everything committed before this call is on disk. */
    synced(): Promise<void> {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject })
        if (!running) start()
      })
    },
    /** Closes the WAL's descriptor once no fsync is running (syncs asked for before still happen). */
    close() {
      closed = true
      if (fd !== null && !running) {
        closeSync(fd)
        fd = null
      }
    },
  }
}

export type WalSync = ReturnType<typeof createWalSync>
