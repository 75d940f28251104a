import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, readFileSync } from 'node:fs'

/**
 * Network namespaces as "machines" on a private test subnet. Everything lives in namespaces this
 * module creates — including the bridge, in a namespace of its own — so the machine's own network
 * (root namespace) is never touched. Names carry the pid so parallel runs cannot collide.
 */
export const SUBNET = '10.213.0'

export function netnsUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root'
  if (spawnSync('ip', ['-V']).status !== 0) return "the 'ip' command (iproute2) is missing: apt-get install -y iproute2"
  const probe = `ktp${process.pid % 100000}`
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' })
  if (add.status !== 0) return `ip netns add failed: ${add.stderr.trim()}`
  spawnSync('ip', ['netns', 'del', probe])
  return null
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()

export interface Machine {
  name: string
  ns: string
  addr: string
  bridgePort: string
}

export class TestNetwork {
  readonly tag = `k8${process.pid}`
  readonly bridgeNs = `${this.tag}-br`
  readonly machines = new Map<string, Machine>()
  private readonly created: string[] = []
  private readonly children: ChildProcess[] = []

  constructor() {
    TestNetwork.reapStale()
    this.addNs(this.bridgeNs)
    ip('-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', this.bridgeNs, 'link', 'set', 'br0', 'up')
  }

  private addNs(ns: string) {
    ip('netns', 'add', ns)
    this.created.push(ns)
    ip('-n', ns, 'link', 'set', 'lo', 'up')
  }

  /** A machine: its own namespace, eth0 with SUBNET.<octet>/24, cabled to the bridge. */
  addMachine(name: string, octet: number): Machine {
    const ns = `${this.tag}-${name}`
    const bridgePort = `p${name}`.slice(0, 15)
    this.addNs(ns)
    // Created inside the bridge namespace with the peer moved straight into the machine's.
    ip('-n', this.bridgeNs, 'link', 'add', bridgePort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
    ip('-n', this.bridgeNs, 'link', 'set', bridgePort, 'master', 'br0', 'up')
    ip('-n', ns, 'addr', 'add', `${SUBNET}.${octet}/24`, 'dev', 'eth0')
    ip('-n', ns, 'link', 'set', 'eth0', 'up')
    const m = { name, ns, addr: `${SUBNET}.${octet}`, bridgePort }
    this.machines.set(name, m)
    return m
  }

  /** Pull the cable: the machine's port on the bridge goes down. */
  cut(name: string) {
    ip('-n', this.bridgeNs, 'link', 'set', this.machines.get(name)!.bridgePort, 'down')
  }

  /** Start a process on a machine, with exactly the given environment (like systemd's EnvironmentFile). */
  start(name: string, argv: string[], env: Record<string, string>, logFile: string): ChildProcess {
    const m = this.machines.get(name)!
    const child = spawn('ip', ['netns', 'exec', m.ns, ...argv], {
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/root', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const out = createWriteStream(logFile)
    child.stdout!.pipe(out)
    child.stderr!.pipe(out)
    this.children.push(child)
    return child
  }

  /** Run a shell command on a machine (the guide's curl | jq checks), bounded in time. */
  sh(
    name: string,
    script: string,
    env: Record<string, string> = {},
    timeoutMs = 30_000,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const m = this.machines.get(name)!
    return new Promise((done) => {
      const child = spawn('ip', ['netns', 'exec', m.ns, 'bash', '-c', `set -euo pipefail\n${script}`], {
        env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/root', ...env },
      })
      let stdout = '',
        stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      let settled = false
      const finish = (code: number | null) => {
        if (!settled) {
          settled = true
          clearTimeout(timer)
          done({ code: code ?? 1, stdout, stderr })
        }
      }
      child.on('close', finish)
      // A daemon the command started may keep our pipes open: the exit is what counts, output
      // that arrived within a moment after it is kept.
      child.on('exit', (code) => setTimeout(() => finish(code), 500))
    })
  }

  /**
   * A run killed before its afterAll leaves namespaces behind. Ours are named k8<pid>-<machine>;
   * remove those whose creating process is gone (and only those).
   */
  static reapStale() {
    const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout
    for (const m of list.matchAll(/^(k8(\d+)-[a-z0-9]+)\b/gm)) {
      const [ns, , pid] = m as unknown as [string, string, string]
      if (Number(pid) === process.pid) continue
      let alive = true
      try {
        process.kill(Number(pid), 0)
      } catch {
        alive = false
      }
      if (alive) continue
      for (const p of spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(p), 'SIGKILL')
        } catch {}
      }
      spawnSync('ip', ['netns', 'del', ns])
    }
  }

  /** Kill what we started, then every process still inside our namespaces (by pid), then the namespaces. */
  async destroy() {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 300))
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    for (const ns of this.created) {
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean)
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL')
        } catch {}
      }
    }
    for (const ns of this.created.reverse()) spawnSync('ip', ['netns', 'del', ns])
  }
}

/** KEY=VALUE lines of an env file, the way systemd's EnvironmentFile reads them (comments skipped). */
export function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {}
  if (!existsSync(path)) throw new Error(`env file ${path} missing`)
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = line.match(/^([A-Z_][A-Z0-9_]*)=(.*)$/)
    if (m) env[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1')
  }
  return env
}
