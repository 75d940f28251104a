import { describe, isObj, type Obj, type Reader } from './_context.ts'
import type { DecisionsConfig, LabelsConfig, LrSchedulerConfig, TrainingConfig } from './types.ts'

const LABEL_SOURCES = ['zigzag', 'triple_barrier', 'forward_return', 'context', 'regime'] as const

function readLabels(r: Reader, t: Obj, format: DecisionsConfig['output_format']): LabelsConfig {
  const c = r.c
  const l = r.obj(t, 'labels', ['training']) ?? {}
  const path = ['training', 'labels']
  const fallback = format === 'regression' ? 'forward_return' : 'zigzag'
  const source = r.str(l, 'source', path, { fallback, values: LABEL_SOURCES }) ?? fallback
  if (source === 'regime') {
    c.error(
      [...path, 'source'],
      'regime labels (4-class, for ensemble routers) are not supported: use zigzag, triple_barrier, forward_return or context',
    )
  }
  if (format === 'regression' && source !== 'forward_return')
    c.error([...path, 'source'], `regression needs forward_return labels, got ${source}`)
  if (format === 'classification' && source === 'forward_return')
    c.error([...path, 'source'], 'forward_return labels are continuous: set decisions.output_format: regression')
  switch (source) {
    case 'triple_barrier': {
      const vm = r.str(l, 'vol_method', path, { fallback: 'atr' }) ?? 'atr'
      const cusum = l.cusum_threshold
      if (cusum !== undefined && cusum !== null && (typeof cusum !== 'number' || !Number.isFinite(cusum)))
        c.error([...path, 'cusum_threshold'], `expected a number (>0 fixed, ≤0 automatic), got ${describe(cusum)}`)
      return {
        source,
        pt_multiplier: r.num(l, 'pt_multiplier', path, { fallback: 2.0, min: 0, exclusiveMin: true }),
        sl_multiplier: r.num(l, 'sl_multiplier', path, { fallback: 1.5, min: 0, exclusiveMin: true }),
        max_holding_period: r.num(l, 'max_holding_period', path, { fallback: 50, int: true, min: 1 }),
        vol_span: r.num(l, 'vol_span', path, { fallback: 50, int: true, min: 1 }),
        vol_method: vm === 'atr' ? 'atr' : 'log_return',
        compute_weights: r.bool(l, 'compute_weights', path, false),
        cusum_threshold: typeof cusum === 'number' && Number.isFinite(cusum) ? cusum : null,
        cusum_multiplier: r.num(l, 'cusum_multiplier', path, { fallback: 0.5, min: 0, exclusiveMin: true }),
        embargo_pct: r.num(l, 'embargo_pct', path, { fallback: 0.01, min: 0, max: 0.5 }),
      }
    }
    case 'forward_return':
      return { source, horizon: r.num(l, 'horizon', path, { fallback: 20, int: true, min: 1 }) }
    case 'context':
      return {
        source,
        horizon: r.num(l, 'horizon', path, { fallback: 5, int: true, min: 1 }),
        bullish_threshold: r.num(l, 'bullish_threshold', path, { fallback: 0.005 }),
        bearish_threshold: r.num(l, 'bearish_threshold', path, { fallback: -0.005 }),
      }
    default: {
      if (l.label_lookahead !== undefined)
        c.warn([...path, 'label_lookahead'], 'label_lookahead is not used by the zigzag segment labeller (labels run pivot to pivot)')
      return {
        source: 'zigzag',
        zigzag_threshold: r.num(l, 'zigzag_threshold', path, { fallback: 0.02, min: 0, exclusiveMin: true, max: 1 }),
        label_lookahead: l.label_lookahead === undefined ? null : r.num(l, 'label_lookahead', path, { fallback: 20, int: true, min: 1 }),
      }
    }
  }
}

function readScheduler(r: Reader, t: Obj): LrSchedulerConfig | null {
  const v = t.lr_scheduler
  const defaults: LrSchedulerConfig = { type: 'reduce_on_plateau', factor: 0.5, patience: 5, step_size: 10, gamma: 0.95, min_lr: 1e-6 }
  if (v === undefined || v === null || v === false) return null
  if (v === true) return defaults
  if (!isObj(v)) {
    r.c.error(['training', 'lr_scheduler'], `expected true or a mapping {type, ...}, got ${describe(v)}`)
    return null
  }
  const path = ['training', 'lr_scheduler']
  return {
    type: (r.str(v, 'type', path, { fallback: 'reduce_on_plateau', values: ['step', 'exponential', 'reduce_on_plateau'] }) ??
      'reduce_on_plateau') as LrSchedulerConfig['type'],
    factor: r.num(v, 'factor', path, { fallback: 0.5, min: 0, max: 1, exclusiveMin: true, exclusiveMax: true }),
    patience: r.num(v, 'patience', path, { fallback: 5, int: true, min: 0 }),
    step_size: r.num(v, 'step_size', path, { fallback: 10, int: true, min: 1 }),
    gamma: r.num(v, 'gamma', path, { fallback: 0.95, min: 0, max: 1, exclusiveMin: true }),
    min_lr: r.num(v, 'min_lr', path, { fallback: 1e-6, min: 0 }),
  }
}

