// Runs after `npm ci` (postinstall). kafkajs 2.2.4 is the last release (unmaintained since 2023);
// two of its producer internals cost the processor measurably (docs/performance.md, fifth round):
//  - grouping a send's messages per partition copied the partition's array for every message
//    (quadratic; tulios/kafkajs#1576): 1.2 GB allocated per 1M input events, as stage changes
//    of one processor partition mostly share one output partition;
//  - every record's encoder zero-filled a fresh 512-byte buffer, though only written bytes
//    are ever read back (`buffer` is the written prefix);
//  - every fetched record's offset and timestamp went through 64-bit `Long`s (BigInt): the
//    varlong read allocated a few per byte, and the base offset and timestamp were parsed from
//    text and printed back per record, then parsed again to filter the batch. Numbers are exact
//    below 2^53 (offsets and millisecond timestamps are far below); beyond it the Long path runs.
// Each patch replaces an exact text; a kafkajs whose text differs is left as it is, with a note.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { stderr } from "node:process";

const require = createRequire(import.meta.url);
const MARK = "/* patched by scripts/patch-kafkajs.mjs */";

const patches = [
  {
    file: "kafkajs/src/producer/groupMessagesPerPartition.js",
    from: `  return messages.reduce((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message })
    const current = result[partition] || []
    return Object.assign(result, { [partition]: [...current, message] })
  }, {})`,
    to: `  ${MARK}
  const result = {}
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message })
    const current = result[partition] || (result[partition] = [])
    current.push(message)
  }
  return result`,
  },
  {
    file: "kafkajs/src/protocol/encoder.js",
    from: `    this.buf = Buffer.alloc(Encoder.nextPowerOfTwo(initialSize))`,
    to: `    ${MARK}
    this.buf = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(initialSize))`,
  },
  {
    file: "kafkajs/src/protocol/encoder.js",
    from: `      const newBuffer = Buffer.alloc(newLength)`,
    to: `      ${MARK}
      const newBuffer = Buffer.allocUnsafe(newLength)`,
  },
  {
    file: "kafkajs/src/protocol/recordBatch/record/v0/decoder.js",
    from: `const TimestampTypes = require('../../../timestampTypes')
`,
    to: `const TimestampTypes = require('../../../timestampTypes')

${MARK}
// base (an int64 as decimal text) + delta (a Number, or a Long beyond 2^53), as decimal text.
const addToDecimal = (base, delta) => {
  if (typeof delta === 'number') {
    const start = Number(base)
    const sum = start + delta
    if (Number.isSafeInteger(start) && Number.isSafeInteger(sum)) return String(sum)
  }
  return Long.fromValue(base)
    .add(delta)
    .toString()
}

// A zigzag varlong of up to 7 bytes (49 bits, exact as a Number) without Longs; longer ones as before.
const readVarLongFast = decoder => {
  const buffer = decoder.buffer
  let offset = decoder.offset
  let value = 0
  let scale = 1
  for (let i = 0; i < 7 && offset < buffer.length; i++) {
    const byte = buffer[offset++]
    value += (byte & 0x7f) * scale
    if (byte < 0x80) {
      decoder.offset = offset
      return value % 2 === 0 ? value / 2 : -(value + 1) / 2
    }
    scale *= 128
  }
  return decoder.readVarLong()
}
`,
  },
  {
    file: "kafkajs/src/protocol/recordBatch/record/v0/decoder.js",
    from: `  const timestampDelta = decoder.readVarLong()
  const timestamp =
    timestampType === TimestampTypes.LOG_APPEND_TIME && maxTimestamp
      ? maxTimestamp
      : Long.fromValue(firstTimestamp)
          .add(timestampDelta)
          .toString()

  const offsetDelta = decoder.readVarInt()
  const offset = Long.fromValue(firstOffset)
    .add(offsetDelta)
    .toString()`,
    to: `  ${MARK}
  const timestampDelta = readVarLongFast(decoder)
  const timestamp =
    timestampType === TimestampTypes.LOG_APPEND_TIME && maxTimestamp
      ? maxTimestamp
      : addToDecimal(firstTimestamp, timestampDelta)

  const offsetDelta = decoder.readVarInt()
  const offset = addToDecimal(firstOffset, offsetDelta)`,
  },
  {
    file: "kafkajs/src/consumer/batch.js",
    from: `    this.messagesWithinOffset = this.rawMessages.filter(message =>
      Long.fromValue(message.offset).gte(longFetchedOffset)
    )`,
    to: `    ${MARK}
    const fetchedNumber = Number(this.fetchedOffset)
    this.messagesWithinOffset = this.rawMessages.filter(message => {
      const offset = Number(message.offset)
      return Number.isSafeInteger(offset) && Number.isSafeInteger(fetchedNumber)
        ? offset >= fetchedNumber
        : Long.fromValue(message.offset).gte(longFetchedOffset)
    })`,
  },
];

for (const patch of patches) {
  let path;
  try {
    path = require.resolve(patch.file);
  } catch {
    stderr.write(`patch-kafkajs: ${patch.file} not found; not patched\n`);
    continue;
  }
  const text = readFileSync(path, "utf8");
  if (text.includes(patch.to)) continue;
  if (!text.includes(patch.from)) {
    stderr.write(`patch-kafkajs: ${patch.file} is not the text this patch expects (another kafkajs version?); left as it is\n`);
    continue;
  }
  writeFileSync(path, text.replace(patch.from, patch.to));
}
