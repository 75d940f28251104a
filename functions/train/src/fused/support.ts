import type { ModelSpec } from '../../../../trading/model/index.ts'
import type { LoopConfig } from '../config.ts'

/** Why the fused trainer cannot train this network/config, or null when it can. */
export function fusedUnsupported(spec: Pick<ModelSpec, 'type' | 'sequenceLength'>, config: Pick<LoopConfig, 'optimizer'>): string | null {
  if (spec.type !== 'mlp' || spec.sequenceLength !== 1) return `it trains MLPs, not ${spec.type}`
  if (config.optimizer !== 'adam') return `it implements Adam/AdamW, not ${config.optimizer}`
  return null
}
