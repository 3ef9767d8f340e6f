import { describe, expect, it } from "vitest";
import { parsePacket } from "../src/video/packet";

function packet(key: string, w: number, h: number, at: number, extra = 0): ArrayBuffer {
  const keyBytes = new TextEncoder().encode(key);
  const buf = new ArrayBuffer(18 + keyBytes.length + w * h * 4 + extra);
  const view = new DataView(buf);
  view.setUint32(0, w, true);
  view.setUint32(4, h, true);
  view.setFloat64(8, at, true);
  view.setUint16(16, keyBytes.length, true);
  new Uint8Array(buf, 18).set(keyBytes);
  new Uint8Array(buf, 18 + keyBytes.length).fill(7);
  return buf;
}

describe("video packets", () => {
  it("reads what Rust writes", () => {
    const p = parsePacket(packet("123456789", 4, 2, 1700000000123.5));
    expect(p).not.toBeNull();
    expect(p!.participant).toBe("123456789");
    expect([p!.width, p!.height]).toEqual([4, 2]);
    expect(p!.decodedAtMs).toBe(1700000000123.5);
    expect(p!.rgba.length).toBe(32);
    expect(p!.rgba[0]).toBe(7);
  });

  it("refuses truncated or oversized packets", () => {
    expect(parsePacket(new ArrayBuffer(5))).toBeNull();
    expect(parsePacket(packet("me", 4, 2, 0).slice(0, 40))).toBeNull();
    expect(parsePacket(packet("me", 4, 2, 0, 1))).toBeNull();
    expect(parsePacket(packet("me", 0, 2, 0))).toBeNull();
  });
});
