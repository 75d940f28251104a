// Tests import the public entry, as train/backtest/ib-fetch do.
export * from '../index.ts'
export { isKtrdrError as isKtrdrErrorLike } from '../_errors.ts'
