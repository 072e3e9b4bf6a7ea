// Imported first by the browser bundle (browser.ts). Zod compiles object schemas with
// `new Function` unless told not to; on a page whose Content-Security-Policy has no
// 'unsafe-eval' (as it should not) that attempt is a CSP violation report in every console.
// The flag is read when a schema is built, so this module must run before any schema module.
import { z } from 'zod'

z.config({ jitless: true })
