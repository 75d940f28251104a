import { STRATEGY_LIMITS } from './limits.ts'
import { describe, isObj, type Obj, type Reader } from './_context.ts'
import { COST_MODEL, DECISION_FILTERS, DECISIONS_OPTIONS, MLP_ARCHITECTURE, MODEL_OPTIONS, RNN_ARCHITECTURE } from './grammar.ts'
import type { DecisionsConfig, ModelConfig } from './types.ts'

export function readModel(r: Reader, root: Obj): ModelConfig {
  const c = r.c
  const m = r.obj(root, 'model', [], true) ?? {}
  const type = r.option(m, 'type', ['model'], MODEL_OPTIONS.type) as ModelConfig['type']
  const arch = r.obj(m, 'architecture', ['model']) ?? {}
  const path = ['model', 'architecture']
  // KTRDR's v3 path ignores model.features too: features are exactly the nn_inputs, so a note, not a warning.
  if (m.features !== undefined)
    c.note(
      ['model', 'features'],
      'model.features (v1/v2 lag features, price context, scaling) has no effect in v3, as in KTRDR: the features are exactly the nn_inputs',
    )
  // model.training is read by readTraining (legacy home of epochs, learning_rate, … ).
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
        dropout: r.option(arch, 'dropout', path, MLP_ARCHITECTURE.dropout),
        activation: r.option(arch, 'activation', path, MLP_ARCHITECTURE.activation) as 'relu',
      },
    }
  }
  if (arch.hidden_layers !== undefined)
    c.error([...path, 'hidden_layers'], `${type} does not take hidden_layers: use hidden_size and num_layers`)
  return {
    type,
    architecture: {
      sequence_length: r.option(arch, 'sequence_length', path, RNN_ARCHITECTURE.sequence_length),
      hidden_size: r.option(arch, 'hidden_size', path, RNN_ARCHITECTURE.hidden_size),
      num_layers: r.option(arch, 'num_layers', path, RNN_ARCHITECTURE.num_layers),
      dropout: r.option(arch, 'dropout', path, RNN_ARCHITECTURE.dropout),
    },
  }
}

export function readDecisions(r: Reader, root: Obj): DecisionsConfig {
  const c = r.c
  const d = r.obj(root, 'decisions', [], true) ?? {}
  const path = ['decisions']
  const format = r.option(d, 'output_format', path, DECISIONS_OPTIONS.output_format) as DecisionsConfig['output_format']
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
    confidence_threshold: r.option(d, 'confidence_threshold', path, DECISIONS_OPTIONS.confidence_threshold),
    position_awareness: r.option(d, 'position_awareness', path, DECISIONS_OPTIONS.position_awareness),
    allow_short_from_flat: r.option(d, 'allow_short_from_flat', path, DECISIONS_OPTIONS.allow_short_from_flat),
    filters: {
      min_signal_separation: r.option(filters, 'min_signal_separation', [...path, 'filters'], DECISION_FILTERS.min_signal_separation),
      volume_filter: r.option(filters, 'volume_filter', [...path, 'filters'], DECISION_FILTERS.volume_filter),
    },
    cost_model: {
      round_trip_cost: r.option(cost, 'round_trip_cost', [...path, 'cost_model'], COST_MODEL.round_trip_cost),
      min_edge_multiplier: r.option(cost, 'min_edge_multiplier', [...path, 'cost_model'], COST_MODEL.min_edge_multiplier),
    },
    num_classes: format === 'regression' ? 1 : r.option(d, 'num_classes', path, DECISIONS_OPTIONS.num_classes),
  }
}

export { isObj }
