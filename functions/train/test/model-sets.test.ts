// The latest model is kept per strategy, timeframe and symbol set: a training on AAPL does not
// replace the EURUSD model a backtest of EURUSD resolves, and models saved before symbol sets
// resolve as they did, with nothing migrated.
import { readFileSync } from 'node:fs'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFunctionInProcess } from '../../../runtime/function/index.ts'
import {
  buildModel,
  loadModel,
  resolveModelSpec,
  saveModelVersion,
  useTfBackend,
  type ModelMetadata,
} from '../../../trading/model/index.ts'
import train from '../index.ts'
import { createTempStorage, RANGE, REFERENCE_DIR, storeSynthetic } from './_fixtures.ts'

let env: Awaited<ReturnType<typeof createTempStorage>>
const yaml = readFileSync(join(REFERENCE_DIR, 'v3_multi_indicator.yaml'), 'utf8')
const STRATEGY = 'v3_multi_indicator_example'

beforeAll(async () => {
  env = await createTempStorage()
  await Promise.all(['EURUSD', 'AAPL'].map((symbol, i) => storeSynthetic(env.storage, symbol, '1h', 1500, 7 + i)))
})
afterAll(async () => {
  await env.cleanup()
})

const trainOn = async (symbols: string[]) =>
  (await runFunctionInProcess(train, { strategy_yaml: yaml, ...RANGE, symbols, epochs: 1, seed: 5 }, { storage: env.storage })).result

async function latestKey(ref: string, symbols?: string[]) {
  const loaded = await loadModel(env.storage, ref, { symbols })
  loaded.model.dispose()
  return loaded.key
}

describe('latest per symbol set', () => {
  it('two trainings on different symbol sets keep separate latests; a backtest symbol picks its set or is refused naming the sets', async () => {
    const eurusd = await trainOn(['EURUSD'])
    const aapl = await trainOn(['AAPL'])
    expect([eurusd.model_version, aapl.model_version]).toEqual([1, 2])

    expect(await latestKey(`${STRATEGY}/1h_latest`, ['EURUSD'])).toBe(eurusd.model_key)
    expect(await latestKey(`${STRATEGY}/1h_latest`, ['AAPL'])).toBe(aapl.model_key)
    expect(await latestKey(`${STRATEGY}@latest`, ['EURUSD'])).toBe(eurusd.model_key)

    await expect(loadModel(env.storage, `${STRATEGY}/1h_latest`, { symbols: ['GBPUSD'] })).rejects.toMatchObject({
      code: 'MODEL_SET_NOT_FOUND',
      statusCode: 404,
      message: expect.stringMatching(/containing GBPUSD; the sets are AAPL 1h → 1h_v2; EURUSD 1h → 1h_v1/),
    })
    await expect(loadModel(env.storage, `${STRATEGY}/1h_latest`)).rejects.toMatchObject({
      code: 'MODEL_AMBIGUOUS',
      statusCode: 422,
      message: expect.stringMatching(/AAPL 1h → 1h_v2; EURUSD 1h → 1h_v1.*give the symbol/),
    })

    // "latest" stays "newest": a third training on EURUSD moves only EURUSD's pointer.
    const again = await trainOn(['EURUSD'])
    expect(await latestKey(`${STRATEGY}/1h_latest`, ['EURUSD'])).toBe(again.model_key)
    expect(await latestKey(`${STRATEGY}/1h_latest`, ['AAPL'])).toBe(aapl.model_key)
    // One pointer file per sorted symbol set; the pre-set pointer still names the newest of all, for older readers.
    expect(await env.storage.models.getItem(`${STRATEGY}/1h_sets/AAPL/latest.json`)).toMatchObject({ version: 2, symbols: ['AAPL'] })
    expect(await env.storage.models.getItem(`${STRATEGY}/1h_sets/EURUSD/latest.json`)).toMatchObject({ version: 3 })
    expect(await env.storage.models.getItem(`${STRATEGY}/1h_latest`)).toMatchObject({ version: 3, key: again.model_key })
  }, 240_000)
})

describe('models saved before symbol sets', () => {
  async function save(strategy: string, symbols: string[]) {
    await useTfBackend()
    const spec = resolveModelSpec({ type: 'mlp', architecture: { hidden_layers: [4] } } as never, {
      inputSize: 3,
      outputSize: 3,
      outputKind: 'classification',
      seed: 1,
    })
    const model = buildModel(spec)
    const metadata = { format: 'ktrdr-tfjs-1', spec, training_symbols: symbols } as unknown as Omit<ModelMetadata, 'model_name'>
    const saved = await saveModelVersion(env.storage, { strategyName: strategy, timeframe: '1h', model, metadata, metrics: {} })
    model.dispose()
    return saved
  }

  it('the old <tf>_latest still resolves for its model, the other set resolves too, and the next save writes every set its pointer', async () => {
    const eurusd = await save('legacy', ['EURUSD'])
    const aapl = await save('legacy', ['AAPL', 'MSFT'])
    // The layout as it was: version folders and one `1h_latest` naming the newest of all.
    await rm(join(env.root, 'models', 'legacy', '1h_sets'), { recursive: true })
    await env.storage.models.setItem('legacy/1h_latest', JSON.stringify({ version: 2, key: aapl.key, updated_at: '2025-01-01T00:00:00Z' }))

    expect(await latestKey('legacy/1h_latest', ['MSFT'])).toBe(aapl.key)
    expect(await latestKey('legacy/1h_latest', ['EURUSD'])).toBe(eurusd.key)
    expect(await latestKey('legacy/1h_v1')).toBe(eurusd.key)
    expect(await readdir(join(env.root, 'models', 'legacy'))).not.toContain('1h_sets')

    const next = await save('legacy', ['MSFT', 'AAPL'])
    expect((await readdir(join(env.root, 'models', 'legacy', '1h_sets'))).sort()).toEqual(['AAPL+MSFT', 'EURUSD'])
    expect(await env.storage.models.getItem('legacy/1h_sets/EURUSD/latest.json')).toMatchObject({ version: 1, key: eurusd.key })
    expect(await env.storage.models.getItem('legacy/1h_sets/AAPL+MSFT/latest.json')).toMatchObject({
      version: 3,
      symbols: ['AAPL', 'MSFT'],
    })
    expect(await latestKey('legacy/1h_latest', ['AAPL'])).toBe(next.key)
    expect(await latestKey('legacy/1h_latest', ['EURUSD'])).toBe(eurusd.key)
  }, 60_000)
})
