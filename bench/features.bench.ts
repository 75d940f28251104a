// Feature matrix for v3_multi_indicator (RSI 14 + ADX 14 → 6 triangular memberships) over
// 1,000,000 bars, goal ≥ 10 M bars/s. Baselines measured in the same run: the two
// indicator kernels alone, and a hand-fused floor that fuzzifies precomputed indicator arrays
// straight into the row-major Float32Array. Also: CSV parse rate for the market data codec.
// Run alone: `node bin/run-ts.mjs bench/features.bench.ts`.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { BenchSection } from './_types.ts'
import {
  buildFeatureMatrix,
  computeIndicator,
  formatOhlcvCsv,
  generateSyntheticSeries,
  parseOhlcvCsv,
  resolveStrategy,
  type OhlcvSeries,
} from '../trading/index.ts'

const BARS = Number(process.env.KTRDR_BENCH_BARS ?? 1_000_000)
const RUNS = 7
let sink = 0

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

function time(fn: () => void, runs = RUNS): number {
  for (let i = 0; i < 2; i++) fn()
  const out: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    fn()
    out.push(performance.now() - t)
  }
  return median(out)
}

/** Floor: triangular memberships of precomputed arrays into a fresh row-major matrix, no registry, no specs. */
function floorFuzzify(rsi: Float64Array, adx: Float64Array, params: number[][]): Float32Array {
  const n = rsi.length
  const out = new Float32Array(n * 6)
  for (let c = 0; c < 6; c++) {
    const x = c < 3 ? rsi : adx
    const [a, b, cc] = params[c]
    for (let r = 0, o = c; r < n; r++, o += 6) {
      const v = x[r]
      out[o] = v !== v ? NaN : v === b ? 1 : v <= a || v >= cc ? 0 : v < b ? (v - a) / (b - a) : (cc - v) / (cc - b)
    }
  }
  return out
}

export default async function run(): Promise<BenchSection> {
  const started = performance.now()
  const yaml = readFileSync(resolve(import.meta.dirname, '../examples/strategies/v3_multi_indicator.yaml'), 'utf8')
  const strategy = resolveStrategy(yaml)
  const bars: OhlcvSeries = generateSyntheticSeries({ symbol: 'BENCH', timeframe: '1h', bars: BARS, seed: 1 })
  const series = { '1h': bars }
  const params = strategy.features.map((f) => f.membership!.parameters)

  const tBuild = time(() => {
    sink += buildFeatureMatrix(strategy, series).firstValidRow
  })
  let rsi: Float64Array = new Float64Array(0),
    adx: Float64Array = new Float64Array(0)
  const tInd = time(() => {
    rsi = computeIndicator('rsi', { period: 14 }, bars).rsi
    adx = computeIndicator('adx', { period: 14 }, bars).adx
    sink += rsi[100] + adx[100]
  })
  const tFloor = time(() => {
    sink += floorFuzzify(rsi, adx, params)[600]
  })

  const csv = new TextEncoder().encode(formatOhlcvCsv(bars))
  const tParse = time(() => {
    sink += parseOhlcvCsv(csv).series.length
  }, 5)

  const rate = (ms: number) => Math.round(BARS / (ms / 1000))
  const fmt = (n: number) => `${(n / 1e6).toFixed(1)} M/s`
  const rows = [
    {
      case: 'buildFeatureMatrix (v3_multi_indicator, 6 features)',
      ms: +tBuild.toFixed(1),
      'bars/s': fmt(rate(tBuild)),
      'ns/bar': +((tBuild * 1e6) / BARS).toFixed(1),
      'vs floor': +(tBuild / (tInd + tFloor)).toFixed(2),
    },
    {
      case: 'indicators only (computeIndicator rsi + adx)',
      ms: +tInd.toFixed(1),
      'bars/s': fmt(rate(tInd)),
      'ns/bar': +((tInd * 1e6) / BARS).toFixed(1),
      'vs floor': '',
    },
    {
      case: 'floor: hand-fused fuzzify into Float32Array',
      ms: +tFloor.toFixed(1),
      'bars/s': fmt(rate(tFloor)),
      'ns/bar': +((tFloor * 1e6) / BARS).toFixed(1),
      'vs floor': '',
    },
    {
      case: `parseOhlcvCsv (${(csv.length / 1e6).toFixed(0)} MB KTRDR CSV)`,
      ms: +tParse.toFixed(1),
      'bars/s': fmt(rate(tParse)),
      'ns/bar': +((tParse * 1e6) / BARS).toFixed(1),
      'vs floor': '',
    },
  ]
  const goal = rate(tBuild) >= 10_000_000
  return {
    title: 'Feature matrix and market data codec',
    rows,
    notes: [
      `${BARS.toLocaleString('en-US')} synthetic 1h bars, median of ${RUNS} runs after 2 warm-ups. "vs floor" = build time / (indicator kernels + hand-fused fuzzify floor): the cost of the generic path (strategy specs, registry, close-time alignment, firstValidRow scan).`,
      `Goal ≥ 10 M bars/s for the full matrix: ${goal ? 'met' : 'NOT met'} (${fmt(rate(tBuild))}). Whole section ${((performance.now() - started) / 1000).toFixed(1)} s.`,
    ],
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename ?? '')) {
  const section = await run()
  console.table(section.rows)
  for (const n of section.notes ?? []) console.log('-', n)
  if (sink === 42.4242) console.log('')
}
