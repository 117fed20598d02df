// The live mode: microphone -> WebSocket (/api/stream) -> speakers, in blocks.
// Protocol in docs/serve.md: a JSON start message, binary 16-bit PCM both ways, JSON end.

import {concat, floatToPcm16, pcm16ToFloat} from './audio.js';

export class LiveSession {
  // `start`: the start message ({model, target | reference, source, vocoder, block_ms});
  // `rate`: the model's sample rate; the page captures and plays at it, the browser resamples.
  // Callbacks: onInput(samples), onOutput(samples) as they are heard, onError(error) when the
  // stream fails while live (a server error, a lost connection).
  constructor(start, rate, callbacks) {
    this.start = start;
    this.rate = rate;
    this.callbacks = callbacks;
    this.input = [];  // what was sent
    this.played = [];  // what the player rendered, from its first chunk on
    this.gapSamples = 0;  // silence played while live, where the converted stream came late
    this.done = null;  // the server's final statistics
  }

  async open() {
    this.context = new AudioContext({sampleRate: this.rate});
    await this.context.audioWorklet.addModule('/static/worklet.js');
    this.media = await navigator.mediaDevices.getUserMedia(
      {audio: {channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
    try {
      this.source = this.context.createMediaStreamSource(this.media);
    } catch (error) {
      throw new Error(`this browser cannot record the microphone at the model's ${this.rate} Hz ` +
                      `(${error.message}); Chromium-based browsers can`);
    }
    this.ready = await this.connect();
    this.block = this.ready.block;
    this.buffer = [];
    this.buffered = 0;

    // Playback starts a block after the first converted block came: a block of margin for jitter.
    this.player = new AudioWorkletNode(this.context, 'vc-player', {processorOptions: {prebuffer: 2 * this.block}});
    this.drained = new Promise((resolve) => {
      this.player.port.onmessage = (e) => {
        this.played.push(e.data.played);
        if (!this.stopped) this.gapSamples += e.data.gap;  // after Stop, the wait for the tail is no fault
        this.callbacks.onOutput(e.data.played);
        if (e.data.drained) resolve();
      };
    });
    this.player.connect(this.context.destination);

    this.capture = new AudioWorkletNode(this.context, 'vc-capture');
    this.capture.port.onmessage = (e) => this.send(e.data);
    this.source.connect(this.capture);
    await this.context.resume();
    return this.ready;
  }

  // Opens the socket and resolves with the server's "ready" message.
  connect() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.socket = new WebSocket(`${scheme}//${location.host}/api/stream`);
    this.socket.binaryType = 'arraybuffer';
    this.finished = new Promise((resolve, reject) => { this.finish = {resolve, reject}; });
    this.finished.catch(() => {});  // also reported through the promise open() or stop() returns
    return new Promise((resolve, reject) => {
      this.socket.onopen = () => this.socket.send(JSON.stringify(this.start));
      this.socket.onmessage = (e) => {
        if (e.data instanceof ArrayBuffer) {
          if (this.player) this.player.port.postMessage(pcm16ToFloat(e.data));
          return;
        }
        const message = JSON.parse(e.data);
        if (message.type === 'ready') resolve(message);
        else if (message.type === 'done') { this.done = message; this.finish.resolve(message); }
        else if (message.type === 'error') this.failed(new Error(message.error), reject);
      };
      this.socket.onclose = (e) => {
        if (!this.done) this.failed(new Error(`the stream closed (${e.code}${e.reason ? ': ' + e.reason : ''})`), reject);
      };
    });
  }

  failed(error, rejectOpen) {
    if (this.error) return;  // the first one says why; the close that follows adds nothing
    this.error = error;
    rejectOpen(error);
    this.finish.reject(error);
    if (this.ready && !this.stopped) this.callbacks.onError(error);
  }

  // Microphone quanta in; whole blocks out to the server.
  send(samples) {
    if (this.stopped || this.socket.readyState !== WebSocket.OPEN) return;
    this.input.push(samples);
    this.callbacks.onInput(samples);
    this.buffer.push(samples);
    this.buffered += samples.length;
    if (this.buffered >= this.block) this.sendBuffered();
  }

  sendBuffered() {
    if (!this.buffered) return;
    this.socket.send(floatToPcm16(concat(this.buffer)).buffer);
    this.buffer = [];
    this.buffered = 0;
  }

  // Stops the microphone, asks for the rest, and resolves once it has been played.
  async stop() {
    this.stopped = true;
    this.media.getTracks().forEach((t) => t.stop());
    this.source.disconnect();
    this.capture.disconnect();
    if (this.socket.readyState === WebSocket.OPEN) {
      this.sendBuffered();
      this.socket.send(JSON.stringify({type: 'end'}));
    }
    try {
      await this.finished;
    } finally {
      this.player.port.postMessage('end');
      await Promise.race([this.drained, new Promise((r) => setTimeout(r, 2000))]);
      await this.context.close();
    }
    return this.done;
  }

  // Closes everything without waiting (after an error).
  abort() {
    this.stopped = true;
    if (this.media) this.media.getTracks().forEach((t) => t.stop());
    if (this.socket) this.socket.close();
    if (this.context && this.context.state !== 'closed') this.context.close();
  }

  inputSamples() { return concat(this.input); }
  playedSamples() { return concat(this.played); }
}
