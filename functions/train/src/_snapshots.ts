import { tf } from '../../../trading/model/index.ts'
import type { CheckpointReason, LoopHooks, LoopSnapshot, LoopState } from './loop.ts'
import { releaseOptimizerWeights } from './_optimizer.ts'

/**
 * Checkpoint snapshots of a running training loop. `save` hands the live state (weights and
 * optimizer slots by reference) to the checkpoint hook. `keepLastGood` copies it at the end of
 * every completed epoch, so that a failure later on checkpoints the last good state (docs/domain.md#training-checkpoints: also
 * on failure), never weights the failed epoch may have left diverged or half-updated. Nothing is
 * copied when nobody checkpoints.
 */
export function createLoopSnapshots(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  live: () => { state: LoopState; best: tf.Tensor[] | null },
  checkpoint: LoopHooks['checkpoint'],
) {
  let lastGood: LoopSnapshot | null = null
  const take = async (): Promise<LoopSnapshot> => {
    const { state, best } = live()
    return {
      state: structuredClone(state),
      weights: model.getWeights(),
      optimizer: state.epoch === 0 && state.batch === 0 ? [] : await optimizer.getWeights(),
      best,
    }
  }
  const dropLastGood = () => {
    if (lastGood) tf.dispose([...lastGood.weights, ...lastGood.optimizer.map((n) => n.tensor)])
    lastGood = null
  }
  return {
    async save(reason: CheckpointReason): Promise<void> {
      if (!checkpoint) return
      const snap = await take()
      try {
        await checkpoint(snap, reason)
      } finally {
        releaseOptimizerWeights(snap.optimizer)
      }
    },
    async keepLastGood(): Promise<void> {
      if (!checkpoint) return
      const snap = await take()
      const copy: LoopSnapshot = {
        state: snap.state,
        weights: snap.weights.map((w) => tf.keep(w.clone())),
        optimizer: snap.optimizer.map(({ name, tensor }) => ({ name, tensor: tf.keep(tensor.clone()) })),
        best: null,
      }
      releaseOptimizerWeights(snap.optimizer)
      dropLastGood()
      lastGood = copy
    },
    /** Checkpoints the copy kept at the end of the last completed epoch, if there is one. */
    async saveLastGood(reason: CheckpointReason): Promise<void> {
      // `best` only changes when an epoch completes, so the live one belongs with the last good state.
      if (checkpoint && lastGood) await checkpoint({ ...lastGood, best: live().best }, reason)
    },
    dispose: dropLastGood,
  }
}
