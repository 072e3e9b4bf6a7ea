import { defineConfig } from 'drizzle-kit'
export default defineConfig({ dialect: 'sqlite', schema: './storage/schema/meta.ts', out: './storage/migrations/meta' })
