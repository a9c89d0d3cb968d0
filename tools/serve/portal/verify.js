// In-browser verification of a minhbach child proof (docs/format/proof.md).
//
// Pure functions, no DOM: the same module runs in the browser and in Node >= 20 (globalThis.crypto).
// Only WebCrypto is used: SHA-256 (crypto.subtle.digest) and Ed25519 (crypto.subtle.importKey/verify).
//
//  1. The checkpoint is a C2SP signed note (docs/format/checkpoint.md); its signature line by the
//     verifier key must hold a valid Ed25519 signature of the note text.
//  2. Each entry: leaf hash = SHA-256(0x00 || entry bytes) must equal `leaf_hash`, and the inclusion
//     proof (RFC 9162 section 2.1.3.2, leaf upwards) must lead to the checkpoint's root at its size.
//  3. The entry's own `seq` field (Cap'n Proto data bytes 0..7, docs/format/entry.md) must equal the
//     stated seq, which is the leaf index used in step 2.

const EM_DASH_PREFIX = '\u2014 ';
const SIG_TYPE_ED25519 = 0x01;
const SIG_TYPE_COSIGNATURE = 0x04;
const HASH_BYTES = 32;

const subtle = () => {
  const c = globalThis.crypto;
  if (!c || !c.subtle) throw new Error('WebCrypto (crypto.subtle) is not available: open the page over https or localhost');
  return c.subtle;
};

// ---------------------------------------------------------------------------------------------------
// Bytes, base64, hex

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict standard base64 (RFC 4648 section 4): alphabet, padding, canonical trailing bits. */
export function base64Decode(s) {
  if (typeof s !== 'string' || !B64_RE.test(s)) throw new Error('not strict base64');
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (base64Encode(out) !== s) throw new Error('non-canonical base64');
  return out;
}

export function base64Encode(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin);
}

export function toHex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

const utf8 = (s) => new TextEncoder().encode(s);

export async function sha256(bytes) {
  return new Uint8Array(await subtle().digest('SHA-256', bytes));
}

// ---------------------------------------------------------------------------------------------------
// RFC 9162 hashing and inclusion verification

/** LeafHash(d) = SHA-256(0x00 || d). */
export async function leafHash(entryBytes) {
  return sha256(concat(Uint8Array.of(0x00), entryBytes));
}

/** NodeHash(l, r) = SHA-256(0x01 || l || r). */
export async function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(0x01), left, right));
}

/**
 * RFC 9162 section 2.1.3.2: recompute the root from a leaf hash and its inclusion path (leaf upwards).
 * index and size are BigInt (or integers); returns the root (Uint8Array) or throws with the reason.
 */
export async function rootFromInclusion(index, size, leaf, path) {
  index = BigInt(index);
  size = BigInt(size);
  if (index < 0n || size < 0n) throw new Error('negative index or size');
  // 1. leaf_index must be below tree_size.
  if (index >= size) throw new Error(`leaf index ${index} is not below tree size ${size}`);
  if (leaf.length !== HASH_BYTES) throw new Error('leaf hash is not 32 bytes');
  // 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  // 4. For each p in inclusion_path:
  for (const p of path) {
    if (p.length !== HASH_BYTES) throw new Error('a proof hash is not 32 bytes');
    // a. If sn is 0, stop the iteration and fail the proof verification.
    if (sn === 0n) throw new Error('wrong proof size: proof is too long');
    // b. If LSB(fn) is set, or if fn is equal to sn, then:
    if ((fn & 1n) === 1n || fn === sn) {
      // 1. Set r to HASH(0x01 || p || r).
      r = await nodeHash(p, r);
      // 2. If LSB(fn) is not set, right-shift both fn and sn equally until either LSB(fn) is set or fn is 0.
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      // Otherwise: set r to HASH(0x01 || r || p).
      r = await nodeHash(r, p);
    }
    // c. Finally, right-shift both fn and sn one time.
    fn >>= 1n;
    sn >>= 1n;
  }
  // 5. Compare sn to 0 (and r to root, done by the caller).
  if (sn !== 0n) throw new Error('wrong proof size: proof is too short');
  return r;
}

