export { DecimalE4Type } from "./decimal.ts";
export { avroTypeOptions, CUSTOMER_EVENT_SCHEMA_TEXT, STAGE_CHANGE_SCHEMA_TEXT, VALUE_TIER_CHANGE_SCHEMA_TEXT, RISK_CHANGE_SCHEMA_TEXT, AUDIENCE_CHANGE_SCHEMA_TEXT, audienceChangeType, customerEventType, stageChangeType, valueTierChangeType, riskChangeType, readSchemaText } from "./schemas.ts";
export { customerEventToRecord, recordToCustomerEvent, type CustomerEventRecord } from "./customer-event-avro.ts";
export { stageChangeToRecord, type StageChangeRecord } from "./stage-change-avro.ts";
export { valueTierChangeToRecord, type ValueTierChangeRecord } from "./value-tier-change-avro.ts";
export { riskChangeToRecord, type RiskChangeRecord } from "./risk-change-avro.ts";
export { audienceChangeToRecord, type AudienceChangeRecord } from "./audience-change-avro.ts";
