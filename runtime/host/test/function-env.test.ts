// The host settings a function's executor receives: the training path choice among them, credentials never.
import { describe, expect, it } from 'vitest'
import { functionEnv } from '../_env.ts'

describe('functionEnv', () => {
  it("passes the host's training path and backend choice to the train function, and none of its tokens", () => {
    const env = functionEnv(
      { name: 'train', env: ['CUDA_VISIBLE_DEVICES'] },
      3,
      {},
      {
        KTRDR_TRAIN_PATH: 'tfjs',
        KTRDR_TF_BACKEND: 'wasm',
        KTRDR_API_TOKEN: 'api-secret',
        KTRDR_CLUSTER_TOKEN: 'cluster-secret',
        CUDA_VISIBLE_DEVICES: '0',
      },
    )
    expect(env).toEqual({
      KTRDR_TRAIN_PATH: 'tfjs',
      KTRDR_TF_BACKEND: 'wasm',
      CUDA_VISIBLE_DEVICES: '0',
      KTRDR_FUNCTION: 'train',
      KTRDR_FUNCTION_VERSION: '3',
    })
  })
})
