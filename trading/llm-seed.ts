import { randomInt } from 'node:crypto'

/**
 * The largest sampling seed a design, assess or research request accepts. A non-negative int32:
 * functions add the attempt number (at most 4) to it and llama.cpp takes a uint32, so no retry can
 * wrap around to another run's seed.
 */
export const LLM_SEED_MAX = 2 ** 31 - 1

/** A fresh seed when the request names none; the result records it so the run can be repeated. */
export function randomLlmSeed(): number {
  return randomInt(0, LLM_SEED_MAX + 1)
}
