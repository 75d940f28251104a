// Operations retention: the options here; the purge itself on SQLite (_retention-cases.ts, also run
// on PostgreSQL by postgres.cluster.test.ts).
import { describe, expect, it } from 'vitest'
import { resolveGatewayOptions } from '../_options.ts'
import { sqliteBackend } from './_backends.ts'
import { describeRetention } from './_retention-cases.ts'

describe('operations retention', () => {
  it('resolves days from config > KTRDR_OPERATIONS_RETENTION_DAYS > 30; bad values are refused', () => {
    expect(resolveGatewayOptions({}, {}).retention).toEqual({ days: 30, intervalMs: 3_600_000 })
    expect(resolveGatewayOptions({}, { KTRDR_OPERATIONS_RETENTION_DAYS: '0' }).retention.days).toBe(0)
    expect(resolveGatewayOptions({ retention: { days: 2 } }, { KTRDR_OPERATIONS_RETENTION_DAYS: '7' }).retention.days).toBe(2)
    expect(() => resolveGatewayOptions({}, { KTRDR_OPERATIONS_RETENTION_DAYS: 'soon' })).toThrow(/KTRDR_OPERATIONS_RETENTION_DAYS/)
  })
})

describeRetention(sqliteBackend)
