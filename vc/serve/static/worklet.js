// AudioWorklet processors for the live mode: they run on the audio thread, in 128-sample quanta.

// Posts each quantum of its input (the microphone) to the page, which sends whole blocks.
class Capture extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0][0];
    if (channel) this.port.postMessage(channel.slice());
    return true;
  }
}

// Plays the converted chunks the page posts, in order, and posts back every quantum it
// played from the start on (silence where the queue ran dry counts: it was heard), so the
// page keeps a recording of exactly what went to the speakers. It starts once `prebuffer`
// samples are queued, so a block that comes a little late finds the one before still playing.
class Player extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.prebuffer = options.processorOptions.prebuffer;
    this.queue = [];
    this.queued = 0;  // samples in the queue
    this.offset = 0;  // into queue[0]
    this.started = false;
    this.ending = false;  // no more chunks will come
    this.port.onmessage = (e) => {
      if (e.data === 'end') { this.ending = true; this.started = true; return; }
      this.queue.push(e.data);
      this.queued += e.data.length;
      if (this.queued >= this.prebuffer) this.started = true;
    };
  }

  process(inputs, outputs) {
    const out = outputs[0][0];
    if (!this.started) return true;
    let filled = 0;
    while (filled < out.length && this.queue.length) {
      const chunk = this.queue[0];
      const n = Math.min(out.length - filled, chunk.length - this.offset);
      out.set(chunk.subarray(this.offset, this.offset + n), filled);
      filled += n;
      this.queued -= n;
      this.offset += n;
      if (this.offset === chunk.length) { this.queue.shift(); this.offset = 0; }
    }
    if (this.ending && !this.queue.length) {
      this.port.postMessage({played: out.slice(0, filled), gap: 0, drained: true});
      this.started = false;
      return true;
    }
    this.port.postMessage({played: out.slice(), gap: out.length - filled, drained: false});
    return true;
  }
}

registerProcessor('vc-capture', Capture);
registerProcessor('vc-player', Player);
