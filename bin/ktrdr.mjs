#!/usr/bin/env node
// The ktrdr CLI. TypeScript sources are loaded through tsx so a fresh clone runs without a build.
import { register } from 'tsx/esm/api'

register()
await import('../cli.ts')
