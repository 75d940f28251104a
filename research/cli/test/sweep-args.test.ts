// `ktrdr sweep start --train/--backtest`: the parameter strings become the body's parameters.
import { describe, expect, it } from 'vitest'
import { parseParams } from '../sweep.ts'

describe('ktrdr sweep parameters', () => {
  it('lists, layer sizes, booleans and ranges', () => {
    expect(parseParams('learning_rate=0.001,0.005 hidden_layers=64-32,16 position_awareness=true,false', 'train')).toEqual({
      learning_rate: [0.001, 0.005],
      hidden_layers: [[64, 32], [16]],
      position_awareness: [true, false],
    })
    expect(parseParams('learning_rate=1e-4..1e-2:log batch_size=16..256:int dropout=0..0.5', 'train')).toEqual({
      learning_rate: { min: 1e-4, max: 1e-2, log: true },
      batch_size: { min: 16, max: 256, integer: true },
      dropout: { min: 0, max: 0.5 },
    })
    expect(parseParams(undefined, 'train')).toBeUndefined()
  })

  it('refuses what is not name=values, naming the flag', () => {
    expect(() => parseParams('learning_rate', 'train')).toThrow(/^--train: "learning_rate" is not name=values/)
    expect(() => parseParams('confidence_threshold=high', 'backtest')).toThrow(
      /^--backtest: confidence_threshold value "high" is not a number/,
    )
  })
})
