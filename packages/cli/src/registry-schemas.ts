import type { Config } from "@clm/config";
import { AUDIENCE_CHANGE_SCHEMA_TEXT, CUSTOMER_EVENT_SCHEMA_TEXT, RISK_CHANGE_SCHEMA_TEXT, STAGE_CHANGE_SCHEMA_TEXT, VALUE_TIER_CHANGE_SCHEMA_TEXT } from "@clm/contracts";
import { AvroSerde, createRegistry } from "@clm/kafka";

/**
 * Registers the value schemas (events, stage, value-tier, risk and audience changes) one after the other before `up` starts
 * the services. Ingest and the processor both register the events schema at start; on a fresh
 * registry (after `stack reset`) two first registrations of one subject race inside the registry
 * client (read config → register → set BACKWARD), and the loser reads the subject's interim
 * config (NONE) and exits with a compatibility error. Registered here first, both find BACKWARD.
 */
export async function registerProjectSchemas(config: Config): Promise<string[]> {
  const registry = createRegistry(config.SCHEMA_REGISTRY_URL);
  const subjects: [string, string][] = [
    [`${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT],
    [`${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT],
    [`${config.TOPIC_VALUE_TIER_CHANGES}-value`, VALUE_TIER_CHANGE_SCHEMA_TEXT],
    [`${config.TOPIC_RISK_CHANGES}-value`, RISK_CHANGE_SCHEMA_TEXT],
    [`${config.TOPIC_AUDIENCE_CHANGES}-value`, AUDIENCE_CHANGE_SCHEMA_TEXT],
  ];
  const registered: string[] = [];
  for (const [subject, schemaText] of subjects) {
    const id = await new AvroSerde(registry, subject, schemaText).register();
    registered.push(`${subject} (id ${id})`);
  }
  return registered;
}
