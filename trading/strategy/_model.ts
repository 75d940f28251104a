import { STRATEGY_LIMITS } from './limits.ts'
import { describe, isObj, type Obj, type Reader } from './_context.ts'
import type { DecisionsConfig, ModelConfig } from './types.ts'

export function readModel(r: Reader, root: Obj): ModelConfig {
  const c = r.c
  const m = r.obj(root, 'model', [], true) ?? {}
  const type = (r.str(m, 'type', ['model'], { fallback: 'mlp', values: ['mlp', 'lstm', 'gru'] }) ?? 'mlp') as ModelConfig['type']
  const arch = r.obj(m, 'architecture', ['model']) ?? {}
  const path = ['model', 'architecture']
  if (m.features !== undefined) c.warn(['model', 'features'], 'model.features is a v1/v2 option and is ignored in v3')
  if (m.training !== undefined)
    c.warn(
      ['model', 'training'],
      'model.training is ignored in v3: put epochs, learning_rate, batch_size, early_stopping… under the top-level training section',
    )
  if (arch.output_activation !== undefined && arch.output_activation !== 'softmax')
    c.warn(
      [...path, 'output_activation'],
      'output_activation is ignored: the network outputs logits and softmax is applied at decision time',
    )
  if (type === 'mlp') {
    const hl = arch.hidden_layers
    let hidden: number[] = [64, 32]
    if (!Array.isArray(hl))
      c.error([...path, 'hidden_layers'], `mlp needs hidden_layers as a list of layer widths (e.g. [64, 32]), got ${describe(hl)}`)
    else if (!hl.every((v) => Number.isInteger(v) && (v as number) > 0))
      c.error([...path, 'hidden_layers'], 'every layer width must be a positive integer')
    else if (hl.length > STRATEGY_LIMITS.hiddenLayers)
      c.error([...path, 'hidden_layers'], `has ${hl.length} layers; at most ${STRATEGY_LIMITS.hiddenLayers} are accepted`)
    else if (hl.some((v) => (v as number) > STRATEGY_LIMITS.hiddenUnits))
      c.error(
        [...path, 'hidden_layers'],
        `a layer of ${Math.max(...(hl as number[]))} units; at most ${STRATEGY_LIMITS.hiddenUnits} per layer are accepted`,
      )
    else hidden = hl as number[]
    for (const k of ['sequence_length', 'hidden_size', 'num_layers'])
      if (arch[k] !== undefined) c.warn([...path, k], `${k} applies to lstm/gru and is ignored for mlp`)
    return {
      type,
      architecture: {
        hidden_layers: hidden,
        dropout: r.num(arch, 'dropout', path, { fallback: 0.2, min: 0, max: 1, exclusiveMax: true }),
        activation: (r.str(arch, 'activation', path, { fallback: 'relu', values: ['relu', 'tanh', 'sigmoid', 'leaky_relu'] }) ??
          'relu') as 'relu',
      },
    }
  }
  if (arch.hidden_layers !== undefined)
    c.error([...path, 'hidden_layers'], `${type} does not take hidden_layers: use hidden_size and num_layers`)
  return {
    type,
    architecture: {
      sequence_length: r.num(arch, 'sequence_length', path, { fallback: 20, int: true, min: 1, required: true }),
      hidden_size: r.num(arch, 'hidden_size', path, { fallback: 64, int: true, min: 1, max: STRATEGY_LIMITS.hiddenUnits }),
      num_layers: r.num(arch, 'num_layers', path, { fallback: 2, int: true, min: 1, max: STRATEGY_LIMITS.hiddenLayers }),
      dropout: r.num(arch, 'dropout', path, { fallback: 0.2, min: 0, max: 1, exclusiveMax: true }),
    },
  }
}

export function readDecisions(r: Reader, root: Obj): DecisionsConfig {
  const c = r.c
  const d = r.obj(root, 'decisions', [], true) ?? {}
  const path = ['decisions']
  const format = (r.str(d, 'output_format', path, { fallback: 'classification', values: ['classification', 'regression'] }) ??
    'classification') as DecisionsConfig['output_format']
  const filters = r.obj(d, 'filters', path) ?? {}
  const cm = r.obj(d, 'cost_model', path)
  if (format === 'regression') {
    if (!cm) c.error([...path, 'cost_model'], 'regression needs cost_model {round_trip_cost: >0, min_edge_multiplier: >0}')
    else
      for (const k of ['round_trip_cost', 'min_edge_multiplier'])
        if (cm[k] === undefined) c.error([...path, 'cost_model', k], 'is required for regression (a positive number)')
    if (d.confidence_threshold !== undefined)
      c.warn([...path, 'confidence_threshold'], 'confidence_threshold is ignored for regression (the cost model sets the trade threshold)')
  }
  const cost = cm ?? {}
  return {
    output_format: format,
    confidence_threshold: r.num(d, 'confidence_threshold', path, { fallback: 0.5, min: 0, max: 1 }),
    position_awareness: r.bool(d, 'position_awareness', path, true),
    allow_short_from_flat: r.bool(d, 'allow_short_from_flat', path, false),
    filters: {
      min_signal_separation: r.num(filters, 'min_signal_separation', [...path, 'filters'], { fallback: 4, min: 0 }),
      volume_filter: r.bool(filters, 'volume_filter', [...path, 'filters'], false),
    },
    cost_model: {
      round_trip_cost: r.num(cost, 'round_trip_cost', [...path, 'cost_model'], { fallback: 0.003, min: 0, exclusiveMin: true }),
      min_edge_multiplier: r.num(cost, 'min_edge_multiplier', [...path, 'cost_model'], { fallback: 1.5, min: 0, exclusiveMin: true }),
    },
    num_classes: format === 'regression' ? 1 : r.num(d, 'num_classes', path, { fallback: 3, int: true, min: 3, max: 3 }),
  }
}

export { isObj }
