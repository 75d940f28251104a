// One backtest run: equity beside the market, drawdown, trades on the price, metrics beside the
// baselines (buy-and-hold, random entries), what the model decided. Pure: data in, DOM out; the
// dashboard and the self-contained report both call it.
import { COLORS, area, dashed, fit, line, markTrades, nextTask, points, syncCharts, timeChart } from 'ktrdr/charts.js'
import { h, table } from 'ktrdr/dom.js'
import { byFormat, duration, fixed, when } from 'ktrdr/format.js'

const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {})

/** The run of a backtest result the chart is about (the top level repeats runs[0]). */
export function runOf(result, chart) {
  const runs = Array.isArray(result.runs) && result.runs.length ? result.runs : [result]
  return runs.find((r) => r.symbol === chart.symbol && (r.parameter_set ?? 0) === chart.run) ?? runs[0]
}

export function verdictBanner(baselines) {
  const b = obj(baselines)
  const p = obj(b.random_entries).p_value
  const edge = typeof p === 'number' && p <= 0.05
  return h('div', { class: `verdict ${edge ? 'edge' : 'no-edge'}`, 'data-testid': 'verdict' }, b.verdict ?? 'no baselines in this result')
}

/** Strategy beside buy-and-hold and the random-entry distribution. */
export function metricsTable(run) {
  const m = obj(run.metrics)
  const b = obj(run.baselines)
  const bh = obj(b.buy_and_hold)
  const rnd = b.random_entries ? obj(b.random_entries) : null
  const pct = (v) => byFormat(v, 'percent')
  const rows = [
    [
      'Return',
      pct(m.total_return_pct),
      `${pct(bh.return_pct)} (market ${pct(bh.market_return_pct)})`,
      rnd ? `${pct(rnd.p50_return_pct)} (5–95%: ${pct(rnd.p05_return_pct)} … ${pct(rnd.p95_return_pct)})` : '–',
    ],
    [
      'Percentile among random entries',
      rnd ? `${fixed(rnd.percentile, 1)}th` : '–',
      '',
      rnd ? `${rnd.draws} draws, p = ${fixed(rnd.p_value, 4)}` : '',
    ],
    ['Annualised return', byFormat(m.annualized_return, 'fraction'), '', ''],
    ['Sharpe / Sortino / Calmar', `${fixed(m.sharpe_ratio)} / ${fixed(m.sortino_ratio)} / ${fixed(m.calmar_ratio)}`, '', ''],
    ['Max drawdown', pct(m.max_drawdown_pct), '', ''],
    ['Volatility (annualised)', byFormat(m.volatility, 'fraction'), '', ''],
    ['Trades', fixed(m.total_trades, 0), '', ''],
    ['Win rate / profit factor', `${byFormat(m.win_rate, 'fraction')} / ${fixed(m.profit_factor)}`, '', ''],
    ['Average holding', byFormat(m.avg_holding_period, 'hours'), '', ''],
    ['Time in market / exposure', `${pct(obj(run.decisions).time_in_market_pct)} / ${pct(obj(run.decisions).exposure_pct)}`, '', ''],
  ]
  return h(
    'table',
    { class: 'metrics', 'data-testid': 'metrics' },
    h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'Strategy'), h('th', {}, 'Buy and hold'), h('th', {}, 'Random entries'))),
    h(
      'tbody',
      {},
      rows.map(([label, ...cells]) =>
        h(
          'tr',
          {},
          h('th', {}, label),
          cells.map((c) => h('td', {}, c)),
        ),
      ),
    ),
  )
}

function decisionsBlock(run) {
  const d = obj(run.decisions)
  const calls = obj(d.calls)
  const f = obj(d.filtered)
  const oos = obj(run.out_of_sample)
  return h(
    'div',
    { class: 'facts' },
    h('h3', {}, 'Decisions'),
    h(
      'p',
      {},
      `${calls.buy ?? '–'} BUY / ${calls.sell ?? '–'} SELL / ${calls.hold ?? '–'} HOLD calls; filtered: ${f.confidence ?? 0} confidence, ${f.cost ?? 0} cost, ${f.separation ?? 0} separation, ${f.position ?? 0} already in position, ${f.long_only ?? 0} long-only.`,
      d.why_no_trades ? ` No trades: ${d.why_no_trades}.` : '',
    ),
    h('h3', {}, 'Out of sample'),
    h(
      'p',
      {},
      oos.checked === false
        ? 'Not checked (the model never saw this symbol, or predates the check).'
        : `${oos.overlap_bars ?? '–'} bars overlap the training window (${oos.in_sample_start ?? '?'} → ${oos.in_sample_end ?? '?'}).`,
    ),
    (run.warnings ?? []).length
      ? h(
          'ul',
          { class: 'warnings' },
          run.warnings.map((w) => h('li', {}, w.message)),
        )
      : null,
  )
}

