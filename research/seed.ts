import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Storage } from 'unstorage'

// import.meta.url, not import.meta.dirname: the Nitro gateway build bundles this module too.
export const EXAMPLE_STRATEGIES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../examples/strategies')

/**
 * Copies examples/strategies/*.yaml into the strategies mount where no file of that name exists,
 * so `train` and `backtest` can be invoked by strategy_name on a fresh cluster. Overwrites only when
 * asked (the demo wants the examples as shipped).
 */
export async function seedExampleStrategies(
  strategies: Storage,
  dir = EXAMPLE_STRATEGIES_DIR,
  { overwrite = false } = {},
): Promise<string[]> {
  if (!existsSync(dir)) return []
  const stored: string[] = []
  for (const file of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    if (!overwrite && (await strategies.hasItem(file))) continue
    await strategies.setItemRaw(file, await readFile(join(dir, file)))
    stored.push(file.replace(/\.ya?ml$/, ''))
  }
  return stored
}
