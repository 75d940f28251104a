// The demo over several seeds on both markets, as `ktrdr demo` runs it (a local cluster each
// time), with the out-of-sample backtest's standing against random entries per run. Slow
// (≈ 35 s per run on 2 cores): `node bin/run-ts.mjs scripts/demo-seeds.ts [seeds] [markets]`.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const seeds = (process.argv[2] ?? '1,2,3,4,5').split(',').map(Number)
const markets = (process.argv[3] ?? 'planted,plain').split(',')
const bin = join(import.meta.dirname, '../bin/ktrdr.mjs')

async function demo(seed: number, market: string): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'ktrdr-seeds-'))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'demo', '--port', '0', '--home', home, '--seed', String(seed), '--market', market], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      out += d
    })
    child.once('exit', async (code) => {
      await rm(home, { recursive: true, force: true })
      if (code === 0) resolve(out)
      else reject(new Error(`demo --seed ${seed} --market ${market} exited ${code}:\n${out}`))
    })
  })
}

console.log('| market | seed | test acc | majority | return % | buy & hold % | trades | random median % | percentile | p | verdict |')
console.log('|---|---|---|---|---|---|---|---|---|---|---|')
for (const market of markets) {
  for (const seed of seeds) {
    const out = await demo(seed, market)
    const acc = /Test accuracy ([\d.]+)% vs ([\d.]+)%/.exec(out)
    const ret = /Total return +\S+ \((-?[\d.,]+)%\)/.exec(out)
    const bh = /Buy and hold +(-?[\d.,]+)% market/.exec(out)
    const trades = /Trades +(\d+)/.exec(out)
    const rnd = /median (-?[\d.,]+)%.*→ ([\d.]+)th percentile, p = ([\d.]+)/.exec(out)
    const verdict = /Verdict \([^)]*\): (.*)/.exec(out)
    console.log(
      `| ${market} | ${seed} | ${acc?.[1]}% | ${acc?.[2]}% | ${ret?.[1]} | ${bh?.[1]} | ${trades?.[1]} | ${rnd?.[1] ?? '-'} | ${rnd?.[2] ?? '-'} | ${rnd?.[3] ?? '-'} | ${verdict?.[1].replace(/ \(p = [\d.]+\)/, '')} |`,
    )
  }
}
