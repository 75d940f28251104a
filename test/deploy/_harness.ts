import { execFile } from 'node:child_process'
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const REPO = resolve(import.meta.dirname, '../..')
export const LXC = join(REPO, 'deploy/lxc')
const FAKES = join(import.meta.dirname, 'fakes')

export interface Sandbox {
  dir: string
  log: string
  state: string
  /** A tiny stand-in checkout, so packing code is instant. */
  source: string
  env: NodeJS.ProcessEnv
  /** Recorded calls: [command, ...argv]. */
  calls(): string[][]
  clearLog(): void
  cleanup(): void
}

export function createSandbox(): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'ktrdr-deploy-'))
  const log = join(dir, 'calls.log')
  const state = join(dir, 'state')
  const source = join(dir, 'checkout')
  mkdirSync(join(source, 'bin'), { recursive: true })
  writeFileSync(join(source, 'bin/ktrdr.mjs'), '// stand-in\n')
  writeFileSync(log, '')
  for (const f of ['pct', 'rsync', 'ssh', 'systemctl']) chmodSync(join(FAKES, f), 0o755)
  return {
    dir,
    log,
    state,
    source,
    env: {
      PATH: `${FAKES}:${process.env.PATH}`,
      HOME: dir,
      TMPDIR: dir,
      FAKE_LOG: log,
      FAKE_STATE: state,
      POLL_INTERVAL: '0.05',
    },
    calls: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')),
    clearLog: () => writeFileSync(log, ''),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}

export interface ScriptResult {
  code: number
  stdout: string
  stderr: string
}

/** Async on purpose: the fake gateway in this process must keep answering while a script waits. */
export function runScript(script: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<ScriptResult> {
  return new Promise((done) => {
    execFile(
      'bash',
      [join(LXC, script), ...args],
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        done({ code, stdout, stderr })
      },
    )
  })
}

interface FakeWorker {
  worker_id: string
  worker_type: string
  endpoint_url: string
  status: string
  draining: boolean
  busyPolls: number
}

/**
 * A gateway stand-in speaking the guide's worker API. It appends what it sees to the sandbox's call
 * log ("gateway", event, worker id), so one file orders script commands and API calls in time.
 * A worker marked busy keeps a current operation for `busyPolls` listings after its drain.
 */
export async function startFakeGateway(
  log: string,
): Promise<{ url: string; workers: Map<string, FakeWorker>; markBusy(id: string, polls: number): void; close(): Promise<void> }> {
  const workers = new Map<string, FakeWorker>()
  const note = (...fields: string[]) => appendFileSync(log, `${['gateway', ...fields].join('\t')}\n`)
  const view = (w: FakeWorker) => {
    const op = w.busyPolls > 0 ? 'op_backtest_20261128_120000_deadbeef' : null
    return {
      worker_id: w.worker_id,
      worker_type: w.worker_type,
      endpoint_url: w.endpoint_url,
      status: op ? 'BUSY' : w.status,
      capabilities: {},
      metadata: { current_operation: op, current_operations: op ? [op] : [], draining: w.draining, free_slots: op ? 0 : 1 },
    }
  }
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const url = req.url ?? '/'
      const send = (status: number, data: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(data))
      }
      let m: RegExpMatchArray | null
      if (req.method === 'GET' && url === '/api/v1/health') return send(200, { healthy: true, timestamp: new Date().toISOString() })
      if (req.method === 'GET' && url === '/api/v1/workers') {
        const list = [...workers.values()]
        for (const w of list) {
          if (w.draining && w.busyPolls > 0) {
            w.busyPolls--
            if (w.busyPolls === 0) note('idle', w.worker_id)
          }
        }
        return send(200, list.map(view))
      }
      if (req.method === 'POST' && url === '/api/v1/workers/register') {
        const b = JSON.parse(body)
        workers.set(b.worker_id, {
          worker_id: b.worker_id,
          worker_type: b.worker_type,
          endpoint_url: b.endpoint_url,
          status: 'AVAILABLE',
          draining: false,
          busyPolls: 0,
        })
        note('register', b.worker_id, b.endpoint_url)
        return send(200, view(workers.get(b.worker_id)!))
      }
      if (req.method === 'POST' && (m = url.match(/^\/api\/v1\/workers\/([^/]+)\/drain$/))) {
        const w = workers.get(m[1]!)
        if (!w) return send(404, { message: 'unknown worker' })
        w.draining = true
        note('drain', w.worker_id)
        if (w.busyPolls === 0) note('idle', w.worker_id)
        return send(200, view(w))
      }
      if (req.method === 'DELETE' && (m = url.match(/^\/api\/v1\/workers\/([^/]+)$/))) {
        note('delete', m[1]!)
        return workers.delete(m[1]!) ? send(200, { deleted: true }) : send(404, { message: 'unknown worker' })
      }
      // The fake pct tells us a host's service stopped: it drops out of the listing.
      if (req.method === 'POST' && (m = url.match(/^\/_fake\/stopped\/([^/]+)$/))) {
        workers.delete(m[1]!)
        note('stopped', m[1]!)
        return send(200, {})
      }
      send(404, { message: `no route ${req.method} ${url}` })
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    workers,
    markBusy(id, polls) {
      const w = workers.get(id)
      if (!w) throw new Error(`no worker ${id}`)
      w.busyPolls = polls
    },
    close: () => new Promise((r) => server.close(() => r())),
  }
}

/** Make a template container exist in the fake pct's state, as create-template.sh leaves it. */
export function seedTemplate(sb: Sandbox, ctid = 900) {
  const d = join(sb.state, 'ct', String(ctid))
  mkdirSync(join(d, 'files'), { recursive: true })
  writeFileSync(join(d, 'state'), 'stopped\n')
  writeFileSync(join(d, 'node'), '')
  writeFileSync(join(d, 'snap.template-base'), '')
}

export function ctFile(sb: Sandbox, ctid: number, path: string): string | undefined {
  const p = join(sb.state, 'ct', String(ctid), 'files', path)
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined
}

/** Replace temp paths that differ per run so sequences can be compared. */
export function normalise(args: string[], sb: Sandbox): string[] {
  return args.map((a) =>
    a
      .replace(/\/[^\s']*ktrdr-code\.[A-Za-z0-9]+\.tar\.gz/g, '<archive>')
      .replaceAll(sb.source, '<source>')
      .replace(/\/[^\s']*\/host-(\d+)\.env/g, '<env-$1>'),
  )
}
