import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setDropoutStep } from '../../../trading/model/index.ts'
import { useTfBackend } from '../../../trading/model/index.ts'
import { buildModel, countParameters } from '../../../trading/model/index.ts'
import { loadModel, saveModelVersion } from '../../../trading/model/index.ts'
import type { ModelMetadata } from '../../../trading/model/index.ts'
import { predictRaw } from '../../../trading/model/index.ts'
import { resolveModelSpec, type ModelSection } from '../../../trading/model/index.ts'
import { tf } from '../../../trading/model/index.ts'
import { mulberry32 } from '../../../trading/index.ts'
import { createTempStorage } from './_fixtures.ts'

let env: Awaited<ReturnType<typeof createTempStorage>>
beforeAll(async () => {
  await useTfBackend()
  env = await createTempStorage()
})
afterAll(async () => {
  await env.cleanup()
})

const sections: ModelSection[] = [
  { type: 'mlp', architecture: { hidden_layers: [16, 8], activation: 'leaky_relu', dropout: 0.3 } },
  { type: 'lstm', architecture: { sequence_length: 6, hidden_size: 8, num_layers: 2, dropout: 0.2 } },
  { type: 'gru', architecture: { sequence_length: 4, hidden_size: 8, num_layers: 1 } },
]

describe('model build / save / load / predict', () => {
  for (const section of sections) {
    it(`${section.type}: saved through the storage handler, reloads with identical outputs`, async () => {
      const spec = resolveModelSpec(section, { inputSize: 5, outputSize: 3, outputKind: 'classification', seed: 3 })
      const model = buildModel(spec)
      const rng = mulberry32(1)
      const src = { values: new Float32Array(200 * 5).map(() => rng()), cols: 5 }
      const ends = Int32Array.from({ length: 150 }, (_, i) => i + 20)
      const before = await predictRaw(model, spec, src, ends, { softmax: true, batchSize: 64 })
      const metadata = {
        format: 'ktrdr-tfjs-1',
        spec,
        resolved_features: ['a', 'b', 'c', 'd', 'e'],
        operation_id: 'op_x',
      } as unknown as Omit<ModelMetadata, 'model_name'>
      const saved = await saveModelVersion(env.storage, {
        strategyName: `io_${section.type}`,
        timeframe: '1h',
        model,
        metadata,
        metrics: {},
      })
      const loaded = await loadModel(env.storage, `io_${section.type}/1h_latest`)
      expect(loaded.key).toBe(saved.key)
      expect(countParameters(loaded.model)).toEqual(countParameters(model))
      const after = await predictRaw(loaded.model, loaded.spec, src, ends, { softmax: true })
      expect(Array.from(after)).toEqual(Array.from(before))
      for (let i = 0; i < ends.length; i++) expect(after[i * 3] + after[i * 3 + 1] + after[i * 3 + 2]).toBeCloseTo(1, 5)
      model.dispose()
      loaded.model.dispose()
    })
  }

  it('dropout is active only in training steps and reproducible per step', () => {
    const spec = resolveModelSpec(sections[0], { inputSize: 5, outputSize: 3, outputKind: 'classification', seed: 3 })
    const model = buildModel(spec)
    const x = tf.ones([4, 5])
    const run = () => Array.from((model.apply(x) as tf.Tensor).dataSync())
    const inference = run()
    setDropoutStep(model, 7)
    const a = run()
    const b = run()
    setDropoutStep(model, 8)
    const c = run()
    setDropoutStep(model, null)
    expect(run()).toEqual(inference)
    expect(a).toEqual(b)
    expect(a).not.toEqual(inference)
    expect(c).not.toEqual(a)
    x.dispose()
    model.dispose()
  })

  it('rejects architectures the strategy grammar forbids', () => {
    const shape = { inputSize: 5, outputSize: 3, outputKind: 'classification' as const, seed: 1 }
    expect(() => resolveModelSpec({ type: 'lstm', architecture: { hidden_layers: [4] } }, shape)).toThrow(/hidden_size/)
    expect(() => resolveModelSpec({ type: 'gru', architecture: {} }, shape)).toThrow(/sequence_length/)
    expect(() => resolveModelSpec({ type: 'mlp', architecture: { hidden_layers: [4], activation: 'swish' } }, shape)).toThrow(/activation/)
  })
})
