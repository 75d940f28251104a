// The dashboard in a real browser (Debian's chromium through playwright-core) against a real local
// cluster: real hosts, the real train/backtest/echo bundles, a training and two backtests. Every
// page loads without console errors, progress arrives live, the backtest chart carries one marker
// per trade entry and exit, compare shows the chosen runs; `ktrdr report` and `ktrdr compare --html`
// write files that render with the network off. A screenshot of each page lands in the temp dir.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Operation } from '../../runtime/protocol/index.ts'
import { API_TOKEN, startResearchCluster, type ResearchCluster } from './_research-cluster.ts'
import { spawnKtrdr } from './_cluster.ts'

const CHROMIUM = process.env.KTRDR_CHROMIUM || '/usr/bin/chromium'
const HAS_CHROMIUM = existsSync(CHROMIUM)
if (!HAS_CHROMIUM) console.log(`dashboard browser tests skipped: no ${CHROMIUM} (apt-get install chromium; scripts/ci-setup.sh does)`)

/** Flags that work in containers and offline machines (no sandbox, GPU, QUIC or background traffic). */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

let root: string
let shots: string
let cluster: ResearchCluster
let context: BrowserContext
let page: Page
const errors: string[] = []

beforeAll(async () => {
  if (!HAS_CHROMIUM) return
  root = await mkdtemp(join(tmpdir(), 'ktrdr-dashboard-'))
  shots = join(root, 'screenshots')
  await mkdir(shots)
  cluster = await startResearchCluster(join(root, 'cluster'))
  // A fresh profile in the test's temp dir (launchPersistentContext is playwright's --user-data-dir).
  context = await chromium.launchPersistentContext(join(root, 'profile'), {
    executablePath: CHROMIUM,
    args: FLAGS,
    headless: true,
    viewport: { width: 1400, height: 1000 },
  })
  page = context.pages()[0] ?? (await context.newPage())
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()} (${m.location().url})`)
  })
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`))
}, 900_000)

afterAll(async () => {
  await context?.close().catch(() => {})
  await cluster?.close()
  if (root) {
    console.log(`dashboard screenshots: ${shots} (kept when KTRDR_KEEP_SCREENSHOTS=1)`)
    if (process.env.KTRDR_UI_SCREENSHOTS) {
      await mkdir(process.env.KTRDR_UI_SCREENSHOTS, { recursive: true })
      await copyFile(join(shots, 'backtest.png'), join(process.env.KTRDR_UI_SCREENSHOTS, 'dashboard-backtest.png')).catch(() => {})
    }
    if (process.env.KTRDR_KEEP_SCREENSHOTS !== '1') await rm(root, { recursive: true, force: true })
  }
})

/** Goes to a page (hash route) and waits until it says it has drawn; fails on an error box. */
async function open(hash: string, ready: string) {
  await page.goto(`${cluster.url}/ui/${hash}`)
  await page.waitForSelector(`main[data-ready="${ready}"], [data-testid="error"]`, { timeout: 30_000 })
  const error = await page
    .locator('[data-testid="error"]')
    .textContent({ timeout: 50 })
    .catch(() => null)
  expect(error, `error box on ${hash}`).toBeNull()
}

const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })

async function tradesOf(op: Operation, run = 0): Promise<unknown[]> {
  const r = op.result as { runs: Array<{ parameter_set: number; results: { trades_key: string } }> }
  const key = r.runs.find((x) => x.parameter_set === run)!.results.trades_key
  return cluster.api<unknown[]>(`/api/v1/results/${key.split('/').map(encodeURIComponent).join('/')}`)
}

