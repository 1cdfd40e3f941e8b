/** Retries compatible with resque-retry 1.8 (docs/RETRY.md). */
export {
  type ExceptionDelay,
  type ExceptionMatcher,
  type RetryCriteriaCheck,
  type RetryExceptionDelays,
  ignoredException,
  retryCriteriaValid,
  type RetryOptions,
  type RetryPolicy,
  normalizeRetry,
  retryDelayFor,
  retryLimitReached,
  retryableException,
  shouldRetry,
} from './policy';
export { type PyresRetryHooks, type RetryHooks, pyresRetryHooks, retryHooks } from './hooks';
export { isFailureSuppressed, markFailureSuppressed } from './suppression';
