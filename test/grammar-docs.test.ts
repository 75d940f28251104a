// docs/strategy-grammar.md is the registry and the grammar tables as generated, and it covers them.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { describeIndicators, listIndicators, MEMBERSHIP_SHAPES, TIMEFRAMES } from '../trading/index.ts'
import { GRAMMAR_DOCS_PATH, renderGrammarDocs } from '../scripts/grammar-docs.ts'

describe('docs/strategy-grammar.md', () => {
  it('is what scripts/grammar-docs.ts generates (regenerate: node bin/run-ts.mjs scripts/grammar-docs.ts)', () => {
    expect(readFileSync(GRAMMAR_DOCS_PATH, 'utf8')).toBe(renderGrammarDocs())
  })

  it('documents every indicator with its params, defaults and outputs, every shape and every timeframe', () => {
    const doc = renderGrammarDocs()
    for (const info of describeIndicators()) {
      const section = doc.slice(doc.indexOf(`\n### ${info.type}\n`), doc.indexOf('\n### ', doc.indexOf(`\n### ${info.type}\n`) + 1))
      expect(section, info.type).toContain(info.title)
      for (const p of info.params) expect(section, `${info.type}.${p.name}`).toContain(`| \`${p.name}\` | ${p.type} | \`${p.default}\` |`)
      for (const o of info.outputs) expect(section, info.type).toContain(`\`${o}\``)
    }
    expect(doc).toContain('| `fast_period` | int | `12` | [1..100] | `fast` |')
    for (const s of MEMBERSHIP_SHAPES) expect(doc).toContain(`| \`${s.type}\` |`)
    for (const tf of TIMEFRAMES) expect(doc).toContain(`| \`${tf}\` |`)
  })

  it('every indicator has a title', () => {
    expect(listIndicators().filter((d) => !d.title)).toEqual([])
  })
})
