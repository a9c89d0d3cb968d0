// Unit tests of the portal's in-browser verifier (tools/serve/portal/verify.js), run in Node >= 20,
// whose WebCrypto (globalThis.crypto.subtle) has SHA-256 and Ed25519 like the browser's.
//
//   node --test tests/e2e/verify.test.mjs
//
// The worked examples of docs/format/merkle.md and docs/format/checkpoint.md always run. With
// MINHBACH_BIN (and optionally MINHBACH_LEDGER_DIR, else a fresh demo ledger in a temp dir) the tests
// also check a real child proof from `minhbach prove child C-CV-01` against the key of `status --json`,
// untouched and tampered in several ways.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const v = await import(path.join(here, '../../tools/serve/portal/verify.js'));

const b64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));
const clone = (x) => JSON.parse(JSON.stringify(x));
/** Flips one bit of a base64 value, keeping it canonical base64 of the same length. */
function flipB64(s, byteIndex = 0, bit = 0) {
  const buf = Buffer.from(s, 'base64');
  buf[byteIndex % buf.length] ^= 1 << bit;
  return buf.toString('base64');
}

// ---------------------------------------------------------------------------------------------------
// Reference tree (RFC 9162 section 2.1.1 / 2.1.3.1 by their recursive definitions)

async function mth(leaves) {
  if (leaves.length === 0) return v.sha256(new Uint8Array());
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return v.nodeHash(await mth(leaves.slice(0, k)), await mth(leaves.slice(k)));
}

