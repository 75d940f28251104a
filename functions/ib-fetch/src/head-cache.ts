import { promises as fsp } from 'node:fs'
import { writeFileAtomic } from '../../../storage/index.ts'
import type { Clock } from './clock.ts'

/** docs/domain.md#ib-pacing: head timestamps are cached for an hour; each lookup otherwise costs a paced IB request. */
export const HEAD_TTL_MS = 3_600_000

export interface HeadTimestampCache {
  /** The cached head (epoch ms; null = IB said there is none) while fresh, undefined otherwise. */
  get(key: string): Promise<number | null | undefined>
  set(key: string, head: number | null): Promise<void>
}

type Entry = { head: number | null; fetched_at: number }

/**
 * A small JSON file next to the pacing ledger, shared by every fetch on the host (separate
 * executor processes). Written tmp+rename so a reader never sees half a file; concurrent writers
 * can only lose each other's entries, which costs one more head request — it is a cache.
 */
export function createHeadTimestampCache(options: { path: string; clock: Clock; ttlMs?: number }): HeadTimestampCache {
  const ttl = options.ttlMs ?? HEAD_TTL_MS
  const read = async (): Promise<Record<string, Entry>> => {
    try {
      return JSON.parse(await fsp.readFile(options.path, 'utf8')) as Record<string, Entry>
    } catch {
      return {}
    }
  }
  return {
    async get(key) {
      const entry = (await read())[key]
      if (!entry || options.clock.now() - entry.fetched_at >= ttl) return undefined
      return entry.head
    },
    async set(key, head) {
      const now = options.clock.now()
      const entries = Object.fromEntries(Object.entries(await read()).filter(([, e]) => now - e.fetched_at < ttl))
      entries[key] = { head, fetched_at: now }
      await writeFileAtomic(options.path, JSON.stringify(entries), { fsync: false })
    },
  }
}
