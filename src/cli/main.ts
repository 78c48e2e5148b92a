#!/usr/bin/env node
// The `dynamic-subset` command (package.json "bin"). It runs however it was started: node dist/cli/main.js, a
// bin symlink (npm install -g, npm link), npx. So this file does nothing but run the command.

import { run } from "./run.js";

process.exitCode = run(process.argv.slice(2));
