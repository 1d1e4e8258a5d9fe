// Writes the Ethereum EIP vector files beside this script (eip155-transactions.json,
// eip191-personal-sign.json, eip712-typed-data.json, eip137-namehash.json,
// eip681-uris.json, eip1577-contenthash.json).
//
// Cases marked "source: EIP-..." are copied from the EIP text or its assets; the
// others are computed here by ganache 7.9.2 (ethereumjs signing, keccak), an
// implementation independent of status-rs, through its in-process provider:
//
//   npm install --prefix /tmp/g ganache@7.9.2 && NODE_PATH=/tmp/g/node_modules node eth-eips.mjs
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(join(process.env.NODE_PATH || '.', 'x.js'));
const ganache = require('ganache');
const here = dirname(fileURLToPath(import.meta.url));
const GANACHE = 'computed for status-rs by eth-eips.mjs (beside this file) with ganache 7.9.2';

function provider(chainId) {
  return ganache.provider({ wallet: { deterministic: true }, chain: { chainId }, logging: { quiet: true } });
}
const hex = (b) => '0x' + Buffer.from(b).toString('hex');
const p0 = provider(1337);
const accounts = await p0.getInitialAccounts();
const [addr0] = Object.keys(accounts);
const key0 = accounts[addr0].secretKey;
const sha3 = (data) => p0.request({ method: 'web3_sha3', params: [data] });
const write = (name, doc) => writeFileSync(join(here, name), JSON.stringify(doc, null, 1) + '\n');

// ---- EIP-155 ----
const eip155 = [{
  description: 'EIP-155 example: nonce 9, 20 gwei, 21000 gas, 1 ether to 0x3535..., chain 1',
  source: "EIP-155 'Example' section",
  private_key: '0x4646464646464646464646464646464646464646464646464646464646464646',
  chain_id: 1, nonce: 9, gas_price: '20000000000', gas: 21000,
  to: '0x3535353535353535353535353535353535353535', value: '1000000000000000000', data: '0x',
  signing_data: '0xec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080',
  signing_hash: '0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53',
  v: 37,
  r: '18515461264373351373200002665853028612451056578545711640558177340181847433846',
  s: '46948507304638947509940763649030358759909902576025900602547168820602576006531',
  signed: '0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83',
}];
const txs = [
  ['ETH transfer on chain 1337', 1337, { nonce: 0, gasPrice: '2000000000', gas: 21000, to: '0x3535353535353535353535353535353535353535', value: '1', data: '0x' }],
  ['contract creation (no to) with init code, chain 1', 1, { nonce: 7, gasPrice: '1', gas: 90000, to: null, value: '0', data: '0x6080604052348015600f57600080fd5b50' }],
  ['EIP-20 transfer call data, chain 31337, large nonce', 31337, { nonce: 4294967296, gasPrice: '123456789012', gas: 90000, to: '0x89205a3a3b2a69de6dbf7f01ed13b2108b2c43e7', value: '0', data: '0xa9059cbb0000000000000000000000008e23ee67d1332ad560396262c48ffbb01f93d0520000000000000000000000000000000000000000000000000000000000000001' }],
  ['large value, chain 5', 5, { nonce: 1, gasPrice: '1000000000000', gas: 30000, to: '0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359', value: '115792089237316195423570985008687907853269984665640564039457584007913129639935', data: '0x' }],
];
for (const [description, chainId, t] of txs) {
  const p = provider(chainId);
  const q = (n) => '0x' + BigInt(n).toString(16);
  const rpc = { from: addr0, nonce: q(t.nonce), gasPrice: q(t.gasPrice), gas: q(t.gas), value: q(t.value), data: t.data, type: '0x0' };
  if (t.to) rpc.to = t.to;
  const signed = await p.request({ method: 'eth_signTransaction', params: [rpc] });
  eip155.push({ description, source: GANACHE + ' (eth_signTransaction)', private_key: key0, from: addr0,
    chain_id: chainId, nonce: t.nonce, gas_price: t.gasPrice, gas: t.gas, to: t.to, value: t.value, data: t.data,
    signed, hash: await sha3(signed) });
}
write('eip155-transactions.json', {
  description: 'EIP-155 legacy transactions: fields, signing hash, signature and signed RLP (v = recovery id + 35 + 2 * chain id)',
  source: 'EIP-155 example, plus transactions signed by ganache 7.9.2 (see each case)',
  cases: eip155,
});

