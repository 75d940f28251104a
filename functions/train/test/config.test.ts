import { describe, expect, it } from 'vitest'
import { resolveLoopConfig } from '../src/config.ts'

const training = {
  method: 'supervised',
  labels: { source: 'zigzag', zigzag_threshold: 0.02, label_lookahead: null },
  epochs: 8,
  learning_rate: 0.01,
  batch_size: 64,
  loss: 'cross_entropy',
  focal_gamma: 2,
  huber_delta: 0.01,
  data_split: { train: 0.7, validation: 0.15, test: 0.15 },
  early_stopping: null,
  lr_scheduler: null,
  gradient_clip: 1,
  optimizer: 'adam',
  weight_decay: 0,
  sources: {
    epochs: 'training',
    learning_rate: 'training',
    batch_size: 'training',
    optimizer: 'training',
    weight_decay: 'default',
    gradient_clip: 'training',
    early_stopping: 'training',
    lr_scheduler: 'training',
  },
} as const

const resolve = (env: NodeJS.ProcessEnv) =>
  resolveLoopConfig({ ...training, labels: { ...training.labels }, data_split: { ...training.data_split } }, 'classification', { env })

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
