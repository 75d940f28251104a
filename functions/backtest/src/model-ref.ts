import type { Storage } from 'unstorage'
import { KtrdrError } from '../../../trading/index.ts'
import { modelDirName, resolveStrategy, strategyNameOf } from '../../../trading/index.ts'

/**
 * The model a request means. `model_path` wins; without it (the guide's API marks it optional)
 * the latest model of `strategy_name` on the requested (or the strategy's base) timeframe:
 * `<strategy_name>/<tf>_latest`, model folders being named after the strategy's one name, its
 * file name (docs/decisions.md#one-name-per-strategy). The strategy file, when there is one,
 * gives the base timeframe.
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
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.includes('..'))
    throw new KtrdrError({
      code: 'INPUT_INVALID',
      message: `strategy_name "${name}" may only use letters, digits, dot, dash and underscore`,
    })
  const stem = strategyNameOf(name)
  let yaml: string | undefined
  for (const key of [`${stem}.yaml`, `${stem}.yml`]) {
    const raw = await strategies.getItemRaw(key)
    if (raw != null) {
      yaml = typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8')
      break
    }
  }
  if (yaml) {
    const strategy = resolveStrategy(yaml, { name: stem })
    return `${modelDirName(strategy.name)}/${input.timeframe ?? strategy.training_data.base_timeframe}_latest`
  }
  if (input.timeframe) return `${modelDirName(stem)}/${input.timeframe}_latest`
  throw new KtrdrError({
    code: 'INPUT_INVALID',
    message: `No model_path given and strategy "${stem}" is not in the strategies store: pass model_path or timeframe`,
  })
}
