// The walk-forward with fake functions on the gateway's SQLite (the same cases run on PostgreSQL
// in postgres.cluster.test.ts).
import { describeWalkForward } from './_walkforward-cases.ts'

describeWalkForward({ name: 'sqlite', fresh: async () => ({}) })
