// The operation store on SQLite (the cases run on PostgreSQL too: postgres.cluster.test.ts).
import { sqliteBackend } from './_backends.ts'
import { describeOperationStore } from './_store-cases.ts'

describeOperationStore(sqliteBackend)
