export { SIGNAL_KINDS, SIGNAL_TYPES, signalBody, stageChangeSignal, valueTierChangeSignal, riskChangeSignal, audienceChangeSignal, type Signal, type SignalKind, type SignalTopicSettings } from "./signals.ts";
export { generateSecret, SECRET_PREFIX, secretBytes, signatureHeader, signatureOf, verifySignature } from "./secrets.ts";
export {
  destinationCreateSchema,
  destinationUpdateSchema,
  MAX_BATCH,
  MAX_LANES,
  publicDestination,
  replaySchema,
  secretRotationSchema,
  signingSecrets,
  subscribes,
  type Destination,
  type DestinationCreate,
  type DestinationSecret,
  type DestinationUpdate,
} from "./destination.ts";
export { laneOf, WebhookKeys } from "./keys.ts";
export { DEFAULT_LANES, DestinationStore } from "./store.ts";
export { DeliveryQueue, type ClaimedLane, type DeadLetter, type QueuedMessage, type QueueStats, type Tries } from "./queue.ts";
