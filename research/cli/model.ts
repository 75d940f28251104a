// `ktrdr model list|show|compare|promote`: trained models through the gateway's models routes.
import { defineCommand } from 'citty'
import { apiArgs, guard, table, useGatewayApi } from '../../runtime/cli/index.ts'
import type { VersionSummary } from '../api/_models.ts'
import type { ModelComparison } from '../api/model-compare.ts'
import { compareGrid, formatCell } from './_format.ts'

type Json = Record<string, any>
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {})
const pct = (v: unknown) => (typeof v === 'number' ? formatCell(v, 'fraction') : '-')
const plain = (v: unknown) => (typeof v === 'number' ? formatCell(v, 'number') : '-')

const symbolArg = {
  symbol: {
    type: 'string',
    description: 'For a …_latest or @tag reference: the symbol(s) the model must have been trained on, comma-separated',
  },
} as const

/** `strategy/1h_v3`, `strategy/1h_latest`, `strategy@production`, `strategy/1h@production` → the route's two parts. */
function splitRef(ref: string, version?: string): { strategy: string; version: string } {
  if (version) return { strategy: ref, version }
  const at = ref.indexOf('@')
  const slash = ref.indexOf('/')
  if (at > 0 && (slash < 0 || slash > at)) return { strategy: ref.slice(0, at), version: ref.slice(at) }
  if (slash > 0 && slash < ref.length - 1) return { strategy: ref.slice(0, slash), version: ref.slice(slash + 1) }
  throw new Error(`"${ref}" does not name a model: use <strategy>/<timeframe>_v<N>, <strategy>/<timeframe>_latest or <strategy>@<tag>`)
}

const modelPath = (r: { strategy: string; version: string }) =>
  `/api/v1/models/${encodeURIComponent(r.strategy)}/${encodeURIComponent(r.version)}`

/** The test figure beside what it must beat: accuracy vs always-the-majority, MAE vs always-zero. */
function testCells(v: Pick<VersionSummary, 'test_accuracy' | 'majority_baseline' | 'mae' | 'zero_return_mae'>) {
  if (v.mae !== null) return { test: `MAE ${plain(v.mae)}`, baseline: `always zero ${plain(v.zero_return_mae)}` }
  if (v.test_accuracy !== null)
    return {
      test: `accuracy ${pct(v.test_accuracy)}`,
      baseline: v.majority_baseline === null ? '-' : `majority ${pct(v.majority_baseline)}`,
    }
  return { test: '-', baseline: '-' }
}

const tagsText = (v: { latest: boolean; tags: string[] }) => [...(v.latest ? ['latest'] : []), ...v.tags].join(', ')

const list = defineCommand({
  meta: { name: 'list', description: 'Trained models: strategy, timeframe, symbols, version, tags, test metrics beside baselines' },
  args: {
    strategy: { type: 'positional', required: false, description: "Only this strategy's models" },
    ...apiArgs,
  },
  run: ({ args }) =>
    guard(async () => {
      const page = await useGatewayApi(args.url)<{ data: Array<{ strategy: string; versions: VersionSummary[] }> }>('/api/v1/models', {
        query: args.strategy ? { strategy: args.strategy } : {},
      })
      if (args.json) return void console.log(JSON.stringify(page, null, 2))
      const rows = page.data.flatMap((s) =>
        s.versions
          .filter((v) => v.complete)
          .map((v) => ({
            strategy: s.strategy,
            tf: v.timeframe,
            symbols: v.symbols.join(',') || '-',
            version: v.version,
            tags: tagsText(v),
            data: v.synthetic === null ? '-' : v.synthetic ? 'SYNTHETIC' : 'market',
            trained: v.created_at?.slice(0, 19).replace('T', ' ') ?? '-',
            ...testCells(v),
          })),
      )
      if (!rows.length)
        return void console.log(
          args.strategy ? `No trained model of ${args.strategy}.` : 'No trained model yet: run train (ktrdr invoke train …).',
        )
      console.log(table(rows, ['strategy', 'tf', 'symbols', 'version', 'tags', 'data', 'trained', 'test', 'baseline']))
    }),
})

