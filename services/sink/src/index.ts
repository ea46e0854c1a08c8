export { READ_ONLY_PROFILE, READ_ONLY_USER, READ_ONLY_USER_SETTINGS, readOnlyGrants, readOnlyUserStatements } from "./analyst.ts";
export { createClickHouse, insertLines, queryRows, quoteString } from "./clickhouse.ts";
export { migrate, migrationLabel, readMigrations, MigrationError, MIGRATIONS_DIR, type MigrationReport } from "./migrate.ts";
export { Sink, type SinkOptions } from "./sink.ts";
export { createSinkMetrics, type SinkMetrics } from "./metrics.ts";
export { serializeRow, eventRow, transitionRow, snapshotRow, Decimal4 } from "./rows.ts";
