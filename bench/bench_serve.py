"""`vc serve` under load: live streams held in real time, and file-conversion throughput.

Starts a real `vc serve` on 127.0.0.1 (its defaults: one torch thread per worker, as many
file workers as cores) with the quick streaming CycleGAN-VC: the demo's trained experiment
when it has a checkpoint, otherwise conf/cyclegan_stream_quick.yaml trained for one step on
the arctic sample (compute does not depend on the weights). The clients run in this
process (asyncio), on the same cores as the server.

Streams: for each N, N clients each stream --seconds of speech at the pace of a microphone
in --block-ms blocks (one WebSocket message a block). A block's latency is the time from
sending it to receiving its converted block: server compute, queueing behind the other
streams and the network. A stream holds real time when its 99th percentile is within the
block (20 ms): a block's reply is back before the next block is due, so nothing piles up.
The algorithmic latency (the stream's fixed delay plus the block, 100 ms) comes on top and
does not change with load. Baseline, side by side: the same StreamingConverter pushed in
this process with no server (compute alone, one thread).

Files: --requests POSTs of a --file-seconds recording to /api/convert (Griffin-Lim, 32
iterations), --concurrency at a time; requests per second and seconds of audio converted
per second of wall time, and any 503s. Baseline: Converter.convert of the same recording
in this process, one after another, on one thread and on all cores.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from common import CONF, speech, table  # noqa: E402
from serve_server import running_server  # noqa: E402  (the tests' server process)

DEMO_EXP = CONF.parent / "exp" / "cyclegan_stream_flite_awb_fest_slt"
RATE = 16000


def stand_in(root: Path) -> tuple[Path, str, str]:
    """The quick streaming config trained for one step on the arctic sample (two halves as speakers)."""
    from vc.audio import FeatureConfig
    from vc.cli import main
    from vc.data.datadir import DataDir
    from vc.data.dump import FeatureDump, extract_dump
    from vc.data.stats import compute_stats

    wav = speech(8)
    utts = {}
    for i, spk in enumerate(("a", "b")):
        for j in range(2):
            path = root / f"{spk}_{j}.wav"
            sf.write(path, wav[(2 * i + j) * 2 * RATE:(2 * i + j + 1) * 2 * RATE], RATE)
            utts[f"{spk}_{j}"] = str(path)
    DataDir(utts, {u: u[0] for u in utts}).write(root / "data")
    extract_dump(DataDir.read(root / "data"), FeatureConfig(), root / "dump", progress=False)
    compute_stats(FeatureDump.open(root / "dump")).save(root / "dump" / "stats.npz")
    config = yaml.safe_load((CONF / "cyclegan_stream_quick.yaml").read_text())
    config.pop("content_model")  # the phone recogniser only trains; streaming never runs it
    config["model_params"]["lambda_content"] = 0.0
    config["train"] = {"max_steps": 1, "batch_size": 2, "save_interval": 1}
    (root / "conf.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", "--conf", str(root / "conf.yaml"), "--exp", str(root / "exp"), "--train-dump",
                 str(root / "dump"), "--speakers", "a,b", "--device", "cpu"]) == 0
    return root / "exp", "a", "b"


async def one_stream(url: str, start: dict, audio: np.ndarray, block: int) -> tuple[list[float], dict]:
    """Latencies (s) of every block of one paced stream, and the server's final statistics."""
    import aiohttp

    from vc.stream.io import float_to_pcm16

    blocks = [float_to_pcm16(audio[at:at + block], "bench") for at in range(0, len(audio) - block + 1, block)]
    sent: list[float] = []
    received: list[float] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{url}/api/stream") as ws:
        await ws.send_json(start)
        ready = await ws.receive_json()
        assert ready["type"] == "ready", ready

        async def receive() -> dict:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    received.append(time.perf_counter())
                elif message.type == aiohttp.WSMsgType.TEXT:
                    return message.json()
            raise RuntimeError("the stream closed without its statistics")

        receiver = asyncio.ensure_future(receive())
        t0 = time.perf_counter()
        for k, data in enumerate(blocks):  # at the pace of a microphone
            await asyncio.sleep(max(0.0, t0 + (k + 1) * block / RATE - time.perf_counter()))
            sent.append(time.perf_counter())
            await ws.send_bytes(data)
        await ws.send_json({"type": "end"})
        done = await receiver
    return [r - s for s, r in zip(sent, received)], done


async def streams(url: str, n: int, start: dict, seconds: float, block: int) -> tuple[list[float], list[dict]]:
    audio = speech(seconds)
    # Staggered starts, as clients arrive: not all blocks of all streams at the same instant.
    async def staggered(i: int) -> tuple[list[float], dict]:
        await asyncio.sleep(i * block / RATE / n)
        return await one_stream(url, start, audio, block)

    results = await asyncio.gather(*(staggered(i) for i in range(n)))
    return [lat for lats, _ in results for lat in lats], [done for _, done in results]


