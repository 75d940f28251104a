// Dry-run and recorded-sequence tests for deploy/lxc: a recording, stateful `pct` (and `rsync`,
// `ssh`, `systemctl`) on PATH and a gateway stand-in on loopback. Asserts exact command sequences.
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { REPO, createSandbox, ctFile, normalise, runScript, seedTemplate, startFakeGateway, type Sandbox } from './_harness.ts'

let sb: Sandbox
let gw: Awaited<ReturnType<typeof startFakeGateway>>
beforeEach(async () => {
  sb = createSandbox()
  gw = await startFakeGateway(sb.log)
})
afterEach(async () => {
  await gw.close()
  sb.cleanup()
})

const pctCalls = () =>
  sb
    .calls()
    .filter((c) => c[0] === 'pct')
    .map((c) => normalise(c.slice(1), sb))
/** pct calls that change something (what --dry-run prints), without the read-only probes. */
const pctChanges = () => pctCalls().filter((c) => !isProbe(c))
function isProbe(c: string[]): boolean {
  if (c[0] === 'status' || c[0] === 'listsnapshot') return true
  if (c[0] !== 'exec') return false
  const cmd = c.slice(3).join(' ')
  return cmd === 'true' || cmd.startsWith('node ') || cmd.includes('node -e')
}
/** "+ pct …" lines a dry run printed, as argv. */
function printed(stdout: string, tool = 'pct'): string[][] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(`+ ${tool} `))
    .map((l) => normalise(shellSplit(l.slice(2)).slice(1), sb))
}
/** Enough of POSIX word splitting for what quote_words prints: bare words and '…' with '\'' escapes. */
function shellSplit(line: string): string[] {
  const out: string[] = []
  let cur = '',
    inWord = false
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!
    if (ch === "'") {
      const end = line.indexOf("'", i + 1)
      cur += line.slice(i + 1, end)
      i = end
      inWord = true
    } else if (ch === '\\') {
      cur += line[++i]
      inWord = true
    } else if (ch === ' ') {
      if (inWord) out.push(cur)
      cur = ''
      inWord = false
    } else {
      cur += ch
      inWord = true
    }
  }
  if (inWord) out.push(cur)
  return out
}

const TOKEN = 'cluster-secret-3f9a'

describe('create-template.sh', () => {
  const tarball = () => {
    const p = join(sb.dir, 'node-v20.20.2-linux-x64.tar.xz')
    writeFileSync(p, '')
    return p
  }

  it('creates, provisions and snapshots the template in this exact order', async () => {
    const r = await runScript('create-template.sh', ['--ctid', '900', '--node-tarball', tarball(), '--storage', 'local-zfs'], sb.env)
    expect(r.code, r.stderr).toBe(0)
    const steps = pctChanges().map((c) => (c[0] === 'exec' ? `exec ${c.slice(3).join(' ')}` : c.join(' ')))
    expect(steps).toEqual([
      'create 900 local:vztmpl/debian-12-standard_12.2-1_amd64.tar.zst --hostname ktrdr-template --cores 2 --memory 2048 --rootfs local-zfs:10 --net0 name=eth0,bridge=vmbr0,ip=dhcp --unprivileged 1 --features nesting=1 --onboot 0',
      'start 900',
      'exec sh -c DEBIAN_FRONTEND=noninteractive apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl jq rsync xz-utils openssh-server nfs-common',
      `push 900 ${join(sb.dir, 'node-v20.20.2-linux-x64.tar.xz')} /tmp/node.tar.xz --perms 0644`,
      'exec sh -c tar -xJf /tmp/node.tar.xz -C /usr/local --strip-components=1 --no-same-owner && rm -f /tmp/node.tar.xz && node --version',
      'exec sh -c id -u ktrdr >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/ktrdr --shell /usr/sbin/nologin ktrdr',
      'exec install -d -m 0755 /opt/ktrdr /data/ktrdr /models/ktrdr /srv/ktrdr',
      'exec install -d -m 0750 -o root -g ktrdr /etc/ktrdr',
      'exec install -d -m 0750 -o ktrdr -g ktrdr /var/lib/ktrdr /srv/ktrdr/bundles /srv/ktrdr/results /srv/ktrdr/strategies /srv/ktrdr/checkpoints /srv/ktrdr/memory',
      'exec apt-get clean',
      'stop 900',
      'snapshot 900 template-base --description KTRDR base: Debian 12, Node.js 20, ktrdr user, /opt/ktrdr',
    ])
  })

  it('re-run reuses the container, skips Node and keeps the snapshot', async () => {
    expect((await runScript('create-template.sh', ['--node-tarball', tarball()], sb.env)).code).toBe(0)
    sb.clearLog()
    const r = await runScript('create-template.sh', ['--node-tarball', tarball()], sb.env)
    expect(r.code, r.stderr).toBe(0)
    const verbs = pctChanges().map((c) => c[0])
    expect(verbs).not.toContain('create')
    expect(verbs).not.toContain('push')
    expect(verbs).not.toContain('snapshot')
    expect(r.stderr).toMatch(/CT 900 exists: reusing it/)
    expect(r.stderr).toMatch(/snapshot template-base of CT 900 exists/)
  })

  it('--dry-run runs nothing and prints the same commands a real run executes', async () => {
    const dry = await runScript('create-template.sh', ['--node-tarball', tarball(), '--dry-run'], sb.env)
    expect(dry.code, dry.stderr).toBe(0)
    expect(sb.calls()).toEqual([])
    await runScript('create-template.sh', ['--node-tarball', tarball()], sb.env)
    expect(printed(dry.stdout)).toEqual(pctChanges())
  })
})

