// 2–6 backtests or trainings side by side: GET /api/v1/compare's table (best column marked, each
// figure above the baselines it must beat) and their curves overlaid. Pure (dashboard and report).
import { COLORS, line, numberChart, timeChart } from 'ktrdr/charts.js'
import { h } from 'ktrdr/dom.js'
import { byFormat } from 'ktrdr/format.js'

export function compareTable(comparison) {
  return h(
    'table',
    { class: 'compare', 'data-testid': 'compare-table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, ''),
        comparison.operations.map((o, i) =>
          h(
            'th',
            { 'data-op': o.operation_id },
            h('i', { class: 'swatch', style: `border-top-color:${COLORS[i % COLORS.length]}` }),
            o.label,
            h('small', {}, o.operation_id),
          ),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      comparison.rows.map((r) =>
        h(
          'tr',
          { class: r.baseline_of ? 'baseline' : '' },
          h('th', {}, r.label, r.better ? h('small', {}, r.better === 'higher' ? ' ↑ better' : ' ↓ better') : null),
          r.values.map((v, i) =>
            h(
              'td',
              { class: `${r.format === 'text' ? '' : 'num'} ${r.best === i && r.values.length > 1 ? 'best' : ''}` },
              byFormat(v, r.format),
            ),
          ),
        ),
      ),
    ),
  )
}

/**
 * `charts`: for backtests, operation id → GET /api/v1/backtests/:id/chart (drawn as % return from
 * each run's start, since runs may start with different capital).
 */
export function renderCompare(el, { comparison, charts = {} }) {
  const curves = h('div', { 'data-testid': 'compare-chart' })
  el.append(
    h(
      'header',
      { class: 'page-head' },
      h('h2', {}, `Comparing ${comparison.operations.length} ${comparison.kind === 'backtest' ? 'backtests' : 'trainings'}`),
    ),
    curves,
    compareTable(comparison),
  )
  const legend = comparison.operations.map((o, i) => ({ label: o.label, color: COLORS[i % COLORS.length] }))
  if (comparison.kind === 'backtest') {
    const chart = timeChart(curves, {
      height: 300,
      legend: [{ label: 'Return % from each run’s start:', color: 'transparent' }, ...legend],
    })
    comparison.operations.forEach((o, i) => {
      const c = charts[o.operation_id]
      if (!c || !c.initial_equity) return
      const data = c.equity.time.map((t, k) => ({ time: t, value: (c.equity.value[k] / c.initial_equity - 1) * 100 }))
      line(chart, data, COLORS[i % COLORS.length])
    })
    chart.timeScale().fitContent()
  } else {
    const chart = numberChart(curves, {
      height: 260,
      legend: [{ label: 'Validation accuracy per epoch:', color: 'transparent' }, ...legend],
    })
    comparison.operations.forEach((o, i) => {
      const v = o.history?.val_accuracy ?? []
      line(
        chart,
        v.map((value, k) => ({ time: k + 1, value })).filter((p) => Number.isFinite(p.value)),
        COLORS[i % COLORS.length],
      )
    })
    chart.timeScale().fitContent()
  }
  curves.dataset.series = String(comparison.operations.length)
  el.dataset.ready = 'compare'
}
