import { DeliveryQueue, DestinationStore, publicDestination, type Destination } from "@clm/destinations";
import { createRedis } from "@clm/redis";
import { commandConfig } from "../context.ts";
import { parseDestinationArgs } from "../destination-args.ts";
import { renderTable } from "../table.ts";

export const usage = `clm destinations list [--json]
clm destinations create --url URL --types stage.changed,tier.changed [--audience ID]… [--secret whsec_…] [--max-batch N] [--lanes N] [--description TEXT] [--json]
clm destinations update ID [--url URL] [--types …] [--audience ID]… [--all-audiences] [--max-batch N] [--description TEXT] [--json]
clm destinations rotate-secret ID [--secret whsec_…] [--overlap SECONDS] [--json]
clm destinations delete ID
clm destinations dead-letters ID [--limit 20] [--offset 0] [--json]
clm destinations replay ID [--id MESSAGE_ID]…
  Webhook destinations of the delivery service (services/webhooks), read and written in Redis
  (REDIS_URL, prefix REDIS_KEY_PREFIX) as its HTTP API does; the running service picks changes up
  within WEBHOOKS_POLL_MS. create prints the secret (generated unless --secret): give it to the
  receiver. rotate-secret: a new secret signs from now on, the previous one beside it for --overlap
  seconds (default WEBHOOKS_SECRET_OVERLAP_MS). replay: the dead letters (all, or --id …) go back to
  the tail of their lanes. docs/marketing.md.`;

function summary(destination: Destination, stats: { queued: number; oldestCreatedAt: number | null; deadLetters: number }, now: number): string[] {
  const lag = stats.oldestCreatedAt === null ? "0" : ((now - stats.oldestCreatedAt) / 1000).toFixed(1);
  return [destination.id, destination.url, destination.types.join(","), String(destination.maxBatch), String(stats.queued), lag, String(stats.deadLetters)];
}

export async function run(args: readonly string[]): Promise<number> {
  const command = parseDestinationArgs(args);
  const config = commandConfig();
  const redis = createRedis(config, { maxRetriesPerRequest: 2, lazyConnect: true });
  await redis.connect();
  const store = new DestinationStore(redis, config.REDIS_KEY_PREFIX);
  await store.renameLegacyKeys();
  const queue = new DeliveryQueue(redis, config.REDIS_KEY_PREFIX);
  const now = Date.now();
  const missing = (id: string) => {
    console.error(`clm destinations: no destination ${JSON.stringify(id)} ('clm destinations list' shows them)`);
    return 1;
  };
  try {
    switch (command.action) {
      case "list": {
        const destinations = await store.list();
        const rows = [];
        for (const destination of destinations) rows.push({ destination, stats: await queue.stats(destination.id) });
        if (command.json) console.log(JSON.stringify(rows.map(({ destination, stats }) => ({ ...publicDestination(destination), stats }))));
        else if (rows.length === 0) console.log("no destinations ('clm destinations create --url … --types …')");
        else console.log(renderTable(["id", "url", "types", "batch", "queued", "lag s", "dead"], rows.map(({ destination, stats }) => summary(destination, stats, now)), ["left", "left", "left", "right", "right", "right", "right"]));
        return 0;
      }
      case "create": {
        const destination = await store.create(command.input, now);
        if (command.json) console.log(JSON.stringify(publicDestination(destination, true)));
        else console.log(`created ${destination.id} → ${destination.url} (${destination.types.join(", ")}; ${destination.maxBatch} per request, ${destination.lanes} lanes)\nsecret: ${destination.secrets[0]!.secret}`);
        return 0;
      }
      case "update": {
        const updated = await store.update(command.id, command.patch, now);
        if (updated === null) return missing(command.id);
        console.log(command.json ? JSON.stringify(publicDestination(updated)) : `updated ${updated.id} → ${updated.url} (${updated.types.join(", ")}; ${updated.maxBatch} per request)`);
        return 0;
      }
      case "rotate-secret": {
        const overlapMs = command.overlapSeconds === undefined ? config.WEBHOOKS_SECRET_OVERLAP_MS : command.overlapSeconds * 1000;
        const rotated = await store.rotateSecret(command.id, { ...(command.secret ? { secret: command.secret } : {}), overlapMs }, now);
        if (rotated === null) return missing(command.id);
        if (command.json) console.log(JSON.stringify(publicDestination(rotated, true)));
        else console.log(`new secret of ${rotated.id}: ${rotated.secrets[0]!.secret}\nthe previous one keeps signing beside it until ${new Date(now + overlapMs).toISOString()}`);
        return 0;
      }
      case "delete": {
        if (!(await store.delete(command.id))) return missing(command.id);
        console.log(`deleted ${command.id} with its queue and dead letters`);
        return 0;
      }
      case "dead-letters": {
        if ((await store.get(command.id)) === null) return missing(command.id);
        const letters = await queue.deadLetters(command.id, { offset: command.offset, limit: command.limit });
        if (command.json) console.log(JSON.stringify(letters));
        else if (letters.length === 0) console.log("no dead letters");
        else {
          console.log(
            renderTable(
              ["id", "type", "customer", "reason", "tries", "last error", "dead since"],
              letters.map((letter) => [letter.id, letter.message.type, letter.message.customerId, letter.reason, String(letter.attempts), letter.lastError, new Date(letter.deadAt).toISOString()]),
              ["left", "left", "left", "left", "right", "left", "left"],
            ),
          );
        }
        return 0;
      }
      case "replay": {
        if ((await store.get(command.id)) === null) return missing(command.id);
        const moved = await queue.replay(command.id, command.ids, now);
        console.log(`${moved} dead letter(s) of ${command.id} back in their lanes`);
        return 0;
      }
    }
  } finally {
    redis.disconnect();
  }
}
