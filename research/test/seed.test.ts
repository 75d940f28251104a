import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempStorage } from '../../test/kit/index.ts'
import { seedExampleStrategies } from '../seed.ts'

const examples = join(import.meta.dirname, '../../examples/strategies')

describe('ktrdr up seeds the strategies mount', () => {
  it('stores every example once and never overwrites a strategy already there', async () => {
    const { storage, cleanup } = await tempStorage('ktrdr-seed-')
    try {
      await storage.strategies.setItemRaw('v3_minimal.yaml', Buffer.from('name: mine\n'))
      const renamed: string[] = []
      const stored = await seedExampleStrategies(storage.strategies, examples, {
        onRenamed: (name, from) => renamed.push(`${from} → ${name}`),
      })
      const expected = readdirSync(examples)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => f.replace(/\.yaml$/, ''))
        .filter((n) => n !== 'v3_minimal')
        .sort()
      expect(stored).toEqual(expected)
      expect(Buffer.from((await storage.strategies.getItemRaw('v3_minimal.yaml')) as Uint8Array).toString('utf8')).toBe('name: mine\n')
      const text = async (key: string) => Buffer.from((await storage.strategies.getItemRaw(key)) as Uint8Array).toString('utf8')
      expect(await text('squad_cycle1_control.yaml')).toBe(readFileSync(join(examples, 'squad_cycle1_control.yaml'), 'utf8'))
      // Stored as an upload stores it: name: says the file name (docs/decisions.md#one-name-per-strategy).
      expect(await text('v3_multi_indicator.yaml')).toBe(
        readFileSync(join(examples, 'v3_multi_indicator.yaml'), 'utf8').replace(
          'name: v3_multi_indicator_example\n',
          'name: v3_multi_indicator\n',
        ),
      )
      expect(renamed).toEqual(['regression_example → regression_example_v3', 'v3_multi_indicator_example → v3_multi_indicator'])
      expect(await seedExampleStrategies(storage.strategies, examples)).toEqual([])
    } finally {
      await cleanup()
    }
  })
})
