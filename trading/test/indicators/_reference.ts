// Naive reference implementations written straight from the formulas of docs/domain.md#indicator-catalogue:
// plain number[] in, O(n·period) window re-scans, no shared code with src/. They exist only to
// check the fast kernels; clarity over speed.
import type { OhlcvSeries } from '../../types.ts'

type A = number[]
const N = NaN
const col = (s: OhlcvSeries, k: 'open' | 'high' | 'low' | 'close' | 'volume'): A => Array.from(s[k])
const win = (x: A, i: number, n: number): A => x.slice(i - n + 1, i + 1)
const mean = (w: A): number => w.reduce((a, b) => a + b, 0) / w.length

/** pandas rolling(n, min_periods).mean(), NaN skipped. */
export function rollMean(x: A, n: number, minP = n): A {
  return x.map((_, i) => {
    const w = x.slice(Math.max(0, i - n + 1), i + 1).filter((v) => !Number.isNaN(v))
    return w.length >= minP && w.length > 0 ? mean(w) : N
  })
}
export const rollSum = (x: A, n: number, minP = n): A =>
  rollMean(x, n, minP).map((m, i) => m * x.slice(Math.max(0, i - n + 1), i + 1).filter((v) => !Number.isNaN(v)).length)
export const rollMax = (x: A, n: number): A => x.map((_, i) => (i < n - 1 ? N : Math.max(...win(x, i, n))))
export const rollMin = (x: A, n: number): A => x.map((_, i) => (i < n - 1 ? N : Math.min(...win(x, i, n))))
export function rollStdSample(x: A, n: number): A {
  return x.map((_, i) => {
    if (i < n - 1) return N
    const w = win(x, i, n)
    const m = mean(w)
    return Math.sqrt(w.reduce((a, v) => a + (v - m) ** 2, 0) / (n - 1))
  })
}

/** ewm: adjust=true is the explicit weighted average Σ(1−α)^k x_{t−k} / Σ(1−α)^k. */
export function ewm(x: A, alpha: number, adjust: boolean): A {
  const start = x.findIndex((v) => !Number.isNaN(v))
  const out: A = x.map(() => N)
  if (start < 0) return out
  if (adjust) {
    for (let t = start; t < x.length; t++) {
      let num = 0
      let den = 0
      for (let k = 0; k <= t - start; k++) {
        const w = (1 - alpha) ** k
        num += w * x[t - k]
        den += w
      }
      out[t] = num / den
    }
  } else {
    out[start] = x[start]
    for (let t = start + 1; t < x.length; t++) out[t] = alpha * x[t] + (1 - alpha) * out[t - 1]
  }
  return out
}
export const span = (n: number): number => 2 / (n + 1)

export function trueRange(s: OhlcvSeries): A {
  const h = col(s, 'high'),
    l = col(s, 'low'),
    c = col(s, 'close')
  return h.map((_, i) => (i === 0 ? h[0] - l[0] : Math.max(h[i] - l[i], Math.abs(h[i] - c[i - 1]), Math.abs(l[i] - c[i - 1]))))
}

export function rsi(x: A, p: number): A {
  const out: A = x.map(() => N)
  if (x.length <= p) return out
  const d = x.map((v, i) => (i === 0 ? 0 : v - x[i - 1]))
  let g = 0,
    l = 0
  for (let i = 1; i <= p; i++) {
    g += Math.max(d[i], 0)
    l += Math.max(-d[i], 0)
  }
  g /= p
  l /= p
  const f = (): number => (l === 0 ? (g > 0 ? 100 : 50) : 100 - 100 / (1 + g / l))
  out[p] = f()
  for (let i = p + 1; i < x.length; i++) {
    g = (g * (p - 1) + Math.max(d[i], 0)) / p
    l = (l * (p - 1) + Math.max(-d[i], 0)) / p
    out[i] = f()
  }
  return out
}

export const wma = (x: A, n: number): A =>
  x.map((_, i) => (i < n - 1 ? N : win(x, i, n).reduce((a, v, k) => a + (k + 1) * v, 0) / ((n * (n + 1)) / 2)))
export const atr = (s: OhlcvSeries, n: number): A => rollMean(trueRange(s), n)

