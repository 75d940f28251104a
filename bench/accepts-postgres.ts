// Durable accepts/s of the gateway on SQLite vs PostgreSQL: 16 concurrent clients POST invocations
// (no host registered, so every one is queued and committed before its 202) for a fixed time.
// PostgreSQL is a throwaway server on loopback (test/_pg.ts) with its default durability (fsync,
// synchronous_commit on). Run: node ./bin/run-ts.mjs bench/accepts-postgres.ts [seconds]
import { postgresBackend } from '../runtime/gateway/test/_backends.ts'
import { startTestGateway } from '../test/kit/index.ts'
import { startTestPostgres } from '../test/_pg.ts'

const seconds = Number(process.argv[2] ?? 5)
const CONCURRENCY = 16

async function run(label: string, config: Parameters<typeof startTestGateway>[0]) {
  const g = await startTestGateway(config)
  const body = JSON.stringify({ input: {} })
  let accepted = 0
  const until = Date.now() + seconds * 1000
  const client = async () => {
    while (Date.now() < until) {
      const res = await fetch(`${g.url}/api/v1/functions/echo/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      if (res.status !== 202) throw new Error(`HTTP ${res.status}: ${await res.text()}`)
      await res.arrayBuffer()
      accepted++
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, client))
  const elapsed = (performance.now() - t0) / 1000
  await g.close()
  console.log(
    `${label}: ${accepted} accepted in ${elapsed.toFixed(1)} s = ${Math.round(accepted / elapsed)} durable accepts/s (c=${CONCURRENCY})`,
  )
}

// Alternating rounds: the machine's load and the first round's warm-up hit both backends alike.
const pg = await startTestPostgres()
try {
  for (let round = 1; round <= 3; round++) {
    await run(`round ${round} sqlite`, {})
    if (pg) await run(`round ${round} postgresql`, (await postgresBackend(pg).fresh('')).gateway)
  }
} finally {
  await pg?.stop()
}
