import type { EngineBars, EngineHooks, EngineWindow, RawSignals, ResolvedEngineConfig } from './_types.ts'
import { classifySignals, maskWarmup, regressionSignals } from './decisions.ts'
import { createEngineWorkspace, runBacktest, type EngineResult } from './engine.ts'

/** Per-bar network outputs for one symbol, computed once and shared by every parameter set. */
export interface ModelOutputs {
  /** `non_trading` = context/regime classifiers: every decision is HOLD (docs/domain.md#decision-logic). */
  kind: 'classification' | 'regression' | 'non_trading'
  /** rows × outputSize (logits or probabilities; regression: one value per row). NaN rows ⇒ HOLD. */
  values: Float32Array
  outputSize: number
  rows: number
  /** First row whose input was complete (features finite, sequence window full). */
  validFrom: number
}

/**
 * Raw signals per config with caching: classification signals do not depend on any
 * parameter (the confidence threshold is applied in the kernel), regression signals only on
 * the cost threshold.
 */
export function createSignalCache(outputs: ModelOutputs): (cfg: ResolvedEngineConfig) => RawSignals {
  const cache = new Map<string, RawSignals>()
  return (cfg) => {
    const threshold = cfg.roundTripCost * cfg.minEdgeMultiplier
    const key = outputs.kind === 'regression' ? `r:${threshold}` : outputs.kind
    let s = cache.get(key)
    if (!s) {
      s =
        outputs.kind === 'regression'
          ? regressionSignals(outputs.values, outputs.rows, threshold)
          : classifySignals(outputs.values, outputs.rows, outputs.outputSize, outputs.kind === 'non_trading')
      maskWarmup(s, outputs.validFrom)
      cache.set(key, s)
    }
    return s
  }
}

/**
 * Runs every config over the same bars and model outputs, reusing one workspace. Each result
 * is handed to `onResult` before the next run overwrites the workspace buffers.
 */
export async function runSweep<T>(
  bars: EngineBars,
  outputs: ModelOutputs,
  window: EngineWindow,
  configs: ResolvedEngineConfig[],
  onResult: (index: number, result: EngineResult) => T | Promise<T>,
  hooks: EngineHooks & {
    onSetProgress?(index: number, fraction: number, barIndex: number, state: { equity: number; trades: number }): void
  } = {},
): Promise<T[]> {
  const signalsFor = createSignalCache(outputs)
  const ws = createEngineWorkspace(window.end - window.start + 1)
  const out: T[] = []
  for (let i = 0; i < configs.length; i++) {
    const result = runBacktest(
      bars,
      signalsFor(configs[i]),
      configs[i],
      window,
      {
        signal: hooks.signal,
        chunkBars: hooks.chunkBars,
        onProgress: (bar, done, total, state) => {
          hooks.onProgress?.(bar, done, total, state)
          hooks.onSetProgress?.(i, done / total, bar, state)
        },
      },
      ws,
    )
    out.push(await onResult(i, result))
  }
  return out
}
