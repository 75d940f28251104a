import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { defineCommand } from 'citty'
import { formatStrategyIssue, validateStrategy } from '../../trading/index.ts'
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
      const r = validateStrategy(text, { file })
      if (!r.valid) failed++
      results.push({ file, valid: r.valid, errors: r.errors, warnings: r.warnings, resolved_features: r.resolved_features })
      if (args.json) continue
      console.log(
        `${r.valid ? 'OK     ' : 'INVALID'} ${file}${r.valid ? ` (${r.strategy!.name}: ${r.resolved_features.length} features)` : ''}`,
      )
      for (const e of r.errors) console.log(`  error   ${formatStrategyIssue(e)}`)
      for (const w of r.warnings) console.log(`  warning ${formatStrategyIssue(w)}`)
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
    files: { type: 'positional', required: true, description: 'One or more strategy YAML files; each is stored under its file name' },
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
          const name = basename(file).replace(/\.ya?ml$/, '')
          const res = await api<{ created: boolean; strategy_name: string; resolved_features: string[] }>(
            `/api/v1/strategies/${encodeURIComponent(name)}`,
            { method: 'PUT', body: text, headers: { 'content-type': 'text/yaml' } },
          )
          if (args.json) stored.push({ source: file, ...res })
          else
            console.log(`${res.created ? 'stored  ' : 'replaced'} ${name} (${res.strategy_name}: ${res.resolved_features.length} features)`)
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
