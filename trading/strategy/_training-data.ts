import { TIMEFRAMES, type Timeframe } from '../types.ts'
import { isTimeframe, isValidSymbol } from '../data/_symbols.ts'
import { describe, isObj, type Checker, type Obj, type Reader } from './_context.ts'
import { SYMBOLS_OPTIONS, TIMEFRAMES_OPTIONS, TRAINING_DATA_OPTIONS } from './grammar.ts'
import type { ContextDataEntry, TrainingData } from './types.ts'

function timeframe(c: Checker, v: unknown, path: (string | number)[]): Timeframe | undefined {
  if (typeof v === 'string' && isTimeframe(v)) return v
  c.error(path, `expected a timeframe (one of ${TIMEFRAMES.join(', ')}), got ${describe(v)}`)
  return undefined
}

function dateString(r: Reader, obj: Obj, key: string, path: (string | number)[]): string | undefined {
  const v = obj[key]
  if (v === undefined || v === null) return undefined
  const s = v instanceof Date ? v.toISOString().slice(0, 10) : v
  if (typeof s !== 'string' || Number.isNaN(Date.parse(s))) {
    r.c.error([...path, key], `expected an ISO date (YYYY-MM-DD), got ${describe(v)}`)
    return undefined
  }
  return s
}

export function readTrainingData(r: Reader, root: Obj): TrainingData {
  const c = r.c
  const path = ['training_data']
  const td = r.obj(root, 'training_data', [], true) ?? {}
  const out: TrainingData = {
    symbol_mode: 'single',
    symbols: [],
    timeframe_mode: 'single',
    timeframes: [],
    declared_timeframes: [],
    base_timeframe: '1h',
    history_required: 200,
  }

  const symbols = r.obj(td, 'symbols', path, true)
  if (symbols) {
    const mode = r.option(symbols, 'mode', [...path, 'symbols'], SYMBOLS_OPTIONS.mode) as TrainingData['symbol_mode']
    out.symbol_mode = mode
    if (mode === 'single') {
      const s = r.str(symbols, 'symbol', [...path, 'symbols'], { required: true })
      if (s !== undefined) {
        if (isValidSymbol(s)) out.symbols = [s]
        else c.error([...path, 'symbols', 'symbol'], `invalid symbol ${JSON.stringify(s)}: 1-20 characters from A-Z a-z 0-9 _ - .`)
      }
    } else {
      const key = symbols.list !== undefined ? 'list' : 'symbols'
      const list = symbols[key]
      if (!Array.isArray(list) || list.length === 0)
        c.error([...path, 'symbols', key], `multi_symbol mode needs a non-empty list of symbols, got ${describe(list)}`)
      else
        list.forEach((s, i) => {
          if (!isValidSymbol(s)) c.error([...path, 'symbols', key, i], `invalid symbol ${describe(s)}`)
          else if (out.symbols.includes(s)) c.error([...path, 'symbols', key, i], `duplicate symbol ${s}`)
          else out.symbols.push(s)
        })
    }
    if (symbols.selection_criteria !== undefined && !isObj(symbols.selection_criteria))
      c.error([...path, 'symbols', 'selection_criteria'], 'expected a mapping')
    else if (symbols.selection_criteria) out.selection_criteria = symbols.selection_criteria as Obj
  }

  const tfs = r.obj(td, 'timeframes', path, true)
  if (tfs) {
    const tpath = [...path, 'timeframes']
    const mode = r.option(tfs, 'mode', tpath, TIMEFRAMES_OPTIONS.mode) as TrainingData['timeframe_mode']
    out.timeframe_mode = mode
    if (mode === 'single') {
      if (tfs.timeframe === undefined) c.error([...tpath, 'timeframe'], 'is required in single mode (e.g. "1h")')
      else {
        const tf = timeframe(c, tfs.timeframe, [...tpath, 'timeframe'])
        if (tf) out.declared_timeframes = [tf]
      }
    } else {
      const list = tfs.list ?? tfs.timeframes
      if (!Array.isArray(list) || list.length < 2)
        c.error([...tpath, 'list'], `multi_timeframe mode needs a list of at least 2 timeframes, got ${describe(list)}`)
      else
        list.forEach((v, i) => {
          const tf = timeframe(c, v, [...tpath, 'list', i])
          if (!tf) return
          if (out.declared_timeframes.includes(tf)) c.error([...tpath, 'list', i], `duplicate timeframe ${tf}`)
          else out.declared_timeframes.push(tf)
        })
    }
    let base = out.declared_timeframes[0]
    if (tfs.base_timeframe !== undefined) {
      const tf = timeframe(c, tfs.base_timeframe, [...tpath, 'base_timeframe'])
      if (tf && !out.declared_timeframes.includes(tf) && out.declared_timeframes.length)
        c.error([...tpath, 'base_timeframe'], `base_timeframe ${tf} is not in the timeframe list [${out.declared_timeframes.join(', ')}]`)
      else if (tf) base = tf
    } else if (mode === 'multi_timeframe' && base) {
      c.warn([...tpath, 'base_timeframe'], `not set: using the first listed timeframe ${base} as the base`)
    }
    if (base) {
      out.base_timeframe = base
      out.timeframes = [base, ...out.declared_timeframes.filter((t) => t !== base)]
    }
  }

  out.history_required = r.option(td, 'history_required', path, TRAINING_DATA_OPTIONS.history_required)
  const start = dateString(r, td, 'start_date', path)
  const end = dateString(r, td, 'end_date', path)
  if (start) out.start_date = start
  if (end) out.end_date = end
  const dr = r.obj(td, 'date_range', path)
  if (dr) {
    const s = dateString(r, dr, 'start', [...path, 'date_range'])
    const e = dateString(r, dr, 'end', [...path, 'date_range'])
    out.date_range = { ...(s ? { start: s } : {}), ...(e ? { end: e } : {}) }
  }
  return out
}

/** docs/domain.md#context-data: each entry yields source ids that indicators may name in `data_source`. */
export function readContextData(r: Reader, root: Obj): ContextDataEntry[] {
  const c = r.c
  const v = root.context_data
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) {
    c.error(['context_data'], `expected a list of providers, got ${describe(v)}`)
    return []
  }
  const out: ContextDataEntry[] = []
  v.forEach((entry, i) => {
    const path = ['context_data', i]
    if (!isObj(entry)) return c.error(path, `expected a mapping, got ${describe(entry)}`)
    const provider = r.str(entry, 'provider', path, { required: true, values: ['ib', 'fred', 'cftc_cot', 'currencies', 'broker'] })
    if (!provider) return
    const alignment = r.str(entry, 'alignment', path, { fallback: 'forward_fill' }) ?? 'forward_fill'
    const ids: string[] = []
    if (provider === 'ib') {
      const s = r.str(entry, 'symbol', path, { required: true })
      if (s) ids.push(s)
    } else if (provider === 'fred') {
      const series = entry.series
      const list = Array.isArray(series) ? series : series === undefined ? [] : [series]
      if (!list.length || !list.every((s) => typeof s === 'string'))
        c.error([...path, 'series'], 'expected a FRED series id or a list of ids')
      else {
        for (const s of list) ids.push(`fred_${s}`)
        if (list.length === 2) ids.push(`yield_spread_${list[0]}_${list[1]}`)
      }
    } else if (provider === 'cftc_cot') {
      const report = r.str(entry, 'report', path, { required: true })
      if (report) ids.push(`cot_${report}_net_pct`)
    }
    out.push({ ...entry, provider, alignment, source_ids: ids })
  })
  return out
}
