// Cluster: hosts with their capabilities, slots and status, what runs where (live), the queue.
import { api } from 'ktrdr/api.js'
import { fill, h, link, table } from 'ktrdr/dom.js'
import { ago, fixed, when } from 'ktrdr/format.js'
import { createLive, every, progressBar } from 'ktrdr/pages/_live.js'

const opLink = (id) => link(`#/operations/${encodeURIComponent(id)}`, id, { class: 'mono' })
const status = (op) => h('span', { class: `status ${op.status}`, 'data-status-of': op.operation_id }, op.status)

function capabilities(w) {
  const c = w.capabilities ?? {}
  return [
    `${c.cores ?? '?'} cores, ${fixed(c.memory_gb, 0)} GB`,
    c.gpu ? h('span', { class: 'badge' }, `GPU${c.gpu_name ? ` ${c.gpu_name}` : ''}`) : null,
    c.ib ? h('span', { class: 'badge' }, 'IB') : null,
    c.llm ? h('span', { class: 'badge' }, 'LLM') : null,
    ...(c.labels ?? []).map((l) => h('span', { class: 'badge light' }, l)),
  ]
}

export async function mount(el, _route, { signal }) {
  const live = createLive({ signal, onEnd: () => load() })
  let loading = null
  const load = () =>
    (loading ??= (async () => {
      try {
        const [workers, active, recent] = await Promise.all([
          api.workers(),
          api.operations({ status: 'pending,running', limit: 100 }),
          api.operations({ limit: 10 }),
        ])
        if (signal.aborted) return
        render(el, workers.items, active, recent.items)
        live.sync(active.items)
      } finally {
        loading = null
      }
    })())
  await load()
  every(5000, signal, () => load().catch(() => {}))
}

function render(el, workers, active, recent) {
  const byId = new Map(active.items.map((o) => [o.operation_id, o]))
  const slots = workers.reduce((a, w) => a + (w.capabilities?.slots ?? 1), 0)
  const free = workers.reduce((a, w) => a + (w.metadata?.free_slots ?? 0), 0)
  const count = (s) => workers.filter((w) => w.status === s).length
  const running = active.items.filter((o) => o.status === 'running')
  const pending = active.items.filter((o) => o.status === 'pending')
  fill(
    el,
    h(
      'header',
      { class: 'page-head' },
      h('h2', {}, 'Cluster'),
      h('p', { class: 'sub' }, `Updated ${when(new Date().toISOString())}; running operations update live.`),
    ),
    h(
      'div',
      { class: 'tiles' },
      tile(
        'Hosts',
        workers.length,
        `${count('AVAILABLE')} available · ${count('BUSY')} busy · ${count('TEMPORARILY_UNAVAILABLE')} unavailable`,
      ),
      tile('Slots in use', `${slots - free} / ${slots}`, `${free} free`),
      tile('Running', running.length, running.length ? `on ${new Set(running.map((o) => o.worker_id)).size} hosts` : 'nothing'),
      tile('Queued', pending.length, pending.length ? `oldest ${ago(pending.at(-1)?.created_at)}` : 'empty queue'),
    ),
    h('h3', {}, 'Hosts'),
    table(
      [
        { label: 'Host', get: (w) => h('span', { class: 'mono' }, w.worker_id) },
        { label: 'Type', get: (w) => w.worker_type },
        {
          label: 'Status',
          get: (w) => h('span', { class: `status ${w.status}` }, w.metadata?.draining ? `${w.status} (draining)` : w.status),
        },
        {
          label: 'Slots',
          get: (w) => `${(w.capabilities?.slots ?? 1) - (w.metadata?.free_slots ?? 0)} / ${w.capabilities?.slots ?? 1}`,
          class: 'num',
        },
        { label: 'Capabilities', get: capabilities },
        {
          label: 'Running',
          get: (w) =>
            (w.metadata?.current_operations ?? []).map((id) =>
              h('div', { class: 'running' }, opLink(id), byId.has(id) ? progressBar(byId.get(id)) : null),
            ),
        },
        { label: 'Warm bundles', get: (w) => fixed((w.metadata?.warm_bundles ?? []).length, 0), class: 'num' },
        { label: 'Heartbeat', get: (w) => ago(w.last_heartbeat_at ?? w.last_healthy_at) },
        { label: 'Endpoint', get: (w) => h('span', { class: 'mono small' }, w.endpoint_url) },
      ],
      workers,
      { empty: 'No hosts registered. Start some with `ktrdr up` or `ktrdr host`.' },
    ),
    h('h3', {}, `Running and queued (${active.total})`),
    table(
      [
        { label: 'Operation', get: (o) => opLink(o.operation_id) },
        { label: 'Function', get: (o) => `${o.function?.name}@${o.function?.version}` },
        { label: 'Status', get: status },
        { label: 'Host', get: (o) => o.worker_id ?? '–' },
        { label: 'Progress', get: progressBar },
        { label: 'Queued', get: (o) => ago(o.created_at) },
      ],
      active.items,
      { empty: 'Nothing running or queued.' },
    ),
    h('h3', {}, 'Latest operations'),
    table(
      [
        { label: 'Operation', get: (o) => opLink(o.operation_id) },
        { label: 'Function', get: (o) => `${o.function?.name}@${o.function?.version}` },
        { label: 'Status', get: status },
        { label: 'Host', get: (o) => o.worker_id ?? '–' },
        { label: 'Created', get: (o) => ago(o.created_at) },
      ],
      recent,
      { empty: 'No operations yet.' },
    ),
  )
  el.dataset.ready = 'cluster'
}

const tile = (label, value, sub) =>
  h('div', { class: 'tile' }, h('span', { class: 'label' }, label), h('strong', {}, String(value)), h('small', {}, sub))
