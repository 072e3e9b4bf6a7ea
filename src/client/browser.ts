// The entry of the browser bundle served at /v1/client.js (scripts/build-client.ts): the client,
// with zod's eval-based JIT off so the bundle runs under a strict Content-Security-Policy.
import './zod-jitless.ts'

export * from './index.ts'
