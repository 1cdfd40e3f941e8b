/** Retries compatible with resque-retry 1.8 (docs/RETRY.md). */
export {
  type ExceptionMatcher,
  type RetryOptions,
  type RetryPolicy,
  normalizeRetry,
  retryDelayFor,
  retryLimitReached,
  retryableException,
  shouldRetry,
} from './policy';
export { type RetryHooks, retryHooks } from './hooks';
export { isFailureSuppressed, markFailureSuppressed } from './suppression';
