// The store-level suites of the gateway (operations, registry, secrets, retention) on a real
// PostgreSQL, started here on a loopback port (test/_pg.ts): the same cases as the unit tier runs
// on SQLite. Skipped with the reason where PostgreSQL is not installed or cannot start.
import { afterAll, describe, it } from 'vitest'
import { postgresSkipReason, startTestPostgres } from '../../../test/kit/index.ts'
import { describeRegistry } from '../registry/test/_registry-cases.ts'
import { postgresBackend } from './_backends.ts'
import { describeRetention } from './_retention-cases.ts'
import { describeSecretStores } from './_secrets-cases.ts'
import { describeOperationStore } from './_store-cases.ts'

const server = await startTestPostgres()
afterAll(async () => {
  await server?.stop()
})

if (server) {
  const backend = postgresBackend(server)
  describeOperationStore(backend)
  describeRegistry(backend)
  describeSecretStores(backend)
  describeRetention(backend)
} else {
  describe.skip(`gateway stores on PostgreSQL: ${postgresSkipReason()}`, () => {
    it('needs PostgreSQL', () => {})
  })
}
