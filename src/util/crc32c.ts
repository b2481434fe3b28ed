// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, init and final xor 0xFFFFFFFF
// (RFC 3720 §12.1 and appendix B.4), table-driven one byte at a time. Plus the TFRecord "masked"
// CRC (tensorflow/core/lib/hash/crc32c.h: rotate right by 15, add 0xa282ead8).

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of `bytes`, continuing from a previous `crc` (the value returned for the earlier part). */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** TFRecord's masked CRC: ((crc >>> 15) | (crc << 17)) + 0xa282ead8, mod 2^32. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}
