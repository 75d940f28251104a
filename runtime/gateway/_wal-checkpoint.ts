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
 */
export interface WalCheckpointer {
  /** Checkpoints run by the worker so far (tests, benches). */
  readonly stats: { checkpoints: number; pages: number }
  /** Resolves after one more checkpoint (tests). */
  checkpoint(): Promise<{ busy: number; log: number; checkpointed: number }>
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
    parentPort.postMessage({ ok: true, row: db.pragma('wal_checkpoint(PASSIVE)')[0] })
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message) })
  }
})
parentPort.postMessage({ ready: true })
`

const DEFAULT_AUTOCHECKPOINT = 1000

export async function startWalCheckpointer(
  sqlite: BetterSqlite3.Database,
  path: string,
  options: { sync?: DbSync | null; intervalMs?: number; onError?: (error: Error) => void } = {},
): Promise<WalCheckpointer | null> {
  let driver: string
  try {
    driver = createRequire(import.meta.url).resolve('better-sqlite3')
  } catch {
    return null
  }
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { driver, path, synchronous: options.sync === 'full' ? 'FULL' : 'NORMAL' },
  })
  const started = await new Promise<boolean>((resolve) => {
    worker.once('message', () => resolve(true))
    worker.once('error', () => resolve(false))
  })
  if (!started) {
    await worker.terminate()
    return null
  }
  // A gateway that is never closed (a test, a crash path) must still be able to exit.
  worker.unref()
  const stats = { checkpoints: 0, pages: 0 }
  let inFlight: Promise<{ busy: number; log: number; checkpointed: number }> | null = null
  let closed = false
  const fallBack = (error: Error) => {
    if (closed) return
    closed = true
    clearInterval(timer)
    sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`)
    options.onError?.(error)
  }
  worker.on('error', fallBack)
  worker.on('exit', (code) => fallBack(new Error(`the WAL checkpoint worker exited (${code})`)))

  const checkpoint = () =>
    (inFlight ??= new Promise<{ busy: number; log: number; checkpointed: number }>((resolve, reject) => {
      worker.once('message', (answer: { ok: boolean; row?: { busy: number; log: number; checkpointed: number }; message?: string }) => {
        inFlight = null
        if (!answer.ok || !answer.row) return reject(new Error(`WAL checkpoint failed: ${answer.message}`))
        stats.checkpoints++
        stats.pages += answer.row.checkpointed
        resolve(answer.row)
      })
      worker.postMessage('checkpoint')
    }))

  sqlite.pragma('wal_autocheckpoint = 0')
  const timer = setInterval(() => {
    if (!inFlight && !closed) checkpoint().catch((error: Error) => options.onError?.(error))
  }, options.intervalMs ?? 200)
  timer.unref()

  return {
    stats,
    checkpoint: () => (closed ? Promise.reject(new Error('The WAL checkpointer is closed')) : checkpoint()),
    async close() {
      if (closed) return
      closed = true
      clearInterval(timer)
      await inFlight?.catch(() => {})
      // Referenced again while it winds down: a process with nothing else left would otherwise exit
      // before the worker's exit event, with the close (and whoever awaits it) never resolving.
      worker.ref()
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
      worker.postMessage('close')
      await exited
      // The connection's own close then checkpoints what is left, as SQLite does.
      sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`)
    },
  }
}
