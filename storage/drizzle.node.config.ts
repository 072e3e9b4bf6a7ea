import { defineConfig } from 'drizzle-kit'
export default defineConfig({ dialect: 'sqlite', schema: './storage/schema/node.ts', out: './storage/migrations/node' })
