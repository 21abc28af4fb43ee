import { startLocalPostgres } from './shared/postgres/local-server.ts';
let t=Date.now();
const s = await startLocalPostgres();
console.log(s.port, s.version, Date.now()-t); t=Date.now();
await s.stop();
console.log('stopped', Date.now()-t);
