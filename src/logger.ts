import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

/**
 * The process logger. Authorization headers are redacted; request bodies are never logged, which keeps
 * identity documents (uploaded in manifests) out of the logs.
 */
export function createLogger(config: Pick<Config, 'logLevel'>, name = 'simsift'): Logger {
  return pino({
    name,
    level: config.logLevel,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'],
      censor: '[redacted]',
    },
  });
}
