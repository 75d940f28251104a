// Every refusal is a 4xx naming what was wrong, with no server internals, and nothing is stored;
// no single request holds the gateway's event loop (docs/operations.md, limits).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestGateway, type TestGateway } from '../kit/index.ts'
import { createHost } from '../../runtime/host/index.ts'
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

describe('keys, filters and names that cannot name anything are a 400, and nothing is stored', () => {
  const long = 'k'.repeat(300)

  it('storage routes: NUL, control characters, a 300-byte segment, a ".." ending', async () => {
    // A 300-byte segment was a 500 carrying this machine's path (ENAMETOOLONG) and "..%2F.." a 500
    // from unstorage's fs driver; NUL, newline or \x01 in a file name were 500s or stored.
    for (const key of ['a%00b', 'a%0Ab', 'a%01b', 'a%7Fb', long, `x/${long}`, '..%2F..', 'x/a..']) {
      for (const method of ['PUT', 'GET']) {
        const res = await g.api(`/api/v1/storage/results/${key}`, { method, ...(method === 'PUT' ? { raw: 'x' } : {}) })
        refused(
          res,
          400,
          /Invalid storage key .*: (it must not contain control characters|a segment is 300 bytes long|a segment must not end in "\.\.")/,
        )
        expect(res.body.code).toBe('STORAGE_KEY_INVALID')
      }
    }
    const listed = await g.api('/api/v1/storage/results/a%00b/')
    refused(listed, 400, /control character/)
    // Nothing was written: a plain key still round-trips, and it is the only one.
    expect((await fetch(`${g.url}/api/v1/storage/results/ok/key`, { method: 'PUT', body: 'x' })).status).toBe(200)
    expect((await g.api('/api/v1/storage/results/')).body).toEqual(['ok/key'])
  })

  it('results and models routes: control characters and over-long segments', async () => {
    for (const seg of ['a%01b', 'a%0Ab', long]) {
      for (const path of [
        `/api/v1/results/${seg}`,
        `/api/v1/results?prefix=${seg}`,
        `/api/v1/models/${seg}/1h_v1`,
        `/api/v1/models/s/1h_v1/${seg}`,
      ]) {
        const res = await g.api(path)
        refused(res, 400, /key segment .* is not allowed/)
        expect(res.body.code).toBe('INVALID_KEY')
      }
    }
  })

  it('/data filters and symbols: refused for what they are, not answered with an empty list or a 500', async () => {
    refused(await g.api('/api/v1/data?symbol=EUR%00USD'), 400, /Invalid symbol/)
    refused(await g.api(`/api/v1/data?symbol=${'X'.repeat(300)}`), 400, /Invalid symbol/)
    refused(await g.api('/api/v1/data?timeframe=7h'), 400, /Invalid timeframe "7h"/)
    refused(await g.api('/api/v1/data?symbol=A&symbol=B'), 400, /Invalid symbol/)
    // A malformed escape threw out of decodeURIComponent: a 500 "URI malformed".
    refused(await g.api('/api/v1/data/%ff/1h'), 400, /Invalid symbol/)
    expect((await g.api('/api/v1/data?symbol=EURUSD&timeframe=1h')).body).toMatchObject({ success: true, data: [], total_count: 0 })
  })

  it('alias routes: a route entry that is not an object', async () => {
    for (const [routes, what] of [
      [[null], 'null'],
      [[1], 'number'],
      [[[1]], 'a list'],
    ] as const) {
      refused(
        await g.api('/api/v1/functions/echo/aliases/stable', { method: 'PUT', body: { routes } }),
        400,
        new RegExp(`routes\\[0\\] must be an object .* got ${what}`),
      )
    }
  })

  it('strategies nested past the limit: 422 before parsing, and the gateway survives every depth', async () => {
    // A 12 KB [[[…]]] (6,001 levels) aborted the gateway's process from inside the YAML parser.
    for (const n of [STRATEGY_LIMITS.maxNesting + 1, 2000, ...Array.from({ length: 60 }, (_, i) => 5980 + i), 100_000]) {
      const res = await g.api('/api/v1/strategies/validate', { raw: `${'['.repeat(n)}${']'.repeat(n)}`, headers: YAML })
      expect(res.status, `${n} levels`).toBe(422)
      expect(JSON.stringify(res.body)).toContain(`nests more than ${STRATEGY_LIMITS.maxNesting} levels`)
    }
    const put = await g.api('/api/v1/strategies/deep', {
      method: 'PUT',
      raw: `${EXAMPLE}\nx: ${'{a: '.repeat(7000)}1${'}'.repeat(7000)}\n`,
      headers: YAML,
    })
    refused(put, 422, /nests more than/)
    // Collection keys: 30 levels of {{{…}}}: 1 (60 bytes) ran for seconds, then a 500 "Invalid string length".
    const t0 = performance.now()
    const keys = await g.api('/api/v1/strategies/validate', { raw: `${'{'.repeat(30)}${'}'.repeat(30)}: 1`, headers: YAML })
    expect(keys.status).toBe(422)
    expect(JSON.stringify(keys.body)).toContain('keys must be plain names')
    expect(performance.now() - t0).toBeLessThan(5000)
    expect(await stored()).not.toContain('deep.yaml')
  })
})

describe('the host refuses bad input with a 4xx too', () => {
  it('a malformed escape in an operation id, and bodies that are not a request', async () => {
    const host = await createHost({
      apiUrl: null,
      workerId: 'inputs-host',
      port: 0,
      storage: { root: join(g.dir, 'host') },
      cacheDir: join(g.dir, 'host-cache'),
      detectGpu: false,
      logLevel: 'silent',
      clusterToken: null,
      spareExecutors: 0,
      prewarm: false,
    })
    try {
      const call = async (method: string, path: string, body?: string) => {
        const res = await fetch(`${host.url}${path}`, { method, body, headers: { 'content-type': 'application/json' } })
        return { status: res.status, text: await res.text() }
      }
      // decodeURIComponent threw on these: a 500 from h3.
      for (const id of ['%ff', '%', 'a%E0%A4%A']) {
        const res = await call('DELETE', `/invocations/${id}`)
        expect(res.status, res.text).toBe(404)
        expect(res.text).toContain('OPERATION_NOT_RUNNING')
      }
      for (const body of ['null', '[]', 'garbage', `{"input":${'['.repeat(20_000)}${']'.repeat(20_000)}}`]) {
        expect((await call('POST', '/invocations', body)).status).toBe(400)
        expect((await call('POST', '/bundles/prefetch', body)).status).toBe(400)
      }
      expect(JSON.stringify(await call('DELETE', '/invocations/%ff'))).not.toContain(g.dir)
    } finally {
      await host.close({ timeoutMs: 1000 })
    }
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