export function stochastic(s: OhlcvSeries, k: number, d: number, sk: number): { k: A; d: A } {
  const hh = rollMax(col(s, 'high'), k),
    ll = rollMin(col(s, 'low'), k),
    c = col(s, 'close')
  const raw = c.map((v, i) => (Number.isNaN(hh[i]) ? N : hh[i] === ll[i] ? 50 : (100 * (v - ll[i])) / (hh[i] - ll[i])))
  const K = sk > 1 ? rollMean(raw, sk, 1) : raw
  return { k: K, d: rollMean(K, d, 1) }
}

export function adx(s: OhlcvSeries, p: number): { adx: A; plus: A; minus: A } {
  const h = col(s, 'high'),
    l = col(s, 'low')
  const up = h.map((v, i) => (i === 0 ? 0 : v - h[i - 1]))
  const dn = l.map((v, i) => (i === 0 ? 0 : l[i - 1] - v))
  const pdm = up.map((u, i) => (u > dn[i] && u > 0 ? u : 0))
  const mdm = dn.map((d, i) => (d > up[i] && d > 0 ? d : 0))
  const trs = ewm(trueRange(s), 1 / p, false),
    ps = ewm(pdm, 1 / p, false),
    ms = ewm(mdm, 1 / p, false)
  const plus = trs.map((t, i) => (t === 0 ? 0 : (100 * ps[i]) / t))
  const minus = trs.map((t, i) => (t === 0 ? 0 : (100 * ms[i]) / t))
  const dx = plus.map((pd, i) => (pd + minus[i] === 0 ? 0 : (100 * Math.abs(pd - minus[i])) / (pd + minus[i])))
  return { adx: ewm(dx, 1 / p, false), plus, minus }
}

export function cci(s: OhlcvSeries, n: number): A {
  const tp = col(s, 'high').map((h, i) => (h + s.low[i] + s.close[i]) / 3)
  return tp.map((v, i) => {
    if (i < n - 1) return N
    const w = win(tp, i, n),
      m = mean(w),
      mad = mean(w.map((x) => Math.abs(x - m)))
    return mad === 0 ? 0 : (v - m) / (0.015 * mad)
  })
}

export function williamsr(s: OhlcvSeries, n: number): A {
  const hh = rollMax(col(s, 'high'), n),
    ll = rollMin(col(s, 'low'), n)
  return col(s, 'close').map((c, i) => (Number.isNaN(hh[i]) ? N : hh[i] === ll[i] ? -50 : (-100 * (hh[i] - c)) / (hh[i] - ll[i])))
}

export function obv(s: OhlcvSeries): A {
  const c = col(s, 'close'),
    v = col(s, 'volume')
  let acc = 0
  return c.map((x, i) => (i === 0 ? 0 : (acc += x > c[i - 1] ? v[i] : x < c[i - 1] ? -v[i] : 0)))
}

export function vwap(s: OhlcvSeries, n: number, typical: boolean): A {
  const p = col(s, 'close').map((c, i) => (typical ? (s.high[i] + s.low[i] + c) / 3 : c)),
    v = col(s, 'volume')
  return p.map((_, i) => {
    const from = n === 0 ? 0 : Math.max(0, i - n + 1)
    let pv = 0,
      vs = 0
    for (let j = from; j <= i; j++) {
      pv += p[j] * v[j]
      vs += v[j]
    }
    return vs === 0 ? N : pv / vs
  })
}

export function mfi(s: OhlcvSeries, n: number): A {
  const tp = col(s, 'high').map((h, i) => (h + s.low[i] + s.close[i]) / 3)
  return tp.map((_, i) => {
    if (i < n) return N
    let pos = 0,
      neg = 0
    for (let j = i - n + 1; j <= i; j++) {
      const f = tp[j] * s.volume[j]
      if (tp[j] > tp[j - 1]) pos += f
      else if (tp[j] < tp[j - 1]) neg += f
    }
    return neg === 0 ? 100 : pos === 0 ? 0 : 100 - 100 / (1 + pos / neg)
  })
}

export const mfm = (s: OhlcvSeries): A =>
  col(s, 'close').map((c, i) => (s.high[i] === s.low[i] ? 0 : (c - s.low[i] - (s.high[i] - c)) / (s.high[i] - s.low[i])))

