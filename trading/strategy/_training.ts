import { describe, isObj, type Obj, type Path, type Reader } from './_context.ts'
import { DATA_SPLIT, EARLY_STOPPING, LABEL_OPTIONS, LABEL_SOURCES, LR_SCHEDULER, MODEL_TRAINING_KEYS, TRAINING_OPTIONS } from './grammar.ts'
import type { DecisionsConfig, LabelsConfig, LrSchedulerConfig, TrainingConfig, TrainingOptionKey, TrainingOptionSource } from './types.ts'

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
      const o = LABEL_OPTIONS.triple_barrier
      const vm = r.str(l, 'vol_method', path, { fallback: o.vol_method.default }) ?? 'atr'
      const cusum = l.cusum_threshold
      if (cusum !== undefined && cusum !== null && (typeof cusum !== 'number' || !Number.isFinite(cusum)))
        c.error([...path, 'cusum_threshold'], `expected a number (>0 fixed, ≤0 automatic), got ${describe(cusum)}`)
      return {
        source,
        pt_multiplier: r.option(l, 'pt_multiplier', path, o.pt_multiplier),
        sl_multiplier: r.option(l, 'sl_multiplier', path, o.sl_multiplier),
        max_holding_period: r.option(l, 'max_holding_period', path, o.max_holding_period),
        vol_span: r.option(l, 'vol_span', path, o.vol_span),
        vol_method: vm === 'atr' ? 'atr' : 'log_return',
        compute_weights: r.option(l, 'compute_weights', path, o.compute_weights),
        cusum_threshold: typeof cusum === 'number' && Number.isFinite(cusum) ? cusum : null,
        cusum_multiplier: r.option(l, 'cusum_multiplier', path, o.cusum_multiplier),
        embargo_pct: r.option(l, 'embargo_pct', path, o.embargo_pct),
      }
    }
    case 'forward_return':
      return { source, horizon: r.option(l, 'horizon', path, LABEL_OPTIONS.forward_return.horizon) }
    case 'context': {
      const o = LABEL_OPTIONS.context
      return {
        source,
        horizon: r.option(l, 'horizon', path, o.horizon),
        bullish_threshold: r.option(l, 'bullish_threshold', path, o.bullish_threshold),
        bearish_threshold: r.option(l, 'bearish_threshold', path, o.bearish_threshold),
      }
    }
    default: {
      const o = LABEL_OPTIONS.zigzag
      // KTRDR's segment labeller ignores it too (quirk 10): nothing to fix, so a note.
      if (l.label_lookahead !== undefined)
        c.note(
          [...path, 'label_lookahead'],
          'label_lookahead has no effect on zigzag labels, as in KTRDR: the segment labeller runs pivot to pivot',
        )
      return {
        source: 'zigzag',
        zigzag_threshold: r.option(l, 'zigzag_threshold', path, o.zigzag_threshold),
        label_lookahead: l.label_lookahead === undefined ? null : r.option(l, 'label_lookahead', path, o.label_lookahead),
      }
    }
  }
}

function readScheduler(r: Reader, v: unknown, path: Path): LrSchedulerConfig | null {
  const o = LR_SCHEDULER
  const defaults: LrSchedulerConfig = {
    type: o.type.default as LrSchedulerConfig['type'],
    factor: o.factor.default,
    patience: o.patience.default,
    step_size: o.step_size.default,
    gamma: o.gamma.default,
    min_lr: o.min_lr.default,
  }
  if (v === undefined || v === null || v === false) return null
  if (v === true) return defaults
  if (!isObj(v)) {
    r.c.error(path, `expected true or a mapping {type, ...}, got ${describe(v)}`)
    return null
  }
  return {
    type: r.option(v, 'type', path, o.type) as LrSchedulerConfig['type'],
    factor: r.option(v, 'factor', path, o.factor),
    patience: r.option(v, 'patience', path, o.patience),
    step_size: r.option(v, 'step_size', path, o.step_size),
    gamma: r.option(v, 'gamma', path, o.gamma),
    min_lr: r.option(v, 'min_lr', path, o.min_lr),
  }
}

/** `gradient_clip: null` means "off", so null counts as set there; elsewhere null is absent. */
const isSet = (o: Obj, key: string) => o[key] !== undefined && (o[key] !== null || key === 'gradient_clip')
const show = (v: unknown) => JSON.stringify(v)

/**
 * The optimisation options may sit in the training section or, KTRDR's legacy place, in
 * model.training (docs/decisions.md#model-training). Key by key the training section wins, then
 * model.training, then the default; a key set differently in both warns.
 */
