import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage, type Storage } from 'unstorage'
import { fsAtomicDriver } from '../../storage/index.ts'
import { createSeries } from '../data/series.ts'
import { mulberry32 } from '../rng.ts'
import type { OhlcvSeries } from '../types.ts'

export function tempDataStorage(): { storage: Storage; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ktrdr-core-'))
  return { storage: createStorage({ driver: fsAtomicDriver({ base: dir }) }), dir }
}

/** Series from closes: open = previous close, high/low a fixed fraction around. */
export function seriesFromCloses(
  closes: number[],
  opts: { symbol?: string; timeframe?: string; start?: number; stepMs?: number; spread?: number } = {},
): OhlcvSeries {
  const n = closes.length
  const s = createSeries(opts.symbol ?? 'TEST', opts.timeframe ?? '1h', n)
  const step = opts.stepMs ?? 3_600_000
  const start = opts.start ?? Date.UTC(2024, 0, 1)
  const spread = opts.spread ?? 0
  for (let i = 0; i < n; i++) {
    const o = i === 0 ? closes[0] : closes[i - 1]
    const c = closes[i]
    s.time[i] = start + i * step
    s.open[i] = o
    s.close[i] = c
    s.high[i] = Math.max(o, c) * (1 + spread)
    s.low[i] = Math.min(o, c) * (1 - spread)
    s.volume[i] = 100 + i
  }
  return s
}

/** Deterministic random walk (the seeded mulberry32 of trading/rng.ts) so tests need no fixtures. */
export function randomWalk(
  n: number,
  seed = 1,
  opts: { timeframe?: string; stepMs?: number; start?: number; vol?: number } = {},
): OhlcvSeries {
  const rnd = mulberry32(seed)
  const closes: number[] = []
  let p = 1.1
  for (let i = 0; i < n; i++) {
    p *= 1 + (rnd() - 0.5) * (opts.vol ?? 0.01)
    closes.push(p)
  }
  return seriesFromCloses(closes, { ...opts, spread: 0.001 })
}
