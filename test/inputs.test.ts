// The trading functions' inputs are strict where they enter: the gateway validates an invocation
// against the JSON Schema of the function's manifest (built from its zod schema exactly as the
// bundler builds it), and the executor parses it with the zod schema itself. An unknown key is a
// 422 naming it, with the key it most likely meant; before, both silently ignored it (a typo
// trained with the default epochs, or backtested all the data).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeFunction, runFunctionInProcess } from '../runtime/function/index.ts'
import { isKtrdrError } from '../runtime/protocol/index.ts'
import backtest from '../functions/backtest/index.ts'
import train from '../functions/train/index.ts'
import { startTestGateway, type TestGateway } from './kit/index.ts'

let g: TestGateway
beforeAll(async () => {
  g = await startTestGateway()
})
afterAll(async () => {
  await g?.close()
})

/** The gateway's own validator over the function's real manifest schema; the error it throws, or null. */
function atGateway(fn: typeof train | typeof backtest, input: unknown) {
  try {
    g.gateway.services.validateInput(`test-${fn.name}`, describeFunction(fn).input_schema, input, `${fn.name}@1`)
    return null
  } catch (error) {
    if (!isKtrdrError(error)) throw error
    return error as Error & { statusCode: number; code: string; details: { errors: Array<{ field: string; suggestion?: string }> } }
  }
}

async function inExecutor(fn: typeof train | typeof backtest, input: unknown): Promise<Error & { statusCode?: number; code?: string }> {
  return runFunctionInProcess(fn as never, input).then(
    () => {
      throw new Error('expected the input to be refused')
    },
    (error: Error) => error,
  )
}

describe('strict trading inputs', () => {
  it('train: "epoch" is refused with "did you mean epochs" at the gateway and in the executor', async () => {
    const e = atGateway(train, { strategy_name: 'trend', epoch: 3 })!
    expect(e.statusCode).toBe(422)
    expect(e.code).toBe('INPUT_INVALID')
    expect(e.message).toBe('Invalid input for train@1: input.epoch is not a known field (did you mean "epochs"?)')
    expect(e.details.errors).toEqual([expect.objectContaining({ field: 'input.epoch', suggestion: 'epochs' })])
    expect(atGateway(train, { strategy_name: 'trend', epochs: 3 })).toBeNull()

    const x = await inExecutor(train, { strategy_name: 'trend', epoch: 3 })
    expect(x.statusCode).toBe(422)
    expect(x.message).toContain('unknown key "epoch" (did you mean "epochs"?)')
  })

  it('backtest: "start"/"end" are refused naming start_date/end_date, nested keys too', async () => {
    const e = atGateway(backtest, { strategy_name: 'trend', start: '2024-01-01', end: '2024-06-30' })!
    expect(e.statusCode).toBe(422)
    expect(e.details.errors.map((x) => [x.field, x.suggestion])).toEqual([
      ['input.start', 'start_date'],
      ['input.end', 'end_date'],
    ])
    const nested = atGateway(backtest, { model_path: 'trend/1h_v1', parameter_sets: [{ comission: 0.001 }] })!
    expect(nested.message).toContain('input.parameter_sets[0].comission is not a known field (did you mean "commission"?)')

    const x = await inExecutor(backtest, { strategy_name: 'trend', start: '2024-01-01' })
    expect(x.statusCode).toBe(422)
    expect(x.message).toContain('unknown key "start" (did you mean "start_date"?)')
  })

  it('the guide bodies still pass, and "exactly one of" / "at least one of" are said in words', () => {
    // The guide's POST /api/v1/backtests/start body (docs/deploy-proxmox.md §7); the compat route passes it as the input.
    const guideBacktest = {
      model_path: '/models/ktrdr/neuro_mean_reversion/1d_v21',
      strategy_name: 'neuro_mean_reversion',
      symbol: 'EURUSD',
      timeframe: '1d',
      start_date: '2024-01-01',
      end_date: '2024-12-31',
    }
    expect(atGateway(backtest, guideBacktest)).toBeNull()
    expect(atGateway(train, { strategy_yaml: 'name: x', symbols: ['EURUSD'], timeframes: ['1d'], prefer_gpu: true })).toBeNull()

    expect(atGateway(train, { strategy_yaml: 'name: x', strategy_name: 'x' })!.message).toBe(
      'Invalid input for train@1: input needs exactly one of strategy_yaml, strategy_name',
    )
    expect(atGateway(train, { symbols: ['EURUSD'] })!.message).toContain('input needs exactly one of strategy_yaml, strategy_name')
    expect(atGateway(backtest, { symbol: 'EURUSD' })!.message).toBe(
      'Invalid input for backtest@1: input needs at least one of model_path, strategy_name',
    )
  })
})