/** True when `path` proves `leaf` at `index` in the tree of `size` leaves with root `root`. */
export async function verifyInclusion(index, size, leaf, path, root) {
  const r = await rootFromInclusion(index, size, leaf, path);
  if (!bytesEqual(r, root)) {
    throw new Error(`root mismatch: calculated ${base64Encode(r)}, expected ${base64Encode(root)}`);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// C2SP signed notes, keys, checkpoints

/** Computes a key ID: SHA-256(name || 0x0A || type || public key)[0:4]. */
export async function keyId(name, type, pub) {
  const d = await sha256(concat(utf8(name), Uint8Array.of(0x0a, type), pub));
  return d.slice(0, 4);
}

/**
 * Parses a verifier key `name+hex8+base64(type || 32-byte key)` and checks its key ID.
 * Returns {name, keyId (4 bytes), keyIdHex, type, publicKey (32 bytes), text}.
 */
export async function parseVerifierKey(text) {
  if (typeof text !== 'string') throw new Error('verifier key: not a string');
  const s = text.trim();
  const a = s.indexOf('+');
  const b = a < 0 ? -1 : s.indexOf('+', a + 1);
  if (a <= 0 || b < 0) throw new Error('verifier key: expected name+keyid+key');
  const name = s.slice(0, a);
  const hex = s.slice(a + 1, b);
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) throw new Error('verifier key: the key ID is not 8 hex digits');
  let raw;
  try {
    raw = base64Decode(s.slice(b + 1));
  } catch (e) {
    throw new Error('verifier key: the key is not strict base64');
  }
  if (raw.length !== 33) throw new Error('verifier key: the key is not 33 bytes');
  const type = raw[0];
  if (type !== SIG_TYPE_ED25519 && type !== SIG_TYPE_COSIGNATURE) {
    throw new Error(`verifier key: unknown signature type 0x${type.toString(16).padStart(2, '0')}`);
  }
  const pub = raw.slice(1);
  const id = await keyId(name, type, pub);
  if (toHex(id) !== hex.toLowerCase()) {
    throw new Error(`verifier key: key ID ${hex.toLowerCase()} does not match the key (expected ${toHex(id)})`);
  }
  return { name, keyId: id, keyIdHex: toHex(id), type, publicKey: pub, text: s };
}

/** Fingerprint shown to users: SHA-256 of the 32-byte public key, hex in groups of 4. */
export async function keyFingerprint(key) {
  const k = typeof key === 'string' ? await parseVerifierKey(key) : key;
  const hex = toHex(await sha256(k.publicKey));
  return hex.match(/.{4}/g).join(' ');
}

/**
 * Splits a signed note at its last blank line. Returns {text, signatures: [{name, keyId, signature, line}]}.
 * `text` is the signed message: every byte up to and including the newline before the blank line.
 */
export function parseNote(note) {
  if (typeof note !== 'string') throw new Error('note: not a string');
  if (!note.endsWith('\n')) throw new Error('note does not end with a newline');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(note)) throw new Error('note has control characters');
  const sep = note.lastIndexOf('\n\n');
  if (sep < 0) throw new Error('note has no blank line before its signatures');
  const text = note.slice(0, sep + 1);
  const lines = note.slice(sep + 2, -1).split('\n');
  if (lines.length === 0 || (lines.length === 1 && lines[0] === '')) throw new Error('note has no signatures');
  const signatures = lines.map((line) => {
    if (!line.startsWith(EM_DASH_PREFIX)) throw new Error('signature line does not start with an em dash');
    const rest = line.slice(EM_DASH_PREFIX.length);
    const sp = rest.indexOf(' ');
    if (sp <= 0) throw new Error('malformed signature line');
    const name = rest.slice(0, sp);
    let raw;
    try {
      raw = base64Decode(rest.slice(sp + 1));
    } catch (e) {
      throw new Error('signature line: signature is not strict base64');
    }
    if (raw.length < 5) throw new Error('signature line: signature too short');
    return { name, keyId: raw.slice(0, 4), keyIdHex: toHex(raw.slice(0, 4)), signature: raw.slice(4), line };
  });
  return { text, signatures };
}

/** Parses a checkpoint body (C2SP tlog-checkpoint). Returns {origin, size (BigInt), root (bytes), rootB64}. */
export function parseCheckpoint(text) {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new Error('checkpoint: too few lines');
  const [origin, sizeStr, rootB64] = lines;
  if (!origin) throw new Error('checkpoint: empty origin');
  if (!/^(0|[1-9][0-9]{0,19})$/.test(sizeStr)) throw new Error('checkpoint: bad tree size');
  const size = BigInt(sizeStr);
  if (size >= 1n << 64n) throw new Error('checkpoint: tree size does not fit in 64 bits');
  let root;
  try {
    root = base64Decode(rootB64);
  } catch (e) {
    throw new Error('checkpoint: root is not strict base64');
  }
  if (root.length !== HASH_BYTES) throw new Error('checkpoint: root is not 32 bytes');
  return { origin, size, root, rootB64 };
}

async function ed25519Verify(pub, signature, message) {
  const key = await subtle().importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
  return subtle().verify({ name: 'Ed25519' }, key, signature, message);
}

