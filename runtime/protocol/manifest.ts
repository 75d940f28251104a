import { z } from 'zod'
import type { FunctionManifest } from './function.ts'
import { KtrdrError } from './errors.ts'
import type { ArchiveFile } from './archive.ts'
import { MOUNT_NAMES } from './mounts.ts'
import { FUNCTION_NAME_RE } from '../protocol/function.ts'

export const MANIFEST_FILE = 'manifest.json'

/** Most invocations one executor may declare to run at once (a host's slots bound them too). */
export const MAX_CONCURRENCY = 1000

const manifestSchema = z.object({
  name: z.string().regex(FUNCTION_NAME_RE, 'lowercase letters, digits and dashes'),
  description: z.string(),
  operation_type: z.string().regex(/^[a-z][a-z0-9_-]*$/),
  input_schema: z.record(z.string(), z.unknown()),
  placement: z.object({
    worker_types: z.array(z.string()).optional(),
    requires: z
      .object({
        gpu: z.boolean().optional(),
        ib: z.boolean().optional(),
        llm: z.boolean().optional(),
        min_memory_gb: z.number().nonnegative().optional(),
        labels: z.array(z.string()).optional(),
      })
      .optional(),
    prefers: z.object({ gpu: z.boolean().optional() }).optional(),
  }),
  timeout_seconds: z.number().positive(),
  max_attempts: z.number().int().positive(),
  concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).optional(),
  storage: z
    .partialRecord(
      z.enum(MOUNT_NAMES),
      z.object({
        access: z.enum(['read', 'write']),
        prefixes: z.array(
          z
            .string()
            .regex(/^[^:]+(:[^:]+)*:$/, 'a key prefix ending in ":"')
            .refine((p) => !p.split(':').includes('..'), 'no ".." segments'),
        ),
      }),
    )
    .optional(),
  env: z
    .array(
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
        .refine(
          (n) => !n.toUpperCase().startsWith('KTRDR_'),
          "KTRDR_* variables are the host's settings and secrets and never reach functions",
        ),
    )
    .optional(),
  entry: z
    .string()
    .min(1)
    .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'a relative path inside the bundle'),
  built_at: z.string(),
  source_commit: z.string().nullable().optional(),
  source_sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'a sha256 in hex')
    .nullable()
    .optional(),
  node: z.string(),
})

/** Validates a manifest (parsed JSON or text); 422 BUNDLE_MANIFEST_INVALID says which field is wrong. */
export function parseManifest(input: unknown): FunctionManifest {
  let value = input
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      value = JSON.parse(typeof input === 'string' ? input : new TextDecoder().decode(input))
    } catch (cause) {
      throw new KtrdrError({
        code: 'BUNDLE_MANIFEST_INVALID',
        cause,
        message: `manifest.json is not valid JSON: ${(cause as Error).message}`,
      })
    }
  }
  const parsed = manifestSchema.safeParse(value)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
    throw new KtrdrError({
      code: 'BUNDLE_MANIFEST_INVALID',
      message: `manifest.json is invalid (${issues}); rebuild the bundle with \`ktrdr fn build\``,
      details: parsed.error.issues,
    })
  }
  return parsed.data as FunctionManifest
}

/** The manifest of an unpacked archive, checked against the files it names. */
export function readArchiveManifest(files: ArchiveFile[], expectedName?: string): FunctionManifest {
  const file = files.find((f) => f.name === MANIFEST_FILE)
  if (!file)
    throw new KtrdrError({
      code: 'BUNDLE_MANIFEST_INVALID',
      message: 'Bundle archive has no manifest.json at its root',
    })
  const manifest = parseManifest(file.data)
  if (!files.some((f) => f.name === manifest.entry)) {
    throw new KtrdrError({
      code: 'BUNDLE_MANIFEST_INVALID',
      message: `manifest.json names entry "${manifest.entry}" but the archive has no such file`,
    })
  }
  if (expectedName !== undefined && manifest.name !== expectedName) {
    throw new KtrdrError({
      code: 'BUNDLE_NAME_MISMATCH',
      message: `Bundle is for function "${manifest.name}", not "${expectedName}"`,
    })
  }
  return manifest
}
