// Lint in the unjs style (eslint-config-unjs). The import boundaries of docs/architecture.md are
// checked by scripts/check-imports.mjs, which resolves every import against the package table.
// `npm run check` runs both; `npm run test:ci` (the README's test command, CI) runs it before the tests.
import unjs from 'eslint-config-unjs'

export default unjs({
  ignores: ['node_modules', '.ktrdr', '**/.output', '.nitro', 'dist', 'deploy/lxc/shim-compat'],
  markdown: false,
  rules: {
    // Hot loops here are measured (docs/decisions.md): indexed for-loops, `new Array(n)`, `x | 0`
    // and `isNaN` on known numbers stay as written.
    'unicorn/no-for-loop': 0,
    'unicorn/no-new-array': 0,
    'unicorn/prefer-math-trunc': 0,
    'unicorn/prefer-number-properties': 0,
    'unicorn/prefer-spread': 0,
    'unicorn/prefer-at': 0,
    'unicorn/no-array-for-each': 0,
    'unicorn/no-array-callback-reference': 0,
    'unicorn/no-nested-ternary': 0,
    'unicorn/no-negated-condition': 0,
    'unicorn/explicit-length-check': 0,
    'unicorn/switch-case-braces': 0,
    'unicorn/catch-error-name': 0,
    'unicorn/consistent-existence-index-check': 0,
    'unicorn/prefer-math-min-max': 0,
    'unicorn/no-zero-fractions': 0,
    'unicorn/prefer-top-level-await': 0,
    'unicorn/no-process-exit': 0,
    'unicorn/prefer-export-from': 0,
    'unicorn/prefer-switch': 0,
    'unicorn/no-lonely-if': 0,
    'unicorn/no-array-reduce': 0,
    // Best-effort clean-up (kill a process that may be gone, probe a device that may not exist).
    'no-empty': ['error', { allowEmptyCatch: true }],
    'unicorn/numeric-separators-style': ['error', { onlyIfContainsSeparator: true }],
    '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_', caughtErrors: 'none' }],
  },
})
