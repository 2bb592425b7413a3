'use strict';
// What every benchmark script starts with: the repository root and `--name value` options.
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');

/** The value after `name` on the command line, or `fallback`. */
function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

module.exports = { ROOT, arg };
