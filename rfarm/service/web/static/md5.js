// MD5 (RFC 1321), fed in pieces: the submit page hashes a scene as it reads it, to ask the farm
// whether its store already holds the file before sending it. Written for rfarm from the RFC's steps.
"use strict";
const rfarmMD5 = (() => {
  const SHIFT = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
  const SINE = new Int32Array(64);
  for (let i = 0; i < 64; i++) SINE[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0;

  class MD5 {
    constructor() {
      this.state = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);
      this.tail = new Uint8Array(64);
      this.held = 0;      // bytes waiting in tail
      this.length = 0;    // bytes fed in all
      this.words = new Int32Array(16);
    }

    block(bytes, at) {
      const w = this.words;
      for (let i = 0; i < 16; i++) {
        const j = at + i * 4;
        w[i] = bytes[j] | (bytes[j + 1] << 8) | (bytes[j + 2] << 16) | (bytes[j + 3] << 24);
      }
      const h = this.state;
      let a = h[0], b = h[1], c = h[2], d = h[3];
      for (let i = 0; i < 64; i++) {
        let f, g;
        if (i < 16) { f = (b & c) | (~b & d); g = i; }
        else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) & 15; }
        else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) & 15; }
        else { f = c ^ (b | ~d); g = (7 * i) & 15; }
        const s = SHIFT[(i >> 4) * 4 + (i & 3)];
        const t = (a + f + SINE[i] + w[g]) | 0;
        a = d; d = c; c = b;
        b = (b + ((t << s) | (t >>> (32 - s)))) | 0;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
    }

    update(bytes) {
      let at = 0;
      this.length += bytes.length;
      if (this.held) {
        const take = Math.min(64 - this.held, bytes.length);
        this.tail.set(bytes.subarray(0, take), this.held);
        this.held += take;
        at = take;
        if (this.held < 64) return this;
        this.block(this.tail, 0);
        this.held = 0;
      }
      for (; at + 64 <= bytes.length; at += 64) this.block(bytes, at);
      this.tail.set(bytes.subarray(at), 0);
      this.held = bytes.length - at;
      return this;
    }

    hex() {
      const bits = this.length * 8;
      const pad = new Uint8Array(((this.held < 56 ? 56 : 120) - this.held) + 8);
      pad[0] = 0x80;
      const end = pad.length - 8;
      for (let i = 0; i < 4; i++) pad[end + i] = (bits >>> (8 * i)) & 0xff;
      const high = Math.floor(bits / 2 ** 32);
      for (let i = 0; i < 4; i++) pad[end + 4 + i] = (high >>> (8 * i)) & 0xff;
      this.update(pad);
      let out = "";
      for (const word of this.state) {
        for (let i = 0; i < 4; i++) out += ((word >>> (8 * i)) & 0xff).toString(16).padStart(2, "0");
      }
      return out;
    }
  }

  // The MD5 of a File (or Blob), read a piece at a time; onProgress(bytesRead) after each piece.
  async function ofFile(file, onProgress) {
    const PIECE = 4 * 1024 * 1024;
    const md5 = new MD5();
    for (let at = 0; at < file.size; at += PIECE) {
      md5.update(new Uint8Array(await file.slice(at, at + PIECE).arrayBuffer()));
      if (onProgress) onProgress(Math.min(file.size, at + PIECE));
    }
    return md5.hex();
  }

  return { MD5, ofFile };
})();
