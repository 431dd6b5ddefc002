#!/usr/bin/env node
// The `vigil` command. The sources are TypeScript run through tsx's loader, so a fresh
// `npm ci` needs no build step before `npm start`.
import { register } from 'tsx/esm/api';

register();
await import('../daemon/cli.ts');
