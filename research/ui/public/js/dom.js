// A tiny element builder: text always goes in as text (never parsed as HTML), so nothing the API
// returns can inject markup.

/** h('a', {href, class, onclick, dataset: {...}}, 'text', child, [children]) */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') el.className = v
    else if (k === 'dataset') Object.assign(el.dataset, v)
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
    else if (k in el && typeof v !== 'string') el[k] = v
    else el.setAttribute(k, v === true ? '' : String(v))
  }
  append(el, children)
  return el
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
  return el
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove()
  return el
}

/** A table from column specs `{label, get(row) → node|text, class?}`. */
export function table(columns, rows, { empty = 'Nothing here yet', rowProps } = {}) {
  if (!rows.length) return h('p', { class: 'empty' }, empty)
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        columns.map((c) => h('th', { class: c.class }, c.label)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((r) =>
        h(
          'tr',
          rowProps?.(r) ?? {},
          columns.map((c) => h('td', { class: c.class }, c.get(r))),
        ),
      ),
    ),
  )
}

export const link = (href, text, props = {}) => h('a', { href, ...props }, text)

/** Replaces the children of `el` (null, false and undefined children are skipped). */
export const fill = (el, ...children) => append(clear(el), children)
