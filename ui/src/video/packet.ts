// Reads a video packet sent by src-tauri/src/video.rs. Layout, little-endian:
// u32 width | u32 height | f64 decoded_at_ms | u16 key_len | key (UTF-8) | RGBA.

export interface VideoPacket {
  participant: string;
  width: number;
  height: number;
  decodedAtMs: number;
  rgba: Uint8ClampedArray<ArrayBuffer>;
}

const HEADER = 18;
const decoder = new TextDecoder();

export function parsePacket(buffer: ArrayBuffer): VideoPacket | null {
  if (buffer.byteLength < HEADER) return null;
  const view = new DataView(buffer);
  const width = view.getUint32(0, true);
  const height = view.getUint32(4, true);
  const decodedAtMs = view.getFloat64(8, true);
  const keyLen = view.getUint16(16, true);
  const pixels = HEADER + keyLen;
  const size = width * height * 4;
  if (width === 0 || height === 0 || buffer.byteLength !== pixels + size) return null;
  const participant = decoder.decode(new Uint8Array(buffer, HEADER, keyLen));
  return { participant, width, height, decodedAtMs, rgba: new Uint8ClampedArray(buffer, pixels, size) };
}
