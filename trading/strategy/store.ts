// Strategies by name in the strategies mount, read the one way train, backtest and the gateway's
// invoke checks all use, so "this strategy exists" means the same everywhere.
import type { Storage } from 'unstorage'
import { KtrdrError } from '../_errors.ts'

/** `<name>.yaml`, `<name>.yml` or the bare key; undefined when none is stored. A `.yaml` suffix on the name is allowed. */
export async function findStoredStrategy(strategies: Storage, name: string): Promise<{ key: string; yaml: string } | undefined> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.includes('..')) {
    throw new KtrdrError({
      code: 'STRATEGY_NAME_INVALID',
      message: `Strategy name "${name}" may only use letters, digits, dot, dash and underscore`,
    })
  }
  const stem = name.replace(/\.ya?ml$/, '')
  for (const key of [`${stem}.yaml`, `${stem}.yml`, stem]) {
    const raw = await strategies.getItemRaw(key)
    if (raw != null) return { key, yaml: typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8') }
  }
  return undefined
}

export function strategyNotFound(name: string): KtrdrError {
  return new KtrdrError({
    code: 'STRATEGY_NOT_FOUND',
    message: `Strategy "${name.replace(/\.ya?ml$/, '')}" is not in the strategies store: upload it (ktrdr strategy upload <file>, or PUT /api/v1/strategies/<name>) or pass strategy_yaml`,
  })
}
