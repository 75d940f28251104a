import { rmSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { afterAll, describe, expect, it } from 'vitest'
import {
  createHypothesesFile,
  HYPOTHESES_KEY,
  hypothesesYaml,
  readHypotheses,
  recordHypotheses,
  settleHypotheses,
  type Hypothesis,
} from './_exports.ts'
import { tempDataStorage } from './_helpers.ts'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
function memory() {
  const t = tempDataStorage()
  dirs.push(t.dir)
  return t
}

const at = '2026-12-05T00:00:00.000Z'
const h = (id: string, text: string, extra: Partial<Hypothesis> = {}): Hypothesis => ({
  id,
  text,
  status: 'untested',
  experiments: ['exp_20261205_000000_00000001'],
  created_at: at,
  updated_at: at,
  ...extra,
})

describe('hypotheses.yaml', () => {
  it('hypothesesYaml parses back to the list, as the whole-document stringify does, odd texts included', () => {
    const list = [
      h('H_001', 'momentum persists'),
      h('H_002', 'a: b # not a comment', { status: 'refuted', experiments: [] }),
      h('H_003', 'line one\n\n  indented line three  '),
      h('H_004', '- looks like a list item'),
      h('H_005', '\'quoted\' "twice" and: colons'),
    ]
    const text = hypothesesYaml(list)
    expect(parse(text)).toEqual({ hypotheses: list })
    expect(parse(text)).toEqual(parse(stringify({ hypotheses: list })))
    expect(parse(hypothesesYaml([]))).toEqual({ hypotheses: [] })
    // With a cache of rendered items, the text is the same, and a changed item is rendered anew.
    const rendered = new Map<string, string>()
    expect(hypothesesYaml(list, rendered)).toBe(text)
    expect(rendered.size).toBe(list.length)
    const changed = list.map((x) => (x.id === 'H_001' ? { ...x, status: 'supported' as const } : x))
    expect(parse(hypothesesYaml(changed, rendered))).toEqual({ hypotheses: changed })
    expect(rendered.size).toBe(list.length)
  })

  it('settleHypotheses returns a new list (the one read is not changed) and the new ids', () => {
    const before = [h('H_001', 'momentum persists'), h('H_002', 'volatility clusters')]
    const copy = structuredClone(before)
    const { hypotheses, added } = settleHypotheses(
      before,
      'exp_20261205_000000_00000002',
      { proposed: ['Momentum   persists', 'rsi extremes revert'], tested: ['H_001'], verdict: 'no_signal' },
      new Date(at),
    )
    expect(before).toEqual(copy)
    expect(added).toEqual(['H_003'])
    expect(hypotheses.map((x) => [x.id, x.status, x.experiments.length])).toEqual([
      ['H_001', 'refuted', 2],
      ['H_002', 'untested', 1],
      ['H_003', 'untested', 1],
    ])
  })

  it('createHypothesesFile: what it wrote is read back without parsing again; a hand edit is read back', async () => {
    const { storage, dir } = memory()
    const file = createHypothesesFile(storage)
    expect(await file.read()).toEqual([])
    const list = [h('H_001', 'momentum persists')]
    await file.write(list)
    // The same list (not a parse of the file), as long as the file holds what was written.
    expect(await file.read()).toBe(list)
    expect(await readHypotheses(storage)).toEqual(list)
    // A researcher edits the file by hand: read back, whatever the writer last wrote.
    await writeFile(join(dir, HYPOTHESES_KEY), stringify({ hypotheses: [{ ...list[0], status: 'supported' }] }))
    const edited = await file.read()
    expect(edited).not.toBe(list)
    expect(edited[0].status).toBe('supported')
    expect(await file.read()).toBe(edited)
    // recordHypotheses (stateless) and the file agree on the format.
    await recordHypotheses(storage, 'exp_20261205_000000_00000003', { proposed: ['volatility clusters'], tested: [], verdict: null })
    expect((await file.read()).map((x) => x.id)).toEqual(['H_001', 'H_002'])
  })
})
