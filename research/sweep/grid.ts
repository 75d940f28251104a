import { mulberry32 } from '../../trading/index.ts'

/** Values to try: a list (grid, or random picks among them), or a range (random draws only). */
export type ValueSpec = unknown[] | { min: number; max: number; log?: boolean; integer?: boolean }

export type Combination = Record<string, unknown>

export const isRange = (v: ValueSpec): v is Extract<ValueSpec, { min: number }> => !Array.isArray(v)

/** Every combination of the lists, the first parameter varying slowest (the order a table reads best in). */
export function gridCombinations(space: Array<[name: string, values: unknown[]]>): Combination[] {
  let out: Combination[] = [{}]
  for (const [name, values] of space) out = out.flatMap((c) => values.map((v) => ({ ...c, [name]: v })))
  return out
}

/** How many combinations a grid over these lists has (before building it). */
export const gridSize = (space: Array<[string, unknown[]]>) => space.reduce((n, [, values]) => n * values.length, 1)

/**
 * `samples` seeded random combinations: a pick from each list, a uniform draw from each range
 * (log-uniform with `log`, rounded with `integer`), four significant digits so the run names stay
 * readable. Combinations that come out the same are drawn once; a small grid gives fewer samples.
 */
export function randomCombinations(
  space: Array<[name: string, spec: ValueSpec]>,
  samples: number,
  seed: number,
  nameOf: (c: Combination) => string,
): Combination[] {
  const rng = mulberry32(seed)
  const seen = new Set<string>()
  const out: Combination[] = []
  // Enough tries to find `samples` distinct combinations in any space that has them.
  for (let tries = 0; out.length < samples && tries < samples * 50; tries++) {
    const c: Combination = {}
    for (const [name, spec] of space) {
      if (!isRange(spec)) c[name] = spec[Math.floor(rng() * spec.length)]
      else {
        const u = rng()
        let v = spec.log
          ? Math.exp(Math.log(spec.min) + u * (Math.log(spec.max) - Math.log(spec.min)))
          : spec.min + u * (spec.max - spec.min)
        v = spec.integer ? Math.round(v) : Number(v.toPrecision(4))
        c[name] = Math.min(spec.max, Math.max(spec.min, v))
      }
    }
    const key = nameOf(c)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(c)
  }
  return out
}

/** `lr=0.001,hidden=64-32`: a run named by its parameters (short names where the parameter has one). */
export function combinationName(c: Combination, alias: (name: string) => string): string {
  return Object.entries(c)
    .map(([name, v]) => `${alias(name)}=${Array.isArray(v) ? v.join('-') : String(v)}`)
    .join(',')
}
