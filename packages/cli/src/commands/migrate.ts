import { createClickHouse, migrateConfigured } from "@clm/clickhouse";
import { parseCommandArgs } from "../args.ts";
import { commandConfig } from "../context.ts";

export const usage = `clm migrate
  Applies the ClickHouse migrations (packages/clickhouse/migrations) not yet applied to CLICKHOUSE_DATABASE
  (on every shard of CLICKHOUSE_SHARD_URLS when CLICKHOUSE_CLUSTER is set).`;

export async function run(args: readonly string[]): Promise<number> {
  parseCommandArgs(args, {}, { min: 0, max: 0 });
  const config = commandConfig();
  const client = createClickHouse(config);
  try {
    const report = await migrateConfigured(config, client);
    console.log(`database ${report.database} at ${config.CLICKHOUSE_CLUSTER ? `${config.CLICKHOUSE_SHARD_URLS.join(", ")} (cluster ${config.CLICKHOUSE_CLUSTER})` : config.CLICKHOUSE_URL}`);
    console.log(`applied:         ${report.applied.length > 0 ? report.applied.join(", ") : "(none)"}`);
    console.log(`already applied: ${report.alreadyApplied.length > 0 ? report.alreadyApplied.join(", ") : "(none)"}`);
    console.log(`read-only user:  ${report.readOnlyUser}`);
    return 0;
  } finally {
    await client.close();
  }
}
