// The error-code catalog (docs/errors.md): every code the tree raises is catalogued with one
// status and one retryability, nothing restates them at a throw site, the runtime never raises a
// domain code, and docs/errors.md is the catalog as generated.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES, errorCodeEntry, listErrorCodes } from '../runtime/protocol/index.ts'
import { TRADING_ERROR_CODES } from '../trading/index.ts'
import { ERROR_DOCS_PATH, renderErrorDocs } from '../scripts/error-docs.ts'
import { scanErrorSites } from './_error-sites.ts'

const root = join(import.meta.dirname, '..')
const scan = scanErrorSites(root)
const owner = new Map(listErrorCodes().map((c) => [c.code, c.owner]))

describe('error-code catalog', () => {
  it('finds the throw sites (the scan is not empty)', () => {
    expect(scan.sites.length).toBeGreaterThan(150)
    expect(scan.sites).toContainEqual({ file: 'runtime/http/_bearer.ts', line: expect.any(Number), codes: ['UNAUTHORIZED'] })
    expect(scan.sites).toContainEqual({
      file: 'functions/ib-fetch/src/errors.ts',
      line: expect.any(Number),
      codes: expect.arrayContaining(['IB_PACING', 'IB_REQUEST_REJECTED']),
    })
  })

  it('every code raised anywhere is catalogued, and no site restates its status or retryability', () => {
    const uncatalogued = scan.sites.flatMap((s) =>
      s.codes.filter((c) => !errorCodeEntry(c)).map((c) => `${s.file}:${s.line}: ${c} is not in the catalog`),
    )
    expect([...scan.problems, ...uncatalogued]).toEqual([])
  })

  it('the runtime raises only runtime codes; domain code comes with the domain table registered', () => {
    const problems: string[] = []
    for (const s of scan.sites) {
      const domain = s.codes.filter((c) => owner.get(c) === 'trading')
      if (!domain.length) continue
      if (/^(runtime|storage)\//.test(s.file)) problems.push(`${s.file}:${s.line}: the runtime raises domain code ${domain.join(', ')}`)
      // KtrdrError imported through trading/ registers trading/error-codes.ts before anything is thrown.
      const viaTrading = (scan.imports.get(s.file) ?? []).some((m) => m === 'trading/index.ts' || m === 'trading/_errors.ts')
      if (!viaTrading) problems.push(`${s.file}:${s.line}: raises ${domain.join(', ')} without importing KtrdrError from trading/index.ts`)
    }
    expect(problems).toEqual([])
  })

  it('one table per code, each entry an HTTP error status, each code raised somewhere', () => {
    const shared = Object.keys(TRADING_ERROR_CODES).filter((c) => c in ERROR_CODES)
    expect(shared).toEqual([])
    expect(listErrorCodes()).toHaveLength(Object.keys(ERROR_CODES).length + Object.keys(TRADING_ERROR_CODES).length)
    for (const { code, entry } of listErrorCodes()) {
      expect(entry.status, code).toBeGreaterThanOrEqual(400)
      expect(entry.status, code).toBeLessThan(600)
      expect(entry.description.length, code).toBeGreaterThan(10)
    }
    const tables = new Set(['runtime/protocol/error-codes.ts', 'trading/error-codes.ts'])
    const unused = listErrorCodes()
      .map((c) => c.code)
      .filter((c) => ![...(scan.literals.get(c) ?? [])].some((f) => !tables.has(f) && !/(^|\/)test\//.test(f)))
    expect(unused).toEqual([])
  })

  it('docs/errors.md is the catalog (regenerate: node bin/run-ts.mjs scripts/error-docs.ts)', () => {
    expect(readFileSync(ERROR_DOCS_PATH, 'utf8')).toBe(renderErrorDocs())
  })
})
