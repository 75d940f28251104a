// Which stored model a request means, without loading it: the backtest function resolves its input
// this way, and the gateway's invoke check for backtest does the same before the operation exists.
// Plain storage reads only (no tfjs), so the gateway stays light.
import { isAbsolute, relative, resolve } from 'node:path'
import type { Storage } from 'unstorage'
import { createKtrdrError, KtrdrError } from './_errors.ts'
import { resolveModelReference, type ModelWant, type ResolvedModelReference } from './catalog/resolve.ts'
import { MODEL_FILES, modelDirName } from './layout.ts'
import { resolveStrategy } from './strategy/parse.ts'
import { strategyNameOf } from './strategy/name.ts'
import { findStoredStrategy } from './strategy/store.ts'

/**
 * The model a backtest request means. `model_path` wins; without it (the guide's API marks it
 * optional) the latest model of `strategy_name` on the requested (or the strategy's base)
 * timeframe: `<strategy_name>/<tf>_latest`, model folders being named after the strategy's one
 * name, its file name (docs/decisions.md#one-name-per-strategy). The strategy file, when there is
 * one, gives the base timeframe.
 */
export async function resolveModelRef(
  strategies: Storage,
  input: { model_path?: string; strategy_name?: string; timeframe?: string },
): Promise<string> {
  if (input.model_path) return input.model_path
  const name = input.strategy_name
  if (!name)
    throw new KtrdrError({
      code: 'INPUT_INVALID',
      message: 'Give model_path (e.g. my_strategy/1h_latest) or the strategy_name of a trained strategy',
    })
  const stored = await findStoredStrategy(strategies, name)
  const stem = strategyNameOf(name)
  if (stored) {
    const strategy = resolveStrategy(stored.yaml, { name: stored.name })
    return `${modelDirName(strategy.name)}/${input.timeframe ?? strategy.training_data.base_timeframe}_latest`
  }
  if (input.timeframe) return `${modelDirName(stem)}/${input.timeframe}_latest`
  throw new KtrdrError({
    code: 'INPUT_INVALID',
    message: `No model_path given and strategy "${stem}" is not in the strategies store: pass model_path or timeframe`,
  })
}

/**
 * Resolves a model reference to its version key: `strategy/1h_v3`, `models/strategy/1h_v3` (the
 * model_path of a training result), an absolute path under the models directory when that mount
 * is on fs, or a reference the catalogue resolves for `want` (`strategy/1h_latest`,
 * `strategy@production`, `strategy/1h@latest`: see resolveModelReference).
 */
export async function resolveModelKey(
  models: Storage,
  ref: string,
  modelsDir?: string,
  want: ModelWant = {},
): Promise<{ key: string; reference?: ResolvedModelReference }> {
  let key = ref.trim()
  if (isAbsolute(key)) {
    if (!modelsDir)
      throw createKtrdrError(
        'MODEL_NOT_FOUND',
        `Model path ${ref} is absolute but the models mount is not a local directory: pass <strategy>/<tf>_v<N>`,
      )
    const rel = relative(resolve(modelsDir), resolve(key))
    if (rel.startsWith('..') || isAbsolute(rel))
      throw createKtrdrError('MODEL_NOT_FOUND', `Model path ${ref} is not under the models directory ${modelsDir}`)
    key = rel
  }
  key = key.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '')
  if (key.startsWith('models/') && !(await models.hasItem(`${key}/${MODEL_FILES.metadata}`))) key = key.slice('models/'.length)
  const reference = await resolveModelReference(models, key, want)
  return reference ? { key: reference.key, reference } : { key }
}
