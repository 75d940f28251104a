// The walk-forward's cases on a real PostgreSQL (test/_pg.ts starts one on loopback): its table
// (research_parents) and the children filter in the dialect-neutral SQL the gateway's store uses.
// Skipped with the reason where PostgreSQL is not installed.
import { afterAll, describe, it } from 'vitest'
import { postgresSkipReason, startTestPostgres } from '../../../test/kit/index.ts'
import { describeWalkForward } from './_walkforward-cases.ts'

const server = await startTestPostgres()
afterAll(async () => {
  await server?.stop()
})

if (server) {
  // A PostgreSQL gateway needs a secrets key (a pair of gateways decrypts the same secrets).
  describeWalkForward({
    name: 'postgresql',
    fresh: async () => ({ databaseUrl: await server.createDatabase(), secretsKey: 'cd'.repeat(32) }),
  })
} else {
  describe.skip(`walk-forward on PostgreSQL: ${postgresSkipReason()}`, () => {
    it('needs PostgreSQL', () => {})
  })
}