describe('provision-worker.sh (5 workers)', () => {
  const args = () => [
    '--ctid',
    '201',
    '--count',
    '5',
    '--ip',
    '10.213.1.201/24',
    '--gw',
    '10.213.1.1',
    '--api-url',
    gw.url,
    '--source',
    sb.source,
    '--wait-timeout',
    '20',
  ]

  it('clones, sizes, addresses, starts, deploys, configures each worker and waits until all are AVAILABLE', async () => {
    seedTemplate(sb)
    const r = await runScript('provision-worker.sh', args(), { ...sb.env, KTRDR_CLUSTER_TOKEN: TOKEN })
    expect(r.code, r.stderr).toBe(0)

    const expected: string[][] = []
    for (let i = 1; i <= 5; i++) {
      const ct = String(200 + i)
      expected.push(
        [
          'clone',
          '900',
          ct,
          '--hostname',
          `ktrdr-worker-bt-${i}`,
          '--full',
          '--description',
          `KTRDR worker ktrdr-worker-bt-${i} (backtesting)`,
          '--snapname',
          'template-base',
        ],
        ['set', ct, '--cores', '4', '--memory', '8192', '--onboot', '1'],
        ['set', ct, '--net0', `name=eth0,bridge=vmbr0,ip=10.213.1.${200 + i}/24,gw=10.213.1.1`],
        ['start', ct],
      )
    }
    const swap =
      "set -e; rm -rf '/opt/ktrdr.new' '/opt/ktrdr.old'; mkdir -p '/opt/ktrdr.new'; tar -xzf /tmp/ktrdr-code.tar.gz -o -C '/opt/ktrdr.new'; rm -f /tmp/ktrdr-code.tar.gz; if [ -d '/opt/ktrdr' ]; then mv '/opt/ktrdr' '/opt/ktrdr.old'; fi; mv '/opt/ktrdr.new' '/opt/ktrdr'; rm -rf '/opt/ktrdr.old'"
    for (let i = 1; i <= 5; i++) {
      const ct = String(200 + i)
      expected.push(['push', ct, '<archive>', '/tmp/ktrdr-code.tar.gz', '--perms', '0600'], ['exec', ct, '--', 'sh', '-c', swap])
    }
    for (let i = 1; i <= 5; i++) {
      const ct = String(200 + i)
      expected.push(
        ['push', ct, `<env-${ct}>`, '/etc/ktrdr/host.env', '--perms', '0640'],
        ['exec', ct, '--', 'chown', 'root:ktrdr', '/etc/ktrdr/host.env'],
        ['push', ct, join(REPO, 'deploy/systemd/ktrdr-host.service'), '/etc/systemd/system/ktrdr-host.service', '--perms', '0644'],
        ['exec', ct, '--', 'systemctl', 'daemon-reload'],
        ['exec', ct, '--', 'systemctl', 'enable', 'ktrdr-host'],
        ['exec', ct, '--', 'systemctl', 'restart', 'ktrdr-host'],
      )
    }
    expect(pctChanges()).toEqual(expected)

    // Every worker registered, at its own address; the script saw each one AVAILABLE.
    expect([...gw.workers.values()].map((w) => [w.worker_id, w.endpoint_url, w.status]).sort()).toEqual(
      [1, 2, 3, 4, 5].map((i) => [`ktrdr-worker-bt-${i}`, `http://10.213.1.${200 + i}:5003`, 'AVAILABLE']),
    )
    for (let i = 1; i <= 5; i++) expect(r.stderr).toContain(`ok: gateway lists ktrdr-worker-bt-${i} as AVAILABLE`)

    // The env file each container got, rendered from deploy/env/host.env.example.
    const env = ctFile(sb, 203, '/etc/ktrdr/host.env')!
    expect(env).toMatch(/^WORKER_ID=ktrdr-worker-bt-3$/m)
    expect(env).toMatch(/^WORKER_ENDPOINT_URL=http:\/\/10\.213\.1\.203:5003$/m)
    expect(env).toMatch(new RegExp(`^KTRDR_API_URL=${gw.url}$`, 'm'))
    expect(env).toMatch(/^WORKER_CORES=4$/m)
    expect(env).toMatch(/^KTRDR_HOST_BIND=0\.0\.0\.0$/m)
    expect(env).toMatch(new RegExp(`^KTRDR_CLUSTER_TOKEN=${TOKEN}$`, 'm'))
    // The token travels in the file, never on a command line.
    expect(sb.calls().flat().join(' ')).not.toContain(TOKEN)
    expect(r.stdout + r.stderr).not.toContain(TOKEN)
  })

  it('re-run clones nothing, reconfigures and restarts', async () => {
    seedTemplate(sb)
    expect((await runScript('provision-worker.sh', args(), sb.env)).code).toBe(0)
    sb.clearLog()
    const r = await runScript('provision-worker.sh', args(), sb.env)
    expect(r.code, r.stderr).toBe(0)
    const verbs = pctChanges().map((c) => c[0])
    expect(verbs).not.toContain('clone')
    expect(verbs).not.toContain('start')
    expect(
      pctChanges()
        .filter((c) => c.includes('restart'))
        .map((c) => c[1]),
    ).toEqual(['201', '202', '203', '204', '205'])
  })

  it('fails with a pointer to the docs when a worker never registers', async () => {
    seedTemplate(sb)
    // A gateway URL nobody answers: the host cannot register, the wait must end by itself.
    const r = await runScript(
      'provision-worker.sh',
      ['--ctid', '201', '--ip', '10.213.1.201/24', '--api-url', 'http://127.0.0.1:9', '--source', sb.source, '--wait-timeout', '1'],
      sb.env,
    )
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/did not register.*operations\.md/)
  })

  it('--storage-url renders an NFS-less host.env; --mp-root bind-mounts the six storage folders', async () => {
    seedTemplate(sb)
    const r = await runScript(
      'provision-worker.sh',
      [
        '--ctid',
        '210',
        '--ip',
        '10.213.1.210/24',
        '--api-url',
        gw.url,
        '--source',
        sb.source,
        '--no-wait',
        '--storage-url',
        'http://10.213.1.100:8000/api/v1/storage',
        '--mp-root',
        '/mnt/pve/ktrdr',
      ],
      sb.env,
    )
    expect(r.code, r.stderr).toBe(0)
    const env = ctFile(sb, 210, '/etc/ktrdr/host.env')!
    expect(env).toMatch(/^KTRDR_STORAGE_URL=http:\/\/10\.213\.1\.100:8000\/api\/v1\/storage$/m)
    expect(env).not.toMatch(
      /^(DATA_DIR|MODELS_DIR|KTRDR_BUNDLES_DIR|KTRDR_RESULTS_DIR|KTRDR_STRATEGIES_DIR|KTRDR_CHECKPOINTS_DIR|KTRDR_MEMORY_DIR)=/m,
    )
    expect(
      pctChanges()
        .filter((c) => c[0] === 'set' && c[2]?.startsWith('--mp'))
        .map((c) => c.slice(2)),
    ).toEqual([
      ['--mp0', '/mnt/pve/ktrdr/data,mp=/data/ktrdr'],
      ['--mp1', '/mnt/pve/ktrdr/models,mp=/models/ktrdr'],
      ['--mp2', '/mnt/pve/ktrdr/bundles,mp=/srv/ktrdr/bundles'],
      ['--mp3', '/mnt/pve/ktrdr/results,mp=/srv/ktrdr/results'],
      ['--mp4', '/mnt/pve/ktrdr/strategies,mp=/srv/ktrdr/strategies'],
      ['--mp5', '/mnt/pve/ktrdr/checkpoints,mp=/srv/ktrdr/checkpoints'],
      ['--mp6', '/mnt/pve/ktrdr/memory,mp=/srv/ktrdr/memory'],
    ])
  })

  it('--dry-run runs nothing and prints what a real run executes', async () => {
    seedTemplate(sb)
    const dry = await runScript('provision-worker.sh', [...args(), '--dry-run'], sb.env)
    expect(dry.code, dry.stderr).toBe(0)
    expect(sb.calls()).toEqual([])
    expect(dry.stdout).toContain('# wait up to 20s until gateway lists ktrdr-worker-bt-5 as AVAILABLE')
    await runScript('provision-worker.sh', args(), sb.env)
    expect(printed(dry.stdout)).toEqual(pctChanges())
  })
})

