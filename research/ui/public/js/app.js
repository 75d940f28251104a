// The dashboard's shell: navigation, hash routes (#/page/id?params), the API token, page mounting.
import { onUnauthorized, token } from 'ktrdr/api.js'
import { clear, fill, h } from 'ktrdr/dom.js'
// The landing page comes with the shell: importing it on demand cost a first load ~70 ms on a 2-core
// machine (the page's API calls went out only after one more module round trip; BENCHMARKS.md, Dashboard).
import * as clusterPage from 'ktrdr/pages/cluster.js'

const PAGES = {
  cluster: { title: 'Cluster', load: () => clusterPage },
  operations: { title: 'Operations', load: () => import('ktrdr/pages/operations.js') },
  functions: { title: 'Functions', load: () => import('ktrdr/pages/functions.js') },
  backtests: { title: 'Backtest', load: () => import('ktrdr/pages/backtest.js'), hidden: true },
  trainings: { title: 'Training', load: () => import('ktrdr/pages/training.js'), hidden: true },
  compare: { title: 'Compare', load: () => import('ktrdr/pages/compare.js') },
  walkforward: { title: 'Walk-forward', load: () => import('ktrdr/pages/walkforward.js') },
}

/** `#/operations/op_x?status=running` → {page, id, params}. */
export function parseRoute(hash = location.hash) {
  const [path, query = ''] = hash.replace(/^#\/?/, '').split('?')
  const [page, ...rest] = path.split('/').map(decodeURIComponent)
  return { page: PAGES[page] ? page : 'cluster', id: rest.join('/') || null, params: new URLSearchParams(query) }
}

const main = document.querySelector('main')
const nav = document.querySelector('nav')
let current = null

function renderNav(active) {
  clear(nav).append(
    h('a', { class: 'brand', href: '#/cluster' }, 'KTRDR'),
    ...Object.entries(PAGES)
      .filter(([, p]) => !p.hidden)
      .map(([name, p]) => h('a', { href: `#/${name}`, class: name === active ? 'active' : '' }, p.title)),
    h('span', { class: 'spacer' }),
    h('button', { class: 'link', type: 'button', onclick: () => askToken('') }, token.get() ? 'API token ✓' : 'API token'),
  )
}

async function show() {
  current?.abort()
  const controller = new AbortController()
  current = controller
  const route = parseRoute()
  renderNav(route.page)
  document.title = `${PAGES[route.page].title}${route.id ? ` ${route.id}` : ''} · KTRDR`
  const el = clear(main)
  delete el.dataset.ready
  el.append(h('p', { class: 'loading' }, 'Loading…'))
  try {
    const mod = await PAGES[route.page].load()
    if (controller.signal.aborted) return
    await mod.mount(el, route, { signal: controller.signal, refresh: show })
    // What `npm run bench` reads: navigation start → this page drawn.
    if (!controller.signal.aborted) performance.mark(`ktrdr:ready:${route.page}`)
  } catch (error) {
    if (controller.signal.aborted || error.name === 'AbortError') return
    fill(
      el,
      h(
        'div',
        { class: 'error', 'data-testid': 'error' },
        error.status ? `${error.status} ${error.code ?? ''}: ${error.message}` : error.message,
      ),
    )
  }
}

/** The token form: shown when the gateway answers 401, or from the nav. Kept in localStorage. */
function askToken(message = 'The gateway wants an API token (KTRDR_API_TOKEN).') {
  if (document.querySelector('dialog.token')) return
  const input = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'current-password',
    placeholder: 'KTRDR_API_TOKEN',
    value: token.get(),
  })
  const dialog = h(
    'dialog',
    { class: 'token' },
    h(
      'form',
      {
        method: 'dialog',
        onsubmit: () => {
          token.set(input.value.trim())
          queueMicrotask(() => {
            dialog.remove()
            show()
          })
        },
      },
      h('p', {}, message || 'API token for this gateway (sent as a bearer token; kept in this browser only).'),
      input,
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'submit' }, 'Use token'),
        h('button', { type: 'button', class: 'link', onclick: () => dialog.remove() }, 'Cancel'),
      ),
    ),
  )
  document.body.append(dialog)
  dialog.showModal()
  input.focus()
}

onUnauthorized(() => askToken())
addEventListener('hashchange', show)
show()
