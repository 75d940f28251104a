import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { TEMP_NAME } from './_atomic.ts'
import { MOUNT_NAMES, resolveLocalPath, type ResolvedStorageOptions } from './options.ts'

export interface SweepResult {
  removed: string[]
  bytes: number
}

/**
 * Removes temporary files and directories of atomic writes that died with their process (crash,
 * SIGKILL, power loss) under `root`, older than `olderThanMs` so a write in progress elsewhere (a
 * second host on the same NFS mount) is never pulled from under its writer.
 */
export async function sweepTempFiles(root: string, options: { olderThanMs?: number; maxDepth?: number } = {}): Promise<SweepResult> {
  const cutoff = Date.now() - (options.olderThanMs ?? 60_000)
  const result: SweepResult = { removed: [], bytes: 0 }
  async function walk(dir: string, depth: number) {
    const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])
    for (const entry of entries) {
      const path = join(dir, entry.name)
      if (TEMP_NAME.test(entry.name)) {
        const stat = await fsp.lstat(path).catch(() => null)
        if (!stat || stat.mtimeMs > cutoff) continue
        result.bytes += stat.isDirectory() ? 0 : stat.size
        await fsp.rm(path, { recursive: true, force: true }).then(
          () => result.removed.push(path),
          () => {},
        )
      } else if (entry.isDirectory() && depth < (options.maxDepth ?? 8) && entry.name !== 'node_modules') {
        await walk(path, depth + 1)
      }
    }
  }
  await walk(root, 0)
  return result
}

/** sweepTempFiles over every mount that is a local (or NFS) folder; each folder once. */
export async function sweepStorageTemps(options: ResolvedStorageOptions, sweep: { olderThanMs?: number } = {}): Promise<SweepResult> {
  const roots = new Set(MOUNT_NAMES.map((m) => resolveLocalPath(options, m, '')).filter((r): r is string => !!r))
  const total: SweepResult = { removed: [], bytes: 0 }
  for (const root of roots) {
    const r = await sweepTempFiles(root, sweep)
    total.removed.push(...r.removed)
    total.bytes += r.bytes
  }
  return total
}
