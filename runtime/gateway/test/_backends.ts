// The gateway's two database backends as the store-level tests see them: a fresh, empty database
// that a test can open as often as it restarts, and the config that points a test gateway at it.
import { join } from 'node:path'
import type { TestPostgres } from '../../../test/kit/index.ts'
import { createGatewayDatabase, openGatewayDatabase, type GatewayDatabase } from '../_db.ts'
import type { GatewayConfig } from '../_options.ts'

export interface TestDatabase {
  /** Opens it (again: a restart of the gateway on the same state). */
  open(): Promise<GatewayDatabase>
  /** What startTestGateway needs to use it (SQLite: the file in the gateway's own dir). */
  gateway: Partial<GatewayConfig>
}

export interface TestBackend {
  name: 'sqlite' | 'postgresql'
  /** A new empty database; `dir` is a temp dir the test removes. */
  fresh(dir: string): Promise<TestDatabase>
}

/** Required on PostgreSQL (both gateways of a pair decrypt the same secrets). */
export const TEST_SECRETS_KEY = 'cd'.repeat(32)

export const sqliteBackend: TestBackend = {
  name: 'sqlite',
  async fresh(dir) {
    const file = join(dir, 'gateway.db')
    return { open: () => createGatewayDatabase(file), gateway: { dbPath: file } }
  },
}

export function postgresBackend(server: TestPostgres): TestBackend {
  return {
    name: 'postgresql',
    async fresh() {
      const url = await server.createDatabase()
      return {
        open: () => openGatewayDatabase({ databaseUrl: url, dbPath: '' }),
        gateway: { databaseUrl: url, secretsKey: TEST_SECRETS_KEY },
      }
    },
  }
}
