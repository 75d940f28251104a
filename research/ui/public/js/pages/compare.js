import { api } from 'ktrdr/api.js'
import { loadView } from 'ktrdr/pages/_views.js'
import { clear, fill, h } from 'ktrdr/dom.js'

export async function mount(el, route, { signal }) {
  const ids = (route.params.get('ids') ?? '').split(',').filter(Boolean)
  if (ids.length < 2) {
    const input = h('input', { name: 'ids', size: 80, placeholder: 'op_backtesting_…, op_backtesting_…' })
    fill(
      el,
      h(
        'header',
        { class: 'page-head' },
        h('h2', {}, 'Compare'),
        h('p', { class: 'sub' }, 'Pick 2–6 completed backtests or trainings on the Operations page, or paste their ids.'),
      ),
      h(
        'form',
        {
          class: 'filters',
          onsubmit: (e) => {
            e.preventDefault()
            location.hash = `#/compare?ids=${input.value
              .split(/[\s,]+/)
              .filter(Boolean)
              .join(',')}`
          },
        },
        input,
        h('button', { type: 'submit' }, 'Compare'),
      ),
    )
    el.dataset.ready = 'compare'
    return
  }
  const view = loadView('compare')
  const comparison = await api.compare(ids)
  const charts = {}
  if (comparison.kind === 'backtest') {
    const all = await Promise.all(comparison.operations.map((o) => api.chart(o.operation_id, { max_points: 1500, max_trades: 0 })))
    for (const [i, o] of comparison.operations.entries()) charts[o.operation_id] = all[i]
  }
  const { renderCompare } = await view
  if (signal.aborted) return
  renderCompare(clear(el), { comparison, charts })
}