/**
 * Verifies a signed note against one Ed25519 verifier key, as VerifyNote does: lines by other keys are
 * ignored, at least one line must match the key's name and ID, and every matching line must verify.
 * Returns {text, signatures}; throws with the reason otherwise.
 */
export async function verifyNote(note, verifierKey) {
  const key = typeof verifierKey === 'string' ? await parseVerifierKey(verifierKey) : verifierKey;
  if (key.type !== SIG_TYPE_ED25519) throw new Error('verifier key is not an Ed25519 signed-note key (type 0x01)');
  const parsed = parseNote(note);
  const message = utf8(parsed.text);
  let matched = 0;
  for (const s of parsed.signatures) {
    if (s.name !== key.name || !bytesEqual(s.keyId, key.keyId)) continue;
    matched++;
    if (s.signature.length !== 64 || !(await ed25519Verify(key.publicKey, s.signature, message))) {
      throw new Error(`signature by ${key.name} does not verify`);
    }
  }
  if (matched === 0) throw new Error(`no signature by ${key.name}+${key.keyIdHex}`);
  return parsed;
}

/**
 * Verifies a signed checkpoint: the note signature, then the body. The origin must be the key's name
 * (minhbach signs with a key named after the log's origin). Returns {origin, size, root, rootB64, note}.
 */
export async function verifyCheckpoint(note, verifierKey) {
  const key = typeof verifierKey === 'string' ? await parseVerifierKey(verifierKey) : verifierKey;
  const parsed = await verifyNote(note, key);
  const cp = parseCheckpoint(parsed.text);
  if (cp.origin !== key.name) throw new Error(`checkpoint origin ${cp.origin} is not the key's name ${key.name}`);
  return { ...cp, note: parsed };
}

/**
 * Witness lines of a checkpoint note: every signature line not made by `logKeyName`. A line whose
 * signature field has the C2SP tlog-cosignature size (4 + 8 + 64 bytes) also gets `time`, the
 * witness's timestamp (POSIX seconds, BigInt).
 */
export function witnessLines(note, logKeyName) {
  try {
    return parseNote(note).signatures.filter((s) => s.name !== logKeyName).map((s) => {
      if (s.signature.length !== 72) return s;
      const dv = new DataView(s.signature.buffer, s.signature.byteOffset, 8);
      return { ...s, time: dv.getBigUint64(0, false) };
    });
  } catch (e) {
    return [];
  }
}

/**
 * Verifies a witness cosignature (C2SP tlog-cosignature v1) on a checkpoint note against the witness's
 * verifier key (signature type 0x04). The signed message is "cosignature/v1\ntime <t>\n" followed by the
 * checkpoint body. Returns {time (BigInt)}; throws when no line of the key is found or one does not verify.
 */
export async function verifyCosignature(note, witnessKey) {
  const key = typeof witnessKey === 'string' ? await parseVerifierKey(witnessKey) : witnessKey;
  if (key.type !== SIG_TYPE_COSIGNATURE) throw new Error('witness key is not a cosignature key (type 0x04)');
  const parsed = parseNote(note);
  let time = null;
  for (const s of parsed.signatures) {
    if (s.name !== key.name || !bytesEqual(s.keyId, key.keyId)) continue;
    if (s.signature.length !== 72) throw new Error(`cosignature by ${key.name} has the wrong length`);
    const t = new DataView(s.signature.buffer, s.signature.byteOffset, 8).getBigUint64(0, false);
    const message = utf8(`cosignature/v1\ntime ${t}\n${parsed.text}`);
    if (!(await ed25519Verify(key.publicKey, s.signature.slice(8), message))) {
      throw new Error(`cosignature by ${key.name} does not verify`);
    }
    time = t;
  }
  if (time === null) throw new Error(`no cosignature by ${key.name}+${key.keyIdHex}`);
  return { time };
}

// ---------------------------------------------------------------------------------------------------
// Entries

/**
 * Reads `seq` (UInt64, data bytes 0..7) and the payload union tag (data bytes 18..19) of an entry's
 * canonical Cap'n Proto bytes (single segment, root struct pointer in word 0). Canonical form truncates
 * trailing zero words, so a missing data word reads as 0.
 */
export function entryHeader(bytes) {
  if (bytes.length < 8 || bytes.length % 8 !== 0) throw new Error('entry: not a whole number of words');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  if ((lo & 3) !== 0) throw new Error('entry: root pointer is not a struct pointer');
  const offsetWords = lo >> 2; // signed 30 bits; canonical form has 0
  if (offsetWords !== 0) throw new Error('entry: root struct does not follow its pointer');
  const dataWords = hi & 0xffff;
  const start = 8;
  if (start + dataWords * 8 > bytes.length) throw new Error('entry: data section beyond the message');
  const u64 = (byte) => (byte + 8 <= dataWords * 8 ? dv.getBigUint64(start + byte, true) : 0n);
  const u16 = (byte) => (byte + 2 <= dataWords * 8 ? dv.getUint16(start + byte, true) : 0);
  return { seq: u64(0), tag: u16(18) };
}

