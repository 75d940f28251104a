import { createHash } from 'node:crypto'
import type { FunctionContext } from '../../../runtime/function/index.ts'
import { KtrdrError } from '../../../trading/index.ts'
import { buildFeatureMatrix } from '../../../trading/index.ts'
import { buildLabels } from '../../../trading/index.ts'
import { useTfBackend } from '../../../trading/model/index.ts'
import { buildModel, countParameters } from '../../../trading/model/index.ts'
import { saveModelVersion } from '../../../trading/model/index.ts'
import type { ModelMetadata, ModelOutputType } from '../../../trading/model/index.ts'
import { resolveModelSpec } from '../../../trading/model/index.ts'
import { tf } from '../../../trading/model/index.ts'
import { loadCheckpoint, readCheckpointManifest, removeCheckpoint, saveCheckpoint } from './checkpoint.ts'
import { describeLoopSettings, loopSettingSources, resolveLoopConfig } from './config.ts'
import { prepareTrainingSet, type PreparedSet, type SymbolData } from './dataset.ts'
import { loadTrainingBars, readStrategyYaml, resolveStrategySource } from './inputs.ts'
import { evaluateSplit } from './evaluate.ts'
import { runTrainingLoop, type LoopSnapshot, type TrainingSet } from './loop.ts'
import { checkTrainingLabels } from './label-checks.ts'
import { resolveTrainingPathOptions, selectTrainingPath } from './path.ts'
import { classificationMetrics, regressionMetrics } from './metrics.ts'
import { buildTrainingResult, type TrainingResult } from './result.ts'
import type { TrainInput } from './schema.ts'

/** Share of the most frequent class among `rows` (null for regression): validation accuracy's baseline. */
function majorityShare(set: TrainingSet, rows: Int32Array, kind: string): number | null {
  if (kind === 'regression' || rows.length === 0) return null
  const counts = new Map<number, number>()
  for (const r of rows) counts.set(set.targets[r], (counts.get(set.targets[r]) ?? 0) + 1)
  return Math.max(...counts.values()) / rows.length
}

/** Per test sample, the forward return that settled at its bar (the label of the row `horizon` earlier, same symbol). */
function lastRealisedReturns(set: TrainingSet, perSymbol: PreparedSet['perSymbol'], horizon: number): Float64Array | undefined {
  if (!(horizon > 0)) return undefined
  const out = new Float64Array(set.test.length).fill(Number.NaN)
  set.test.forEach((r, i) => {
    const sym = perSymbol.findLast((p) => p.firstRow <= r)
    if (sym && r - horizon >= sym.firstRow) out[i] = set.targets[r - horizon]
  })
  return out
}

function inSampleRanges(perSymbol: PreparedSet['perSymbol']): Record<string, { start: string; end: string }> {
  const out: Record<string, { start: string; end: string }> = {}
  for (const p of perSymbol)
    if (p.in_sample)
      out[p.symbol] = { start: new Date(p.in_sample.start_ms).toISOString(), end: new Date(p.in_sample.end_ms).toISOString() }
  return out
}

// Progress bands: preparation 0–10 %, batches 10–95 %, evaluation and saving 95–100 %.
const PREP = 10
const TRAIN_END = 95

