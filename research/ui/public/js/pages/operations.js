// Operations: filter, progress (live), cancel, logs; pick 2–6 finished backtests or trainings to compare.
import { api, ApiError, get } from 'ktrdr/api.js'
import { fill, h, link, table } from 'ktrdr/dom.js'
import { ago, duration, when } from 'ktrdr/format.js'
import { createLive, every, progressBar } from 'ktrdr/pages/_live.js'

const STATUSES = ['', 'pending,running', 'pending', 'running', 'completed', 'failed', 'cancelled']
const PAGE = 50
const isLive = (o) => o.status === 'pending' || o.status === 'running'
const kindOf = (o) =>
  o.operation_type === 'backtesting' || o.function?.name === 'backtest'
    ? 'backtest'
    : o.operation_type === 'training' || o.function?.name === 'train'
      ? 'training'
      : null

export function viewLink(o) {
  if (o.status !== 'completed') return null
  const kind = kindOf(o)
  if (kind === 'backtest') return link(`#/backtests/${encodeURIComponent(o.operation_id)}`, 'charts', { 'data-testid': 'view-backtest' })
  if (kind === 'training') return link(`#/trainings/${encodeURIComponent(o.operation_id)}`, 'curves', { 'data-testid': 'view-training' })
  return null
}

function cancelButton(o, after) {
  if (!isLive(o)) return null
  return h(
    'button',
    {
      type: 'button',
      class: 'small danger',
      onclick: async (e) => {
        e.target.disabled = true
        try {
          await api.cancel(o.operation_id)
        } catch (error) {
          alert(error.message)
        }
        after()
      },
    },
    'Cancel',
  )
}

export async function mount(el, route, ctx) {
  if (route.id) return mountOne(el, route.id, ctx)
  const { signal } = ctx
  const p = route.params
  const filter = {
    status: p.get('status') ?? '',
    operation_type: p.get('type') ?? '',
    function: p.get('function') ?? '',
    offset: Number(p.get('offset') ?? 0) || 0,
  }
  const selected = new Map()
  const live = createLive({ signal, onEnd: () => load() })
  const go = (next) => {
    const q = new URLSearchParams(Object.entries({ ...filter, ...next }).filter(([, v]) => v !== '' && v !== 0))
    location.hash = `#/operations${q.size ? `?${String(q).replace('operation_type', 'type')}` : ''}`
  }
  let loading = null
  const load = () =>
    (loading ??= (async () => {
      try {
        const page = await api.operations({ ...filter, limit: PAGE })
        if (signal.aborted) return
        render(page)
        live.sync(page.items)
      } finally {
        loading = null
      }
    })())

  const compareButton = h(
    'button',
    {
      type: 'button',
      disabled: true,
      'data-testid': 'compare-selected',
      onclick: () => (location.hash = `#/compare?ids=${[...selected.keys()].map(encodeURIComponent).join(',')}`),
    },
    'Compare selected',
  )
  const updateCompare = () => {
    const kinds = new Set(selected.values())
    compareButton.disabled = selected.size < 2 || selected.size > 6 || kinds.size !== 1
    compareButton.textContent = `Compare selected (${selected.size})`
  }

  function render(page) {
    const form = h(
      'form',
      {
        class: 'filters',
        onsubmit: (e) => {
          e.preventDefault()
          go({ status: form.status.value, operation_type: form.type.value.trim(), function: form.fn.value.trim(), offset: 0 })
        },
      },
      h(
        'label',
        {},
        'Status ',
        h(
          'select',
          { name: 'status' },
          STATUSES.map((s) => h('option', { value: s, selected: s === filter.status }, s || 'any')),
        ),
      ),
      h('label', {}, 'Type ', h('input', { name: 'type', value: filter.operation_type, placeholder: 'backtesting, training…', size: 14 })),
      h('label', {}, 'Function ', h('input', { name: 'fn', value: filter.function, placeholder: 'backtest', size: 10 })),
      h('button', { type: 'submit' }, 'Filter'),
      compareButton,
    )
    const from = page.total ? filter.offset + 1 : 0
    const to = filter.offset + page.items.length
    fill(
      el,
      h(
        'header',
        { class: 'page-head' },
        h('h2', {}, 'Operations'),
        h('p', { class: 'sub' }, `${from}–${to} of ${page.total}; newest first; running ones update live`),
      ),
      form,
      table(
        [
          {
            label: '',
            get: (o) =>
              kindOf(o) && o.status === 'completed'
                ? h('input', {
                    type: 'checkbox',
                    'aria-label': `select ${o.operation_id}`,
                    checked: selected.has(o.operation_id),
                    dataset: { select: o.operation_id },
                    onchange: (e) => {
                      if (e.target.checked) selected.set(o.operation_id, kindOf(o))
                      else selected.delete(o.operation_id)
                      updateCompare()
                    },
                  })
                : null,
          },
          { label: 'Operation', get: (o) => link(`#/operations/${encodeURIComponent(o.operation_id)}`, o.operation_id, { class: 'mono' }) },
          { label: 'Function', get: (o) => `${o.function?.name}@${o.function?.version}` },
          { label: 'Type', get: (o) => o.operation_type },
          { label: 'Status', get: (o) => h('span', { class: `status ${o.status}`, 'data-status-of': o.operation_id }, o.status) },
          { label: 'Host', get: (o) => o.worker_id ?? '–' },
          { label: 'Progress', get: progressBar },
          { label: 'Created', get: (o) => h('span', { title: when(o.created_at) }, ago(o.created_at)) },
          { label: 'Took', get: (o) => (o.completed_at ? duration((Date.parse(o.completed_at) - Date.parse(o.created_at)) / 1000) : '–') },
          { label: '', get: (o) => [viewLink(o), ' ', cancelButton(o, load)] },
        ],
        page.items,
        { empty: 'No operation matches.' },
      ),
      h(
        'div',
        { class: 'pager' },
        h(
          'button',
          { type: 'button', disabled: filter.offset === 0, onclick: () => go({ offset: Math.max(0, filter.offset - PAGE) }) },
          '← Newer',
        ),
        h('button', { type: 'button', disabled: to >= page.total, onclick: () => go({ offset: filter.offset + PAGE }) }, 'Older →'),
      ),
    )
    updateCompare()
    el.dataset.ready = 'operations'
  }

  await load()
  every(5000, signal, () => load().catch(() => {}))
}

