// CLI start: wall time of `ktrdr --help` and of `ktrdr workers` against a gateway that is not
// there (time to the error message), from the build in dist/cli/, against `node -e 0` (Node's own
// start) in the same run; and the TypeScript sources through tsx, which every start paid before.
// Runs interleaved, command by command, so that load from other jobs hits all alike.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { BenchSection } from './_types.ts'

const ROOT = resolve(import.meta.dirname ?? 'bench', '..')
const BIN = join(ROOT, 'bin', 'ktrdr.mjs')
const ROUNDS = 15
const SOURCE_ROUNDS = 5
const GOAL_MS = 200

interface Case {
  name: string
  args: string[]
  env?: Record<string, string>
  /** Exit code the command must end with: a measurement of a failed start is no measurement. */
  expect: number
  rounds: number
}

const CASES: Case[] = [
  { name: 'node -e 0 (baseline)', args: ['-e', '0'], expect: 0, rounds: ROUNDS },
  { name: 'ktrdr --help (dist/cli)', args: [BIN, '--help'], expect: 0, rounds: ROUNDS },
  { name: 'ktrdr workers, no gateway (dist/cli)', args: [BIN, 'workers', '--url', 'http://127.0.0.1:1'], expect: 1, rounds: ROUNDS },
  { name: 'ktrdr --help (sources through tsx)', args: [BIN, '--help'], env: { KTRDR_CLI_SOURCES: '1' }, expect: 0, rounds: SOURCE_ROUNDS },
]

/**
 * CPU time (user + system) of the children this process has waited for, from /proc/self/stat
 * (cutime + cstime, USER_HZ = 100 ticks a second); null off Linux. Summed over all runs of a case,
 * it says what a start costs with far less noise than the wall time on a shared machine.
 */
function childrenCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[13]) + Number(fields[14])) * 10
  } catch {
    return null
  }
}

function wallMs(c: Case): number {
  const started = performance.now()
  const run = spawnSync(process.execPath, c.args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...c.env }, encoding: 'utf8' })
  const ms = performance.now() - started
  if (run.status !== c.expect) throw new Error(`${c.name} exited with ${run.status}: ${run.stderr}`)
  return ms
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)]

export default async function run(): Promise<BenchSection> {
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], { cwd: ROOT, encoding: 'utf8' })
  if (build.status !== 0) throw new Error(`scripts/build-cli.mjs failed: ${build.stderr}`)
  const buildSeconds = Number(/, ([\d.]+) s\)/.exec(build.stdout)?.[1] ?? Number.NaN)

  const times = new Map<Case, number[]>(CASES.map((c) => [c, []]))
  const cpu = new Map<Case, number>(CASES.map((c) => [c, 0]))
  for (const c of CASES) wallMs(c) // warm-up: disk cache, first compilation of Node's own code cache
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of CASES) {
      if (round >= c.rounds) continue
      const before = childrenCpuMs()
      times.get(c)!.push(wallMs(c))
      const after = childrenCpuMs()
      if (before !== null && after !== null) cpu.set(c, cpu.get(c)! + after - before)
    }
  }
  const cpuMs = (c: Case) => (childrenCpuMs() === null ? 'n/a' : Math.round(cpu.get(c)! / c.rounds))
  const baseline = median(times.get(CASES[0])!)
  const rows = CASES.map((c) => {
    const t = times.get(c)!
    return {
      case: c.name,
      runs: t.length,
      'median ms': Math.round(median(t)),
      'min ms': Math.round(sorted(t)[0]),
      'max ms': Math.round(sorted(t).at(-1)!),
      'over node -e 0, ms': c === CASES[0] ? 0 : Math.round(median(t) - baseline),
      'CPU ms (mean)': cpuMs(c),
    }
  })
  const [help, workers, sources] = [rows[1], rows[2], rows[3]]
  const inputs = Object.keys(
    (JSON.parse(readFileSync(join(ROOT, 'dist', 'cli', 'manifest.json'), 'utf8')) as { inputs: object }).inputs,
  ).length
  return {
    title: 'CLI start (ktrdr --help, ktrdr workers)',
    rows,
    notes: [
      `Goal: ktrdr --help and ktrdr workers ≤ ${GOAL_MS} ms wall. Measured (median of ${ROUNDS}) ${help['median ms']} ms and ${workers['median ms']} ms, ${help['over node -e 0, ms']} and ${workers['over node -e 0, ms']} ms over Node's own start (${Math.round(baseline)} ms in this run); through tsx, as every start ran before, --help took ${sources['median ms']} ms.`,
      `CPU = user + system time of the child, from this process's children totals (/proc/self/stat), averaged over its runs: on a shared machine the steadier figure. ${help['CPU ms (mean)']} ms for --help and ${workers['CPU ms (mean)']} ms for workers against ${rows[0]['CPU ms (mean)']} ms for node -e 0.`,
      `Runs interleaved (baseline, --help, workers, tsx) after one warm-up each; wall time of spawnSync from this process, so the spawn cost is in the baseline too. workers is timed to its "Cannot reach the gateway" error (exit 1) against a closed loopback port.`,
      `dist/cli/ is what \`npm ci\` compiles (prepare: scripts/build-cli.mjs, esbuild, ${buildSeconds.toFixed(1)} s here); bin/ktrdr.mjs runs it while the sizes/mtimes/hashes of its ${inputs} sources match, else the sources through tsx.`,
    ],
  }
}
