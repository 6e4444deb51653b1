#!/usr/bin/env node
// solc shim: a native-solc-compatible front end for solc-js (npm `solc`).
//
// The solc-js CLI prints a stray line on stdout, which breaks forge and py-solc-x.
// This script answers `--version` exactly like native solc and, for
// `--standard-json`, reads the input from stdin (or a file argument) and prints
// only the output JSON. Imports that are not in the input are resolved against
// --base-path, --include-path and --allow-paths folders and the working directory.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
let solc;
try {
  solc = require(path.join(root, 'node_modules', 'solc'));
} catch (err) {
  process.stderr.write('solc shim: npm package "solc" is not installed; run `npm ci` in ' + root + '\n');
  process.exit(2);
}

const args = process.argv.slice(2);
const searchDirs = [process.cwd()];
let standardJson = false;
let inputFile = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--version' || a === '-v') {
    // Same shape as native solc, e.g. "Version: 0.8.30+commit.73712a01.Linux.g++".
    process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
    process.exit(0);
  } else if (a === '--standard-json') {
    standardJson = true;
  } else if (a === '--base-path' || a === '--include-path' || a === '--allow-paths') {
    const v = args[++i] || '';
    for (const d of v.split(',')) if (d) searchDirs.push(path.resolve(d));
  } else if (a.startsWith('--')) {
    // Flags native solc accepts that do not change standard-json output here.
    if (['--output-dir', '-o', '--evm-version'].includes(a)) i++;
  } else {
    inputFile = a;
  }
}

if (!standardJson) {
  process.stderr.write('solc shim: only --version and --standard-json are supported\n');
  process.exit(2);
}

function findImport(importPath) {
  const candidates = path.isAbsolute(importPath) ? [importPath] : searchDirs.map((d) => path.join(d, importPath));
  for (const c of candidates) {
    try {
      return { contents: fs.readFileSync(c, 'utf8') };
    } catch (_) {
      /* try the next folder */
    }
  }
  return { error: 'File not found: ' + importPath };
}

const input = inputFile ? fs.readFileSync(inputFile, 'utf8') : fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImport }));
process.stdout.write('\n');
