// Runs after `npm ci` (postinstall). kafkajs 2.2.4 is the last release (unmaintained since 2023);
// two of its producer internals cost the processor measurably (docs/performance.md, fifth round):
//  - grouping a send's messages per partition copied the partition's array for every message
//    (quadratic; tulios/kafkajs#1576): 1.2 GB allocated per 1M input events, as stage changes
//    of one processor partition mostly share one output partition;
//  - every record's encoder zero-filled a fresh 512-byte buffer, though only written bytes
//    are ever read back (`buffer` is the written prefix).
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
