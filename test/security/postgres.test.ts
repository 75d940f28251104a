// An active/standby pair of gateways on a real PostgreSQL (started here, see test/_pg.ts): the
// advisory lock, the standby's answers, a takeover that keeps the queue and the secrets, the write
// fence, and a SIGKILL of the active gateway under load with nothing acknowledged lost. The
// store-level cases on PostgreSQL are runtime/gateway/test/postgres.cluster.test.ts.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { HOST_SECRET_HEADER, type Operation } from '../../runtime/protocol/index.ts'
import { openGatewayDatabase } from '../../runtime/gateway/_db.ts'
import { fenceWrites } from '../../runtime/gateway/_fence.ts'
import { createHostSecrets } from '../../runtime/gateway/_host-secrets.ts'
import { createOperationStore } from '../../runtime/gateway/_store.ts'
import { stored } from '../../runtime/gateway/test/_store-cases.ts'
import { createHost } from '../../runtime/host/index.ts'
import { buildEcho, publish, startTestGateway, until } from '../kit/index.ts'
import { freePort, spawnKtrdr, type KtrdrChild } from '../cluster/_cluster.ts'
import { startTestPostgres } from '../_pg.ts'

const server = await startTestPostgres()
// Both gateways of a pair decrypt the same function secrets: one key for both (required on PostgreSQL).
const SECRETS_KEY = 'ab'.repeat(32)
afterAll(async () => {
  await server?.stop()
})

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'ktrdr-pgtest-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

