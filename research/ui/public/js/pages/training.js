import { api } from 'ktrdr/api.js'
import { loadView } from 'ktrdr/pages/_views.js'
import { clear } from 'ktrdr/dom.js'

export async function mount(el, route, { signal }) {
  const [results, { renderTraining }] = await Promise.all([api.results(route.id), loadView('training')])
  if (signal.aborted) return
  renderTraining(clear(el), { result: results.results ?? {}, operationId: route.id })
}
