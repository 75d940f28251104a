import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ktrdr as run, startTestGateway } from '../../../test/kit/index.ts'
import { researchRoutes } from '../../index.ts'

const root = join(import.meta.dirname, '../../..')

const ktrdr = (...args: string[]) =>
  run(args, { env: { KTRDR_HOME: join(tmpdir(), 'ktrdr-cli-unused'), KTRDR_API_TOKEN: 'cli-data-token' } })

describe('ktrdr strategy validate', () => {
  it('passes the example strategies and fails an invalid one with file:line messages', async () => {
    const ok = await ktrdr('strategy', 'validate', 'examples/strategies/v3_minimal.yaml', 'examples/strategies/squad_cycle1_control.yaml')
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/OK +examples\/strategies\/squad_cycle1_control.yaml \(squad_cycle1_control: 32 features\)/)
    const dir = mkdtempSync(join(tmpdir(), 'ktrdr-cli-'))
    const bad = join(dir, 'bad.yaml')
    writeFileSync(bad, 'name: bad\nindicators:\n  - rsi\n')
    const r = await ktrdr('strategy', 'validate', 'examples/strategies/v3_minimal.yaml', bad)
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`INVALID ${bad}`)
    expect(r.stdout).toContain(`${bad}:2: indicators: not a v3 strategy`)
  }, 60_000)
})

