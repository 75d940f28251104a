// Functions: versions (immutable, content-addressed), aliases and canary weights, where each is warm.
import { api } from 'ktrdr/api.js'
import { fill, h, table } from 'ktrdr/dom.js'
import { bytes, when } from 'ktrdr/format.js'

function routes(alias) {
  return h(
    'div',
    { class: 'weights', 'data-alias': alias.alias },
    alias.routes.map((r) =>
      h(
        'span',
        { class: 'weight', style: `flex:${Math.max(r.weight, 1)}`, title: `v${r.version}: ${r.weight}%` },
        `v${r.version} ${r.weight}%`,
      ),
    ),
  )
}

export async function mount(el, _route, { signal }) {
  const fns = await api.functions()
  const details = await Promise.all(fns.items.map((f) => api.fn(f.name, { signal })))
  if (signal.aborted) return
  fill(
    el,
    h(
      'header',
      { class: 'page-head' },
      h('h2', {}, 'Functions'),
      h('p', { class: 'sub' }, 'Versions are immutable (sha256); aliases route by weight, a canary is two or more routes.'),
    ),
    fns.items.length ? null : h('p', { class: 'empty' }, 'No function deployed: `ktrdr fn deploy <name>`.'),
    ...details.map((fn) =>
      h(
        'section',
        { class: 'function', id: `fn-${fn.name}`, 'data-function': fn.name },
        h('h3', {}, fn.name, h('small', {}, ` ${fn.versions.length} versions`)),
        h(
          'div',
          { class: 'aliases' },
          fn.aliases.map((a) =>
            h('div', { class: 'alias' }, h('strong', {}, a.alias), routes(a), h('small', {}, `updated ${when(a.updated_at)}`)),
          ),
        ),
        table(
          [
            { label: 'Version', get: (v) => `v${v.version}`, class: 'num' },
            { label: 'sha256', get: (v) => h('span', { class: 'mono', title: v.sha256 }, v.sha256.slice(0, 12)) },
            { label: 'Size', get: (v) => bytes(v.size), class: 'num' },
            { label: 'Built from', get: (v) => (v.source_commit ? v.source_commit.slice(0, 10) : '–') },
            { label: 'Published', get: (v) => when(v.created_at) },
            {
              label: 'Aliases',
              get: (v) =>
                fn.aliases
                  .filter((a) => a.routes.some((r) => r.version === v.version))
                  .map((a) => h('span', { class: 'badge light' }, a.alias)),
            },
            { label: 'Warm on', get: (v) => (v.warm_hosts ?? []).join(', ') || '–' },
            { label: 'Timeout', get: (v) => `${v.manifest?.timeout_seconds ?? '?'} s`, class: 'num' },
          ],
          [...fn.versions].sort((a, b) => b.version - a.version),
        ),
      ),
    ),
  )
  el.dataset.ready = 'functions'
}
