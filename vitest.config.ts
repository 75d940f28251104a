import { defineConfig } from 'vitest/config'

/**
 * Test tiers (vitest projects): `npm test` runs `unit`; the README's test command and CI run all.
 * - unit: in-process (servers on port 0 inside the test process); under a minute on 2 cores.
 * - cluster: real processes (hosts forking executors, built bundles, the CLI, whole local clusters).
 * - deploy: the deployment scripts, network namespaces, LXC.
 */
const CLUSTER = [
  'test/cluster/**/*.test.ts',
  'test/security/**/*.test.ts',
  '**/*.cluster.test.ts',
  'runtime/host/test/host.test.ts',
  'runtime/host/test/versions.test.ts',
  'runtime/function/test/function.test.ts',
  'runtime/cli/test/**/*.test.ts',
  'functions/*/test/bundle.test.ts',
  'functions/train/test/train.test.ts',
]
const DEPLOY = ['test/deploy/**/*.test.ts']
const IGNORED = ['**/node_modules/**', '**/.output/**', '.ktrdr/**']

const shared = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
}

export default defineConfig({
  test: {
    // CI has 2 cores: heavy suites (cluster, training) must not all start at once.
    maxWorkers: 2,
    projects: [
      { test: { ...shared, name: 'unit', include: ['**/*.test.ts'], exclude: [...IGNORED, ...CLUSTER, ...DEPLOY] } },
      { test: { ...shared, name: 'cluster', include: CLUSTER, exclude: IGNORED } },
      { test: { ...shared, name: 'deploy', include: DEPLOY, exclude: IGNORED } },
    ],
  },
})
