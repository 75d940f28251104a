import { promises as fsp } from 'node:fs'
import { writeFileAtomic } from '../../../storage/index.ts'
import type { Clock } from './clock.ts'
import { withFileLock } from './_lock.ts'

/** IB's historical-data pacing rules (docs/domain.md#ib-pacing); every figure overridable for tests and cautious setups. */
export interface PacingLimits {
  /** Max historical requests in any rolling `windowMs`. */
  maxPerWindow: number
  windowMs: number
  /** Min gap between any two historical requests. */
  minIntervalMs: number
  /** Max requests for one contract within `contractBurstMs`. */
  maxPerContractBurst: number
  contractBurstMs: number
  /** Min gap between two identical requests. */
  identicalIntervalMs: number
  /** Pause for everyone after IB reports a pacing violation (162). */
  violationBackoffMs: number
}

export const DEFAULT_PACING: PacingLimits = {
  maxPerWindow: 60,
  windowMs: 600_000,
  minIntervalMs: 2000,
  maxPerContractBurst: 6,
  contractBurstMs: 2000,
  identicalIntervalMs: 15_000,
  violationBackoffMs: 30_000,
}

interface LedgerEntry {
  t: number
  c: string
  r: string
}
interface LedgerFile {
  entries: LedgerEntry[]
  blockedUntil: number
}

export interface PacingRequest {
  /** Contract identity (per-contract burst rule). */
  contractKey: string
  /** Full request identity (identical-request rule): contract, end, duration, bar size, what. */
  requestKey: string
}

export interface PacingGate {
  /** Waits (on the clock, cancellably) until the request is allowed, records it and returns the time it was granted. */
  acquire(request: PacingRequest, signal?: AbortSignal, onWait?: (ms: number, reason: string) => void): Promise<number>
  /** Records a pacing violation: every process on this host holds off for the backoff. */
  reportViolation(): Promise<void>
  /** Every request recorded in the ledger (for tests and benchmarks). */
  history(): Promise<LedgerEntry[]>
}

/**
 * Pacing shared by every ib-fetch on the host. Invocations run in separate child processes, so
 * the state lives in a small JSON ledger (`<dir>/ktrdr-ib-pacing-<port>.json`, one per gateway)
 * updated under a lock file; the check and the append happen in one critical section so two
 * processes can never both take the last slot.
 */
export function createPacingGate(options: { path: string; clock: Clock; limits?: Partial<PacingLimits> }): PacingGate {
  const limits = { ...DEFAULT_PACING, ...options.limits }
  const { clock, path } = options
  const lockPath = `${path}.lock`

  async function read(): Promise<LedgerFile> {
    try {
      const parsed = JSON.parse(await fsp.readFile(path, 'utf8')) as LedgerFile
      return { entries: Array.isArray(parsed.entries) ? parsed.entries : [], blockedUntil: Number(parsed.blockedUntil) || 0 }
    } catch {
      // Missing or torn (it is written by rename, so torn means foreign): start empty.
      return { entries: [], blockedUntil: 0 }
    }
  }
  // Not fsync'ed: after a power loss an older ledger only makes the next requests more cautious.
  const write = (file: LedgerFile) => writeFileAtomic(path, JSON.stringify(file), { fsync: false })
  const keep = Math.max(limits.windowMs, limits.identicalIntervalMs, limits.contractBurstMs)

  /** Earliest time the request may go, given the ledger. */
  function earliest(file: LedgerFile, req: PacingRequest, now: number): { at: number; reason: string } {
    let at = now
    let reason = ''
    const bump = (t: number, why: string) => {
      if (t > at) {
        at = t
        reason = why
      }
    }
    bump(file.blockedUntil, 'pacing violation backoff')
    const entries = file.entries
    if (entries.length) bump(entries[entries.length - 1].t + limits.minIntervalMs, 'min interval')
    const inWindow = entries.filter((e) => e.t > now - limits.windowMs)
    if (inWindow.length >= limits.maxPerWindow)
      bump(
        inWindow[inWindow.length - limits.maxPerWindow].t + limits.windowMs,
        `${limits.maxPerWindow} requests per ${limits.windowMs / 1000}s`,
      )
    const sameContract = entries.filter((e) => e.c === req.contractKey && e.t > now - limits.contractBurstMs)
    if (sameContract.length >= limits.maxPerContractBurst)
      bump(sameContract[sameContract.length - limits.maxPerContractBurst].t + limits.contractBurstMs, 'per-contract burst')
    for (let i = entries.length - 1; i >= 0; i--) {
      if (entries[i].r === req.requestKey) {
        bump(entries[i].t + limits.identicalIntervalMs, 'identical request')
        break
      }
    }
    return { at, reason }
  }

  return {
    async acquire(req, signal, onWait) {
      for (;;) {
        signal?.throwIfAborted()
        const wait = await withFileLock(
          lockPath,
          async (): Promise<{ granted: number } | { ms: number; reason: string }> => {
            const file = await read()
            const now = clock.now()
            file.entries = file.entries.filter((e) => e.t > now - keep)
            const { at, reason } = earliest(file, req, now)
            if (at <= now) {
              file.entries.push({ t: now, c: req.contractKey, r: req.requestKey })
              await write(file)
              return { granted: now }
            }
            return { ms: at - now, reason }
          },
          { signal },
        )
        if ('granted' in wait) return wait.granted
        onWait?.(wait.ms, wait.reason)
        await clock.sleep(wait.ms, signal)
      }
    },
    async reportViolation() {
      await withFileLock(lockPath, async () => {
        const file = await read()
        file.blockedUntil = Math.max(file.blockedUntil, clock.now() + limits.violationBackoffMs)
        await write(file)
      })
    },
    async history() {
      return (await read()).entries
    },
  }
}
