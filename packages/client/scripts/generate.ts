import { writeFileSync } from 'node:fs';
import { GENERATED, generateApiTypes } from './openapi-types.js';

writeFileSync(GENERATED, await generateApiTypes());
console.log(`wrote ${GENERATED}`);