function showText(d: Json): string {
  const meta = obj(d.metadata)
  const data = obj(meta.data)
  const m = obj(d.metrics)
  const t = obj(m.test_metrics)
  const tags = tagsText({ latest: !!d.latest, tags: d.tags ?? [] })
  const lines = [`${d.key}${tags ? `  (${tags})` : ''}${d.complete ? '' : '  INCOMPLETE: its training did not finish saving'}`]
  const row = (label: string, value: string | null | undefined) => value && lines.push(`  ${label.padEnd(12)}${value}`)
  row('symbols', `${(d.symbols as string[]).join(', ') || '-'}${data.synthetic ? ' (SYNTHETIC data)' : ''}`)
  row('timeframes', meta.training_timeframes ? `${meta.training_timeframes.join(', ')} (base ${meta.base_timeframe})` : null)
  row('trained', meta.created_at ? `${meta.created_at}${meta.operation_id ? ` by ${meta.operation_id}` : ''}` : null)
  row('network', meta.model_type ? `${meta.model_type}, ${meta.resolved_features?.length ?? '?'} features, ${meta.output_type}` : null)
  const s = obj(data.samples)
  row(
    'data',
    data.start_date || s.train
      ? `${data.start_date ?? '?'} → ${data.end_date ?? '?'}; samples train ${s.train ?? '?'} / validation ${s.validation ?? '?'} / test ${s.test ?? '?'}`
      : null,
  )
  if (typeof t.mae === 'number') {
    const zero = obj(obj(t.baselines).zero_return)
    row(
      'test',
      `MAE ${plain(t.mae)} vs always zero ${plain(zero.mae)}; directional accuracy ${pct(t.directional_accuracy)} vs ${pct(zero.directional_accuracy)}`,
    )
  } else if (typeof t.test_accuracy === 'number') {
    const base = obj(t.baseline)
    row(
      'test',
      [
        `accuracy ${pct(t.test_accuracy)} vs majority (${t.majority_class ?? '?'}) ${pct(t.majority_baseline)}`,
        typeof t.balanced_accuracy === 'number' && `balanced accuracy ${pct(t.balanced_accuracy)} vs ${pct(base.balanced_accuracy)}`,
        typeof t.macro_f1 === 'number' && `macro F1 ${plain(t.macro_f1)} vs ${plain(base.macro_f1)}`,
      ]
        .filter(Boolean)
        .join('; '),
    )
  }
  const last = obj(m.final_epoch)
  if (m.epochs)
    row(
      'training',
      `${m.epochs} epoch${m.epochs === 1 ? '' : 's'} (best ${m.best_epoch ?? '?'}${m.early_stopped ? ', stopped early' : ''}); validation accuracy ${pct(last.val_accuracy)} vs majority ${pct(m.val_majority_baseline)}`,
    )
  row(
    'seed',
    meta.seed !== undefined ? `${meta.seed}, backend ${meta.backend ?? '?'}, path ${obj(meta.training).training_path ?? '?'}` : null,
  )
  for (const w of (m.warnings ?? []) as Json[]) row('warning', typeof w === 'string' ? w : String(w.message ?? JSON.stringify(w)))
  row('files', (d.files as Json[]).map((f) => `${f.name} ${formatCell(f.size / 1024, 'ratio')} KiB`).join(', '))
  return lines.join('\n')
}

const show = defineCommand({
  meta: { name: 'show', description: "One model's metadata and test metrics beside their baselines" },
  args: {
    model: {
      type: 'positional',
      required: true,
      description: 'strategy/1h_v3, strategy/1h_latest, strategy@production (or: strategy version)',
    },
    version: { type: 'positional', required: false, description: 'The version, when the first argument is only the strategy' },
    ...symbolArg,
    ...apiArgs,
  },
  run: ({ args }) =>
    guard(async () => {
      const r = await useGatewayApi(args.url)<{ data: Json }>(modelPath(splitRef(args.model, args.version)), {
        query: args.symbol ? { symbol: args.symbol } : {},
      })
      console.log(args.json ? JSON.stringify(r, null, 2) : showText(r.data))
    }),
})

const compare = defineCommand({
  meta: { name: 'compare', description: '2–6 models side by side: test metrics beside their baselines, the best of each row marked' },
  args: {
    models: { type: 'positional', required: true, description: 'strategy/1h_v3, strategy@production, …' },
    ...symbolArg,
    ...apiArgs,
  },
  run: ({ args }) =>
    guard(async () => {
      const refs = (args._ as string[]).length ? (args._ as string[]) : [String(args.models)]
      for (const ref of refs) splitRef(ref)
      const c = await useGatewayApi(args.url)<ModelComparison>('/api/v1/models/compare', {
        query: { models: refs.join(','), ...(args.symbol ? { symbol: args.symbol } : {}) },
      })
      if (args.json) return void console.log(JSON.stringify(c, null, 2))
      console.log(
        compareGrid(
          c.models.map((m) => ({ id: m.key, label: m.label })),
          c.rows,
        ),
      )
    }),
})

const promote = defineCommand({
  meta: { name: 'promote', description: 'Tag a model version (e.g. production) so a backtest can name it <strategy>@<tag>' },
  args: {
    strategy: { type: 'positional', required: true, description: 'Strategy' },
    version: { type: 'positional', required: true, description: 'Version (1h_v3; or 1h_latest with --symbol)' },
    tag: { type: 'string', required: true, description: 'Tag to put on it (moves it from another version of the same symbol set)' },
    ...symbolArg,
    ...apiArgs,
  },
  run: ({ args }) =>
    guard(async () => {
      const r = await useGatewayApi(args.url)<{ data: Json }>(
        `${modelPath({ strategy: args.strategy, version: args.version })}/tags/${encodeURIComponent(args.tag)}`,
        { method: 'PUT', query: args.symbol ? { symbol: args.symbol } : {} },
      )
      if (args.json) return void console.log(JSON.stringify(r, null, 2))
      const d = r.data
      console.log(
        `${d.key} is now ${d.strategy}@${d.tag} for ${(d.symbols as string[]).join(',')} ${d.timeframe}${d.previous ? ` (moved from ${d.previous})` : ''}`,
      )
    }),
})

export default defineCommand({
  meta: { name: 'model', description: 'Trained models: list, show, compare, promote (tag) versions' },
  subCommands: { list, show, compare, promote },
})
