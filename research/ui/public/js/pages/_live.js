// Live operations on a page: each running operation's SSE stream updates its progress in place;
// when one finishes (or a new one may have appeared) the page reloads its lists.
import { follow } from 'ktrdr/api.js'
import { h } from 'ktrdr/dom.js'
import { fixed } from 'ktrdr/format.js'

/**
 * Browsers keep at most 6 HTTP/1.1 connections per origin and each stream holds one: follow at
 * most 4, so the page's own requests always get through.
 */
const MAX_STREAMS = 4

export function progressBar(op) {
  const pct = op.progress?.percentage ?? (op.status === 'completed' ? 100 : 0)
  return h(
    'div',
    { class: `progress ${op.status}`, 'data-op': op.operation_id, 'data-pct': String(pct) },
    h('div', { class: 'bar', style: `width:${Math.max(0, Math.min(100, pct))}%` }),
    h('span', {}, `${fixed(pct, 0)}%${op.progress?.current_step ? ` · ${op.progress.current_step}` : ''}`),
  )
}

/**
 * Follows running operations over their SSE streams. `sync(ops)` after each (re)load: streams start
 * for running operations not followed yet (up to MAX_STREAMS) and stop for those no longer listed;
 * each event redraws that operation's progress bars and status cells in place; `onEnd()` when one
 * finishes, so the page reloads its lists.
 */
export function createLive({ signal, onEnd }) {
  const streams = new Map()
  const update = (op, event) => {
    for (const bar of document.querySelectorAll(`.progress[data-op="${CSS.escape(op.operation_id)}"]`)) bar.replaceWith(progressBar(op))
    for (const s of document.querySelectorAll(`[data-status-of="${CSS.escape(op.operation_id)}"]`)) {
      s.textContent = op.status
      s.className = `status ${op.status}`
    }
    if (event === 'progress') document.body.dataset.liveEvents = String(Number(document.body.dataset.liveEvents ?? 0) + 1)
  }
  signal.addEventListener('abort', () => streams.forEach((c) => c.abort()))
  return {
    get size() {
      return streams.size
    },
    sync(ops) {
      const running = new Set(ops.filter((o) => o.status === 'running').map((o) => o.operation_id))
      for (const [id, c] of streams) {
        if (running.has(id)) continue
        c.abort()
        streams.delete(id)
      }
      for (const id of running) {
        if (streams.size >= MAX_STREAMS || streams.has(id) || signal.aborted) continue
        const c = new AbortController()
        streams.set(id, c)
        follow(id, update, c.signal)
          .then((last) => {
            streams.delete(id)
            if (!signal.aborted && !c.signal.aborted && last && last.status !== 'running') onEnd?.()
          })
          .catch(() => streams.delete(id))
      }
    },
  }
}

/** Re-runs `load` every `ms` while the page is open and visible (hosts and new operations have no stream). */
export function every(ms, signal, load) {
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') load()
  }, ms)
  signal.addEventListener('abort', () => clearInterval(timer))
}
