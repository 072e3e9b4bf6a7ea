// CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2. It runs over every byte that is
// produced, replicated and verified on fetch, so it uses slicing-by-8: eight 256-entry tables let
// one loop iteration fold eight input bytes with eight independent lookups instead of a chain of
// eight dependent ones. Runtimes expose no CRC-32C primitive on the web platform, hence table code.

const POLYNOMIAL_REFLECTED = 0x82f63b78

// TABLES[k * 256 + b] is the CRC contribution of byte b followed by k zero bytes.
// One flat array keeps all eight tables in one allocation and lets the JIT drop bounds checks
// on `& 0xff` indexes into a fixed-length typed array. The entries are stored signed
// (Int32Array): a Uint32Array entry ≥ 2^31 is a double to the JIT, and input that happens to hit
// such entries (100 bytes of 'x') made JavaScriptCore fall off its int32 path, 20× slower.
const TABLES = buildTables()

function buildTables(): Int32Array {
  const tables = new Int32Array(8 * 256)
  for (let b = 0; b < 256; b++) {
    let crc = b
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL_REFLECTED : crc >>> 1
    }
    tables[b] = crc
  }
  for (let b = 0; b < 256; b++) {
    let crc = tables[b]
    for (let k = 1; k < 8; k++) {
      crc = (crc >>> 8) ^ tables[crc & 0xff]!
      tables[k * 256 + b] = crc
    }
  }
  return tables
}

/** CRC-32C of bytes[start, end) as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array, start = 0, end: number = bytes.length): number {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > bytes.length) {
    throw new RangeError(`crc32c: range [${start}, ${end}) is outside a buffer of ${bytes.length} bytes`)
  }
  const t = TABLES
  let crc = -1 // ~0: the register starts all ones
  let i = start
  const end8 = start + ((end - start) & ~7)
  while (i < end8) {
    const lo = crc ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24))
    crc =
      t[1792 + (lo & 0xff)] ^
      t[1536 + ((lo >>> 8) & 0xff)] ^
      t[1280 + ((lo >>> 16) & 0xff)] ^
      t[1024 + (lo >>> 24)] ^
      t[768 + bytes[i + 4]] ^
      t[512 + bytes[i + 5]] ^
      t[256 + bytes[i + 6]] ^
      t[bytes[i + 7]]
    i += 8
  }
  while (i < end) {
    crc = (crc >>> 8) ^ t[(crc ^ bytes[i]) & 0xff]
    i++
  }
  return ~crc >>> 0
}