export function cmf(s: OhlcvSeries, n: number): A {
  const mv = mfm(s).map((m, i) => m * s.volume[i]),
    v = col(s, 'volume')
  return mv.map((_, i) => {
    if (i < n - 1) return N
    const vs = win(v, i, n).reduce((a, b) => a + b, 0)
    return vs === 0 ? 0 : win(mv, i, n).reduce((a, b) => a + b, 0) / vs
  })
}

export function adline(s: OhlcvSeries): A {
  let acc = 0
  return mfm(s).map((m, i) => (acc += m * s.volume[i]))
}

export function aroon(s: OhlcvSeries, n: number): { up: A; down: A } {
  const h = col(s, 'high'),
    l = col(s, 'low')
  const since = (w: A, best: number): number => w.length - 1 - w.indexOf(best)
  const up = h.map((_, i) => (i < n - 1 ? N : (100 * (n - since(win(h, i, n), Math.max(...win(h, i, n))))) / n))
  const down = l.map((_, i) => (i < n - 1 ? N : (100 * (n - since(win(l, i, n), Math.min(...win(l, i, n))))) / n))
  return { up, down }
}

export function fisher(s: OhlcvSeries, n: number, sm: number): { fisher: A; signal: A } {
  const hh = rollMax(col(s, 'high'), n),
    ll = rollMin(col(s, 'low'), n)
  const f = hh.map((H, i) => {
    if (Number.isNaN(H)) return N
    const med = (s.high[i] + s.low[i]) / 2
    const x = Math.min(0.999, Math.max(-0.999, H === ll[i] ? 0 : (2 * (med - ll[i])) / (H - ll[i]) - 1))
    return 0.5 * Math.log((1 + x) / (1 - x))
  })
  const fs = ewm(f, span(sm), false)
  return { fisher: fs, signal: fs.map((_, i) => (i === 0 ? N : fs[i - 1])) }
}

export function rvi(s: OhlcvSeries, n: number, sp: number): { rvi: A; signal: A } {
  const co = col(s, 'close').map((c, i) => c - s.open[i]),
    hl = col(s, 'high').map((h, i) => h - s.low[i])
  const sym = (x: A): A => x.map((_, i) => (i < 3 ? N : (x[i - 3] + 2 * x[i - 2] + 2 * x[i - 1] + x[i]) / 6))
  const nm = rollMean(sym(co), n),
    dm = rollMean(sym(hl), n)
  const r = nm.map((v, i) => (dm[i] === 0 || Number.isNaN(dm[i]) ? N : v / dm[i]))
  return { rvi: r, signal: rollMean(r, sp) }
}

export function supertrend(s: OhlcvSeries, n: number, m: number): { trend: A; direction: A } {
  const a = atr(s, n),
    trend: A = [],
    direction: A = []
  let fu = N,
    fl = N,
    dir = 0
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i])) {
      trend.push(N)
      direction.push(N)
      continue
    }
    const mid = (s.high[i] + s.low[i]) / 2,
      bu = mid + m * a[i],
      bl = mid - m * a[i]
    if (Number.isNaN(fu)) {
      fu = bu
      fl = bl
    } else {
      fu = bu < fu || s.close[i - 1] > fu ? bu : fu
      fl = bl > fl || s.close[i - 1] < fl ? bl : fl
    }
    if (dir === 0 || dir === 1) dir = s.close[i] <= fl ? -1 : 1
    else dir = s.close[i] >= fu ? 1 : -1
    trend.push(dir === 1 ? fl : fu)
    direction.push(dir)
  }
  return { trend, direction }
}

export const roc = (x: A, n: number): A => x.map((v, i) => (i < n ? N : (100 * (v - x[i - n])) / x[i - n]))
export const momentum = (x: A, n: number): A => x.map((v, i) => (i < n ? N : v - x[i - n]))

export function zigzag(x: A, th: number): A {
  const out: A = x.map(() => N)
  out[0] = x[0]
  let last = 0,
    dir = 0
  for (let i = 1; i < x.length; i++) {
    const ch = (x[i] - x[last]) / x[last]
    const move = (): void => {
      out[i] = x[i]
      last = i
    }
    if (dir === 0) {
      if (Math.abs(ch) >= th) {
        dir = Math.sign(ch)
        move()
      }
    } else if (dir * (x[i] - x[last]) > 0) {
      out[last] = N
      move()
    } else if (-dir * ch >= th) {
      dir = -dir
      move()
    }
  }
  return out
}
