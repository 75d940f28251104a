import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmdirSync, writeFileSync, promises as fsp } from 'node:fs'
import { join } from 'node:path'

/**
 * How the executor memory cap (KTRDR_HOST_EXECUTOR_MEMORY_MB) is enforced. `--max-old-space-size`
 * bounds only the V8 heap: a function filling 1 GB of Buffers under a 256 MB cap completed. This
 * bounds the whole process (RSS): by the kernel where the host may create cgroup v2 children with
 * the memory controller (an LXC container with a delegated subtree), otherwise by polling each
 * child's RSS and killing it past the cap.
 */
export interface MemoryGuard {
  mode: 'cgroup-v2' | 'rss-watchdog'
  /** One line for the start-up log and GET /. */
  detail: string
  /** Starts enforcing `limitMb` on `pid`; `onExceeded` runs once when it was stopped for memory. Returns a stop function. */
  watch(pid: number, limitMb: number, onExceeded: (usage: { rss_mb: number | null }) => void): MemoryWatch
}

export interface MemoryWatch {
  /** True when the process was killed for memory (watchdog) or the kernel OOM-killed it in its cgroup. */
  exceeded(): boolean
  stop(): void
}

/** 50 ms: Buffer.alloc fills ~2-4 GB/s on a loaded core, so a child overshoots by 100-200 MB at most before it is killed. */
const WATCH_INTERVAL_MS = 50

export interface MemoryGuardOptions {
  /** 'auto' (cgroup v2 when possible), or force one ('rss' is what tests and hosts without a delegated cgroup use). */
  mode?: 'auto' | 'cgroup' | 'rss'
  cgroupRoot?: string
  procSelfCgroup?: string
}

export function createMemoryGuard(options: MemoryGuardOptions = {}): MemoryGuard {
  if (options.mode !== 'rss') {
    const cgroup = createCgroupGuard(options)
    if (cgroup.guard) return cgroup.guard
    if (options.mode === 'cgroup') throw new Error(`cgroup v2 memory enforcement is not available: ${cgroup.reason}`)
    return createRssWatchdog(`RSS watchdog every ${WATCH_INTERVAL_MS} ms (no cgroup v2: ${cgroup.reason})`)
  }
  return createRssWatchdog(`RSS watchdog every ${WATCH_INTERVAL_MS} ms`)
}

/** VmRSS in MB from /proc/<pid>/status text, null when absent. */
function parseRssMb(status: string): number | null {
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]
  return kb ? Number(kb) / 1024 : null
}

/**
 * Polls each child's VmRSS through a descriptor kept open on /proc/<pid>/status, read again from
 * offset 0 with one synchronous pread (the kernel regenerates the text at every read from 0). The
 * first version read the file with fs.promises every tick: open, fstat, read and close on libuv's
 * thread pool, ~1 ms of the host's CPU per read on this VM, and at 16 executors × 20 reads/s that
 * was 27% of the host's CPU under c=16 no-op calls (node --cpu-prof of `ktrdr host`). One timer
 * reads every watched child: a timer per child woke the idle host 340 times a second with 16 warm
 * executors and a spare (~2% of a core while nothing ran).
 */
