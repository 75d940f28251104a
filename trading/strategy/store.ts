// Strategies by name in the strategies mount, read the one way train, backtest and the gateway's
// invoke checks all use, so "this strategy exists" means the same everywhere.
import type { Storage } from 'unstorage'
import { KtrdrError } from '../_errors.ts'
import { strategyNameOf } from './name.ts'

/**
 * `<name>.yaml`, `<name>.yml` or the bare key; undefined when none is stored. A `.yaml` suffix on
 * the name is allowed. `name` is the registered name (the file name without its extension), which
 * the strategy resolves to (docs/decisions.md#one-name-per-strategy).
 */
export async function findStoredStrategy(
  strategies: Storage,
  name: string,
): Promise<{ key: string; yaml: string; name: string } | undefined> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.includes('..')) {
    throw new KtrdrError({
      code: 'STRATEGY_NAME_INVALID',
      message: `Strategy name "${name}" may only use letters, digits, dot, dash and underscore`,
    })
  }
  const stem = strategyNameOf(name)
  for (const key of [`${stem}.yaml`, `${stem}.yml`, stem]) {
    const raw = await strategies.getItemRaw(key)
    if (raw != null) return { key, yaml: typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8'), name: stem }
  }
  return undefined
}

export function strategyNotFound(name: string): KtrdrError {
  return new KtrdrError({
    code: 'STRATEGY_NOT_FOUND',
    message: `Strategy "${strategyNameOf(name)}" is not in the strategies store: upload it (ktrdr strategy upload <file>, or PUT /api/v1/strategies/<name>) or pass strategy_yaml`,
  })
}
