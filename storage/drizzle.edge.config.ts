import { defineConfig } from 'drizzle-kit'
export default defineConfig({ dialect: 'sqlite', schema: './storage/schema/edge.ts', out: './storage/migrations/edge' })
