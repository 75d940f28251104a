import { createHash } from 'node:crypto'
import type { Storage } from 'unstorage'
import type { KtrdrStorage } from '../../storage/index.ts'
import { MODEL_FILES, modelDirName, recordModelVersion, resolveModelKey, type ModelWant, type ResolvedModelReference } from '../index.ts'
import { claimModelVersion } from './_versions.ts'
import { registerModelLayers } from './_dropout.ts'
import type { ModelMetadata } from './metadata.ts'
import type { ModelSpec } from './spec.ts'
import { useTfBackend } from './backend.ts'
import { tf } from './tf.ts'
import { KtrdrError, createKtrdrError, isKtrdrError } from '../index.ts'

export interface LoadedModel {
  model: tf.LayersModel
  metadata: ModelMetadata
  spec: ModelSpec
  /** `<strategy>/<tf>_v<N>`, relative to the models mount. */
  key: string
  /** How a reference (`…_latest`, `…@<tag>`) was resolved; absent when a version or path was given. */
  reference?: ResolvedModelReference
}

function toBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (!data) return new Uint8Array(0)
  const parts = Array.isArray(data) ? data : [data]
  return Buffer.concat(parts.map((p) => new Uint8Array(p)))
}

function toArrayBuffer(raw: unknown): ArrayBuffer {
  if (raw instanceof ArrayBuffer) return raw
  if (ArrayBuffer.isView(raw)) return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer
  throw createKtrdrError('MODEL_CORRUPT', 'Stored model weights are not binary data')
}

/** sha256 and size of each model file, recorded in metadata.json at save and checked at load. */
export type ModelArtifactSums = Record<string, { sha256: string; bytes: number }>

function sumOf(data: Uint8Array): { sha256: string; bytes: number } {
  return { sha256: createHash('sha256').update(data).digest('hex'), bytes: data.byteLength }
}

/**
 * A tf.io handler writing `model.json` + `weights.bin` under a key prefix of any unstorage mount;
 * `sums` receives the sha256 of what was written, for the metadata.
 */
export function storageSaveHandler(models: Storage, dirKey: string, sums: ModelArtifactSums = {}): tf.io.IOHandler {
  return {
    async save(artifacts) {
      const weights = toBytes(artifacts.weightData)
      const json = Buffer.from(
        JSON.stringify({
          format: artifacts.format ?? 'layers-model',
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy ?? null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        }),
      )
      await models.setItemRaw(`${dirKey}/weights.bin`, weights)
      await models.setItemRaw(`${dirKey}/model.json`, json)
      sums['weights.bin'] = sumOf(weights)
      sums['model.json'] = sumOf(json)
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) }
    },
  }
}

function corrupt(dirKey: string, problem: string, cause?: unknown): KtrdrError {
  return new KtrdrError({
    code: 'MODEL_CORRUPT',
    cause,
    message: `Model models/${dirKey} is damaged: ${problem}. Train it again (or restore the version from a backup)`,
    details: { model: dirKey },
  })
}

/** Raw bytes of a model file, checked against its recorded sha256 when there is one. */
async function readVerified(models: Storage, dirKey: string, file: string, sums: ModelArtifactSums | undefined): Promise<Uint8Array> {
  const raw = await models.getItemRaw(`${dirKey}/${file}`)
  if (raw == null) throw corrupt(dirKey, `${file} is missing`)
  const bytes = typeof raw === 'string' ? Buffer.from(raw) : new Uint8Array(toArrayBuffer(raw))
  const expected = sums?.[file]
  if (!expected) return bytes
  const actual = sumOf(bytes)
  if (actual.bytes !== expected.bytes)
    throw corrupt(dirKey, `${file} has ${actual.bytes} bytes, ${expected.bytes} were saved (truncated or overwritten)`)
  if (actual.sha256 !== expected.sha256) throw corrupt(dirKey, `${file} does not match the sha256 recorded when it was saved`)
  return bytes
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 }

/** Bytes the weight specs need: a shorter or longer file cannot be these weights. Null when not computable (quantized, strings). */
function expectedWeightBytes(specs: tf.io.WeightsManifestEntry[]): number | null {
  let total = 0
  for (const w of specs) {
    const size = DTYPE_BYTES[w.dtype]
    if (!size || w.quantization) return null
    total += w.shape.reduce((a, b) => a * b, 1) * size
  }
  return total
}

