// Network architecture resolved from a strategy's `model` section (docs/domain.md#model-section) plus what the data says
// (input width, number of outputs). Defaults live here and nowhere else.
import { createKtrdrError } from '../index.ts'

export type ModelType = 'mlp' | 'lstm' | 'gru'
export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'leaky_relu'
export type OutputKind = 'classification' | 'regression'

export interface ModelSpec {
  type: ModelType
  inputSize: number
  /** 3 (BUY/HOLD/SELL), 4 (regime) or 1 (regression). */
  outputSize: number
  outputKind: OutputKind
  /** MLP only. */
  hiddenLayers: number[]
  activation: Activation
  dropout: number
  /** 1 for MLP: one feature row per sample. LSTM/GRU: rows per input window. */
  sequenceLength: number
  hiddenSize: number
  numLayers: number
  /** Seeds weight initialisation and dropout masks. */
  seed: number
}

export interface ModelSection {
  type?: string
  architecture?: Record<string, unknown>
}

const ACTIVATIONS: Activation[] = ['relu', 'tanh', 'sigmoid', 'leaky_relu']

function posInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw createKtrdrError('STRATEGY_INVALID', `model.architecture.${what} must be a positive integer, got ${JSON.stringify(value)}`)
  return value
}

export function resolveModelSpec(
  section: ModelSection | undefined,
  shape: { inputSize: number; outputSize: number; outputKind: OutputKind; seed: number },
): ModelSpec {
  const type = (section?.type ?? 'mlp').toLowerCase()
  if (type !== 'mlp' && type !== 'lstm' && type !== 'gru')
    throw createKtrdrError('STRATEGY_INVALID', `model.type "${section?.type}" is not supported: use mlp, lstm or gru`)
  const arch = section?.architecture ?? {}
  const dropout = arch.dropout === undefined ? 0.2 : Number(arch.dropout)
  if (!(dropout >= 0 && dropout < 1))
    throw createKtrdrError('STRATEGY_INVALID', `model.architecture.dropout must be in [0, 1), got ${JSON.stringify(arch.dropout)}`)
  const activation = ((arch.activation as string | undefined) ?? 'relu').toLowerCase() as Activation
  if (!ACTIVATIONS.includes(activation))
    throw createKtrdrError(
      'STRATEGY_INVALID',
      `model.architecture.activation "${arch.activation}" is not supported: use ${ACTIVATIONS.join(', ')}`,
    )
  const base = {
    inputSize: shape.inputSize,
    outputSize: shape.outputSize,
    outputKind: shape.outputKind,
    seed: shape.seed >>> 0,
    dropout,
    activation,
  }
  if (type === 'mlp') {
    const layers = arch.hidden_layers ?? [64, 32]
    if (!Array.isArray(layers) || layers.length === 0)
      throw createKtrdrError('STRATEGY_INVALID', 'model.architecture.hidden_layers must be a non-empty list of layer sizes for an mlp')
    return {
      ...base,
      type,
      hiddenLayers: layers.map((n, i) => posInt(n, `hidden_layers[${i}]`)),
      sequenceLength: 1,
      hiddenSize: 0,
      numLayers: layers.length,
    }
  }
  if (arch.hidden_layers !== undefined)
    throw createKtrdrError('STRATEGY_INVALID', `model.architecture.hidden_layers is for mlp; ${type} takes hidden_size and num_layers`)
  if (arch.sequence_length === undefined)
    throw createKtrdrError('STRATEGY_INVALID', `model.architecture.sequence_length is required for ${type}`)
  return {
    ...base,
    type,
    hiddenLayers: [],
    sequenceLength: posInt(arch.sequence_length, 'sequence_length'),
    hiddenSize: posInt(arch.hidden_size ?? 64, 'hidden_size'),
    numLayers: posInt(arch.num_layers ?? 2, 'num_layers'),
  }
}
