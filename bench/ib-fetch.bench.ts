// ib-fetch: (1) a full backfill against the TWS API simulator with pacing on a virtual clock —
// requests and simulated time against the minimum IB's limits allow; (2) merging fetched rows
// into an existing 1,000,000-row file, against a naive parse-to-objects merge in the same run.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { BenchSection } from './_types.ts'
import { createKtrdrStorage, resolveLocalPath } from '../storage/index.ts'
import { createSeries, formatOhlcvCsv } from '../trading/index.ts'
import { createVirtualClock } from '../functions/ib-fetch/src/clock.ts'
import { runIbFetch } from '../functions/ib-fetch/src/fetch.ts'
import { connectIb } from '../functions/ib-fetch/src/ib-client.ts'
import { createPacingGate, DEFAULT_PACING } from '../functions/ib-fetch/src/pacing.ts'
import { saveFetched } from '../functions/ib-fetch/src/store.ts'
import { MAX_SPAN_MS } from '../functions/ib-fetch/src/timeframes.ts'
import { createTwsSimulator } from '../functions/ib-fetch/test/tws-sim/server.ts'

const NOW = Date.UTC(2026, 10, 27, 12)
const DAY = 86_400_000

/**
 * Least time N paced requests can take: each goes as early as the rules allow (≥2 s after the
 * previous one, and not before the one 60 earlier has left the rolling 10-minute window);
 * greedy is optimal for these two rules.
 */
function minimumElapsedMs(n: number): number {
  const { minIntervalMs, maxPerWindow, windowMs } = DEFAULT_PACING
  const t: number[] = []
  for (let k = 0; k < n; k++)
    t.push(k === 0 ? 0 : Math.max(t[k - 1] + minIntervalMs, k >= maxPerWindow ? t[k - maxPerWindow] + windowMs : 0))
  return n ? t[n - 1] : 0
}

async function backfill(timeframe: '1h' | '5m', years: number) {
  const clock = createVirtualClock(NOW)
  const head = NOW - years * 365 * DAY
  const sim = await createTwsSimulator({ clock, series: { EUR: { seed: 5, head, type: 'CASH' } } })
  const dir = await mkdtemp(join(tmpdir(), 'ktrdr-bench-ib-'))
  const storage = await createKtrdrStorage({ root: dir })
  try {
    const wall = performance.now()
    const result = await runIbFetch(
      { symbol: 'EURUSD', timeframe, mode: 'full' },
      {
        storage: storage.data,
        clock,
        pacing: createPacingGate({ path: join(dir, 'pacing.json'), clock }),
        connect: (signal) =>
          connectIb({ host: '127.0.0.1', port: sim.port, clientIds: [111], connectTimeoutMs: 5000, requestTimeoutMs: 30_000 }, signal),
        signal: new AbortController().signal,
        progress: () => {},
        saveIntervalMs: 30_000,
        saveEverySegments: 10,
        maxSegmentAttempts: 3,
        connectivityTimeoutMs: 5000,
      },
    )
    const wallMs = performance.now() - wall
    const historical = sim.requests.length
    const minHistorical = Math.ceil((NOW - head) / MAX_SPAN_MS[timeframe])
    const total = historical + sim.headRequests.length
    const simulatedMs = clock.now() - NOW
    return {
      case: `${timeframe} bars, ${years} years, full`,
      historical_requests: historical,
      min_historical_requests: minHistorical,
      'requests / min': historical / minHistorical,
      pacing_violations: sim.requests.filter((r) => r.violations.length).length,
      simulated_min: simulatedMs / 60_000,
      min_simulated_min: minimumElapsedMs(total) / 60_000,
      'time / min': simulatedMs / Math.max(1, minimumElapsedMs(total)),
      rows: result.rows_downloaded,
      wall_s: wallMs / 1000,
    }
  } finally {
    await sim.close()
    await storage.dispose()
    await rm(dir, { recursive: true, force: true })
  }
}

function makeSeries(n: number, start: number, step: number, shift = 0) {
  const s = createSeries('EURUSD', '1m', n)
  for (let i = 0; i < n; i++) {
    // Five decimals, like IB's forex quotes.
    const p = Math.round((1.1 + 0.01 * Math.sin((i + shift) / 500)) * 1e5) / 1e5
    s.time[i] = start + i * step
    s.open[i] = p
    s.close[i] = Math.round((p + 0.0001) * 1e5) / 1e5
    s.high[i] = Math.round((p + 0.0003) * 1e5) / 1e5
    s.low[i] = Math.round((p - 0.0002) * 1e5) / 1e5
    s.volume[i] = 100 + (i % 50)
  }
  return s
}

