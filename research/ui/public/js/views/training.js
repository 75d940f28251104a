// One training: loss and accuracy per epoch, test metrics beside what a model-free predictor
// scores, the confusion matrix. Pure: data in, DOM out (dashboard and report).
import { COLORS, dashed, line, numberChart } from 'ktrdr/charts.js'
import { h, table } from 'ktrdr/dom.js'
import { byFormat, duration, fixed } from 'ktrdr/format.js'

const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {})
const perEpoch = (values) =>
  Array.isArray(values) ? values.map((v, i) => ({ time: i + 1, value: v })).filter((p) => Number.isFinite(p.value)) : []
const frac = (v) => byFormat(v, 'fraction')

export function testTable(test) {
  const t = obj(test)
  if (typeof t.mae === 'number') {
    const zero = obj(obj(t.baselines).zero_return)
    const last = obj(obj(t.baselines).last_return)
    return table(
      [
        { label: '', get: (r) => r[0] },
        { label: 'Model', get: (r) => r[1] },
        { label: 'Always zero', get: (r) => r[2] },
        { label: 'Last return', get: (r) => r[3] },
      ],
      [
        ['MAE', fixed(t.mae, 6), fixed(zero.mae, 6), fixed(last.mae, 6)],
        ['RMSE', fixed(t.rmse, 6), fixed(zero.rmse, 6), fixed(last.rmse, 6)],
        ['Directional accuracy', frac(t.directional_accuracy), frac(zero.directional_accuracy), frac(last.directional_accuracy)],
      ],
    )
  }
  const b = obj(t.baseline)
  return table(
    [
      { label: '', get: (r) => r[0] },
      { label: 'Model', get: (r) => r[1] },
      { label: `Always ${t.majority_class ?? 'the majority class'}`, get: (r) => r[2] },
    ],
    [
      ['Accuracy', frac(t.test_accuracy), frac(t.majority_baseline ?? b.accuracy)],
      ['Balanced accuracy', frac(t.balanced_accuracy), frac(b.balanced_accuracy)],
      ['Macro F1', fixed(t.macro_f1, 3), fixed(b.macro_f1, 3)],
      ['Weighted precision / recall / F1', `${fixed(t.precision, 3)} / ${fixed(t.recall, 3)} / ${fixed(t.f1_score, 3)}`, ''],
      ['Edge over the majority class', frac(t.edge_over_majority), ''],
      ['Test loss', fixed(t.test_loss, 4), ''],
    ],
  )
}

/** Rows: true class; columns: predicted. Each cell shaded by its share of the row. */
export function confusionMatrix(test) {
  const t = obj(test)
  const cm = Array.isArray(t.confusion_matrix) ? t.confusion_matrix : []
  if (!cm.length) return h('p', { class: 'empty' }, 'No confusion matrix (regression model).')
  const labels = (t.per_class ?? []).map((c) => c.label)
  const name = (i) => labels[i] ?? String(i)
  return h(
    'table',
    { class: 'confusion', 'data-testid': 'confusion-matrix' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'true ↓ / predicted →'),
        cm.map((_, j) => h('th', {}, name(j))),
      ),
    ),
    h(
      'tbody',
      {},
      cm.map((row, i) => {
        const total = row.reduce((a, b) => a + b, 0) || 1
        return h(
          'tr',
          {},
          h('th', {}, name(i)),
          row.map((v, j) =>
            h(
              'td',
              {
                class: i === j ? 'diag' : '',
                style: `--share:${(v / total).toFixed(3)}`,
                title: `${fixed((v / total) * 100, 1)}% of true ${name(i)}`,
              },
              fixed(v, 0),
            ),
          ),
        )
      }),
    ),
  )
}

export function renderTraining(el, { result, operationId }) {
  const tm = obj(result.training_metrics)
  const hist = obj(tm.history)
  const ds = obj(result.data_summary)
  const info = obj(result.model_info)
  const lossEl = h('div', { 'data-testid': 'loss-chart' })
  const accEl = h('div', { 'data-testid': 'accuracy-chart' })
  el.append(
    h(
      'header',
      { class: 'page-head' },
      h(
        'h2',
        {},
        `${obj(result.session_info).strategy_name ?? 'training'} → ${result.model_key ?? '–'}`,
        ds.synthetic ? h('span', { class: 'badge warn' }, 'SYNTHETIC data') : null,
      ),
      h(
        'p',
        { class: 'sub' },
        `${(ds.symbols ?? []).join(', ')} ${(ds.timeframes ?? []).join(', ')} · ${ds.start_date ?? '?'} → ${ds.end_date ?? '?'} · ${fixed(ds.train_samples, 0)} / ${fixed(ds.validation_samples, 0)} / ${fixed(ds.test_samples, 0)} train/validation/test samples · ${info.architecture ?? ''} (${fixed(info.parameters_count, 0)} parameters) · ${tm.epochs_trained ?? '–'} epochs${tm.early_stopped ? ' (stopped early)' : ''}, best ${tm.best_epoch ?? '–'} · ${duration(tm.training_time)} on ${result.backend ?? '?'} · ${operationId ?? ''}`,
      ),
    ),
    h(
      'div',
      { class: 'split' },
      h('div', { class: 'charts' }, lossEl, accEl),
      h(
        'div',
        { class: 'side' },
        h('h3', {}, 'Test split beside a model-free predictor'),
        testTable(result.test_metrics),
        h('h3', {}, 'Confusion matrix (test split)'),
        confusionMatrix(result.test_metrics),
        (result.warnings ?? []).length
          ? h(
              'ul',
              { class: 'warnings' },
              result.warnings.map((w) => h('li', {}, w.message)),
            )
          : null,
        ds.purged
          ? h(
              'p',
              { class: 'note' },
              `Labels purged at split boundaries: ${ds.purged.train ?? 0} train, ${ds.purged.validation ?? 0} validation.`,
            )
          : null,
      ),
    ),
  )
  const loss = numberChart(lossEl, {
    legend: [
      { label: 'Train loss', color: COLORS[0] },
      { label: 'Validation loss', color: COLORS[1] },
    ],
  })
  line(loss, perEpoch(hist.train_loss), COLORS[0])
  line(loss, perEpoch(hist.val_loss), COLORS[1])
  const acc = numberChart(accEl, {
    legend: [
      { label: 'Train accuracy', color: COLORS[0] },
      { label: 'Validation accuracy', color: COLORS[1] },
      ...(typeof tm.val_majority_baseline === 'number'
        ? [{ label: 'Always the majority class (validation)', color: '#90a4ae', dashed: true }]
        : []),
    ],
  })
  line(acc, perEpoch(hist.train_accuracy), COLORS[0])
  const val = perEpoch(hist.val_accuracy)
  line(acc, val, COLORS[1])
  if (typeof tm.val_majority_baseline === 'number' && val.length)
    line(
      acc,
      val.map((p) => ({ time: p.time, value: tm.val_majority_baseline })),
      '#90a4ae',
      { ...dashed, lastValueVisible: false },
    )
  loss.timeScale().fitContent()
  acc.timeScale().fitContent()
  lossEl.dataset.epochs = String(perEpoch(hist.train_loss).length)
  el.dataset.ready = 'training'
}