// ---- EIP-191 personal_sign ----
const messages = [
  ['ASCII "hello"', Buffer.from('hello')],
  ['empty message', Buffer.alloc(0)],
  ['UTF-8 text', Buffer.from('Status ✓ ünïcödé')],
  ['binary 32 bytes (a hash-like message)', Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 % 256))],
  ['1000-byte message (four-digit length in the prefix)', Buffer.alloc(1000, 0x61)],
];
const eip191 = [];
for (const [description, m] of messages) {
  const prefixed = Buffer.concat([Buffer.from('\x19Ethereum Signed Message:\n' + m.length), m]);
  eip191.push({ description, source: GANACHE + ' (eth_sign, geth personal_sign semantics; keccak by web3_sha3)',
    private_key: key0, address: addr0, message: hex(m), hash: await sha3(hex(prefixed)),
    signature: await p0.request({ method: 'eth_sign', params: [addr0, hex(m)] }) });
}
write('eip191-personal-sign.json', {
  description: "EIP-191 version 0x45 (personal_sign): keccak256('\\x19Ethereum Signed Message:\\n' + len + message) and the 65-byte r||s||v signature (v 27/28)",
  source: GANACHE, cases: eip191,
});

// ---- EIP-712 ----
const mail = {
  types: {
    EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'version', type: 'string' }, { name: 'chainId', type: 'uint256' }, { name: 'verifyingContract', type: 'address' }],
    Person: [{ name: 'name', type: 'string' }, { name: 'wallet', type: 'address' }],
    Mail: [{ name: 'from', type: 'Person' }, { name: 'to', type: 'Person' }, { name: 'contents', type: 'string' }],
  },
  primaryType: 'Mail',
  domain: { name: 'Ether Mail', version: '1', chainId: 1, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' },
  message: { from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' }, to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' }, contents: 'Hello, Bob!' },
};
const eip712 = [{
  description: 'EIP-712 example: Ether Mail from Cow to Bob, signed by keccak256("cow")',
  source: 'EIP-712 assets/eip-712/Example.js (expected values of its chai assertions)',
  typed_data: mail,
  private_key: await sha3(hex(Buffer.from('cow'))),
  encode_type: 'Mail(Person from,Person to,string contents)Person(string name,address wallet)',
  type_hash: '0xa0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2',
  encode_data: '0xa0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2fc71e5fa27ff56c350aa531bc129ebdf613b772b6604664f5d8dbe21b85eb0c8cd54f074a4af31b4411ff6a60c9719dbd559c221c8ac3492d9d872b041d703d1b5aadf3154a261abdd9086fc627b61efca26ae5702701d05cd2305f7c52a2fc8',
  struct_hash: '0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e',
  domain_separator: '0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f',
  signing_hash: '0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2',
  address: '0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826',
  signature: '0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b915621c',
}];
const more712 = [
  ['arrays of structs, bytes, bool and int types (eth_signTypedData_v4)', {
    types: {
      EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'chainId', type: 'uint256' }, { name: 'salt', type: 'bytes32' }],
      Member: [{ name: 'name', type: 'string' }, { name: 'key', type: 'bytes' }, { name: 'admin', type: 'bool' }],
      Group: [{ name: 'id', type: 'bytes32' }, { name: 'members', type: 'Member[]' }, { name: 'clock', type: 'uint64' }, { name: 'delta', type: 'int256' }, { name: 'tags', type: 'string[]' }],
    },
    primaryType: 'Group',
    domain: { name: 'status-rs', chainId: 1337, salt: '0x' + '11'.repeat(32) },
    message: {
      id: '0x' + 'ab'.repeat(32),
      members: [{ name: 'alice', key: '0x0102', admin: true }, { name: 'bob', key: '0x', admin: false }],
      clock: '18446744073709551615', delta: '-42', tags: ['a', 'b', ''],
    },
  }],
  ['nested fixed-size array of uint and addresses (eth_signTypedData_v4)', {
    types: {
      EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'version', type: 'string' }, { name: 'chainId', type: 'uint256' }],
      Grid: [{ name: 'cells', type: 'uint8[2][]' }, { name: 'owners', type: 'address[]' }],
    },
    primaryType: 'Grid',
    domain: { name: 'grid', version: '2', chainId: 1337 },
    message: { cells: [[1, 2], [3, 255]], owners: ['0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1', '0x0000000000000000000000000000000000000000'] },
  }],
];
for (const [description, td] of more712) {
  eip712.push({ description, source: GANACHE + ' (eth_signTypedData_v4)', typed_data: td, private_key: key0, address: addr0,
    signature: await p0.request({ method: 'eth_signTypedData_v4', params: [addr0, td] }) });
}
write('eip712-typed-data.json', {
  description: 'EIP-712 typed data: encodeType, typeHash, encodeData, hashStruct, domain separator, signing hash and signature (r||s||v, v 27/28); fields a case lacks are not checked for it',
  source: 'EIP-712 Example.js, plus documents signed by ganache 7.9.2 (see each case)', cases: eip712,
});

