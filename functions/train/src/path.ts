import { KtrdrError } from '../../../trading/index.ts'
import type { TfBackendInfo } from '../../../trading/model/index.ts'
import type { ModelSpec } from '../../../trading/model/index.ts'
import type { LoopConfig } from './config.ts'
import type { TrainingPath } from './_engine.ts'
import { fusedUnsupported } from './fused/support.ts'

export type TrainingPathOption = 'auto' | TrainingPath

const OPTIONS = new Set<string>(['auto', 'fused', 'tfjs'])

/** The input's `training_path`, else the host's KTRDR_TRAIN_PATH, else auto. A bad host value is the host's fault (500), named. */
export function resolveTrainingPathOptions(
  requested: TrainingPathOption | undefined,
  env: NodeJS.ProcessEnv = process.env,
): TrainingPathOption {
  if (requested && requested !== 'auto') return requested
  const fromEnv = env.KTRDR_TRAIN_PATH
  if (!fromEnv) return 'auto'
  if (!OPTIONS.has(fromEnv))
    throw new KtrdrError({
      code: 'CONFIG_INVALID',
      message: `KTRDR_TRAIN_PATH="${fromEnv}" is not a training path: use auto, fused or tfjs`,
    })
  return fromEnv as TrainingPathOption
}

/**
 * auto: the fused trainer for MLPs trained with Adam on the wasm and cpu backends, where tfjs's
 * per-kernel overhead dominates small networks (docs/decisions.md); tfjs kernels on GPU and native
 * backends and for LSTM/GRU. A forced `fused` the network cannot use is refused (422), not
 * silently replaced.
 */
export function selectTrainingPath(
  option: TrainingPathOption,
  backend: Pick<TfBackendInfo, 'backend' | 'gpu'>,
  spec: Pick<ModelSpec, 'type' | 'sequenceLength'>,
  config: Pick<LoopConfig, 'optimizer'>,
): { path: TrainingPath; reason: string } {
  const unsupported = fusedUnsupported(spec, config)
  if (option === 'tfjs') return { path: 'tfjs', reason: 'training_path tfjs requested' }
  if (option === 'fused') {
    if (unsupported)
      throw new KtrdrError({
        code: 'TRAINING_PATH_UNSUPPORTED',
        message: `training_path "fused" cannot train this strategy: ${unsupported}; use "tfjs" or "auto"`,
      })
    return { path: 'fused', reason: 'training_path fused requested' }
  }
  if (backend.gpu || backend.backend === 'tensorflow')
    return { path: 'tfjs', reason: `the ${backend.backend} backend runs tfjs kernels natively${backend.gpu ? ' on the GPU' : ''}` }
  if (unsupported) return { path: 'tfjs', reason: `the fused trainer does not apply: ${unsupported}` }
  return { path: 'fused', reason: `MLP with Adam on the ${backend.backend} backend` }
}