describe('ktrdr strategy validate: the shipped strategies', () => {
  it('every example validates without a warning; notes say what has no effect and which name it registers', async () => {
    const files = readdirSync(join(root, 'examples/strategies'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => `examples/strategies/${f}`)
    const r = await ktrdr('strategy', 'validate', ...files)
    expect(r.code).toBe(0)
    expect(r.stdout.match(/^OK /gm)).toHaveLength(files.length)
    expect(r.stdout).not.toMatch(/warning/)
    expect(r.stdout).toMatch(/OK +examples\/strategies\/regression_example_v3.yaml \(regression_example_v3: \d+ features\)/)
    expect(r.stdout).toMatch(
      /note +examples\/strategies\/regression_example_v3.yaml:\d+: name: name "regression_example" differs from the file name: the strategy is stored, trained and listed as "regression_example_v3"/,
    )
    expect(r.stdout).toMatch(/note +examples\/strategies\/v3_multi_indicator.yaml:\d+: model.features: /)
  }, 60_000)
})

describe('ktrdr indicators', () => {
  it('lists every indicator, shows one with its params and aliases, prints JSON, and names an unknown one', async () => {
    const list = await ktrdr('indicators')
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(
      /^macd +Moving Average Convergence Divergence +fast_period=12 slow_period=26 signal_period=9 source=close +line, signal, histogram$/m,
    )
    expect(list.stdout).toMatch(/31 indicators/)
    const one = await ktrdr('indicators', 'MACD')
    expect(one.stdout).toMatch(/^fast_period +int +12 +\[1\.\.100\] +fast$/m)
    expect(one.stdout).toMatch(/outputs: line \(primary/)
    const json = JSON.parse((await ktrdr('indicators', 'bbands', '--json')).stdout)
    expect(json).toMatchObject({ type: 'bollingerbands', outputs: ['upper', 'middle', 'lower'], min_bars: 20 })
    expect(json.params[1]).toMatchObject({ name: 'multiplier', type: 'number', default: 2, min: 0, max: 10, exclusive_min: true })
    const unknown = await ktrdr('indicators', 'macdd')
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/unknown indicator type 'macdd'; did you mean 'macd'\?/)
  }, 120_000)
})

describe('ktrdr data', () => {
  it('generates, lists and shows synthetic data, and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktrdr-cli-data-'))
    const gen = await ktrdr(
      'data',
      'generate',
      '--symbol',
      'EURUSD',
      '--timeframe',
      '1h',
      '--bars',
      '500',
      '--seed',
      '7',
      '--data-dir',
      dir,
    )
    expect(gen.code).toBe(0)
    expect(gen.stdout).toMatch(/SYNTHETIC forex data: 500 bars/)
    const list = await ktrdr('data', 'list', '--data-dir', dir)
    expect(list.stdout).toMatch(/EURUSD\t1h\t2020-01-01T00:00:00Z\t.*\t500\tSYNTHETIC \(forex, seed 7\)/)
    const show = await ktrdr('data', 'show', 'EURUSD', '1h', '--limit', '2', '--data-dir', dir)
    expect(show.stdout).toMatch(/500 bars .* SYNTHETIC/)
    expect(show.stdout.trim().split('\n')).toHaveLength(4)
    const missing = await ktrdr('data', 'show', 'GBPUSD', '1h', '--data-dir', dir)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/No cached data for GBPUSD 1h/)
  }, 60_000)

  it('imports a vendor CSV and refuses one with broken rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktrdr-cli-import-'))
    const good = join(dir, 'aapl.csv')
    writeFileSync(good, 'Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-03,2,3,1.5,2.5,2.4,200\n2024-01-02,1,2,0.5,1.5,1.4,100\n')
    const ok = await ktrdr('data', 'import', good, '--symbol', 'AAPL', '--timeframe', '1d', '--data-dir', dir)
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/Imported 2 bars \(yahoo layout\) → AAPL_1d.csv/)
    const bad = join(dir, 'bad.csv')
    writeFileSync(bad, 'Date,Open,High,Low,Close,Volume\n2024-01-02,1,1.2,0.5,1.5,100\n')
    const r = await ktrdr('data', 'import', bad, '--symbol', 'BAD', '--timeframe', '1d', '--data-dir', dir)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/bad.csv:2: high 1.2 is below max\(open, close\) 1.5/)
  }, 60_000)

  it('generate refuses to overwrite a stored dataset without --force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktrdr-cli-force-'))
    const gen = (...extra: string[]) =>
      ktrdr('data', 'generate', '--symbol', 'EURUSD', '--timeframe', '1h', '--bars', '300', '--data-dir', dir, ...extra)
    expect((await gen('--seed', '1')).code).toBe(0)
    const before = readFileSync(join(dir, 'EURUSD_1h.csv'), 'utf8')
    const again = await gen('--seed', '2')
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/EURUSD_1h.csv already holds 300 SYNTHETIC bars .*pass --force.*nothing was written/)
    expect(readFileSync(join(dir, 'EURUSD_1h.csv'), 'utf8')).toBe(before)
    expect((await gen('--seed', '2', '--force')).code).toBe(0)
    expect(readFileSync(join(dir, 'EURUSD_1h.csv'), 'utf8')).not.toBe(before)
  }, 120_000)

  it('import refuses bars whose spacing is not --timeframe, and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktrdr-cli-spacing-'))
    const file = join(dir, 'daily.csv')
    writeFileSync(file, ['Date,Open,High,Low,Close,Volume', ...[2, 3, 4, 5].map((d) => `2024-01-0${d},1,2,0.5,1.5,100`)].join('\n'))
    const r = await ktrdr('data', 'import', file, '--symbol', 'AAPL', '--timeframe', '1h', '--data-dir', dir)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/1 day\(s\) apart .* not 1h .*import them with --timeframe 1d; nothing was written/)
    expect(existsSync(join(dir, 'AAPL_1h.csv'))).toBe(false)
  }, 120_000)

  it('resample derives 4h, 1d and 1w from stored 1h bars, keeping the SYNTHETIC mark', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktrdr-cli-resample-'))
    expect(
      (await ktrdr('data', 'generate', '--symbol', 'EURUSD', '--timeframe', '1h', '--bars', '2000', '--seed', '3', '--data-dir', dir)).code,
    ).toBe(0)
    const r = await ktrdr('data', 'resample', 'EURUSD', '--from', '1h', '--to', '4h,1d,1w', '--data-dir', dir)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/EURUSD 1h → 4h: 2000 bars → \d+ \(fx sessions, SYNTHETIC\) → EURUSD_4h.csv/)
    const list = await ktrdr('data', 'list', '--data-dir', dir)
    for (const tf of ['4h', '1d', '1w']) expect(list.stdout).toMatch(new RegExp(`EURUSD\t${tf}\t.*SYNTHETIC`))
    const again = await ktrdr('data', 'resample', 'EURUSD', '--from', '1h', '--to', '1d', '--data-dir', dir)
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/EURUSD_1d.csv already holds .*--force/)
    const finer = await ktrdr('data', 'resample', 'EURUSD', '--from', '1h', '--to', '15m', '--data-dir', dir)
    expect(finer.code).toBe(1)
    expect(finer.stderr).toMatch(/coarser timeframe than 1h/)
  }, 120_000)
})

