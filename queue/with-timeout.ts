/**
 * Race a Redis call against a deadline: BullMQ and ioredis calls can wait for ever while Redis
 * is (re)connecting, and the loops here must get on with their next round instead.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message = `no answer from Redis within ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