// ---- EIP-137 namehash ----
async function namehash(name) {
  let node = '0x' + '00'.repeat(32);
  if (name === '') return node;
  for (const label of name.split('.').reverse()) {
    const lh = await sha3(hex(Buffer.from(label)));
    node = await sha3(node + lh.slice(2));
  }
  return node;
}
const eip137 = [
  { description: "namehash('')", source: 'EIP-137 namehash test vectors', name: '', normalized: '', namehash: '0x0000000000000000000000000000000000000000000000000000000000000000' },
  { description: "namehash('eth')", source: 'EIP-137 namehash test vectors', name: 'eth', normalized: 'eth', namehash: '0x93cdeb708b7545dc668eb9280176169d1c33cfd8ed6f04690a0bcc88a93fc4ae' },
  { description: "namehash('foo.eth')", source: 'EIP-137 namehash test vectors', name: 'foo.eth', normalized: 'foo.eth', namehash: '0xde9b09fd7c5f901e23a3f19fecc54828e9c848539801e86591bd9801b019f84f' },
];
for (const [name, normalized] of [['stateofus.eth', 'stateofus.eth'], ['alice.stateofus.eth', 'alice.stateofus.eth'], ['Alice.StateOfUs.ETH', 'alice.stateofus.eth'], ['a.b.c.d.e.eth', 'a.b.c.d.e.eth']]) {
  eip137.push({ description: `namehash('${name}')`, source: GANACHE + ' (web3_sha3 per EIP-137; ASCII lower-casing is UTS-46 for ASCII)', name, normalized, namehash: await namehash(normalized) });
}
write('eip137-namehash.json', { description: 'EIP-137 names: normalised form and namehash', source: 'EIP-137, plus names hashed by ganache 7.9.2 keccak (see each case)', cases: eip137 });

