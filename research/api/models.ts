import { defineEventHandler, getRouterParam } from 'h3'
import type { Storage } from 'unstorage'
import { KtrdrError } from '../../trading/index.ts'
import { defineGatewayRoutes, pageOf, pageParams, parseStoreKey, sendStoredFile, storedSize } from '../../runtime/gateway/index.ts'

import { MODEL_FILES, MODEL_LATEST_POINTER_RE as LATEST_RE, MODEL_VERSION_DIR_RE as VERSION_RE } from '../../trading/index.ts'

// The models mount as train writes it (trading/layout.ts): a version folder is complete once its
// metadata.json exists, which train writes last.

interface VersionSummary {
  version: string
  key: string
  timeframe: string
  number: number
  complete: boolean
  created_at: string | null
  model_type: string | null
  symbols: string[]
  test_accuracy: number | null
  operation_id: string | null
}

const obj = (v: unknown): Record<string, any> | null =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, any>) : null
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

async function readJson(models: Storage, key: string): Promise<Record<string, any> | null> {
  const v = await models.getItem(key).catch(() => null)
  if (typeof v === 'string') {
    try {
      return obj(JSON.parse(v))
    } catch {
      return null
    }
  }
  return obj(v)
}

/** Per strategy folder: the version folders and latest pointers found among the keys. */
function scan(keys: string[]) {
  const strategies = new Map<string, { versions: Map<string, Set<string>>; latest: Set<string> }>()
  for (const k of keys) {
    const parts = k.split(':')
    if (parts.some((p) => p.startsWith('.'))) continue
    const [strategy, dir, file] = parts
    if (!strategy || !dir) continue
    const entry = strategies.get(strategy) ?? { versions: new Map(), latest: new Set() }
    strategies.set(strategy, entry)
    if (parts.length === 2 && LATEST_RE.test(dir)) entry.latest.add(dir)
    else if (parts.length === 3 && VERSION_RE.test(dir)) {
      const files = entry.versions.get(dir) ?? new Set<string>()
      files.add(file)
      entry.versions.set(dir, files)
    }
  }
  return strategies
}

async function summarise(models: Storage, strategy: string, version: string, files: Set<string>): Promise<VersionSummary> {
  const [, timeframe, n] = VERSION_RE.exec(version)!
  const complete = files.has(MODEL_FILES.metadata)
  const [meta, metrics] = complete
    ? await Promise.all([
        readJson(models, `${strategy}:${version}:${MODEL_FILES.metadata}`),
        readJson(models, `${strategy}:${version}:${MODEL_FILES.metrics}`),
      ])
    : [null, null]
  return {
    version,
    key: `${strategy}/${version}`,
    timeframe,
    number: Number(n),
    complete,
    created_at: typeof meta?.created_at === 'string' ? meta.created_at : null,
    model_type: typeof meta?.model_type === 'string' ? meta.model_type : null,
    symbols: Array.isArray(meta?.training_symbols) ? meta.training_symbols : [],
    test_accuracy: num(obj(metrics?.test_metrics)?.test_accuracy),
    operation_id: typeof meta?.operation_id === 'string' ? meta.operation_id : null,
  }
}

/** `1h_latest` → the version it points at (`1h_v3`); `1h_v3` stays. */
async function resolveVersion(models: Storage, strategy: string, version: string): Promise<string> {
  if (VERSION_RE.test(version)) return version
  if (LATEST_RE.test(version)) {
    const pointer = await readJson(models, `${strategy}:${version}`)
    const key = typeof pointer?.key === 'string' ? pointer.key : ''
    const target = key.split('/').pop() ?? ''
    if (VERSION_RE.test(target)) return target
  }
  throw modelNotFound(strategy, version)
}

function modelNotFound(strategy: string, version: string) {
  return new KtrdrError({
    code: 'MODEL_NOT_FOUND',
    message: `No model version "${strategy}/${version}": versions look like <timeframe>_v<N> or <timeframe>_latest; list them with GET /api/v1/models`,
  })
}