function optionSources(r: Reader, root: Obj, t: Obj) {
  const c = r.c
  const legacyPath = ['model', 'training']
  const legacy = (isObj(root.model) ? r.obj(root.model, 'training', ['model']) : undefined) ?? {}
  const keys: readonly string[] = MODEL_TRAINING_KEYS
  for (const k of Object.keys(legacy))
    if (!keys.includes(k))
      c.warn([...legacyPath, k], `model.training.${k} is not read: model.training takes ${keys.join(', ')}; the rest goes under training`)
  const sources = {} as Record<TrainingOptionKey, TrainingOptionSource>
  const at = {} as Record<TrainingOptionKey, { obj: Obj; path: Path }>
  for (const k of MODEL_TRAINING_KEYS) {
    if (isSet(t, k)) {
      sources[k] = 'training'
      at[k] = { obj: t, path: ['training'] }
      if (isSet(legacy, k) && show(legacy[k]) !== show(t[k]))
        c.warn([...legacyPath, k], `model.training.${k} (${show(legacy[k])}) is overridden by training.${k} (${show(t[k])})`)
    } else if (isSet(legacy, k)) {
      sources[k] = 'model.training'
      at[k] = { obj: legacy, path: legacyPath }
    } else {
      sources[k] = 'default'
      at[k] = { obj: t, path: ['training'] }
    }
  }
  return { sources, at }
}

export function readTraining(r: Reader, root: Obj, format: DecisionsConfig['output_format']): TrainingConfig {
  const c = r.c
  const t = r.obj(root, 'training', [], true) ?? {}
  const path = ['training']
  const { sources, at } = optionSources(r, root, t)
  const o = TRAINING_OPTIONS
  const lossValues = format === 'regression' ? ['huber', 'mse'] : ['cross_entropy', 'focal']
  const loss = (r.str(t, 'loss', path, { fallback: lossValues[0], values: lossValues }) ?? lossValues[0]) as TrainingConfig['loss']
  const split = r.obj(t, 'data_split', path) ?? {}
  const splitPath = [...path, 'data_split']
  const data_split = {
    train: r.option(split, 'train', splitPath, DATA_SPLIT.train),
    validation: r.option(split, 'validation', splitPath, DATA_SPLIT.validation),
    test: r.option(split, 'test', splitPath, DATA_SPLIT.test),
  }
  const sum = data_split.train + data_split.validation + data_split.test
  if (Math.abs(sum - 1) > 1e-6) c.error([...path, 'data_split'], `train + validation + test must be 1, got ${+sum.toFixed(6)}`)
  if (t.validation_split !== undefined)
    c.warn([...path, 'validation_split'], 'validation_split is ignored: use data_split {train, validation, test}')

  let early: TrainingConfig['early_stopping'] = null
  const esValue = at.early_stopping.obj.early_stopping
  if (esValue !== undefined && esValue !== null && esValue !== false) {
    const p = [...at.early_stopping.path, 'early_stopping']
    const es =
      esValue === true
        ? {}
        : isObj(esValue)
          ? esValue
          : (c.error(p, `expected a mapping {patience, min_delta, monitor}, got ${describe(esValue)}`), {})
    early = {
      enabled: r.option(es, 'enabled', p, EARLY_STOPPING.enabled),
      patience: r.option(es, 'patience', p, EARLY_STOPPING.patience),
      min_delta: r.option(es, 'min_delta', p, EARLY_STOPPING.min_delta),
      monitor: r.option(es, 'monitor', p, EARLY_STOPPING.monitor) as 'val_loss',
    }
  }
  const clip = at.gradient_clip
  const gradient_clip =
    clip.obj.gradient_clip === false || clip.obj.gradient_clip === null
      ? null
      : r.option(clip.obj, 'gradient_clip', clip.path, o.gradient_clip)
  if (t.method !== undefined && t.method !== 'supervised')
    c.error([...path, 'method'], `only "supervised" is supported, got ${describe(t.method)}`)
  if (format === 'regression' && t.focal_gamma !== undefined)
    c.warn([...path, 'focal_gamma'], 'focal_gamma applies to classification and is ignored for regression')
  const opt = <K extends 'epochs' | 'learning_rate' | 'batch_size' | 'weight_decay'>(k: K) => r.option(at[k].obj, k, at[k].path, o[k])
  return {
    method: 'supervised',
    labels: readLabels(r, t, format),
    epochs: opt('epochs'),
    learning_rate: opt('learning_rate'),
    batch_size: opt('batch_size'),
    loss,
    focal_gamma: r.option(t, 'focal_gamma', path, o.focal_gamma),
    huber_delta: r.option(t, 'huber_delta', path, o.huber_delta),
    data_split,
    early_stopping: early,
    lr_scheduler: readScheduler(r, at.lr_scheduler.obj.lr_scheduler, [...at.lr_scheduler.path, 'lr_scheduler']),
    gradient_clip,
    optimizer: r.option(at.optimizer.obj, 'optimizer', at.optimizer.path, o.optimizer) as TrainingConfig['optimizer'],
    weight_decay: opt('weight_decay'),
    sources,
  }
}
