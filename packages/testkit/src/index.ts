/**
 * @kommander/testkit: the deterministic cluster simulator (real RaftManager nodes on virtual time, a
 * nemesis, invariant checkers) and the conformance suites every Wal and Transport adapter runs.
 */
export { walConformance } from './conformance/wal-conformance.js';
export type { WalCapabilities, WalConformanceOptions } from './conformance/wal-conformance.js';
export { walClusterSuite } from './conformance/wal-cluster.js';
export type { WalClusterSuiteOptions } from './conformance/wal-cluster.js';
export { transportConformance } from './conformance/transport-conformance.js';
export type {
  TransportCapabilities,
  TransportCluster,
  TransportConformanceOptions,
} from './conformance/transport-conformance.js';
export type { ConformanceTest } from './conformance/conformance-test.js';

export { runSimulation, replayCommand } from './sim/simulation.js';
export type { SimulationOptions, SimulationReport } from './sim/simulation.js';
export { SimulatedCluster, SimulationError } from './sim/cluster.js';
export type {
  ClusterInvariant,
  InvariantContext,
  NodeStateMachine,
  SimulatedClusterOptions,
  SimulatedRaftOptions,
  StateMachineFactory,
} from './sim/cluster.js';
export { VirtualClock, NodeClock, VIRTUAL_EPOCH_MS } from './sim/virtual-clock.js';
export type { ExecutedEvent } from './sim/virtual-clock.js';
export { SimNetwork, SimTransport, CLEAN_NETWORK } from './sim/sim-network.js';
export type { NetworkConditions, NetworkStats, SimNetworkOptions } from './sim/sim-network.js';
export { Nemesis, planFaults, describeFault } from './sim/nemesis.js';
export type { Fault, FaultKind, FaultPlanOptions, FaultTarget, PlannedFault } from './sim/nemesis.js';
export { ClientLoad } from './sim/load.js';
export type { ClientLoadOptions, ClientLoadStats } from './sim/load.js';
export { Prng } from './sim/prng.js';
export { Trace } from './sim/trace.js';
export type { TraceLine } from './sim/trace.js';
export { ElectionSafetyChecker } from './sim/invariants/election-safety.js';
export { LogMatchingChecker } from './sim/invariants/log-matching.js';
export type { LogEntry } from './sim/invariants/log-matching.js';
export { LeaderCompletenessChecker } from './sim/invariants/leader-completeness.js';
export type { LogView } from './sim/invariants/leader-completeness.js';
export { StateMachineSafetyChecker } from './sim/invariants/state-machine-safety.js';
export type { CanonicalDelivery, Delivery, DeliverySource } from './sim/invariants/state-machine-safety.js';
export { AcknowledgedWritesChecker } from './sim/invariants/acknowledged-writes.js';
export { formatViolation } from './sim/invariants/violation.js';
export type { InvariantName, Violation } from './sim/invariants/violation.js';
export { dataKey, entryIdentity } from './sim/invariants/identity.js';
export type { EntryContent } from './sim/invariants/identity.js';
export { createTestPki } from './pki.js';
export type { IssueOptions, IssuedCertificate, TestPki, TestPkiOptions } from './pki.js';
