// Worker threads start without the parent's TypeScript loader when nasnet runs as an
// installed command: register tsx here, then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./audit-thread-main.ts');