async def files(url: str, form: dict, wav: bytes, requests: int, concurrency: int) -> tuple[float, list[int]]:
    import aiohttp

    statuses: list[int] = []
    queue = list(range(requests))

    async def client(session: aiohttp.ClientSession) -> None:
        while queue:
            queue.pop()
            data = aiohttp.FormData({**form})
            data.add_field("audio", wav, filename="bench.wav")
            async with session.post(f"{url}/api/convert", data=data) as response:
                await response.read()
                statuses.append(response.status)

    start = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    return time.perf_counter() - start, statuses


def in_process(exp: Path, src: str, tgt: str, seconds: float, block: int, file_seconds: float) -> dict[str, float]:
    """The baselines: compute per block of one stream, and file conversions per second, no server."""
    import torch

    from vc.convert import Converter
    from vc.stream.converter import StreamingConverter

    out = {}
    torch.set_num_threads(1)
    conv = Converter.load(exp, device="cpu")
    stream = StreamingConverter(conv, src, tgt, block=block)
    audio = speech(seconds)
    times = []
    for at in range(0, len(audio) - block + 1, block):
        t = time.perf_counter()
        stream.push(audio[at:at + block])
        times.append(time.perf_counter() - t)
    out["stream_p50"], out["stream_p99"] = float(np.median(times)), float(np.percentile(times, 99))
    wav = speech(file_seconds)
    for threads in (1, os.cpu_count() or 1):
        torch.set_num_threads(threads)
        conv.convert(wav, RATE, src, tgt, "gl")  # warm-up
        t = time.perf_counter()
        for _ in range(3):
            conv.convert(wav, RATE, src, tgt, "gl")
        out[f"file_{threads}"] = 3 * file_seconds / (time.perf_counter() - t)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, help=f"a causal experiment [{DEMO_EXP.name} when trained, else a stand-in]")
    p.add_argument("--streams", default="1,2,3,4,6,8", help="numbers of concurrent streams [1,2,3,4,6,8]")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds each stream sends [10]")
    p.add_argument("--block-ms", type=float, default=20.0, help="block, and the latency budget [20]")
    p.add_argument("--requests", type=int, default=24, help="file conversions [24]")
    p.add_argument("--concurrency", type=int, default=4, help="file requests at a time [4]")
    p.add_argument("--file-seconds", type=float, default=4.0, help="length of the file converted [4]")
    args = p.parse_args()
    block = round(args.block_ms * RATE / 1000)
    budget = block / RATE

    with tempfile.TemporaryDirectory() as tmp:
        exp = args.model or (DEMO_EXP if (DEMO_EXP / "checkpoints").is_dir() else None)
        if exp is None:
            exp, src, tgt = stand_in(Path(tmp))
        else:
            from vc.convert import Converter

            src, tgt = Converter.load(exp, device="cpu").speakers[:2]
        print(f"model {exp}; {os.cpu_count()} cores; {args.seconds:g} s per stream in {args.block_ms:g} ms blocks; "
              f"budget: p99 block latency <= {args.block_ms:g} ms")
        base = in_process(exp, src, tgt, args.seconds, block, args.file_seconds)
        print(f"baseline, in process, no server: compute per block p50 {1e3 * base['stream_p50']:.1f} ms, "
              f"p99 {1e3 * base['stream_p99']:.1f} ms; file conversion {base['file_1']:.1f} audio s/s on 1 thread, "
              f"{base[f'file_{os.cpu_count() or 1}']:.1f} on {os.cpu_count()}")
        counts = [int(n) for n in args.streams.split(",")]
        with running_server(["--model", f"m={exp}", "--device", "cpu", "--max-streams", str(max(counts))],
                            Path(tmp) / "server.log") as server:
            start = {"model": "m", "source": src, "target": tgt, "block_ms": args.block_ms}
            rows, held, failed = [], 0, False
            for n in counts:
                lats, dones = asyncio.run(streams(server.url, n, start, args.seconds, block))
                p50, p99 = float(np.median(lats)), float(np.percentile(lats, 99))
                ok = p99 <= budget
                failed = failed or not ok
                held = held if failed else n  # every count up to it held
                compute = max(d["compute_ms_p99"] for d in dones)
                rows.append([str(n), f"{1e3 * p50:.1f}", f"{1e3 * p99:.1f}", f"{1e3 * max(lats):.1f}",
                             f"{compute:.1f}", "yes" if ok else "no"])
            print(table(["streams", "p50 ms", "p99 ms", "max ms", "compute p99 ms", "real time"], rows))
            print(f"real-time streams held (p99 <= {args.block_ms:g} ms): {held}")

            wav = io.BytesIO()
            sf.write(wav, speech(args.file_seconds), RATE, format="WAV", subtype="PCM_16")
            form = {"model": "m", "source": src, "target": tgt, "vocoder": "gl"}
            asyncio.run(files(server.url, form, wav.getvalue(), 2, 1))  # warm-up
            wall, statuses = asyncio.run(files(server.url, form, wav.getvalue(), args.requests, args.concurrency))
            ok = statuses.count(200)
            print(f"files: {args.requests} x {args.file_seconds:g} s, {args.concurrency} at a time: {ok / wall:.2f} "
                  f"requests/s, {ok * args.file_seconds / wall:.1f} audio s/s ({statuses.count(503)} answered 503) "
                  f"against {base['file_1']:.1f} audio s/s in process on 1 thread")


if __name__ == "__main__":
    main()
