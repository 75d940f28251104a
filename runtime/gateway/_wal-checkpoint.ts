import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type BetterSqlite3 from 'better-sqlite3'
import type { DbSync } from './_options.ts'

/**
 * SQLite WAL checkpoints off the event loop.
 *
 * With its default wal_autocheckpoint, SQLite copies the WAL back into the database inside the COMMIT
 * that crosses 1,000 pages, fsyncing both files on the calling thread: with better-sqlite3 that is
 * the gateway's event loop, stalled 10–12 ms every ~250 single-row commits (p50 0.08 ms, p99.9 10 ms
 * per commit on this machine's disk; 0.4 ms with checkpoints elsewhere). The stall was the p99 of an
 * accepted invocation (7–10 ms at c=1). Here the gateway's connection never checkpoints; a worker
 * thread with its own connection runs PASSIVE checkpoints (never waiting on the writer) every
 * `intervalMs`, and the writer restarts the WAL from its beginning once a checkpoint has caught up.
 * Durability is unchanged: committed frames are in the WAL either way, and the checkpoint syncs as
 * the connection's synchronous setting says.
 *
 * Whenever the worker cannot run (it failed to start, or died), the connection checkpoints by
 * itself again, as SQLite does by default.
 *
 * A PASSIVE checkpoint alone lets the WAL grow without end under a steady load: the writer starts
 * the WAL over only when a transaction begins with every frame copied back, and a writer that
 * commits while each checkpoint runs never finds that. 20 s of accepts grew it to 2.6 GB at c=1
 * (one commit per accept, ~25 KB of frames each) and 1.3 GB at c=16; SQLite's own checkpoint never
 * let that happen, since it ran inside the writer. So once a PASSIVE pass leaves more than
 * `restartFrames` in the WAL, the worker runs a RESTART checkpoint right after: it takes the
 * writer's lock for what the PASSIVE pass left (the gateway's commits wait for it in the busy
 * handler) and the next commit starts the WAL over. The WAL then stayed at 37 MB under c=16
 * accepts, with no change to the accept rate (20.7k against 21.5k/s, eight alternating rounds) or to
 * accept latency at c=1 (p99 0.58–1.47 ms against 0.57–1.55, max 5–17 ms against 14–19).
 */
type CheckpointRow = { busy: number; log: number; checkpointed: number }

export interface WalCheckpointer {
  /** Checkpoints run by the worker so far, and how many of them restarted the WAL (tests, benches). */
  readonly stats: { checkpoints: number; pages: number; restarts: number }
  /** Resolves after one more checkpoint (tests). */
  checkpoint(): Promise<CheckpointRow>
  close(): Promise<void>
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.path, { fileMustExist: true })
db.pragma('busy_timeout = 5000')
db.pragma('synchronous = ' + workerData.synchronous)
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close()
    parentPort.close()
    return
  }
  try {
    let row = db.pragma('wal_checkpoint(PASSIVE)')[0]
    let restarted = false
    if (row.log > workerData.restartFrames) {
      row = db.pragma('wal_checkpoint(RESTART)')[0]
      restarted = row.busy === 0
    }
    parentPort.postMessage({ ok: true, row, restarted })
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message) })
  }
})
parentPort.postMessage({ ready: true })
`

const DEFAULT_AUTOCHECKPOINT = 1000
/** 16 MiB of 4 KiB pages. */
const DEFAULT_RESTART_FRAMES = 4096

export function startWalCheckpointer(
  sqlite: BetterSqlite3.Database,
  path: string,
  options: {
    sync?: DbSync | null
    intervalMs?: number
    /** Frames a PASSIVE checkpoint may leave in the WAL before a RESTART one follows (tests set it). */
    restartFrames?: number
    onError?: (error: Error) => void
  } = {},
): WalCheckpointer | null {
  let driver: string
  try {
    driver = createRequire(import.meta.url).resolve('better-sqlite3')
  } catch {
    return null
  }
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      driver,
      path,
      synchronous: options.sync === 'full' ? 'FULL' : 'NORMAL',
      restartFrames: options.restartFrames ?? DEFAULT_RESTART_FRAMES,
    },
  })
  // A gateway that is never closed (a test, a crash path) must still be able to exit.
  worker.unref()
  const stats = { checkpoints: 0, pages: 0, restarts: 0 }
  let inFlight: Promise<CheckpointRow> | null = null
  let closed = false
  let timer: NodeJS.Timeout | undefined
  const fallBack = (error: Error) => {
    if (closed) return
    closed = true
    clearInterval(timer)
    // The connection may be closed already (a process tearing down without closing the gateway).
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`)
    options.onError?.(error)
  }
  // Starting the worker loads better-sqlite3 again (30-300 ms): the database is used meanwhile, and
  // SQLite keeps checkpointing by itself until the worker is ready.
  let started = false
  const ready = new Promise<boolean>((resolve) => {
    worker.once('message', () => {
      started = true
      if (closed) return resolve(false)
      sqlite.pragma('wal_autocheckpoint = 0')
      timer = setInterval(() => {
        if (!inFlight && !closed) checkpoint().catch((error: Error) => options.onError?.(error))
      }, options.intervalMs ?? 200)
      timer.unref()
      resolve(true)
    })
    worker.once('exit', () => resolve(false))
  })
  worker.on('error', fallBack)
  worker.on('exit', (code) => fallBack(new Error(`the WAL checkpoint worker exited (${code})`)))

  const checkpoint = () =>
    (inFlight ??= new Promise<CheckpointRow>((resolve, reject) => {
      worker.once('message', (answer: { ok: boolean; row?: CheckpointRow; restarted?: boolean; message?: string }) => {
        inFlight = null
        if (!answer.ok || !answer.row) return reject(new Error(`WAL checkpoint failed: ${answer.message}`))
        stats.checkpoints++
        if (answer.restarted) stats.restarts++
        stats.pages += answer.row.checkpointed
        resolve(answer.row)
      })
      worker.postMessage('checkpoint')
    }))

  return {
    stats,
    async checkpoint() {
      if (!(await ready) || closed) throw new Error('The WAL checkpointer is not running')
      return checkpoint()
    },
    async close() {
      if (closed) return
      closed = true
      clearInterval(timer)
      await inFlight?.catch(() => {})
      // Referenced again, so this process waits for the worker's exit even when nothing else keeps it
      // alive. A running worker closes its connection itself; one still loading (no checkpoint made
      // yet) is stopped rather than waited for.
      worker.ref()
      if (!started) await worker.terminate()
      else {
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
        worker.postMessage('close')
        await exited
      }
      // The connection's own close then checkpoints what is left, as SQLite does.
      sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`)
    },
  }
}
