import type { tf, NamedTensor } from '../../../trading/model/index.ts'
import type { LoopSnapshot } from './loop.ts'

/** Which implementation runs the optimisation steps: tfjs kernels, or the fused CPU trainer (fused/). */
export type TrainingPath = 'tfjs' | 'fused'

/** Tensors a checkpoint is written from; `release` frees those the capture created, never live state. */
export interface EngineCapture {
  weights: tf.Tensor[]
  optimizer: NamedTensor[]
  release(): void
}

/**
 * What the training loop (loop.ts) drives: the epoch order, schedules, early stopping, history,
 * cancellation and checkpoints live in the loop; an engine only steps, evaluates and holds the
 * weights. Weights and optimizer slots cross the boundary as tfjs tensors in the model's
 * getWeights() order (tfjs Adam's slot layout for the optimizer), so a checkpoint written by one
 * engine resumes in the other.
 */
export interface TrainingEngine {
  readonly path: TrainingPath
  /** One optimisation step on the samples `idx` with the dropout masks of `dropoutStep` at learning rate `lr`. */
  step(idx: Int32Array, dropoutStep: number, lr: number): void
  /** Loss of the last step (read after the very first step, to fail fast on NaN). */
  lastLoss(): Promise<number>
  /** Σ loss·batch size and Σ hits over the steps since the previous call. */
  drain(): Promise<{ lossSum: number; correct: number }>
  /** Loss and accuracy of the current weights on a split (inference: no dropout). */
  evaluate(samples: Int32Array, signal?: AbortSignal): Promise<{ loss: number; accuracy: number }>
  /** Keeps a copy of the current weights as the best so far. */
  keepBest(): void
  /** The best weights kept so far (null before any), for a checkpoint. */
  captureBest(): { best: tf.Tensor[] | null; release(): void }
  /** Current weights, and the optimizer slots when `withOptimizer` (none exist before the first step). */
  capture(withOptimizer: boolean): Promise<EngineCapture>
  /** Continues from a checkpoint: weights, optimizer slots, best weights. */
  restore(snapshot: LoopSnapshot): Promise<void>
  /** Leaves the best weights (else the current ones) in the tfjs model, which is what gets saved. */
  finish(): void
  dispose(): void
}