describe.skipIf(!HAS_CHROMIUM)('dashboard in chromium', () => {
  it('asks for the API token, keeps it, and shows the cluster: hosts, slots, capabilities', async () => {
    await page.goto(`${cluster.url}/ui/`)
    // The page itself is public; its first API call gets 401 and the page asks for the token.
    const dialog = page.locator('dialog.token')
    await dialog.waitFor({ timeout: 30_000 })
    await dialog.locator('input[name=token]').fill(API_TOKEN)
    await dialog.locator('button[type=submit]').click()
    await page.waitForSelector('main[data-ready="cluster"]', { timeout: 30_000 })
    // Those 401s are the only errors the browser saw (Chrome logs each refused fetch).
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([])
    errors.length = 0
    expect(await page.evaluate('localStorage.getItem("ktrdr.apiToken")')).toBe(API_TOKEN)
    const hosts = page.locator('main table').first().locator('tbody tr')
    await expect.poll(() => hosts.count()).toBe(2)
    const text = await page.locator('main').textContent()
    expect(text).toContain('research-host-1')
    expect(text).toContain('research-host-2')
    expect(text).toContain('fast-disk')
    expect(text).toMatch(/Slots in use\s*0 \/ 3/)
    // A reload keeps the token: no dialog, no 401.
    await open('#/cluster', 'cluster')
    expect(await dialog.count()).toBe(0)
    expect(errors).toEqual([])
    await shot('cluster')
  })

  it('an operation’s progress arrives live over its event stream, then its end', async () => {
    const started = await cluster.api<Operation>('/api/v1/functions/echo/invoke', {
      body: { input: { message: 'live', steps: 10, delay_ms: 6000 } },
    })
    const id = started.operation_id
    await open(`#/operations/${id}`, 'operation')
    const bar = page.locator(`.progress[data-op="${id}"]`)
    // Some step strictly between 0 and 100 shows without a reload: it came over the stream.
    const pct = async () => Number(await bar.first().getAttribute('data-pct'))
    await expect.poll(async () => (await pct()) > 0 && (await pct()) < 100, { timeout: 30_000, interval: 25 }).toBe(true)
    expect(Number(await page.locator('body').getAttribute('data-live-events'))).toBeGreaterThan(0)
    // The end arrives the same way (the page then reloads itself, finished).
    await page.waitForSelector(`main[data-ready="operation"] [data-status-of="${id}"]:text("completed")`, { timeout: 30_000 })
    expect(await bar.first().getAttribute('data-pct')).toBe('100')
    expect(errors).toEqual([])
    await shot('operation')
  })

  it('operations: filter by status, cancel a running one', async () => {
    const started = await cluster.api<Operation>('/api/v1/functions/echo/invoke', {
      body: { input: { message: 'to cancel', steps: 100, delay_ms: 120_000 } },
    })
    const id = started.operation_id
    await cluster.gateway.services.operations.waitFor(id, 30_000, (o) => o.status === 'running')
    await open('#/operations?status=running', 'operations')
    const row = page.locator('main tbody tr', { hasText: id })
    await row.locator('button', { hasText: 'Cancel' }).click()
    await expect.poll(async () => (await cluster.api<Operation>(`/api/v1/operations/${id}`)).status, { timeout: 15_000 }).toBe('cancelled')
    await open('#/operations?status=cancelled', 'operations')
    const statuses = await page.locator('main tbody [data-status-of]').allTextContents()
    expect(statuses.length).toBeGreaterThan(0)
    expect(new Set(statuses)).toEqual(new Set(['cancelled']))
    await open('#/operations', 'operations')
    expect(errors).toEqual([])
    await shot('operations')
  })

  it('a backtest: equity, drawdown and price charts, one marker per trade entry and exit, metrics beside the baselines', async () => {
    const [bt] = cluster.backtests
    await open(`#/backtests/${bt.operation_id}`, 'backtest')
    const trades = await tradesOf(bt)
    expect(Number(await page.locator('[data-testid="price-chart"]').getAttribute('data-markers'))).toBe(2 * trades.length)
    for (const chart of ['equity-chart', 'drawdown-chart', 'price-chart'])
      expect(await page.locator(`[data-testid="${chart}"] canvas`).count(), chart).toBeGreaterThan(0)
    const metrics = await page.locator('[data-testid="metrics"]').textContent()
    expect(metrics).toContain('Buy and hold')
    expect(metrics).toContain('Random entries')
    expect(await page.locator('[data-testid="verdict"]').textContent()).toMatch(/random entries/)
    // The max drawdown drawn (from every bar, on the gateway) is the engine's.
    const legend = await page.locator('[data-testid="drawdown-chart"] .legend').textContent()
    const engine = (bt.result as { metrics: { max_drawdown_pct: number } }).metrics.max_drawdown_pct
    expect(legend).toContain(`max ${engine.toFixed(2)}%`)
    expect(errors).toEqual([])
    await shot('backtest')
  })

  it('a two-set sweep: the run picker switches runs, each with its own trades', async () => {
    const bt = cluster.backtests[1]
    await open(`#/backtests/${bt.operation_id}?symbol=EURUSD&run=1`, 'backtest')
    expect(await page.locator('main header select option').allTextContents()).toEqual(['EURUSD · base', 'EURUSD · cautious'])
    expect(Number(await page.locator('[data-testid="price-chart"]').getAttribute('data-markers'))).toBe(2 * (await tradesOf(bt, 1)).length)
    expect(errors).toEqual([])
  })

  it('a training: loss and accuracy per epoch, test metrics beside the majority class, confusion matrix', async () => {
    const { train } = cluster
    await open(`#/trainings/${train.operation_id}`, 'training')
    expect(await page.locator('[data-testid="loss-chart"]').getAttribute('data-epochs')).toBe('2')
    expect(await page.locator('[data-testid="accuracy-chart"] canvas').count()).toBeGreaterThan(0)
    const cells = await page.locator('[data-testid="confusion-matrix"] tbody td').allTextContents()
    expect(cells).toHaveLength(9)
    const tests = (train.result as { data_summary: { test_samples: number } }).data_summary.test_samples
    expect(cells.reduce((a, c) => a + Number(c.replace(/,/g, '')), 0)).toBe(tests)
    expect(await page.locator('main').textContent()).toMatch(/Always (BUY|HOLD|SELL)/)
    expect(errors).toEqual([])
    await shot('training')
  })

  it('compare: pick two backtests on the operations page, see both side by side', async () => {
    const [a, b] = cluster.backtests
    await open('#/operations?function=backtest', 'operations')
    const button = page.locator('[data-testid="compare-selected"]')
    expect(await button.isDisabled()).toBe(true)
    await page.locator(`input[data-select="${a.operation_id}"]`).check()
    await page.locator(`input[data-select="${b.operation_id}"]`).check()
    await button.click()
    await page.waitForSelector('main[data-ready="compare"]', { timeout: 30_000 })
    const columns = page.locator('[data-testid="compare-table"] thead th[data-op]')
    expect(await columns.count()).toBe(2)
    expect(await columns.nth(0).getAttribute('data-op')).toBe(a.operation_id)
    expect(await columns.nth(1).getAttribute('data-op')).toBe(b.operation_id)
    expect(await page.locator('[data-testid="compare-chart"]').getAttribute('data-series')).toBe('2')
    expect(await page.locator('[data-testid="compare-table"]').textContent()).toContain('Buy and hold (market)')
    expect(errors).toEqual([])
    await shot('compare')
  })

  it('functions: versions, aliases and the canary’s weights', async () => {
    await open('#/functions', 'functions')
    expect(await page.locator('[data-function="echo"] [data-alias="canary"] .weight').allTextContents()).toEqual(['v1 90%', 'v2 10%'])
    expect(await page.locator('[data-function="echo"] tbody tr').count()).toBe(2)
    expect(await page.locator('[data-function="backtest"]').count()).toBe(1)
    expect(errors).toEqual([])
    await shot('functions')
  })

  it('ktrdr report and ktrdr compare --html write single files that render with the network off', async () => {
    const [a, b] = cluster.backtests
    const env = { KTRDR_API_URL: cluster.url, KTRDR_API_TOKEN: API_TOKEN }
    const run = async (args: string[]) => {
      const child = spawnKtrdr(args, env)
      const code = await new Promise<number | null>((resolve) => child.proc.once('exit', resolve))
      expect(code, child.output()).toBe(0)
      return child.output()
    }
    const report = join(root, 'report.html')
    expect(await run(['report', a.operation_id, '--out', report])).toMatch(/Wrote .*report\.html .*opens offline/)
    const compareHtml = join(root, 'compare.html')
    const table = await run(['compare', a.operation_id, b.operation_id, '--html', compareHtml])
    expect(table).toContain(a.operation_id)
    expect(table).toContain(b.operation_id)
    expect(table).toMatch(/Total return +-?[\d.]+%/)

    const offline = await context.newPage()
    const requests: string[] = []
    offline.on('request', (r) => {
      if (!/^(file|data):/.test(r.url())) requests.push(r.url())
    })
    offline.on('pageerror', (e) => errors.push(`report: ${e.message}`))
    offline.on('console', (m) => m.type() === 'error' && errors.push(`report: ${m.text()}`))
    await context.setOffline(true)
    try {
      await offline.goto(`file://${report}`)
      await offline.waitForSelector('main[data-ready="backtest"]', { timeout: 30_000 })
      expect(Number(await offline.locator('[data-testid="price-chart"]').getAttribute('data-markers'))).toBe(2 * (await tradesOf(a)).length)
      await offline.screenshot({ path: join(shots, 'report.png'), fullPage: true })
      await offline.goto(`file://${compareHtml}`)
      await offline.waitForSelector('main[data-ready="compare"]', { timeout: 30_000 })
      expect(await offline.locator('[data-testid="compare-chart"]').getAttribute('data-series')).toBe('2')
    } finally {
      await context.setOffline(false)
      await offline.close()
    }
    expect(requests).toEqual([])
    expect(errors).toEqual([])
  })
})
