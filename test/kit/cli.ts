// The ktrdr CLI as a user runs it: bin/ktrdr.mjs in a child process, stdout and stderr piped.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { PROJECT_ROOT } from './project.ts'

export const KTRDR_BIN = join(PROJECT_ROOT, 'bin', 'ktrdr.mjs')

/** An escape sequence (colour, bold, underline) anywhere in the text. */
export const ANSI = '\u001B['

/**
 * The environment of a user's shell: without what a test runner or CI sets, which makes citty and
 * consola drop colours on their own (TEST, CI, NODE_ENV=test) and would hide escape codes that a
 * user's pipe receives. TERM says the terminal could show colours.
 */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', ...extra }
  for (const key of Object.keys(env))
    if (/^(?:VITEST.*|TEST|CI|NODE_ENV|NO_COLOR|FORCE_COLOR|KTRDR_API_URL|KTRDR_API_TOKEN)$/.test(key) && !(key in extra)) delete env[key]
  return env
}

export interface KtrdrRun {
  /** The exit code; null when a signal ended it (the timeout included). */
  code: number | null
  stdout: string
  stderr: string
}

export interface KtrdrRunOptions {
  /** The gateway it talks to, as KTRDR_API_URL; without it, only what the arguments say. */
  url?: string
  /** Set on top; KTRDR_API_TOKEN is '' unless named here, so a developer's own token never leaks in. */
  env?: Record<string, string>
  /**
   * `test` (default): this process's environment as vitest sets it (consola then logs warnings
   * and up); `user`: a user's shell ({@link userEnv}), for what a user's pipe receives.
   */
  shell?: 'test' | 'user'
  /** Working directory (default: the project root). */
  cwd?: string
  /** Killed with SIGTERM after this long; its run then has code null. */
  timeoutMs?: number
}

export interface StartedKtrdr {
  child: ChildProcess
  /** Resolves once it exited and its pipes closed, with all it printed. */
  done: Promise<KtrdrRun>
  /** What it printed so far. */
  output: () => KtrdrRun
  /** Resolves with stdout and stderr together once they match; rejects with them if it exits first or `timeoutMs` passes. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<string>
}

/** Starts `node file args…` with the CLI's environment rules (a script of the project: ktrdr, vitest). */
export function startNode(file: string, args: string[], options: KtrdrRunOptions = {}): StartedKtrdr {
  const extra = { KTRDR_API_TOKEN: '', ...(options.url ? { KTRDR_API_URL: options.url } : {}), ...options.env }
  const env = options.shell === 'user' ? userEnv(extra) : { ...process.env, ...extra }
  if (!options.url && !options.env?.KTRDR_API_URL) delete env.KTRDR_API_URL
  const child = spawn(process.execPath, [file, ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: options.timeoutMs,
  })
  let stdout = ''
  let stderr = ''
  let combined = ''
  let exited = false
  const waiters = new Set<() => void>()
  const wake = () => waiters.forEach((w) => w())
  child.stdout!.on('data', (c) => {
    stdout += c
    combined += c
    wake()
  })
  child.stderr!.on('data', (c) => {
    stderr += c
    combined += c
    wake()
  })
  const done = new Promise<KtrdrRun>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => {
      exited = true
      wake()
      resolve({ code, stdout, stderr })
    })
  })
  const waitFor = (pattern: RegExp, timeoutMs?: number) =>
    new Promise<string>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => stop(new Error(`no ${pattern} within ${timeoutMs} ms:\n${combined}`)), timeoutMs)
      const stop = (error?: Error) => {
        waiters.delete(check)
        clearTimeout(timer)
        if (error) reject(error)
        else resolve(combined)
      }
      const check = () => {
        if (pattern.test(combined)) stop()
        else if (exited) stop(new Error(`exited before ${pattern}:\n${combined}`))
      }
      waiters.add(check)
      check()
    })
  return { child, done, output: () => ({ code: child.exitCode, stdout, stderr }), waitFor }
}

/** Starts `ktrdr args…`; see {@link KtrdrRunOptions} for its environment. */
export const startKtrdr = (args: string[], options: KtrdrRunOptions = {}) => startNode(KTRDR_BIN, args, options)

/** Runs `ktrdr args…` to its end: exit code and all it printed. */
export const ktrdr = (args: string[], options: KtrdrRunOptions = {}) => startKtrdr(args, options).done
