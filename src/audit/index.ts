// Tamper-evident audit log: hash-chained JSON lines with signed checkpoints.
export {
  type AuditEntry,
  CHECKPOINT_EVENT,
  type CheckpointPayload,
  GENESIS_PREV,
  lineHash,
  MAX_LINE_BYTES,
} from './format.js';
export { type AuditVerifyResult, type VerifyAuditOptions, verifyAuditLog } from './verify.js';
export { AuditLog, type AuditLogOptions } from './writer.js';
