import { parseCommandArgs } from "../args.ts";
import { commandConfig } from "../context.ts";
import { consumerGroups, ensureProjectTopics, projectTopics, withAdmin, withFreshLeaders } from "../kafka-admin.ts";
import { groupLag, topicOffsets, type GroupLag } from "../kafka-offsets.ts";
import { formatCount, renderTable } from "../table.ts";

export const usage = `clm topics [--json]
  Creates the project's topics if missing, then shows each with its partitions, messages retained
  (end − start offsets) and the lag of the processor and sink consumer groups.`;

export async function run(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { json: { type: "boolean", default: false } }, { min: 0, max: 0 });
  const config = commandConfig();
  const groups = consumerGroups(config);

  const rows = await withAdmin(config, async (admin) => {
    await ensureProjectTopics(admin, config);
    // One topic after the other: a retry reconnects the admin, which must not cut off a parallel request.
    const found = [];
    for (const topic of projectTopics(config)) {
      const offsets = await withFreshLeaders(admin, () => topicOffsets(admin, topic));
      const lags = new Map<string, GroupLag>();
      for (const group of groups) if (group.topics.includes(topic)) lags.set(group.name, await withFreshLeaders(admin, () => groupLag(admin, group.groupId, offsets)));
      found.push({ offsets, lags });
    }
    return found;
  });

  if (values.json) {
    console.log(
      JSON.stringify({
        topics: rows.map(({ offsets, lags }) => ({
          topic: offsets.topic,
          partitions: offsets.partitions.length,
          messages: Number(offsets.messages),
          groups: Object.fromEntries([...lags].map(([name, lag]) => [name, { groupId: lag.groupId, lag: Number(lag.lag), committedPartitions: lag.committedPartitions }])),
        })),
      }),
    );
    return 0;
  }

  let uncommitted = false;
  const lagCell = (lag: GroupLag | undefined) => {
    if (lag === undefined) return "-";
    if (lag.committedPartitions > 0) return formatCount(lag.lag);
    uncommitted = true;
    return `${formatCount(lag.lag)}*`;
  };
  console.log(
    renderTable(
      ["topic", "partitions", "messages", ...groups.map((group) => `${group.name} lag`)],
      rows.map(({ offsets, lags }) => [
        offsets.topic,
        String(offsets.partitions.length),
        formatCount(offsets.messages),
        ...groups.map((group) => lagCell(lags.get(group.name))),
      ]),
      ["left", "right", "right", "right", "right"],
    ),
  );
  console.log(`groups: ${groups.map((group) => `${group.name} = ${group.groupId}`).join(", ")}`);
  if (uncommitted) console.log("* the group has committed no offset on this topic yet (it has not consumed it)");
  return 0;
}
