/** Job status and results (resque-status 0.5 compatible): the job wrapper. See docs/STATUS.md. */
export { defineStatusJob, statusSpecOf, StatusKilledError, type StatusJobHandle, type StatusJobSpec } from './statusJob';
export {
  EnqueueCancelledError,
  JobFailedError,
  JobKilledError,
  StatusNotFoundError,
  WaitAbortedError,
  WaitTimeoutError,
  resultsOf,
  waitForStatuses,
  type WaitOptions,
} from './wait';
