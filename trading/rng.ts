/**
 * mulberry32: small, fast, seedable 32-bit PRNG for everything that must replay from a seed —
 * synthetic markets (through createRng), the training epoch order, test fixtures and benches:
 * same seed, same numbers, on every machine. Weight initialisers and dropout masks use tfjs's
 * own seeded generators instead (trading/model/).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * mulberry32 with a Box-Muller normal (pairs: the second value is kept for the next call). Seed 0
 * is mapped to 0x9e3779b9, as the synthetic generator always did, so every seed keeps producing
 * the market it produced before (mulberry32 itself is fine with 0).
 */
export function createRng(seed: number) {
  const uniform = mulberry32(seed >>> 0 || 0x9e3779b9)
  let spare = Number.NaN
  const normal = (): number => {
    if (spare === spare) {
      const s = spare
      spare = Number.NaN
      return s
    }
    let u = 0
    while (u === 0) u = uniform()
    const v = uniform()
    const r = Math.sqrt(-2 * Math.log(u))
    spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
  return { uniform, normal }
}
