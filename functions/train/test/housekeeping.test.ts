// What a finished training leaves behind: its model, not an empty checkpoint folder; and what it
// says about the tfjs backend it chose: the choice at info, the optional packages it did not find
// at debug.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createConsola, type LogObject } from 'consola'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFunctionInProcess } from '../../../runtime/function/index.ts'
import { packageVersion } from '../../../trading/model/index.ts'
import { resolveLocalPath, type KtrdrStorage } from '../../../storage/index.ts'
import train from '../index.ts'
import { checkpointDir } from '../src/checkpoint.ts'
import { createTempStorage, RANGE, REFERENCE_DIR, storeSynthetic } from './_fixtures.ts'

let env: Awaited<ReturnType<typeof createTempStorage>>
let storage: KtrdrStorage
const yaml = readFileSync(join(REFERENCE_DIR, 'v3_multi_indicator.yaml'), 'utf8')

beforeAll(async () => {
  env = await createTempStorage()
  storage = env.storage
  await storeSynthetic(storage, 'EURUSD', '1h', 1500)
})
afterAll(async () => {
  await env.cleanup()
})

describe('train function: what a successful run leaves and logs', () => {
  it('removes its checkpoint folder, keeps the mount; logs the backend at info and the packages it lacks at debug', async () => {
    const operationId = 'op_training_housekeeping'
    const folder = resolveLocalPath(storage.options, 'checkpoints', checkpointDir(operationId))!
    const lines: Array<{ type: string; text: string }> = []
    const logger = createConsola({
      level: 4,
      reporters: [
        { log: (e: LogObject) => lines.push({ type: e.type, text: [e.message, ...e.args].filter((a) => a !== undefined).join(' ') }) },
      ],
    })
    let checkpointed = false
    const { result } = await runFunctionInProcess(
      train,
      { strategy_yaml: yaml, ...RANGE, epochs: 2, checkpoint_every: 1, seed: 5 },
      {
        storage,
        operationId,
        logger,
        onProgress(p) {
          // Epoch 1's checkpoint is on disk while epoch 2 runs.
          if (p.current_step === 'Epoch 2/2') checkpointed ||= existsSync(join(folder, 'checkpoint.json'))
        },
      },
    )
    expect(result.model_path).toMatch(/^models\//)
    expect(checkpointed).toBe(true)
    expect(existsSync(folder)).toBe(false)
    expect(existsSync(resolveLocalPath(storage.options, 'checkpoints')!)).toBe(true)

    const info = lines.filter((l) => l.type === 'info').map((l) => l.text)
    expect(info).toContainEqual(expect.stringMatching(/^TensorFlow\.js backend: (wasm|cpu|tensorflow) \(/))
    expect(info.filter((t) => t.includes('Cannot find package'))).toEqual([])
    expect(lines.filter((l) => l.type === 'warn' && l.text.includes('TensorFlow.js'))).toEqual([])
    if (packageVersion('@tensorflow/tfjs-node') === undefined)
      expect(lines.filter((l) => l.type === 'debug').map((l) => l.text)).toContainEqual(
        expect.stringContaining("@tensorflow/tfjs-node: Cannot find package '@tensorflow/tfjs-node'"),
      )
  })
})
