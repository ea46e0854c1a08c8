// The read side of the processor's Redis state: what any process may do with it without
// taking part in the processor's fenced writes. Writes outside the processor are in ./admin,
// except the audience definitions, which the audience API owns (the processor only reads them).
export { RedisLayout, type LayoutKey } from "./redis-layout.ts";
export { renameLegacyAudienceKeys } from "./legacy-keys.ts";
export { StateReader, type PartitionMeta } from "./state-reader.ts";
export { RfmBoundaryReader } from "./rfm-boundaries.ts";
export { parseValueModel, readCurrentValueModel, readValueModel, ValueModelError, valueModelSchema } from "./value-model.ts";
export {
  AudienceDefinitionsError,
  audienceMemberCount,
  audienceMembersPage,
  decodeMemberCursor,
  encodeMemberCursor,
  parseAudienceDefinitions,
  readAudienceDefinitions,
  readCurrentAudiences,
  saveAudienceDefinitions,
  type MemberPage,
} from "./audiences.ts";
