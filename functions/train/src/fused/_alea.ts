/**
 * Johannes Baagøe's Alea generator as seedrandom 3.0.5 implements it (MIT), which is what
 * tf.randomUniform(shape, 0, 1, 'float32', seed) draws from: `alea(String(seed))`, one call per
 * element in row-major order. The fused trainer replays it to draw the very dropout masks the
 * tfjs SeededDropout layer draws, so both paths train the same network on the same masks.
 */
export function alea(seed: string): () => number {
  let n = 0xefc8249d
  const mash = (data: string): number => {
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i)
      let h = 0.02519603282416938 * n
      n = h >>> 0
      h -= n
      h *= n
      n = h >>> 0
      h -= n
      n += h * 0x100000000
    }
    return (n >>> 0) * 2.3283064365386963e-10
  }
  let c = 1
  let s0 = mash(' ')
  let s1 = mash(' ')
  let s2 = mash(' ')
  s0 -= mash(seed)
  if (s0 < 0) s0 += 1
  s1 -= mash(seed)
  if (s1 < 0) s1 += 1
  s2 -= mash(seed)
  if (s2 < 0) s2 += 1
  return () => {
    const t = 2091639 * s0 + c * 2.3283064365386963e-10
    s0 = s1
    s1 = s2
    return (s2 = t - (c = t | 0))
  }
}
