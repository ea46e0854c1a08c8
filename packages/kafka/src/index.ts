export { createKafka } from "./client.ts";
export { ensureProjectTopics, ensureTopics, projectTopics, projectTopicSpecs, topicCreation, type ProjectTopicSettings, type TopicSpec } from "./topics.ts";
export { AvroSerde, AvroDecodeError, createRegistry, RegistryUnavailableError, REGISTRY_REQUEST_TIMEOUT_MS, type RegistryClientOptions } from "./avro-serde.ts";
export { deadLetterMessage, type DeadLetter } from "./dead-letter.ts";
export { producedAt } from "./produced-at.ts";
export { CLOCK_ADVANCE_HEADER, clockAdvanceMessage, readClockAdvance, type ClockAdvanceHeader } from "./clock-advance.ts";
export { readValueModelActivation, VALUE_MODEL_HEADER, valueModelActivationMessage, type ValueModelActivation } from "./value-model-activation.ts";
export { AUDIENCES_HEADER, audiencesActivationMessage, readAudiencesActivation, type AudiencesActivation } from "./audiences-activation.ts";
export { createIdempotentProducer } from "./producer.ts";
export { receivedAtOf } from "./received-at.ts";
export { JavaCompatiblePartitioner, murmur2, partitionForKey } from "./partitioner.ts";
export { isBrokerUnavailable, runSupervised, type SupervisedConsumer, type SupervisionOptions } from "./consumer-supervision.ts";
export { KAFKAJS_INTERNAL_PATHS, loadKafkajsInternals, type KafkajsInternals } from "./kafkajs-internals.ts";
export {
  installedKafkajsDir,
  KAFKAJS_FIXES,
  KAFKAJS_PATCH_FILE,
  KAFKAJS_PATCHED_GAUGE,
  KAFKAJS_PATCHED_VERSION,
  kafkajsPatchStatus,
  reportKafkajsPatchStatus,
  type KafkajsFix,
  type KafkajsPatchStatus,
} from "./kafkajs-patch.ts";
export { prepareWhileRegistryAway, type RegistryWaitOptions } from "./registry-wait.ts";
export {
  isRecordRefusal,
  KAFKA_DEFAULT_MAX_MESSAGE_BYTES,
  RECORD_BATCH_OVERHEAD_BYTES,
  recordBytes,
  RecordTooLargeError,
  splitIntoRecordBatches,
  topicMaxMessageBytes,
} from "./produce-limits.ts";
