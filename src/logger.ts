import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

/**
 * The process logger. Authorization headers are redacted; request bodies are never logged, which keeps
 * identity documents (uploaded in manifests) out of the logs.
 */
export function createLogger(
  config: Pick<Config, 'logLevel'>,
  name = 'simsift',
  destination?: DestinationStream,
): Logger {
  const options = {
    name,
    level: config.logLevel,
    redact: {
      // Plugins log headers under their own keys (e.g. @fastify/multipart's busboyOptions at trace level).
      paths: ['headers.authorization', 'headers.cookie', '*.headers.authorization', '*.headers.cookie'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
