import { join } from 'node:path'
import { ofetch } from 'ofetch'
import type { KtrdrStorage } from '../../../storage/index.ts'
import { buildFunction, type BuiltFunction } from '../../../test/kit/index.ts'
import type { DispatchRequest, FunctionRef } from '../../protocol/index.ts'
import type { HostConfig } from '../index.ts'

export const FIXTURES = join(import.meta.dirname, 'fixtures')

/** A host for tests: any free port, no GPU probe, quick heartbeats and registration, quiet; `config` adds the rest. */
export function testHostConfig(config: HostConfig): HostConfig {
  return {
    port: 0,
    detectGpu: false,
    heartbeatIntervalMs: 200,
    register: { initialDelayMs: 50, maxDelayMs: 200 },
    forwardExecutorOutput: false,
    logLevel: 'warn',
    ...config,
  }
}

export interface Published extends BuiltFunction {
  ref: FunctionRef
}

/** Builds a function and stores its archive in the bundles mount the way the registry does. */
export async function buildAndStore(target: string, storage: KtrdrStorage, outDir: string, version = 1): Promise<Published> {
  const { built, archive } = await buildFunction(target, outDir)
  const bundle_key = `${built.name}/${built.sha256}.tgz`
  await storage.bundles.setItemRaw(bundle_key, archive)
  return {
    built,
    archive,
    ref: { name: built.name, version, sha256: built.sha256, bundle_key, timeout_seconds: built.manifest.timeout_seconds },
  }
}

let counter = 0
export function dispatchRequest(ref: FunctionRef, input: unknown, overrides: Partial<DispatchRequest> = {}): DispatchRequest {
  return {
    operation_id: `op_test_${Date.now()}_${(++counter).toString(16).padStart(8, '0')}`,
    attempt: 1,
    function: ref,
    input,
    deadline_ms: Date.now() + 60_000,
    ...overrides,
  }
}

export interface WaitResult {
  status: string
  result?: any
  error?: any
  reason?: string
  pid: number | null
  operation_id: string
}

/** POST /invocations?wait=1: the host answers with the finished invocation. */
export function invokeAndWait(hostUrl: string, request: DispatchRequest, token?: string): Promise<WaitResult> {
  return ofetch<WaitResult>(`${hostUrl}/invocations?wait=1`, {
    method: 'POST',
    body: request,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })
}
