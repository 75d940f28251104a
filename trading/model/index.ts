// Second entry of the trading core: the neural model on TensorFlow.js (backend choice, network
// build, save/load under the models mount, prediction). Kept apart from trading/index.ts so that
// what only reads data, strategies and features never loads tfjs.
export { tf, type LayersModel, type NamedTensor, type Tensor } from './tf.ts'
export {
  hasCudaDevice,
  packageVersion,
  resolveTfBackendOptions,
  useTfBackend,
  type TfBackendInfo,
  type TfBackendName,
  type TfBackendOptions,
} from './backend.ts'
export { resolveModelSpec, type Activation, type ModelSection, type ModelSpec, type ModelType, type OutputKind } from './spec.ts'
export { buildModel, countParameters } from './build.ts'
export type { ModelMetadata, ModelOutputType } from './metadata.ts'
export {
  loadModel,
  saveModelVersion,
  type LoadModelOptions,
  storageLoadHandler,
  storageSaveHandler,
  type LoadedModel,
  type SaveModelInput,
} from './io.ts'
export { DEFAULT_PREDICT_BATCH, fillSampleBatch, predictableRows, predictRaw, sampleShape, type SampleRows } from './predict.ts'
export { predictProbabilities, type Predictions } from './infer.ts'
// Model versions: train claims `<strategy>/<tf>_v<N>` before it writes, so two trainings never share N.
export { claimModelVersion, listVersions as listModelVersions } from './_versions.ts'
// Seeded dropout: train sets the step per batch so a resumed run draws the same masks; inference
// clears it. The fused trainer replays the masks from the layers' seeds.
export { dropoutSeeds, setDropoutStep } from './_dropout.ts'