function createRssWatchdog(detail: string): MemoryGuard {
  interface Watched {
    pid: number
    fd: number
    limitMb: number
    onExceeded: (usage: { rss_mb: number | null }) => void
  }
  const watched = new Set<Watched>()
  const buffer = Buffer.allocUnsafe(4096)
  let timer: NodeJS.Timeout | null = null

  const unwatch = (w: Watched) => {
    if (!watched.delete(w)) return
    closeSync(w.fd)
    if (watched.size === 0 && timer) {
      clearInterval(timer)
      timer = null
    }
  }
  const check = (w: Watched) => {
    let rss: number | null
    try {
      rss = parseRssMb(buffer.toString('latin1', 0, readSync(w.fd, buffer, 0, buffer.length, 0)))
    } catch {
      return unwatch(w) // the process is gone (ESRCH)
    }
    if (rss === null || rss <= w.limitMb) return
    unwatch(w)
    try {
      process.kill(w.pid, 'SIGKILL')
    } catch {
      /* already gone */
    }
    w.onExceeded({ rss_mb: Math.round(rss) })
  }

  return {
    mode: 'rss-watchdog',
    detail,
    watch(pid, limitMb, onExceeded) {
      let fd: number
      try {
        fd = openSync(`/proc/${pid}/status`, 'r')
      } catch {
        // Gone already (or no procfs): nothing to watch; its exit is reported as usual.
        return { exceeded: () => false, stop: () => {} }
      }
      let hit = false
      const entry: Watched = {
        pid,
        fd,
        limitMb,
        onExceeded: (usage) => {
          hit = true
          onExceeded(usage)
        },
      }
      watched.add(entry)
      if (!timer) {
        timer = setInterval(() => {
          // Deleting from a Set while iterating it is safe: entries removed by check() are not visited again.
          for (const w of watched) check(w)
        }, WATCH_INTERVAL_MS)
        timer.unref()
      }
      return { exceeded: () => hit, stop: () => unwatch(entry) }
    },
  }
}

/**
 * cgroup v2: the host's own cgroup must be writable with the memory controller available. The
 * host moves itself into a `host` leaf (a cgroup with controllers enabled for its children may not
 * hold processes), enables +memory for the children and puts each executor in `exec-<pid>` with
 * memory.max = the cap and swap off; the kernel OOM-kills inside that cgroup only.
 */
function createCgroupGuard(options: MemoryGuardOptions): { guard?: MemoryGuard; reason: string } {
  const root = options.cgroupRoot ?? '/sys/fs/cgroup'
  let own: string
  try {
    const line = readFileSync(options.procSelfCgroup ?? '/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'))
    if (!line) return { reason: 'the host is not in a cgroup v2 hierarchy' }
    own = join(root, line.slice(3).trim())
    const controllers = readFileSync(join(own, 'cgroup.controllers'), 'utf8').split(/\s+/)
    if (!controllers.includes('memory')) return { reason: `the memory controller is not delegated to ${own}` }
  } catch (error) {
    return { reason: `cannot read the host's cgroup (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` }
  }
  try {
    const leaf = join(own, 'host')
    if (!existsSync(leaf)) mkdirSync(leaf)
    // Only this process moves: when others share the cgroup (no Delegate= on the unit), enabling
    // the controller fails with EBUSY and the watchdog is used rather than moving them about.
    writeFileSync(join(leaf, 'cgroup.procs'), String(process.pid))
    writeFileSync(join(own, 'cgroup.subtree_control'), '+memory')
  } catch (error) {
    return { reason: `cannot set up child cgroups under ${own} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` }
  }
  return {
    reason: '',
    guard: {
      mode: 'cgroup-v2',
      detail: `cgroup v2 memory.max per executor under ${own}`,
      watch(pid, limitMb, onExceeded) {
        const dir = join(own, `exec-${pid}`)
        let stopped = false
        let reported = false
        const oomKills = () => {
          const events = (() => {
            try {
              return readFileSync(join(dir, 'memory.events'), 'utf8')
            } catch {
              return ''
            }
          })()
          return Number(/^oom_kill (\d+)/m.exec(events)?.[1] ?? 0)
        }
        try {
          mkdirSync(dir)
          writeFileSync(join(dir, 'memory.max'), String(limitMb * 1024 * 1024))
          try {
            writeFileSync(join(dir, 'memory.swap.max'), '0')
          } catch {
            /* no swap accounting */
          }
          writeFileSync(join(dir, 'cgroup.procs'), String(pid))
        } catch {
          // The executor still runs, bounded by the watchdog instead.
          try {
            rmdirSync(dir)
          } catch {
            /* not created */
          }
          return createRssWatchdog('').watch(pid, limitMb, onExceeded)
        }
        return {
          exceeded() {
            const hit = oomKills() > 0
            if (hit && !reported) {
              reported = true
              onExceeded({ rss_mb: null })
            }
            return hit
          },
          stop() {
            if (stopped) return
            stopped = true
            // Only an empty cgroup can be removed: after the child exited.
            void fsp.rmdir(dir).catch(() => {})
          },
        }
      },
    },
  }
}
