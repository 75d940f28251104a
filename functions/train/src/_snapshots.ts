import { tf } from '../../../trading/model/index.ts'
import type { TrainingEngine } from './_engine.ts'
import type { CheckpointReason, LoopHooks, LoopSnapshot, LoopState } from './loop.ts'

/**
 * Checkpoint snapshots of a running training loop. `save` hands the engine's current state to the
 * checkpoint hook. `keepLastGood` copies it at the end of every completed epoch, so that a failure
 * later on checkpoints the last good state (docs/domain.md#training-checkpoints: also on failure),
 * never weights the failed epoch may have left diverged or half-updated. Nothing is copied when
 * nobody checkpoints.
 */
export function createLoopSnapshots(engine: TrainingEngine, live: () => LoopState, checkpoint: LoopHooks['checkpoint']) {
  let lastGood: LoopSnapshot | null = null
  const dropLastGood = () => {
    if (lastGood) tf.dispose([...lastGood.weights, ...lastGood.optimizer.map((n) => n.tensor)])
    lastGood = null
  }
  const hand = async (snapshot: Omit<LoopSnapshot, 'best'>, reason: CheckpointReason) => {
    const { best, release } = engine.captureBest()
    try {
      await checkpoint!({ ...snapshot, best }, reason)
    } finally {
      release()
    }
  }
  return {
    async save(reason: CheckpointReason): Promise<void> {
      if (!checkpoint) return
      const state = structuredClone(live())
      const captured = await engine.capture(!(state.epoch === 0 && state.batch === 0))
      try {
        await hand({ state, weights: captured.weights, optimizer: captured.optimizer }, reason)
      } finally {
        captured.release()
      }
    },
    async keepLastGood(): Promise<void> {
      if (!checkpoint) return
      const state = structuredClone(live())
      const captured = await engine.capture(!(state.epoch === 0 && state.batch === 0))
      const copy = {
        state,
        weights: captured.weights.map((w) => tf.keep(w.clone())),
        optimizer: captured.optimizer.map(({ name, tensor }) => ({ name, tensor: tf.keep(tensor.clone()) })),
      }
      captured.release()
      dropLastGood()
      lastGood = { ...copy, best: null }
    },
    /** Checkpoints the copy kept at the end of the last completed epoch, if there is one. */
    async saveLastGood(reason: CheckpointReason): Promise<void> {
      // The best weights only change when an epoch completes, so the current ones belong with the last good state.
      if (checkpoint && lastGood) await hand(lastGood, reason)
    },
    dispose: dropLastGood,
  }
}
