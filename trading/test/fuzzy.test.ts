import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { evaluateMembership, fuzzify, gaussian, sigmoid, trapezoidal, triangular } from './_exports.ts'

describe('membership functions (docs/domain.md#fuzzy-memberships)', () => {
  it('triangular', () => {
    expect([0, 15, 30, 35, 40, -5, 50].map((x) => triangular(x, 0, 30, 40))).toEqual([0, 0.5, 1, 0.5, 0, 0, 0])
    expect(triangular(Number.NaN, 0, 1, 2)).toBeNaN()
    // x == b is checked first: degenerate shoulders still peak at 1.
    expect(triangular(30, 30, 30, 40)).toBe(1)
    expect(triangular(35, 30, 30, 40)).toBe(0.5)
    expect(triangular(29, 30, 30, 40)).toBe(0)
    expect(triangular(40, 30, 40, 40)).toBe(1)
  })

  it('trapezoidal', () => {
    expect([0, 5, 10, 15, 20, 25, 30, -1, 31].map((x) => trapezoidal(x, 0, 10, 20, 30))).toEqual([0, 0.5, 1, 1, 1, 0.5, 0, 0, 0])
    expect(trapezoidal(Number.NaN, 0, 1, 2, 3)).toBeNaN()
  })

  it('gaussian', () => {
    expect(gaussian(50, 50, 10)).toBe(1)
    expect(gaussian(60, 50, 10)).toBe(Math.exp(-0.5))
    expect(gaussian(30, 50, 10)).toBe(Math.exp(-2))
    expect(gaussian(Number.NaN, 0, 1)).toBeNaN()
  })

  it('sigmoid [center, slope]', () => {
    expect(sigmoid(0, 0, 1)).toBe(0.5)
    expect(sigmoid(2, 0, 1)).toBe(1 / (1 + Math.exp(-2)))
    expect(sigmoid(2, 0, -1)).toBe(1 / (1 + Math.exp(2)))
  })

  it('stays in [0, 1] and the batch kernel matches the scalar form bit for bit', () => {
    const mfs = [
      { name: 'a', type: 'triangular' as const, parameters: [-1, 0.5, 2] },
      { name: 'b', type: 'trapezoidal' as const, parameters: [-1, 0, 1, 3] },
      { name: 'c', type: 'gaussian' as const, parameters: [0.3, 0.7] },
      { name: 'd', type: 'sigmoid' as const, parameters: [0, 3] },
    ]
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ min: -5, max: 5, noNaN: true }), fc.constant(Number.NaN)), { minLength: 1, maxLength: 50 }),
        (xs) => {
          const x = Float64Array.from(xs)
          for (const m of mfs) {
            const batch = fuzzify(m, x)
            for (let i = 0; i < x.length; i++) {
              const s = evaluateMembership(m.type, m.parameters, x[i])
              if (Number.isNaN(x[i])) expect(batch[i]).toBeNaN()
              else {
                expect(batch[i]).toBe(s)
                expect(s).toBeGreaterThanOrEqual(0)
                expect(s).toBeLessThanOrEqual(1)
              }
            }
          }
        },
      ),
      { numRuns: 50 },
    )
  })
})
