// Every storage mount is shared the way deploy/ sets a cluster up: an NFS export and its mount
// lines, a folder in each env file, the containers' bind mounts and the native hosts' folders.
// A mount left out (as `memory` was) works on one machine and silently splits on a cluster: the
// gateway's research loops would write memory that the llm host's design never reads.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MOUNT_NAMES, resolveStorageOptions } from '../../storage/index.ts'
import { readEnvFile } from './_netns.ts'
import { REPO } from './_harness.ts'

const read = (path: string) => readFileSync(join(REPO, 'deploy', path), 'utf8')
const ENV_FILES = ['gateway', 'host', 'gpu-host', 'ib-host'].map((k) => `env/${k}.env.example`)

describe('storage mounts in deploy/', () => {
  it('each env file gives every mount its own folder (none falls back under KTRDR_HOME)', () => {
    for (const file of ENV_FILES) {
      const env = readEnvFile(join(REPO, 'deploy', file))
      const { mounts } = resolveStorageOptions({}, env)
      for (const name of MOUNT_NAMES) {
        const mount = mounts[name] as { driver: string; base?: string }
        expect(mount.driver, `${file}: ${name}`).toBe('fs')
        expect(mount.base!.startsWith(env.KTRDR_HOME ?? '/nonexistent'), `${file}: ${name} is under KTRDR_HOME`).toBe(false)
      }
    }
  })

  it('NFS exports, fstab lines, bind mounts and native folders cover every mount', () => {
    const env = readEnvFile(join(REPO, 'deploy/env/host.env.example'))
    const paths = resolveStorageOptions({}, env).mounts
    const exports = read('nfs/exports.example')
    const fstab = read('nfs/fstab.example')
    const readme = read('nfs/README.md')
    const worker = read('lxc/provision-worker.sh')
    const gateway = read('lxc/provision-gateway.sh')
    const folders = [read('lxc/_native.sh'), read('lxc/create-template.sh')]
    for (const name of MOUNT_NAMES) {
      const path = (paths[name] as { base: string }).base
      expect(exports, name).toMatch(new RegExp(`^/exports/ktrdr/${name}\\s`, 'm'))
      expect(fstab, name).toMatch(new RegExp(`^\\S+:/exports/ktrdr/${name}\\s+/mnt/ktrdr/${name}\\s`, 'm'))
      expect(readme, name).toMatch(new RegExp(`^\\| ${name}\\s+\\|`, 'm'))
      for (const script of [worker, gateway]) expect(script, name).toContain(`${name}:${path}`)
      // Folders the native layout creates (data and models sit in their own top-level folders).
      if (path.startsWith('/srv/ktrdr/')) for (const f of folders) expect(f, name).toContain(path)
    }
  })
})