/** Loads `model.json` + `weights.bin`; with `sums` (metadata.artifacts) each is verified first. */
export function storageLoadHandler(models: Storage, dirKey: string, sums?: ModelArtifactSums): tf.io.IOHandler {
  return {
    async load() {
      const jsonBytes = await readVerified(models, dirKey, 'model.json', sums)
      let json: {
        modelTopology: object
        weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>
        format?: string
        generatedBy?: string
      }
      try {
        json = JSON.parse(Buffer.from(jsonBytes).toString('utf8'))
      } catch (cause) {
        throw corrupt(dirKey, 'model.json is not valid JSON', cause)
      }
      if (!json || typeof json !== 'object' || !Array.isArray(json.weightsManifest))
        throw corrupt(dirKey, 'model.json has no weightsManifest')
      const weights = await readVerified(models, dirKey, 'weights.bin', sums)
      const weightSpecs = json.weightsManifest.flatMap((g) => g.weights)
      const needed = expectedWeightBytes(weightSpecs)
      if (needed !== null && weights.byteLength !== needed)
        throw corrupt(dirKey, `weights.bin has ${weights.byteLength} bytes where model.json needs ${needed}`)
      return {
        modelTopology: json.modelTopology,
        weightSpecs,
        weightData: toArrayBuffer(weights),
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
 * metrics.json) and then moves the latest pointer of its symbol set to it. metadata.json is
 * written last: a version without it is incomplete (crashed mid-save) and loadModel refuses it.
 */
export async function saveModelVersion(
  storage: Pick<KtrdrStorage, 'models' | 'options'>,
  input: SaveModelInput,
): Promise<{ version: number; key: string }> {
  const { version, key } = await claimModelVersion(storage, input.strategyName, input.timeframe, {
    operation_id: input.metadata.operation_id,
  })
  const artifacts: ModelArtifactSums = {}
  await input.model.save(storageSaveHandler(storage.models, key, artifacts))
  await storage.models.setItem(`${key}/${MODEL_FILES.metrics}`, JSON.stringify(input.metrics))
  const metadata: ModelMetadata = { ...input.metadata, model_name: key, artifacts }
  await storage.models.setItem(`${key}/${MODEL_FILES.metadata}`, JSON.stringify(metadata))
  await recordModelVersion(storage, input.strategyName, input.timeframe, version)
  return { version, key }
}

export interface LoadModelOptions extends ModelWant {
  onWarning?(message: string): void
}

/**
 * Loads a model version (any driver) with its metadata; backtests go through this. Files that do
 * not match the sha256s recorded at save (or, for models saved before those were recorded, that
 * tfjs cannot read) fail with MODEL_CORRUPT, never a silent load of garbage weights.
 */
export async function loadModel(
  target: Storage | Pick<KtrdrStorage, 'models' | 'options'>,
  ref: string,
  load: LoadModelOptions = {},
): Promise<LoadedModel> {
  const models = 'models' in target && 'options' in target ? target.models : (target as Storage)
  const options = 'options' in target ? (target as KtrdrStorage).options : undefined
  const mount = options?.mounts.models
  const modelsDir = mount && mount.driver === 'fs' && 'base' in mount ? mount.base : undefined
  const { key, reference } = await resolveModelKey(models, ref, modelsDir, { symbols: load.symbols, timeframe: load.timeframe })
  const metadata = await models.getItem<ModelMetadata>(`${key}/${MODEL_FILES.metadata}`)
  if (metadata == null)
    throw createKtrdrError('MODEL_NOT_FOUND', `No complete model at models/${key} (metadata.json missing): check the path or train again`)
  if (typeof metadata !== 'object' || !metadata.spec) throw corrupt(key, 'metadata.json is not a model description')
  if (!metadata.artifacts) load.onWarning?.(`Model ${key} was saved without file checksums (an older version): loading it unverified`)
  // Weights must land on the selected backend, not on whatever tfjs picked by default.
  await useTfBackend()
  registerModelLayers()
  const model = await tf.loadLayersModel(storageLoadHandler(models, key, metadata.artifacts)).catch((cause: unknown) => {
    throw isKtrdrError(cause) ? cause : corrupt(key, `tfjs could not load it (${(cause as Error).message})`, cause)
  })
  return { model, metadata, spec: metadata.spec, key, ...(reference ? { reference } : {}) }
}

export { modelDirName }