export const PAYLOAD_TYPES = [
  'note', 'reversal', 'fund_opened', 'programme_opened', 'programme_closed', 'donor_registered',
  'child_registered', 'donation_received', 'sponsorship_agreed', 'sponsorship_ended', 'allocation',
  'disbursement', 'expense', 'sponsorship_amended', 'allowance_rate_set', 'entitlement_determined',
];

/**
 * Checks one entry of a child proof against a verified checkpoint {size, root}.
 * Returns {seq, ok, type, error}.
 */
export async function verifyProofEntry(e, checkpoint) {
  const out = { seq: e && e.seq, ok: false, type: '', error: '' };
  try {
    if (!e || !Number.isSafeInteger(e.seq) || e.seq < 0) throw new Error('entry: bad seq');
    if (!Array.isArray(e.inclusion)) throw new Error('entry: inclusion is not a list');
    const bytes = base64Decode(e.entry);
    const stated = base64Decode(e.leaf_hash);
    const computed = await leafHash(bytes);
    if (!bytesEqual(computed, stated)) {
      throw new Error(`leaf hash mismatch: SHA-256(0x00 || entry) is ${base64Encode(computed)}, the proof says ${e.leaf_hash}`);
    }
    const header = entryHeader(bytes);
    out.type = PAYLOAD_TYPES[header.tag] || `tag ${header.tag}`;
    if (header.seq !== BigInt(e.seq)) throw new Error(`the entry's seq is ${header.seq}, the proof says ${e.seq}`);
    const path = e.inclusion.map((h) => base64Decode(h));
    await verifyInclusion(BigInt(e.seq), checkpoint.size, computed, path, checkpoint.root);
    out.ok = true;
  } catch (err) {
    out.error = err && err.message ? err.message : String(err);
  }
  return out;
}

/**
 * Verifies a whole `minhbach-child-proof-1` document against a verifier key (string or parsed).
 * Never throws: returns {ok, checkpoint: {ok, error, origin, size, rootB64}, entries: [{seq, ok, type, error}],
 * key: {name, keyIdHex}, keyMatchesProof}.
 */
export async function verifyChildProof(proof, verifierKey) {
  const result = {
    ok: false,
    checkpoint: { ok: false, error: '', origin: '', size: '', rootB64: '' },
    entries: [],
    key: null,
    keyMatchesProof: null,
    error: '',
  };
  let key;
  try {
    if (!proof || typeof proof !== 'object') throw new Error('proof is not a JSON object');
    if (proof.format !== 'minhbach-child-proof-1') throw new Error(`unknown proof format ${proof.format}`);
    key = typeof verifierKey === 'string' ? await parseVerifierKey(verifierKey) : verifierKey;
    result.key = { name: key.name, keyIdHex: key.keyIdHex };
    if (typeof proof.log_key === 'string') result.keyMatchesProof = proof.log_key.trim() === key.text;
  } catch (err) {
    result.error = err.message;
    return result;
  }
  let cp = null;
  try {
    cp = await verifyCheckpoint(proof.checkpoint, key);
    result.checkpoint = { ok: true, error: '', origin: cp.origin, size: cp.size.toString(), rootB64: cp.rootB64 };
  } catch (err) {
    result.checkpoint.error = err.message;
    try {
      // Still show what the checkpoint claims, and still check the entries against it.
      const claimed = parseCheckpoint(parseNote(proof.checkpoint).text);
      Object.assign(result.checkpoint, { origin: claimed.origin, size: claimed.size.toString(), rootB64: claimed.rootB64 });
      cp = claimed;
    } catch (e2) {
      cp = null;
    }
  }
  const entries = Array.isArray(proof.entries) ? proof.entries : [];
  for (const e of entries) {
    if (cp) result.entries.push(await verifyProofEntry(e, cp));
    else result.entries.push({ seq: e && e.seq, ok: false, type: '', error: 'no readable checkpoint to check against' });
  }
  // A proof with no entries (a child recorded after the latest checkpoint) only proves the checkpoint.
  result.ok = result.checkpoint.ok && result.entries.every((x) => x.ok);
  if (!result.ok && !result.error) {
    result.error = result.checkpoint.ok ? result.entries.find((x) => !x.ok).error : result.checkpoint.error;
  }
  return result;
}