describe('provision-gateway.sh', () => {
  it('clones, configures and starts the gateway container, then waits for /api/v1/health', async () => {
    seedTemplate(sb)
    const port = gw.url.split(':').pop()!
    // The fake gateway answers on 127.0.0.1: give the "container" that address so the health wait reaches it.
    const r = await runScript(
      'provision-gateway.sh',
      ['--ctid', '100', '--ip', '127.0.0.1/8', '--port', port, '--source', sb.source, '--wait-timeout', '10'],
      { ...sb.env, KTRDR_API_TOKEN: 'api-secret-1', KTRDR_CLUSTER_TOKEN: TOKEN },
    )
    expect(r.code, r.stderr).toBe(0)
    const steps = pctChanges().map((c) => c.join(' '))
    expect(steps.slice(0, 4)).toEqual([
      'clone 900 100 --hostname ktrdr-gateway --full --description KTRDR gateway --snapname template-base',
      'set 100 --cores 4 --memory 8192 --onboot 1',
      'set 100 --net0 name=eth0,bridge=vmbr0,ip=127.0.0.1/8',
      'start 100',
    ])
    expect(steps.slice(-6)).toEqual([
      expect.stringMatching(/^push 100 \S+ \/etc\/ktrdr\/gateway\.env --perms 0640$/),
      'exec 100 -- chown root:ktrdr /etc/ktrdr/gateway.env',
      `push 100 ${join(REPO, 'deploy/systemd/ktrdr-gateway.service')} /etc/systemd/system/ktrdr-gateway.service --perms 0644`,
      'exec 100 -- systemctl daemon-reload',
      'exec 100 -- systemctl enable ktrdr-gateway',
      'exec 100 -- systemctl restart ktrdr-gateway',
    ])
    const env = ctFile(sb, 100, '/etc/ktrdr/gateway.env')!
    expect(env).toMatch(/^KTRDR_GATEWAY_HOST=0\.0\.0\.0$/m)
    expect(env).toMatch(/^KTRDR_API_TOKEN=api-secret-1$/m)
    expect(env).toMatch(new RegExp(`^KTRDR_CLUSTER_TOKEN=${TOKEN}$`, 'm'))
    expect(sb.calls().flat().join(' ')).not.toContain('api-secret-1')
  })

  it('refuses to run without both tokens', async () => {
    const r = await runScript('provision-gateway.sh', ['--ctid', '100', '--ip', '10.213.1.100/24'], sb.env)
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/KTRDR_API_TOKEN and KTRDR_CLUSTER_TOKEN/)
    expect(sb.calls()).toEqual([])
  })
})

