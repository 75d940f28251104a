import { api } from 'ktrdr/api.js'
import { loadView } from 'ktrdr/pages/_views.js'
import { clear, h } from 'ktrdr/dom.js'

export async function mount(el, route, { signal }) {
  const id = route.id
  const symbol = route.params.get('symbol') ?? undefined
  const run = route.params.get('run') ?? undefined
  // Twice the screen's width in points: as sharp as the chart can draw, whatever the run's length.
  const maxPoints = Math.min(8000, Math.max(500, Math.round(screen.width * 2)))
  // The data and the chart modules (lightweight-charts is most of the bytes) load side by side.
  const [results, chart, { renderBacktest }] = await Promise.all([
    api.results(id),
    api.chart(id, { symbol, run, max_points: maxPoints }),
    loadView('backtest'),
  ])
  if (signal.aborted) return
  const picker =
    chart.runs.length > 1
      ? h(
          'label',
          {},
          'Run ',
          h(
            'select',
            { onchange: (e) => (location.hash = `#/backtests/${encodeURIComponent(id)}?${e.target.value}`) },
            chart.runs.map((r) => {
              const q = `symbol=${encodeURIComponent(r.symbol)}&run=${r.run}`
              return h(
                'option',
                { value: q, selected: r.symbol === chart.symbol && r.run === chart.run },
                `${r.symbol} · ${r.name ?? `set ${r.run}`}`,
              )
            }),
          ),
        )
      : null
  await renderBacktest(clear(el), { result: results.results, chart, controls: picker })
}