describe('ktrdr data: a command line that cannot run exits 2, a refusal 1', () => {
  it('a bad flag value or a flag the subcommand cannot honour is a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktrdr-cli-usage-'))
    const limit = await ktrdr('data', 'show', 'EURUSD', '1h', '--limit', '0', '--data-dir', dir)
    expect(limit.code).toBe(2)
    expect(limit.stderr).toMatch(/--limit must be a positive integer, got 0/)
    const remote = await ktrdr('data', 'resample', 'EURUSD', '--from', '1h', '--to', '4h', '--url', 'http://127.0.0.1:9')
    expect(remote.code).toBe(2)
    expect(remote.stderr).toMatch(/resample reads and writes a local data directory/)
    const missing = await ktrdr('data', 'show', 'EURUSD', '1h', '--data-dir', dir)
    expect(missing.code).toBe(1)
  }, 60_000)
})

describe('ktrdr data --url (a cluster without shell access to its storage)', () => {
  it('generates, imports (refusing a broken file by line), lists and shows through the gateway', async () => {
    const g = await startTestGateway({ routes: researchRoutes, apiToken: 'cli-data-token' })
    const local = mkdtempSync(join(tmpdir(), 'ktrdr-cli-remote-'))
    try {
      const gen = await ktrdr('data', 'generate', '--symbol', 'EURUSD', '--timeframe', '1h', '--bars', '300', '--seed', '7', '--url', g.url)
      expect(gen.code, gen.stderr).toBe(0)
      expect(gen.stdout).toMatch(/SYNTHETIC forex data: 300 bars .* → EURUSD_1h.csv \(seed 7; not market prices; at http/)
      const again = (...extra: string[]) =>
        ktrdr('data', 'generate', '--symbol', 'EURUSD', '--timeframe', '1h', '--bars', '300', '--url', g.url, ...extra)
      const kept = await again('--seed', '8')
      expect(kept.code).toBe(1)
      expect(kept.stderr).toMatch(/EURUSD_1h.csv already holds 300 SYNTHETIC bars .*pass --force.*nothing was written \(HTTP 409\)/)
      expect((await again('--seed', '7', '--force')).code).toBe(0)

      const bad = join(local, 'bad.csv')
      writeFileSync(bad, 'Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,100\n2024-01-03,1,1.2,0.5,1.5,100\n')
      const refused = await ktrdr('data', 'import', bad, '--symbol', 'AAPL', '--timeframe', '1d', '--url', g.url)
      expect(refused.code).toBe(1)
      expect(refused.stderr).toMatch(/line 3: high 1.2 is below max\(open, close\) 1.5.*nothing was written \(HTTP 422\)/)

      const good = join(local, 'aapl.csv')
      writeFileSync(
        good,
        'Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-03,2,3,1.5,2.5,2.4,200\nnope,1,2,0.5,1.5,1.4,100\n2024-01-02,1,2,0.5,1.5,1.4,100\n',
      )
      const ok = await ktrdr('data', 'import', good, '--symbol', 'AAPL', '--timeframe', '1d', '--merge', '--url', g.url)
      expect(ok.code, ok.stderr).toBe(0)
      expect(ok.stdout).toMatch(/Imported 2 bars \(yahoo layout, 1 unreadable rows skipped\) → AAPL_1d.csv \(2 bars stored at http/)
      expect(ok.stderr).toContain(`${good}:3: unreadable time "nope"`)

      const list = await ktrdr('data', 'list', '--url', g.url)
      expect(list.stdout).toMatch(/AAPL\t1d\t2024-01-02T00:00:00Z\t2024-01-03T00:00:00Z\t2\tmarket/)
      expect(list.stdout).toMatch(/EURUSD\t1h\t2020-01-01T00:00:00Z\t.*\t300\tSYNTHETIC \(forex, seed 7\)/)

      const show = await ktrdr('data', 'show', 'EURUSD', '1h', '--limit', '2', '--url', g.url)
      expect(show.code, show.stderr).toBe(0)
      expect(show.stdout).toMatch(/^EURUSD 1h: 300 bars 2020-01-01T00:00:00Z → \S+ — SYNTHETIC/)
      expect(show.stdout.trim().split('\n')).toHaveLength(4)
      const stored = await g.gateway.services.storage.data.getKeys()
      expect(stored.sort()).toEqual(['AAPL_1d.csv', 'AAPL_1d.meta.json', 'EURUSD_1h.csv', 'EURUSD_1h.meta.json'])
    } finally {
      await g.close()
    }
  }, 180_000)
})
