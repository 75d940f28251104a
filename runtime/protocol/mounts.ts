/** The storage mounts every component agrees on (storage/ resolves them; manifests declare access to them). */
export const MOUNT_NAMES = ['data', 'models', 'bundles', 'results', 'strategies', 'checkpoints', 'memory'] as const
export type MountName = (typeof MOUNT_NAMES)[number]