export async function runTraining(input: TrainInput, ctx: FunctionContext): Promise<TrainingResult> {
  const started = performance.now()
  const { signal, logger } = ctx
  const progress = (percentage: number, current_step: string, context: Record<string, unknown> = {}) =>
    ctx.progress({ percentage, current_step, context })

  progress(0, 'Loading strategy')
  const { yaml, name } = await readStrategyYaml(ctx.storage.strategies, input)
  const source = resolveStrategySource(yaml, input, name)
  const { strategy } = source
  const yamlName = (source.doc.name as unknown) ?? null
  if (name !== undefined && yamlName !== name)
    logger.info(
      `Strategy ${name}: its YAML says name: ${JSON.stringify(yamlName)}; the file name is its name, so the model goes under ${name}/`,
    )
  const td = strategy.training_data
  const range = {
    start: input.start_date ?? td.start_date ?? td.date_range?.start,
    end: input.end_date ?? td.end_date ?? td.date_range?.end,
  }

  // The backend must be active before the first tensor exists.
  const backend = await useTfBackend({ preferGpu: input.prefer_gpu })
  logger.info(`TensorFlow.js backend: ${backend.backend} (${backend.package})`)
  // Optional packages that are not installed (tfjs-node here) are the usual case: debug. A package
  // that is there and did not start is a setup to fix.
  if (backend.skipped.length) logger.debug(`TensorFlow.js backends skipped: ${backend.skipped.join('; ')}`)
  for (const failure of backend.failed) logger.warn(`TensorFlow.js backend did not start: ${failure}`)

  progress(2, 'Loading market data', { symbols: td.symbols, timeframes: td.timeframes })
  const bars = await loadTrainingBars(ctx.storage.data, strategy, range, signal)
  progress(5, 'Computing features and labels')
  const symbolData: SymbolData[] = []
  for (const [symbol, byTf] of bars.series) {
    signal.throwIfAborted()
    const matrix = buildFeatureMatrix(strategy, byTf, { signal })
    const labels = buildLabels(strategy.training.labels, byTf.get(td.base_timeframe)!)
    symbolData.push({ symbol, matrix, labels })
  }
  const labelCfg = strategy.training.labels
  const outputKind = strategy.decisions.output_format
  const outputType: ModelOutputType = labelCfg.source === 'context' ? 'context_classification' : outputKind
  const numClasses = symbolData[0].labels.numClasses
  const overrides = { epochs: input.epochs, checkpoint_every: input.checkpoint_every, batch_size: input.batch_size }
  const loopConfig = resolveLoopConfig(strategy.training, outputKind, { overrides })
  const settingSources = loopSettingSources(strategy.training, overrides)
  logger.info(describeLoopSettings(loopConfig, settingSources))
  const spec = resolveModelSpec(strategy.model, {
    inputSize: strategy.resolved_features.length,
    outputSize: outputKind === 'regression' ? 1 : numClasses,
    outputKind,
    seed: input.seed,
  })
  const prepared = prepareTrainingSet(symbolData, {
    split: loopConfig.data_split,
    sequenceLength: spec.sequenceLength,
    embargoPct: labelCfg.source === 'triple_barrier' ? labelCfg.embargo_pct : 0,
    useSampleWeights: labelCfg.source === 'triple_barrier' && labelCfg.compute_weights,
  })
  const { set } = prepared
  const classNames = labelCfg.source === 'context' ? ['BULLISH', 'BEARISH', 'NEUTRAL'] : ['BUY', 'HOLD', 'SELL']
  const warnings =
    outputKind === 'regression'
      ? []
      : checkTrainingLabels(
          set,
          labelCfg,
          numClasses,
          classNames,
          symbolData.map((d) => bars.series.get(d.symbol)!.get(td.base_timeframe)!.close),
        )
  for (const w of warnings) logger.warn(w.message)
  if (warnings.length && input.strict_labels) {
    throw new KtrdrError({
      code: 'LABELS_DEGENERATE',
      message: `Training data is degenerate: ${warnings.map((w) => w.message).join(' | ')}`,
      details: { warnings },
    })
  }
  const purged = prepared.purged
  if (purged.train + purged.validation + purged.unsettled)
    logger.info(
      `Purged labels reading past their split: train ${purged.train}, validation ${purged.validation}; unsettled at the data end ${purged.unsettled}`,
    )
  logger.info(
    `Samples: train ${set.train.length}, validation ${set.validation.length}, test ${set.test.length}; ${spec.inputSize} features; ${spec.type}`,
  )
  const trainingPath = selectTrainingPath(resolveTrainingPathOptions(input.training_path), backend, spec, loopConfig)
  logger.info(`Training path: ${trainingPath.path} (${trainingPath.reason})`)

  // What a checkpoint depends on: resuming a different strategy, data or seed is refused. The
  // backend is not part of it: weights move between hosts (a GPU host may pick up what a CPU
  // host started); only bit-for-bit equality with an uninterrupted run needs the same backend.
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([yaml, bars.sha256, input.seed, spec, loopConfig.batch_size]))
    .digest('hex')
  let resume: LoopSnapshot | undefined
  if (ctx.attempt > 1 || input.resume) {
    const manifest = await readCheckpointManifest(ctx.storage.checkpoints, ctx.operationId)
    if (manifest && manifest.fingerprint === fingerprint) {
      resume = await loadCheckpoint(ctx.storage.checkpoints, ctx.operationId, manifest)
      logger.info(`Resuming ${ctx.operationId} from its checkpoint: epoch ${manifest.state.epoch}, batch ${manifest.state.batch}`)
      if (manifest.backend && manifest.backend !== backend.backend)
        logger.info(`The checkpoint was written on the ${manifest.backend} backend; continuing on ${backend.backend}`)
    } else if (manifest)
      logger.warn('Ignoring the checkpoint of this operation: it was made from a different strategy, data, seed or batch size')
    else if (input.resume) logger.warn(`No checkpoint for ${ctx.operationId}: training from scratch`)
  }
  const resumedFrom = resume ? { epoch: resume.state.epoch, batch: resume.state.batch } : null

  const model = buildModel(spec)
  const totalBatches = loopConfig.epochs * Math.ceil(set.train.length / loopConfig.batch_size)
  let lastEpoch: Record<string, unknown> = {}
  try {
    const loop = await runTrainingLoop(model, spec, set, loopConfig, {
      seed: input.seed,
      resume,
      path: trainingPath.path,
      hooks: {
        signal,
        onBatch({ epoch, epochs, batch, batches }) {
          const done = (epoch - 1) * batches + batch
          progress(PREP + ((TRAIN_END - PREP) * done) / totalBatches, `Epoch ${epoch}/${epochs}`, {
            epoch,
            total_epochs: epochs,
            batch,
            total_batches: batches,
            ...lastEpoch,
          })
        },
        onEpoch(record) {
          lastEpoch = {
            train_loss: record.train_loss,
            train_accuracy: record.train_accuracy,
            val_loss: record.val_loss,
            val_accuracy: record.val_accuracy,
            learning_rate: record.learning_rate,
          }
          logger.info(
            `Epoch ${record.epoch}/${loopConfig.epochs}: loss ${record.train_loss.toFixed(4)} acc ${record.train_accuracy.toFixed(3)} | val loss ${record.val_loss.toFixed(4)} acc ${record.val_accuracy.toFixed(3)} | lr ${record.learning_rate.toExponential(2)}`,
          )
          progress(PREP + ((TRAIN_END - PREP) * record.epoch) / loopConfig.epochs, `Epoch ${record.epoch}/${loopConfig.epochs}`, {
            epoch: record.epoch,
            total_epochs: loopConfig.epochs,
            ...lastEpoch,
          })
        },
        async checkpoint(snapshot, reason) {
          try {
            await saveCheckpoint(ctx.storage.checkpoints, ctx.operationId, fingerprint, snapshot, reason, backend.backend)
          } catch (error) {
            logger.warn(`Could not save the ${reason} checkpoint: ${String(error)}`)
            throw error
          }
          logger.info(
            `Checkpoint (${reason}) at epoch ${snapshot.state.epoch}${snapshot.state.batch ? `, batch ${snapshot.state.batch}` : ''}`,
          )
        },
      },
    })
    if (resume) tf.dispose([...resume.weights, ...resume.optimizer.map((n) => n.tensor), ...(resume.best ?? [])])

    progress(TRAIN_END, 'Evaluating on the test split')
    const test = await evaluateSplit(model, spec, set, set.test, loop.loss, signal)
    loop.disposeLoss()
    const testTargets = Array.from(set.test, (r) => set.targets[r])
    const testMetrics =
      outputKind === 'regression'
        ? regressionMetrics(
            test.outputs,
            testTargets,
            test.loss,
            lastRealisedReturns(set, prepared.perSymbol, labelCfg.source === 'forward_return' ? labelCfg.horizon : 0),
          )
        : classificationMetrics(
            test.outputs,
            testTargets,
            spec.outputSize,
            test.loss,
            labelCfg.source === 'context' ? classNames : undefined,
          )

    progress(97, 'Saving model')
    const params = countParameters(model)
    const history = loop.state.history
    const metadata: Omit<ModelMetadata, 'model_name'> = {
      format: 'ktrdr-tfjs-1',
      strategy_name: strategy.name,
      strategy_version: strategy.version,
      created_at: new Date().toISOString(),
      model_type: spec.type,
      sequence_length: spec.type === 'mlp' ? null : spec.sequenceLength,
      output_type: outputType,
      spec,
      resolved_features: strategy.resolved_features,
      normalization_params: prepared.normalization,
      strategy_yaml: yaml,
      decisions: strategy.decisions as unknown as Record<string, unknown>,
      labels: labelCfg as unknown as Record<string, unknown>,
      training: {
        ...loopConfig,
        settings_from: settingSources,
        class_weights: loop.classWeights ? Array.from(loop.classWeights) : null,
        training_path: loop.path,
      },
      training_symbols: td.symbols,
      training_timeframes: td.timeframes,
      base_timeframe: td.base_timeframe,
      data: {
        start_date: bars.start_date,
        end_date: bars.end_date,
        sha256: bars.sha256,
        synthetic: bars.synthetic,
        samples: { train: set.train.length, validation: set.validation.length, test: set.test.length },
        in_sample: inSampleRanges(prepared.perSymbol),
        purged: prepared.purged,
      },
      seed: input.seed,
      backend: backend.backend,
      package_versions: { ...backend.versions, node: process.versions.node },
      operation_id: ctx.operationId,
    }
    const metrics = {
      history,
      test_metrics: testMetrics,
      best_epoch: loop.state.best_epoch,
      early_stopped: loop.state.stopped_early,
      val_majority_baseline: majorityShare(set, set.validation, outputKind),
      warnings,
    }
    const saved = await saveModelVersion(ctx.storage, {
      strategyName: strategy.name,
      timeframe: td.base_timeframe,
      model,
      metadata,
      metrics,
    })
    await removeCheckpoint(ctx.storage.checkpoints, ctx.operationId).catch((error) =>
      logger.warn(`Could not remove the checkpoint: ${String(error)}`),
    )
    progress(100, 'Done', { model_path: `models/${saved.key}` })
    return buildTrainingResult({
      ctx,
      input,
      strategy,
      range,
      bars,
      prepared,
      spec,
      params,
      backend,
      history,
      testMetrics,
      state: loop.state,
      trainingPath: loop.path,
      modelKey: saved.key,
      version: saved.version,
      seconds: (performance.now() - started) / 1000,
      resumedFrom,
      warnings,
      valMajority: metrics.val_majority_baseline,
    })
  } catch (error) {
    if (signal.aborted) throw error
    if (error instanceof KtrdrError) throw error
    throw new KtrdrError({
      code: 'TRAINING_FAILED',
      message: `Training failed: ${(error as Error).message}`,
      cause: error,
    })
  } finally {
    model.dispose()
  }
}
