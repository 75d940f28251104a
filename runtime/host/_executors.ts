import { fork, type ChildProcess, type ForkOptions } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ConsolaInstance } from 'consola'
import { KtrdrError } from '../protocol/index.ts'
import type { ExecutorToHost, HostToExecutor } from '../protocol/index.ts'
import type { ReadyBundle } from './_bundles.ts'
import type { MemoryGuard } from './_memory.ts'
import { envDigest, executorBaseEnv } from './_env.ts'
import { createLineSplitter } from './_logs.ts'

const STDERR_TAIL = 8192
const READY_TIMEOUT_MS = 30_000
const SPARE_SCRIPT = fileURLToPath(new URL('_spare.mjs', import.meta.url))

export interface Executor {
  pid: number
  sha256: string
  /** Digest of the environment it was started with (declared variables, secrets): reused only for the same one. */
  envKey: string
  name: string
  version: number
  child: ChildProcess
  /** Invocations it runs now, at most `capacity`. */
  active: number
  /** The function's declared concurrency (manifest `concurrency`, 1 when missing). */
  capacity: number
  /** Loaded the function and said so (a freshly forked child is not ready yet). */
  ready: boolean
  /** Takes no further invocations and exits once its current ones end: a newer version took over, or one of its invocations was interrupted. */
  retired: boolean
  alive: boolean
  /** Killed for using more memory than the cap (RSS watchdog or the cgroup's OOM killer). */
  outOfMemory: { rss_mb: number | null } | null
  /** Why the host killed a shared executor under its other invocations (one ignored its cancel). */
  killedFor: string | null
  stderrTail(): string
  /**
   * Receives what the child writes to stdout/stderr, line by line, while its one invocation runs
   * there. Never set on an executor shared by several (capacity > 1): a line cannot be told apart.
   */
  onOutput: ((stream: 'stdout' | 'stderr', line: string) => void) | null
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  send(message: HostToExecutor): void
  /**
   * Routes the child's messages for one invocation (by its message id) and its exit to `handlers`
   * until the returned function is called. One listener per child whatever its concurrency: a
   * listener per invocation made every message of a shared executor visit all 16 of them and
   * tripped Node's MaxListenersExceededWarning.
   */
  listen(id: string, handlers: InvocationListener): () => void
  kill(signal?: NodeJS.Signals): void
}

export interface InvocationListener {
  message(message: ExecutorToHost): void
  exit(code: number | null, signal: NodeJS.Signals | null): void
}

export interface ExecutorPoolOptions {
  idleMs: number
  maxIdle: number
  memoryMb: number
  forwardOutput: boolean
  /** Forward child output line by line through this (JSON logs) instead of copying the bytes. */
  forwardLine?: (stream: 'stdout' | 'stderr', line: string, functionName: string) => void
  /** Pre-started Node processes kept ready to load a bundle (0 disables). */
  spares: number
  /** Bounds each executor's memory as a whole, not only its V8 heap (see _memory.ts). */
  memory: MemoryGuard
  logger: ConsolaInstance
  /** Each executor taken: a new child (cold), an idle one (warm), or one started ahead of a deploy's first call (prewarm). */
  onStart?: (name: string, kind: 'cold' | 'warm' | 'prewarm') => void
}

/**
 * Warm executor children per bundle sha. One invocation per child at a time unless the function
 * declares `concurrency`: then a child takes invocations up to that many at once, the busiest child
 * with room first, so a burst warms one process, not one per slot. Idle children wait `idleMs` for
 * the next invocation of their version and then exit. The host process never runs function code
 * itself, so nothing a function does can take the host down.
 */
