// The research pack's commands: `ktrdr --help` lists them from the pack without importing them.
import { describe, expect, it } from 'vitest'
import { researchPack } from '../../pack.ts'

describe('research pack commands', () => {
  it('each loads with the name and description the pack lists for it', async () => {
    expect(Object.keys(researchPack.commands ?? {})).toEqual([
      'data',
      'strategy',
      'indicators',
      'demo',
      'report',
      'compare',
      'model',
      'llm',
      'research',
      'walkforward',
      'sweep',
    ])
    for (const [name, command] of Object.entries(researchPack.commands ?? {})) {
      const loaded = await command.load()
      const meta = await (typeof loaded.meta === 'function' ? loaded.meta() : loaded.meta)
      expect({ name: meta?.name, description: meta?.description }).toEqual({ name, description: command.description })
    }
  })
})
