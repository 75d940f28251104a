import { readFile } from 'node:fs/promises'
import { defineCommand } from 'citty'
import { createKtrdrStorage } from '../../storage/index.ts'
import {
  SYNTHETIC_GENERATOR,
  formatIsoSeconds,
  generateSyntheticSeries,
  importVendorCsv,
  listDatasets,
  loadBars,
  readMeta,
  resampleSeries,
  saveBars,
  sessionFor,
  SESSION_CALENDARS,
  sliceSeries,
  type SessionCalendar,
  type SyntheticPreset,
} from '../../trading/index.ts'

/** Prints the error's message and exits non-zero: bad input is never a stack trace. */
async function guard(fn: () => Promise<void>): Promise<void> {
  try {
    await fn()
  } catch (error) {
    console.error(`error: ${(error as Error).message}`)
    process.exitCode = 1
  }
}

const storageArgs = {
  'data-dir': { type: 'string', description: 'Data directory (default: DATA_DIR / KTRDR_DATA_DIR / ./.ktrdr/data)' },
} as const

async function useDataStorage(dir?: string) {
  return createKtrdrStorage(dir ? { mounts: { data: { driver: 'fs', base: dir } } } : {})
}

/** Stored bars are only ever replaced on purpose: generated or derived data must not overwrite a dataset by accident. */
async function refuseOverwrite(storage: Awaited<ReturnType<typeof useDataStorage>>, symbol: string, timeframe: string, force: boolean) {
  if (force) return
  const [existing] = await listDatasets(storage.data, { symbol, timeframe })
  if (!existing) return
  throw new Error(
    `${existing.key} already holds ${existing.bars} ${existing.synthetic ? 'SYNTHETIC ' : ''}bars (${existing.start} → ${existing.end}): pass --force to replace them; nothing was written`,
  )
}

const list = defineCommand({
  meta: { name: 'list', description: 'Show what is stored: symbol, timeframe, range, bar count (synthetic sets are marked)' },
  args: { ...storageArgs, json: { type: 'boolean', description: 'Print JSON' } },
  run: ({ args }) =>
    guard(async () => {
      const storage = await useDataStorage(args['data-dir'])
      try {
        const sets = await listDatasets(storage.data)
        if (args.json) return void console.log(JSON.stringify(sets, null, 2))
        if (!sets.length) return void console.log('No data stored. Run `ktrdr data import`, `ktrdr data generate` or ib-fetch.')
        console.log(['symbol', 'tf', 'start', 'end', 'bars', 'source'].join('\t'))
        for (const s of sets)
          console.log(
            [
              s.symbol,
              s.timeframe,
              s.start,
              s.end,
              s.bars,
              s.synthetic ? `SYNTHETIC (${s.meta?.preset ?? '?'}, seed ${s.meta?.seed ?? '?'})` : 'market',
            ].join('\t'),
          )
      } finally {
        await storage.dispose()
      }
    }),
})