function tradesTable(trades, total) {
  const shown = trades.slice(0, 200)
  return h(
    'div',
    {},
    h('h3', {}, `Trades (${fixed(total, 0)}${total > shown.length ? `, first ${shown.length} shown` : ''})`),
    table(
      [
        { label: '#', get: (t) => t.id },
        { label: 'Side', get: (t) => t.side },
        { label: 'Entry', get: (t) => when(new Date(t.entry_time * 1000).toISOString()) },
        { label: 'Exit', get: (t) => when(new Date(t.exit_time * 1000).toISOString()) },
        { label: 'Entry price', get: (t) => fixed(t.entry_price, 5), class: 'num' },
        { label: 'Exit price', get: (t) => fixed(t.exit_price, 5), class: 'num' },
        { label: 'Net P&L', get: (t) => fixed(t.net_pnl, 2), class: 'num' },
        { label: 'Return', get: (t) => byFormat(t.return_pct, 'percent'), class: 'num' },
      ],
      shown,
      { empty: 'No trades.', rowProps: (t) => ({ class: t.net_pnl >= 0 ? 'win' : 'loss' }) },
    ),
  )
}

/**
 * Renders a backtest run into `el`. `result`: the operation's result; `chart`: GET
 * /api/v1/backtests/:id/chart; `controls`: nodes to put in the header (the dashboard's run picker).
 */
export async function renderBacktest(el, { result, chart, controls = null }) {
  const run = runOf(result, chart)
  const title = `${run.strategy_name ?? 'backtest'} · ${chart.symbol} ${run.timeframe ?? ''}`
  const eqEl = h('div', { 'data-testid': 'equity-chart' })
  const ddEl = h('div', { 'data-testid': 'drawdown-chart' })
  const pxEl = h('div', { 'data-testid': 'price-chart' })
  el.append(
    h(
      'header',
      { class: 'page-head' },
      h('h2', {}, title, run.synthetic_data ? h('span', { class: 'badge warn' }, 'SYNTHETIC data') : null),
      h(
        'p',
        { class: 'sub' },
        `${when(run.start_time)} → ${when(run.end_time)} · ${fixed(chart.bars, 0)} bars`,
        chart.decimated ? ` (charts: ${fixed(chart.points, 0)} points, min/max kept)` : '',
        ` · model ${obj(result.model).key ?? '–'} · ${result.operation_id ?? chart.operation_id}`,
        result.timings?.total_s ? ` · ran in ${duration(result.timings.total_s)}` : '',
      ),
      controls,
    ),
    verdictBanner(run.baselines),
    h(
      'div',
      { class: 'split' },
      h('div', { class: 'charts' }, eqEl, ddEl, pxEl),
      h('div', { class: 'side' }, h('h3', {}, 'Metrics beside the baselines'), metricsTable(run), decisionsBlock(run)),
    ),
    tradesTable(chart.trades, chart.trade_count),
  )

  // Equity beside the market it traded: the price rescaled to the starting equity. One chart per
  // task: with thousands of points and markers each takes a while on a slow machine.
  await nextTask()
  const eq = timeChart(eqEl, {
    height: 240,
    legend: [
      { label: 'Equity', color: COLORS[0] },
      { label: 'Market (price rescaled to the starting equity)', color: '#90a4ae', dashed: true },
    ],
  })
  area(eq, points(chart.equity), COLORS[0])
  const p0 = chart.price.value[0]
  if (p0 && chart.initial_equity)
    line(eq, points(chart.price, chart.initial_equity / p0), '#90a4ae', { ...dashed, lastValueVisible: false })
  await nextTask()
  const dd = timeChart(ddEl, { height: 140, legend: [{ label: `Drawdown % (max ${fixed(chart.max_drawdown_pct)}%)`, color: '#c62828' }] })
  area(dd, points(chart.drawdown), '#c62828', { invertFilledArea: true })
  await nextTask()
  const px = timeChart(pxEl, {
    height: 260,
    legend: [
      { label: `${chart.symbol} close`, color: '#37474f' },
      { label: '▲ long / ▼ short entry, ● exit', color: '#2e7d32' },
    ],
  })
  const price = line(px, points(chart.price), '#37474f', { lineWidth: 1 })
  markTrades(pxEl, price, chart.trades)
  if (chart.trades_truncated) pxEl.append(h('p', { class: 'note' }, `First ${chart.trades.length} of ${chart.trade_count} trades marked.`))
  fit(eq, dd, px)
  syncCharts([eq, dd, px])
  el.dataset.ready = 'backtest'
  return { charts: [eq, dd, px] }
}
