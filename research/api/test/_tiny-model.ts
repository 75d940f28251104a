// A real model version, as small as one can be, in a gateway's storage: what the model routes and
// the model commands list, tag and compare. Callers run useTfBackend() first.
import type { KtrdrStorage } from '../../../storage/index.ts'
import { buildModel, resolveModelSpec, saveModelVersion, type ModelMetadata } from '../../../trading/model/index.ts'

export interface TinyModel {
  strategy: string
  /** model.architecture of the strategy; default one hidden layer of 4. */
  architecture?: Record<string, unknown>
  /** metadata.json beside format, strategy_name, model_type and spec. */
  metadata: Record<string, unknown>
  metrics: Record<string, unknown>
}

/** An MLP 3 → … → 3 saved as the next 1h version of `strategy`. */
export async function saveTinyModel(storage: Pick<KtrdrStorage, 'models' | 'options'>, m: TinyModel) {
  const spec = resolveModelSpec({ type: 'mlp', architecture: m.architecture ?? { hidden_layers: [4] } } as never, {
    inputSize: 3,
    outputSize: 3,
    outputKind: 'classification',
    seed: 1,
  })
  const model = buildModel(spec)
  const metadata = { format: 'ktrdr-tfjs-1', strategy_name: m.strategy, model_type: 'mlp', spec, ...m.metadata }
  try {
    return await saveModelVersion(storage, {
      strategyName: m.strategy,
      timeframe: '1h',
      model,
      metadata: metadata as unknown as Omit<ModelMetadata, 'model_name'>,
      metrics: m.metrics,
    })
  } finally {
    model.dispose()
  }
}
