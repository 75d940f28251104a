import { isAbsolute, relative, resolve } from 'node:path'
import type { Storage } from 'unstorage'
import type { KtrdrStorage } from '../../storage/index.ts'
import { MODEL_FILES, modelDirName } from '../index.ts'
import { claimModelVersion, updateLatestPointer, type LatestPointer } from './_versions.ts'
import { registerModelLayers } from './_dropout.ts'
import type { ModelMetadata } from './metadata.ts'
import type { ModelSpec } from './spec.ts'
import { useTfBackend } from './backend.ts'
import { tf } from './tf.ts'

export interface LoadedModel {
  model: tf.LayersModel
  metadata: ModelMetadata
  spec: ModelSpec
  /** `<strategy>/<tf>_v<N>`, relative to the models mount. */
  key: string
}

function toBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (!data) return new Uint8Array(0)
  const parts = Array.isArray(data) ? data : [data]
  return Buffer.concat(parts.map((p) => new Uint8Array(p)))
}

function toArrayBuffer(raw: unknown): ArrayBuffer {
  if (raw instanceof ArrayBuffer) return raw
  if (ArrayBuffer.isView(raw)) return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer
  throw new Error('Stored model weights are not binary data')
}

/** A tf.io handler writing `model.json` + `weights.bin` under a key prefix of any unstorage mount. */
export function storageSaveHandler(models: Storage, dirKey: string): tf.io.IOHandler {
  return {
    async save(artifacts) {
      await models.setItemRaw(`${dirKey}/weights.bin`, toBytes(artifacts.weightData))
      await models.setItem(`${dirKey}/model.json`, JSON.stringify({
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      }))
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) }
    },
  }
}

export function storageLoadHandler(models: Storage, dirKey: string): tf.io.IOHandler {
  return {
    async load() {
      const json = await models.getItem<{ modelTopology: object; weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>; format?: string; generatedBy?: string }>(`${dirKey}/model.json`)
      if (!json || typeof json !== 'object') throw new Error(`No model.json under models/${dirKey}`)
      const raw = await models.getItemRaw(`${dirKey}/weights.bin`)
      if (raw == null) throw new Error(`No weights.bin under models/${dirKey}`)
      return {
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: toArrayBuffer(raw),
        format: json.format,
        generatedBy: json.generatedBy,
      }
    },
  }
}

export interface SaveModelInput {
  strategyName: string
  timeframe: string
  model: tf.LayersModel
  /** model_name is filled in with the allocated version. */
  metadata: Omit<ModelMetadata, 'model_name'>
  metrics: Record<string, unknown>
}

/**
 * Writes a new immutable version `<strategy>/<tf>_v<N>/` (model.json, weights.bin, metadata.json,
 * metrics.json) and then moves `<tf>_latest` to it. metadata.json is written last: a version
 * without it is incomplete (crashed mid-save) and loadModel refuses it.
 */
export async function saveModelVersion(storage: Pick<KtrdrStorage, 'models' | 'options'>, input: SaveModelInput): Promise<{ version: number; key: string }> {
  const { version, key } = await claimModelVersion(storage, input.strategyName, input.timeframe, { operation_id: input.metadata.operation_id })
  await input.model.save(storageSaveHandler(storage.models, key))
  await storage.models.setItem(`${key}/${MODEL_FILES.metrics}`, JSON.stringify(input.metrics))
  const metadata: ModelMetadata = { ...input.metadata, model_name: key }
  await storage.models.setItem(`${key}/${MODEL_FILES.metadata}`, JSON.stringify(metadata))
  await updateLatestPointer(storage, input.strategyName, input.timeframe)
  return { version, key }
}

/**
 * Resolves a model reference to its version key: `strategy/1h_v3`, `strategy/1h_latest`,
 * `models/strategy/1h_v3` (the model_path of a training result), or an absolute path under the
 * models directory when that mount is on fs.
 */
export async function resolveModelKey(models: Storage, ref: string, modelsDir?: string): Promise<string> {
  let key = ref.trim()
  if (isAbsolute(key)) {
    if (!modelsDir) throw new Error(`Model path ${ref} is absolute but the models mount is not a local directory: pass <strategy>/<tf>_v<N>`)
    const rel = relative(resolve(modelsDir), resolve(key))
    if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`Model path ${ref} is not under the models directory ${modelsDir}`)
    key = rel
  }
  key = key.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '')
  if (key.startsWith('models/') && !(await models.hasItem(`${key}/${MODEL_FILES.metadata}`))) key = key.slice('models/'.length)
  const latest = /^(.+)\/([^/]+)_latest$/.exec(key)
  if (latest) {
    const pointer = await models.getItem<LatestPointer>(key)
    if (!pointer || typeof pointer !== 'object' || typeof pointer.key !== 'string') throw new Error(`No trained model yet for ${latest[1]} on ${latest[2]}: models/${key} does not exist; train the strategy first`)
    key = pointer.key
  }
  return key
}

/** Loads a model version (any driver) with its metadata; backtests go through this. */
export async function loadModel(target: Storage | Pick<KtrdrStorage, 'models' | 'options'>, ref: string): Promise<LoadedModel> {
  const models = 'models' in target && 'options' in target ? target.models : (target as Storage)
  const options = 'options' in target ? (target as KtrdrStorage).options : undefined
  const mount = options?.mounts.models
  const modelsDir = mount && mount.driver === 'fs' && 'base' in mount ? mount.base : undefined
  const key = await resolveModelKey(models, ref, modelsDir)
  const metadata = await models.getItem<ModelMetadata>(`${key}/${MODEL_FILES.metadata}`)
  if (!metadata || typeof metadata !== 'object') throw new Error(`No complete model at models/${key} (metadata.json missing): check the path or train again`)
  // Weights must land on the selected backend, not on whatever tfjs picked by default.
  await useTfBackend()
  registerModelLayers()
  const model = await tf.loadLayersModel(storageLoadHandler(models, key))
  return { model, metadata, spec: metadata.spec, key }
}

export { modelDirName }
