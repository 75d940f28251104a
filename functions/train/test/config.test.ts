import { describe, expect, it } from 'vitest'
import { resolveLoopConfig } from '../src/config.ts'
import { strategyTraining } from './_fixtures.ts'

const resolve = (env: NodeJS.ProcessEnv) => resolveLoopConfig(strategyTraining(), 'classification', { env })

describe('resolveLoopConfig: checkpoint intervals from the environment', () => {
  it('defaults, an override, and 0 meaning the default', () => {
    expect(resolve({})).toMatchObject({ checkpoint_every: 10, checkpoint_seconds: 300 })
    expect(resolve({ KTRDR_CHECKPOINT_EPOCH_INTERVAL: '4', KTRDR_CHECKPOINT_TIME_INTERVAL_SECONDS: '60' })).toMatchObject({
      checkpoint_every: 4,
      checkpoint_seconds: 60,
    })
    expect(resolve({ KTRDR_CHECKPOINT_EPOCH_INTERVAL: '0' }).checkpoint_every).toBe(10)
  })

  it('refuses a value that is not a number instead of silently using the default', () => {
    expect(() => resolve({ KTRDR_CHECKPOINT_EPOCH_INTERVAL: 'often' })).toThrow(/KTRDR_CHECKPOINT_EPOCH_INTERVAL="often"/)
    expect(() => resolve({ KTRDR_CHECKPOINT_TIME_INTERVAL_SECONDS: '5m' })).toThrow(/KTRDR_CHECKPOINT_TIME_INTERVAL_SECONDS/)
  })
})