/** What a straightforward port would do: rows as objects keyed by timestamp string, Map merge, sort, stringify. */
async function naiveMerge(path: string, fresh: ReturnType<typeof makeSeries>) {
  const text = await readFile(path, 'utf8')
  const lines = text.split('\n')
  const header = lines[0]
  const rows = new Map<number, { t: string; o: number; h: number; l: number; c: number; v: number }>()
  for (let i = 1; i < lines.length; i++) {
    if (!lines[i]) continue
    const [t, o, h, l, c, v] = lines[i].split(',')
    rows.set(Date.parse(t), { t, o: Number(o), h: Number(h), l: Number(l), c: Number(c), v: Number(v) })
  }
  for (let i = 0; i < fresh.length; i++) {
    const t = new Date(fresh.time[i]).toISOString().replace('.000Z', 'Z')
    rows.set(fresh.time[i], { t, o: fresh.open[i], h: fresh.high[i], l: fresh.low[i], c: fresh.close[i], v: fresh.volume[i] })
  }
  const sorted = [...rows.entries()].sort((a, b) => a[0] - b[0])
  const out = [header, ...sorted.map(([, r]) => `${r.t},${r.o},${r.h},${r.l},${r.c},${r.v}`)].join('\n') + '\n'
  await writeFile(`${path}.naive`, out)
  return sorted.length
}

async function mergeThroughput() {
  const dir = await mkdtemp(join(tmpdir(), 'ktrdr-bench-merge-'))
  const storage = await createKtrdrStorage({ root: dir })
  try {
    const start = Date.UTC(2024, 0, 1)
    const existing = makeSeries(1_000_000, start, 60_000)
    const csv = formatOhlcvCsv(existing)
    await storage.data.setItemRaw('EURUSD_1m.csv', new TextEncoder().encode(csv))
    const path = resolveLocalPath(storage.options, 'data', 'EURUSD_1m.csv')!
    // Ten 1-minute segments of fresh bars: half overlap the file's last rows, half extend it.
    const fresh = makeSeries(14_400, start + (1_000_000 - 7200) * 60_000, 60_000, 7)
    const runs = 3
    let ours = Infinity
    let naive = Infinity
    let rowsOut = 0
    for (let r = 0; r < runs; r++) {
      await storage.data.setItemRaw('EURUSD_1m.csv', new TextEncoder().encode(csv))
      let t = performance.now()
      rowsOut = await saveFetched(storage.data, fresh, { replace: false })
      ours = Math.min(ours, performance.now() - t)
      t = performance.now()
      const naiveRows = await naiveMerge(path, fresh)
      naive = Math.min(naive, performance.now() - t)
      if (naiveRows !== rowsOut) throw new Error(`merge disagreement: ${rowsOut} vs ${naiveRows} rows`)
    }
    const rows = 1_000_000 + fresh.length
    return [
      {
        method: 'ib-fetch save (columnar parse + two-pointer merge + atomic write)',
        existing_rows: 1_000_000,
        new_rows: fresh.length,
        rows_out: rowsOut,
        ms: ours,
        'rows/s': Math.round(rows / (ours / 1000)),
        'speed-up vs naive': naive / ours,
      },
      {
        method: 'naive baseline (row objects in a Map, sort, join)',
        existing_rows: 1_000_000,
        new_rows: fresh.length,
        rows_out: rowsOut,
        ms: naive,
        'rows/s': Math.round(rows / (naive / 1000)),
        'speed-up vs naive': 1,
      },
    ]
  } finally {
    await storage.dispose()
    await rm(dir, { recursive: true, force: true })
  }
}

export default async function run(): Promise<BenchSection[]> {
  const rows = [await backfill('1h', 2), await backfill('5m', 2)]
  const merge = await mergeThroughput()
  return [
    {
      title: 'ib-fetch: full backfill against the TWS API simulator (pacing on a virtual clock)',
      rows,
      notes: [
        'min_historical_requests = range / IB max span per request (docs/domain.md#ib-pacing: 30 days for 1 hour, 7 days for 5 mins); ib-fetch also sends one head-timestamp request, counted in the time minimum.',
        "min_simulated_min = the least time IB's limits allow for that many requests (each as early as ≥2 s spacing and ≤60 per rolling 10 min permit).",
        "The simulator judges every request against IB's rules (60 per 10 min, 6 per 2 s per contract, identical within 15 s); pacing_violations counts the ones it would have rejected.",
        'wall_s is real time: the simulator and client exchange real TWS API messages over loopback TCP; only waiting is simulated.',
      ],
    },
    {
      title: 'ib-fetch: merge into an existing 1,000,000-row file',
      rows: merge,
      notes: [
        'Best of 3. Both paths read the CSV from disk, merge (new rows win) and write the whole file; rows/s counts existing + new rows.',
      ],
    },
  ]
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await run(), null, 2))
}
