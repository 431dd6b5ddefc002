/**
 * The flow's queues and the Redis key prefix they live under.
 *
 * Only steps that do work per item are queues: `check` (fetch a URL once), `trace` (find where it
 * is hosted), `notify` (deliver one outbox notice). Dispatching due rows from PostgreSQL is a loop
 * (check-dispatcher.ts), not a queue: the schedule lives in the store of record, Redis holds only
 * work in flight (DESIGN.md "Store of record is PostgreSQL").
 */

export const QUEUE_NAMES = ['check', 'trace', 'notify'] as const;

export type QueueName = (typeof QUEUE_NAMES)[number];

/** `queue.prefix` in the configuration. @default 'vigil' */
export const DEFAULT_QUEUE_PREFIX = 'vigil';

export function isQueueName(name: string): name is QueueName {
  return (QUEUE_NAMES as readonly string[]).includes(name);
}

/**
 * The BullMQ `prefix` for a configured `queue.prefix`: the name wrapped in a Redis Cluster hash
 * tag, `vigil` → `{vigil}`.
 *
 * Why: BullMQ's Lua scripts touch several keys of a queue at once (wait list, active list, job
 * hash, events stream, …), and Redis Cluster refuses a script whose keys live in different hash
 * slots (CROSSSLOT). Cluster hashes only the part between the first `{` and `}`, so with the tag
 * every key of every vigil queue lands in one slot, on one shard. That one shard holds only work in
 * flight (bounded by the dispatcher's batches and removeOnComplete/removeOnFail), so it does not
 * need to scale out. On a single Redis the braces are just characters in the key names.
 *
 * A prefix that already contains a hash tag is used as written.
 * @throws TypeError when the prefix is empty or holds characters that break BullMQ key names
 */
export function queuePrefix(prefix: string = DEFAULT_QUEUE_PREFIX): string {
  if (prefix.length === 0) throw new TypeError('queue.prefix must not be empty');
  if (/\s/.test(prefix)) throw new TypeError(`queue.prefix must not contain whitespace: ${JSON.stringify(prefix)}`);
  if (prefix.includes('{')) {
    if (!/\{[^{}]+\}/.test(prefix)) throw new TypeError(`queue.prefix has an unbalanced or empty hash tag: ${JSON.stringify(prefix)}`);
    return prefix;
  }
  if (prefix.includes('}')) throw new TypeError(`queue.prefix has an unbalanced hash tag: ${JSON.stringify(prefix)}`);
  return `{${prefix}}`;
}