// ---- EIP-681 / EIP-831 ----
write('eip681-uris.json', {
  description: 'EIP-681 payment requests and EIP-831 frames: parse results (numbers as decimal strings), and URIs that MUST be rejected',
  source: 'EIP-681 (Syntax, Semantics, examples) and EIP-831 (Syntax, Semantics)',
  cases: [
    { description: 'EIP-681: 2.014 ETH in scientific notation', source: 'EIP-681 Semantics example', uri: 'ethereum:0xfb6916095ca1df60bb79Ce92ce3ea74c37c5d359?value=2.014e18',
      valid: true, prefix: null, target: '0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359', chain_id: null, function: null, parameters: [['value', '2014000000000000000']] },
    { description: 'EIP-681: ERC-20 transfer of 1 Unicorn', source: 'EIP-681 Semantics example',
      uri: 'ethereum:0x89205a3a3b2a69de6dbf7f01ed13b2108b2c43e7/transfer?address=0x8e23ee67d1332ad560396262c48ffbb01f93d052&uint256=1',
      valid: true, prefix: null, target: '0x89205a3a3b2a69de6dbf7f01ed13b2108b2c43e7', chain_id: null, function: 'transfer',
      parameters: [['address', '0x8e23ee67d1332ad560396262c48ffbb01f93d052'], ['uint256', '1']] },
    { description: 'pay- prefix, chain id, gas synonyms', source: 'EIP-681 Syntax (schema_prefix, chain_id, gasLimit/gas/gasPrice keys)',
      uri: 'ethereum:pay-0xfb6916095ca1df60bb79Ce92ce3ea74c37c5d359@3?value=1e18&gas=21000&gasPrice=2.5e9',
      valid: true, prefix: 'pay', target: '0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359', chain_id: 3, function: null,
      parameters: [['value', '1000000000000000000'], ['gas', '21000'], ['gasPrice', '2500000000']] },
    { description: 'ENS name as target', source: 'EIP-681 Syntax (ethereum_address = ENS_NAME)', uri: 'ethereum:alice.stateofus.eth?value=1',
      valid: true, prefix: null, target: 'alice.stateofus.eth', chain_id: null, function: null, parameters: [['value', '1']] },
    { description: 'exponent smaller than the number of decimals', source: 'EIP-681 Syntax: only integers, the exponent MUST be >= the decimals', uri: 'ethereum:0xfb6916095ca1df60bb79Ce92ce3ea74c37c5d359?value=2.0145e3', valid: false },
    { description: 'value that is not a number', source: 'EIP-681 Syntax: value, gas, gasLimit, gasPrice MUST be numbers', uri: 'ethereum:0xfb6916095ca1df60bb79Ce92ce3ea74c37c5d359?value=lots', valid: false },
    { description: 'no target address', source: 'EIP-681 Semantics: target_address is mandatory', uri: 'ethereum:?value=1', valid: false },
    { description: 'another schema', source: 'EIP-831 Syntax: "eth" [ "ereum" ] ":"', uri: 'bitcoin:0xfb6916095ca1df60bb79Ce92ce3ea74c37c5d359', valid: false },
    { description: 'EIP-831 short schema, no prefix', source: 'EIP-831 Syntax and Semantics (no prefix: payload starts with 0x, pay is meant)', uri: 'eth:0xfb6916095ca1df60bb79Ce92ce3ea74c37c5d359',
      valid: true, prefix: null, target: '0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359', chain_id: null, function: null, parameters: [] },
    { description: 'EIP-831 frame with a non-pay prefix', source: 'EIP-831 Syntax (prefix "-" payload)', uri: 'ethereum:foo-0xfb6916095ca1df60bb79Ce92ce3ea74c37c5d359', valid: false, frame_prefix: 'foo', frame_payload: '0xfb6916095ca1df60bb79Ce92ce3ea74c37c5d359' },
  ],
});

// ---- EIP-1577 ----
write('eip1577-contenthash.json', {
  description: 'EIP-1577 contenthash: binary form and text form', source: 'EIP-1577 Example section',
  cases: [
    { description: 'IPFS, CIDv1 dag-pb sha2-256', source: 'EIP-1577 Example: IPFS', codec: 227, binary: '0xe3010170122029f2d17be6139079dc48696d1f582a8530eb9805b561eda517e22a892c7e3f1f', text: 'ipfs://QmRAQB6YaCyidP37UdDnjFY5vQuiBrcqdyoW1CuDgwxkD4' },
    { description: 'Swarm, CIDv1 swarm-manifest keccak256', source: 'EIP-1577 Example: Swarm', codec: 228, binary: '0xe40101fa011b20d1de9994b4d039f6548d191eb26786769f580809256b4685ef316805265ea162', text: 'bzz://d1de9994b4d039f6548d191eb26786769f580809256b4685ef316805265ea162' },
  ],
});
await p0.disconnect();
