/**
 * config/: one schema, loaded once, frozen, passed down (DESIGN.md house style 5).
 * The rest of the daemon imports from here.
 */
export { configSchema, type VigilConfig, type VigilConfigInput } from './config-schema.js';
export type { CrawlerConfig } from './crawler-schema.js';
export { RECIPIENT_KINDS, type Channel, type DirectoryConfig, type Recipient, type RecipientKind } from './directory-schema.js';
export type { HttpConfig } from './http-schema.js';
export type { QueueConfig } from './queue-schema.js';
export type { ScheduleConfig } from './schedule-schema.js';
export { ConfigError } from './config-error.js';
export { ENV_OVERRIDES } from './env-overrides.js';
export { deepFreeze, loadConfig, parseConfig, type LoadConfigOptions, type LoadedConfig } from './load-config.js';
export { maskSecrets, maskUrlCredentials } from './mask-secrets.js';
export { renderConfig } from './render-config.js';
export { configCheck, configPrint, type CommandResult } from './config-commands.js';
export { durationSchema, formatDuration, parseDuration } from './duration.js';
export { formatSize, parseSize, sizeSchema } from './size.js';
