import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTempStorage, runFunctionInProcess } from '../../../runtime/function/index.ts'
import type { WorkerCapabilities } from '../../../runtime/protocol/index.ts'
import type { KtrdrStorage } from '../../../storage/index.ts'
import {
  compileDesign,
  designSchema,
  generateSyntheticSeries,
  recordHypotheses,
  saveBars,
  validateStrategy,
  type DesignDraft,
} from '../../../trading/index.ts'
import { generateJson, LLM_SEED_MAX, sha256File, unloadAllLlms, writeTinyLlamaGguf, type LlmModelRef } from '../../../trading/llm/index.ts'
import design from '../index.ts'

let temp: Awaited<ReturnType<typeof createTempStorage>>
let storage: KtrdrStorage
let ref: LlmModelRef
let capabilities: WorkerCapabilities

beforeAll(async () => {
  temp = await createTempStorage('ktrdr-design-')
  storage = temp.storage
  const path = join(temp.root, 'tiny.gguf')
  await writeTinyLlamaGguf(path, { seed: 5 })
  ref = { id: 'tiny', path, sha256: await sha256File(path) }
  capabilities = {
    cores: 2,
    memory_gb: 4,
    gpu: false,
    ib: false,
    slots: 1,
    llm: { model: 'tiny', sha256: ref.sha256, path, size_bytes: 1, context_size: 4096, gpu_layers: 0, threads: 1 },
  }
  await saveBars(storage.data, generateSyntheticSeries({ symbol: 'EURUSD', timeframe: '1h', bars: 300, seed: 1 }))
  await saveBars(storage.data, generateSyntheticSeries({ symbol: 'AAPL', timeframe: '1d', bars: 300, seed: 2, preset: 'equity' }))
})
afterAll(async () => {
  await unloadAllLlms()
  await temp.cleanup()
})

const host = () => ({ workerId: 'llm-1', workerType: 'general', capabilities })
const space = { markets: ['AAPL 1d', 'EURUSD 1h'] }