export function createExecutorPool(options: ExecutorPoolOptions) {
  const all = new Set<Executor>()
  const idle = new Map<Executor, NodeJS.Timeout>()
  const spares: ChildProcess[] = []
  /** A shared executor being started, per version and environment, with the invocations promised to it. */
  const starting = new Map<string, { executor: Promise<Executor>; promised: number; capacity: number }>()
  let sparesStarting = 0
  let closed = false

  // Never the host's own environment: its tokens and storage credentials stay here (see _env.ts).
  const forkOptions = (cwd: string, env: Record<string, string> = {}): ForkOptions => ({
    cwd,
    execArgv: [`--max-old-space-size=${options.memoryMb}`],
    env: { ...executorBaseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  })

  function forkSpare() {
    if (closed || spares.length + sparesStarting >= options.spares) return
    sparesStarting++
    const child = fork(SPARE_SCRIPT, [], forkOptions(process.cwd()))
    child.stdout!.resume()
    child.stderr!.resume()
    let starting = true
    child.once('message', (message: { type?: string }) => {
      if (!starting || message?.type !== 'spare') return
      starting = false
      sparesStarting--
      if (closed) child.kill()
      else spares.push(child)
    })
    child.once('exit', () => {
      if (starting) {
        starting = false
        sparesStarting--
      }
      const at = spares.indexOf(child)
      if (at >= 0) spares.splice(at, 1)
    })
    child.once('error', () => child.kill())
  }

  /** `env`: the function's own variables (functionEnv in _env.ts), on top of the base environment. */
  function spawn(bundle: ReadyBundle, env: Record<string, string>, envKey: string, capacity: number): Promise<Executor> {
    let child: ChildProcess
    const spare = spares.shift()
    if (spare && spare.connected) {
      spare.send({ type: 'load', entry: bundle.entryPath, dir: bundle.dir, env })
      child = spare
      setImmediate(forkSpare)
    } else {
      child = fork(bundle.entryPath, [], forkOptions(bundle.dir, env))
    }
    // First 'exit' listener of this child, so outOfMemory is known before anyone reports the exit.
    const watch = child.pid
      ? options.memory.watch(child.pid, options.memoryMb, (usage) => {
          executor.outOfMemory = usage
        })
      : null
    child.once('exit', () => {
      if (watch?.exceeded() && !executor.outOfMemory) executor.outOfMemory = { rss_mb: null }
      watch?.stop()
    })
    let tail = ''
    const byLine = options.forwardOutput && options.forwardLine
    const stdoutLines = createLineSplitter((line) => {
      executor.onOutput?.('stdout', line)
      if (byLine) options.forwardLine!('stdout', line, bundle.name)
    })
    const stderrLines = createLineSplitter((line) => {
      executor.onOutput?.('stderr', line)
      if (byLine) options.forwardLine!('stderr', line, bundle.name)
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-STDERR_TAIL)
      stderrLines.write(chunk)
      if (options.forwardOutput && !byLine) process.stderr.write(chunk)
    })
    child.stdout!.on('data', (chunk: Buffer) => {
      stdoutLines.write(chunk)
      if (options.forwardOutput && !byLine) process.stdout.write(chunk)
    })
    child.stdout!.once('end', () => stdoutLines.end())
    child.stderr!.once('end', () => stderrLines.end())
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }))
    })
    const listeners = new Map<string, InvocationListener>()
    child.on('message', (message: ExecutorToHost) => {
      if ('id' in message) listeners.get(message.id)?.message(message)
    })
    child.once('exit', (code, signal) => {
      // A listener removes itself as it runs: Map iteration allows it.
      for (const listener of listeners.values()) listener.exit(code, signal)
    })
    const executor: Executor = {
      pid: child.pid ?? -1,
      sha256: bundle.sha256,
      envKey,
      name: bundle.name,
      version: bundle.version,
      child,
      active: 0,
      capacity,
      ready: false,
      retired: false,
      alive: true,
      outOfMemory: null,
      killedFor: null,
      stderrTail: () => tail,
      onOutput: null,
      exited,
      send(message) {
        if (child.connected) child.send(message)
      },
      listen(id, handlers) {
        listeners.set(id, handlers)
        // Exited already (between acquire and now): its exit is not coming again, so say it.
        if (child.exitCode !== null || child.signalCode !== null)
          queueMicrotask(() => {
            if (listeners.get(id) === handlers) handlers.exit(child.exitCode, child.signalCode)
          })
        return () => {
          if (listeners.get(id) === handlers) listeners.delete(id)
        }
      },
      kill(signal = 'SIGKILL') {
        if (executor.alive) child.kill(signal)
      },
    }
    all.add(executor)
    void exited.then(() => {
      executor.alive = false
      all.delete(executor)
      const timer = idle.get(executor)
      if (timer) clearTimeout(timer)
      idle.delete(executor)
    })
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        executor.kill()
        fail(new Error(`did not start within ${READY_TIMEOUT_MS} ms`))
      }, READY_TIMEOUT_MS)
      const fail = (cause: Error, code: 'BUNDLE_IMPORT_FAILED' | 'EXECUTOR_SPAWN_FAILED' = 'BUNDLE_IMPORT_FAILED') => {
        clearTimeout(timer)
        reject(
          new KtrdrError({
            code,
            cause,
            message: `Function ${bundle.name}@${bundle.version} failed to start: ${cause.message}`,
          }),
        )
      }
      const onMessage = (message: ExecutorToHost) => {
        if (message.type === 'ready') {
          cleanup()
          clearTimeout(timer)
          executor.ready = true
          resolve(executor)
        } else if (message.type === 'load_error') {
          cleanup()
          fail(new Error(message.error.message.replace(/^Function bundle failed to load: /, 'import threw: ')))
        }
      }
      const onExit = (code: number | null, signal: string | null) => {
        cleanup()
        const last = tail.trim().split('\n').slice(-3).join(' | ')
        fail(new Error(`executor exited (${signal ?? `code ${code}`}) before it was ready${last ? `: ${last}` : ''}`))
      }
      const onError = (error: Error) => {
        cleanup()
        fail(error, 'EXECUTOR_SPAWN_FAILED')
      }
      const cleanup = () => {
        child.off('message', onMessage)
        child.off('exit', onExit)
        child.off('error', onError)
      }
      child.on('message', onMessage)
      child.once('exit', onExit)
      child.once('error', onError)
    })
  }

  /** The busiest live executor of this version with room for one more invocation (packing keeps few processes warm). */
  function roomIn(sha256: string, envKey: string): Executor | null {
    let best: Executor | null = null
    for (const e of all)
      if (e.sha256 === sha256 && e.envKey === envKey && e.alive && e.ready && !e.retired && e.active > 0 && e.active < e.capacity)
        if (!best || e.active > best.active) best = e
    return best
  }

  function idleCount() {
    return idle.size
  }
  forkSpare()

  /** Back to the idle set after its last invocation; a retired, dead or surplus executor exits instead. */
  function release(executor: Executor) {
    executor.active = Math.max(0, executor.active - 1)
    if (executor.active > 0 || !executor.alive) return
    if (executor.retired || options.maxIdle <= 0) return executor.kill('SIGTERM')
    if (idleCount() >= options.maxIdle) {
      const oldest = idle.keys().next().value as Executor | undefined
      if (oldest) {
        clearTimeout(idle.get(oldest))
        idle.delete(oldest)
        oldest.kill('SIGTERM')
      }
    }
    idle.set(
      executor,
      setTimeout(() => {
        idle.delete(executor)
        executor.kill('SIGTERM')
      }, options.idleMs).unref(),
    )
  }

  return {
    /**
     * An executor for one invocation of this bundle: a shared one with room (declared concurrency),
     * a warm idle one, or a freshly spawned one. Counts the invocation in `active`.
     */
    async acquire(bundle: ReadyBundle, env: Record<string, string>): Promise<Executor> {
      const envKey = envDigest(env)
      const capacity = bundle.manifest.concurrency ?? 1
      if (capacity > 1) {
        const shared = roomIn(bundle.sha256, envKey)
        if (shared) {
          shared.active++
          options.onStart?.(bundle.name, 'warm')
          return shared
        }
      }
      // Most recently used first: calls at c=1 after a burst stay on one warm process instead of
      // going round 16 cold ones (their JIT and caches), and the ones left idle time out, so the
      // pool shrinks to what the load needs. (The map is in release order: newest last.)
      for (const [executor, timer] of [...idle].reverse()) {
        if (executor.sha256 !== bundle.sha256 || !executor.alive || executor.retired) continue
        // Started with other secrets or settings (a secret changed since): it must not serve again.
        if (executor.envKey !== envKey) {
          clearTimeout(timer)
          idle.delete(executor)
          executor.kill('SIGTERM')
          continue
        }
        clearTimeout(timer)
        idle.delete(executor)
        executor.active = 1
        options.onStart?.(bundle.name, 'warm')
        return executor
      }
      if (capacity === 1) {
        const executor = await spawn(bundle, env, envKey, 1)
        executor.active = 1
        options.onStart?.(bundle.name, 'cold')
        return executor
      }
      // Shared: invocations arriving while one is starting wait for it instead of each starting its own.
      const key = `${bundle.sha256} ${envKey}`
      const pending = starting.get(key)
      if (pending && pending.promised < pending.capacity) {
        pending.promised++
        const executor = await pending.executor
        options.onStart?.(bundle.name, 'cold')
        return executor
      }
      const entry = { executor: spawn(bundle, env, envKey, capacity), promised: 1, capacity }
      starting.set(key, entry)
      try {
        const executor = await entry.executor
        // Counted before any waiter resumes: no caller in between sees room that is promised.
        executor.active = entry.promised
        options.onStart?.(bundle.name, 'cold')
        return executor
      } finally {
        if (starting.get(key) === entry) starting.delete(key)
      }
    },
    /** Spawn an idle executor ahead of the first invocation (prefetch after a deploy). */
    async prewarm(bundle: ReadyBundle, env: Record<string, string>): Promise<void> {
      if ([...all].some((e) => e.sha256 === bundle.sha256 && e.alive && !e.retired)) return
      const executor = await spawn(bundle, env, envDigest(env), bundle.manifest.concurrency ?? 1)
      options.onStart?.(bundle.name, 'prewarm')
      executor.active = 1
      release(executor)
    },
    release,
    /**
     * After an interrupted invocation (cancel, deadline) or a dead child: never reused. Alone in it,
     * it is killed now; shared, it takes no new invocations and exits once the others end.
     */
    discard(executor: Executor) {
      executor.active = Math.max(0, executor.active - 1)
      if (executor.active === 0) return executor.kill('SIGKILL')
      executor.retired = true
    },
    /** A newer version of `name` arrived: idle executors of other versions exit now, busy ones after their invocation. */
    retireOthers(name: string, keepSha: string) {
      for (const executor of all) {
        if (executor.name !== name || executor.sha256 === keepSha) continue
        executor.retired = true
        const timer = idle.get(executor)
        if (timer) {
          clearTimeout(timer)
          idle.delete(executor)
          executor.kill('SIGTERM')
        }
      }
    },
    /** Asked on every invocation now (the bundle cache skips its file check for a version in use): no array per call. */
    inUse(sha: string) {
      for (const e of all) if (e.sha256 === sha && e.alive) return true
      return false
    },
    stats: () =>
      [...all].map((e) => ({
        pid: e.pid,
        name: e.name,
        version: e.version,
        sha256: e.sha256,
        ready: e.ready,
        busy: e.active > 0,
        active: e.active,
        retired: e.retired,
      })),
    spareCount: () => spares.length,
    async close() {
      closed = true
      for (const spare of spares.splice(0)) spare.kill()
      const exits = [...all].map((e) => e.exited)
      for (const executor of all) executor.kill('SIGKILL')
      for (const timer of idle.values()) clearTimeout(timer)
      idle.clear()
      await Promise.all(exits)
    },
  }
}

export type ExecutorPool = ReturnType<typeof createExecutorPool>
