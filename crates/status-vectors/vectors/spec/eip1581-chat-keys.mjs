// Generates eip1581-chat-keys.json: node eip1581-chat-keys.mjs '[["<mnemonic>","<passphrase>"],...]'
// Independent computation (Node crypto + BigInt) of Status chat keys:
// BIP39 seed (PBKDF2-SHA512), BIP32 CKDpriv along m/43'/60'/1581'/0'/0,
// base58btc of e7 01 || compressed key.
import crypto from 'node:crypto';
const N = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');
const hex = b => Buffer.from(b).toString('hex');
const big = b => BigInt('0x' + hex(b));
const ser256 = k => Buffer.from(k.toString(16).padStart(64, '0'), 'hex');
function pub(k, compressed) {
  const e = crypto.createECDH('secp256k1'); e.setPrivateKey(ser256(k));
  return e.getPublicKey(null, compressed ? 'compressed' : 'uncompressed');
}
function ckd(k, c, i) {
  const data = i >= 0x80000000
    ? Buffer.concat([Buffer.from([0]), ser256(k), Buffer.from([i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255])])
    : Buffer.concat([pub(k, true), Buffer.from([i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255])]);
  const I = crypto.createHmac('sha512', c).update(data).digest();
  return [(big(I.subarray(0, 32)) + k) % N, I.subarray(32)];
}
const A = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function b58(buf) {
  let n = big(buf), s = '';
  while (n > 0n) { s = A[Number(n % 58n)] + s; n /= 58n; }
  for (const b of buf) { if (b === 0) s = '1' + s; else break; }
  return s;
}
const H = 0x80000000;
const out = [];
for (const [mnemonic, passphrase] of JSON.parse(process.argv[2])) {
  const seed = crypto.pbkdf2Sync(mnemonic.normalize('NFKD'), ('mnemonic' + passphrase).normalize('NFKD'), 2048, 64, 'sha512');
  const I = crypto.createHmac('sha512', 'Bitcoin seed').update(seed).digest();
  let k = big(I.subarray(0, 32)), c = I.subarray(32);
  for (const i of [43 + H, 60 + H, 1581 + H, 0 + H, 0]) [k, c] = ckd(k, c, i);
  const compressed = pub(k, true), uncompressed = pub(k, false);
  out.push({ mnemonic, passphrase, chat_private_key: hex(ser256(k)), chat_public_key: '0x' + hex(uncompressed),
             chat_public_key_compressed: hex(compressed), chat_key_base58: 'z' + b58(Buffer.concat([Buffer.from([0xe7, 1]), compressed])),
             identicon_md5: crypto.createHash('md5').update('0x' + hex(uncompressed)).digest('hex') });
}
console.log(JSON.stringify(out, null, 1));
