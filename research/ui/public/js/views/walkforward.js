// One walk-forward: the stitched out-of-sample curve beside the market, the folds (training accuracy
// beside always-the-majority-class, test return beside buy-and-hold and random entries, overlap with
// training), and how stable each figure was across folds. Pure: data in, DOM out.
import { COLORS, dashed, fit, line, nextTask, points, timeChart } from 'ktrdr/charts.js'
import { h, link, table } from 'ktrdr/dom.js'
import { byFormat, fixed } from 'ktrdr/format.js'
import { createSeriesMarkers } from 'lightweight-charts'

const pct = (v) => byFormat(v, 'percent')
const enc = encodeURIComponent

/** `s`: GET /api/v1/walkforward/:id/equity, decimated by the gateway with each fold's first bar kept. */
function stitchedChart(symbol, s) {
  const el = h('div', {
    'data-testid': 'stitched-chart',
    dataset: { symbol, points: String(s.time.length), bars: String(s.bars), decimated: String(s.decimated) },
  })
  const chart = timeChart(el, {
    height: 300,
    legend: [
      { label: `${symbol} out of sample (stitched folds)`, color: COLORS[0] },
      { label: 'market, compounded the same way', color: COLORS[1], dashed: true },
    ],
  })
  const strategy = line(chart, points({ time: s.time, value: s.value }), COLORS[0])
  line(chart, points({ time: s.time, value: s.benchmark }), COLORS[1], dashed)
  // Where each fold's test window starts.
  const starts = []
  for (let i = 0; i < s.fold.length; i++)
    if (i === 0 || s.fold[i] !== s.fold[i - 1])
      starts.push({ time: s.time[i], position: 'aboveBar', shape: 'square', color: '#78909c', text: `fold ${s.fold[i]}`, size: 0.5 })
  createSeriesMarkers(strategy, starts)
  el.dataset.folds = String(starts.length)
  const note = s.decimated
    ? `${s.bars} bars, drawn from ${s.points} points (each bucket's first, lowest, highest and last kept)`
    : `${s.bars} bars`
  return { el, chart, note: h('p', { class: 'muted', 'data-testid': 'stitched-points' }, note) }
}

function foldsTable(record) {
  const rows = record.folds.flatMap((f) => (f.test.runs?.length && !f.skipped ? f.test.runs : [null]).map((run) => ({ f, run })))
  return table(
    [
      { label: 'Fold', get: ({ f }) => String(f.fold) },
      { label: 'Train', get: ({ f }) => `${f.train.start} → ${f.train.end}` },
      { label: 'Test', get: ({ f }) => `${f.test.start} → ${f.test.end}` },
      {
        label: 'Test accuracy (majority)',
        class: 'num',
        get: ({ f }) =>
          f.training
            ? `${byFormat(f.training.metrics.test_accuracy, 'fraction')} (${byFormat(f.training.metrics.majority_baseline, 'fraction')})`
            : '–',
      },
      { label: 'Symbol', get: ({ f, run }) => (f.skipped ? h('span', { title: f.skipped.reason }, 'skipped') : (run?.symbol ?? '–')) },
      { label: 'Return', class: 'num', get: ({ run }) => pct(run?.metrics.total_return_pct) },
      { label: 'Buy and hold', class: 'num', get: ({ run }) => pct(run?.baselines.buy_and_hold_pct) },
      { label: 'Random median', class: 'num', get: ({ run }) => pct(run?.baselines.random_p50_pct) },
      { label: 'p-value', class: 'num', get: ({ run }) => byFormat(run?.baselines.p_value, 'p_value') },
      { label: 'Sharpe', class: 'num', get: ({ run }) => fixed(run?.metrics.sharpe_ratio) },
      { label: 'Max drawdown', class: 'num', get: ({ run }) => pct(run?.metrics.max_drawdown_pct) },
      { label: 'Trades', class: 'num', get: ({ run }) => fixed(run?.metrics.total_trades, 0) },
      { label: 'Overlap', class: 'num', get: ({ run }) => (run ? String(run.out_of_sample.overlap_bars) : '–') },
      {
        label: '',
        get: ({ f }) => [
          f.training ? link(`#/trainings/${enc(f.training.operation_id)}`, 'training') : null,
          f.training && f.test.operation_id ? ' · ' : null,
          f.test.operation_id ? link(`#/backtests/${enc(f.test.operation_id)}`, 'backtest') : null,
        ],
      },
    ],
    rows,
    { rowProps: ({ f }) => ({ 'data-testid': 'fold-row', dataset: { fold: String(f.fold), ...(f.skipped ? { skipped: 'true' } : {}) } }) },
  )
}

