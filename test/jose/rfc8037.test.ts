import { runJwsVectors } from './vector_cases.js';

runJwsVectors(new URL('./vectors/rfc8037.json', import.meta.url));
