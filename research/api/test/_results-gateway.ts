// A gateway with the research routes and one fake host that answers an invocation whose input is
// `{result_for: key}` with what the test put under `key` in `results` (any other input is echoed):
// results shaped like the functions' own, without running them. The functions' input checks are
// left out of the routes so that such stand-in inputs are accepted.
import { startFakeHost, startTestGateway } from '../../../test/kit/index.ts'
import { researchInvokeChecks, researchRoutes } from '../../index.ts'

export async function startResultsGateway(workerId: string) {
  const results = new Map<string, unknown>()
  const g = await startTestGateway({ routes: researchRoutes.filter((r) => r !== researchInvokeChecks) })
  const host = await startFakeHost({
    gatewayUrl: g.url,
    workerId,
    capabilities: { slots: 4 },
    outcome: (req) => ({ result: results.get((req.input as { result_for?: string }).result_for ?? '') ?? { echo: req.input } }),
  })
  return {
    g,
    results,
    async close() {
      await host.close()
      await g.close()
    },
  }
}
