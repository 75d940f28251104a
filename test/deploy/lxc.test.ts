// Opt-in (npm run test:lxc): the deploy scripts for real against LXC containers — Debian's lxc
// package, busybox containers, deploy/lxc/pct-shim.sh as `pct` — on a bridge inside a network
// namespace this test creates. The "Proxmox node" (where the scripts run), the gateway and the
// containers each have their own address on 10.213.0.0/24; storage is bind-mounted like NFS.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LXC, REPO } from './_harness.ts'
import { SUBNET, TestNetwork, netnsUnavailableReason, readEnvFile } from './_netns.ts'

function lxcUnavailableReason(): string | null {
  if (process.env.KTRDR_TEST_LXC !== '1') return 'opt-in only: run `npm run test:lxc` (KTRDR_TEST_LXC=1)'
  const ns = netnsUnavailableReason()
  if (ns) return ns
  if (spawnSync('lxc-create', ['--version']).status !== 0) return "Debian's lxc package is not installed: apt-get install -y lxc"
  if (!existsSync('/usr/share/lxc/templates/lxc-busybox') || spawnSync('busybox', ['true']).status !== 0)
    return 'the busybox template needs busybox: apt-get install -y busybox'
  if (spawnSync('xz', ['--version']).status !== 0) return 'xz is missing: apt-get install -y xz-utils'
  return null
}
const skipReason = lxcUnavailableReason()
if (skipReason) console.warn(`[lxc] SKIPPED: ${skipReason}`)

const API = `http://${SUBNET}.10:8000`
const API_TOKEN = 'lxc-api-token-71d2'
const CLUSTER_TOKEN = 'lxc-cluster-token-c09e'

