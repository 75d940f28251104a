/**
 * How big a strategy may be. The real strategies we ship and accept have at most a few dozen
 * indicators, a few hundred fuzzy sets and features, and layers of a few hundred units; these
 * caps are an order of magnitude above that and keep one upload from stalling a gateway (a 1 MB
 * file with 25,000 indicators held the event loop for 14.5 s before they existed). They are
 * checked on the parsed document before the grammar's own checks, so an oversized strategy costs
 * one YAML parse and a few counts.
 */
export const STRATEGY_LIMITS = {
  /** Bytes of YAML. */
  maxBytes: 256 * 1024,
  /** YAML aliases expanded (billion-laughs documents expand exponentially). */
  maxAliases: 100,
  /**
   * Levels of YAML nesting (indentation steps, compact `- ` entries, flow brackets), counted on the
   * text before parsing: the parser recurses per level and a 12 KB `[[[…` aborted the gateway's
   * process. The strategies we ship nest 4–5 levels.
   */
  maxNesting: 64,
  indicators: 256,
  fuzzySets: 2048,
  nnInputs: 1024,
  hiddenLayers: 16,
  hiddenUnits: 4096,
} as const
