// `ktrdr gateway --help` lists the deployment guide's health-timing variables with the defaults
// the gateway really uses, and each has a flag.
import { describe, expect, it } from 'vitest'
import { ktrdr } from '../../../test/kit/index.ts'
import { resolveGatewayOptions } from '../../gateway/index.ts'

describe('ktrdr gateway --help', () => {
  it('names every health-timing variable with its default', async () => {
    const { code, stdout, stderr } = await ktrdr(['gateway', '--help'], { env: { NO_COLOR: '1' } })
    expect(code, stderr).toBe(0)
    const help = stdout.replace(/\s+/g, ' ')
    const h = resolveGatewayOptions({}, {}).health
    const expected: Array<[flag: string, variable: string, value: string]> = [
      ['--health-check-interval', 'KTRDR_WORKER_HEALTH_CHECK_INTERVAL', `${h.intervalMs / 1000}`],
      ['--health-check-timeout', 'KTRDR_WORKER_HEALTH_CHECK_TIMEOUT', `${h.timeoutMs / 1000}`],
      ['--health-check-failures', 'KTRDR_WORKER_HEALTH_CHECK_FAILURES', `${h.failures}`],
      ['--removal-threshold', 'KTRDR_WORKER_REMOVAL_THRESHOLD', `${h.removalMs / 1000}`],
      ['--heartbeat-interval', 'KTRDR_HEARTBEAT_INTERVAL', `${h.heartbeatIntervalMs / 1000}`],
    ]
    for (const [flag, variable, value] of expected)
      expect(help).toMatch(new RegExp(`${flag}=<[^>]+> .*?\\(default ${variable} or ${value}\\)`))
    expect(help).toMatch(/--heartbeat-timeout=<[^>]+> .*\(default KTRDR_HEARTBEAT_TIMEOUT or 1\.25 intervals\)/)
    expect(help).toMatch(/counted from when it became so/)
  })
})
