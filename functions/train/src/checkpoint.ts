import type { Storage } from 'unstorage'
import { tf, type NamedTensor } from '../../../trading/model/index.ts'
import type { CheckpointReason, LoopSnapshot, LoopState } from './loop.ts'

/**
 * One checkpoint per operation under `checkpoints/<operation_id>/` (docs/domain.md#training-checkpoints): model weights,
 * optimizer state, best-so-far weights and the loop state (epoch, batch, history, scheduler,
 * early stopping). Binary files carry a generation number and `checkpoint.json`, written last,
 * names the generation: whatever the driver, a reader sees the old checkpoint or the new one,
 * never a mix. Older generations are deleted after the switch.
 */
export interface CheckpointManifest {
  format: 'ktrdr-train-checkpoint-1'
  generation: number
  /** Hash of what the run depends on (strategy, data, seed, backend): resuming anything else is refused. */
  fingerprint: string
  /** interval: periodic; cancel: mid-epoch, on cancel or host shutdown; failure: end of the last good epoch. */
  reason: CheckpointReason
  /** TensorFlow.js backend that wrote it (informational: weights are backend-independent). */
  backend?: string
  created_at: string
  state: LoopState
  weights: tf.io.WeightsManifestEntry[]
  optimizer: tf.io.WeightsManifestEntry[]
  best: tf.io.WeightsManifestEntry[] | null
}

export function checkpointDir(operationId: string): string {
  return operationId.replace(/[^A-Za-z0-9_.-]+/g, '_')
}

async function encode(tensors: NamedTensor[]): Promise<{ data: Uint8Array; specs: tf.io.WeightsManifestEntry[] }> {
  const { data, specs } = await tf.io.encodeWeights(tensors)
  return { data: new Uint8Array(data), specs }
}

function toArrayBuffer(raw: unknown): ArrayBuffer {
  if (raw instanceof ArrayBuffer) return raw
  if (ArrayBuffer.isView(raw)) return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer
  throw new Error('Checkpoint file is not binary data')
}

export async function saveCheckpoint(
  store: Storage,
  operationId: string,
  fingerprint: string,
  snapshot: LoopSnapshot,
  reason: CheckpointReason,
  backend?: string,
): Promise<CheckpointManifest> {
  const dir = checkpointDir(operationId)
  const previous = await store.getItem<CheckpointManifest>(`${dir}/checkpoint.json`).catch(() => null)
  const generation = (previous && typeof previous === 'object' ? previous.generation : 0) + 1
  const weights = await encode(snapshot.weights.map((tensor, i) => ({ name: `w${i}`, tensor })))
  const optimizer = await encode(snapshot.optimizer)
  const best = snapshot.best ? await encode(snapshot.best.map((tensor, i) => ({ name: `w${i}`, tensor }))) : null
  await store.setItemRaw(`${dir}/weights-${generation}.bin`, weights.data)
  await store.setItemRaw(`${dir}/optimizer-${generation}.bin`, optimizer.data)
  if (best) await store.setItemRaw(`${dir}/best-${generation}.bin`, best.data)
  const manifest: CheckpointManifest = {
    format: 'ktrdr-train-checkpoint-1',
    generation,
    fingerprint,
    reason,
    backend,
    created_at: new Date().toISOString(),
    state: snapshot.state,
    weights: weights.specs,
    optimizer: optimizer.specs,
    best: best ? best.specs : null,
  }
  await store.setItem(`${dir}/checkpoint.json`, JSON.stringify(manifest))
  if (previous && typeof previous === 'object') {
    await Promise.all(
      ['weights', 'optimizer', 'best'].map((k) => store.removeItem(`${dir}/${k}-${previous.generation}.bin`).catch(() => {})),
    )
  }
  return manifest
}

export async function readCheckpointManifest(store: Storage, operationId: string): Promise<CheckpointManifest | null> {
  const manifest = await store.getItem<CheckpointManifest>(`${checkpointDir(operationId)}/checkpoint.json`)
  return manifest && typeof manifest === 'object' && manifest.format === 'ktrdr-train-checkpoint-1' ? manifest : null
}

/** Tensors are created here and owned by the caller (runTrainingLoop takes them over). */
export async function loadCheckpoint(store: Storage, operationId: string, manifest: CheckpointManifest): Promise<LoopSnapshot> {
  const dir = checkpointDir(operationId)
  const read = async (kind: string, specs: tf.io.WeightsManifestEntry[]): Promise<NamedTensor[]> => {
    const raw = await store.getItemRaw(`${dir}/${kind}-${manifest.generation}.bin`)
    if (raw == null) throw new Error(`Checkpoint ${dir} generation ${manifest.generation} lacks ${kind}`)
    const map = tf.io.decodeWeights(toArrayBuffer(raw), specs)
    return specs.map((s) => ({ name: s.name, tensor: map[s.name] }))
  }
  const weights = (await read('weights', manifest.weights)).map((n) => n.tensor)
  const optimizer = manifest.optimizer.length ? await read('optimizer', manifest.optimizer) : []
  const best = manifest.best ? (await read('best', manifest.best)).map((n) => n.tensor) : null
  return { state: manifest.state, weights, optimizer, best }
}

/** A finished training needs no checkpoint (docs/domain.md#training-checkpoints: deleted on success). */
export async function removeCheckpoint(store: Storage, operationId: string): Promise<void> {
  const dir = checkpointDir(operationId)
  const keys = await store.getKeys(`${dir}:`)
  await Promise.all(keys.map((k) => store.removeItem(k)))
}
