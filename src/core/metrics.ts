// A small Prometheus registry: counters and gauges with labels, rendered as text format 0.0.4.
// Label sets are bounded by what the node owns (topics, partitions), never by client input.

type Labels = Record<string, string | number>

interface Family {
  name: string
  help: string
  type: 'counter' | 'gauge'
  values: Map<string, number>
  collect?: () => Array<[Labels, number]>
}

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels)
  if (keys.length === 0) return ''
  return keys.map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')
}

export class Metrics {
  private readonly families = new Map<string, Family>()

  counter(name: string, help: string) {
    const f = this.family(name, help, 'counter')
    return {
      inc: (labels: Labels = {}, by = 1) => {
        const k = labelKey(labels)
        f.values.set(k, (f.values.get(k) ?? 0) + by)
      },
      remove: (labels: Labels) => f.values.delete(labelKey(labels)),
    }
  }

  /** A gauge read when /metrics is scraped, so hot paths never update it. */
  gauge(name: string, help: string, collect: () => Array<[Labels, number]>): void {
    this.family(name, help, 'gauge').collect = collect
  }

  /** Drops every series of every family that carries these labels (a deleted topic). */
  forget(match: Labels): void {
    const parts = Object.entries(match).map(([k, v]) => labelKey({ [k]: v }))
    for (const f of this.families.values()) {
      for (const key of [...f.values.keys()]) if (parts.every((p) => key.split(',').includes(p))) f.values.delete(key)
    }
  }

  render(): string {
    let out = ''
    for (const f of this.families.values()) {
      out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`
      const series: Array<[string, number]> = f.collect ? f.collect().map(([l, v]) => [labelKey(l), v]) : [...f.values]
      for (const [k, v] of series) out += k ? `${f.name}{${k}} ${v}\n` : `${f.name} ${v}\n`
    }
    return out
  }

  private family(name: string, help: string, type: Family['type']): Family {
    let f = this.families.get(name)
    if (!f) {
      f = { name, help, type, values: new Map() }
      this.families.set(name, f)
    }
    return f
  }
}
