/**
 * Where destinations and their delivery state live in Redis, under the pipeline's REDIS_KEY_PREFIX
 * (so a test's isolated prefix isolates them too):
 *   <p>:webhooks:{destinations}            HASH  id → destination (JSON)
 *   <p>:webhooks:{destinations}:version    STRING incremented on every change (the service reloads)
 *   <p>:webhooks:d:{<id>}:lane:<n>         LIST  message ids of lane n in delivery order (head first)
 *   <p>:webhooks:d:{<id>}:msg              HASH  message id → message (JSON: body, type, customer, created)
 *   <p>:webhooks:d:{<id>}:due              ZSET  lane n → when its head may be tried (ms); a claimed lane's lease end
 *   <p>:webhooks:d:{<id>}:age              ZSET  message id → signal creation (Kafka timestamp): lag and depth
 *   <p>:webhooks:d:{<id>}:tries            HASH  message id → "attempts:firstAttemptAt:lastError"
 *   <p>:webhooks:d:{<id>}:dead             HASH  message id → dead letter (JSON)
 *   <p>:webhooks:d:{<id>}:dead:order       ZSET  message id → when it was dead-lettered
 * The hash tags ({destinations}, {<id>}) keep what one script or transaction touches in one hash
 * slot, as a Redis Cluster requires: the destinations with their version, and each destination's
 * whole queue (its scripts build lane keys from the lane prefix). Before the tags the same names
 * had none; legacyDestinationKeys and legacyQueueKeys pair a single server's old names with the new.
 */
export class WebhookKeys {
  readonly destinations: string;
  readonly version: string;

  constructor(readonly prefix: string) {
    this.destinations = `${prefix}:webhooks:{destinations}`;
    this.version = `${prefix}:webhooks:{destinations}:version`;
  }

  /** The destinations' keys under their names before the hash tags, with their names now. */
  legacyDestinationKeys(): { from: string; to: string }[] {
    return [
      { from: `${this.prefix}:webhooks:destinations`, to: this.destinations },
      { from: `${this.prefix}:webhooks:destinations:version`, to: this.version },
    ];
  }

  /** A destination's queue keys (`lanes` lanes) under their names before the hash tags, with their names now. */
  legacyQueueKeys(destinationId: string, lanes: number): { from: string; to: string }[] {
    const old = `${this.prefix}:webhooks:d:${destinationId}`;
    const of = this.of(destinationId);
    return [
      { from: `${old}:msg`, to: of.msg },
      { from: `${old}:due`, to: of.due },
      { from: `${old}:age`, to: of.age },
      { from: `${old}:tries`, to: of.tries },
      { from: `${old}:dead`, to: of.dead },
      { from: `${old}:dead:order`, to: of.deadOrder },
      ...Array.from({ length: lanes }, (_, lane) => ({ from: `${old}:lane:${lane}`, to: of.lane(lane) })),
    ];
  }

  of(destinationId: string) {
    const base = `${this.prefix}:webhooks:d:{${destinationId}}`;
    return {
      lanePrefix: `${base}:lane:`,
      lane: (lane: number) => `${base}:lane:${lane}`,
      msg: `${base}:msg`,
      due: `${base}:due`,
      age: `${base}:age`,
      tries: `${base}:tries`,
      dead: `${base}:dead`,
      deadOrder: `${base}:dead:order`,
      pattern: `${base}:*`,
    };
  }
}

/** FNV-1a (32 bit) of the customer id: its lane is this modulo the destination's lane count. */
export function laneOf(customerId: string, lanes: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < customerId.length; index++) {
    hash ^= customerId.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % lanes;
}
