// docs/errors.md is generated from the error-code catalog: `node bin/run-ts.mjs scripts/error-docs.ts`
// rewrites it; test/error-codes.test.ts fails while it is out of date.
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { listErrorCodes } from '../runtime/protocol/index.ts'
import '../trading/index.ts'

export const ERROR_DOCS_PATH = join(import.meta.dirname, '../docs/errors.md')

const OWNERS: Record<string, string> = {
  runtime: 'Runtime (runtime/protocol/error-codes.ts)',
  trading: 'Trading domain: core library, train, backtest, ib-fetch, research API (trading/error-codes.ts)',
}

export function renderErrorDocs(): string {
  const codes = listErrorCodes()
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated from the catalog by scripts/error-docs.ts: edit the tables in runtime/protocol/error-codes.ts',
    '     and trading/error-codes.ts, then run `node bin/run-ts.mjs scripts/error-docs.ts`. -->',
    '',
    'Every error a route answers with, and every error stored on a failed or cancelled operation, has the',
    'shape `{code, message, retryable, details}` (routes add `statusCode`). A code has one HTTP status and',
    'one retryability, wherever it is raised. `retryable: false` means the same request fails the same',
    'way (fix the input, the data or the configuration first); `true` means a later try may succeed.',
    "An error thrown without a code inside a function becomes `FUNCTION_ERROR` with the error's message.",
    '',
  ]
  for (const owner of new Set(codes.map((c) => c.owner))) {
    lines.push(`## ${OWNERS[owner] ?? owner}`, '', '| Code | Status | Retryable | When |', '|---|---|---|---|')
    for (const { code, entry } of codes.filter((c) => c.owner === owner).sort((a, b) => a.code.localeCompare(b.code)))
      lines.push(`| \`${code}\` | ${entry.status} | ${entry.retryable ? 'yes' : 'no'} | ${entry.description.replace(/\|/g, '\\|')} |`)
    lines.push('')
  }
  return lines.join('\n')
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  writeFileSync(ERROR_DOCS_PATH, renderErrorDocs())
  console.log(`wrote ${ERROR_DOCS_PATH} (${listErrorCodes().length} codes)`)
}