const show = defineCommand({
  meta: { name: 'show', description: 'Print bars of SYMBOL TIMEFRAME' },
  args: {
    symbol: { type: 'positional', required: true, description: 'e.g. EURUSD' },
    timeframe: { type: 'positional', required: true, description: '1m 5m 15m 30m 1h 4h 1d 1w' },
    start: { type: 'string', description: 'Inclusive start (YYYY-MM-DD or ISO)' },
    end: { type: 'string', description: 'Inclusive end' },
    limit: { type: 'string', description: 'Show the last N bars (default 20)' },
    json: { type: 'boolean', description: 'Print JSON' },
    ...storageArgs,
  },
  run: ({ args }) =>
    guard(async () => {
      const storage = await useDataStorage(args['data-dir'])
      try {
        const limit = args.limit === undefined ? 20 : Number(args.limit)
        if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a positive integer, got ${args.limit}`)
        const full = await loadBars(storage.data, { symbol: args.symbol, timeframe: args.timeframe, start: args.start, end: args.end })
        const s = full.length > limit ? sliceSeries(full, full.length - limit, full.length) : full
        const tag = full.synthetic ? ' — SYNTHETIC data (generated, not market prices)' : ''
        if (args.json) {
          const rows = Array.from({ length: s.length }, (_, i) => ({
            time: formatIsoSeconds(s.time[i]),
            open: s.open[i],
            high: s.high[i],
            low: s.low[i],
            close: s.close[i],
            volume: s.volume[i],
          }))
          return void console.log(
            JSON.stringify(
              { symbol: args.symbol, timeframe: args.timeframe, synthetic: Boolean(full.synthetic), bars: full.length, rows },
              null,
              2,
            ),
          )
        }
        console.log(
          `${args.symbol} ${args.timeframe}: ${full.length} bars ${formatIsoSeconds(full.time[0])} → ${formatIsoSeconds(full.time[full.length - 1])}${tag}`,
        )
        console.log(['time', 'open', 'high', 'low', 'close', 'volume'].join('\t'))
        for (let i = 0; i < s.length; i++)
          console.log([formatIsoSeconds(s.time[i]), s.open[i], s.high[i], s.low[i], s.close[i], s.volume[i]].join('\t'))
      } finally {
        await storage.dispose()
      }
    }),
})

const importCmd = defineCommand({
  meta: { name: 'import', description: 'Import a vendor CSV (KTRDR, Yahoo, MetaTrader, Dukascopy, epoch) as <SYMBOL>_<tf>.csv' },
  args: {
    file: { type: 'positional', required: true, description: 'CSV file to read' },
    symbol: { type: 'string', required: true, description: 'Symbol to store it under' },
    timeframe: { type: 'string', required: true, description: '1m 5m 15m 30m 1h 4h 1d 1w' },
    merge: { type: 'boolean', description: 'Merge into what is stored (new rows win) instead of replacing it' },
    ...storageArgs,
  },
  run: ({ args }) =>
    guard(async () => {
      const text = await readFile(args.file, 'utf8')
      const result = importVendorCsv(text, { symbol: args.symbol, timeframe: args.timeframe })
      const bad = result.issues.filter((i) => /^(high|low) /.test(i.message))
      for (const issue of result.issues) console.error(`${args.file}:${issue.line}: ${issue.message}`)
      if (bad.length)
        throw new Error(`${bad.length} rows break high ≥ max(open, close) / low ≤ min(open, close): fix the file; nothing was written`)
      if (!result.series.length) throw new Error('no readable rows: nothing was written')
      const storage = await useDataStorage(args['data-dir'])
      try {
        const saved = await saveBars(storage.data, result.series, { merge: args.merge, meta: { source: `import:${result.layout}` } })
        console.log(
          `Imported ${result.series.length} bars (${result.layout} layout${result.duplicatesDropped ? `, ${result.duplicatesDropped} duplicates dropped` : ''}${result.issues.length ? `, ${result.issues.length} unreadable rows skipped` : ''}) → ${saved.key} (${saved.bars} bars stored)`,
        )
      } finally {
        await storage.dispose()
      }
    }),
})

const generate = defineCommand({
  meta: { name: 'generate', description: 'Write a seeded SYNTHETIC market (regimes, volatility clustering) for demos and tests' },
  args: {
    symbol: { type: 'string', required: true, description: 'Symbol to store it under' },
    timeframe: { type: 'string', required: true, description: '1m 5m 15m 30m 1h 4h 1d 1w' },
    bars: { type: 'string', description: 'Number of bars (default 5000 unless --end is given)' },
    start: { type: 'string', description: 'First bar on/after (default 2020-01-01)' },
    end: { type: 'string', description: 'Last bar on/before' },
    preset: { type: 'string', description: 'forex (default) or equity' },
    structure: { type: 'string', description: 'Planted structure: none (default) or trend_regimes (see docs/decisions.md)' },
    seed: { type: 'string', description: 'PRNG seed (default 42)' },
    force: { type: 'boolean', description: 'Replace a dataset already stored under SYMBOL TIMEFRAME' },
    ...storageArgs,
  },
  run: ({ args }) =>
    guard(async () => {
      const preset = (args.preset ?? 'forex') as SyntheticPreset
      const seed = args.seed === undefined ? 42 : Number(args.seed)
      if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${args.seed}`)
      const bars = args.bars === undefined ? undefined : Number(args.bars)
      const structure = (args.structure ?? 'none') as 'none' | 'trend_regimes'
      const series = generateSyntheticSeries({
        symbol: args.symbol,
        timeframe: args.timeframe,
        preset,
        seed,
        bars,
        start: args.start,
        end: args.end,
        structure,
      })
      const storage = await useDataStorage(args['data-dir'])
      try {
        await refuseOverwrite(storage, args.symbol, args.timeframe, !!args.force)
        const saved = await saveBars(storage.data, series, {
          meta: { synthetic: true, generator: SYNTHETIC_GENERATOR, seed, preset, structure },
        })
        const meta = await readMeta(storage.data, args.symbol, args.timeframe)
        console.log(
          `Generated SYNTHETIC ${preset} data: ${saved.bars} bars ${formatIsoSeconds(series.time[0])} → ${formatIsoSeconds(series.time[series.length - 1])} → ${saved.key} (seed ${meta?.seed}; not market prices)`,
        )
      } finally {
        await storage.dispose()
      }
    }),
})

