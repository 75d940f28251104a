// A slow, obviously-correct backtester written straight from docs/domain.md#backtesting (with
// the documented fixes), one object per bar. It shares no code with src/: the engine must
// agree with it.

export interface RefBar {
  time: number
  open: number
  close: number
}
export type RefOutput = { kind: 'probs'; values: number[] } | { kind: 'regression'; value: number }
export interface RefConfig {
  outputFormat: 'classification' | 'regression'
  initialCapital: number
  commission: number
  slippage: number
  confidenceThreshold: number
  positionAwareness: boolean
  allowShortFromFlat: boolean
  minSignalSeparationHours: number
  roundTripCost: number
  minEdgeMultiplier: number
  positionSizeFraction: number
}
export interface RefTrade {
  side: 'LONG' | 'SHORT'
  quantity: number
  entryPrice: number
  exitPrice: number
  entryTime: number
  exitTime: number
  gross: number
  commission: number
  net: number
  forced: boolean
}
type Signal = 'BUY' | 'HOLD' | 'SELL'

function decide(out: RefOutput | null, cfg: RefConfig): { signal: Signal; confidence: number } {
  if (!out) return { signal: 'HOLD', confidence: 0 }
  if (out.kind === 'regression') {
    const r = out.value
    if (!Number.isFinite(r)) return { signal: 'HOLD', confidence: 0 }
    const T = cfg.roundTripCost * cfg.minEdgeMultiplier
    return { signal: r > T ? 'BUY' : r < -T ? 'SELL' : 'HOLD', confidence: Math.min(Math.abs(r) / (3 * T), 1) }
  }
  const v = out.values
  if (v.some((x) => !Number.isFinite(x))) return { signal: 'HOLD', confidence: 0 }
  const sum = v.reduce((a, b) => a + b, 0)
  let p = v
  if (!(v.every((x) => x >= 0) && Math.abs(sum - 1) <= 1e-4)) {
    const m = Math.max(...v)
    const ex = v.map((x) => Math.exp(x - m))
    const z = ex.reduce((a, b) => a + b, 0)
    p = ex.map((x) => x / z)
  }
  let idx = 0
  for (let k = 1; k < p.length; k++) if (p[k] > p[idx]) idx = k
  return { signal: (['BUY', 'HOLD', 'SELL'] as const)[idx], confidence: p[idx] }
}

export function referenceBacktest(
  bars: RefBar[],
  outputs: Array<RefOutput | null>,
  cfg: RefConfig,
  start: number,
  end: number,
  barMs: number,
) {
  let cash = cfg.initialCapital
  let pos: { side: 'LONG' | 'SHORT'; q: number; entry: number; entryTime: number; entryComm: number } | null = null
  let pending: Signal = 'HOLD'
  let lastTradeTime: number | null = null
  const trades: RefTrade[] = []
  const equity: number[] = []
  const shortsAllowed = cfg.outputFormat === 'regression' || cfg.allowShortFromFlat

  const open = (side: 'LONG' | 'SHORT', price: number, time: number) => {
    const exec = side === 'LONG' ? price * (1 + cfg.slippage) : price * (1 - cfg.slippage)
    let q = Math.floor((cash * cfg.positionSizeFraction) / (1 + cfg.commission) / price)
    if (exec * q * (1 + cfg.commission) > cash) q = Math.floor(cash / (1 + cfg.commission) / exec)
    if (q < 1) return false
    const comm = exec * q * cfg.commission
    cash -= exec * q + comm
    pos = { side, q, entry: exec, entryTime: time, entryComm: comm }
    return true
  }
  const close = (price: number, time: number, forced: boolean) => {
    const p = pos!
    const exec = p.side === 'LONG' ? price * (1 - cfg.slippage) : price * (1 + cfg.slippage)
    const gross = p.side === 'LONG' ? (exec - p.entry) * p.q : (p.entry - exec) * p.q
    const exitComm = exec * p.q * cfg.commission
    cash += p.side === 'LONG' ? exec * p.q - exitComm : p.entry * p.q + gross - exitComm
    trades.push({
      side: p.side,
      quantity: p.q,
      entryPrice: p.entry,
      exitPrice: exec,
      entryTime: p.entryTime,
      exitTime: time,
      gross,
      commission: p.entryComm + exitComm,
      net: gross - p.entryComm - exitComm,
      forced,
    })
    pos = null
    return true
  }
  const value = (c: number) =>
    pos === null ? cash : pos.side === 'LONG' ? cash + c * pos.q : cash + pos.entry * pos.q + (pos.entry - c) * pos.q

  for (let t = start; t <= end; t++) {
    const bar = bars[t]
    if (pending !== 'HOLD') {
      let traded = false
      const state = pos === null ? 'FLAT' : (pos as { side: string }).side
      if (pending === 'BUY')
        traded = state === 'FLAT' ? open('LONG', bar.open, bar.time) : state === 'SHORT' ? close(bar.open, bar.time, false) : false
      else
        traded =
          state === 'LONG'
            ? close(bar.open, bar.time, false)
            : state === 'FLAT' && shortsAllowed
              ? open('SHORT', bar.open, bar.time)
              : false
      if (traded) lastTradeTime = bar.time
      pending = 'HOLD'
    }
    const decided = decide(outputs[t], cfg)
    let signal = decided.signal
    const confidence = decided.confidence
    const state = pos === null ? 'FLAT' : (pos as { side: string }).side
    if (cfg.outputFormat === 'classification' && confidence < cfg.confidenceThreshold) signal = 'HOLD'
    if (lastTradeTime !== null && bar.time - lastTradeTime < cfg.minSignalSeparationHours * 3_600_000) signal = 'HOLD'
    if (cfg.positionAwareness) {
      if (state === 'LONG' && signal === 'BUY') signal = 'HOLD'
      if (state === 'SHORT' && signal === 'SELL') signal = 'HOLD'
      if (cfg.outputFormat === 'classification' && !cfg.allowShortFromFlat && state === 'FLAT' && signal === 'SELL') signal = 'HOLD'
    }
    if (t < end) pending = signal
    equity.push(value(bar.close))
  }
  if (pos !== null) {
    close(bars[end].close, bars[end].time + barMs, true)
    equity[equity.length - 1] = cash
  }
  return { trades, equity, cash }
}
