import { describe, expect, it } from 'vitest'
import { resolveGatewayOptions } from '../index.ts'

describe('resolveGatewayOptions', () => {
  it('defaults: loopback :8000, db under KTRDR_HOME, the guide health numbers', () => {
    const o = resolveGatewayOptions({}, { KTRDR_HOME: '/tmp/kh' })
    expect([o.host, o.port, o.dbPath]).toEqual(['127.0.0.1', 8000, '/tmp/kh/gateway.db'])
    expect(o.health).toMatchObject({ intervalMs: 10_000, timeoutMs: 5000, failures: 3, removalMs: 300_000, heartbeatIntervalMs: 2000 })
    expect(o.queue.maxAttempts).toBe(3)
    expect([o.apiToken, o.clusterToken]).toEqual([null, null])
  })

  it('reads the guide variables (seconds) and tokens from the environment; config wins over env', () => {
    const env = {
      KTRDR_WORKER_HEALTH_CHECK_INTERVAL: '2',
      KTRDR_WORKER_HEALTH_CHECK_TIMEOUT: '0.5',
      KTRDR_WORKER_HEALTH_CHECK_FAILURES: '5',
      KTRDR_WORKER_REMOVAL_THRESHOLD: '60',
      KTRDR_API_TOKEN: 'a',
      KTRDR_CLUSTER_TOKEN: 'c',
      KTRDR_GATEWAY_PORT: '9000',
    }
    const o = resolveGatewayOptions({}, env)
    expect(o.health).toMatchObject({ intervalMs: 2000, timeoutMs: 500, failures: 5, removalMs: 60_000 })
    expect([o.apiToken, o.clusterToken, o.port]).toEqual(['a', 'c', 9000])
    expect(resolveGatewayOptions({ port: 0, apiToken: null }, env)).toMatchObject({ port: 0, apiToken: null })
  })

  it('refuses a non-loopback bind without both tokens unless insecure; rejects nonsense numbers', () => {
    expect(() => resolveGatewayOptions({ host: '0.0.0.0' }, {})).toThrow(/--insecure/)
    expect(() => resolveGatewayOptions({ host: '0.0.0.0' }, { KTRDR_API_TOKEN: 'a' })).toThrow(/KTRDR_CLUSTER_TOKEN/)
    expect(resolveGatewayOptions({ host: '0.0.0.0' }, { KTRDR_API_TOKEN: 'a', KTRDR_CLUSTER_TOKEN: 'c' }).host).toBe('0.0.0.0')
    expect(resolveGatewayOptions({ host: '0.0.0.0', insecure: true }, {}).insecure).toBe(true)
    expect(() => resolveGatewayOptions({}, { KTRDR_WORKER_HEALTH_CHECK_INTERVAL: 'soon' })).toThrow(/KTRDR_WORKER_HEALTH_CHECK_INTERVAL/)
  })
})
