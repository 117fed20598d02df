// The page: choose a model and a target, convert a file or the microphone, hear and see the result.
// document.body.dataset.state tells where it is: loading, idle, converting, live, done or error.

import {decodeFile, wavBlob} from './audio.js';
import {LiveSession} from './live.js';
import {Spectrogram} from './spectrogram.js';

const $ = (id) => document.getElementById(id);
const page = {models: [], model: null, reference: null, live: null, resultUrl: null};
const specIn = new Spectrogram($('spec-in'));
const specOut = new Spectrogram($('spec-out'));

function setState(state) { document.body.dataset.state = state; }

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = false;
  setState('error');
}

function clearError() { $('error').hidden = true; }

// JSON from the API, or an Error carrying the server's one-line message.
async function api(path, options) {
  const response = await fetch(path, options);
  if (!response.ok) throw new Error(await errorText(response));
  return response;
}

async function errorText(response) {
  try {
    const body = await response.json();
    return `${body.error} (${response.status} ${body.code})`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

function fill(select, values, chosen) {
  select.replaceChildren(...values.map((v) => new Option(v, v)));
  if (chosen !== undefined && values.includes(chosen)) select.value = chosen;
}

async function load() {
  const {models, limits} = await (await api('/api/models')).json();
  page.models = models;
  page.limits = limits;
  fill($('model'), models.map((m) => m.name));
  $('server').textContent = `${models.length} model${models.length === 1 ? '' : 's'} · uploads up to ` +
    `${limits.max_upload_mb} MB and ${limits.max_seconds} s · live up to ${limits.max_stream_seconds} s`;
  chooseModel();
  setState('idle');
}

function chooseModel() {
  const model = page.models.find((m) => m.name === $('model').value);
  page.model = model;
  page.reference = null;
  $('reference-label').textContent = '';
  $('reference-files').value = '';
  // A paired model's second speaker is the target's other half; a model that needs the source otherwise asks.
  fill($('target'), model.targets, model.targets[model.targets.length - 1]);
  fill($('source'), model.speakers, model.speakers[0]);
  const askSource = model.needs_source && !model.paired;
  $('source').hidden = $('source-label').hidden = !askSource;
  fill($('vocoder'), model.vocoders);
  fill($('stream-vocoder'), model.stream_vocoders);
  $('kind-speaker').disabled = $('target').disabled = !model.targets.length;
  $('kind-reference').disabled = $('reference-files').disabled = !model.one_shot;
  $(model.targets.length ? 'kind-speaker' : 'kind-reference').checked = true;
  $('mic').disabled = !model.streams;
  $('live-note').textContent = model.streams ? '' : `live conversion needs a causal model: ${model.stream_error}`;
  $('model-notes').textContent = `${model.model}, ${model.sample_rate} Hz, step ${model.step}; ` +
    `speakers: ${model.speakers.join(', ')}` + (model.one_shot ? '; takes reference recordings' : '') +
    (model.notes.length ? `. ${model.notes.join(' ')}` : '');
}

// The target part of a request: a training speaker or an uploaded reference.
function target() {
  const model = page.model;
  const fields = {model: model.name};
  if ($('kind-reference').checked) {
    if (!page.reference) throw new Error('upload reference recordings of the target speaker first');
    fields.reference = page.reference;
  } else {
    fields.target = $('target').value;
  }
  if (model.needs_source && !model.paired) fields.source = $('source').value;
  return fields;
}

async function uploadReference() {
  clearError();
  const files = [...$('reference-files').files];
  if (!files.length) return;
  $('kind-reference').checked = true;
  $('reference-label').textContent = 'analysing…';
  const form = new FormData();
  form.append('model', page.model.name);
  files.forEach((f) => form.append('audio', f));
  try {
    const reference = await (await api('/api/reference', {method: 'POST', body: form})).json();
    page.reference = reference.id;
    $('reference-label').textContent = `${reference.label}, ${reference.seconds.toFixed(1)} s`;
  } catch (error) {
    $('reference-label').textContent = '';
    showError(`Reference: ${error.message}`);
  }
}

function showResult(blob, name) {
  if (page.resultUrl) URL.revokeObjectURL(page.resultUrl);
  page.resultUrl = URL.createObjectURL(blob);
  $('player').src = page.resultUrl;
  $('download').href = page.resultUrl;
  $('download').download = name;
  $('download').hidden = false;
}

async function convertFile() {
  clearError();
  const file = $('file').files[0];
  if (!file) return showError('choose an audio file to convert');
  const rate = page.model.sample_rate;
  setState('converting');
  $('convert').disabled = true;
  $('result-stats').textContent = 'converting…';
  try {
    const form = new FormData();
    Object.entries(target()).forEach(([k, v]) => form.append(k, v));
    form.append('vocoder', $('vocoder').value);
    form.append('audio', file);
    try {
      specIn.draw(await decodeFile(file, rate), rate);
    } catch {
      specIn.clear();  // the browser cannot decode it; the server may, or will say why not
    }
    const response = await api('/api/convert', {method: 'POST', body: form});
    const blob = await response.blob();
    showResult(blob, `${file.name.replace(/\.[^.]*$/, '')}_converted.wav`);
    specOut.draw(await decodeFile(blob, rate), rate);
    $('result-stats').textContent = `${response.headers.get('X-Audio-Seconds')} s of audio converted in ` +
      `${response.headers.get('X-Elapsed-Seconds')} s`;
    setState('done');
  } catch (error) {
    $('result-stats').textContent = '';
    showError(error.message);
  } finally {
    $('convert').disabled = false;
  }
}

async function toggleMic() {
  if (page.live) return stopMic();
  clearError();
  const rate = page.model.sample_rate;
  let start;
  try {
    start = {...target(), vocoder: $('stream-vocoder').value, block_ms: Number($('block-ms').value)};
  } catch (error) {
    return showError(error.message);
  }
  specIn.clear();
  specOut.clear();
  $('mic').disabled = true;
  const live = new LiveSession(start, rate, {
    onInput: (x) => specIn.append(x, rate),
    onOutput: (x) => specOut.append(x, rate),
    onError: (error) => {
      if (page.live !== live) return;
      page.live = null;
      live.abort();
      $('mic').textContent = 'Start microphone';
      $('mic').classList.remove('recording');
      $('result-stats').textContent = '';
      showError(`Live: ${error.message}`);
    },
  });
  try {
    const ready = await live.open();
    page.live = live;
    $('mic').textContent = 'Stop';
    $('mic').classList.add('recording');
    $('result-stats').textContent = `live: ${ready.latency_ms.toFixed(0)} ms algorithmic latency ` +
      `(delay ${ready.delay_ms.toFixed(0)} ms + ${(1000 * ready.block / rate).toFixed(0)} ms block)`;
    setState('live');
  } catch (error) {
    live.abort();
    showError(`Microphone: ${error.message}`);
  } finally {
    $('mic').disabled = false;
  }
}

async function stopMic() {
  const live = page.live;
  page.live = null;
  $('mic').disabled = true;
  $('mic').textContent = 'Start microphone';
  $('mic').classList.remove('recording');
  try {
    const done = await live.stop();
    const rate = live.rate;
    const played = live.playedSamples();
    showResult(wavBlob(played, rate), 'live_converted.wav');
    specIn.draw(live.inputSamples(), rate);
    specOut.draw(played, rate);
    $('result-stats').textContent = `${done.seconds_in.toFixed(1)} s streamed; compute per push median ` +
      `${done.compute_ms_median.toFixed(1)} ms, p99 ${done.compute_ms_p99.toFixed(1)} ms; ` +
      `latency ${done.latency_ms.toFixed(0)} ms + compute; playback gaps while live ` +
      `${(1000 * live.gapSamples / rate).toFixed(0)} ms`;
    setState('done');
  } catch (error) {
    live.abort();
    showError(`Live: ${error.message}`);
  } finally {
    $('mic').disabled = !page.model.streams;
  }
}

$('model').addEventListener('change', chooseModel);
$('reference-files').addEventListener('change', uploadReference);
$('convert').addEventListener('click', convertFile);
$('mic').addEventListener('click', toggleMic);
load().catch((error) => showError(`Cannot reach the server: ${error.message}`));
