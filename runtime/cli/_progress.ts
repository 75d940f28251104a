// The progress of an operation being followed: on a terminal one line rewritten in place with the
// step and an ETA; anywhere else (a pipe, a log file) one plain line per change, no escape codes.
import type { Operation } from '../protocol/index.ts'

export interface ProgressDisplay {
  /** Shows the operation's state (only what changed is written off a terminal). */
  update(op: Operation): void
  /** Ends the display (a terminal's line is finished with a newline). */
  done(): void
}

interface ProgressStream {
  write(text: string): unknown
  isTTY?: boolean
  columns?: number
}

/** `42 s`, `3 min 04 s`, `1 h 05 min`. */
export function formatEta(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`
}

/**
 * The ETA is the rate since the first progress seen while running, extrapolated: (elapsed / done)
 * × what is left. Nothing is promised before a second point exists.
 */
export function createProgressDisplay(out: ProgressStream = process.stderr, now: () => number = Date.now): ProgressDisplay {
  const tty = !!out.isTTY
  let first: { at: number; pct: number } | null = null
  let lastText = ''
  let drawn = false
  return {
    update(op) {
      const pct = op.progress.percentage
      const step = op.progress.current_step
      let eta = ''
      if (op.status === 'running') {
        if (!first) first = { at: now(), pct }
        else if (pct > first.pct && pct < 100) eta = `, ETA ${formatEta(((now() - first.at) * (100 - pct)) / (pct - first.pct))}`
      }
      const base = `${op.operation_id} ${op.status} ${Math.round(pct)}%${step ? ` ${step}` : ''}`
      if (tty) {
        const line = `${base}${eta}`
        const width = out.columns ?? 0
        out.write(`\r\u001B[2K${width > 1 && line.length >= width ? `${line.slice(0, width - 2)}…` : line}`)
        drawn = true
      } else if (base !== lastText) {
        // Off a terminal every change is its own line, the ETA left out: a log is read afterwards.
        out.write(`${base}\n`)
        lastText = base
      }
    },
    done() {
      if (tty && drawn) out.write('\n')
      drawn = false
    },
  }
}