describe.skipIf(!server)('active/standby gateways on PostgreSQL', () => {
  it('refuses a KTRDR_DATABASE_URL that is not postgres:// with a clear CONFIG_INVALID', async () => {
    await expect(startTestGateway({ databaseUrl: 'mysql://x@127.0.0.1/db' })).rejects.toMatchObject({
      statusCode: 500,
      code: 'CONFIG_INVALID',
    })
    // Without one shared key the standby could not read the function secrets the active stored.
    await expect(startTestGateway({ databaseUrl: server!.adminUrl, secretsKey: null })).rejects.toMatchObject({
      statusCode: 500,
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('KTRDR_SECRETS_KEY'),
    })
  })

  it('the standby answers with its role and the active URL, takes over when the lock holder dies, and reloads the queue', async () => {
    const url = await server!.createDatabase()
    const a = await startTestGateway({ databaseUrl: url, secretsKey: SECRETS_KEY })
    cleanups.push(() => a.close())
    const b = await startTestGateway({ databaseUrl: url, secretsKey: SECRETS_KEY, leader: { retryMs: 1000, checkMs: 500 } })
    cleanups.push(() => b.close())
    expect(a.gateway.role).toBe('active')
    expect(b.gateway.role).toBe('standby')
    expect((await a.api('/health')).body).toMatchObject({ role: 'active' })
    expect((await b.api('/health')).body).toMatchObject({ role: 'standby', active: { url: a.url } })
    const refused = await b.api('/api/v1/operations')
    expect(refused.status).toBe(503)
    expect(refused.body).toMatchObject({ code: 'GATEWAY_STANDBY', retryable: true, details: { active_url: a.url } })

    const accepted = await a.api('/api/v1/functions/echo/invoke', { body: { input: {} } })
    expect(accepted.status).toBe(202)
    const id = accepted.body.operation_id as string
    // A function secret and a host's id secret, both stored by the active, both needed after a takeover.
    expect((await a.api('/api/v1/functions/echo/secrets/API_KEY', { method: 'PUT', body: { value: 'v-1' } })).status).toBe(200)
    const registration = { worker_id: 'h-pair', worker_type: 'general', endpoint_url: 'http://127.0.0.1:9', capabilities: { slots: 1 } }
    const registered = await a.api('/api/v1/workers/register', { body: registration })
    expect(registered.status).toBe(200)
    const hostSecret = registered.body.host_secret as string
    expect(typeof hostSecret).toBe('string')

    // Kill the lock holder's session from outside, as a dead process's closed socket would end it.
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    cleanups.push(() => admin.end())
    const t0 = Date.now()
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    )
    const services = await Promise.race([
      b.gateway.whenActive(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the standby did not take over within 10 s')), 10_000)),
    ])
    const tookOver = Date.now() - t0
    expect(tookOver).toBeLessThan(5000)
    expect(services.operations.getLive(id)?.op.status).toBe('pending')
    expect((await b.api(`/api/v1/operations/${id}`)).body.status).toBe('pending')
    expect((await b.api('/health')).body).toMatchObject({ role: 'active' })
    expect(services.secrets.forFunction('echo')).toEqual({ API_KEY: 'v-1' })
    // The id stays its host's: another endpoint without the secret is refused, the host with it is back.
    const intruder = await b.api('/api/v1/workers/register', { body: { ...registration, endpoint_url: 'http://127.0.0.1:10' } })
    expect(intruder.body).toMatchObject({ statusCode: 409, code: 'WORKER_ID_TAKEN' })
    const back = await b.api('/api/v1/workers/register', { body: registration, headers: { [HOST_SECRET_HEADER]: hostSecret } })
    expect(back.status).toBe(200)
    expect(back.body.host_secret).toBeUndefined()
    // The former active noticed its lost lock and now points at the new one.
    await until(async () => (await a.api('/health')).body.role === 'standby', 5000, 'the former active to step down')
    await until(
      async () => (await a.api('/api/v1/operations')).body.details?.active_url === b.url,
      5000,
      'the former active to point at the new one',
    )
    expect((await a.api('/api/v1/operations')).body).toMatchObject({ statusCode: 503, code: 'GATEWAY_STANDBY', retryable: true })
    console.info(`[postgres] standby took over ${tookOver} ms after the active's lock session ended`)
  })

  it('a standby with tokens names the active only to a caller with one of them; /health stays public', async () => {
    const url = await server!.createDatabase()
    const tokens = { apiToken: 'api-t', clusterToken: 'cluster-t', secretsKey: SECRETS_KEY }
    const a = await startTestGateway({ databaseUrl: url, ...tokens })
    cleanups.push(() => a.close())
    const b = await startTestGateway({ databaseUrl: url, ...tokens })
    cleanups.push(() => b.close())
    expect(b.gateway.role).toBe('standby')
    const health = await b.api('/health')
    expect(health.body).toMatchObject({ role: 'standby' })
    expect(JSON.stringify(health.body)).not.toContain(a.url)
    expect((await b.api('/health', { headers: { authorization: 'Bearer cluster-t' } })).body).toMatchObject({ active: { url: a.url } })
    for (const path of ['/api/v1/operations', '/api/v1/workers/register', '/api/v1/nowhere']) {
      const anonymous = await b.api(path)
      expect(anonymous.status).toBe(401)
      expect(JSON.stringify(anonymous.body)).not.toContain(a.url)
      for (const token of ['api-t', 'cluster-t']) {
        const named = await b.api(path, { headers: { authorization: `Bearer ${token}` } })
        expect(named.body).toMatchObject({ statusCode: 503, code: 'GATEWAY_STANDBY', details: { active_url: a.url } })
      }
    }
    expect((await b.api('/api/v1/operations', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
  })

  it('fences writes of a gateway whose epoch is no longer current', async () => {
    const db = await openGatewayDatabase({ databaseUrl: await server!.createDatabase(), dbPath: '' })
    cleanups.push(() => db.close())
    let fenced = 0
    const store = await createOperationStore(db, {
      epoch: 0,
      onFenced: () => {
        fenced++
      },
    })
    await store.insertBatched(stored(1))
    // Another gateway takes over.
    await db.sql.run('UPDATE ktrdr_leader SET epoch = epoch + 1 WHERE id = 1')
    await expect(store.insertBatched(stored(2))).rejects.toMatchObject({ statusCode: 503, code: 'GATEWAY_NOT_ACTIVE' })
    const s = (await store.get('op_test_1'))!
    s.op.status = 'cancelled'
    store.update(s)
    await expect(store.flushed()).rejects.toMatchObject({ code: 'GATEWAY_NOT_ACTIVE' })
    expect(fenced).toBe(2)
    expect((await db.sql.get<{ status: string }>('SELECT status FROM operations WHERE operation_id = ?', ['op_test_1']))!.status).toBe(
      'pending',
    )
    expect(await db.sql.get('SELECT 1 FROM operations WHERE operation_id = ?', ['op_test_2'])).toBeUndefined()
    // The registry's and the secrets' writes carry the same fence: a host secret issued by the
    // stale gateway is refused, not left for the new active to trip over.
    const hosts = await createHostSecrets({ ...db, sql: fenceWrites(db.sql, { epoch: 0, onFenced: () => fenced++ }) })
    hosts.issue('stale-host', 'http://127.0.0.1:9')
    await expect(hosts.flushed()).rejects.toMatchObject({ code: 'GATEWAY_NOT_ACTIVE' })
    expect(fenced).toBe(3)
    expect(await db.sql.get('SELECT 1 FROM host_secrets WHERE worker_id = ?', ['stale-host'])).toBeUndefined()
    // At the current epoch the same write goes through.
    const current = await createHostSecrets({ ...db, sql: fenceWrites(db.sql, { epoch: 1, onFenced: () => fenced++ }) })
    current.issue('fresh-host', 'http://127.0.0.1:9')
    await current.flushed()
    expect(await db.sql.get('SELECT worker_id FROM host_secrets WHERE worker_id = ?', ['fresh-host'])).toEqual({ worker_id: 'fresh-host' })
  })

  it('loses nothing acknowledged when the active gateway is SIGKILLed under load: every 202 completes exactly once through the standby', async () => {
    const url = await server!.createDatabase()
    const dir = tempDir()
    const { archive } = await buildEcho(join(dir, 'build'))
    const [portA, portB] = [await freePort(), await freePort()]
    const urlA = `http://127.0.0.1:${portA}`,
      urlB = `http://127.0.0.1:${portB}`
    const env = { KTRDR_DATABASE_URL: url, KTRDR_SECRETS_KEY: SECRETS_KEY, KTRDR_HOME: join(dir, 'home'), KTRDR_HEARTBEAT_INTERVAL: '0.5' }
    const children: KtrdrChild[] = []
    cleanups.push(async () => {
      for (const c of children) await c.kill()
    })
    const gateway = (port: number) => {
      const child = spawnKtrdr(['gateway', '--port', String(port)], env)
      children.push(child)
      return child
    }
    const role = async (base: string) => ((await (await fetch(`${base}/health`)).json()) as { role: string }).role
    const a = gateway(portA)
    await until(async () => (await role(urlA)) === 'active', 20_000, 'gateway A to be active')
    gateway(portB)
    await until(async () => (await role(urlB)) === 'standby', 20_000, 'gateway B to be the standby')
    await publish(urlA, 'echo', archive)

    const host = await createHost({
      apiUrl: `${urlA},${urlB}`,
      port: 0,
      slots: 4,
      detectGpu: false,
      storage: { root: join(dir, 'home') },
      cacheDir: join(dir, 'cache'),
      heartbeatIntervalMs: 500,
      register: { initialDelayMs: 200, maxDelayMs: 1000, timeoutMs: 2000 },
      forwardExecutorOutput: false,
      logLevel: '1',
    })
    cleanups.push(() => host.close())

    // Clients that know both URLs, retry with the same idempotency key, and record every 202.
    const acknowledged = new Set<string>()
    const total = 80
    let nextKey = 0,
      target = urlA,
      killedAt = 0
    let takeover: Promise<number> | null = null
    const invokeOnce = async (key: string): Promise<void> => {
      for (;;) {
        const base = target
        try {
          const res = await fetch(`${base}/api/v1/functions/echo/invoke`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ input: { delay_ms: 100, message: key }, idempotency_key: key }),
          })
          const body = (await res.json()) as { operation_id?: string }
          if (res.status === 202 || res.status === 200) {
            acknowledged.add(body.operation_id!)
            return
          }
          if (res.status !== 503) throw new Error(`invoke ${key}: HTTP ${res.status} ${JSON.stringify(body)}`)
        } catch (error) {
          if ((error as Error).message.startsWith('invoke ')) throw error
        }
        if (target === base) target = base === urlA ? urlB : urlA
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    const worker = async () => {
      while (nextKey < total) {
        const key = `k-${nextKey++}`
        await invokeOnce(key)
        if (acknowledged.size >= 30 && !killedAt) {
          killedAt = Date.now()
          await a.kill('SIGKILL')
          takeover = until(async () => (await role(urlB)) === 'active', 20_000, 'gateway B to take over', 20).then(
            () => Date.now() - killedAt,
          )
        }
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))
    expect(killedAt).toBeGreaterThan(0)
    expect(acknowledged.size).toBe(total)
    // Lock retry (1 s) + loading the queue; generous margin for a loaded 2-core machine.
    const failover = await takeover!
    expect(failover).toBeLessThan(10_000)

    const ops = new Map<string, Operation>()
    await until(
      async () => {
        for (const id of acknowledged) {
          if (ops.get(id)?.status === 'completed') continue
          const res = await fetch(`${urlB}/api/v1/operations/${id}`)
          if (res.ok) ops.set(id, (await res.json()) as Operation)
        }
        return [...acknowledged].every((id) => ops.get(id)?.status === 'completed')
      },
      60_000,
      'every acknowledged operation to complete',
      200,
    )
    for (const id of acknowledged) {
      const op = ops.get(id)!
      // max_attempts 1: a second run would have needed attempt 2; the result is this operation's own.
      expect(op).toMatchObject({ status: 'completed', attempts: 1 })
      expect((op.result as { operation_id: string }).operation_id).toBe(id)
    }
    // One row per idempotency key: no duplicate operation was created by a client retry.
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    const { rows } = await admin.query<{ n: number; keys: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT idempotency_key)::int AS keys FROM operations`,
    )
    await admin.end()
    expect(rows[0]).toEqual({ n: total, keys: total })
    console.info(
      `[postgres] SIGKILL of the active gateway: standby active within ${failover} ms; ${acknowledged.size} acknowledged, all completed once`,
    )
  }, 120_000)
})
