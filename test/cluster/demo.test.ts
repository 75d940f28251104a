// The README's main command, run as a user would: `ktrdr demo` in a child process, a fresh
// storage root, a free port. Slow (two Nitro builds and a short training): one test.
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { freePort, spawnKtrdr, type KtrdrChild } from './_cluster.ts'

let home: string | undefined
let demo: KtrdrChild | undefined
afterAll(async () => {
  await demo?.kill()
  if (home) await rm(home, { recursive: true, force: true })
})

it('ktrdr demo: cluster, deploy, synthetic data, train, backtest, results on disk, working curl commands, exit 0', async () => {
  home = await mkdtemp(join(tmpdir(), 'ktrdr-demo-'))
  const port = await freePort()
  // --serve keeps the cluster up after the summary, so the printed curl commands can be tried.
  const child = (demo = spawnKtrdr(['demo', '--port', String(port), '--home', home, '--bars', '3000', '--epochs', '1', '--serve']))
  const exited = new Promise<number | null>((resolve) => child.proc.once('exit', (c) => resolve(c)))
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (child.output().includes('Cluster stays up')) resolve()
    }
    child.proc.stdout!.on('data', onData)
    child.proc.stderr!.on('data', onData)
    void exited.then((c) => reject(new Error(`demo exited with ${c} before serving:\n${child.output()}`)))
  })
  const curls = [...child.output().matchAll(/curl -s '?(http:\/\/\S+?)'? \|/g)].map((m) => m[1])
  expect(curls.map((u) => new URL(u).pathname.replace(/op_\w+|\/[^/]*_v\d+/g, '…'))).toEqual(
    expect.arrayContaining([
      '/api/v1/operations/…/results',
      '/api/v1/trainings/…/performance',
      expect.stringMatching(/^\/api\/v1\/results\/backtests\/…\/.+\/trades\.json$/),
    ]),
  )
  for (const url of curls) {
    const res = await fetch(url)
    expect(res.status, url).toBe(200)
    if (url.endsWith('.csv')) expect((await res.text()).split('\n')[0], url).toBe('timestamp,price,portfolio_value,position')
    else {
      const body = (await res.json()) as Record<string, unknown> | unknown[]
      const path = new URL(url).pathname
      // Each printed command answers what the summary says it answers, not merely some JSON.
      if (path.endsWith('/trades.json')) {
        expect(Array.isArray(body), url).toBe(true)
        for (const t of body as Record<string, unknown>[]) expect(t, url).toMatchObject({ entry_price: expect.any(Number) })
      } else if (path.endsWith('/results')) expect(body, url).toMatchObject({ success: true })
      else if (path.endsWith('/performance')) expect(body, url).toMatchObject({ test_metrics: { test_accuracy: expect.any(Number) } })
      else if (path === '/api/v1/models') expect(JSON.stringify(body), url).toContain('regime_momentum')
      // The backtest's results folder: its keys, the summary among them.
      else if (/^\/api\/v1\/results\/backtests\/op_\w+$/.test(path))
        expect(
          (body as { data: Array<{ key: string }> }).data.map((d) => d.key),
          url,
        ).toEqual(expect.arrayContaining([expect.stringMatching(/summary\.json$/)]))
      else if (/^\/api\/v1\/models\/regime_momentum\/1h_v\d+$/.test(path))
        expect(body, url).toMatchObject({ data: { metrics: expect.any(Object) } })
      else if (path === '/api/v1/operations') expect((body as { data: unknown[] }).data, url).toHaveLength(2)
      else if (path === '/api/v1/workers') expect(body, url).toHaveLength(2)
      else throw new Error(`the demo printed a command this test does not know: ${url}`)
    }
  }
  // The printed `ktrdr model list` answers with the trained model under its symbol set.
  const modelList = /npx (ktrdr model list --url \S+)/.exec(child.output())![1]!.split(' ').slice(1)
  const listing = spawnKtrdr([...modelList, '--json'])
  const listed = await new Promise<number | null>((resolve) => listing.proc.once('close', (c) => resolve(c)))
  expect(listed, listing.output()).toBe(0)
  expect(listing.output()).toContain('regime_momentum')
  expect(listing.output()).toContain('EURUSD')
  const perf = /curl -s (\S+\/performance)/.exec(child.output())![1]
  expect(
    ((await (await fetch(perf)).json()) as { test_metrics: { test_accuracy: number } }).test_metrics.test_accuracy,
  ).toBeGreaterThanOrEqual(0)
  child.proc.kill('SIGINT')
  const code = await exited
  const out = child.output()
  expect(code, out).toBe(0)
  expect(out).toContain('2 hosts registered')
  expect(out).toMatch(/train v\d+/)
  expect(out).toMatch(/backtest v\d+/)
  expect(out).toContain('SYNTHETIC')
  // The epoch's numbers come with the operation's event stream (its log lines are stored before
  // its final state goes out), whatever the host's own log level.
  expect(out).toMatch(/\[train\] Epoch 1\/1: loss [\d.]+ acc [\d.]+ \| val loss [\d.]+ acc [\d.]+/)
  const trainOp = /train (op_training_\S+), backtest (op_backtesting_\S+)/.exec(out)
  expect(trainOp, out).not.toBeNull()
  expect(out).toContain(`curl -s http://127.0.0.1:${port}/api/v1/operations/${trainOp![2]}`)
  // The printed trade list exists and agrees with the printed trade count.
  const tradesPath = /trades +(\S+trades\.json)/.exec(out)![1]
  expect(existsSync(tradesPath)).toBe(true)
  const trades = JSON.parse(await readFile(tradesPath, 'utf8')) as unknown[]
  const printed = Number(/Trades +(\d+) \(/.exec(out)![1])
  expect(trades.length).toBe(printed)
  const equity = /equity curve +(\S+equity\.csv)/.exec(out)![1]
  expect((await readFile(equity, 'utf8')).split('\n')[0]).toBe('timestamp,price,portfolio_value,position')
  expect(existsSync(join(home, 'models', 'regime_momentum', '1h_v1', 'metadata.json'))).toBe(true)
  // Numbers beside their baselines, strictly out of sample, and a verdict.
  expect(out).toMatch(/Test accuracy [\d.]+% vs [\d.]+% always-\w+; balanced accuracy/)
  expect(out).toMatch(/Buy and hold +-?[\d.]+% market/)
  // A one-epoch model may not trade: then the line is '-' and the verdict says why.
  expect(out).toMatch(/Random entries +(2000 draws.*th percentile, p = [\d.]+|-)\n/)
  expect(out).toContain('out of sample: 0 bars overlap training')
  expect(out).toMatch(/Verdict \(planted market, out of sample\): (beats random entries|at the [\d.]+th percentile|no trades)/)
}, 600_000)

it('ktrdr demo: bad arguments fail with a message and a non-zero exit', async () => {
  const child = spawnKtrdr(['demo', '--bars', 'many'])
  const code = await new Promise<number | null>((resolve) => child.proc.once('exit', (c) => resolve(c)))
  expect(code).not.toBe(0)
  expect(child.output()).toMatch(/--bars must be an integer/)
})
