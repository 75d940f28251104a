import { tf } from './tf.ts'

/**
 * Dropout whose mask is a pure function of (seed, step): tfjs's own Dropout either draws from
 * Math.random (not reproducible) or, given a seed, reuses the same mask on every batch. The
 * training loop sets `step` before each batch (epoch·batches + batch), so a resumed training
 * draws exactly the masks the uninterrupted one would have. `step = null` means inference:
 * identity, whatever the caller passes as `training`.
 */
export class SeededDropout extends tf.layers.Layer {
  static className = 'KtrdrSeededDropout'
  readonly rate: number
  readonly seed: number
  step: number | null = null

  constructor(args: { rate: number; seed: number; name?: string }) {
    super({ name: args.name })
    this.rate = args.rate
    this.seed = args.seed
    this.supportsMasking = true
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs
    if (this.step === null || this.rate <= 0) return x
    const step = this.step
    return tf.tidy(() => {
      // Seeds must stay well inside 2^53 and differ per layer and per step.
      const noise = tf.randomUniform(x.shape, 0, 1, 'float32', (this.seed % 1_000_003) * 1_000_033 + step)
      const keep = tf.cast(tf.greaterEqual(noise, this.rate), 'float32')
      return tf.mul(x, tf.mul(keep, 1 / (1 - this.rate)))
    })
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed }
  }
}

/**
 * Registers the custom layer for model.json (de)serialisation. Called by buildModel and loadModel,
 * not only as an import side effect: bundlers may drop side-effect-only imports.
 */
export function registerModelLayers(): void {
  tf.serialization.registerClass(SeededDropout)
}
registerModelLayers()

/** Puts every SeededDropout of the model in training mode at `step`, or back to inference (null). */
export function setDropoutStep(model: tf.LayersModel, step: number | null): void {
  for (const layer of model.layers) if (layer instanceof SeededDropout) layer.step = step
}

/** Each SeededDropout's seed in layer order: what the fused trainer needs to draw the same masks. */
export function dropoutSeeds(model: tf.LayersModel): number[] {
  return model.layers.filter((l): l is SeededDropout => l instanceof SeededDropout).map((l) => l.seed)
}
