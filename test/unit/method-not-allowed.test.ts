import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Hono } from 'hono'
import { methodsByPath, notFoundOrMethodNotAllowed } from '../../src/api/method-not-allowed.ts'

function app() {
  const a = new Hono()
  a.notFound(notFoundOrMethodNotAllowed(() => a.routes))
  a.use('*', async (_c, next) => next())
  a.get('/v1/topics/:topic', (c) => c.text('t'))
  a.delete('/v1/topics/:topic', (c) => c.text('d'))
  a.post('/v1/topics/:topic/records', (c) => c.text('r'))
  a.get('/files/*', (c) => c.text('f'))
  return a
}

test('middleware registered for every method makes no path a resource', () => {
  const table = methodsByPath([{ method: 'ALL', path: '/*' }])
  assert.deepEqual(table, [])
})

test('a parameter matches one segment only', async () => {
  const res = await app().request('/v1/topics/a/b', { method: 'GET' })
  assert.equal(res.status, 404)
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'NOT_FOUND')
})

test('a known path with another method is 405 with the methods it has', async () => {
  const res = await app().request('/v1/topics/orders', { method: 'PATCH' })
  assert.equal(res.status, 405)
  assert.equal(res.headers.get('allow'), 'DELETE, GET, HEAD')
  const body = (await res.json()) as { error: { code: string; message: string } }
  assert.equal(body.error.code, 'METHOD_NOT_ALLOWED')
  assert.match(body.error.message, /PATCH is not allowed on \/v1\/topics\/orders/)
})

test('a wildcard route covers the paths under it; regex characters in a path are literal', async () => {
  assert.equal((await app().request('/files/a/b.txt', { method: 'POST' })).status, 405)
  assert.equal((await app().request('/v1/topicsXorders', { method: 'POST' })).status, 404)
  assert.equal((await app().request('/v1/topics/orders/records', { method: 'POST' })).status, 200)
})
