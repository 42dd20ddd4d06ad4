// Ready-made uses of offline tokens: device provisioning and break-glass access.
export {
  BREAKGLASS_ACTION,
  BREAKGLASS_AUDIENCE,
  type BreakGlassIssueOptions,
  type BreakGlassRecord,
  type BreakGlassUseOptions,
  DEFAULT_BREAKGLASS_TTL,
  issueBreakGlassTokens,
  useBreakGlassToken,
} from './breakglass.js';
export {
  checkProvisioningToken,
  DEFAULT_PROVISION_TTL,
  issueProvisioningBatch,
  PROVISION_ACTION,
  PROVISION_AUDIENCE,
  type ProvisionBatchOptions,
  type ProvisionCheckOptions,
  type ProvisionDevice,
  type ProvisioningRecord,
  parseDeviceKeys,
  parseSerials,
} from './provisioning.js';
