// Naming the model of a backtest by what it is: `<strategy>@<tag>` runs the pinned version even
// when a newer (worse) one is the latest, `…_latest` the newest of the symbol's set, and each bad
// reference is refused naming what there is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFunctionInProcess } from '../../../runtime/function/index.ts'
import type { KtrdrStorage } from '../../../storage/index.ts'
import { tagModelVersion } from '../../../trading/index.ts'
import backtest from '../index.ts'
import { createTempStorage, referenceYaml, writeBars, writeModel } from './_fixtures.ts'

const STRATEGY = 'v3_multi_indicator_example'
let storage: KtrdrStorage
let cleanup: () => Promise<void>
let yaml: string

beforeAll(async () => {
  ;({ storage, cleanup } = await createTempStorage())
  await writeBars(storage, 'EURUSD', '1h', 600, 3)
  await writeBars(storage, 'GBPUSD', '1h', 600, 4)
  yaml = await referenceYaml('v3_multi_indicator.yaml')
})
afterAll(async () => {
  await cleanup?.()
})

const run = (input: Record<string, unknown>) =>
  runFunctionInProcess(backtest, { symbol: 'EURUSD', save_details: 'none', ...input }, { storage }).then((r) => r.result)

describe('backtest model references', () => {
  it('<strategy>@production runs the tagged version after a newer model became the latest', async () => {
    const pinned = await writeModel(storage, yaml, { seed: 7, planted: true })
    await tagModelVersion(storage, pinned.key, 'production')
    const newer = await writeModel(storage, yaml, { seed: 8 })
    const tagged = await run({ model_path: `${STRATEGY}@production` })
    expect(tagged.model).toMatchObject({ key: pinned.key, reference: `${STRATEGY}@production`, training_symbols: ['EURUSD'] })
    expect((await run({ model_path: `${STRATEGY}/1h@production` })).model.key).toBe(pinned.key)
    expect((await run({ model_path: `${STRATEGY}/1h_latest` })).model.key).toBe(newer.key)
    // A version named as such is run as it is, no reference recorded.
    expect((await run({ model_path: newer.key })).model).not.toHaveProperty('reference')
  }, 120_000)

  it('refuses a tag nobody set, a malformed tag, a symbol no set holds and an unknown strategy, naming what there is', async () => {
    await expect(run({ model_path: `${STRATEGY}@staging` })).rejects.toMatchObject({
      code: 'MODEL_TAG_NOT_FOUND',
      statusCode: 404,
      message: expect.stringMatching(/is tagged staging: its tags are production \(EURUSD 1h → 1h_v1\)/),
    })
    await expect(run({ model_path: `${STRATEGY}@prod uction` })).rejects.toMatchObject({
      code: 'MODEL_TAG_INVALID',
      statusCode: 400,
      message: expect.stringContaining('"prod uction"'),
    })
    await expect(run({ model_path: `${STRATEGY}/1h_latest`, symbol: 'GBPUSD' })).rejects.toMatchObject({
      code: 'MODEL_SET_NOT_FOUND',
      statusCode: 404,
      message: expect.stringMatching(/containing GBPUSD; the sets are EURUSD 1h → 1h_v2/),
    })
    await expect(run({ model_path: `${STRATEGY}@production`, symbol: 'GBPUSD' })).rejects.toMatchObject({
      code: 'MODEL_SET_NOT_FOUND',
      message: expect.stringMatching(/tagged production was trained on a symbol set containing GBPUSD; the sets are EURUSD 1h → 1h_v1/),
    })
    await expect(run({ model_path: 'nobody@production' })).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      statusCode: 404,
      message: expect.stringMatching(/No trained model yet for nobody/),
    })
  })
})