describe('rolling-update.sh', () => {
  async function provision() {
    seedTemplate(sb)
    const r = await runScript(
      'provision-worker.sh',
      ['--ctid', '201', '--count', '5', '--ip', '10.213.1.201/24', '--api-url', gw.url, '--source', sb.source],
      sb.env,
    )
    expect(r.code, r.stderr).toBe(0)
    sb.clearLog()
  }

  it('one host at a time: drain → idle → stop → deploy → start → re-registered, then the next', async () => {
    await provision()
    gw.markBusy('ktrdr-worker-bt-2', 3) // worker 2 is mid-operation: the update must wait for it
    const r = await runScript(
      'rolling-update.sh',
      ['--api-url', gw.url, '--ctids', '201-205', '--source', sb.source, '--drain-timeout', '20', '--register-timeout', '20'],
      sb.env,
    )
    expect(r.code, r.stderr).toBe(0)

    const events = sb
      .calls()
      .map((c) => {
        if (c[0] === 'gateway' && ['drain', 'idle', 'register'].includes(c[1]!)) return `${c[1]} ${c[2]}`
        if (c[0] === 'pct' && c[1] === 'exec' && c[4] === 'systemctl') return `${c[5]} ${c[2]}`
        if (c[0] === 'pct' && c[1] === 'push' && c[4] === '/tmp/ktrdr-code.tar.gz') return `deploy ${c[2]}`
        return ''
      })
      .filter(Boolean)
    const expected: string[] = []
    for (let i = 1; i <= 5; i++) {
      const id = `ktrdr-worker-bt-${i}`,
        ct = 200 + i
      expected.push(`drain ${id}`, `idle ${id}`, `stop ${ct}`, `deploy ${ct}`, `start ${ct}`, `register ${id}`)
    }
    expect(events).toEqual(expected)
    expect([...gw.workers.values()].every((w) => w.status === 'AVAILABLE' && !w.draining)).toBe(true)
  })

  it('stops the rollout at a host that does not come back', async () => {
    await provision()
    // Host 2's env points at a dead gateway: after its restart it never re-registers.
    const envPath = join(sb.state, 'ct', '202', 'files', 'etc/ktrdr/host.env')
    writeFileSync(envPath, readFileSync(envPath, 'utf8').replace(/^KTRDR_API_URL=.*$/m, 'KTRDR_API_URL=http://127.0.0.1:9'))
    const r = await runScript(
      'rolling-update.sh',
      ['--api-url', gw.url, '--ctids', '201-205', '--source', sb.source, '--register-timeout', '1'],
      { ...sb.env },
    )
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/ktrdr-worker-bt-2 did not re-register.*stopping the rollout/)
    const drained = sb
      .calls()
      .filter((c) => c[0] === 'gateway' && c[1] === 'drain')
      .map((c) => c[2])
    expect(drained).toEqual(['ktrdr-worker-bt-1', 'ktrdr-worker-bt-2'])
  })
})