const resample = defineCommand({
  meta: {
    name: 'resample',
    description: 'Derive coarser bars (4h, 1d, 1w…) from stored finer ones, so every timeframe of a strategy comes from one market',
  },
  args: {
    symbol: { type: 'positional', required: true, description: 'Symbol' },
    from: { type: 'string', required: true, description: 'Stored timeframe to read (e.g. 1h)' },
    to: { type: 'string', required: true, description: 'Timeframe(s) to write, comma-separated (e.g. 4h,1d,1w)' },
    session: {
      type: 'string',
      description: `Bucket clock: ${SESSION_CALENDARS.join(', ')} (default: from the dataset's metadata, equities us_equity, forex fx, else utc)`,
    },
    force: { type: 'boolean', description: 'Replace datasets already stored under the target timeframes' },
    ...storageArgs,
  },
  run: ({ args }) =>
    guard(async () => {
      const targets = String(args.to)
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
      if (!targets.length) throw new Error('--to needs at least one timeframe, e.g. --to 4h,1d')
      if (args.session !== undefined && !SESSION_CALENDARS.includes(args.session as SessionCalendar))
        throw new Error(`--session must be one of ${SESSION_CALENDARS.join(', ')} (got ${args.session})`)
      const storage = await useDataStorage(args['data-dir'])
      try {
        const source = await loadBars(storage.data, { symbol: args.symbol, timeframe: args.from })
        const meta = await readMeta(storage.data, args.symbol, args.from)
        const session = (args.session as SessionCalendar | undefined) ?? sessionFor(meta)
        // Every target is checked before anything is written: one refusal leaves all of them as they were.
        const derived = targets.map((tf) => resampleSeries(source, tf, session))
        for (const tf of targets) await refuseOverwrite(storage, args.symbol, tf, !!args.force)
        for (const series of derived) {
          const saved = await saveBars(storage.data, series, {
            meta: { ...meta, source: `resample:${args.from}`, resampled_from: args.from, session, updated_at: new Date().toISOString() },
          })
          console.log(
            `${args.symbol} ${args.from} → ${series.timeframe}: ${source.length} bars → ${saved.bars} (${session} sessions${meta?.synthetic ? ', SYNTHETIC' : ''}) → ${saved.key}`,
          )
        }
      } finally {
        await storage.dispose()
      }
    }),
})

export default defineCommand({
  meta: { name: 'data', description: 'Market data cache: list, show, import, generate, resample' },
  subCommands: { list, show, import: importCmd, generate, resample },
})