async function pathOf(m, leaves) {
  if (leaves.length === 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  if (m < k) return [...(await pathOf(m, leaves.slice(0, k))), await mth(leaves.slice(k))];
  return [...(await pathOf(m - k, leaves.slice(k))), await mth(leaves.slice(0, k))];
}

describe('RFC 9162 inclusion verification', () => {
  test('worked example of docs/format/merkle.md (leaf 3 of 14)', async () => {
    const proof = [
      'ZIqwYfGbv4iFOrVOPCmBn6jPZvMgIxhNh68G2L4B4Fo=',
      'Cw1S/ABbKEOslg0Y0Aw1X7F8DocFRK4vCLgdVjNUf98=',
      'reUWxmUJtOtRzBkUAoeqm8DvAJFpcp1MKMiO8Xl4cpA=',
      'eziikJk7FG+/CoZ0/IS164zgc+/lbu2llALW20DOOxI=',
    ].map(b64);
    const leaf = b64('0eaFt5NwdxzNaXmgquA30S+WFLs072ZXKXUeNodDxrE=');
    const root = b64('Ixng3Hkmbz9xmBxECIMIAL22J3BOZvWYYfFADHWnhv0=');
    assert.equal(await v.verifyInclusion(3, 14, leaf, proof, root), true);
    await assert.rejects(v.verifyInclusion(2, 14, leaf, proof, root), /root mismatch/);
    await assert.rejects(v.verifyInclusion(3, 4, leaf, proof, root), /wrong proof size/);
    await assert.rejects(v.verifyInclusion(3, 14, leaf, proof.slice(0, 3), root), /wrong proof size/);
    await assert.rejects(v.verifyInclusion(3, 14, leaf, [...proof, proof[0]], root), /wrong proof size/);
    await assert.rejects(v.verifyInclusion(14, 14, leaf, proof, root), /not below tree size/);
  });

  test('every leaf of every tree of 1..33 leaves, against the recursive definition', async () => {
    const all = [];
    for (let i = 0; i < 33; i++) all.push(await v.leafHash(new TextEncoder().encode(`leaf ${i}`)));
    for (let n = 1; n <= 33; n++) {
      const leaves = all.slice(0, n);
      const root = await mth(leaves);
      for (let m = 0; m < n; m++) {
        const p = await pathOf(m, leaves);
        assert.equal(await v.verifyInclusion(BigInt(m), BigInt(n), leaves[m], p, root), true, `leaf ${m} of ${n}`);
        if (p.length > 0) {
          const bad = p.map((x) => x.slice());
          bad[p.length - 1][31] ^= 1;
          await assert.rejects(v.verifyInclusion(m, n, leaves[m], bad, root), /root mismatch/, `tampered ${m} of ${n}`);
        }
        // The same path never proves a different leaf or a neighbouring index.
        if (n > 1) await assert.rejects(v.verifyInclusion((m + 1) % n, n, leaves[m], p, root));
      }
    }
  });

  test('rejects hashes that are not 32 bytes', async () => {
    const leaf = new Uint8Array(32);
    await assert.rejects(v.rootFromInclusion(0, 2, leaf, [new Uint8Array(31)]), /32 bytes/);
    await assert.rejects(v.rootFromInclusion(0, 1, new Uint8Array(33), []), /32 bytes/);
  });
});

describe('keys and signed notes', () => {
  // docs/format/checkpoint.md section 6
  const vkey = 'demo.minhbach.vn/quangngai-csf+07cc98c9+AdxnJW8g8Yq2rHb5bPOKf7fAB8vlVYaH6t6ppBh4StEq';
  const note = 'demo.minhbach.vn/quangngai-csf\n14\nIxng3Hkmbz9xmBxECIMIAL22J3BOZvWYYfFADHWnhv0=\n\n'
    + '\u2014 demo.minhbach.vn/quangngai-csf B8yYyUHsXpULasru6mtWm6EuD+0ug0/K5R4a6/G35pZfOijYlgg1YmhWF/3CeEw5Kc9NWNe82i32SuMHbZVV9FBOEwM=\n';
  const otherKey = 'example.org/test-key+c3cde7f3+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4';

  test('parses verifier keys and checks the key ID', async () => {
    const k = await v.parseVerifierKey(otherKey);
    assert.equal(k.name, 'example.org/test-key');
    assert.equal(k.keyIdHex, 'c3cde7f3');
    assert.equal(v.toHex(k.publicKey), '03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8');
    await assert.rejects(v.parseVerifierKey(otherKey.replace('c3cde7f3', 'c3cde7f4')), /does not match the key/);
    await assert.rejects(v.parseVerifierKey('no-plus-signs'), /name\+keyid\+key/);
    await assert.rejects(v.parseVerifierKey('a+c3cde7f3+AQOh'), /base64|33 bytes/);
    assert.match(await v.keyFingerprint(k), /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
  });

  test('verifies the worked example checkpoint', async () => {
    const cp = await v.verifyCheckpoint(note, vkey);
    assert.equal(cp.origin, 'demo.minhbach.vn/quangngai-csf');
    assert.equal(cp.size, 14n);
    assert.equal(cp.rootB64, 'Ixng3Hkmbz9xmBxECIMIAL22J3BOZvWYYfFADHWnhv0=');
    assert.equal(cp.note.text.length, 79);
  });

  test('rejects a changed body, a changed signature and the wrong key', async () => {
    await assert.rejects(v.verifyNote(note.replace('\n14\n', '\n15\n'), vkey), /does not verify/);
    const sigB64 = note.split(' ').pop().trim();
    const badSig = flipB64(sigB64, 40, 3);
    await assert.rejects(v.verifyNote(note.replace(sigB64, badSig), vkey), /does not verify/);
    await assert.rejects(v.verifyNote(note, otherKey), /no signature by example.org\/test-key\+c3cde7f3/);
    await assert.rejects(v.verifyNote(note.replace('\n\n', '\n'), vkey), /blank line/);
  });

  test('ignores lines by other keys (witness cosignatures), as C2SP requires', async () => {
    const withWitness = `${note}\u2014 witness.example/w1 ${Buffer.alloc(76, 7).toString('base64')}\n`;
    const cp = await v.verifyCheckpoint(withWitness, vkey);
    assert.equal(cp.size, 14n);
    const w = v.witnessLines(withWitness, 'demo.minhbach.vn/quangngai-csf');
    assert.equal(w.length, 1);
    assert.equal(w[0].name, 'witness.example/w1');
    assert.equal(w[0].keyIdHex, '07070707');
  });

  test('strict base64', () => {
    assert.throws(() => v.base64Decode('AB=='.replace('AB', 'AC')), /non-canonical/); // unused bits set
    assert.throws(() => v.base64Decode('AAA'), /strict/);
    assert.throws(() => v.base64Decode('AA AA'), /strict/);
    assert.deepEqual([...v.base64Decode('AAE=')], [0, 1]);
  });
});

// ---------------------------------------------------------------------------------------------------
// A real child proof from the CLI

const BIN = process.env.MINHBACH_BIN || '';
const haveBin = BIN && fs.existsSync(BIN);

describe('child proof from `minhbach prove child`', { skip: haveBin ? false : 'set MINHBACH_BIN to a minhbach binary' }, () => {
  let ledger = process.env.MINHBACH_LEDGER_DIR || '';
  let tmp = '';
  let proof;
  let vkey;

  before(() => {
    if (!ledger) {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'minhbach-verify-test-'));
      ledger = path.join(tmp, 'ledger');
      execFileSync(BIN, ['--ledger', ledger, 'demo'], { stdio: 'ignore' });
    }
    proof = JSON.parse(execFileSync(BIN, ['--ledger', ledger, 'prove', 'child', 'C-CV-01'], { maxBuffer: 1 << 26 }).toString());
    vkey = JSON.parse(execFileSync(BIN, ['--ledger', ledger, 'status', '--json']).toString()).verifier_key;
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the untouched proof verifies', async () => {
    assert.equal(proof.format, 'minhbach-child-proof-1');
    assert.ok(proof.entries.length >= 2, 'the demo child has several entries');
    const r = await v.verifyChildProof(proof, vkey);
    assert.equal(r.error, '');
    assert.equal(r.ok, true);
    assert.equal(r.checkpoint.ok, true);
    assert.equal(r.keyMatchesProof, true);
    assert.equal(r.entries.length, proof.entries.length);
    for (const e of r.entries) assert.equal(e.ok, true, `entry ${e.seq}: ${e.error}`);
    assert.equal(r.entries[0].type, 'child_registered');
  });

  test('one flipped inclusion hash fails that entry only', async () => {
    const p = clone(proof);
    p.entries[1].inclusion[0] = flipB64(p.entries[1].inclusion[0], 5, 2);
    const r = await v.verifyChildProof(p, vkey);
    assert.equal(r.ok, false);
    assert.equal(r.checkpoint.ok, true);
    assert.deepEqual(r.entries.map((e) => e.ok), proof.entries.map((_, i) => i !== 1));
    assert.match(r.entries[1].error, /root mismatch/);
  });

  test('one changed entry byte fails the leaf hash', async () => {
    const p = clone(proof);
    p.entries[0].entry = flipB64(p.entries[0].entry, 60, 0);
    const r = await v.verifyChildProof(p, vkey);
    assert.equal(r.ok, false);
    assert.match(r.entries[0].error, /leaf hash mismatch/);
  });

  test('an entry and leaf hash changed together fail the inclusion proof', async () => {
    const p = clone(proof);
    const bytes = Buffer.from(p.entries[0].entry, 'base64');
    bytes[60] ^= 1;
    p.entries[0].entry = bytes.toString('base64');
    p.entries[0].leaf_hash = Buffer.from(await v.leafHash(new Uint8Array(bytes))).toString('base64');
    const r = await v.verifyChildProof(p, vkey);
    assert.equal(r.ok, false);
    assert.match(r.entries[0].error, /root mismatch/);
  });

  test('a wrong stated seq fails', async () => {
    const p = clone(proof);
    p.entries[0].seq += 1;
    const r = await v.verifyChildProof(p, vkey);
    assert.equal(r.ok, false);
    assert.match(r.entries[0].error, /seq|root mismatch|wrong proof size/);
  });

  test('a shortened or lengthened inclusion path fails', async () => {
    const p = clone(proof);
    p.entries[0].inclusion.pop();
    p.entries[1].inclusion.push(p.entries[1].inclusion[0]);
    const r = await v.verifyChildProof(p, vkey);
    assert.equal(r.ok, false);
    assert.match(r.entries[0].error, /wrong proof size/);
    assert.match(r.entries[1].error, /wrong proof size/);
  });

  test('a tampered checkpoint signature fails', async () => {
    const p = clone(proof);
    const lines = p.checkpoint.split('\n');
    const i = lines.findIndex((l) => l.startsWith('\u2014 '));
    const parts = lines[i].split(' ');
    parts[2] = flipB64(parts[2], 30, 1);
    lines[i] = parts.join(' ');
    p.checkpoint = lines.join('\n');
    const r = await v.verifyChildProof(p, vkey);
    assert.equal(r.ok, false);
    assert.equal(r.checkpoint.ok, false);
    assert.match(r.checkpoint.error, /does not verify/);
  });

  test('a re-rooted checkpoint (other root, old signature) fails', async () => {
    const p = clone(proof);
    const lines = p.checkpoint.split('\n');
    lines[2] = flipB64(lines[2], 0, 0);
    p.checkpoint = lines.join('\n');
    const r = await v.verifyChildProof(p, vkey);
    assert.equal(r.ok, false);
    assert.equal(r.checkpoint.ok, false);
  });

  test('another key fails even when the proof names it', async () => {
    const other = 'example.org/test-key+c3cde7f3+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4';
    const p = clone(proof);
    p.log_key = other;
    const r = await v.verifyChildProof(p, other);
    assert.equal(r.ok, false);
    assert.match(r.checkpoint.error, /no signature by example.org\/test-key/);
    const r2 = await v.verifyChildProof(p, vkey);
    assert.equal(r2.ok, true);
    assert.equal(r2.keyMatchesProof, false);
  });

  test('a witness cosignature on the checkpoint verifies, and a tampered one does not', async (t) => {
    const wkeyFile = process.env.MINHBACH_WITNESS_VKEY;
    if (!wkeyFile) return t.skip('set MINHBACH_WITNESS_VKEY to a witness that cosigned the checkpoint (run.sh does)');
    const wkey = fs.readFileSync(wkeyFile, 'utf8').trim();
    const k = await v.parseVerifierKey(wkey);
    const { time } = await v.verifyCosignature(proof.checkpoint, wkey);
    assert.ok(time > 1600000000n);
    const lines = v.witnessLines(proof.checkpoint, vkey.split('+')[0]);
    assert.ok(lines.some((l) => l.name === k.name && l.keyIdHex === k.keyIdHex && l.time === time));
    // The log's own signature ignores the witness line, and the witness key is not a log key.
    assert.equal((await v.verifyChildProof(proof, vkey)).ok, true);
    await assert.rejects(v.verifyCheckpoint(proof.checkpoint, wkey), /not an Ed25519 signed-note key/);
    const bad = proof.checkpoint.split('\n').map((line) => {
      if (!line.startsWith(`\u2014 ${k.name} `)) return line;
      const parts = line.split(' ');
      parts[2] = flipB64(parts[2], 20, 4);
      return parts.join(' ');
    }).join('\n');
    await assert.rejects(v.verifyCosignature(bad, wkey), /does not verify/);
    await assert.rejects(v.verifyCosignature(proof.checkpoint.replace(/\n\d+\n/, '\n1\n'), wkey), /does not verify/);
  });

  test('an unknown format is refused', async () => {
    const r = await v.verifyChildProof({ ...proof, format: 'something-else' }, vkey);
    assert.equal(r.ok, false);
    assert.match(r.error, /unknown proof format/);
  });
});