/** One operation: its state (live until it ends), input, result or error, logs, cancel. */
async function mountOne(el, id, { signal, refresh }) {
  const op = await api.operation(id)
  if (signal.aborted) return
  const logs = h('pre', { class: 'logs', hidden: true })
  const showLogs = async () => {
    logs.hidden = false
    logs.textContent = 'Loading…'
    try {
      const body = await get(api.logsUrl(id), { signal })
      const lines = Array.isArray(body) ? body : (body?.data ?? body?.lines ?? body?.logs ?? [])
      logs.textContent = lines.length
        ? lines
            .map((l) => (typeof l === 'string' ? l : `${l.time ?? l.at ?? ''} ${l.level ?? ''} ${l.message ?? JSON.stringify(l)}`))
            .join('\n')
        : 'No log lines.'
    } catch (error) {
      logs.textContent =
        error instanceof ApiError && error.status === 404 && error.code === 'ROUTE_NOT_FOUND'
          ? 'This gateway has no logs API.'
          : `Logs: ${error.message}`
    }
  }
  fill(
    el,
    h(
      'header',
      { class: 'page-head' },
      h('h2', { class: 'mono' }, op.operation_id),
      h(
        'p',
        { class: 'sub' },
        `${op.function?.name}@${op.function?.version} (${op.function?.requested}) · ${op.operation_type} · attempt ${op.attempts}/${op.max_attempts} · host ${op.worker_id ?? '–'}`,
      ),
    ),
    h('p', {}, h('span', { class: `status ${op.status}`, 'data-status-of': op.operation_id }, op.status), ' ', progressBar(op)),
    h(
      'p',
      { class: 'actions' },
      viewLink(op),
      ' ',
      cancelButton(op, refresh),
      ' ',
      h('button', { type: 'button', class: 'small', onclick: showLogs }, 'Logs'),
    ),
    logs,
    op.error ? h('div', { class: 'error' }, `${op.error.code ?? ''} ${op.error.message}`) : null,
    h('h3', {}, 'Timings'),
    table(
      [
        { label: 'Mark', get: (r) => r[0] },
        { label: 'At', get: (r) => when(r[1]) },
      ],
      Object.entries(op.timings ?? {}),
    ),
    h('h3', {}, 'Input'),
    h('pre', {}, JSON.stringify(op.input, null, 2)),
    op.result ? h('details', {}, h('summary', {}, 'Result (JSON)'), h('pre', {}, JSON.stringify(op.result, null, 2))) : null,
  )
  el.dataset.ready = 'operation'
  if (isLive(op)) createLive({ signal, onEnd: refresh }).sync([{ ...op, status: 'running' }])
}
