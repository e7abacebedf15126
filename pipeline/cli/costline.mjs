#!/usr/bin/env node
// The `costline` command. Runs the TypeScript sources directly (tsx), so a checkout needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
