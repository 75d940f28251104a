// Helpers for cluster tests: the real echo bundle, free ports, ktrdr child processes.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { buildFunctionBundle, type BuiltBundle } from '../../runtime/bundler/index.ts'

export const REPO = resolve(import.meta.dirname, '../..')

/** Builds functions/echo once into `outDir` and returns the archive bytes. */
export async function buildEcho(outDir: string): Promise<{ built: BuiltBundle; archive: Uint8Array }> {
  const built = await buildFunctionBundle('echo', { outDir, sourceCommit: null })
  return { built, archive: new Uint8Array(await readFile(built.archivePath)) }
}

export async function publish(gatewayUrl: string, name: string, archive: Uint8Array, token?: string) {
  const res = await fetch(`${gatewayUrl}/api/v1/functions/${name}/versions`, {
    method: 'POST',
    body: archive,
    headers: { 'content-type': 'application/gzip', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  })
  if (!res.ok) throw new Error(`publish ${name} failed: HTTP ${res.status} ${await res.text()}`)
  return res.json() as Promise<{ name: string; version: number; sha256: string }>
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolvePort(port))
    })
  })
}

export interface KtrdrChild {
  proc: ChildProcess
  output: () => string
  kill(signal?: NodeJS.Signals): Promise<void>
}

/** `node bin/ktrdr.mjs <args>` as a child process with its output captured. */
export function spawnKtrdr(args: string[], env: Record<string, string> = {}): KtrdrChild {
  const proc = spawn(process.execPath, [join(REPO, 'bin/ktrdr.mjs'), ...args], {
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'info', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString()
  })
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString()
  })
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  return {
    proc,
    output: () => out,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      await exited
    },
  }
}

/** Polls a condition (bounded), never a fixed sleep. */
export async function until<T>(check: () => T | Promise<T>, timeoutMs = 20_000, what = 'condition', everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value as NonNullable<T>
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline)
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
      )
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** JSON over fetch; retries once when a pooled socket belonged to a process we just killed. */
export async function api<T = any>(
  base: string,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const call = () =>
    fetch(`${base}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    })
  const res = await call().catch((error: Error & { cause?: { code?: string } }) => {
    if (error.cause?.code === 'UND_ERR_SOCKET') return call()
    throw error
  })
  const text = await res.text()
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T }
}
