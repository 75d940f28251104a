import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Storage } from 'unstorage'
import { checkStrategyName, registerStrategyName, strategyNameOf } from '../trading/index.ts'

// import.meta.url, not import.meta.dirname: the Nitro gateway build bundles this module too.
export const EXAMPLE_STRATEGIES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../examples/strategies')

/**
 * Copies examples/strategies/*.yaml into the strategies mount where no file of that name exists,
 * so `train` and `backtest` can be invoked by strategy_name on a fresh cluster. Overwrites only when
 * asked (the demo wants the examples as shipped). Each is stored as an upload would store it: its
 * `name:` says its file name (docs/decisions.md#one-name-per-strategy); `onRenamed` hears of each
 * rewrite.
 */
export async function seedExampleStrategies(
  strategies: Storage,
  dir = EXAMPLE_STRATEGIES_DIR,
  { overwrite = false, onRenamed }: { overwrite?: boolean; onRenamed?: (name: string, from: string) => void } = {},
): Promise<string[]> {
  if (!existsSync(dir)) return []
  const stored: string[] = []
  for (const file of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    const key = `${strategyNameOf(file)}.yaml`
    if (!overwrite && (await strategies.hasItem(key))) continue
    const name = checkStrategyName(file)
    const registered = registerStrategyName(await readFile(join(dir, file), 'utf8'), name)
    await strategies.setItemRaw(key, Buffer.from(registered.source, 'utf8'))
    if (registered.renamed_from !== undefined) onRenamed?.(name, registered.renamed_from)
    stored.push(name)
  }
  return stored
}