describe('remove-worker.sh', () => {
  it('drain → idle → disable service → delete from registry → stop → destroy; a re-run is a no-op', async () => {
    seedTemplate(sb)
    expect(
      (
        await runScript(
          'provision-worker.sh',
          ['--ctid', '205', '--ip', '10.213.1.205/24', '--api-url', gw.url, '--source', sb.source],
          sb.env,
        )
      ).code,
    ).toBe(0)
    gw.markBusy('ktrdr-worker-bt-5', 2)
    sb.clearLog()
    const r = await runScript('remove-worker.sh', ['--api-url', gw.url, '--ctids', '205', '--destroy'], sb.env)
    expect(r.code, r.stderr).toBe(0)
    const seq = sb
      .calls()
      .filter((c) => (c[0] === 'gateway' && c[1] !== 'stopped') || (c[0] === 'pct' && !isProbe(c.slice(1))))
      .map((c) => c.join(' '))
    expect(seq).toEqual([
      'gateway drain ktrdr-worker-bt-5',
      'gateway idle ktrdr-worker-bt-5',
      'pct exec 205 -- systemctl disable --now ktrdr-host',
      'gateway delete ktrdr-worker-bt-5',
      'pct stop 205',
      'pct destroy 205 --purge',
    ])
    expect(gw.workers.has('ktrdr-worker-bt-5')).toBe(false)

    sb.clearLog()
    const again = await runScript('remove-worker.sh', ['--api-url', gw.url, '--ctids', '205', '--destroy'], sb.env)
    expect(again.code, again.stderr).toBe(0)
    expect(sb.calls().filter((c) => c[0] === 'gateway' || (c[0] === 'pct' && !isProbe(c.slice(1))))).toEqual([])
  })
})

