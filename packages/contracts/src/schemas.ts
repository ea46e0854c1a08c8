import { readFileSync } from "node:fs";
import avro from "avsc";
import { DecimalE4Type } from "./decimal.ts";

/** The Avro schemas in schemas/ (the wire contract), parsed once with the pipeline's logical types. */
const SCHEMA_DIR = new URL("../../../schemas/", import.meta.url);

/**
 * Options for avsc's Type.forSchema. A fresh object every call: avsc stores the
 * named types it parses in `options.registry`, so a shared object would make a
 * second parse of the same schema fail with "duplicate type name".
 */
export function avroTypeOptions() {
  return {
    logicalTypes: { decimal: DecimalE4Type },
    // Unions of several records are wrapped ({"clm.v1.Purchase": {...}}); nullable ones are not.
    wrapUnions: "auto" as const,
  };
}

export function readSchemaText(file: string): string {
  return readFileSync(new URL(file, SCHEMA_DIR), "utf8");
}

export const CUSTOMER_EVENT_SCHEMA_TEXT = readSchemaText("customer-event.avsc");
export const STAGE_CHANGE_SCHEMA_TEXT = readSchemaText("stage-change.avsc");
export const VALUE_TIER_CHANGE_SCHEMA_TEXT = readSchemaText("value-tier-change.avsc");
export const RISK_CHANGE_SCHEMA_TEXT = readSchemaText("risk-change.avsc");
export const AUDIENCE_CHANGE_SCHEMA_TEXT = readSchemaText("audience-change.avsc");

export const customerEventType = avro.Type.forSchema(JSON.parse(CUSTOMER_EVENT_SCHEMA_TEXT) as avro.Schema, avroTypeOptions());
export const stageChangeType = avro.Type.forSchema(JSON.parse(STAGE_CHANGE_SCHEMA_TEXT) as avro.Schema, avroTypeOptions());
export const valueTierChangeType = avro.Type.forSchema(JSON.parse(VALUE_TIER_CHANGE_SCHEMA_TEXT) as avro.Schema, avroTypeOptions());
export const riskChangeType = avro.Type.forSchema(JSON.parse(RISK_CHANGE_SCHEMA_TEXT) as avro.Schema, avroTypeOptions());
export const audienceChangeType = avro.Type.forSchema(JSON.parse(AUDIENCE_CHANGE_SCHEMA_TEXT) as avro.Schema, avroTypeOptions());
