export { INTERRUPTED, JobManager, type JobManagerOptions, type JobUpdate } from './job-manager';
export { JOB_KINDS, jobKindSpec, type JobKind, type JobKindSpec } from './job-kinds';
export { isTerminal, JobStore, type JobEvent, type JobRecord } from './job-store';
