// The research loop's cases with fake functions, on either database backend (SQLite: loop.test.ts,
// PostgreSQL: postgres.cluster.test.ts): research_loops, research_token_usage and the children
// filter give the same answers on both.
import { afterEach, describe, expect, it } from 'vitest'
import type { GatewayServerConfig } from '../../../runtime/gateway/index.ts'
import type { Operation } from '../../../runtime/protocol/index.ts'
import { until } from '../../../test/kit/index.ts'
import { readHypotheses } from '../../../trading/index.ts'
import { startFakeLlmHost, startResearchGateway } from './_fake-cluster.ts'

export interface LoopBackend {
  name: 'sqlite' | 'postgresql'
  /** Gateway settings pointing at a fresh, empty database (none: the gateway's own SQLite file). */
  fresh(): Promise<GatewayServerConfig>
}

export function describeResearchLoop(backend: LoopBackend) {
  const cleanups: Array<() => Promise<unknown> | unknown> = []
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!()
  })

  async function cluster(results?: Parameters<typeof startFakeLlmHost>[2]) {
    const g = await startResearchGateway(undefined, await backend.fresh())
    cleanups.push(() => g.close())
    const h = await startFakeLlmHost(g.url, 'llm-1', results)
    cleanups.push(() => h.close())
    return g
  }

  type G = Awaited<ReturnType<typeof startResearchGateway>>
  const loopOf = (g: G, id: string) => g.api<{ data: any }>(`/api/v1/research/${id}`).then((r) => r.body.data)
  const finished = (g: G, id: string) =>
    until(async () => {
      const l = await loopOf(g, id)
      return ['completed', 'failed', 'cancelled'].includes(l.status) ? l : null
    }, 20_000)

  describe(`research loop (fake functions) on ${backend.name}`, () => {
    it('walks design → training → backtesting → assessing, records the experiment and the hypotheses', async () => {
      const g = await cluster()
      const res = await g.api('/api/v1/research', { body: { brief: 'momentum', training: { epochs: 2 } } })
      expect(res.status).toBe(202)
      const loop = await finished(g, res.body.operation_id)
      expect(loop).toMatchObject({ status: 'completed', phase: 'done', strategy_name: 'fake_strategy', shortcut: null })
      expect(Object.keys(loop.children).sort()).toEqual(['assess', 'backtest', 'design', 'training'])
      const children = (await g.api<{ data: Operation[] }>(`/api/v1/operations/${loop.operation_id}/children`)).body.data
      expect(children.map((c) => c.function.name).sort()).toEqual(['assess', 'backtest', 'design', 'train'])
      const train = children.find((c) => c.function.name === 'train')!
      expect(train.input).toMatchObject({ strategy_name: 'fake_strategy', epochs: 2, end_date: loop.data_window.train.end })
      const backtest = children.find((c) => c.function.name === 'backtest')!
      expect(backtest.input).toMatchObject({
        model_path: 'fake_strategy/1h_v1',
        require_out_of_sample: true,
        start_date: loop.data_window.backtest.start,
      })
      expect(loop.data_window.backtest.start > loop.data_window.train.end).toBe(true)
      expect(loop.tokens).toMatchObject({ design: 200, assess: 100 })
      const exp = (await g.api(`/api/v1/experiments/${loop.experiment_id}`)).body.data
      expect(exp).toMatchObject({
        status: 'completed',
        strategy: { name: 'fake_strategy', designed: true },
        assessment: { verdict: 'weak_signal' },
      })
      expect(exp.operations).toMatchObject({ parent: loop.operation_id, design: loop.children.design })
      const hypotheses = await readHypotheses(g.gateway.services.storage.memory)
      expect(hypotheses).toHaveLength(1)
      expect(hypotheses[0]).toMatchObject({ id: 'H_001', status: 'untested', experiments: [loop.experiment_id] })
      expect(loop.hypotheses.proposed).toEqual(['H_001'])
      const budget = (await g.api('/api/v1/agent/budget')).body
      expect(budget.models['fake-llm']).toMatchObject({ used: 300 })
      // Every list answers the one envelope {data, total_count, limit, offset}.
      const page = (path: string) => g.api(path).then((r) => r.body)
      expect(await page(`/api/v1/operations/${loop.operation_id}/children?limit=2&offset=1`)).toMatchObject({
        total_count: 4,
        limit: 2,
        offset: 1,
        parent_operation_id: loop.operation_id,
        data: [{ operation_id: expect.any(String) }, { operation_id: expect.any(String) }],
      })
      expect(await page('/api/v1/research?limit=1')).toMatchObject({
        total_count: 1,
        limit: 1,
        offset: 0,
        data: [{ operation_id: loop.operation_id }],
      })
      expect(await page('/api/v1/experiments')).toMatchObject({ total_count: 1, limit: 50, offset: 0, data: [{ id: loop.experiment_id }] })
      expect(await page('/api/v1/hypotheses?status=untested')).toMatchObject({
        total_count: 1,
        limit: 1000,
        offset: 0,
        data: [{ id: 'H_001' }],
      })
      expect((await page('/api/v1/hypotheses?status=refuted')).total_count).toBe(0)
    })

    it("seed: the request's goes to design and assess; without one the loop draws one and records it", async () => {
      const g = await cluster()
      const given = await finished(
        g,
        (await g.api('/api/v1/research', { body: { brief: 'momentum', seed: 2 ** 31 - 1 } })).body.operation_id,
      )
      expect(given.request.seed).toBe(2 ** 31 - 1)
      const inputs = async (loop: any) =>
        (await g.api<{ data: Operation[] }>(`/api/v1/operations/${loop.operation_id}/children`)).body.data
          .filter((c) => ['design', 'assess'].includes(c.function.name))
          .map((c) => (c.input as { seed?: number }).seed)
      expect(await inputs(given)).toEqual([2 ** 31 - 1, 2 ** 31 - 1])
      const drawn = await finished(g, (await g.api('/api/v1/research', { body: { brief: 'momentum' } })).body.operation_id)
      expect(drawn.request.seed).toEqual(expect.any(Number))
      expect(await inputs(drawn)).toEqual([drawn.request.seed, drawn.request.seed])
    })

    it('a gate rejection goes straight to assessment with the reason; bypass_gates runs the backtest', async () => {
      const g = await cluster({ testLoss: 1.2 })
      const gated = await finished(g, (await g.api('/api/v1/research', { body: { strategy: 'regime_momentum' } })).body.operation_id)
      expect(gated.status).toBe('completed')
      expect(gated.shortcut).toBe('training gate: test loss 1.2 > 0.8')
      expect(gated.children.backtest).toBeUndefined()
      expect(gated.children.design).toBeUndefined()
      const assess = (await g.api<Operation>(`/api/v1/operations/${gated.children.assess}`)).body
      expect(assess.input).toMatchObject({ reason: gated.shortcut, backtest: null, gates: { training: { passed: false } } })
      const bypassed = await finished(
        g,
        (await g.api('/api/v1/research', { body: { strategy: 'regime_momentum', bypass_gates: true } })).body.operation_id,
      )
      expect(bypassed.gates.training).toMatchObject({ passed: true, bypassed: true, reasons: ['test loss 1.2 > 0.8'] })
      expect(bypassed.children.backtest).toBeDefined()
    })

    it('a child the gateway refuses at the door (a model not stored) goes to assessment with the reason, like a failed one', async () => {
      const g = await cluster({ modelPath: 'fake_strategy/1h_v9' })
      const loop = await finished(g, (await g.api('/api/v1/research', { body: { strategy: 'regime_momentum' } })).body.operation_id)
      expect(loop.status).toBe('completed')
      expect(loop.shortcut).toMatch(/^backtest refused: MODEL_NOT_FOUND: No complete model at models\/fake_strategy\/1h_v9/)
      expect(loop.children.backtest).toBeUndefined()
      const assess = (await g.api<Operation>(`/api/v1/operations/${loop.children.assess}`)).body
      expect(assess.input).toMatchObject({ reason: loop.shortcut, backtest: null })
    })

    it('a gateway restart resumes each loop at its phase; a child it had started is found, not started again', async () => {
      const g = await startResearchGateway(undefined, await backend.fresh())
      cleanups.push(() => g.close())
      // No llm host yet: design waits in the queue, the loop waits in `designing`.
      const id = (await g.api('/api/v1/research', { body: { brief: 'survive' } })).body.operation_id
      const design = await until(async () => (await loopOf(g, id)).children.design as string | undefined)
      await g.close(true)
      const again = await startResearchGateway(g.dir, g.config)
      cleanups.push(() => again.close())
      expect((await loopOf(again, id)).phase).toBe('designing')
      const h = await startFakeLlmHost(again.url, 'llm-1')
      cleanups.push(() => h.close())
      const loop = await finished(again, id)
      expect(loop.status).toBe('completed')
      expect(loop.children.design).toBe(design)
      const children = (await again.api<{ data: Operation[] }>(`/api/v1/operations/${id}/children`)).body.data
      expect(children.filter((c) => c.function.name === 'design')).toHaveLength(1)
      expect(h.received.filter((r) => r.function.name === 'design')).toHaveLength(1)
    })

    it('GET /api/v1/research/:id?wait_seconds answers when the loop ends, not before; bad waits are 400s naming the parameter', async () => {
      const g = await startResearchGateway(undefined, await backend.fresh())
      cleanups.push(() => g.close())
      // No llm host yet: the loop cannot end until one registers, so an answer with the loop ended
      // is one that waited for it.
      const id = (await g.api('/api/v1/research', { body: { brief: 'wait for me' } })).body.operation_id
      await until(async () => (await loopOf(g, id)).children.design as string | undefined)
      expect((await g.api(`/api/v1/research/${id}?wait_seconds=0`)).body.data.status).toBe('running')
      const waited = g.api<{ data: any }>(`/api/v1/research/${id}?wait_seconds=60`)
      // changed_after: answered at the loop's next save (here: design done), not only at its end.
      const since = (await loopOf(g, id)).updated_at
      const changed = g.api<{ data: any }>(`/api/v1/research/${id}?wait_seconds=60&changed_after=${encodeURIComponent(since)}`)
      const h = await startFakeLlmHost(g.url, 'llm-1')
      cleanups.push(() => h.close())
      const next = (await changed).body.data
      expect(next.updated_at > since).toBe(true)
      const res = await waited
      expect(res.status).toBe(200)
      expect(res.body.data).toMatchObject({ operation_id: id, status: 'completed', phase: 'done' })
      // An ended loop answers at once, whatever the wait.
      expect((await g.api(`/api/v1/research/${id}?wait_seconds=60`)).body.data.status).toBe('completed')
      for (const [query, field] of [
        ['wait_seconds=soon', 'wait_seconds'],
        ['wait_seconds=-1', 'wait_seconds'],
        ['wait_seconds=100000', 'wait_seconds'],
        ['wait_seconds=1&changed_after=yesterday', 'changed_after'],
      ]) {
        const bad = await g.api(`/api/v1/research/${id}?${query}`)
        expect(bad.status, query).toBe(400)
        expect(bad.body.details?.field, query).toBe(field)
      }
      expect((await g.api('/api/v1/research/op_agent_research_nope?wait_seconds=5')).status).toBe(404)
    })

    it('orchestration_ms counts the loop’s last step: the experiment record and hypotheses it writes', async () => {
      const g = await cluster()
      // A slow memory mount (each write takes ≥ 1 s): the record's time must show in the loop's own time.
      const memory = g.gateway.services.storage.memory
      const setItem = memory.setItem.bind(memory)
      const writes: number[] = []
      memory.setItem = (async (key: string, value: string) => {
        const started = performance.now()
        await new Promise((resolve) => setTimeout(resolve, 1000))
        await setItem(key, value)
        writes.push(performance.now() - started)
      }) as typeof memory.setItem
      const loop = await finished(g, (await g.api('/api/v1/research', { body: { brief: 'slow disk' } })).body.operation_id)
      expect(loop.status).toBe('completed')
      expect(writes).toHaveLength(2)
      expect(loop.orchestration_ms).toBeGreaterThanOrEqual(Math.max(...writes))
    })

    it('cancel: the loop and its pending child; 400 once finished', async () => {
      const g = await startResearchGateway(undefined, await backend.fresh())
      cleanups.push(() => g.close())
      const id = (await g.api('/api/v1/research', { body: { brief: 'cancel me' } })).body.operation_id
      const design = await until(async () => (await loopOf(g, id)).children.design as string | undefined)
      const res = await g.api(`/api/v1/research/${id}`, { method: 'DELETE' })
      expect(res.body).toMatchObject({ status: 'cancelled', cancelled_children: [design] })
      expect((await g.api<Operation>(`/api/v1/operations/${design}`)).body.status).toBe('cancelled')
      expect((await g.api(`/api/v1/research/${id}`, { method: 'DELETE' })).status).toBe(400)
      const exp = (await g.api(`/api/v1/experiments/${(await loopOf(g, id)).experiment_id}`)).body.data
      expect(exp.status).toBe('cancelled')
    })

    it('bad inputs: 4xx naming the field, nothing started', async () => {
      const g = await cluster()
      const cases: Array<[unknown, number, string]> = [
        [{ brief: 'x', strategy: 'regime_momentum' }, 400, 'brief'],
        [{ brief: '' }, 400, 'brief'],
        [{ brief: 42 }, 400, 'brief'],
        [{}, 400, 'brief'],
        [{ strategy: 'nope' }, 404, 'strategy'],
        [{ strategy: '../etc' }, 400, 'strategy'],
        [{ brief: 'x', model: 'unknown-model' }, 422, 'model'],
        [{ brief: 'x', bypass_gates: 'yes' }, 400, 'bypass_gates'],
        [{ brief: 'x', training: { epochs: 0 } }, 400, 'training.epochs'],
        [{ brief: 'x', training: { end_date: '2021-13-01' } }, 400, 'training.end_date'],
        // A day the calendar does not have was read as the next month's (2021-03-02) before.
        [{ brief: 'x', training: { end_date: '2021-02-30' } }, 400, 'training.end_date'],
        [{ brief: 'x', backtest: { start_date: '2021-04-31' } }, 400, 'backtest.start_date'],
        [{ brief: 'x', training: { end_date: '2021-06-30' }, backtest: { start_date: '2021-06-30' } }, 422, 'backtest.start_date'],
        [{ strategy: 'regime_momentum', constraints: {} }, 400, 'constraints'],
        [{ brief: 'x', extra: 1 }, 400, 'extra'],
        [{ brief: 'x', seed: -1 }, 400, 'seed'],
        [{ brief: 'x', seed: 0.5 }, 400, 'seed'],
        [{ brief: 'x', seed: 2 ** 31 }, 400, 'seed'],
        [{ brief: 'x', seed: '1' }, 400, 'seed'],
        [[1, 2], 400, 'body'],
      ]
      for (const [body, status, field] of cases) {
        const res = await g.api('/api/v1/research', { body })
        expect(res.status, JSON.stringify(body)).toBe(status)
        expect(res.body.details?.field ?? res.body.error?.details?.field ?? JSON.stringify(res.body), JSON.stringify(body)).toContain(field)
      }
      expect((await g.api('/api/v1/research')).body.total_count).toBe(0)
      expect((await g.api('/api/v1/research/op_agent_research_nope')).status).toBe(404)
      expect((await g.api('/api/v1/experiments/exp_nope')).status).toBe(404)
      for (const [path, field] of [
        ['/api/v1/research?limit=0', 'limit'],
        ['/api/v1/research?status=done', 'status'],
        ['/api/v1/experiments?offset=-1', 'offset'],
        ['/api/v1/hypotheses?status=maybe', 'status'],
        ['/api/v1/operations/op_x/children?limit=1001', 'limit'],
      ]) {
        const res = await g.api(path)
        expect(res.status, path).toBe(400)
        expect(res.body.details?.field, path).toBe(field)
      }
    })

    it('budget: past the tokens of the day, new loops get 429 (and the agent API says so)', async () => {
      process.env.KTRDR_RESEARCH_TOKENS_PER_DAY = '250'
      cleanups.push(() => delete process.env.KTRDR_RESEARCH_TOKENS_PER_DAY)
      const g = await cluster()
      const first = await g.api('/api/v1/agent/trigger', { body: { brief: 'spend' } })
      expect(first.body).toMatchObject({ success: true, status: 'started' })
      await finished(g, first.body.operation_id)
      const refused = await g.api('/api/v1/research', { body: { brief: 'one more' } })
      expect(refused.status).toBe(429)
      expect(JSON.stringify(refused.body)).toContain('RESEARCH_BUDGET_EXHAUSTED')
      const status = (await g.api('/api/v1/agent/status')).body
      expect(status).toMatchObject({ status: 'idle', budget: { models: { 'fake-llm': { used: 300, remaining: 0 } } } })
      // After a restart, before any llm host has registered again, the spent model still counts.
      await g.close(true)
      const again = await startResearchGateway(g.dir, g.config)
      cleanups.push(() => again.close())
      expect((await again.api('/api/v1/research', { body: { brief: 'right after a restart' } })).status).toBe(429)
    })
  })
}
