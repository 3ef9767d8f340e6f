// Paints video packets onto tile canvases (2D canvas: putImageData of the RGBA
// that Rust already scaled to the tile), tells Rust which tiles are visible
// and at what size, and acknowledges each painted frame so Rust can send the
// next one (Rust drops frames rather than queueing them).

import { parsePacket } from "./packet";

export interface PaintStats {
  /** Frames painted per participant since the start. */
  painted: Record<string, number>;
  /** Decoded-to-painted latency of the last frames (ms), newest last. */
  latencies: number[];
  /** Packets that could not be read or had no tile. */
  skipped: number;
}

export interface VideoBackend {
  setTiles(tiles: { participant: string; width: number; height: number }[]): void;
  painted(participant: string): void;
}

const LATENCY_WINDOW = 600;

export class Painter {
  readonly stats: PaintStats = { painted: {}, latencies: [], skipped: 0 };
  private canvases = new Map<string, HTMLCanvasElement>();
  private observer: ResizeObserver;
  private pendingSync: number | null = null;
  private lastSent = "";

  constructor(private backend: VideoBackend) {
    this.observer = new ResizeObserver(() => this.scheduleSync());
  }

  /** Shows `participant`'s video in `canvas` (replacing any earlier canvas). */
  attach(participant: string, canvas: HTMLCanvasElement): void {
    const old = this.canvases.get(participant);
    if (old && old !== canvas) this.observer.unobserve(old);
    this.canvases.set(participant, canvas);
    canvas.dataset.participant = participant;
    this.observer.observe(canvas);
    this.scheduleSync();
  }

  /** Forgets every canvas not in `keep`. */
  retain(keep: Set<string>): void {
    for (const [id, canvas] of this.canvases) {
      if (!keep.has(id)) {
        this.observer.unobserve(canvas);
        this.canvases.delete(id);
      }
    }
    this.scheduleSync();
  }

  /** Forgets every canvas, and makes the next tile list go to Rust even if it looks the same. */
  clear(): void {
    this.lastSent = "";
    this.retain(new Set());
  }

  /** A packet from the video channel. */
  onPacket(buffer: ArrayBuffer): void {
    const packet = parsePacket(buffer);
    if (!packet) {
      this.stats.skipped++;
      return;
    }
    const canvas = this.canvases.get(packet.participant);
    if (canvas) {
      if (canvas.width !== packet.width || canvas.height !== packet.height) {
        canvas.width = packet.width;
        canvas.height = packet.height;
      }
      const ctx = canvas.getContext("2d");
      ctx?.putImageData(new ImageData(packet.rgba, packet.width, packet.height), 0, 0);
      canvas.closest(".tile")?.classList.add("has-video");
      const now = performance.timeOrigin + performance.now();
      this.stats.painted[packet.participant] = (this.stats.painted[packet.participant] ?? 0) + 1;
      this.stats.latencies.push(now - packet.decodedAtMs);
      if (this.stats.latencies.length > LATENCY_WINDOW) this.stats.latencies.shift();
    } else {
      this.stats.skipped++;
    }
    this.backend.painted(packet.participant);
  }

  private scheduleSync(): void {
    if (this.pendingSync !== null) return;
    this.pendingSync = window.setTimeout(() => {
      this.pendingSync = null;
      this.sync();
    }, 50);
  }

  /** Tells Rust the visible tiles at their size in device pixels. */
  private sync(): void {
    const ratio = window.devicePixelRatio || 1;
    const tiles = [...this.canvases.entries()]
      .map(([participant, canvas]) => {
        const box = canvas.getBoundingClientRect();
        return { participant, width: Math.round(box.width * ratio), height: Math.round(box.height * ratio) };
      })
      .filter((t) => t.width >= 2 && t.height >= 2);
    const key = JSON.stringify(tiles);
    if (key === this.lastSent) return;
    this.lastSent = key;
    this.backend.setTiles(tiles);
  }
}
