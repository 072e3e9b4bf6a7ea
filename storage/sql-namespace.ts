// Puts every table and index a statement names under a prefix, so that several logical
// databases can share one SQLite database (a Durable Object has exactly one).
//
// A small tokenizer, not a regex: string literals, comments and quoted identifiers are
// skipped whole, and only identifiers in a table or index position are rewritten: after
// FROM, JOIN, INTO, UPDATE, REFERENCES, TABLE, INDEX (and the ON of CREATE INDEX, the TO of
// ALTER TABLE ... RENAME), and each further table of a `FROM a, b` list. Column names,
// `excluded.x` in an upsert and SQLite's own `sqlite_*` tables are left alone.
// Not supported (nothing in edgelog writes them): `schema.table`, WITH (its names would be
// prefixed like tables), and a column qualified by its table's real name (`t.col`; use an alias).

type Token =
  | { kind: 'space'; text: string }
  | { kind: 'comment'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'punct'; text: string }
  | { kind: 'word'; text: string; upper: string }
  | { kind: 'quoted'; text: string; name: string }

function tokenize(sql: string): Token[] {
  const out: Token[] = []
  let i = 0
  const n = sql.length
  while (i < n) {
    const c = sql[i]!
    const start = i
    if (/\s/.test(c)) {
      while (i < n && /\s/.test(sql[i]!)) i++
      out.push({ kind: 'space', text: sql.slice(start, i) })
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++
      out.push({ kind: 'comment', text: sql.slice(start, i) })
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2)
      i = end < 0 ? n : end + 2
      out.push({ kind: 'comment', text: sql.slice(start, i) })
    } else if (c === "'") {
      i++
      for (;;) {
        if (i >= n) break
        if (sql[i] === "'") {
          if (sql[i + 1] === "'") i += 2
          else {
            i++
            break
          }
        } else i++
      }
      out.push({ kind: 'string', text: sql.slice(start, i) })
    } else if (c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c
      let name = ''
      i++
      while (i < n) {
        if (sql[i] === close) {
          if (close !== ']' && sql[i + 1] === close) {
            name += close
            i += 2
            continue
          }
          i++
          break
        }
        name += sql[i++]
      }
      out.push({ kind: 'quoted', text: sql.slice(start, i), name })
    } else if (/[A-Za-z_]/.test(c)) {
      while (i < n && /[A-Za-z0-9_$]/.test(sql[i]!)) i++
      const text = sql.slice(start, i)
      out.push({ kind: 'word', text, upper: text.toUpperCase() })
    } else {
      i++
      out.push({ kind: 'punct', text: c })
    }
  }
  return out
}

/** Words after which a table (or index) name follows, possibly after the listed filler words. */
const TABLE_AFTER = new Set(['FROM', 'JOIN', 'INTO', 'UPDATE', 'REFERENCES', 'TABLE', 'INDEX'])
const FILLER = new Set(['IF', 'NOT', 'EXISTS', 'OR', 'ROLLBACK', 'ABORT', 'REPLACE', 'FAIL', 'IGNORE', 'ONLY'])
/** Words that end a `FROM a, b` list. */
const CLAUSE = new Set(['WHERE', 'GROUP', 'ORDER', 'LIMIT', 'HAVING', 'WINDOW', 'UNION', 'EXCEPT', 'INTERSECT', 'ON', 'USING', 'JOIN', 'SET', 'VALUES', 'SELECT', 'RETURNING'])

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

export function namespaceSql(sql: string, prefix: string): string {
  const tokens = tokenize(sql)
  let expect = false // the next identifier is a table or index name
  let statement: string | undefined // first word of the statement
  let createIndex = false
  let fromList: number | undefined // paren depth of an open `FROM a, b` list
  let depth = 0
  let prevWord: string | undefined
  const out: string[] = []
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!
    if (t.kind === 'space' || t.kind === 'comment') {
      out.push(t.text)
      continue
    }
    if (t.kind === 'punct') {
      if (t.text === '(') depth++
      if (t.text === ')') {
        depth--
        if (fromList !== undefined && depth < fromList) fromList = undefined
      }
      if (t.text === ';') {
        statement = undefined
        createIndex = false
        fromList = undefined
      }
      if (t.text === ',' && fromList === depth) expect = true
      else expect = false
      out.push(t.text)
      prevWord = undefined
      continue
    }
    if (t.kind === 'string') {
      expect = false
      out.push(t.text)
      continue
    }
    if (t.kind === 'word' && statement === undefined) statement = t.upper
    if (t.kind === 'word' && t.upper === 'INDEX' && statement === 'CREATE') createIndex = true

    if (expect && !(t.kind === 'word' && FILLER.has(t.upper))) {
      expect = false
      const name = t.kind === 'word' ? t.text : t.name
      let j = k + 1
      while (j < tokens.length && (tokens[j]!.kind === 'space' || tokens[j]!.kind === 'comment')) j++
      const qualified = tokens[j]?.text === '.'
      // sqlite_master, sqlite_schema, sqlite_sequence: SQLite's own tables, shared by all.
      const internal = /^sqlite_/i.test(name)
      if (!qualified && !internal && !(t.kind === 'word' && (CLAUSE.has(t.upper) || t.upper === 'SELECT'))) {
        out.push(quoteIdentifier(prefix + name))
        if (prevWord === 'FROM' || prevWord === 'JOIN' || fromList === depth) fromList = depth
        prevWord = undefined
        continue
      }
    }
    if (t.kind === 'word') {
      if (TABLE_AFTER.has(t.upper)) expect = true
      else if (t.upper === 'ON' && createIndex) expect = true
      else if (t.upper === 'TO' && statement === 'ALTER' && prevWord === 'RENAME') expect = true
      else if (FILLER.has(t.upper) && expect) expect = true
      if (CLAUSE.has(t.upper) && fromList === depth) fromList = undefined
      if (!FILLER.has(t.upper)) prevWord = t.upper
    }
    out.push(t.text)
  }
  return out.join('')
}
