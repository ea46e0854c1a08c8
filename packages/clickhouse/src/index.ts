// ClickHouse access and the tables' contract: the client, the versioned DDL (../migrations) and
// its migration, the analysts' read-only user, and the rows the sink writes into those tables.
export { READ_ONLY_PROFILE, READ_ONLY_USER, READ_ONLY_USER_SETTINGS, readOnlyGrants, readOnlyUserStatements } from "./analyst.ts";
export { CLUSTER_CLIENT_SETTINGS, createClickHouse, createShardClients, insertLines, queryRows, quoteString, type ClickHouseConnection } from "./client.ts";
export { ClusterDdlError, clusterStatements, CUSTOMER_SHARDING_KEY, localTable, SHARDING_KEYS } from "./cluster-ddl.ts";
export {
  migrate,
  migrateCluster,
  migrateConfigured,
  migrationLabel,
  readMigrations,
  splitStatements,
  MigrationError,
  MIGRATIONS_DIR,
  type Migration,
  type MigrationReport,
  type ShardedClickHouse,
} from "./migrate.ts";
export { serializeRow, eventRow, transitionRow, snapshotRow, valueTierChangeRow, riskChangeRow, audienceChangeRow, dateTimeSeconds, Decimal4, MAX_DATETIME_SECONDS, type Cell, type KafkaPosition, type Row } from "./rows.ts";
export {
  dateLiteral,
  holdoutActualsFromClickHouse,
  insertValueModelFit,
  insertValuePredictions,
  readValueModelFits,
  readValuePredictions,
  UNIT_DAYS,
  valueSummaries,
  valueSummariesQuery,
  type CustomerPrediction,
  type CustomerValueSummary,
  type PredictionSettings,
  type StoredPrediction,
  type StoredValueModelFit,
} from "./value.ts";
