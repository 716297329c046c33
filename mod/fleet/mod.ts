/**
 * Beyond one host: a node's keys for a closed bus, the manager's key store
 * (issuing, enrolment tokens, revocation), and the messages of the agent
 * channel between the manager and the host agents (`weir join`).
 *
 * ```ts
 * import { KeyStore, readCredentials } from "./mod.ts";
 *
 * const store = await KeyStore.open(`${spoolDir}/keys`);
 * await store.issue(["worker-1"]);
 * const credentials = await readCredentials(store.nodesDir, "worker-1");
 * ```
 *
 * @module
 */

export {
  type BusCredentials,
  createFileAtomic,
  CredentialsError,
  DirectoryWatch,
  type KeyDirectory,
  keyPairText,
  parseDirectory,
  readCredentials,
  writeCredentials,
  writeFileAtomic,
} from "./credentials.ts";
export { DEFAULT_TOKEN_TTL_SEC, type EnrolmentToken, KeyStore, keyStoreDir } from "./keystore.ts";
export {
  type AgentMessage,
  type AgentVerb,
  type ConfigBundle,
  decodeAgentMessage,
  decodeManagerMessage,
  encodeMessage,
  type ManagerMessage,
  type NodeReport,
} from "./protocol.ts";
