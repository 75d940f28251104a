// Every refusal is a 4xx naming what was wrong, with no server internals, and nothing is stored;
// no single request holds the gateway's event loop (docs/operations.md, limits).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestGateway, type TestGateway } from '../kit/index.ts'
import { STRATEGY_LIMITS } from '../../trading/index.ts'
import { researchRoutes } from '../../research/index.ts'

const EXAMPLE = readFileSync(join(import.meta.dirname, '..', '..', 'examples', 'strategies', 'regime_momentum.yaml'), 'utf8')
const YAML = { 'content-type': 'text/yaml' }

let g: TestGateway
beforeAll(async () => {
  g = await startTestGateway({ routes: researchRoutes })
})
afterAll(async () => {
  await g.close()
})

/** A refusal: the status class, a code, a message matching `names`, and no absolute path of this machine. */
function refused(res: { status: number; body: { code?: string; message?: string } }, status: number, names: RegExp) {
  expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(status)
  expect(res.body.code).toMatch(/^[A-Z_]+$/)
  expect(res.body.message).toMatch(names)
  expect(JSON.stringify(res.body)).not.toContain(g.dir)
}

async function stored(): Promise<string[]> {
  return (await g.api<{ data: Array<{ file: string }> }>('/api/v1/strategies')).body.data.map((s) => s.file)
}

describe('bad input is refused with a 4xx that names it', () => {
  it('JSON bodies: nesting past the limit, NUL characters, 5,000-character keys', async () => {
    const deep = '['.repeat(20_000) + ']'.repeat(20_000)
    refused(await g.api('/api/v1/functions/echo/invoke', { raw: `{"input":{"x":${deep}}}` }), 400, /nests deeper than 64 levels/)
    refused(
      await g.api('/api/v1/functions/echo/invoke', { raw: '{"input":{"message":"a\\u0000b"}}' }),
      400,
      /NUL character at \(body\)\.input\.message/,
    )
    refused(await g.api('/api/v1/functions/echo/invoke', { raw: `{"input":{"${'k'.repeat(5000)}":1}}` }), 400, /key of 5000 characters/)
    expect((await g.api<{ data: unknown[] }>('/api/v1/operations')).body.data).toHaveLength(0)
  })

  it('strategy names: too long, hidden, empty, path-like; nothing is stored', async () => {
    for (const name of ['x'.repeat(300), '.yaml', '.hidden', 'a%2Fb', 'a%00b']) {
      refused(await g.api(`/api/v1/strategies/${name}`, { method: 'PUT', raw: EXAMPLE, headers: YAML }), 400, /Invalid strategy name/)
    }
    expect(await stored()).toEqual([])
    const ok = await g.api('/api/v1/strategies/ok_name-1.2', { method: 'PUT', raw: EXAMPLE, headers: YAML })
    expect(ok.status, JSON.stringify(ok.body)).toBe(201)
    expect(await stored()).toEqual(['ok_name-1.2.yaml'])
  })

  it('YAML alias bombs, oversized strategies and nets: 422 naming the limit', async () => {
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for (const [i, c] of ['b', 'c', 'd', 'e', 'f', 'g', 'h'].entries())
      laughs.push(`${c}: &${c} [${new Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`)
    const bomb = await g.api('/api/v1/strategies/validate', { raw: laughs.join('\n'), headers: YAML })
    expect(bomb.status).toBe(422)
    expect(JSON.stringify(bomb.body)).toMatch(/alias/i)

    const huge = await g.api('/api/v1/strategies/validate', { raw: `${EXAMPLE}\n#${'x'.repeat(STRATEGY_LIMITS.maxBytes)}`, headers: YAML })
    expect(huge.status).toBe(422)
    expect(JSON.stringify(huge.body)).toContain(`at most ${STRATEGY_LIMITS.maxBytes}`)

    const wide = await g.api('/api/v1/strategies/validate', {
      raw: EXAMPLE.replace(/hidden_layers: \[[^\]]*\]/, 'hidden_layers: [100000000, 8]'),
      headers: YAML,
    })
    expect(wide.status).toBe(422)
    expect(JSON.stringify(wide.body)).toContain(`at most ${STRATEGY_LIMITS.hiddenUnits} per layer`)

    const many = EXAMPLE.replace(
      /^indicators:\n/m,
      `indicators:\n${Array.from({ length: 5000 }, (_, i) => `  extra_${i}: {type: rsi, period: 14}\n`).join('')}`,
    )
    const t0 = performance.now()
    const manyRes = await g.api('/api/v1/strategies/validate', { raw: many, headers: YAML })
    expect(manyRes.status).toBe(422)
    expect(JSON.stringify(manyRes.body)).toContain(`at most ${STRATEGY_LIMITS.indicators} are accepted`)
    // One YAML parse and a count, no grammar checks: well under the 14.5 s the uncapped validator took (generous: CI is loaded).
    expect(performance.now() - t0).toBeLessThan(5000)
  })
})

describe('no request stalls the gateway', () => {
  it('/health answers in under 50 ms while the largest accepted strategies are validated and listed', async () => {
    // Largest counts the limits accept, padded to just under the byte cap.
    const big = EXAMPLE.replace(
      /^indicators:\n/m,
      `indicators:\n${Array.from({ length: STRATEGY_LIMITS.indicators - 10 }, (_, i) => `  extra_${i}: {type: rsi, period: ${2 + (i % 50)}}\n`).join('')}`,
    )
    const padded = `${big}\n#${'x'.repeat(Math.max(0, STRATEGY_LIMITS.maxBytes - big.length - 10))}`
    for (let i = 0; i < 20; i++) await g.api(`/api/v1/strategies/big_${i}`, { method: 'PUT', raw: EXAMPLE, headers: YAML })
    const worst: number[] = []
    let busy = true
    const load = (async () => {
      for (let i = 0; i < 10; i++) {
        await Promise.all([g.api('/api/v1/strategies/validate', { raw: padded, headers: YAML }), g.api('/api/v1/strategies')])
      }
      busy = false
    })()
    while (busy) {
      const t0 = performance.now()
      const res = await fetch(`${g.url}/health`)
      await res.text()
      worst.push(performance.now() - t0)
    }
    await load
    expect(worst.length).toBeGreaterThan(5)
    worst.sort((a, b) => a - b)
    const p95 = worst[Math.floor(worst.length * 0.95)]
    console.log(
      `health latency under load: ${worst.length} probes, p50 ${worst[worst.length >> 1].toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${worst.at(-1)!.toFixed(1)} ms`,
    )
    // The client shares this process and CI runs another test file on the second core, so a single
    // probe can be descheduled past 50 ms (70 ms seen once in CI); the event loop itself is never held:
    // inline validation held it 75–110 ms per large strategy and 14.5 s for the uncapped one.
    // Inline validation held one probe per large strategy past 50 ms (ten here); off the loop none is.
    expect(worst.filter((ms) => ms >= 50).length).toBeLessThanOrEqual(2)
    expect(p95).toBeLessThan(50)
    expect(worst.at(-1)!).toBeLessThan(250)
  })
})
