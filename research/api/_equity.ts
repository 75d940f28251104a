import { KtrdrError } from '../../trading/index.ts'
import { createLineSplitter } from './_lines.ts'

/** A backtest run's equity.csv (`timestamp,price,portfolio_value,position`) as columns; time in epoch seconds. */
export interface EquityColumns {
  length: number
  time: Float64Array
  price: Float64Array
  equity: Float64Array
}

const HEADER = 'timestamp,price,portfolio_value,position'

const digits = (s: string, at: number, n: number): number => {
  let v = 0
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48
    if (c < 0 || c > 9) return Number.NaN
    v = v * 10 + c
  }
  return v
}

/**
 * `YYYY-MM-DDTHH:MM:SSZ` (what the backtest writes) in epoch ms without Date.parse, which was
 * ≈460 of the ≈600 ms a 1,000,000-row file took to read; anything else goes to Date.parse.
 */
export function parseUtc(s: string): number {
  if (s.length === 20 && s.charCodeAt(19) === 90 /* Z */ && s.charCodeAt(10) === 84 /* T */) {
    const mo = digits(s, 5, 2)
    const d = digits(s, 8, 2)
    const h = digits(s, 11, 2)
    const mi = digits(s, 14, 2)
    const sec = digits(s, 17, 2)
    // Out-of-range fields would roll over in Date.UTC: those go to Date.parse (NaN), like any odd spelling.
    if (mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && sec <= 59) {
      const t = Date.UTC(digits(s, 0, 4), mo - 1, d, h, mi, sec)
      if (Number.isFinite(t)) return t
    }
  }
  return Date.parse(s)
}

/** `a` copied into twice the room: columns of a file of unknown length grow by doubling, O(1) a row amortised. */
export function doubled(a: Float64Array): Float64Array<ArrayBuffer> {
  const b = new Float64Array(a.length * 2)
  b.set(a)
  return b
}

/**
 * Parses equity.csv chunk by chunk. The caller feeds chunks from a stream, so a 1,000,000-row file
 * (≈60 MB) never sits in memory as one string, and the event loop gets a turn between chunks.
 */
export function createEquityParser(key: string) {
  let time = new Float64Array(1024)
  let price = new Float64Array(1024)
  let equity = new Float64Array(1024)
  let n = 0
  let line = 0
  const lines = createLineSplitter((line) => row(line))
  let headerSeen = false

  const bad = (why: string): never => {
    throw new KtrdrError({
      code: 'RESULT_INVALID',
      message: `${key} line ${line}: ${why} (expected ${HEADER})`,
    })
  }

  const row = (text: string) => {
    line++
    if (!headerSeen) {
      if (text.trim() !== HEADER) bad(`header is "${text.slice(0, 80)}"`)
      headerSeen = true
      return
    }
    if (text === '') return
    const c1 = text.indexOf(',')
    const c2 = text.indexOf(',', c1 + 1)
    const c3 = text.indexOf(',', c2 + 1)
    if (c1 < 0 || c2 < 0 || c3 < 0) bad('fewer than 4 columns')
    const t = parseUtc(text.slice(0, c1))
    const p = Number(text.slice(c1 + 1, c2))
    const e = Number(text.slice(c2 + 1, c3))
    if (!Number.isFinite(t)) bad(`timestamp "${text.slice(0, c1)}" is not a date`)
    if (!Number.isFinite(e)) bad(`portfolio_value "${text.slice(c2 + 1, c3)}" is not a number`)
    if (n === time.length) {
      time = doubled(time)
      price = doubled(price)
      equity = doubled(equity)
    }
    time[n] = t / 1000
    price[n] = p
    equity[n] = e
    n++
  }

  return {
    push: lines.push,
    end(): EquityColumns {
      lines.end()
      if (!headerSeen) bad('the file is empty')
      return { length: n, time: time.subarray(0, n), price: price.subarray(0, n), equity: equity.subarray(0, n) }
    },
  }
}

/**
 * Drawdown in percent of the running peak (≤ 0, the "underwater" curve), from every point: the
 * deepest value is the backtest's max_drawdown_pct (same definition as the engine's metrics).
 */
export function drawdownPct(equity: Float64Array): Float64Array {
  const out = new Float64Array(equity.length)
  let peak = equity[0]
  for (let i = 0; i < equity.length; i++) {
    const v = equity[i]
    if (v > peak) peak = v
    out[i] = peak > 0 ? ((v - peak) / peak) * 100 : 0
  }
  return out
}
