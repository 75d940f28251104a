// Walk-forwards: the list, and one with its stitched out-of-sample curve, folds and stability; a
// running one follows its own event stream (GET /api/v1/walkforward/:id/events) and redraws as folds finish.
import { api, followStream } from 'ktrdr/api.js'
import { clear, h, link, table } from 'ktrdr/dom.js'
import { ago, byFormat } from 'ktrdr/format.js'
import { loadView } from 'ktrdr/pages/_views.js'

const enc = encodeURIComponent

export async function mount(el, route, ctx) {
  if (route.id) return mountOne(el, route.id, ctx)
  const { items } = await api.walkforwards({ limit: 100 })
  if (ctx.signal.aborted) return
  clear(el).append(
    h('h2', {}, 'Walk-forwards'),
    h('p', { class: 'muted' }, 'Start one with ktrdr walkforward start or POST /api/v1/walkforward.'),
    table(
      [
        { label: 'Walk-forward', get: (w) => link(`#/walkforward/${enc(w.operation_id)}`, w.operation_id) },
        { label: 'Status', get: (w) => h('span', { class: `status ${w.status}` }, w.status) },
        { label: 'Strategy', get: (w) => w.request.strategy },
        {
          label: 'Folds',
          class: 'num',
          get: (w) => {
            const skipped = w.folds.filter((f) => f.skipped).length
            return skipped ? `${w.folds.length} (${skipped} skipped)` : String(w.folds.length)
          },
        },
        { label: 'Windows', get: (w) => `${w.request.mode} ${w.request.train_window} / ${w.request.test_window}` },
        {
          label: 'Out of sample',
          class: 'num',
          get: (w) =>
            w.summary
              ? Object.values(w.summary.stitched)
                  .map((s) => byFormat(s.total_return_pct, 'percent'))
                  .join(', ')
              : '–',
        },
        { label: 'Created', get: (w) => ago(w.created_at) },
      ],
      items,
      { empty: 'No walk-forward yet', rowProps: () => ({ 'data-testid': 'wf-row' }) },
    ),
  )
  el.dataset.ready = 'walkforwards'
}

async function mountOne(el, id, { signal, refresh }) {
  const [record, { renderWalkForward }] = await Promise.all([api.walkforward(id), loadView('walkforward')])
  // The gateway decimates each curve (min/max per bucket): a range of millions of bars arrives as a few thousand points.
  const symbols = record.summary ? record.request.symbols : []
  const curves = await Promise.all(symbols.map((symbol) => api.walkforwardEquity(id, { symbol })))
  const equity = new Map(curves.map((c) => [c.symbol, c]))
  if (signal.aborted) return
  await renderWalkForward(clear(el), { record, equity })
  if (record.status !== 'running' && record.status !== 'pending') return
  // Redraw when a child has been read (settled grows) or the walk-forward ends; progress alone only updates the line.
  let settled = Object.keys(record.settled).length
  followStream(
    `/api/v1/walkforward/${enc(id)}/events`,
    (w, name) => {
      const now = Object.keys(w.settled).length
      if (now !== settled || (name !== 'state' && name !== 'progress')) {
        settled = now
        refresh()
      } else {
        const status = el.querySelector('[data-testid=wf-status]')
        if (status) status.textContent = `${w.status} · ${w.progress.percentage}% · ${w.progress.current_step}`
      }
    },
    signal,
  ).catch(() => {})
}