describe('design', () => {
  it('turns a brief into a valid v3 strategy in the strategies mount, with token counts and the model id', async () => {
    const { result } = await runFunctionInProcess(
      design,
      { brief: 'Momentum on EURUSD hourly', constraints: { symbols: ['EURUSD'] }, seed: 3 },
      { storage, host: host(), operationId: 'op_agent_design_20260101_101500_ab12cd34' },
    )
    expect(result.strategy_name).toBe('design_20260101_101500_ab12cd34')
    expect(result.market).toEqual({ symbol: 'EURUSD', timeframe: '1h' })
    expect(result.model).toBe('tiny')
    expect(result.model_sha256).toBe(ref.sha256)
    expect(result.tokens_in).toBeGreaterThan(50)
    expect(result.tokens_out).toBeGreaterThan(20)
    expect(result.tokens_per_second).toBeGreaterThan(0)
    expect(result.attempt_count).toBeLessThanOrEqual(3)
    const stored = (await storage.strategies.getItem(`${result.strategy_name}.yaml`)) as string
    expect(stored).toBe(result.yaml)
    const v = validateStrategy(stored)
    expect(v.errors).toEqual([])
    expect(v.strategy!.training_data.symbols).toEqual(['EURUSD'])
  }, 120_000)

  it('reads open hypotheses from memory and says which it was given', async () => {
    await recordHypotheses(storage.memory, 'exp_20260101_000000_00000000', {
      proposed: ['RSI extremes revert within a day'],
      tested: [],
      verdict: null,
    })
    const { result } = await runFunctionInProcess(design, { brief: 'Mean reversion', seed: 4 }, { storage, host: host() })
    expect(result.memory.hypotheses).toEqual(['H_001'])
    const off = await runFunctionInProcess(design, { brief: 'Mean reversion', seed: 4, use_memory: false }, { storage, host: host() })
    expect(off.result.memory.hypotheses).toEqual([])
  }, 120_000)

  it('refuses bad input naming the field: empty brief, unknown model, indicators outside the catalog', async () => {
    await expect(runFunctionInProcess(design, { brief: '   ' }, { storage, host: host() })).rejects.toMatchObject({
      statusCode: 422,
      message: expect.stringMatching(/brief/),
    })
    await expect(runFunctionInProcess(design, { brief: 'x', model: 'nope' }, { storage, host: host() })).rejects.toMatchObject({
      statusCode: 422,
      code: 'LLM_MODEL_UNKNOWN',
      details: { field: 'model' },
    })
    await expect(
      runFunctionInProcess(design, { brief: 'x', constraints: { indicators: ['sma'] } }, { storage, host: host() }),
    ).rejects.toMatchObject({ code: 'DESIGN_CONSTRAINTS_INVALID', details: { field: 'constraints.indicators' } })
    await expect(
      runFunctionInProcess(design, { brief: 'x', constraints: { symbols: ['GBPJPY'] } }, { storage, host: host() }),
    ).rejects.toMatchObject({ code: 'DESIGN_NO_DATA', details: { field: 'constraints' } })
  }, 60_000)

  // Seeds picked by running them (tiny model seed 5, threads 1, no memory in the prompt): with seed 1
  // both attempts overshoot the feature budget; with seed 4 the first does and the second fits.
  const budget = {
    brief: 'x',
    constraints: { max_features: 1, indicators: ['rsi'], max_indicators: 1 },
    max_attempts: 2,
    use_memory: false,
  }

  it('a refusal the grammar cannot prevent (feature budget) is fed back, and after max_attempts it says why', async () => {
    const error = await runFunctionInProcess(design, { ...budget, seed: 1 }, { storage, host: host() }).then(
      () => null,
      (error: { code?: string; details?: { seed: number; attempts: Array<{ seed: number; errors: string[] }> } }) => error,
    )
    expect(error?.code).toBe('DESIGN_REFUSED')
    expect(error!.details!.seed).toBe(1)
    expect(error!.details!.attempts.map((a) => a.seed)).toEqual([1, 2])
    for (const a of error!.details!.attempts) expect(a.errors.join(' ')).toMatch(/the design has \d+ features; at most 1 are allowed/)
  }, 120_000)

  it('a refused attempt fed back can be followed by one that fits', async () => {
    const { result } = await runFunctionInProcess(design, { ...budget, seed: 4 }, { storage, host: host() })
    expect(result.attempt_count).toBe(2)
    expect(result.attempts[0]).toMatchObject({ ok: false, seed: 4, errors: [expect.stringMatching(/features; at most 1 are allowed/)] })
    expect(result.attempts[1]).toMatchObject({ ok: true, seed: 5, errors: [] })
    expect(result.resolved_features).toHaveLength(1)
  }, 120_000)

  it('without a seed draws one and records it: the same seed writes the same strategy again', async () => {
    const input = { brief: 'Momentum', constraints: { symbols: ['EURUSD'] }, use_memory: false, strategy_name: 'repeat_me' }
    const outcome = (extra: object) =>
      runFunctionInProcess(design, { ...input, ...extra }, { storage, host: host() }).then(
        ({ result }) => ({ seed: result.seed, attempts: result.attempts.map((a) => a.errors), yaml: result.yaml }),
        (error: { details: { seed: number; attempts: Array<{ errors: string[] }> } }) => ({
          seed: error.details.seed,
          attempts: error.details.attempts.map((a) => a.errors),
          yaml: null,
        }),
      )
    const drawn = await outcome({})
    expect(Number.isInteger(drawn.seed) && drawn.seed >= 0 && drawn.seed <= LLM_SEED_MAX).toBe(true)
    expect(await outcome({ seed: drawn.seed })).toEqual(drawn)
  }, 240_000)

  it('refuses a seed that is not an integer between 0 and 2^31 - 1, naming it', async () => {
    for (const seed of [-1, 1.5, 2 ** 31, '7'])
      await expect(runFunctionInProcess(design, { brief: 'x', seed }, { storage, host: host() }), String(seed)).rejects.toMatchObject({
        statusCode: 422,
        message: expect.stringMatching(/seed/),
      })
  }, 60_000)
})

describe('the design grammar (property)', () => {
  // Random token choices under the grammar (random seeds at temperature 2, so the random-weight
  // model's sampling is as arbitrary as sampling gets): every output either parses, compiles and
  // validates, or is refused with a reason the retry path feeds back. Nothing else can happen.
  it('every sampled output validates, or the refusal says why', async () => {
    const schema = designSchema(space)
    let valid = 0
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 30 }), fc.constantFrom(0.8, 1.5, 2), async (seed, temperature) => {
        const out = await generateJson({
          model: ref,
          runtime: { threads: 1, gpuLayers: 0, contextSize: 2048 },
          schema,
          system: 'Design a strategy as JSON.',
          prompt: 'Anything.',
          seed,
          temperature,
          maxTokens: 600,
        })
        if (!out.ok) {
          expect(out.error).toMatch(/not valid JSON for the schema/)
          return
        }
        const compiled = compileDesign(out.value as DesignDraft, { name: `prop_${seed}` })
        if (compiled.errors.length === 0) {
          valid++
          expect(validateStrategy(compiled.yaml).valid).toBe(true)
        } else for (const e of compiled.errors) expect(e).toMatch(/already used|features; at most/)
      }),
      // About 1 sample in 7 compiles with the random test model (the rest repeat a name or refuse
      // as JSON): 12 runs drew none in one CI run. 40 runs from a fixed seed are reproducible.
      { numRuns: 40, seed: 20261205 },
    )
    expect(valid).toBeGreaterThan(0)
  }, 300_000)
})
