/**
 * Building the errors the simulator answers with. Where the SDK client defines an exception
 * class the simulator throws it (`new InvalidDBInstanceStateFault(...)`); otherwise the
 * service's base exception class with AWS's error code as `name` (e.g. `InvalidParameterCombination`).
 * Every message names its source in a comment where it is thrown.
 */
let requestCounter = 0;

export function requestId(): string {
  requestCounter += 1;
  return `sim-${requestCounter.toString(16).padStart(8, '0')}`;
}

export function errorMetadata(httpStatusCode = 400) {
  return { httpStatusCode, requestId: requestId(), attempts: 1, totalRetryDelay: 0 };
}

type ServiceExceptionClass = new (options: {
  name: string;
  $fault: 'client' | 'server';
  message?: string;
  $metadata: ReturnType<typeof errorMetadata>;
}) => Error;

/** An error with AWS's code as `name`, of the service's base exception class. */
export function serviceError(
  base: ServiceExceptionClass,
  code: string,
  message: string,
  fault: 'client' | 'server' = 'client',
): Error {
  return new base({
    name: code,
    $fault: fault,
    message,
    $metadata: errorMetadata(fault === 'client' ? 400 : 500),
  });
}
