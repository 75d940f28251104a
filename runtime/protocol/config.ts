import { KtrdrError } from './errors.ts'

/**
 * The one reader of numeric environment variables for gateway and host resolvers: unset or empty
 * is `undefined` (the resolver's default applies); anything else must be a finite number ≥ `min`,
 * or start-up fails naming the variable (a typo must not silently fall back to a default).
 */
export function envNumber(env: NodeJS.ProcessEnv, name: string, min = 0): number | undefined {
  const value = env[name]
  if (value === undefined || value.trim() === '') return undefined
  const n = Number(value)
  if (!Number.isFinite(n) || n < min) {
    throw new KtrdrError({
      code: 'CONFIG_INVALID',
      message: `Environment variable ${name}="${value}" must be a number ≥ ${min}`,
    })
  }
  return n
}
