// Spectrograms on <canvas>: a Hann-windowed STFT by a radix-2 FFT, in dB on a fixed scale
// (so input and output compare by colour), time left to right, 0 Hz at the bottom.

const N_FFT = 512;
const HOP = 128;
const FLOOR_DB = -100;
const TOP_DB = -20;
// Colour stops from dark to bright (close to matplotlib's magma).
const STOPS = [[0, 0, 4], [59, 15, 112], [140, 41, 129], [222, 73, 104], [254, 159, 109], [252, 253, 191]];

const WINDOW = Float32Array.from({length: N_FFT}, (_, i) => 0.5 - 0.5 * Math.cos(2 * Math.PI * i / N_FFT));
const WINDOW_SUM = WINDOW.reduce((a, b) => a + b, 0);

// In-place iterative FFT of (re, im), length a power of two.
function fft(re, im) {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { [re[i], re[j]] = [re[j], re[i]]; [im[i], im[j]] = [im[j], im[i]]; }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = -2 * Math.PI / len;
    for (let start = 0; start < n; start += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(angle * k), wi = Math.sin(angle * k);
        const a = start + k, b = a + len / 2;
        const tr = re[b] * wr - im[b] * wi, ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr; im[b] = im[a] - ti;
        re[a] += tr; im[a] += ti;
      }
    }
  }
}

// dB of each bin (N_FFT / 2 + 1) of the frame starting at `start`.
function column(samples, start) {
  const re = new Float32Array(N_FFT), im = new Float32Array(N_FFT);
  for (let i = 0; i < N_FFT; i++) re[i] = (samples[start + i] || 0) * WINDOW[i];
  fft(re, im);
  const db = new Float32Array(N_FFT / 2 + 1);
  for (let k = 0; k < db.length; k++) {
    const magnitude = Math.hypot(re[k], im[k]) * 2 / WINDOW_SUM;
    db[k] = 20 * Math.log10(magnitude + 1e-10);
  }
  return db;
}

function colour(db) {
  const x = Math.max(0, Math.min(1, (db - FLOOR_DB) / (TOP_DB - FLOOR_DB))) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x)), f = x - i;
  return STOPS[i].map((c, j) => c + f * (STOPS[i + 1][j] - c));
}

export class Spectrogram {
  // `secondsShown`: how much a live view holds before it scrolls.
  constructor(canvas, secondsShown = 8) {
    this.canvas = canvas;
    this.context = canvas.getContext('2d');
    this.secondsShown = secondsShown;
    this.clear();
  }

  clear() {
    this.context.fillStyle = 'rgb(0, 0, 4)';
    this.context.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.samples = [];
    this.pending = new Float32Array(0);
    this.x = 0;
  }

  // A whole signal, fitted to the canvas width.
  draw(samples, rate) {
    this.clear();
    const frames = Math.max(1, Math.floor((samples.length - N_FFT) / HOP) + 1);
    const width = this.canvas.width;
    for (let x = 0; x < width; x++) this.paint(x, column(samples, Math.floor(x * frames / width) * HOP), rate);
  }

  // Live: columns for samples as they come, scrolling once the canvas is full.
  append(samples, rate) {
    const joined = new Float32Array(this.pending.length + samples.length);
    joined.set(this.pending);
    joined.set(samples, this.pending.length);
    const step = Math.max(HOP, Math.round(rate * this.secondsShown / this.canvas.width));
    let start = 0;
    for (; start + N_FFT <= joined.length; start += step) {
      if (this.x >= this.canvas.width) {  // scroll one column left
        this.context.drawImage(this.canvas, -1, 0);
        this.x = this.canvas.width - 1;
      }
      this.paint(this.x++, column(joined, start), rate);
    }
    this.pending = joined.slice(start);
  }

  paint(x, db, rate) {
    const height = this.canvas.height;
    const image = this.context.createImageData(1, height);
    for (let y = 0; y < height; y++) {
      const bin = Math.min(db.length - 1, Math.floor((height - 1 - y) * db.length / height));
      const [r, g, b] = colour(db[bin]);
      image.data.set([r, g, b, 255], 4 * y);
    }
    this.context.putImageData(image, x, 0);
  }
}
