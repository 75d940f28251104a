import { readFile } from 'node:fs/promises'
import { defineCommand } from 'citty'
import { guard, UsageError, useGatewayApi } from '../../runtime/cli/index.ts'
import { createKtrdrStorage } from '../../storage/index.ts'
import {
  formatIsoSeconds,
  importCsvToStore,
  isKtrdrError,
  listDatasets,
  loadBars,
  readMeta,
  refuseOverwrite,
  resampleSeries,
  saveBars,
  sessionFor,
  SESSION_CALENDARS,
  sliceSeries,
  storeSyntheticSeries,
  type DataIssue,
  type DatasetInfo,
  type SessionCalendar,
  type StoredImport,
  type StoredSynthetic,
  type SyntheticPreset,
} from '../../trading/index.ts'

const storageArgs = {
  'data-dir': { type: 'string', description: 'Data directory (default: DATA_DIR / KTRDR_DATA_DIR / ./.ktrdr/data)' },
  url: {
    type: 'string',
    description: "A gateway's URL: use that cluster's data through its API (with KTRDR_API_TOKEN) instead of a local directory",
  },
} as const

type Gateway = ReturnType<typeof useGatewayApi>

/** The gateway client when --url is given: the data then travels over the API, not through a local folder. */
function remote(url: string | undefined): Gateway | null {
  if (url !== undefined && !url) throw new UsageError('--url needs a gateway URL, e.g. http://192.168.1.100:8000')
  return url ? useGatewayApi(url) : null
}

const dataPath = (symbol: string, timeframe: string) => `/api/v1/data/${encodeURIComponent(symbol)}/${encodeURIComponent(timeframe)}`

async function useDataStorage(dir?: string) {
  return createKtrdrStorage(dir ? { mounts: { data: { driver: 'fs', base: dir } } } : {})
}

/**
 * The gateway's dataset entries, every page of the list envelope, shaped like listDatasets' (the
 * synthetic markers back in `meta`).
 */
async function remoteDatasets(api: Gateway, query: { symbol?: string; timeframe?: string } = {}): Promise<DatasetInfo[]> {
  type Entry = DatasetInfo & { generator?: string; seed?: number; preset?: string }
  const all: Entry[] = []
  for (;;) {
    const page = await api<{ data: Entry[]; total_count: number }>('/api/v1/data', {
      query: { ...query, limit: 10_000, offset: all.length },
    })
    all.push(...page.data)
    if (!page.data.length || all.length >= page.total_count) break
  }
  return all.map(({ generator, seed, preset, ...d }) => (d.synthetic ? { ...d, meta: { synthetic: true, generator, seed, preset } } : d))
}

const list = defineCommand({
  meta: { name: 'list', description: 'Show what is stored: symbol, timeframe, range, bar count (synthetic sets are marked)' },
  args: { ...storageArgs, json: { type: 'boolean', description: 'Print JSON' } },
  run: ({ args }) =>
    guard(async () => {
      const api = remote(args.url)
      let sets: DatasetInfo[]
      if (api) sets = await remoteDatasets(api)
      else {
        const storage = await useDataStorage(args['data-dir'])
        try {
          sets = await listDatasets(storage.data)
        } finally {
          await storage.dispose()
        }
      }
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
    }),
})

interface Shown {
  bars: number
  start: string | null
  end: string | null
  synthetic: boolean
  rows: Array<{ time: string; open: number; high: number; low: number; close: number; volume: number }>
}

