// CRC-32C against the RFC 3720 appendix B.4 vectors and the common "123456789" check value.
import { describe, expect, it } from 'vitest';
import { crc32c, maskedCrc32c } from '../../src/util/crc32c.js';

describe('crc32c', () => {
  it('matches known vectors', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e); // RFC 3720 B.4 incrementing
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c); // decrementing
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });
  it('continues across chunks', () => {
    const b = new TextEncoder().encode('123456789');
    expect(crc32c(b.subarray(4), crc32c(b.subarray(0, 4)))).toBe(0xe3069283);
  });
  it('masks as TFRecord does', () => {
    // rotr(0xe3069283, 15) = 0x2507c60d; + 0xa282ead8 = 0xc78ab0e5 (mod 2^32)
    expect(maskedCrc32c(new TextEncoder().encode('123456789'))).toBe(0xc78ab0e5);
    expect(maskedCrc32c(new Uint8Array(0))).toBe(0xa282ead8);
  });
});
