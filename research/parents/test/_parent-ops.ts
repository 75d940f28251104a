// A parent operation (sweep, walk-forward) read over its routes, as their tests follow it.
import type { Operation } from '../../../runtime/protocol/index.ts'
import { until } from '../../../test/kit/index.ts'
import type { startWalkForwardGateway } from './_fake-cluster.ts'

type G = Pick<Awaited<ReturnType<typeof startWalkForwardGateway>>, 'api'>

const ENDED = new Set(['completed', 'failed', 'cancelled'])

/** `of`: the record; `finished`: the record once it has ended (30 s at most); `childrenOf`: its children. */
export function parentOps(route: 'sweeps' | 'walkforward') {
  const of = (g: G, id: string) => g.api<{ data: any }>(`/api/v1/${route}/${id}`).then((r) => r.body.data)
  const finished = (g: G, id: string) =>
    until(async () => {
      const p = await of(g, id)
      return ENDED.has(p.status) ? p : null
    }, 30_000)
  const childrenOf = async (g: G, id: string) =>
    (await g.api<{ data: Operation[] }>(`/api/v1/operations/${id}/children?limit=1000`)).body.data
  return { of, finished, childrenOf }
}
