import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { KtrdrStorage } from '../../../storage/index.ts'
import { createFunctionContext } from '../context.ts'

describe('function context', () => {
  it('creates the scratch directory only when the function first reads ctx.scratchDir', () => {
    const root = mkdtempSync(join(tmpdir(), 'ktrdr-ctx-'))
    try {
      const dir = join(root, 'scratch', 'op_1-1')
      let made = 0
      const ctx = createFunctionContext({
        operationId: 'op_1',
        signal: new AbortController().signal,
        storage: {} as KtrdrStorage,
        scratchDir: dir,
        onScratch: () => made++,
      })
      expect(existsSync(dir)).toBe(false)
      expect(made).toBe(0)
      expect(ctx.scratchDir).toBe(dir)
      expect(existsSync(dir)).toBe(true)
      expect(ctx.scratchDir).toBe(dir)
      // Told once, when it is made: the executor's result then says so and the host looks only then.
      expect(made).toBe(1)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  it('makes ctx.signal on its first read when given a factory, once, and takes a signal as it is', () => {
    let made = 0
    const controller = new AbortController()
    const ctx = createFunctionContext({
      operationId: 'op_1',
      signal: () => {
        made++
        return controller.signal
      },
      storage: {} as KtrdrStorage,
      scratchDir: join(tmpdir(), 'unused'),
    })
    expect(made).toBe(0)
    expect(ctx.signal).toBe(controller.signal)
    expect(ctx.signal).toBe(controller.signal)
    expect(made).toBe(1)
    const given = new AbortController().signal
    expect(createFunctionContext({ operationId: 'op_2', signal: given, storage: {} as KtrdrStorage, scratchDir: '' }).signal).toBe(given)
  })
})