const STABILITY = [
  ['total_return_pct', 'Return', 'percent'],
  ['buy_and_hold_pct', 'Buy and hold (same size and costs)', 'percent'],
  ['random_p50_pct', 'Random entries, median', 'percent'],
  ['excess_return_pct', 'Return over buy and hold', 'percent'],
  ['sharpe_ratio', 'Sharpe', 'ratio'],
  ['max_drawdown_pct', 'Max drawdown', 'percent'],
  ['win_rate', 'Win rate', 'fraction'],
  ['total_trades', 'Trades', 'integer'],
]

function stabilityTable(stability) {
  return table(
    [
      { label: 'Across folds', get: ([, label]) => label },
      { label: 'Mean', class: 'num', get: ([key, , f]) => byFormat(stability[key]?.mean, f) },
      { label: 'Std', class: 'num', get: ([key, , f]) => byFormat(stability[key]?.std, f) },
      { label: 'Min', class: 'num', get: ([key, , f]) => byFormat(stability[key]?.min, f) },
      { label: 'Max', class: 'num', get: ([key, , f]) => byFormat(stability[key]?.max, f) },
      { label: 'Positive folds', class: 'num', get: ([key]) => byFormat(stability[key]?.positive_share, 'fraction') },
    ],
    STABILITY.filter(([key]) => stability[key]),
  )
}

export async function renderWalkForward(el, { record, equity }) {
  const r = record.request
  el.append(
    h('h2', {}, `Walk-forward ${record.operation_id}`),
    h(
      'p',
      { class: 'muted' },
      `${r.strategy} on ${r.symbols.join(', ')} ${r.timeframe}, ${r.start_date} → ${r.end_date}: ${r.mode}, train ${r.train_window}, test ${r.test_window}, step ${r.step}. Models under ${record.model_name}. `,
      h(
        'span',
        { 'data-testid': 'wf-status' },
        `${record.status} · ${fixed(record.progress.percentage, 1)}% · ${record.progress.current_step}`,
      ),
    ),
  )
  if (record.error) el.append(h('div', { class: 'error' }, record.error.message))
  // Every fold left out is said, with why: a stitched curve over fewer folds than planned must not pass for all of them.
  const skipped = record.folds.filter((f) => f.skipped)
  if (skipped.length)
    el.append(
      h(
        'div',
        { 'data-testid': 'wf-skipped' },
        h(
          'p',
          {},
          `${skipped.length} of ${record.folds.length} folds skipped, left out of the stitched curve and every figure across folds:`,
        ),
        h(
          'ul',
          { class: 'warnings' },
          skipped.map((f) => h('li', {}, `fold ${f.fold} (test ${f.test.start} → ${f.test.end}): ${f.skipped.reason}`)),
        ),
      ),
    )
  const s = record.summary
  for (const [symbol, curve] of equity) {
    const st = s?.stitched[symbol]
    const c = s?.consistency[symbol]
    if (st && c)
      el.append(
        h(
          'div',
          { class: `verdict ${c.significant > c.folds / 2 ? 'edge' : 'no-edge'}`, 'data-testid': 'wf-summary' },
          `${symbol} out of sample: ${pct(st.total_return_pct)} vs buy-and-hold ${pct(st.buy_and_hold_return_pct)}, max drawdown ${pct(st.max_drawdown_pct)}; positive in ${c.positive}/${c.folds} folds, beat buy-and-hold in ${c.beat_buy_and_hold}/${c.folds}, beat random entries (p ≤ 0.05) in ${c.significant}/${c.folds}`,
        ),
      )
    const { el: chartEl, chart, note } = stitchedChart(symbol, curve)
    el.append(chartEl, note)
    // Fitted once in the page and laid out: a chart that has no width yet fits nothing.
    await nextTask()
    fit(chart)
  }
  el.append(h('h3', {}, 'Folds'), foldsTable(record))
  if (s)
    for (const [symbol, stability] of Object.entries(s.stability))
      el.append(h('h3', {}, `Stability across folds · ${symbol}`), stabilityTable(stability))
  // Behind the API token like every route: shown for curl, not linked (a plain link sends no token).
  if (s?.files)
    el.append(
      h(
        'p',
        { class: 'muted' },
        `Files: ${Object.values(s.files)
          .map((key) => `/api/v1/results/${key}`)
          .join(' · ')}`,
      ),
    )
  el.dataset.ready = 'walkforward'
}
