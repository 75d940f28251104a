// The dashboard's one way to the gateway: every request, the token, list envelopes and SSE.
// Keep response-shape knowledge here, so a changed envelope is a change to this file only.

const TOKEN_KEY = 'ktrdr.apiToken'

export const token = {
  get: () => localStorage.getItem(TOKEN_KEY) || '',
  set: (value) => (value ? localStorage.setItem(TOKEN_KEY, value) : localStorage.removeItem(TOKEN_KEY)),
}

/** An API error with the gateway's code and message (docs/architecture.md: one error shape). */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`)
    this.status = status
    this.code = body?.code || null
    this.body = body
  }
}

/** Listeners for "the token is missing or wrong" (the shell asks for it). */
const unauthorized = new Set()
export const onUnauthorized = (fn) => (unauthorized.add(fn), () => unauthorized.delete(fn))

function headers(extra = {}) {
  const t = token.get()
  return { accept: 'application/json', ...(t ? { authorization: `Bearer ${t}` } : {}), ...extra }
}

export async function request(method, path, body, { signal } = {}) {
  const res = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  })
  const text = await res.text()
  let data = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = { message: text.slice(0, 200) }
  }
  if (res.status === 401) for (const fn of unauthorized) fn()
  if (!res.ok) throw new ApiError(res.status, data)
  return data
}

export const get = (path, opts) => request('GET', path, undefined, opts)
export const post = (path, body, opts) => request('POST', path, body ?? {}, opts)
export const del = (path, body, opts) => request('DELETE', path, body ?? {}, opts)

/**
 * A list route's items and total, whatever its envelope: a bare array, `{data, total_count}` or
 * `{workers}`/`{items}`.
 */
export function items(body) {
  if (Array.isArray(body)) return { items: body, total: body.length }
  const list = body?.data ?? body?.items ?? body?.workers ?? []
  return {
    items: Array.isArray(list) ? list : [],
    total: body?.total_count ?? body?.total ?? (Array.isArray(list) ? list.length : 0),
    body,
  }
}

export const list = async (path, opts) => items(await get(path, opts))

const q = (params) => {
  const s = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString()
  return s ? `?${s}` : ''
}
const enc = encodeURIComponent

export const api = {
  workers: () => list('/api/v1/workers'),
  operations: (params = {}) => list(`/api/v1/operations${q(params)}`),
  operation: (id) => get(`/api/v1/operations/${enc(id)}`),
  cancel: (id) => del(`/api/v1/operations/${enc(id)}`, { reason: 'Cancelled from the dashboard' }),
  results: (id) => get(`/api/v1/operations/${enc(id)}/results`),
  logsUrl: (id) => `/api/v1/operations/${enc(id)}/logs`,
  functions: () => list('/api/v1/functions'),
  fn: (name) => get(`/api/v1/functions/${enc(name)}`),
  chart: (id, params = {}) => get(`/api/v1/backtests/${enc(id)}/chart${q(params)}`),
  compare: (ids) => get(`/api/v1/compare${q({ ids: ids.join(',') })}`),
  models: () => list('/api/v1/models'),
  walkforwards: (params = {}) => list(`/api/v1/walkforward${q(params)}`),
  walkforward: async (id) => (await get(`/api/v1/walkforward/${enc(id)}`)).data,
  /** One symbol's stitched out-of-sample curve, decimated by the gateway (`max_points`, min/max per bucket). */
  walkforwardEquity: (id, params = {}) => get(`/api/v1/walkforward/${enc(id)}/equity${q(params)}`),
}

/**
 * Follows an operation over GET /api/v1/operations/:id/events (the current state, each change,
 * then the final state). EventSource cannot send the bearer token, so this reads the stream with
 * fetch. `onOp(op, eventName)` for each event; resolves with the last state when the stream ends.
 */
export const follow = (id, onOp, signal) => followStream(`/api/v1/operations/${enc(id)}/events`, onOp, signal)

/** Follows any event stream of the gateway whose events carry JSON (an operation's, a walk-forward's). */
export async function followStream(path, onEvent, signal) {
  const res = await fetch(path, { headers: headers({ accept: 'text/event-stream' }), signal })
  if (res.status === 401) for (const fn of unauthorized) fn()
  if (!res.ok || !res.body) throw new ApiError(res.status, await res.json().catch(() => null))
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  let last = null
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return last
    buffer += value
    let end
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let name = 'message'
      const data = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
      }
      if (!data.length) continue
      last = JSON.parse(data.join('\n'))
      onEvent(last, name)
    }
  }
}
