import { api } from 'ktrdr/api.js'
import { clear } from 'ktrdr/dom.js'
import { renderTraining } from 'ktrdr/views/training.js'

export async function mount(el, route, { signal }) {
  const results = await api.results(route.id)
  if (signal.aborted) return
  renderTraining(clear(el), { result: results.results ?? {}, operationId: route.id })
}