export function readTraining(r: Reader, root: Obj, format: DecisionsConfig['output_format']): TrainingConfig {
  const c = r.c
  const t = r.obj(root, 'training', [], true) ?? {}
  const path = ['training']
  const lossValues = format === 'regression' ? ['huber', 'mse'] : ['cross_entropy', 'focal']
  const loss = (r.str(t, 'loss', path, { fallback: lossValues[0], values: lossValues }) ?? lossValues[0]) as TrainingConfig['loss']
  const split = r.obj(t, 'data_split', path) ?? {}
  const data_split = {
    train: r.num(split, 'train', [...path, 'data_split'], { fallback: 0.7, min: 0, max: 1, exclusiveMin: true }),
    validation: r.num(split, 'validation', [...path, 'data_split'], { fallback: 0.15, min: 0, max: 1 }),
    test: r.num(split, 'test', [...path, 'data_split'], { fallback: 0.15, min: 0, max: 1 }),
  }
  const sum = data_split.train + data_split.validation + data_split.test
  if (Math.abs(sum - 1) > 1e-6) c.error([...path, 'data_split'], `train + validation + test must be 1, got ${+sum.toFixed(6)}`)
  if (t.validation_split !== undefined)
    c.warn([...path, 'validation_split'], 'validation_split is ignored: use data_split {train, validation, test}')
  let early: TrainingConfig['early_stopping'] = null
  if (t.early_stopping !== undefined && t.early_stopping !== null && t.early_stopping !== false) {
    const es =
      t.early_stopping === true
        ? {}
        : isObj(t.early_stopping)
          ? t.early_stopping
          : (c.error([...path, 'early_stopping'], `expected a mapping {patience, min_delta, monitor}, got ${describe(t.early_stopping)}`),
            {})
    const p = [...path, 'early_stopping']
    early = {
      enabled: r.bool(es, 'enabled', p, true),
      patience: r.num(es, 'patience', p, { fallback: 10, int: true, min: 1 }),
      min_delta: r.num(es, 'min_delta', p, { fallback: 0, min: 0 }),
      monitor: (r.str(es, 'monitor', p, { fallback: 'val_loss', values: ['val_loss', 'val_accuracy'] }) ?? 'val_loss') as 'val_loss',
    }
  }
  let gradient_clip: number | null = 1.0
  if (t.gradient_clip === false || t.gradient_clip === null) gradient_clip = null
  else gradient_clip = r.num(t, 'gradient_clip', path, { fallback: 1.0, min: 0, exclusiveMin: true })
  if (t.method !== undefined && t.method !== 'supervised')
    c.error([...path, 'method'], `only "supervised" is supported, got ${describe(t.method)}`)
  if (format === 'regression' && t.focal_gamma !== undefined)
    c.warn([...path, 'focal_gamma'], 'focal_gamma applies to classification and is ignored for regression')
  return {
    method: 'supervised',
    labels: readLabels(r, t, format),
    epochs: r.num(t, 'epochs', path, { fallback: 100, int: true, min: 1 }),
    learning_rate: r.num(t, 'learning_rate', path, { fallback: 0.001, min: 0, exclusiveMin: true }),
    batch_size: r.num(t, 'batch_size', path, { fallback: 32, int: true, min: 1 }),
    loss,
    focal_gamma: r.num(t, 'focal_gamma', path, { fallback: 2.0, min: 0 }),
    huber_delta: r.num(t, 'huber_delta', path, { fallback: 0.01, min: 0, exclusiveMin: true }),
    data_split,
    early_stopping: early,
    lr_scheduler: readScheduler(r, t),
    gradient_clip,
    optimizer: (r.str(t, 'optimizer', path, { fallback: 'adam', values: ['adam', 'adamw', 'sgd', 'rmsprop'] }) ??
      'adam') as TrainingConfig['optimizer'],
    weight_decay: r.num(t, 'weight_decay', path, { fallback: 0, min: 0 }),
  }
}