/** The last `limit` bars of [start, end] from the gateway; `bars` counts the whole window. */
async function remoteBars(api: Gateway, q: { symbol: string; timeframe: string; start?: string; end?: string; limit: number }) {
  type Answer = { data: { dates: string[]; ohlcv: number[][]; metadata: { points: number; synthetic: boolean; start: string | null } } }
  const query = { start_date: q.start, end_date: q.end }
  // The window's size and first bar from one unlimited-range count, its last rows from a limited read.
  const [window, tail] = await Promise.all([
    q.start || q.end ? api<Answer>(dataPath(q.symbol, q.timeframe), { query }) : null,
    api<Answer>(dataPath(q.symbol, q.timeframe), { query: { ...query, limit: q.limit } }),
  ])
  const whole = window ? null : (await remoteDatasets(api, { symbol: q.symbol, timeframe: q.timeframe }))[0]
  const d = tail.data
  return {
    bars: window ? window.data.metadata.points : (whole?.bars ?? d.dates.length),
    start: window ? window.data.metadata.start : (whole?.start ?? null),
    end: d.dates.at(-1) ?? null,
    synthetic: d.metadata.synthetic,
    rows: d.dates.map((time, i) => {
      const [open, high, low, close, volume] = d.ohlcv[i]
      return { time, open, high, low, close, volume }
    }),
  } satisfies Shown
}

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
      const limit = args.limit === undefined ? 20 : Number(args.limit)
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer, got ${args.limit}`)
      const api = remote(args.url)
      let shown: Shown
      if (api) shown = await remoteBars(api, { symbol: args.symbol, timeframe: args.timeframe, start: args.start, end: args.end, limit })
      else {
        const storage = await useDataStorage(args['data-dir'])
        try {
          const full = await loadBars(storage.data, { symbol: args.symbol, timeframe: args.timeframe, start: args.start, end: args.end })
          const s = full.length > limit ? sliceSeries(full, full.length - limit, full.length) : full
          shown = {
            bars: full.length,
            start: full.length ? formatIsoSeconds(full.time[0]) : null,
            end: full.length ? formatIsoSeconds(full.time[full.length - 1]) : null,
            synthetic: Boolean(full.synthetic),
            rows: Array.from({ length: s.length }, (_, i) => ({
              time: formatIsoSeconds(s.time[i]),
              open: s.open[i],
              high: s.high[i],
              low: s.low[i],
              close: s.close[i],
              volume: s.volume[i],
            })),
          }
        } finally {
          await storage.dispose()
        }
      }
      if (args.json)
        return void console.log(
          JSON.stringify(
            { symbol: args.symbol, timeframe: args.timeframe, synthetic: shown.synthetic, bars: shown.bars, rows: shown.rows },
            null,
            2,
          ),
        )
      const tag = shown.synthetic ? ' — SYNTHETIC data (generated, not market prices)' : ''
      console.log(`${args.symbol} ${args.timeframe}: ${shown.bars} bars ${shown.start} → ${shown.end}${tag}`)
      console.log(['time', 'open', 'high', 'low', 'close', 'volume'].join('\t'))
      for (const r of shown.rows) console.log([r.time, r.open, r.high, r.low, r.close, r.volume].join('\t'))
    }),
})

const importCmd = defineCommand({
  meta: {
    name: 'import',
    description: 'Import a vendor CSV (KTRDR, Yahoo, MetaTrader, Dukascopy, epoch) as <SYMBOL>_<tf>.csv, locally or into a cluster (--url)',
  },
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
      const lines = (issues: DataIssue[]) => {
        for (const issue of issues) console.error(`${args.file}:${issue.line}: ${issue.message}`)
      }
      const api = remote(args.url)
      let stored: StoredImport
      if (api) {
        // PUT /api/v1/data/:symbol/:timeframe validates and stores exactly as below (importCsvToStore).
        const res = await api<{ data: StoredImport }>(dataPath(args.symbol, args.timeframe), {
          method: 'PUT',
          body: text,
          headers: { 'content-type': 'text/csv' },
          query: { merge: args.merge ? 'true' : undefined },
        })
        stored = res.data
      } else {
        const storage = await useDataStorage(args['data-dir'])
        try {
          stored = await importCsvToStore(storage.data, text, { symbol: args.symbol, timeframe: args.timeframe, merge: args.merge })
        } catch (error) {
          const issues = isKtrdrError(error) ? (error.details as { issues?: DataIssue[] } | undefined)?.issues : undefined
          if (issues) lines(issues)
          throw error
        } finally {
          await storage.dispose()
        }
      }
      lines(stored.skipped)
      console.log(
        `Imported ${stored.imported} bars (${stored.layout} layout${stored.duplicatesDropped ? `, ${stored.duplicatesDropped} duplicates dropped` : ''}${stored.skipped.length ? `, ${stored.skipped.length} unreadable rows skipped` : ''}) → ${stored.key} (${stored.stored} bars stored${api ? ` at ${api.base}` : ''})`,
      )
    }),
})

const generate = defineCommand({
  meta: {
    name: 'generate',
    description: 'Write a seeded SYNTHETIC market (regimes, volatility clustering) for demos and tests, locally or into a cluster (--url)',
  },
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
      if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got ${args.seed}`)
      const bars = args.bars === undefined ? undefined : Number(args.bars)
      const structure = (args.structure ?? 'none') as 'none' | 'trend_regimes'
      const request = { bars, start: args.start, end: args.end, preset, structure, seed }
      const force = Boolean(args.force)
      const api = remote(args.url)
      let stored: StoredSynthetic
      if (api) {
        // Generated and marked synthetic on the gateway: the same seed gives the same bars there.
        stored = (
          await api<{ data: StoredSynthetic }>(`${dataPath(args.symbol, args.timeframe)}/generate`, {
            method: 'POST',
            body: { ...request, force: force || undefined },
          })
        ).data
      } else {
        const storage = await useDataStorage(args['data-dir'])
        try {
          stored = await storeSyntheticSeries(storage.data, { symbol: args.symbol, timeframe: args.timeframe, ...request }, { force })
        } finally {
          await storage.dispose()
        }
      }
      console.log(
        `Generated SYNTHETIC ${preset} data: ${stored.bars} bars ${stored.start} → ${stored.end} → ${stored.key} (seed ${stored.meta.seed}; not market prices${api ? `; at ${api.base}` : ''})`,
      )
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
      if (args.url !== undefined)
        throw new UsageError('resample reads and writes a local data directory (--data-dir); it has no --url form')
      const targets = String(args.to)
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
      if (!targets.length) throw new UsageError('--to needs at least one timeframe, e.g. --to 4h,1d')
      if (args.session !== undefined && !SESSION_CALENDARS.includes(args.session as SessionCalendar))
        throw new UsageError(`--session must be one of ${SESSION_CALENDARS.join(', ')} (got ${args.session})`)
      const storage = await useDataStorage(args['data-dir'])
      try {
        const source = await loadBars(storage.data, { symbol: args.symbol, timeframe: args.from })
        const meta = await readMeta(storage.data, args.symbol, args.from)
        const session = (args.session as SessionCalendar | undefined) ?? sessionFor(meta)
        // Every target is checked before anything is written: one refusal leaves all of them as they were.
        const derived = targets.map((tf) => resampleSeries(source, tf, session))
        for (const tf of targets) await refuseOverwrite(storage.data, args.symbol, tf, !!args.force)
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
  meta: { name: 'data', description: 'Market data cache: list, show, import, generate, resample (local, or a cluster with --url)' },
  subCommands: { list, show, import: importCmd, generate, resample },
})
