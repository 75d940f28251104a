// The research loop with fake functions on the gateway's SQLite (the same cases run on PostgreSQL
// in postgres.cluster.test.ts).
import { describeResearchLoop } from './_loop-cases.ts'

describeResearchLoop({ name: 'sqlite', fresh: async () => ({}) })