describe('native hosts and helpers', () => {
  it('setup-gpu-host.sh --dry-run: checks the GPU, installs tfjs-node-gpu, installs the unit, waits for gpu=true', async () => {
    const r = await runScript(
      'setup-gpu-host.sh',
      ['--api-url', 'http://10.213.1.100:8000', '--address', '10.213.1.20', '--dry-run'],
      sb.env,
    )
    expect(r.code, r.stderr).toBe(0)
    expect(sb.calls()).toEqual([])
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('+ ') || l.startsWith('# '))
    const idx = (s: string) => lines.findIndex((l) => l.includes(s))
    expect(idx('npm install --no-save --no-audit --no-fund @tensorflow/tfjs-node-gpu@4.22.0')).toBeGreaterThan(
      idx('install -d -m 0755 /opt/ktrdr'),
    )
    expect(idx('/etc/ktrdr/host.env')).toBeGreaterThan(idx('tfjs-node-gpu'))
    expect(lines.slice(-4)).toEqual([
      '+ systemctl daemon-reload',
      '+ systemctl enable ktrdr-host',
      '+ systemctl restart ktrdr-host',
      '# wait up to 180s until gateway lists training-host-1 as AVAILABLE with capabilities.gpu == true',
    ])
    expect(r.stdout + r.stderr).toMatch(/nvidia-smi/)
  })

  it('setup-ib-host.sh renders IB_HOST/IB_PORT/IB_CLIENT_ID and the ib capability', async () => {
    const r = await runScript('render-env.sh', ['--kind', 'ib-host', 'IB_HOST=10.213.1.30', 'IB_PORT=4001', 'IB_CLIENT_ID=7'], sb.env)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^IB_HOST=10\.213\.1\.30$/m)
    expect(r.stdout).toMatch(/^IB_PORT=4001$/m)
    expect(r.stdout).toMatch(/^IB_CLIENT_ID=7$/m)
    expect(r.stdout).toMatch(/^KTRDR_HOST_CAPABILITIES=ib$/m)
    const dry = await runScript(
      'setup-ib-host.sh',
      ['--api-url', 'http://10.213.1.100:8000', '--address', '10.213.1.21', '--dry-run'],
      sb.env,
    )
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toContain('# wait up to 180s until gateway lists ib-host-1 as AVAILABLE with capabilities.ib == true')
  })

  it('render-env.sh sets, uncomments, appends and comments out keys, keeping comments', async () => {
    const out = join(sb.dir, 'h.env')
    const r = await runScript('render-env.sh', ['--out', out, 'WORKER_ID=w-7', 'KTRDR_HOST_SLOTS=3', 'EXTRA_THING=1', '!DATA_DIR'], sb.env)
    expect(r.code, r.stderr).toBe(0)
    const text = readFileSync(out, 'utf8')
    expect(text).toMatch(/^WORKER_ID=w-7$/m)
    expect(text).toMatch(/^KTRDR_HOST_SLOTS=3$/m)
    expect(text).not.toMatch(/^# KTRDR_HOST_SLOTS=/m)
    expect(text).toMatch(/^EXTRA_THING=1$/m)
    expect(text).toMatch(/^# DATA_DIR=\/data\/ktrdr$/m)
    expect(text).toMatch(/^# Where to register/m)
    expect(statSync(out).mode & 0o777).toBe(0o600)
  })

  it.each([
    'create-template.sh',
    'provision-gateway.sh',
    'provision-worker.sh',
    'deploy-code.sh',
    'rolling-update.sh',
    'remove-worker.sh',
    'setup-gpu-host.sh',
    'setup-ib-host.sh',
    'render-env.sh',
  ])('%s: --help explains itself, an unknown option fails with a message', async (script) => {
    const help = await runScript(script, ['--help'], sb.env)
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: /)
    const bad = await runScript(script, ['--no-such-option'], sb.env)
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/ERROR: unknown argument '--no-such-option'/)
    expect(sb.calls()).toEqual([])
  })
})
