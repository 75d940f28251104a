// `ktrdr up --watch`: a saved file in a function folder redeploys that function. A build that
// fails (a type error, an import that does not resolve, a bundle that throws on load) publishes
// nothing, so the version already deployed keeps serving; the next save tries again.
import { existsSync, watch, type FSWatcher } from 'node:fs'
import { join, sep } from 'node:path'
import type { GatewayClient } from './_client.ts'
import { deployFunction, type DeployedFunction } from './_deploy.ts'

export type FunctionWatchEvent =
  | { type: 'building'; name: string }
  | { type: 'deployed'; name: string; deployed: DeployedFunction }
  | { type: 'unchanged'; name: string; deployed: DeployedFunction }
  | { type: 'failed'; name: string; error: Error }

export interface WatchFunctionsOptions {
  /** The folder whose sub-folders with an index.ts are functions (functions/). */
  root: string
  gateway: GatewayClient
  /** Quiet time after the last change of a folder before it is rebuilt (editors write a file in several steps). Default 300 ms. */
  debounceMs?: number
  /** Type-check before each build (default true: a type error must not replace a working version). */
  typecheck?: boolean
  /** Build output folder (deployFunction's default otherwise). */
  outDir?: string
  onEvent?: (event: FunctionWatchEvent) => void
}

export interface FunctionWatcher {
  /** Stops watching, aborts builds under way and resolves once they have ended. */
  close(): Promise<void>
}

interface FolderState {
  timer?: NodeJS.Timeout
  running?: Promise<void>
  /** A change arrived while building: build again after this one. */
  again: boolean
}

/**
 * Watches `root` recursively (fs.watch: inotify on Linux, one watch per folder) and deploys a
 * function folder after a change settles. One build per folder at a time; changes during a build
 * give one more build after it. The deploy compares the sources' hash with latest's, so a save
 * that changes nothing that goes into the bundle (a test, the README) builds nothing.
 */
export function watchFunctions(options: WatchFunctionsOptions): FunctionWatcher {
  const { root, gateway, debounceMs = 300, typecheck = true, outDir, onEvent = () => {} } = options
  const controller = new AbortController()
  const folders = new Map<string, FolderState>()

  const deploy = (name: string, state: FolderState) => {
    state.again = false
    onEvent({ type: 'building', name })
    state.running = deployFunction(join(root, name), { gateway, typecheck, outDir, signal: controller.signal })
      .then(
        (deployed) => onEvent({ type: deployed.unchanged ? 'unchanged' : 'deployed', name, deployed }),
        (error: Error) => {
          if (!controller.signal.aborted) onEvent({ type: 'failed', name, error })
        },
      )
      .finally(() => {
        state.running = undefined
        if (state.again && !controller.signal.aborted) deploy(name, state)
      })
  }

  const changed = (filename: string) => {
    const [name, ...rest] = filename.split(sep)
    // Dot folders and node_modules inside a function are not its sources; a folder without index.ts is not a function.
    if (!name || name.startsWith('.') || rest.some((p) => p.startsWith('.') || p === 'node_modules')) return
    if (!existsSync(join(root, name, 'index.ts'))) return
    let state = folders.get(name)
    if (!state) folders.set(name, (state = { again: false }))
    const s = state
    clearTimeout(s.timer)
    s.timer = setTimeout(() => {
      s.timer = undefined
      if (s.running) s.again = true
      else deploy(name, s)
    }, debounceMs)
  }

  const watcher: FSWatcher = watch(root, { recursive: true }, (_event, filename) => {
    if (filename) changed(filename.toString())
  })
  watcher.on('error', (error) => onEvent({ type: 'failed', name: '', error }))

  return {
    async close() {
      watcher.close()
      controller.abort()
      for (const state of folders.values()) clearTimeout(state.timer)
      await Promise.all([...folders.values()].map((s) => s.running))
    },
  }
}
