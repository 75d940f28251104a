import type { Contract } from '@stoqey/ib'
import { KtrdrError } from '../../../trading/index.ts'

export type InstrumentType = 'CASH' | 'STK' | 'FUT'

export interface ResolvedContract {
  /** KTRDR's symbol, used for the file name (`EUR.USD` → `EURUSD`). */
  symbol: string
  instrumentType: InstrumentType
  contract: Contract
  /** Forex has no trades: IB serves BID bars (volume −1); everything else TRADES. */
  whatToShow: 'BID' | 'TRADES'
  /** Identity of the contract for pacing (IB counts "same contract" per exchange and type). */
  key: string
}

const CURRENCIES = new Set([
  'USD',
  'EUR',
  'GBP',
  'JPY',
  'CHF',
  'AUD',
  'NZD',
  'CAD',
  'SEK',
  'NOK',
  'DKK',
  'HKD',
  'SGD',
  'MXN',
  'ZAR',
  'CNH',
  'PLN',
  'CZK',
  'HUF',
  'TRY',
  'ILS',
  'RUB',
  'KRW',
])

function isForexPair(s: string): boolean {
  return /^[A-Z]{6}$/.test(s) && CURRENCIES.has(s.slice(0, 3)) && CURRENCIES.has(s.slice(3))
}

/**
 * docs/domain.md#ib-requests contract rules: CASH when asked, when the symbol has a dot (`EUR.USD`) or is a 6-letter
 * pair of known currencies; stocks on SMART in USD; futures on CME. An explicit instrument_type
 * always wins over the guess.
 */
export function resolveContract(rawSymbol: string, instrumentType?: InstrumentType): ResolvedContract {
  const upper = rawSymbol.trim().toUpperCase()
  const dotted = /^([A-Z]{3})\.([A-Z]{3})$/.exec(upper)
  const type: InstrumentType = instrumentType ?? (dotted || isForexPair(upper) ? 'CASH' : 'STK')
  if (type === 'CASH') {
    const pair = dotted ? dotted[1] + dotted[2] : upper
    if (!/^[A-Z]{6}$/.test(pair)) {
      throw new KtrdrError({
        code: 'DATA_INVALID_SYMBOL',
        message: `"${rawSymbol}" is not a forex pair: write it as EURUSD or EUR.USD`,
      })
    }
    const base = pair.slice(0, 3)
    const quote = pair.slice(3)
    return {
      symbol: pair,
      instrumentType: 'CASH',
      contract: { symbol: base, secType: 'CASH' as Contract['secType'], exchange: 'IDEALPRO', currency: quote },
      whatToShow: 'BID',
      key: `CASH:${base}.${quote}@IDEALPRO`,
    }
  }
  if (!/^[A-Z0-9.\-_]{1,20}$/.test(upper)) {
    throw new KtrdrError({ code: 'DATA_INVALID_SYMBOL', message: `Invalid symbol "${rawSymbol}"` })
  }
  if (type === 'FUT') {
    return {
      symbol: upper,
      instrumentType: 'FUT',
      // CONTFUT lets IB stitch the front months into one continuous history.
      contract: { symbol: upper, secType: 'CONTFUT' as Contract['secType'], exchange: 'CME', currency: 'USD' },
      whatToShow: 'TRADES',
      key: `FUT:${upper}@CME`,
    }
  }
  return {
    symbol: upper,
    instrumentType: 'STK',
    contract: { symbol: upper, secType: 'STK' as Contract['secType'], exchange: 'SMART', currency: 'USD' },
    whatToShow: 'TRADES',
    key: `STK:${upper}@SMART`,
  }
}
