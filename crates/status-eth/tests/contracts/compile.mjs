// Compiles the contracts beside this file into contracts.json (creation
// bytecode, hex), which the loopback tests deploy; tests have no network and
// no compiler. Re-run after changing a .sol file:
//
//   npm install --prefix /tmp/solc solc@0.8.26 && NODE_PATH=/tmp/solc/node_modules node compile.mjs
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(join(process.env.NODE_PATH || '.', 'x.js'));
const solc = require('solc');
const here = dirname(fileURLToPath(import.meta.url));
const files = ['Registry.sol', 'PublicResolver.sol', 'Token.sol'];
const input = {
  language: 'Solidity',
  sources: Object.fromEntries(files.map((f) => [f, { content: readFileSync(join(here, f), 'utf8') }])),
  // paris: no PUSH0/MCOPY, so any development chain of the last years runs it.
  settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'paris', outputSelection: { '*': { '*': ['evm.bytecode.object'] } } },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
for (const e of out.errors || []) if (e.severity === 'error') throw new Error(e.formattedMessage);
const contracts = {};
for (const f of files) for (const [name, c] of Object.entries(out.contracts[f])) contracts[name] = '0x' + c.evm.bytecode.object;
writeFileSync(join(here, 'contracts.json'), JSON.stringify({
  compiler: 'solc ' + solc.version() + ' (npm solc@0.8.26), optimizer 200 runs, evmVersion paris',
  sources: files, contracts }, null, 1) + '\n');
