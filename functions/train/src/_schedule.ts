import type { EarlyStoppingConfig, LrSchedulerConfig } from './config.ts'

/** Serializable so a resumed training continues the same schedule. */
export interface ScheduleState {
  lr: number
  best: number | null
  bad_epochs: number
}

/** LR for the next epoch, after `epoch` (1-based) finished with validation loss `valLoss`. */
export function stepScheduler(
  config: LrSchedulerConfig | null,
  state: ScheduleState,
  baseLr: number,
  epoch: number,
  valLoss: number,
): ScheduleState {
  if (!config) return state
  switch (config.type) {
    case 'step':
      return { ...state, lr: baseLr * config.gamma ** Math.floor(epoch / config.step_size) }
    case 'exponential':
      return { ...state, lr: baseLr * config.gamma ** epoch }
    case 'reduce_on_plateau': {
      // PyTorch semantics (mode min, threshold_mode rel 1e-4): patience epochs without improvement → lr·factor.
      if (state.best === null || valLoss < state.best * (1 - 1e-4)) return { ...state, best: valLoss, bad_epochs: 0 }
      const bad = state.bad_epochs + 1
      if (bad > config.patience) return { lr: Math.max(config.min_lr, state.lr * config.factor), best: state.best, bad_epochs: 0 }
      return { ...state, bad_epochs: bad }
    }
  }
}

export interface EarlyStopState {
  best: number | null
  wait: number
}

/** Returns the new state and whether training should stop after this epoch. */
export function stepEarlyStopping(
  config: EarlyStoppingConfig | null,
  state: EarlyStopState,
  metrics: { val_loss: number; val_accuracy: number },
): { state: EarlyStopState; stop: boolean } {
  if (!config) return { state, stop: false }
  const value = config.monitor === 'val_loss' ? metrics.val_loss : -metrics.val_accuracy
  if (state.best === null || value < state.best - config.min_delta) return { state: { best: value, wait: 0 }, stop: false }
  const wait = state.wait + 1
  return { state: { best: state.best, wait }, stop: wait >= config.patience }
}
