import { createReadStream } from 'node:fs'
import type { GatewayRouteContext } from '../../runtime/gateway/index.ts'
import { resolveLocalPath } from '../../storage/index.ts'
import { KtrdrError } from '../../trading/index.ts'
import { decimateTogether, pick } from './_decimate.ts'
import { doubled, parseUtc } from './_equity.ts'
import { createLineSplitter } from './_lines.ts'

// The stitched out-of-sample curve of a walk-forward, one symbol of it, as the dashboard draws it:
// read from the walk-forward's equity.csv chunk by chunk and decimated server-side like a backtest's
// chart (min/max per bucket), so a curve of millions of bars reaches the page as a few thousand points.

const HEADER = 'timestamp,symbol,fold,price,fold_value,value,benchmark,position'

/** One symbol's rows of the stitched equity.csv as columns; time in epoch seconds. */
export interface StitchedColumns {
  length: number
  time: Float64Array
  fold: Float64Array
  value: Float64Array
  benchmark: Float64Array
}

function createStitchedParser(key: string, symbol: string) {
  const start = 1024
  let cols = {
    time: new Float64Array(start),
    fold: new Float64Array(start),
    value: new Float64Array(start),
    benchmark: new Float64Array(start),
  }
  let n = 0
  let line = 0
  const lines = createLineSplitter((line) => row(line))
  const bad = (why: string): never => {
    throw new KtrdrError({ code: 'RESULT_INVALID', message: `${key} line ${line}: ${why} (expected ${HEADER})` })
  }
  const row = (text: string) => {
    line++
    if (line === 1) {
      if (text.trim() !== HEADER) bad(`header is "${text.slice(0, 80)}"`)
      return
    }
    if (text === '') return
    const cells = text.split(',')
    if (cells[1] !== symbol) return
    if (cells.length < 8) bad('fewer than 8 columns')
    const t = parseUtc(cells[0])
    if (!Number.isFinite(t)) bad(`timestamp "${cells[0]}" is not a date`)
    if (n === cols.time.length)
      cols = { time: doubled(cols.time), fold: doubled(cols.fold), value: doubled(cols.value), benchmark: doubled(cols.benchmark) }
    cols.time[n] = t / 1000
    cols.fold[n] = Number(cells[2])
    cols.value[n] = Number(cells[5])
    cols.benchmark[n] = Number(cells[6])
    n++
  }
  return {
    push: lines.push,
    end(): StitchedColumns {
      lines.end()
      return {
        length: n,
        time: cols.time.subarray(0, n),
        fold: cols.fold.subarray(0, n),
        value: cols.value.subarray(0, n),
        benchmark: cols.benchmark.subarray(0, n),
      }
    },
  }
}

/** One symbol's stitched curve from the results mount (streamed from disk on fs mounts). */
export async function readStitched(ctx: GatewayRouteContext, key: string, symbol: string): Promise<StitchedColumns> {
  const parser = createStitchedParser(key, symbol)
  const notStored = () =>
    new KtrdrError({ code: 'RESULT_NOT_FOUND', message: `${key} is not in the results mount (deleted since the walk-forward ended?)` })
  const local = resolveLocalPath(ctx.storage.options, 'results', key)
  if (local) {
    try {
      for await (const chunk of createReadStream(local, { encoding: 'utf8', highWaterMark: 1 << 20 })) parser.push(chunk as string)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notStored()
      throw error
    }
    return parser.end()
  }
  const raw = await ctx.storage.results.getItemRaw(key)
  if (raw === null || raw === undefined) throw notStored()
  parser.push(typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8'))
  return parser.end()
}

export interface StitchedSeries {
  /** Rows of the symbol's stitched curve, and how many the series below kept. */
  bars: number
  points: number
  max_points: number
  decimated: boolean
  time: number[]
  value: number[]
  benchmark: number[]
  fold: number[]
}

/**
 * The curve and its benchmark decimated together (one time axis), each fold's first bar always kept
 * so the page can mark where each test window starts: at most `maxPoints`, or folds + 16 when that
 * is more (100 folds at most).
 */
export function decimateStitched(c: StitchedColumns, maxPoints: number): StitchedSeries {
  const starts: number[] = []
  for (let i = 0; i < c.length; i++) if (i === 0 || c.fold[i] !== c.fold[i - 1]) starts.push(i)
  let idx: Uint32Array
  if (c.length <= maxPoints) idx = decimateTogether([c.value], maxPoints)
  else {
    const kept = decimateTogether([c.value, c.benchmark], Math.max(16, maxPoints - starts.length))
    const all = new Set<number>(kept)
    for (const s of starts) all.add(s)
    idx = Uint32Array.from([...all].sort((a, b) => a - b))
  }
  return {
    bars: c.length,
    points: idx.length,
    max_points: maxPoints,
    decimated: c.length > maxPoints,
    time: pick(c.time, idx),
    value: pick(c.value, idx),
    benchmark: pick(c.benchmark, idx),
    fold: pick(c.fold, idx),
  }
}
