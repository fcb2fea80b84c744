/**
 * Regenerates src/cli/api-types.ts, the types of the CLI's typed API client (openapi-fetch), from the OpenAPI
 * document the API builds from its route schemas. Run it after changing a route's schema:
 *
 *   npx tsx scripts/generate-api-types.ts
 */
import { writeFile } from 'node:fs/promises';
import { API_TYPES_FILE, openApiDocument, renderApiTypes } from './lib/api-types.js';

await writeFile(API_TYPES_FILE, await renderApiTypes(await openApiDocument()));
console.log(`wrote ${API_TYPES_FILE}`);
