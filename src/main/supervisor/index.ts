export { Supervisor, StartError, type SupervisorOptions, type ServiceStatus, type SupervisorLogger } from './supervisor.js';
export { NodeProcessHost, type NodeProcessHostOptions } from './node-host.js';
export { defaultManifest, validateManifest, backoffDelay, DEFAULT_RESTART, type Manifest, type ServiceSpec, type RestartPolicy, type ManifestOptions, type ServiceTuning } from './manifest.js';
export type { InstanceState, InstanceStatus } from './instance-slot.js';
export { Reaper, type ReapResult } from './reaper.js';
export type { ProcessHost, HostedProcess, SpawnSpec } from './process-host.js';