describe.skipIf(!!skipReason)(
  `deploy scripts against real LXC containers (pct-shim)${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let net: TestNetwork
    let dir: string
    let env: Record<string, string>
    const script = (name: string, args: string[], timeoutMs = 600_000) => {
      const words = [join(LXC, name), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
      return net.sh('pve', `bash ${words}`, env, timeoutMs)
    }
    const curl = async (cmd: string) => {
      const r = await net.sh('pve', cmd, env)
      if (r.code !== 0) throw new Error(`${cmd}\n${r.stderr}`)
      return r.stdout
    }
    const pct = (...args: string[]) => spawnSync(join(dir, 'bin/pct'), args, { env: { ...process.env, ...env }, encoding: 'utf8' })

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ktrdr-lxc-'))
      net = new TestNetwork()
      net.addMachine('pve', 2)
      net.addMachine('gw', 10)
      mkdirSync(join(dir, 'bin'))
      symlinkSync(join(LXC, 'pct-shim.sh'), join(dir, 'bin/pct'))
      // Storage the way the Proxmox node would have NFS mounted: containers get bind mounts.
      const nfs = join(dir, 'nfs')
      for (const m of ['data', 'models', 'bundles', 'results', 'strategies', 'checkpoints', 'memory']) {
        mkdirSync(join(nfs, m), { recursive: true })
        chmodSync(join(nfs, m), 0o1777)
      }
      env = {
        PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
        HOME: dir,
        TMPDIR: dir,
        PCT_SHIM_LXCPATH: join(dir, 'lxc'),
        PCT_SHIM_PREFIX: `${net.tag}-`,
        PCT_SHIM_NETNS: net.bridgeNs,
        KTRDR_API_TOKEN: API_TOKEN,
        KTRDR_CLUSTER_TOKEN: CLUSTER_TOKEN,
        POLL_INTERVAL: '1',
      }
      // The official Node tarball's layout, made from this machine's node (no download here).
      const nodeDir = join(dir, 'node-v20.99.0-linux-x64')
      mkdirSync(join(nodeDir, 'bin'), { recursive: true })
      execFileSync('cp', [process.execPath, join(nodeDir, 'bin/node')])
      execFileSync('tar', ['-cJf', `${nodeDir}.tar.xz`, '-C', dir, 'node-v20.99.0-linux-x64'], {
        env: { ...process.env, XZ_OPT: '-0 -T2' },
      })

      const storage = {
        DATA_DIR: 'data',
        MODELS_DIR: 'models',
        KTRDR_BUNDLES_DIR: 'bundles',
        KTRDR_RESULTS_DIR: 'results',
        KTRDR_STRATEGIES_DIR: 'strategies',
        KTRDR_CHECKPOINTS_DIR: 'checkpoints',
        KTRDR_MEMORY_DIR: 'memory',
      }
      execFileSync('bash', [
        join(LXC, 'render-env.sh'),
        '--kind',
        'gateway',
        '--out',
        join(dir, 'gateway.env'),
        'KTRDR_GATEWAY_HOST=0.0.0.0',
        `KTRDR_API_TOKEN=${API_TOKEN}`,
        `KTRDR_CLUSTER_TOKEN=${CLUSTER_TOKEN}`,
        `KTRDR_HOME=${join(dir, 'gw')}`,
        `KTRDR_GATEWAY_DB=${join(dir, 'gw.db')}`,
        ...Object.entries(storage).map(([k, m]) => `${k}=${join(nfs, m)}`),
      ])
      net.start('gw', ['node', join(REPO, 'bin/ktrdr.mjs'), 'gateway'], readEnvFile(join(dir, 'gateway.env')), join(dir, 'gw.log'))
    }, 120_000)

    afterAll(async () => {
      if (!net) return
      for (const ct of ['201', '202', '900']) {
        pct('stop', ct)
        pct('destroy', ct)
      }
      await net.destroy()
      rmSync(dir, { recursive: true, force: true })
    }, 120_000)

    it('create-template.sh builds the template container (Node from the tarball, ktrdr user, directories, snapshot)', async () => {
      const r = await script('create-template.sh', [
        '--ctid',
        '900',
        '--ostemplate',
        'busybox',
        '--no-apt',
        '--bridge',
        'br0',
        '--node-tarball',
        join(dir, 'node-v20.99.0-linux-x64.tar.xz'),
      ])
      expect(r.code, r.stderr).toBe(0)
      expect(pct('listsnapshot', '900').stdout).toContain('template-base')
      expect(pct('status', '900').stdout.trim()).toBe('status: stopped')
    }, 300_000)

    it('provision-worker.sh: two containers with their own IPs, code, env, service; both AVAILABLE at the gateway', async () => {
      const r = await script('provision-worker.sh', [
        '--ctid',
        '201',
        '--count',
        '2',
        '--ip',
        `${SUBNET}.21/24`,
        '--bridge',
        'br0',
        '--api-url',
        API,
        '--cores',
        '1',
        '--memory-gb',
        '1',
        '--mp-root',
        join(dir, 'nfs'),
        '--wait-timeout',
        '180',
      ])
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
      const list = JSON.parse(
        await curl(
          `curl -fsS -H "Authorization: Bearer $KTRDR_API_TOKEN" ${API}/api/v1/workers | jq -c '[.[] | {worker_id, endpoint_url, status}] | sort_by(.worker_id)'`,
        ),
      )
      expect(list).toEqual([
        { worker_id: 'ktrdr-worker-bt-1', endpoint_url: `http://${SUBNET}.21:5003`, status: 'AVAILABLE' },
        { worker_id: 'ktrdr-worker-bt-2', endpoint_url: `http://${SUBNET}.22:5003`, status: 'AVAILABLE' },
      ])
      // The host inside the container runs as the ktrdr user, from /opt/ktrdr, configured by /etc/ktrdr/host.env.
      const ps = pct('exec', '201', '--', 'sh', '-c', 'ps -o user,args | grep "[k]trdr.mjs host"; grep ^WORKER_ID= /etc/ktrdr/host.env')
      expect(ps.stdout).toMatch(/^ktrdr\s+.*\/opt\/ktrdr\/bin\/ktrdr\.mjs host/m)
      expect(ps.stdout).toMatch(/^WORKER_ID=ktrdr-worker-bt-1$/m)
    }, 900_000)

    it('a function deployed through the gateway runs in a container (bundle over the shared storage)', async () => {
      const d = await net.sh(
        'pve',
        `node ${join(REPO, 'bin/ktrdr.mjs')} fn deploy echo`,
        { ...env, KTRDR_API_URL: API, KTRDR_HOME: join(dir, 'client') },
        180_000,
      )
      expect(d.code, d.stderr).toBe(0)
      const op = JSON.parse(
        await curl(
          `curl -fsS -H "Authorization: Bearer $KTRDR_API_TOKEN" -X POST ${API}/api/v1/functions/echo/invoke -H 'Content-Type: application/json' -d '{"input":{"message":"from-lxc","steps":2,"delay_ms":200},"wait_seconds":60}'`,
        ),
      )
      expect(op.status).toBe('completed')
      expect(op.result.message).toBe('from-lxc')
      expect(['ktrdr-worker-bt-1', 'ktrdr-worker-bt-2']).toContain(op.worker_id)
    }, 240_000)

    it('rolling-update.sh updates both hosts one at a time and they re-register', async () => {
      const r = await script('rolling-update.sh', [
        '--api-url',
        API,
        '--ctids',
        '201-202',
        '--register-timeout',
        '180',
        '--drain-timeout',
        '120',
      ])
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
      expect(r.stderr).toMatch(
        /\[1\/2\] updating ktrdr-worker-bt-1[\s\S]*ok: gateway lists ktrdr-worker-bt-1 as AVAILABLE[\s\S]*\[2\/2\] updating ktrdr-worker-bt-2/,
      )
    }, 900_000)

    it('remove-worker.sh drains, deregisters and destroys one container', async () => {
      const r = await script('remove-worker.sh', ['--api-url', API, '--ctids', '202', '--destroy'])
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
      expect(pct('status', '202').status).toBe(2)
      const ids = await curl(`curl -fsS -H "Authorization: Bearer $KTRDR_API_TOKEN" ${API}/api/v1/workers | jq -r '.[].worker_id'`)
      expect(ids.trim()).toBe('ktrdr-worker-bt-1')
    }, 300_000)
  },
)
