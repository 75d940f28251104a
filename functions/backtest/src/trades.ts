import { LONG } from './_types.ts'

/**
 * Closed round trips in columnar typed arrays. The kernel appends without allocating; the
 * buffer doubles when full (rare: at most one trade per two bars).
 */
export class TradeBuffer {
  count = 0
  capacity: number
  side!: Int8Array
  entryIndex!: Int32Array
  exitIndex!: Int32Array
  entryTime!: Float64Array
  exitTime!: Float64Array
  quantity!: Float64Array
  entryPrice!: Float64Array
  exitPrice!: Float64Array
  grossPnl!: Float64Array
  entryCommission!: Float64Array
  exitCommission!: Float64Array
  slippageCost!: Float64Array
  netPnl!: Float64Array
  mfe!: Float64Array
  mae!: Float64Array
  confidence!: Float64Array
  forced!: Uint8Array

  constructor(capacity = 256) {
    this.capacity = Math.max(1, capacity)
    this.allocate(this.capacity, 0)
  }

  private allocate(capacity: number, keep: number): void {
    const grow = <T extends Int8Array | Int32Array | Float64Array | Uint8Array>(old: T | undefined, make: (n: number) => T): T => {
      const next = make(capacity)
      if (old && keep > 0) next.set(old.subarray(0, keep) as never)
      return next
    }
    this.side = grow(this.side, (n) => new Int8Array(n))
    this.entryIndex = grow(this.entryIndex, (n) => new Int32Array(n))
    this.exitIndex = grow(this.exitIndex, (n) => new Int32Array(n))
    this.entryTime = grow(this.entryTime, (n) => new Float64Array(n))
    this.exitTime = grow(this.exitTime, (n) => new Float64Array(n))
    this.quantity = grow(this.quantity, (n) => new Float64Array(n))
    this.entryPrice = grow(this.entryPrice, (n) => new Float64Array(n))
    this.exitPrice = grow(this.exitPrice, (n) => new Float64Array(n))
    this.grossPnl = grow(this.grossPnl, (n) => new Float64Array(n))
    this.entryCommission = grow(this.entryCommission, (n) => new Float64Array(n))
    this.exitCommission = grow(this.exitCommission, (n) => new Float64Array(n))
    this.slippageCost = grow(this.slippageCost, (n) => new Float64Array(n))
    this.netPnl = grow(this.netPnl, (n) => new Float64Array(n))
    this.mfe = grow(this.mfe, (n) => new Float64Array(n))
    this.mae = grow(this.mae, (n) => new Float64Array(n))
    this.confidence = grow(this.confidence, (n) => new Float64Array(n))
    this.forced = grow(this.forced, (n) => new Uint8Array(n))
  }

  /** Returns the slot for the next trade. */
  next(): number {
    if (this.count === this.capacity) {
      this.capacity *= 2
      this.allocate(this.capacity, this.count)
    }
    return this.count++
  }

  reset(): void {
    this.count = 0
  }
}

/** One closed trade as docs/domain.md#position-manager describes it (fixed: commission and net_pnl cover both sides). */
export interface TradeRecord {
  trade_id: number
  symbol: string
  side: 'LONG' | 'SHORT'
  entry_price: number
  entry_time: string
  exit_price: number
  exit_time: string
  quantity: number
  gross_pnl: number
  /** Entry + exit commission. */
  commission: number
  entry_commission: number
  exit_commission: number
  /** Cost of slippage on both sides. */
  slippage: number
  net_pnl: number
  return_pct: number
  holding_period_hours: number
  max_favorable_excursion: number
  max_adverse_excursion: number
  decision_metadata: { confidence: number } | { confidence: number; forced_close: true; reason: string }
}

export function toTradeRecords(buf: TradeBuffer, symbol: string): TradeRecord[] {
  const out: TradeRecord[] = []
  for (let i = 0; i < buf.count; i++) {
    const notional = buf.entryPrice[i] * buf.quantity[i]
    out.push({
      trade_id: i + 1,
      symbol,
      side: buf.side[i] === LONG ? 'LONG' : 'SHORT',
      entry_price: buf.entryPrice[i],
      entry_time: new Date(buf.entryTime[i]).toISOString(),
      exit_price: buf.exitPrice[i],
      exit_time: new Date(buf.exitTime[i]).toISOString(),
      quantity: buf.quantity[i],
      gross_pnl: buf.grossPnl[i],
      commission: buf.entryCommission[i] + buf.exitCommission[i],
      entry_commission: buf.entryCommission[i],
      exit_commission: buf.exitCommission[i],
      slippage: buf.slippageCost[i],
      net_pnl: buf.netPnl[i],
      return_pct: notional > 0 ? (buf.netPnl[i] / notional) * 100 : 0,
      holding_period_hours: (buf.exitTime[i] - buf.entryTime[i]) / 3_600_000,
      max_favorable_excursion: buf.mfe[i],
      max_adverse_excursion: buf.mae[i],
      decision_metadata: buf.forced[i]
        ? { confidence: buf.confidence[i], forced_close: true, reason: 'End of backtest period' }
        : { confidence: buf.confidence[i] },
    })
  }
  return out
}
