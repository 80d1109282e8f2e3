// The app's PNG icons (for the web app manifest: 192, 512 and a maskable 512),
// drawn at build time from the favicon's design (web/public/favicon.svg: a teal
// rounded square, a light speech bubble, a teal wave) and encoded with
// node:zlib. No image tool, no binary in the repository.
import { deflateSync } from 'node:zlib';

type Rgb = readonly [number, number, number];

const TEAL: Rgb = [0x0f, 0x76, 0x6e];
const MINT: Rgb = [0xf0, 0xfd, 0xfa];

/** One cubic Bézier of the wave, as points along it (favicon units, 64 × 64). */
function cubic(p0: [number, number], p1: [number, number], p2: [number, number], p3: [number, number], steps = 12): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i <= steps; i++) {
    const t = i / steps;
    const u = 1 - t;
    out.push([
      u * u * u * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t * t * t * p3[0],
      u * u * u * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t * t * t * p3[1],
    ]);
  }
  return out;
}

// "M22 25c3 6 6 6 10 0 4 6 7 6 10 0", stroke-width 3.5, round caps
const WAVE = [...cubic([22, 25], [25, 31], [28, 31], [32, 25]), ...cubic([32, 25], [36, 31], [39, 31], [42, 25]).slice(1)];

function segmentDistance(x: number, y: number, [ax, ay]: [number, number], [bx, by]: [number, number]): number {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(x - ax - t * dx, y - ay - t * dy);
}

function inRoundedRect(x: number, y: number, x0: number, y0: number, x1: number, y1: number, r: number): boolean {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.max(x0 + r, Math.min(x1 - r, x));
  const cy = Math.max(y0 + r, Math.min(y1 - r, y));
  return Math.hypot(x - cx, y - cy) <= r;
}

/** The bubble: a rounded box from (14,13) to (50,43) and its tail down to (21,51). */
function inBubble(x: number, y: number): boolean {
  if (inRoundedRect(x, y, 14, 13, 50, 43, 9)) return true;
  // the tail: the triangle (21,43) (30,43) (21,51)
  return x >= 21 && y >= 42 && y <= 51 && (x - 21) / 9 + (y - 43) / 8 <= 1;
}

/** The colour at a point of the design (favicon units); `maskable` fills the whole square. */
function colourAt(x: number, y: number, maskable: boolean): Rgb | null {
  if (!maskable && !inRoundedRect(x, y, 0, 0, 64, 64, 16)) return null;
  if (!inBubble(x, y)) return TEAL;
  // the wave lies within x 20..44, y 23..31: most points need no distance
  if (x < 20 || x > 44 || y < 23 || y > 31) return MINT;
  for (let i = 1; i < WAVE.length; i++) if (segmentDistance(x, y, WAVE[i - 1]!, WAVE[i]!) <= 1.75) return TEAL;
  return MINT;
}

/**
 * RGBA pixels of the icon at `size` × `size`, 3 × 3 samples a pixel. A maskable
 * icon is a full square whose artwork sits inside the central 80% circle that
 * every mask keeps (the bubble is drawn at 70%).
 */
export function drawIcon(size: number, maskable = false): Uint8Array {
  const px = new Uint8Array(size * size * 4);
  const scale = maskable ? 0.7 : 1;
  const offset = (64 - 64 * scale) / 2;
  const n = 3;
  for (let py = 0; py < size; py++) {
    for (let pxl = 0; pxl < size; pxl++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const u = ((pxl + (sx + 0.5) / n) / size) * 64;
          const v = ((py + (sy + 0.5) / n) / size) * 64;
          const c = colourAt((u - offset) / scale, (v - offset) / scale, maskable);
          // the maskable icon's margin is the background colour
          const colour = c ?? (maskable ? TEAL : null);
          if (!colour) continue;
          r += colour[0];
          g += colour[1];
          b += colour[2];
          a++;
        }
      }
      const i = (py * size + pxl) * 4;
      if (a > 0) {
        px[i] = Math.round(r / a);
        px[i + 1] = Math.round(g / a);
        px[i + 2] = Math.round(b / a);
      }
      px[i + 3] = Math.round((a / (n * n)) * 255);
    }
  }
  return px;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** An RGBA image as a PNG file (8 bits a channel, no filter: small enough for icons). */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const rows = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    rows[y * (width * 4 + 1)] = 0;
    rows.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** The icons web/public/manifest.webmanifest names (paths under the site root) and their sizes. */
export const ICONS = [
  { path: 'icons/icon-192.png', size: 192, maskable: false },
  { path: 'icons/icon-512.png', size: 512, maskable: false },
  { path: 'icons/maskable-512.png', size: 512, maskable: true },
] as const;

let drawn: Map<string, Buffer> | undefined;

/** The icons: path → PNG bytes (drawn once a process: about a second). */
export function appIcons(): Map<string, Buffer> {
  drawn ??= new Map(ICONS.map((i) => [i.path, encodePng(i.size, i.size, drawIcon(i.size, i.maskable))]));
  return drawn;
}
