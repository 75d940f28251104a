import { KtrdrError } from '../protocol/index.ts'
import type { SqlClient } from './_sql.ts'

/** Where the leader epoch fences writes (PostgreSQL pair): the epoch this gateway took over at, and what to do once it is stale. */
export interface WriteFence {
  epoch: number
  onFenced(): void
}

export function notActiveError(epoch: number | null): KtrdrError {
  return new KtrdrError({
    code: 'GATEWAY_NOT_ACTIVE',
    message: `This gateway is no longer the active one (another gateway took over at a newer epoch than ${epoch}): retry against the active gateway`,
  })
}

/**
 * The registry's, the secrets' and the host secrets' writes under the same fence as the operation
 * store's batches (_store-postgres.ts): each runs in a transaction that first takes the leader row
 * FOR SHARE at this gateway's epoch, so a gateway that lost the lock without noticing cannot, for
 * instance, issue a host secret the new active never learns of. These writes are rare (a publish,
 * a registration), so the two extra round trips do not matter; reads are not fenced.
 */
export function fenceWrites(sql: SqlClient, fence: WriteFence): SqlClient {
  const transaction: SqlClient['transaction'] = (fn) =>
    sql.transaction(async (tx) => {
      if (!(await tx.get('SELECT epoch FROM ktrdr_leader WHERE id = 1 AND epoch = ? FOR SHARE', [fence.epoch]))) {
        fence.onFenced()
        throw notActiveError(fence.epoch)
      }
      return fn(tx)
    })
  return {
    dialect: sql.dialect,
    all: (text, params) => sql.all(text, params),
    get: (text, params) => sql.get(text, params),
    exec: (text) => sql.exec(text),
    run: (text, params) => transaction((tx) => tx.run(text, params)),
    transaction,
  }
}
