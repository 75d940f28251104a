import { readFile } from 'node:fs/promises'
import { defineCommand } from 'citty'
import { formatStrategyIssue, STRATEGY_NAME_RE, strategyNameOf, validateStrategy, type StrategyIssue } from '../../trading/index.ts'
import { apiArgs, guard, useGatewayApi } from '../../runtime/cli/index.ts'

const validate = defineCommand({
  meta: { name: 'validate', description: 'Validate v3 strategy files; exits non-zero when any is invalid' },
  args: {
    files: { type: 'positional', required: true, description: 'One or more strategy YAML files' },
    features: { type: 'boolean', description: 'Also print the resolved feature list' },
    json: { type: 'boolean', description: 'Print JSON results' },
  },
  run: async ({ args }) => {
    const files = (args._ as string[]).length ? (args._ as string[]) : [args.files as string]
    const results = []
    let failed = 0
    for (const file of files) {
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch (error) {
        console.error(`${file}: cannot read (${(error as Error).message})`)
        failed++
        continue
      }
      // Validated as what `upload` would register: the file name is the strategy's name.
      const name = strategyNameOf(file)
      const r = validateStrategy(text, { file, ...(STRATEGY_NAME_RE.test(name) ? { name } : {}) })
      if (!r.valid) failed++
      results.push({
        file,
        name: r.strategy?.name ?? null,
        valid: r.valid,
        errors: r.errors,
        warnings: r.warnings,
        notes: r.notes,
        resolved_features: r.resolved_features,
      })
      if (args.json) continue
      console.log(
        `${r.valid ? 'OK     ' : 'INVALID'} ${file}${r.valid ? ` (${r.strategy!.name}: ${r.resolved_features.length} features)` : ''}`,
      )
      for (const e of r.errors) console.log(`  error   ${formatStrategyIssue(e)}`)
      for (const w of r.warnings) console.log(`  warning ${formatStrategyIssue(w)}`)
      for (const n of r.notes) console.log(`  note    ${formatStrategyIssue(n)}`)
      if (args.features && r.valid) for (const f of r.resolved_features) console.log(`  ${f}`)
    }
    if (args.json) console.log(JSON.stringify(results, null, 2))
    if (failed) process.exitCode = 1
  },
})

const upload = defineCommand({
  meta: {
    name: 'upload',
    description: "Validate strategy files and store them in the cluster's strategies mount (train and backtest find them by name)",
  },
  args: {
    files: {
      type: 'positional',
      required: true,
      description: "One or more strategy YAML files; each is stored under its file name, which becomes its name: (the YAML's is rewritten)",
    },
    ...apiArgs,
  },
  run: ({ args }) =>
    guard(async () => {
      const api = useGatewayApi(args.url)
      const files = (args._ as string[]).length ? (args._ as string[]) : [args.files as string]
      let failed = 0
      // --json: one array of the gateway's answers, printed once, so stdout parses as one document.
      const stored: unknown[] = []
      for (const file of files) {
        try {
          const text = await readFile(file, 'utf8')
          const name = strategyNameOf(file)
          const res = await api<{
            created: boolean
            name: string
            resolved_features: string[]
            warnings?: StrategyIssue[]
            notes?: StrategyIssue[]
          }>(`/api/v1/strategies/${encodeURIComponent(name)}`, { method: 'PUT', body: text, headers: { 'content-type': 'text/yaml' } })
          if (args.json) {
            stored.push({ source: file, ...res })
            continue
          }
          console.log(`${res.created ? 'stored  ' : 'replaced'} ${res.name} (${res.resolved_features.length} features)`)
          for (const w of res.warnings ?? []) console.log(`  warning ${formatStrategyIssue({ ...w, file })}`)
          for (const n of res.notes ?? []) console.log(`  note    ${formatStrategyIssue({ ...n, file })}`)
        } catch (error) {
          failed++
          console.error(`${file}: ${(error as Error).message}`)
        }
      }
      if (args.json) console.log(JSON.stringify(stored, null, 2))
      if (failed) throw new Error(`${failed} of ${files.length} strategies not stored`)
    }),
})

export default defineCommand({
  meta: { name: 'strategy', description: 'v3 strategy grammar tools' },
  subCommands: { validate, upload },
})
