import { quoteString } from "./client.ts";

/**
 * The analysts' read-only ClickHouse user, as servers with SQL user management (ClickHouse ≥ 20.5) get
 * it from `migrate`. ClickHouse 18.16 has no SQL users; the local stack defines the same user and
 * settings in its users.xml (infra/clickhouse/users.xml).
 */
export const READ_ONLY_USER = "clm_analyst";
export const READ_ONLY_PROFILE = "clm_analyst_profile";

/**
 * The analyst's settings, each fixed (a READONLY constraint). readonly = 1 refuses writes, DDL, every
 * change of a setting and (with no grant on a source) every table function; the two limits stay as set.
 */
export const READ_ONLY_USER_SETTINGS = {
  readonly: 1,
  max_execution_time: 300,
  max_memory_usage: 4_000_000_000,
} as const;

/**
 * Every privilege the user holds: reading the database, nothing else. No REMOTE, URL, FILE or other
 * source (remote(), url(), file() and the like), no CREATE TEMPORARY TABLE, no SHOW USERS, no grant on
 * any system table: where `access_control_improvements.select_from_system_db_requires_grant` is on
 * (the default of current servers), system.processes and system.query_log — other users' query
 * text — are refused too.
 */
export function readOnlyGrants(database: string): string[] {
  return [`SELECT ON ${database}.*`];
}

/**
 * The statements that create the user, or bring an existing one to exactly this definition (an
 * earlier `migrate` created it with readonly = 2 and no profile): the profile's settings, the
 * password, and the grants are replaced, not added to.
 */
export function readOnlyUserStatements(database: string, password: string): string[] {
  const settings = Object.entries(READ_ONLY_USER_SETTINGS)
    .map(([name, value]) => `${name} = ${value} READONLY`)
    .join(", ");
  const identified = `IDENTIFIED WITH sha256_password BY ${quoteString(password)} SETTINGS PROFILE ${quoteString(READ_ONLY_PROFILE)}`;
  return [
    `CREATE SETTINGS PROFILE IF NOT EXISTS ${READ_ONLY_PROFILE} SETTINGS ${settings}`,
    `ALTER SETTINGS PROFILE ${READ_ONLY_PROFILE} SETTINGS ${settings}`,
    `CREATE USER IF NOT EXISTS ${READ_ONLY_USER} ${identified}`,
    `ALTER USER ${READ_ONLY_USER} ${identified}`,
    `REVOKE ALL ON *.* FROM ${READ_ONLY_USER}`,
    ...readOnlyGrants(database).map((grant) => `GRANT ${grant} TO ${READ_ONLY_USER}`),
  ];
}