/** Models written by train, read only: list, one version's metadata and metrics, its files. */
export default defineGatewayRoutes((router, ctx) => {
  const models = ctx.storage.models

  router.get(
    '/api/v1/models',
    defineEventHandler(async (event) => {
      const page = pageParams(event, { limit: 1000, maxLimit: 10_000 })
      const strategies = scan(await models.getKeys())
      const data = []
      for (const [strategy, entry] of [...strategies].sort(([a], [b]) => a.localeCompare(b))) {
        if (entry.versions.size === 0 && entry.latest.size === 0) continue
        const latest: Record<string, string | null> = {}
        for (const l of [...entry.latest].sort()) {
          const target = await resolveVersion(models, strategy, l).catch(() => null)
          latest[LATEST_RE.exec(l)![1]] = target
        }
        const versions = await Promise.all([...entry.versions].map(([v, files]) => summarise(models, strategy, v, files)))
        versions.sort((a, b) => a.timeframe.localeCompare(b.timeframe) || b.number - a.number)
        data.push({ strategy, latest, versions: versions.map((v) => ({ ...v, latest: latest[v.timeframe] === v.version })) })
      }
      return { success: true, ...pageOf(data, page) }
    }),
  )

  router.get(
    '/api/v1/models/:strategy/:version',
    defineEventHandler(async (event) => {
      const strategy = parseStoreKey(getRouterParam(event, 'strategy') ?? '', 'Model')
      const asked = parseStoreKey(getRouterParam(event, 'version') ?? '', 'Model')
      const version = await resolveVersion(models, strategy, asked)
      const files = (await models.getKeys(`${strategy}:${version}:`)).map((k) => k.split(':').pop()!).filter((f) => !f.startsWith('.'))
      if (files.length === 0) throw modelNotFound(strategy, asked)
      const [metadata, metrics] = await Promise.all([
        readJson(models, `${strategy}:${version}:${MODEL_FILES.metadata}`),
        readJson(models, `${strategy}:${version}:${MODEL_FILES.metrics}`),
      ])
      const pointer = await readJson(models, `${strategy}:${VERSION_RE.exec(version)![1]}_latest`)
      const history = Array.isArray(metrics?.history) ? (metrics.history as Array<Record<string, unknown>>) : []
      const sizes = await Promise.all(
        files.sort().map(async (f) => ({
          name: f,
          size: await storedSize(ctx.storage, 'models', `${strategy}/${version}/${f}`),
          url: `/api/v1/models/${encodeURIComponent(strategy)}/${version}/${encodeURIComponent(f)}`,
        })),
      )
      return {
        success: true,
        data: {
          key: `${strategy}/${version}`,
          strategy,
          version,
          complete: metadata !== null,
          latest: typeof pointer?.key === 'string' && pointer.key.endsWith(`/${version}`),
          metadata,
          metrics: metrics && {
            test_metrics: metrics.test_metrics ?? null,
            best_epoch: metrics.best_epoch ?? null,
            early_stopped: metrics.early_stopped ?? null,
            epochs: history.length,
            final_epoch: history[history.length - 1] ?? null,
          },
          files: sizes,
        },
      }
    }),
  )

  router.get(
    '/api/v1/models/:strategy/:version/:file',
    defineEventHandler(async (event) => {
      const strategy = parseStoreKey(getRouterParam(event, 'strategy') ?? '', 'Model')
      const version = await resolveVersion(models, strategy, parseStoreKey(getRouterParam(event, 'version') ?? '', 'Model'))
      const file = parseStoreKey(getRouterParam(event, 'file') ?? '', 'Model')
      const sent = await sendStoredFile(event, ctx.storage, 'models', `${strategy}/${version}/${file}`)
      if (sent !== undefined) return sent
      throw new KtrdrError({
        code: 'MODEL_FILE_NOT_FOUND',
        message: `No file "${file}" in model ${strategy}/${version}: see its files with GET /api/v1/models/${strategy}/${version}`,
      })
    }),
  )
})
