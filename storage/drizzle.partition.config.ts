import { defineConfig } from 'drizzle-kit'
export default defineConfig({ dialect: 'sqlite', schema: './storage/schema/partition.ts', out: './storage/migrations/partition' })
