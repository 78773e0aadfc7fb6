#!/usr/bin/env node
// nasnet is written in TypeScript and runs through tsx's loader, so the installed
// command needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
