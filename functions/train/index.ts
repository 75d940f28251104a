import { defineFunction } from '../../runtime/function/index.ts'
import { runTraining } from './src/run.ts'
import { trainInputSchema } from './src/schema.ts'

/**
 * Trains a v3 neuro-fuzzy strategy on stored bars and saves a versioned TensorFlow.js model under
 * models/<strategy>/<timeframe>_v<N>/. GPU-first: prefers hosts advertising gpu and uses
 * tfjs-node-gpu there when installed; otherwise tfjs-node, wasm or cpu. A retry attempt (or
 * `resume: true`) continues from the operation's checkpoint.
 */
export default defineFunction({
  name: 'train',
  description: 'Train a v3 strategy into a versioned TensorFlow.js model (MLP/LSTM/GRU) with checkpoints and resume',
  operation_type: 'training',
  input: trainInputSchema,
  placement: { worker_types: ['training', 'general'], prefers: { gpu: true } },
  storage: { strategies: 'read', data: 'read', checkpoints: 'write', models: 'write' },
  // GPU selection and the CUDA libraries of tfjs-node-gpu, when the host has them.
  env: ['CUDA_VISIBLE_DEVICES', 'LD_LIBRARY_PATH'],
  timeout_seconds: 6 * 3600,
  // A retry resumes from the checkpoint, so a host lost mid-training costs at most N epochs.
  max_attempts: 3,
  run: (input, ctx) => runTraining(input, ctx),
})
