import { predictRaw } from '../../../trading/model/index.ts'
import type { ModelSpec } from '../../../trading/model/index.ts'
import { tf } from '../../../trading/model/index.ts'
import { countCorrect, type LossFn } from './_losses.ts'
import type { TrainingSet } from './loop.ts'

export function gatherTargets(targets: Float32Array, samples: Int32Array): Float32Array {
  const out = new Float32Array(samples.length)
  for (let i = 0; i < samples.length; i++) out[i] = targets[samples[i]]
  return out
}

/** Loss and accuracy of the current weights on a split, through the same predict path as inference. */
export async function evaluateSplit(
  model: tf.LayersModel,
  spec: ModelSpec,
  set: TrainingSet,
  samples: Int32Array,
  loss: LossFn,
  signal?: AbortSignal,
): Promise<{ loss: number; accuracy: number; outputs: Float32Array }> {
  const outputs = await predictRaw(model, spec, set, samples, { signal })
  const y = gatherTargets(set.targets, samples)
  const [l, c] = tf.tidy(() => {
    const out = tf.tensor2d(outputs, [samples.length, spec.outputSize])
    const t = tf.tensor1d(y)
    return [loss(out, t), countCorrect(out, t, spec.outputKind === 'regression')]
  })
  const [lossValue, correct] = [(await l.data())[0], (await c.data())[0]]
  tf.dispose([l, c])
  return { loss: lossValue, accuracy: samples.length ? correct / samples.length : 0, outputs }
}
