import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/.output/**', '.ktrdr/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // CI has 2 cores: heavy suites (cluster, training) must not all start at once.
    maxWorkers: 2,
    pool: 'forks',
  },
})
